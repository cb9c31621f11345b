// Package ci describes the CI run that produced an artifact in neutral terms.
//
// What a certificate authority attested about the run (repository, commit,
// workflow, runner) travels as Fulcio certificate extensions; see
// github.com/sigstore/sigstore-go/pkg/fulcio/certificate.Extensions. This package
// adds what the certificate does not carry, which the CI front doors read from
// their platform, and the Platform interface those front doors implement.
package ci

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/paved-dev/paved/shared/identity"
)

// Kind names the build system, which selects the provenance build type.
type Kind string

const (
	// Local is a run outside any recognised CI system.
	Local Kind = ""
	// GitHubActions is a GitHub Actions workflow run.
	GitHubActions Kind = "github-actions"
	// GitLabCI is a GitLab CI/CD pipeline job.
	GitLabCI Kind = "gitlab-ci"
)

// Run holds run details that certificates do not carry. Every field is optional.
type Run struct {
	Kind Kind
	// ServerURL is the base URL of the CI server, e.g. https://github.com.
	ServerURL string
	// PipelineID identifies the pipeline (GitLab) or workflow run (GitHub).
	PipelineID string
	// JobID and JobName identify the job inside the pipeline.
	JobID   string
	JobName string
	// RunnerID and RunnerDescription identify the machine that ran the job.
	RunnerID          string
	RunnerDescription string
	// ProjectPath is the repository path on the server, e.g. group/project.
	ProjectPath string
	// Ref and Commit are the source revision being built.
	Ref    string
	Commit string
	// ConfigRefURI points at the pipeline definition that ran (GitLab ci_config_ref_uri).
	ConfigRefURI string
	// Visibility is who may read the repository; Unknown when the platform
	// did not say.
	Visibility Visibility
}

// Visibility is who may read a repository.
type Visibility string

const (
	// Unknown means the platform did not say.
	Unknown Visibility = ""
	// Public repositories are readable by anyone.
	Public Visibility = "public"
	// Private repositories are readable by their members only.
	Private Visibility = "private"
	// Internal repositories are readable by the members of their enterprise
	// (GitHub) or every signed-in user of the instance (GitLab).
	Internal Visibility = "internal"
)

// ParseVisibility reads a platform's visibility word (GitHub's
// repository.visibility and repository_visibility claim, GitLab's
// CI_PROJECT_VISIBILITY); anything else is Unknown.
func ParseVisibility(s string) Visibility {
	switch v := Visibility(strings.ToLower(strings.TrimSpace(s))); v {
	case Public, Private, Internal:
		return v
	}
	return Unknown
}

// Stricter returns the more restrictive of two visibilities, so that two
// sources that disagree never make a repository more public than either
// says; Unknown yields to a known value.
func Stricter(a, b Visibility) Visibility {
	rank := map[Visibility]int{Unknown: 0, Public: 1, Internal: 2, Private: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// VisibilityFromEvent reads the repository's visibility from a GitHub
// webhook event payload (the file GITHUB_EVENT_PATH names): its
// repository.visibility, else repository.private. A payload without them
// (or not JSON) gives Unknown.
func VisibilityFromEvent(payload []byte) Visibility {
	var ev struct {
		Repository *struct {
			Visibility string `json:"visibility"`
			Private    *bool  `json:"private"`
		} `json:"repository"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.Repository == nil {
		return Unknown
	}
	v := ParseVisibility(ev.Repository.Visibility)
	if p := ev.Repository.Private; p != nil {
		if *p {
			v = Stricter(v, Private)
		} else if v == Unknown {
			v = Public
		}
	}
	return v
}

// Platform is what a CI front door provides to the core.
type Platform interface {
	// Run describes the current run.
	Run() Run
	// Identity is where the run's OIDC token comes from, or nil if the platform has none.
	Identity() identity.Source
	// TokenFix says how to make the platform provide a Sigstore identity token.
	TokenFix() string
	// Mask hides a secret from the platform's logs before anything can print it.
	Mask(secret string)
	// Log is where progress and notices go.
	Log() io.Writer
}
