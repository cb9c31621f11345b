package provenance_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/provenance"
)

// fixture returns the statement and certificate extensions of a real bundle.
func fixture(t *testing.T, name string) ([]byte, certificate.Extensions) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "public-bundles", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	s, err := certificate.SummarizeCertificate(vc.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	return b.GetDsseEnvelope().GetPayload(), s.Extensions
}

// TestGenuineProvenanceAgreesWithCertificate: real GitHub artifact
// attestations (current and legacy build types, a reusable workflow, an
// enterprise issuer), npm provenance and what Paved itself builds have no
// contradiction; the certificate describes the same build.
func TestGenuineProvenanceAgreesWithCertificate(t *testing.T) {
	for _, name := range []string{"reusable-workflow-attestation.sigstore.json", "custom-issuer.sigstore.json", "sigstore-js-2.1.0-bundle.json"} {
		t.Run(name, func(t *testing.T) {
			st, ext := fixture(t, name)
			if cs := provenance.Contradictions(st, ext); len(cs) != 0 {
				t.Fatalf("genuine provenance contradicts its certificate: %v", cs)
			}
			if err := provenance.Check(st, ext); err != nil {
				t.Fatal(err)
			}
			d := provenance.DescribeCertificate(ext)
			if d == nil || d.SourceRepository != ext.SourceRepositoryURI || d.Commit != ext.SourceRepositoryDigest || d.Builder != ext.BuildSignerURI ||
				d.RunnerEnvironment != "github-hosted" || d.Trigger != ext.BuildTrigger || d.Path == "" || d.InvocationID != ext.RunInvocationURI {
				t.Fatalf("certificate description %+v", d)
			}
		})
	}
	gh := certificate.Extensions{
		BuildConfigURI: "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1", BuildSignerURI: "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1",
		SourceRepositoryURI: "https://github.com/o/r", SourceRepositoryRef: "refs/tags/v1", SourceRepositoryDigest: "abc123",
		RunInvocationURI: "https://github.com/o/r/actions/runs/1/attempts/2", BuildTrigger: "push", RunnerEnvironment: "github-hosted",
		SourceRepositoryIdentifier: "1", SourceRepositoryOwnerIdentifier: "2",
	}
	gl := certificate.Extensions{
		BuildConfigURI: "https://gitlab.com/g/p//ci/build.yml@refs/heads/main", BuildSignerURI: "https://gitlab.com/g/p//ci/build.yml@refs/heads/main",
		SourceRepositoryURI: "https://gitlab.com/g/p", SourceRepositoryRef: "refs/heads/main", SourceRepositoryDigest: "def456",
		RunInvocationURI: "https://gitlab.com/g/p/-/jobs/9", RunnerEnvironment: "gitlab-hosted", BuildTrigger: "push",
		SourceRepositoryIdentifier: "3", SourceRepositoryOwnerIdentifier: "4",
	}
	for name, tc := range map[string]struct {
		ext certificate.Extensions
		run ci.Run
	}{"paved github": {gh, ci.Run{}}, "paved gitlab": {gl, ci.Run{Kind: ci.GitLabCI, PipelineID: "5", ProjectPath: "g/p", ConfigRefURI: "gitlab.com/g/p//ci/build.yml@refs/heads/main"}}} {
		t.Run(name, func(t *testing.T) {
			pred, err := provenance.Build(tc.ext, tc.run)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := json.Marshal(map[string]any{"predicateType": provenance.PredicateType, "predicate": json.RawMessage(pred)})
			if cs := provenance.Contradictions(st, tc.ext); len(cs) != 0 {
				t.Fatalf("Paved's own provenance contradicts its certificate: %v", cs)
			}
		})
	}
}

// TestAttackForgedProvenanceFieldsNamed: a build step that writes its own
// provenance (another builder, repository, commit, workflow, trigger, runner
// or run) under a genuine certificate has each forged field named.
func TestAttackForgedProvenanceFieldsNamed(t *testing.T) {
	st, ext := fixture(t, "custom-issuer.sigstore.json")
	tests := []struct {
		field string
		forge func(p map[string]any)
	}{
		{"runDetails.builder.id", func(p map[string]any) {
			at(p, "runDetails", "builder")["id"] = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder.yml@refs/tags/v2"
		}},
		{"runDetails.metadata.invocationId", func(p map[string]any) {
			at(p, "runDetails", "metadata")["invocationId"] = "https://github.com/other/repo/actions/runs/1/attempts/1"
		}},
		{"buildDefinition.resolvedDependencies[0].uri", func(p map[string]any) { dep(p)["uri"] = "git+https://github.com/trusted/repo@refs/heads/main" }},
		{"buildDefinition.resolvedDependencies[0].digest.gitCommit", func(p map[string]any) { dep(p)["digest"] = map[string]any{"gitCommit": strings.Repeat("1", 40)} }},
		{"buildDefinition.resolvedDependencies[0].uri (ref)", func(p map[string]any) { dep(p)["uri"] = "git+https://github.com/too-legit/attest@refs/tags/v9" }},
		{"buildDefinition.externalParameters.workflow.repository", func(p map[string]any) {
			at(p, "buildDefinition", "externalParameters", "workflow")["repository"] = "https://github.com/trusted/repo"
		}},
		{"buildDefinition.externalParameters.workflow.path", func(p map[string]any) {
			at(p, "buildDefinition", "externalParameters", "workflow")["path"] = ".github/workflows/release.yml"
		}},
		{"buildDefinition.externalParameters.workflow.ref", func(p map[string]any) {
			at(p, "buildDefinition", "externalParameters", "workflow")["ref"] = "refs/tags/v1"
		}},
		{"buildDefinition.internalParameters.github.event_name", func(p map[string]any) {
			at(p, "buildDefinition", "internalParameters", "github")["event_name"] = "push"
		}},
		{"buildDefinition.internalParameters.github.repository_id", func(p map[string]any) {
			at(p, "buildDefinition", "internalParameters", "github")["repository_id"] = "1"
		}},
		{"buildDefinition.internalParameters.github.runner_environment", func(p map[string]any) {
			at(p, "buildDefinition", "internalParameters", "github")["runner_environment"] = "github-hosted-x"
		}},
		{"buildDefinition.buildType", func(p map[string]any) { at(p, "buildDefinition")["buildType"] = provenance.GitLabBuildType }},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal(st, &s); err != nil {
				t.Fatal(err)
			}
			tc.forge(s["predicate"].(map[string]any))
			forged, _ := json.Marshal(s)
			cs := provenance.Contradictions(forged, ext)
			found := false
			for _, c := range cs {
				found = found || c.Field == tc.field
			}
			if !found {
				t.Fatalf("the forged %s is not named: %v", tc.field, cs)
			}
			if err := provenance.Check(forged, ext); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Check: %v", err)
			}
		})
	}
	t.Run("every field at once", func(t *testing.T) {
		var s map[string]any
		json.Unmarshal(st, &s)
		for _, tc := range tests[:len(tests)-1] {
			if strings.HasSuffix(tc.field, "(ref)") {
				continue
			}
			tc.forge(s["predicate"].(map[string]any))
		}
		forged, _ := json.Marshal(s)
		if cs := provenance.Contradictions(forged, ext); len(cs) < len(tests)-2 {
			t.Fatalf("%d contradictions named: %v", len(cs), cs)
		}
	})
	t.Run("unreadable predicate", func(t *testing.T) {
		if cs := provenance.Contradictions([]byte(`{"predicateType":"`+provenance.PredicateType+`","predicate":{"runDetails":7}}`), ext); len(cs) != 1 {
			t.Fatalf("%v", cs)
		}
	})
}

func at(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func dep(p map[string]any) map[string]any {
	return at(p, "buildDefinition")["resolvedDependencies"].([]any)[0].(map[string]any)
}
