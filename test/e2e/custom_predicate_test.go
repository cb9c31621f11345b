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

// TestCustomPredicateAndDigestSubjects attests a custom predicate for subjects
// given only by digest, and checks the statement and its verification.
func TestCustomPredicateAndDigestSubjects(t *testing.T) {
	ws := workspace(t)
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("image config bytes\n")
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(ws, "image"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "pred.json"), []byte(`{"scanner":{"uri":"pkg:golang/example"},"result":"PASSED"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := execIn(t, ws, nil, paved, "attest", "--identity-token-file", writeToken(t, token),
		"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath,
		"--subject-digest", "ghcr.io/paved-dev/demo@sha256:"+digest,
		"--predicate-type", "https://example.com/scan/v1", "--predicate-path", "pred.json")
	if r.code != 0 {
		t.Fatalf("attest: %s", r)
	}
	bundle := filepath.Join(ws, "demo.sigstore.json")
	if _, err := os.Stat(bundle); err != nil {
		entries, _ := os.ReadDir(ws)
		t.Fatalf("bundle not at %s: %v (%v)", bundle, err, entries)
	}
	st := statement(t, bundle)
	if st["predicateType"] != "https://example.com/scan/v1" || get(st, "predicate", "result") != "PASSED" {
		t.Fatalf("statement %v", st)
	}
	if subj := st["subject"].([]any); len(subj) != 1 || get(subj[0], "name") != "ghcr.io/paved-dev/demo" || get(subj[0], "digest", "sha256") != digest {
		t.Fatalf("subject %v", subj)
	}
	v := execIn(t, ws, nil, tool(t, "cosign"), "verify-blob-attestation", "--bundle", bundle, "--trusted-root", stk.TrustedRootPath,
		"--certificate-identity", ghSAN, "--certificate-oidc-issuer", stk.GitHubIssuer, "--type", "https://example.com/scan/v1",
		"--use-signed-timestamps", "--insecure-ignore-sct", "image")
	if v.code != 0 {
		t.Fatalf("cosign rejects the custom predicate: %s", v)
	}
	bad := execIn(t, ws, nil, paved, "attest", "--identity-token-file", writeToken(t, token),
		"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath,
		"--subject-digest", "x@sha256:"+digest, "--predicate-path", "pred.json")
	if bad.code != 2 || !strings.Contains(bad.stderr, "--predicate-type") {
		t.Fatalf("a custom predicate without its type must be refused naming --predicate-type: %s", bad)
	}
}
