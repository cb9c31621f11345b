package provenance_test

import (
	"encoding/json"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/paved-dev/paved/shared/provenance"
)

// TestClaimsOfPinsTheWireNames: every claim comes from its own extension and
// keeps the JSON name reports and the promotion predicate publish.
func TestClaimsOfPinsTheWireNames(t *testing.T) {
	ext := certificate.Extensions{
		Issuer: "iss", SourceRepositoryURI: "repo", SourceRepositoryRef: "ref", SourceRepositoryDigest: "sha",
		BuildSignerURI: "builder", RunnerEnvironment: "github-hosted", RunInvocationURI: "run",
	}
	got, err := json.Marshal(struct {
		Identity string `json:"identity"`
		provenance.SignerClaims
	}{"who", provenance.ClaimsOf(ext)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"identity":"who","issuer":"iss","sourceRepository":"repo","sourceRef":"ref","sourceDigest":"sha","buildSigner":"builder","runnerEnvironment":"github-hosted","runInvocation":"run"}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
