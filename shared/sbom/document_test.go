package sbom

import (
	"strings"
	"testing"
)

// TestDocumentPredicateType: an existing SBOM gets the predicate type
// actions/attest gives it: SPDX by its own version, CycloneDX one type.
func TestDocumentPredicateType(t *testing.T) {
	for doc, want := range map[string]string{
		`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`:                                "https://spdx.dev/Document/v2.3",
		`{"spdxVersion":"SPDX-2.2","SPDXID":"SPDXRef-DOCUMENT","packages":[]}`:                  "https://spdx.dev/Document/v2.2",
		`{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:1","version":1}`: CycloneDXPredicateType,
	} {
		got, err := DocumentPredicateType([]byte(doc))
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", doc, got, err, want)
		}
	}
	for _, doc := range []string{
		`{}`, `[]`, `not json`, `{"spdxVersion":"SPDX-2.3"}`, `{"bomFormat":"CycloneDX","specVersion":"1.6"}`,
		`{"SPDXID":"SPDXRef-DOCUMENT","bomFormat":"CycloneDX"}`,
	} {
		if got, err := DocumentPredicateType([]byte(doc)); err == nil {
			t.Errorf("%s: accepted as %q", doc, got)
		}
	}
}

// TestAttackSPDXVersionInPredicateType: the SPDX version becomes part of the
// signed predicate type, so a document cannot make it any other URI (a
// provenance type, a path, a second line).
func TestAttackSPDXVersionInPredicateType(t *testing.T) {
	for _, v := range []string{
		"SPDX-2.3/../../slsa.dev/provenance/v1", "SPDX-2.3\n::warning::x", "SPDX-2.3?x=1", "SPDX-", "SPDX-v2.3",
		"2.3", "SPDX-2.3.1", "SPDX-" + strings.Repeat("9", 10) + ".1", "spdx-2.3",
	} {
		doc := `{"spdxVersion":` + quote(v) + `,"SPDXID":"SPDXRef-DOCUMENT"}`
		if got, err := DocumentPredicateType([]byte(doc)); err == nil {
			t.Errorf("spdxVersion %q: accepted as %q", v, got)
		}
	}
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
