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

// TestPolicyVSA runs the dependency policy gate with --vsa on the local stack:
// a passing and a failing verdict are each signed as a SLSA Verification
// Summary over the artifact, naming the policy by digest, and both verify
// with paved verify-bundle and cosign.
func TestPolicyVSA(t *testing.T) {
	testdata := filepath.Join(repoRoot(t), "shared", "policy", "testdata")
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sbom, verdict string
		code                int
	}{
		{"passing", "sbom-nopurl.cdx.json", "PASSED", 0},
		{"failing", "sbom-syft.cdx.json", "FAILED", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := workspace(t)
			artifact := filepath.Join(ws, "app.tar.gz")
			if err := os.WriteFile(artifact, []byte("release artifact "+tc.name+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			polRaw, err := os.ReadFile(filepath.Join(testdata, "policy-all.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			r := execIn(t, ws, nil, paved, "policy", filepath.Join(testdata, tc.sbom),
				"--policy", filepath.Join(testdata, "policy-all.yaml"), "--osv-db", filepath.Join(testdata, "osv"),
				"--data", filepath.Join(testdata, "maintenance.json"),
				"--vsa", "--subject-path", "app.tar.gz",
				"--identity-token-file", writeToken(t, token),
				"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath)
			if r.code != tc.code {
				t.Fatalf("paved policy: want exit %d: %s", tc.code, r)
			}
			bundle := filepath.Join(ws, "paved-policy.sigstore.json")
			for _, f := range []string{"paved-policy.sarif", "paved-policy.junit.xml", "paved-policy.json", "paved-policy.sigstore.json"} {
				if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
			st := statement(t, bundle)
			sum := sha256.Sum256(polRaw)
			if st["predicateType"] != "https://slsa.dev/verification_summary/v1" ||
				get(st, "predicate", "verificationResult") != tc.verdict ||
				get(st, "predicate", "policy", "digest", "sha256") != hex.EncodeToString(sum[:]) ||
				get(st, "predicate", "verifier", "id") != "https://github.com/paved-dev/paved/policy" {
				t.Fatalf("VSA statement: %v", st)
			}
			subj := st["subject"].([]any)
			art := sha256.Sum256([]byte("release artifact " + tc.name + "\n"))
			if len(subj) != 1 || get(subj[0], "name") != "app.tar.gz" || get(subj[0], "digest", "sha256") != hex.EncodeToString(art[:]) {
				t.Fatalf("VSA subject: %v", subj)
			}
			v := execIn(t, ws, nil, paved, "verify-bundle", "--bundle", bundle, "--certificate-identity", ghSAN,
				"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, artifact)
			if v.code != 0 || !strings.Contains(v.stdout, "verification_summary/v1") {
				t.Fatalf("paved verify-bundle: %s", v)
			}
			c := execIn(t, ws, nil, tool(t, "cosign"), "verify-blob-attestation", "--bundle", bundle, "--trusted-root", stk.TrustedRootPath,
				"--certificate-identity", ghSAN, "--certificate-oidc-issuer", stk.GitHubIssuer,
				"--type", "https://slsa.dev/verification_summary/v1", "--use-signed-timestamps", "--insecure-ignore-sct", artifact)
			if c.code != 0 {
				t.Fatalf("cosign verify-blob-attestation: %s", c)
			}
			assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, ws)
		})
	}
}

// TestAttackPolicyVSAOverUncheckedRules: a gate with no OSV data and the
// OSV API turned off used to sign a VSA saying PASSED over an SBOM listing a
// known malicious package. Now the unchecked rules deny and the signed
// summary says FAILED; and when the OSV API the default policy needs cannot
// be reached, the run exits 3 and signs nothing.
func TestAttackPolicyVSAOverUncheckedRules(t *testing.T) {
	testdata := filepath.Join(repoRoot(t), "shared", "policy", "testdata")
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, policy string
		code         int
		verdict      string
	}{
		{"no data", "version: 1\nonline:\n  osv: false\n", 1, "FAILED"},
		{"source down", "version: 1\n", 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := workspace(t)
			os.WriteFile(filepath.Join(ws, "app.tar.gz"), []byte("release artifact\n"), 0o644)
			os.WriteFile(filepath.Join(ws, "policy.yml"), []byte(tc.policy), 0o644)
			r := execIn(t, ws, nil, paved, "policy", filepath.Join(testdata, "sbom-github.spdx.json"),
				"--policy", "policy.yml", "--osv-api-url", "http://127.0.0.1:9", "--service-timeout", "2s",
				"--vsa", "--subject-path", "app.tar.gz",
				"--identity-token-file", writeToken(t, token),
				"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath)
			if r.code != tc.code || strings.Contains(r.stdout, "verdict: PASSED") {
				t.Fatalf("paved policy: want exit %d and no PASSED verdict: %s", tc.code, r)
			}
			bundle := filepath.Join(ws, "paved-policy.sigstore.json")
			if tc.verdict == "" {
				if _, err := os.Stat(bundle); err == nil {
					t.Fatal("a VSA was signed although the OSV API could not be reached")
				}
				return
			}
			if got := get(statement(t, bundle), "predicate", "verificationResult"); got != tc.verdict {
				t.Fatalf("VSA verificationResult %v, want %s", got, tc.verdict)
			}
		})
	}
}
