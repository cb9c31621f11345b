package provenance_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/provenance"
)

func payload(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "public-bundles", name))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DsseEnvelope struct{ Payload string } `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDescribeBothGitHubBuildTypes reads the legacy build type (npm provenance
// of sigstore-js) and the current one (GitHub artifact attestations).
func TestDescribeBothGitHubBuildTypes(t *testing.T) {
	legacy := provenance.Describe(payload(t, "sigstore-js-2.1.0-bundle.json"))
	if legacy == nil || legacy.BuildType != provenance.LegacyGitHubBuildType || legacy.Repository != "https://github.com/sigstore/sigstore-js" ||
		legacy.Path != ".github/workflows/release.yml" || len(legacy.Commit) != 40 {
		t.Fatalf("legacy build type: %+v", legacy)
	}
	reusable := provenance.Describe(payload(t, "reusable-workflow-attestation.sigstore.json"))
	if reusable == nil || reusable.Path != ".github/workflows/shared.yml" || reusable.Repository != "https://github.com/malancas/attest-demo" {
		t.Fatalf("reusable workflow: %+v", reusable)
	}
	current := provenance.Describe(payload(t, "custom-issuer.sigstore.json"))
	if current == nil || current.BuildType != provenance.GitHubBuildType || current.Repository != "https://github.com/too-legit/attest" || current.Ref != "refs/heads/main" {
		t.Fatalf("current build type: %+v", current)
	}
	if provenance.Describe(payload(t, "valid-v0.3.intoto.sigstore")) != nil {
		t.Fatal("SLSA v0.2 provenance must not be described as v1")
	}
}

// TestBuildRoundTrip: what Build writes, Describe reads back, for both platforms.
func TestBuildRoundTrip(t *testing.T) {
	gh := certificate.Extensions{
		BuildConfigURI: "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1", BuildSignerURI: "https://github.com/o/r/.github/workflows/rel.yml@refs/tags/v1",
		SourceRepositoryURI: "https://github.com/o/r", SourceRepositoryRef: "refs/tags/v1", SourceRepositoryDigest: "abc123",
		RunInvocationURI: "https://github.com/o/r/actions/runs/1/attempts/2", BuildTrigger: "push", RunnerEnvironment: "github-hosted",
	}
	gl := certificate.Extensions{
		BuildConfigURI: "https://gitlab.com/g/p//ci/build.yml@refs/heads/main", BuildSignerURI: "https://gitlab.com/g/p//ci/build.yml@refs/heads/main",
		SourceRepositoryURI: "https://gitlab.com/g/p", SourceRepositoryRef: "refs/heads/main", SourceRepositoryDigest: "def456",
		RunInvocationURI: "https://gitlab.com/g/p/-/jobs/9", RunnerEnvironment: "gitlab-hosted",
	}
	tests := []struct {
		name string
		ext  certificate.Extensions
		run  ci.Run
		want provenance.BuildInfo
	}{
		{"github", gh, ci.Run{}, provenance.BuildInfo{BuildType: provenance.GitHubBuildType, Builder: gh.BuildSignerURI, Repository: "https://github.com/o/r",
			Path: ".github/workflows/rel.yml", Ref: "refs/tags/v1", Commit: "abc123", InvocationID: gh.RunInvocationURI}},
		{"gitlab", gl, ci.Run{Kind: ci.GitLabCI, PipelineID: "5"}, provenance.BuildInfo{BuildType: provenance.GitLabBuildType, Builder: gl.BuildSignerURI,
			Repository: "g/p", Path: "ci/build.yml", Ref: "refs/heads/main", Commit: "def456", InvocationID: gl.RunInvocationURI}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pred, err := provenance.Build(tc.ext, tc.run)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := json.Marshal(map[string]any{"predicateType": provenance.PredicateType, "predicate": json.RawMessage(pred)})
			got := provenance.Describe(st)
			if got == nil || *got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
