package promote

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/provenance"
)

// TestDocumentedPredicate: the example in docs/predicates/promotion-v1.md
// decodes into Predicate with no field unknown or missing, and what
// NewPredicate and NewFilePredicate write has exactly the documented fields.
func TestDocumentedPredicate(t *testing.T) {
	md, err := os.ReadFile("../../docs/predicates/promotion-v1.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), PredicateType) {
		t.Errorf("the document does not name the predicate type %s", PredicateType)
	}
	_, rest, _ := strings.Cut(string(md), "```json\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no JSON example in docs/predicates/promotion-v1.md")
	}
	dec := json.NewDecoder(strings.NewReader(example))
	dec.DisallowUnknownFields()
	var p Predicate
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("the documented example does not decode strictly: %v", err)
	}
	documented := keys(t, []byte(example))
	res := &Result{Source: Source{Reference: "a@sha256:00", MediaType: "application/vnd.oci.image.index.v1+json", Tag: "1.0", Repository: "a"},
		Destination: "b@sha256:00", Digest: "sha256:00", Tags: []string{"b:1.0"}}
	img, err := NewPredicate(res, "production", Run{Signer: "s", SignerClaims: provenance.SignerClaims{Issuer: "i"}}, Verification{PredicateType: "p"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	file, err := NewFilePredicate("dist/app", "GitHub release o/r@v1, file app", "sha256:00", 3, "production", Run{Signer: "s", SignerClaims: provenance.SignerClaims{Issuer: "i"}}, Verification{PredicateType: "p"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"image": img, "file": file} {
		got := keys(t, raw)
		for k := range got {
			if !documented[k] {
				t.Errorf("%s promotion writes %q, which the document does not show", name, k)
			}
		}
		for k := range documented {
			if !got[k] && !(name == "file" && (k == "fromTag" || k == "tags")) {
				t.Errorf("%s promotion lacks the documented %q", name, k)
			}
		}
	}
}

func keys(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
