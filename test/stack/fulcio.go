package stack

import (
	"encoding/json"
	"fmt"
	"os"
)

// Fulcio reads its configuration as JSON (field names from its Go structs)
// before trying YAML, so the config is marshalled from these types.
type fulcioConfig struct {
	OIDCIssuers      map[string]fulcioIssuer         `json:"OIDCIssuers"`
	CIIssuerMetadata map[string]fulcioIssuerMetadata `json:"CIIssuerMetadata"`
}

type fulcioIssuer struct {
	IssuerURL   string `json:"IssuerURL"`
	ClientID    string `json:"ClientID"`
	Type        string `json:"Type"`
	CIProvider  string `json:"CIProvider"`
	Description string `json:"Description,omitempty"`
}

type fulcioIssuerMetadata struct {
	DefaultTemplateValues          map[string]string `json:"DefaultTemplateValues"`
	ExtensionTemplates             map[string]string `json:"ExtensionTemplates"`
	SubjectAlternativeNameTemplate string            `json:"SubjectAlternativeNameTemplate"`
}

const (
	ciProviderGitHub = "github-workflow"
	ciProviderGitLab = "gitlab-pipeline"
)

// ciIssuerMetadata carries the github-workflow and gitlab-pipeline entries of
// ci-issuer-metadata in Fulcio v1.8.8's config/identity/config.yaml, so the
// local CA issues certificates with the same SAN and extensions as
// fulcio.sigstore.dev does for real GitHub Actions and GitLab CI tokens. The
// keys are the JSON names of Fulcio's certificate.Extensions fields.
var ciIssuerMetadata = map[string]fulcioIssuerMetadata{
	ciProviderGitHub: {
		DefaultTemplateValues: map[string]string{
			"url":         "https://github.com",
			"environment": "",
		},
		ExtensionTemplates: map[string]string{
			"GithubWorkflowTrigger":               "event_name",
			"GithubWorkflowSHA":                   "sha",
			"GithubWorkflowName":                  "workflow",
			"GithubWorkflowRepository":            "repository",
			"GithubWorkflowRef":                   "ref",
			"BuildSignerURI":                      "{{ .url }}/{{ .job_workflow_ref }}",
			"BuildSignerDigest":                   "job_workflow_sha",
			"RunnerEnvironment":                   "runner_environment",
			"SourceRepositoryURI":                 "{{ .url }}/{{ .repository }}",
			"SourceRepositoryDigest":              "sha",
			"SourceRepositoryRef":                 "ref",
			"SourceRepositoryIdentifier":          "repository_id",
			"SourceRepositoryOwnerURI":            "{{ .url }}/{{ .repository_owner }}",
			"SourceRepositoryOwnerIdentifier":     "repository_owner_id",
			"BuildConfigURI":                      "{{ .url }}/{{ .workflow_ref }}",
			"BuildConfigDigest":                   "workflow_sha",
			"BuildTrigger":                        "event_name",
			"RunInvocationURI":                    "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
			"SourceRepositoryVisibilityAtSigning": "repository_visibility",
			"DeploymentEnvironment":               "environment",
		},
		SubjectAlternativeNameTemplate: "{{ .url }}/{{ .job_workflow_ref }}",
	},
	ciProviderGitLab: {
		DefaultTemplateValues: map[string]string{
			"url":         "https://gitlab.com",
			"environment": "",
		},
		ExtensionTemplates: map[string]string{
			"BuildSignerURI":                      "https://{{ .ci_config_ref_uri }}",
			"BuildSignerDigest":                   "ci_config_sha",
			"RunnerEnvironment":                   "runner_environment",
			"SourceRepositoryURI":                 "{{ .url }}/{{ .project_path }}",
			"SourceRepositoryDigest":              "sha",
			"SourceRepositoryRef":                 `refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}`,
			"SourceRepositoryIdentifier":          "project_id",
			"SourceRepositoryOwnerURI":            "{{ .url }}/{{ .namespace_path }}",
			"SourceRepositoryOwnerIdentifier":     "namespace_id",
			"BuildConfigURI":                      "https://{{ .ci_config_ref_uri }}",
			"BuildConfigDigest":                   "ci_config_sha",
			"BuildTrigger":                        "pipeline_source",
			"RunInvocationURI":                    "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}",
			"SourceRepositoryVisibilityAtSigning": "project_visibility",
			"DeploymentEnvironment":               "environment",
		},
		SubjectAlternativeNameTemplate: "https://{{ .ci_config_ref_uri }}",
	},
}

// writeFulcioConfig trusts one issuer per CI provider: Fulcio binds a
// ci-provider type to an issuer URL, so GitHub- and GitLab-shaped tokens come
// from two issuers.
func writeFulcioConfig(path, githubIssuer, gitlabIssuer string) error {
	cfg := fulcioConfig{
		OIDCIssuers: map[string]fulcioIssuer{
			githubIssuer: {
				IssuerURL:   githubIssuer,
				ClientID:    Audience,
				Type:        "ci-provider",
				CIProvider:  ciProviderGitHub,
				Description: "local GitHub Actions-shaped issuer",
			},
			gitlabIssuer: {
				IssuerURL:   gitlabIssuer,
				ClientID:    Audience,
				Type:        "ci-provider",
				CIProvider:  ciProviderGitLab,
				Description: "local GitLab CI-shaped issuer",
			},
		},
		CIIssuerMetadata: ciIssuerMetadata,
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding Fulcio config: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing Fulcio config: %w", err)
	}
	return nil
}
