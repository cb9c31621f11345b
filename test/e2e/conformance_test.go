package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConformanceSignBundle drives `paved sign-bundle` as the sigstore-conformance
// suite does, for a blob and for an in-toto statement, and verifies the result
// with `paved verify-bundle` and cosign.
func TestConformanceSignBundle(t *testing.T) {
	dir := t.TempDir()
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(blob, []byte("hello, conformance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := execIn(t, dir, nil, paved, "sign-bundle", "--identity-token", token, "--bundle", "a.sigstore.json",
		"--signing-config", stk.SigningConfigPath, "--trusted-root", stk.TrustedRootPath, blob)
	if r.code != 0 {
		t.Fatalf("sign-bundle: %s", r)
	}
	v := execIn(t, dir, nil, paved, "verify-bundle", "--bundle", "a.sigstore.json", "--certificate-identity", ghSAN,
		"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, blob)
	if v.code != 0 {
		t.Fatalf("verify-bundle: %s", v)
	}
	c := execIn(t, dir, nil, tool(t, "cosign"), "verify-blob", "--bundle", "a.sigstore.json", "--trusted-root", stk.TrustedRootPath,
		"--certificate-identity", ghSAN, "--certificate-oidc-issuer", stk.GitHubIssuer, "--use-signed-timestamps", "--insecure-ignore-sct", blob)
	if c.code != 0 {
		t.Fatalf("cosign verify-blob: %s", c)
	}
	sum := sha256.Sum256([]byte("hello, conformance\n"))
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.txt","digest":{"sha256":"` + hex.EncodeToString(sum[:]) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`
	if err := os.WriteFile(filepath.Join(dir, "stmt.json"), []byte(stmt), 0o644); err != nil {
		t.Fatal(err)
	}
	r = execIn(t, dir, nil, paved, "sign-bundle", "--in-toto", "--identity-token", token, "--bundle", "s.sigstore.json",
		"--signing-config", stk.SigningConfigPath, "--trusted-root", stk.TrustedRootPath, "stmt.json")
	if r.code != 0 {
		t.Fatalf("sign-bundle --in-toto: %s", r)
	}
	v = execIn(t, dir, nil, paved, "verify-bundle", "--bundle", "s.sigstore.json", "--certificate-identity", ghSAN,
		"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "sha256:"+hex.EncodeToString(sum[:]))
	if v.code != 0 || !strings.Contains(v.stdout, "predicate-type: https://example.com/p") {
		t.Fatalf("verify-bundle of the statement: %s", v)
	}
	assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr, v.stdout, v.stderr}, dir)
}
