package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/paved-dev/paved/shared/verify"
)

// FuzzBundleJSON feeds arbitrary bytes to the bundle parser and, when they parse,
// to verification: nothing may panic, and nothing random may verify.
func FuzzBundleJSON(f *testing.F) {
	for _, p := range []string{
		"../../testdata/conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json",
		"../../testdata/conformance/bundle-verify/rekor2-happy-path/bundle.sigstore.json",
		"../../testdata/public-bundles/reusable-workflow-attestation.sigstore.json",
	} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	tr, err := root.NewTrustedRootFromPath(filepath.Join("..", "..", "testdata", "trust", "public-good-trusted_root.json"))
	if err != nil {
		f.Fatal(err)
	}
	art := verify.Artifact{Algorithm: "sha256", Digest: make([]byte, 32)}
	id := verify.Identity{SAN: "https://example.com/x", Issuer: "https://example.com"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b bundle.Bundle
		if err := b.UnmarshalJSON(data); err != nil {
			return
		}
		if _, err := verify.Bundle(tr, &b, art, []verify.Identity{id}, verify.Options{}); err == nil {
			t.Fatalf("fuzzed bundle verified for an all-zero digest")
		}
	})
}

// FuzzPolicyFile feeds arbitrary YAML to the policy parser: no panic, and every
// policy it accepts yields identities that can be checked.
func FuzzPolicyFile(f *testing.F) {
	f.Add([]byte("version: 1\nidentities:\n  - owner: o\n    signer-repo: o/r\n"))
	f.Add([]byte("version: 1\npredicate-type: x\ntrusted-roots: [a.json]\nidentities:\n  - project: g/p\n    deny-self-hosted-runners: true\n"))
	f.Add([]byte("version: 1\nidentities:\n  - cert-identity-regex: '^a'\n    cert-oidc-issuer: https://i\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := verify.ParsePolicy(data)
		if err != nil {
			return
		}
		if len(p.Identities) == 0 {
			t.Fatal("accepted a policy without identities")
		}
		for _, r := range p.Identities {
			id, err := r.Identity()
			if err != nil {
				t.Fatalf("accepted rule %+v fails later: %v", r, err)
			}
			if (id.SAN == "" && id.SANRegex == "") || (id.Issuer == "" && id.IssuerRegex == "") {
				t.Fatalf("accepted rule %+v has no identity: %+v", r, id)
			}
		}
	})
}
