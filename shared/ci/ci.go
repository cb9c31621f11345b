// Package ci describes the CI run that produced an artifact in neutral terms.
//
// What a certificate authority attested about the run (repository, commit,
// workflow, runner) travels as Fulcio certificate extensions; see
// github.com/sigstore/sigstore-go/pkg/fulcio/certificate.Extensions. This package
// adds what the certificate does not carry, which the CI front doors read from
// their platform, and the Platform interface those front doors implement.
package ci

import (
	"io"

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
