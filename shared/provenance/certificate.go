package provenance

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/paved-dev/paved/shared/ci"
)

// DescribeCertificate describes a build from what the certificate authority
// verified: the Fulcio extensions of the signing certificate. A verifier
// reports this, never the predicate, which the build itself may have written.
func DescribeCertificate(ext certificate.Extensions) *BuildInfo {
	if ext.BuildSignerURI == "" && ext.SourceRepositoryURI == "" && ext.BuildConfigURI == "" {
		return nil
	}
	b := &BuildInfo{
		Builder: ext.BuildSignerURI, Commit: ext.SourceRepositoryDigest, InvocationID: ext.RunInvocationURI,
		SourceRepository: ext.SourceRepositoryURI, SourceRef: ext.SourceRepositoryRef,
		RunnerEnvironment: ext.RunnerEnvironment, Trigger: ext.BuildTrigger,
	}
	switch KindOf(ext, ci.Run{}) {
	case ci.GitHubActions:
		b.BuildType = GitHubBuildType
		b.Repository, b.Path, b.Ref, _ = splitWorkflowRef(ext.BuildConfigURI)
	case ci.GitLabCI:
		b.BuildType = GitLabBuildType
		b.Repository, b.Ref = ext.SourceRepositoryURI, ext.SourceRepositoryRef
		_, rest, _ := strings.Cut(ext.BuildConfigURI, "://")
		if _, path, ok := strings.Cut(rest, "//"); ok {
			b.Path, _, _ = strings.Cut(path, "@")
		}
	}
	return b
}

func hostOf(uri string) string {
	_, rest, _ := strings.Cut(uri, "://")
	h, _, _ := strings.Cut(rest, "/")
	return h
}

// Contradiction is a field of a provenance predicate that disagrees with the
// signing certificate.
type Contradiction struct {
	// Field is the predicate field, as a JSON path below "predicate".
	Field string `json:"field"`
	// Predicate is what the predicate says; Certificate what the certificate says.
	Predicate   string `json:"predicate"`
	Certificate string `json:"certificate"`
}

func (c Contradiction) String() string {
	return fmt.Sprintf("%s is %q, the certificate says %q", c.Field, c.Predicate, c.Certificate)
}

// predicateV1 is the part of a SLSA Provenance v1 predicate that restates
// what the certificate says.
type predicateV1 struct {
	BuildDefinition struct {
		BuildType          string `json:"buildType"`
		ExternalParameters struct {
			Workflow struct {
				Ref        string `json:"ref"`
				Repository string `json:"repository"`
				Path       string `json:"path"`
			} `json:"workflow"`
			CIConfigRefURI string `json:"ci_config_ref_uri"`
			Project        string `json:"project"`
			Ref            string `json:"ref"`
		} `json:"externalParameters"`
		InternalParameters struct {
			GitHub struct {
				EventName         string `json:"event_name"`
				RepositoryID      string `json:"repository_id"`
				RepositoryOwnerID string `json:"repository_owner_id"`
				RunnerEnvironment string `json:"runner_environment"`
			} `json:"github"`
			GitLab struct {
				PipelineSource    string `json:"pipeline_source"`
				ProjectID         string `json:"project_id"`
				NamespaceID       string `json:"namespace_id"`
				RunnerEnvironment string `json:"runner_environment"`
			} `json:"gitlab"`
		} `json:"internalParameters"`
		ResolvedDependencies []struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata struct {
			InvocationID string `json:"invocationId"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

// Contradictions lists every field of a SLSA Provenance v1 statement that
// contradicts the signing certificate's extensions: the builder, the build
// type's platform, the workflow or pipeline definition, the source repository,
// ref and commit, the trigger, the repository and owner identifiers, the
// runner environment and the run. A field the certificate does not state is
// not compared. Statements of other predicate types have none; a statement
// that claims the provenance type but cannot be read is one contradiction.
func Contradictions(statement []byte, ext certificate.Extensions) []Contradiction {
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(statement, &st) != nil || st.PredicateType != PredicateType {
		return nil
	}
	var p predicateV1
	if err := json.Unmarshal(st.Predicate, &p); err != nil {
		return []Contradiction{{Field: "predicate", Predicate: "unreadable: " + err.Error(), Certificate: "a build"}}
	}
	var out []Contradiction
	check := func(field, claimed, certified string) {
		if claimed != "" && certified != "" && claimed != certified {
			out = append(out, Contradiction{Field: field, Predicate: claimed, Certificate: certified})
		}
	}
	def, run := p.BuildDefinition, p.RunDetails
	kind := KindOf(ext, ci.Run{})
	github := def.BuildType == GitHubBuildType || def.BuildType == LegacyGitHubBuildType
	switch {
	case github && kind == ci.GitLabCI, def.BuildType == GitLabBuildType && kind == ci.GitHubActions:
		check("buildDefinition.buildType", def.BuildType, "a "+platformName(kind)+" build ("+ext.BuildConfigURI+")")
	}
	if def.BuildType == LegacyGitHubBuildType {
		// The legacy type names the runner, as the runner environment does.
		if ext.RunnerEnvironment != "" {
			check("runDetails.builder.id", run.Builder.ID, "https://github.com/actions/runner/"+ext.RunnerEnvironment)
		}
	} else {
		check("runDetails.builder.id", run.Builder.ID, ext.BuildSignerURI)
	}
	known := github || def.BuildType == GitLabBuildType || def.BuildType == LocalBuildType
	if !known {
		return out
	}
	check("runDetails.metadata.invocationId", run.Metadata.InvocationID, ext.RunInvocationURI)
	for i, d := range def.ResolvedDependencies {
		commit := d.Digest["gitCommit"]
		if commit == "" || !strings.HasPrefix(d.URI, "git+") {
			continue
		}
		uri, ref, _ := strings.Cut(strings.TrimPrefix(d.URI, "git+"), "@")
		field := fmt.Sprintf("buildDefinition.resolvedDependencies[%d]", i)
		check(field+".uri", uri, ext.SourceRepositoryURI)
		check(field+".uri (ref)", ref, ext.SourceRepositoryRef)
		check(field+".digest.gitCommit", commit, ext.SourceRepositoryDigest)
		break // the first source dependency is the source that was built
	}
	ep, ip := def.ExternalParameters, def.InternalParameters
	switch {
	case github:
		if repo, path, ref, err := splitWorkflowRef(ext.BuildConfigURI); err == nil {
			check("buildDefinition.externalParameters.workflow.repository", ep.Workflow.Repository, repo)
			check("buildDefinition.externalParameters.workflow.path", ep.Workflow.Path, path)
			check("buildDefinition.externalParameters.workflow.ref", ep.Workflow.Ref, ref)
		}
		check("buildDefinition.internalParameters.github.event_name", ip.GitHub.EventName, ext.BuildTrigger)
		check("buildDefinition.internalParameters.github.repository_id", ip.GitHub.RepositoryID, ext.SourceRepositoryIdentifier)
		check("buildDefinition.internalParameters.github.repository_owner_id", ip.GitHub.RepositoryOwnerID, ext.SourceRepositoryOwnerIdentifier)
		check("buildDefinition.internalParameters.github.runner_environment", ip.GitHub.RunnerEnvironment, ext.RunnerEnvironment)
	case def.BuildType == GitLabBuildType:
		check("buildDefinition.externalParameters.ci_config_ref_uri", ep.CIConfigRefURI, strings.TrimPrefix(ext.BuildConfigURI, "https://"))
		if ext.SourceRepositoryURI != "" {
			check("buildDefinition.externalParameters.project", ep.Project, strings.TrimPrefix(ext.SourceRepositoryURI, "https://"+hostOf(ext.SourceRepositoryURI)+"/"))
		}
		check("buildDefinition.externalParameters.ref", ep.Ref, ext.SourceRepositoryRef)
		check("buildDefinition.internalParameters.gitlab.pipeline_source", ip.GitLab.PipelineSource, ext.BuildTrigger)
		check("buildDefinition.internalParameters.gitlab.project_id", ip.GitLab.ProjectID, ext.SourceRepositoryIdentifier)
		check("buildDefinition.internalParameters.gitlab.namespace_id", ip.GitLab.NamespaceID, ext.SourceRepositoryOwnerIdentifier)
		check("buildDefinition.internalParameters.gitlab.runner_environment", ip.GitLab.RunnerEnvironment, ext.RunnerEnvironment)
	}
	return out
}

func platformName(k ci.Kind) string {
	if k == ci.GitLabCI {
		return "GitLab CI/CD"
	}
	return "GitHub Actions"
}

// Check returns an error naming every field of a SLSA provenance statement
// that contradicts the signing certificate, or nil.
func Check(statement []byte, ext certificate.Extensions) error {
	cs := Contradictions(statement, ext)
	if len(cs) == 0 {
		return nil
	}
	msgs := make([]string, len(cs))
	for i, c := range cs {
		msgs[i] = c.String()
	}
	return fmt.Errorf("the provenance predicate contradicts the signing certificate (a build step may have written it): %s", strings.Join(msgs, "; "))
}
