package provenance

import (
	"encoding/json"
	"strings"
)

// LegacyGitHubBuildType is the build type GitHub's tooling used before
// GitHubBuildType (npm provenance, early artifact attestations).
const LegacyGitHubBuildType = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"

// BuildInfo summarises what a SLSA v1 provenance statement says about its build.
type BuildInfo struct {
	BuildType string `json:"buildType,omitempty"`
	Builder   string `json:"builder,omitempty"`
	// Workflow (GitHub) or pipeline definition (GitLab) that ran.
	Repository string `json:"repository,omitempty"`
	Path       string `json:"path,omitempty"`
	Ref        string `json:"ref,omitempty"`
	// Commit of the source, from the resolved dependencies.
	Commit       string `json:"commit,omitempty"`
	InvocationID string `json:"invocationId,omitempty"`
	// SourceRepository and SourceRef that were built, RunnerEnvironment
	// (github-hosted, self-hosted...) and the event that triggered the build:
	// set by DescribeCertificate.
	SourceRepository  string `json:"sourceRepository,omitempty"`
	SourceRef         string `json:"sourceRef,omitempty"`
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	Trigger           string `json:"trigger,omitempty"`
}

// Describe reads the build of an in-toto statement carrying SLSA Provenance v1
// with a GitHub build type (current or legacy) or Paved's GitLab build type. It
// returns nil for other statements.
func Describe(statement []byte) *BuildInfo {
	var st struct {
		PredicateType string      `json:"predicateType"`
		Predicate     predicateV1 `json:"predicate"`
	}
	if json.Unmarshal(statement, &st) != nil || st.PredicateType != PredicateType {
		return nil
	}
	def := st.Predicate.BuildDefinition
	b := &BuildInfo{BuildType: def.BuildType, Builder: st.Predicate.RunDetails.Builder.ID, InvocationID: st.Predicate.RunDetails.Metadata.InvocationID}
	for _, d := range def.ResolvedDependencies {
		if c := d.Digest["gitCommit"]; c != "" && strings.HasPrefix(d.URI, "git+") {
			b.Commit = c
			break
		}
	}
	switch def.BuildType {
	case GitHubBuildType, LegacyGitHubBuildType:
		w := def.ExternalParameters.Workflow
		b.Repository, b.Path, b.Ref = w.Repository, w.Path, w.Ref
	case GitLabBuildType:
		b.Repository, b.Ref = def.ExternalParameters.Project, def.ExternalParameters.Ref
		if _, path, ok := strings.Cut(def.ExternalParameters.CIConfigRefURI, "//"); ok {
			b.Path, _, _ = strings.Cut(path, "@")
		}
	default:
		return nil
	}
	return b
}
