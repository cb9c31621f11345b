package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

// TestSbomAttestOnLocalStack runs `paved sbom --attest` on an OCI layout, a
// docker-archive and a source tree, signs on the local Sigstore stack, and has
// Paved and cosign verify both SBOM attestations of each. The tree's SBOMs go
// over --inline-limit and are attested by reference.
func TestSbomAttestOnLocalStack(t *testing.T) {
	ws := t.TempDir()
	img, err := sbomtest.Image()
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(ws, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "ghcr.io/paved-dev/demo:1.0"})); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("ghcr.io/paved-dev/demo:1.0")
	if err := tarball.WriteToFile(filepath.Join(ws, "demo.tar"), tag, img); err != nil {
		t.Fatal(err)
	}
	if err := sbomtest.WriteTree(filepath.Join(ws, "src")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "app-linux-amd64"), []byte("the built binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := func(p string) string {
		data, err := os.ReadFile(filepath.Join(ws, p))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		return hex.EncodeToString(h[:])
	}
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		stem        string
		subjectName string
		subjectHex  string
		artifact    []string // how verifiers name the subject: a file, or --digest
		inline      bool
	}{
		{"OCI layout", []string{"oci"}, "demo", "ghcr.io/paved-dev/demo:1.0", strings.TrimPrefix(d.String(), "sha256:"), nil, true},
		{"docker-archive", []string{"demo.tar"}, "demo.tar", "demo.tar", sum("demo.tar"), []string{"demo.tar"}, true},
		{"source tree by reference", []string{"src", "--subject-path", "app-linux-amd64", "--inline-limit", "1KiB"}, "src", "app-linux-amd64", sum("app-linux-amd64"), []string{"app-linux-amd64"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"sbom", "--attest", "--identity-token-file", writeToken(t, token),
				"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath}, tt.args...)
			r := execIn(t, ws, nil, paved, args...)
			if r.code != 0 {
				t.Fatalf("paved sbom: %s", r)
			}
			assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr})
			if !strings.Contains(r.stdout, "bundle-paths:") || !strings.Contains(r.stderr, "sbom: signed 2 attestation(s)") {
				t.Errorf("outputs or progress lack the bundles:\n%s", r)
			}
			for _, f := range []struct{ ext, predType, cosignType string }{
				// cosign's "spdxjson" alias means the unversioned https://spdx.dev/Document,
				// so the versioned SPDX type is given to cosign as the URI itself.
				{".spdx.json", "https://spdx.dev/Document/v2.3", "https://spdx.dev/Document/v2.3"},
				{".cdx.json", "https://cyclonedx.org/bom", "cyclonedx"},
			} {
				doc := filepath.Join(ws, tt.stem+f.ext)
				bundle := doc + ".sigstore.json"
				st := statement(t, bundle)
				subj := st["subject"].([]any)
				if len(subj) != 1 || get(subj[0], "name") != tt.subjectName || get(subj[0], "digest", "sha256") != tt.subjectHex {
					t.Fatalf("%s: subject %v, want %s sha256:%s", f.ext, subj, tt.subjectName, tt.subjectHex)
				}
				if tt.inline {
					if st["predicateType"] != f.predType {
						t.Fatalf("%s: predicate type %v", f.ext, st["predicateType"])
					}
					if f.ext == ".spdx.json" && get(st, "predicate", "spdxVersion") != "SPDX-2.3" ||
						f.ext == ".cdx.json" && get(st, "predicate", "specVersion") != "1.6" {
						t.Fatalf("%s: predicate is not the SBOM: %v", f.ext, get(st, "predicate"))
					}
				} else {
					if !strings.HasSuffix(st["predicateType"].(string), "/docs/predicates/sbom-reference-v1.md") ||
						get(st, "predicate", "sbomPredicateType") != f.predType ||
						get(st, "predicate", "sbom", "digest", "sha256") != sum(tt.stem+f.ext) {
						t.Fatalf("%s: reference predicate does not bind the SBOM file: %v", f.ext, st)
					}
				}
				artifact := tt.artifact
				if artifact == nil {
					artifact = []string{"--digest", tt.subjectHex, "--digestAlg", "sha256"}
				}
				pv := execIn(t, ws, nil, paved, "verify-bundle", "--bundle", bundle, "--certificate-identity", ghSAN,
					"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, pavedArtifact(artifact, tt.subjectHex))
				if pv.code != 0 {
					t.Fatalf("%s: paved verify-bundle: %s", f.ext, pv)
				}
				cosignType := f.cosignType
				if !tt.inline {
					cosignType = st["predicateType"].(string)
				}
				cv := execIn(t, ws, nil, tool(t, "cosign"), append([]string{"verify-blob-attestation", "--bundle", bundle,
					"--trusted-root", stk.TrustedRootPath, "--certificate-identity", ghSAN, "--certificate-oidc-issuer", stk.GitHubIssuer,
					"--type", cosignType, "--use-signed-timestamps", "--insecure-ignore-sct"}, artifact...)...)
				if cv.code != 0 {
					t.Fatalf("%s: cosign verify-blob-attestation --type %s: %s", f.ext, cosignType, cv)
				}
				// The wrong type must be refused, or the check above proves nothing.
				wrong := "cyclonedx"
				if cosignType == "cyclonedx" {
					wrong = "https://spdx.dev/Document/v2.3"
				}
				if w := execIn(t, ws, nil, tool(t, "cosign"), append([]string{"verify-blob-attestation", "--bundle", bundle,
					"--trusted-root", stk.TrustedRootPath, "--certificate-identity", ghSAN, "--certificate-oidc-issuer", stk.GitHubIssuer,
					"--type", wrong, "--use-signed-timestamps", "--insecure-ignore-sct"}, artifact...)...); w.code == 0 {
					t.Fatalf("%s: cosign accepted --type %s", f.ext, wrong)
				}
			}
		})
	}
}

func pavedArtifact(artifact []string, hexDigest string) string {
	if len(artifact) == 1 {
		return artifact[0]
	}
	return "sha256:" + hexDigest
}

// TestSbomAttestEveryFormatOnLocalStack writes the five formats syft and
// anchore/sbom-action name from one scan of a docker-archive, attests each,
// and has Paved and cosign verify every bundle: JSON documents inline (syft
// JSON as cosign's custom predicate, as `syft attest -o syft-json` signs
// it), tag-value and XML by reference.
func TestSbomAttestEveryFormatOnLocalStack(t *testing.T) {
	ws := t.TempDir()
	img, err := sbomtest.Image()
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("ghcr.io/paved-dev/demo:1.0")
	if err := tarball.WriteToFile(filepath.Join(ws, "demo.tar"), tag, img); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(ws, "demo.tar"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	subjectHex := hex.EncodeToString(h[:])
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r := execIn(t, ws, nil, paved, "sbom", "demo.tar", "--attest", "--identity-token-file", writeToken(t, token),
		"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath,
		"--format", "spdx,cyclonedx,syft-json,spdx-json,cyclonedx-json")
	if r.code != 0 {
		t.Fatalf("paved sbom: %s", r)
	}
	if !strings.Contains(r.stderr, "sbom: signed 5 attestation(s)") || strings.Count(r.stderr, "sbom: cataloging\n") != 1 {
		t.Errorf("want 5 attestations from one scan:\n%s", r)
	}
	const reference = "https://github.com/paved-dev/paved/blob/main/docs/predicates/sbom-reference-v1.md"
	for _, f := range []struct{ file, predType, sbomType, cosignType string }{
		{"demo.tar.spdx.json", "https://spdx.dev/Document/v2.3", "", "https://spdx.dev/Document/v2.3"},
		{"demo.tar.cdx.json", "https://cyclonedx.org/bom", "", "cyclonedx"},
		{"demo.tar.syft.json", "https://cosign.sigstore.dev/attestation/v1", "", "custom"},
		{"demo.tar.spdx", reference, "https://spdx.dev/Document/v2.3", reference},
		{"demo.tar.cdx.xml", reference, "https://cyclonedx.org/bom", reference},
	} {
		t.Run(f.file, func(t *testing.T) {
			bundle := filepath.Join(ws, f.file+".sigstore.json")
			st := statement(t, bundle)
			if st["predicateType"] != f.predType {
				t.Fatalf("predicate type %v, want %s", st["predicateType"], f.predType)
			}
			if subj, _ := st["subject"].([]any); len(subj) != 1 || get(subj[0], "name") != "demo.tar" || get(subj[0], "digest", "sha256") != subjectHex {
				t.Fatalf("subject %v, want demo.tar sha256:%s", st["subject"], subjectHex)
			}
			doc, err := os.ReadFile(filepath.Join(ws, f.file))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case f.sbomType != "":
				sum := sha256.Sum256(doc)
				if get(st, "predicate", "sbomPredicateType") != f.sbomType || get(st, "predicate", "sbom", "digest", "sha256") != hex.EncodeToString(sum[:]) {
					t.Fatalf("reference predicate does not bind the SBOM file: %v", st["predicate"])
				}
			case f.cosignType == "custom":
				d, _ := get(st, "predicate", "Data").(string)
				if !strings.Contains(d, `"artifacts":[`) || !strings.Contains(string(doc), d[:min(len(d), 200)]) || get(st, "predicate", "Timestamp") == nil {
					t.Fatalf("predicate is not cosign's custom predicate carrying the syft JSON: %.300v", st["predicate"])
				}
			}
			pv := execIn(t, ws, nil, paved, "verify-bundle", "--bundle", bundle, "--certificate-identity", ghSAN,
				"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "demo.tar")
			if pv.code != 0 {
				t.Fatalf("paved verify-bundle: %s", pv)
			}
			for _, typ := range []string{f.cosignType, "openvex"} {
				cv := execIn(t, ws, nil, tool(t, "cosign"), "verify-blob-attestation", "--bundle", bundle,
					"--trusted-root", stk.TrustedRootPath, "--certificate-identity", ghSAN, "--certificate-oidc-issuer", stk.GitHubIssuer,
					"--type", typ, "--use-signed-timestamps", "--insecure-ignore-sct", "demo.tar")
				if ok := cv.code == 0; ok != (typ == f.cosignType) {
					t.Fatalf("cosign verify-blob-attestation --type %s: exit %d: %s", typ, cv.code, cv)
				}
			}
		})
	}
}
