// Package provenance builds SLSA Provenance v1 predicates that describe a CI run.
//
// The predicate is derived from the Fulcio certificate extensions of the signing
// certificate (what the certificate authority verified from the OIDC token), so
// the provenance can never disagree with the identity that signed it; details the
// certificate lacks come from the neutral ci.Run.
package provenance

import (
	"fmt"
	"strings"

	prov "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/paved-dev/paved/shared/ci"
)

// PredicateType is the SLSA Provenance v1 predicate type.
const PredicateType = "https://slsa.dev/provenance/v1"

// provenancePrefix starts every SLSA provenance predicate type
// (https://slsa.dev/provenance/v0.1, v0.2, v1 and later ones).
const provenancePrefix = "https://slsa.dev/provenance/"

// IsProvenanceType tells whether a predicate type claims to be SLSA
// provenance, of any version. Only Build may produce such a predicate: one
// written by the build itself could name any builder, repository or commit.
// The comparison ignores case and surrounding space, and treats http like
// https, so no spelling of the type slips through.
func IsProvenanceType(predicateType string) bool {
	t := strings.ToLower(strings.TrimSpace(predicateType))
	t = strings.TrimPrefix(strings.TrimPrefix(t, "https://"), "http://")
	return strings.HasPrefix(t, strings.TrimPrefix(provenancePrefix, "https://")) || t == "slsa.dev/provenance"
}

// Build types this package writes.
const (
	// GitHubBuildType is GitHub's own build type for Actions workflows, the one
	// GitHub artifact attestations use, so gh attestation verify understands it.
	GitHubBuildType = "https://actions.github.io/buildtypes/workflow/v1"
	// GitLabBuildType is Paved's build type for GitLab CI/CD jobs, documented in
	// docs/buildtypes/gitlab-ci-v1.md.
	GitLabBuildType = "https://github.com/paved-dev/paved/blob/main/docs/buildtypes/gitlab-ci-v1.md"
	// LocalBuildType describes a signer outside a recognised CI system.
	LocalBuildType = "https://github.com/paved-dev/paved/blob/main/docs/buildtypes/local-v1.md"
)

// Build returns the SLSA v1 provenance predicate for the run, as JSON.
func Build(ext certificate.Extensions, run ci.Run) ([]byte, error) {
	p, err := build(ext, run)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(p)
}

// KindOf tells which CI system issued the certificate, from its extensions; it
// falls back to the run's declared kind when the extensions do not say.
func KindOf(ext certificate.Extensions, run ci.Run) ci.Kind {
	switch {
	case strings.Contains(ext.BuildConfigURI, "/.github/workflows/"):
		return ci.GitHubActions
	case strings.Contains(ext.RunInvocationURI, "/-/jobs/") || strings.Contains(ext.BuildConfigURI, "//"+".gitlab-ci"):
		return ci.GitLabCI
	default:
		return run.Kind
	}
}

func build(ext certificate.Extensions, run ci.Run) (*prov.Provenance, error) {
	switch KindOf(ext, run) {
	case ci.GitHubActions:
		return github(ext)
	case ci.GitLabCI:
		return gitlab(ext, run)
	default:
		return local(ext, run)
	}
}

func sourceDependency(ext certificate.Extensions, run ci.Run) []*ita.ResourceDescriptor {
	uri, ref, commit := ext.SourceRepositoryURI, ext.SourceRepositoryRef, ext.SourceRepositoryDigest
	if uri == "" || commit == "" {
		if run.ServerURL == "" || run.ProjectPath == "" || run.Commit == "" {
			return nil
		}
		uri, ref, commit = strings.TrimSuffix(run.ServerURL, "/")+"/"+run.ProjectPath, run.Ref, run.Commit
	}
	if ref != "" {
		uri += "@" + ref
	}
	return []*ita.ResourceDescriptor{{
		Uri:    "git+" + uri,
		Digest: map[string]string{"gitCommit": commit},
	}}
}

// splitWorkflowRef splits https://github.com/OWNER/REPO/.github/workflows/F.yml@REF.
func splitWorkflowRef(uri string) (repository, path, ref string, err error) {
	at := strings.LastIndex(uri, "@")
	i := strings.Index(uri, "/.github/workflows/")
	if at < 0 || i < 0 || i > at {
		return "", "", "", fmt.Errorf("build config URI %q is not a GitHub workflow reference", uri)
	}
	return uri[:i], uri[i+1 : at], uri[at+1:], nil
}

func structOf(m map[string]any) (*structpb.Struct, error) {
	clean := map[string]any{}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			if x == "" {
				continue
			}
		case map[string]any:
			s, err := structOf(x)
			if err != nil {
				return nil, err
			}
			if len(s.Fields) == 0 {
				continue
			}
			clean[k] = s.AsMap()
			continue
		}
		clean[k] = v
	}
	return structpb.NewStruct(clean)
}

func github(ext certificate.Extensions) (*prov.Provenance, error) {
	repo, path, ref, err := splitWorkflowRef(ext.BuildConfigURI)
	if err != nil {
		return nil, err
	}
	extParams, err := structOf(map[string]any{
		"workflow": map[string]any{"ref": ref, "repository": repo, "path": path},
	})
	if err != nil {
		return nil, err
	}
	intParams, err := structOf(map[string]any{
		"github": map[string]any{
			"event_name":          ext.BuildTrigger,
			"repository_id":       ext.SourceRepositoryIdentifier,
			"repository_owner_id": ext.SourceRepositoryOwnerIdentifier,
			"runner_environment":  ext.RunnerEnvironment,
		},
	})
	if err != nil {
		return nil, err
	}
	return &prov.Provenance{
		BuildDefinition: &prov.BuildDefinition{
			BuildType:            GitHubBuildType,
			ExternalParameters:   extParams,
			InternalParameters:   intParams,
			ResolvedDependencies: sourceDependency(ext, ci.Run{}),
		},
		RunDetails: &prov.RunDetails{
			Builder:  &prov.Builder{Id: ext.BuildSignerURI},
			Metadata: &prov.BuildMetadata{InvocationId: ext.RunInvocationURI},
		},
	}, nil
}

func gitlab(ext certificate.Extensions, run ci.Run) (*prov.Provenance, error) {
	configRef := run.ConfigRefURI
	if configRef == "" {
		configRef = strings.TrimPrefix(ext.BuildConfigURI, "https://")
	}
	project := run.ProjectPath
	if project == "" && ext.SourceRepositoryURI != "" {
		if i := strings.Index(strings.TrimPrefix(ext.SourceRepositoryURI, "https://"), "/"); i >= 0 {
			project = strings.TrimPrefix(ext.SourceRepositoryURI, "https://")[i+1:]
		}
	}
	extParams, err := structOf(map[string]any{
		"ci_config_ref_uri": configRef,
		"project":           project,
		"ref":               firstNonEmpty(ext.SourceRepositoryRef, run.Ref),
	})
	if err != nil {
		return nil, err
	}
	intParams, err := structOf(map[string]any{
		"gitlab": map[string]any{
			"pipeline_id":        run.PipelineID,
			"pipeline_source":    ext.BuildTrigger,
			"job_id":             run.JobID,
			"job_name":           run.JobName,
			"project_id":         ext.SourceRepositoryIdentifier,
			"namespace_id":       ext.SourceRepositoryOwnerIdentifier,
			"runner_environment": ext.RunnerEnvironment,
			"runner_id":          run.RunnerID,
			"runner_description": run.RunnerDescription,
		},
	})
	if err != nil {
		return nil, err
	}
	return &prov.Provenance{
		BuildDefinition: &prov.BuildDefinition{
			BuildType:            GitLabBuildType,
			ExternalParameters:   extParams,
			InternalParameters:   intParams,
			ResolvedDependencies: sourceDependency(ext, run),
		},
		RunDetails: &prov.RunDetails{
			Builder:  &prov.Builder{Id: ext.BuildSignerURI},
			Metadata: &prov.BuildMetadata{InvocationId: ext.RunInvocationURI},
		},
	}, nil
}

func local(ext certificate.Extensions, run ci.Run) (*prov.Provenance, error) {
	extParams, err := structOf(map[string]any{"issuer": ext.Issuer})
	if err != nil {
		return nil, err
	}
	return &prov.Provenance{
		BuildDefinition: &prov.BuildDefinition{
			BuildType:            LocalBuildType,
			ExternalParameters:   extParams,
			ResolvedDependencies: sourceDependency(ext, run),
		},
		RunDetails: &prov.RunDetails{
			Builder: &prov.Builder{Id: firstNonEmpty(ext.BuildSignerURI, "https://github.com/paved-dev/paved")},
		},
	}, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
