package ghformat

import (
	"testing"

	"github.com/paved-dev/paved/shared/verify"
)

// TestAttestationsLeaveOutWhatDidNotVerify: a refused bundle never appears in
// the gh-json document, which prints an empty array as gh does.
func TestAttestationsLeaveOutWhatDidNotVerify(t *testing.T) {
	doc, err := Attestations([]verify.Outcome{{Verified: false, Candidate: &verify.Candidate{JSON: []byte(`{"mediaType":"x"}`)}}})
	if err != nil || string(doc) != "[]\n" {
		t.Fatalf("got %q, %v", doc, err)
	}
}
