package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/verify"
)

// TestWriteKit: the kit holds each verifying bundle once, compacted, one per
// line; only the trusted roots that verified something; and the policy naming
// those roots by their file in the kit.
func TestWriteKit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kit")
	bundle := &verify.Candidate{JSON: []byte("{\n  \"mediaType\": \"b1\"\n}")}
	outcomes := []verify.Outcome{
		{Verified: true, Candidate: bundle, Root: "used"},
		{Verified: true, Candidate: bundle, Root: "used"},
	}
	roots := []verify.Root{{Name: "unused", JSON: []byte(`{"r":0}`)}, {Name: "used", JSON: []byte(`{"r":1}`)}}
	pol := &verify.PolicyFile{Version: verify.PolicyVersion, PredicateType: "https://slsa.dev/provenance/v1", TrustedRoots: []string{"/elsewhere/root.json"},
		Identities: []verify.Rule{{Repo: "acme/app"}}}
	if err := verify.WriteKit(dir, outcomes, roots, pol); err != nil {
		t.Fatal(err)
	}
	bundles, err := os.ReadFile(filepath.Join(dir, verify.KitBundles))
	if err != nil || string(bundles) != `{"mediaType":"b1"}`+"\n" {
		t.Fatalf("bundles %q, %v", bundles, err)
	}
	if got := verify.KitRoots(dir); len(got) != 1 || filepath.Base(got[0]) != "trusted_root-1.json" {
		t.Fatalf("roots %q, want only the one that verified", got)
	}
	polData, err := os.ReadFile(filepath.Join(dir, verify.KitPolicy))
	if err != nil {
		t.Fatal(err)
	}
	p, err := verify.ParsePolicy(polData)
	if err != nil {
		t.Fatalf("kit policy %s: %v", polData, err)
	}
	if len(p.TrustedRoots) != 1 || p.TrustedRoots[0] != "trusted_root-1.json" || !strings.HasPrefix(string(polData), "# Paved verification kit") {
		t.Fatalf("kit policy %s", polData)
	}
	if pol.TrustedRoots[0] != "/elsewhere/root.json" {
		t.Fatalf("WriteKit changed the caller's policy: %v", pol.TrustedRoots)
	}
}
