package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/verify"
)

const (
	ghIssuer    = "https://token.actions.githubusercontent.com"
	reusableSAN = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d"
	customSAN   = "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main"
	slsaGenSAN  = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/heads/main"
)

func pub(name string) string { return filepath.Join("..", "..", "testdata", "public-bundles", name) }

// TestPublicBundles verifies real-world bundles made by GitHub artifact
// attestations and slsa-github-generator offline against the public-good root,
// and rejects negative fixtures and every wrong expectation.
func TestPublicBundles(t *testing.T) {
	tr, err := root.NewTrustedRootFromPath(filepath.Join("..", "..", "testdata", "trust", "public-good-trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := func(name string) verify.Artifact {
		a, err := verify.FileDigest(context.Background(), pub(name))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	digest := func(s string) verify.Artifact {
		a, err := verify.ParseDigest(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	slsaDigest := "sha256:2892146b063a94cb4a4318c0e98d38af12dcf2b1e29237486b58463b59607bbd"
	tests := []struct {
		name, bundle string
		art          verify.Artifact
		id           verify.Identity
		want         string // "" = must verify
	}{
		{"github reusable workflow", "reusable-workflow-attestation.sigstore.json", file("reusable-workflow-artifact"),
			verify.Identity{SAN: reusableSAN, Issuer: ghIssuer}, ""},
		{"github enterprise issuer", "custom-issuer.sigstore.json", file("custom-issuer-artifact"),
			verify.Identity{SAN: customSAN, Issuer: ghIssuer + "/hammer-time"}, ""},
		{"slsa-github-generator", "valid-v0.3.intoto.sigstore", digest(slsaDigest),
			verify.Identity{SAN: slsaGenSAN, Issuer: ghIssuer}, ""},
		{"san regex", "reusable-workflow-attestation.sigstore.json", file("reusable-workflow-artifact"),
			verify.Identity{SANRegex: `^https://github\.com/github/artifact-attestations-workflows/`, Issuer: ghIssuer}, ""},
		{"source repository extension", "reusable-workflow-attestation.sigstore.json", file("reusable-workflow-artifact"),
			verify.Identity{SAN: reusableSAN, Issuer: ghIssuer, Extensions: extRepo("https://github.com/malancas/attest-demo")}, ""},

		{"wrong san", "reusable-workflow-attestation.sigstore.json", file("reusable-workflow-artifact"),
			verify.Identity{SAN: customSAN, Issuer: ghIssuer}, "not an expected identity"},
		{"wrong issuer", "custom-issuer.sigstore.json", file("custom-issuer-artifact"),
			verify.Identity{SAN: customSAN, Issuer: ghIssuer}, "not an expected identity"},
		{"wrong source repository", "reusable-workflow-attestation.sigstore.json", file("reusable-workflow-artifact"),
			verify.Identity{SAN: reusableSAN, Issuer: ghIssuer, Extensions: extRepo("https://github.com/someone/else")}, "not an expected identity"},
		{"wrong artifact", "reusable-workflow-attestation.sigstore.json", file("custom-issuer-artifact"),
			verify.Identity{SAN: reusableSAN, Issuer: ghIssuer}, "digest"},
		{"bad signature", "sigstoreBundle-invalid-signature.json", file("reusable-workflow-artifact"),
			verify.Identity{SAN: reusableSAN, Issuer: ghIssuer}, ""},
		{"bad dsse signature", "invalid-dsse-sig.intoto.sigstore", digest(slsaDigest), verify.Identity{SANRegex: ".*", Issuer: ghIssuer}, ""},
		{"bad signed entry timestamp", "invalid-set.intoto.sigstore", digest(slsaDigest), verify.Identity{SANRegex: ".*", Issuer: ghIssuer}, ""},
		{"log entry for another body", "mismatch-tlog.intoto.sigstore", digest(slsaDigest), verify.Identity{SANRegex: ".*", Issuer: ghIssuer}, ""},
		{"two dsse signatures", "dsse-2sigs.sigstore.json", digest(slsaDigest), verify.Identity{SANRegex: ".*", Issuer: ghIssuer}, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := bundle.LoadJSONFromPath(pub(tc.bundle))
			negative := i >= 5
			if err != nil {
				if !negative {
					t.Fatal(err)
				}
				return
			}
			res, err := verify.Bundle(tr, b, tc.art, []verify.Identity{tc.id}, verify.Options{})
			if !negative {
				if err != nil {
					t.Fatal(err)
				}
				if res.Signer == nil || res.PredicateType == "" {
					t.Fatalf("result lacks signer or predicate type: %+v", res)
				}
				return
			}
			if err == nil {
				t.Fatal("verified, want rejection")
			}
			if fail.ClassOf(err) != fail.Verification {
				t.Fatalf("class %v, want verification failure: %v", fail.ClassOf(err), err)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func extRepo(uri string) certificate.Extensions {
	return certificate.Extensions{SourceRepositoryURI: uri}
}

// TestCollectorLimits: the byte and bundle budgets are shared by every input,
// files and fetched documents alike.
func TestCollectorLimits(t *testing.T) {
	one := pub("reusable-workflow-attestation.sigstore.json")
	c := verify.Collector{Limits: verify.Limits{Bytes: 30 << 10}}
	if err := c.Load([]string{one, pub("custom-issuer.sigstore.json")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Load([]string{pub("sigstore-js-2.1.0-bundle.json")}); fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "sigstore-js") {
		t.Fatalf("third file past 30 KiB: %v", err)
	}
	n := verify.Collector{Limits: verify.Limits{Bundles: 2}}
	if err := n.Load([]string{one, one}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(one)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Parse(data, "fetched"); fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "2 bundles in all") {
		t.Fatalf("a fetched bundle past the count: %v", err)
	}
	if len(n.Candidates) != 2 {
		t.Fatalf("%d candidates kept", len(n.Candidates))
	}
}

// TestFileDigestsOfEveryAlgorithm: a file is digested in each algorithm the
// bundles use, in one pass, and the npm bundle asks for SHA-512.
func TestFileDigestsOfEveryAlgorithm(t *testing.T) {
	data, err := os.ReadFile(pub("sigstore-js-2.1.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	arts, err := verify.FileDigestsOf(context.Background(), pub("sigstore-js-2.1.0.tgz"), []string{"sha256", "sha384", "sha512", "md5"})
	if err != nil {
		t.Fatal(err)
	}
	s256, s384, s512 := sha256.Sum256(data), sha512.Sum384(data), sha512.Sum512(data)
	if len(arts) != 3 || !bytes.Equal(arts[0].Digest, s256[:]) || !bytes.Equal(arts[1].Digest, s384[:]) || !bytes.Equal(arts[2].Digest, s512[:]) || arts[1].Algorithm != "sha384" {
		t.Fatalf("digests %v", arts)
	}
	cands, err := verify.LoadBundles(nil, []string{pub("sigstore-js-2.1.0-bundle.json"), pub("custom-issuer.sigstore.json")})
	if err != nil {
		t.Fatal(err)
	}
	if algs := verify.Algorithms(cands); len(algs) != 1 || algs[0] != "sha512" {
		t.Fatalf("algorithms %v, want [sha512]", algs)
	}
}
