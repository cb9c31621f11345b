package command_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/trust/trusttest"
)

func pavedRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := command.Main(context.Background(), door, args, door.Getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func pub(name string) string { return filepath.Join("..", "..", "testdata", "public-bundles", name) }

var publicRoot = filepath.Join("..", "..", "testdata", "trust", "public-good-trusted_root.json")

// TestVerifyPolicyFlags checks each gh-compatible policy flag against a real
// GitHub artifact attestation made through a reusable workflow: the right value
// verifies, a wrong one is refused with exit 1 and says what was expected.
func TestVerifyPolicyFlags(t *testing.T) {
	base := []string{"verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"), "--trusted-root", publicRoot}
	const commit = "09b495c3f12c7881b3cc17209a327792065c1a1d"
	tests := []struct {
		name  string
		flags []string
		want  int
		msg   string
	}{
		{"owner and signer repo", []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows"}, 0, ""},
		{"repo and signer workflow", []string{"--repo", "malancas/attest-demo", "--signer-workflow", "github/artifact-attestations-workflows/.github/workflows/attest.yml"}, 0, ""},
		{"source ref and digest, hosted runner", []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--source-ref", "refs/heads/main", "--signer-digest", commit, "--deny-self-hosted-runners"}, 0, ""},
		{"cert identity", []string{"--owner", "malancas", "--cert-identity", "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@" + commit, "--cert-oidc-issuer", "https://token.actions.githubusercontent.com"}, 0, ""},

		{"wrong owner", []string{"--owner", "someone-else", "--signer-repo", "github/artifact-attestations-workflows"}, 1, "owner https://github.com/someone-else"},
		{"owner without signer repo", []string{"--owner", "malancas"}, 1, `expected SAN value to match regex "^https://github\.com/malancas/"`},
		{"wrong repo", []string{"--repo", "malancas/other", "--signer-repo", "github/artifact-attestations-workflows"}, 1, "https://github.com/malancas/other"},
		{"wrong signer workflow", []string{"--owner", "malancas", "--signer-workflow", "github/artifact-attestations-workflows/.github/workflows/other.yml"}, 1, `workflows/other\.yml@`},
		{"wrong source ref", []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--source-ref", "refs/heads/dev"}, 1, "refs/heads/dev"},
		{"wrong source digest", []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--source-digest", strings.Repeat("0", 40)}, 1, strings.Repeat("0", 40)},
		{"wrong issuer", []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--cert-oidc-issuer", "https://token.actions.githubusercontent.com/other"}, 1, "/other"},
		{"wrong predicate type", []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--predicate-type", "https://spdx.dev/Document/v2.3"}, 1, `want "https://spdx.dev/Document/v2.3"`},
		{"no identity", nil, 2, "no identity to verify against"},
		{"identity flags and a policy", []string{"--owner", "x", "--policy", "p.yaml"}, 2, ""},
		{"bad format", []string{"--owner", "malancas", "--format", "xml"}, 2, "--format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := pavedRun(t, append(append([]string{}, base...), tc.flags...)...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			if tc.msg != "" && !strings.Contains(stderr, tc.msg) {
				t.Fatalf("output does not say %q:\n%s", tc.msg, stderr)
			}
		})
	}
	t.Run("wrong artifact", func(t *testing.T) {
		code, _, stderr := pavedRun(t, "verify", pub("custom-issuer-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
			"--trusted-root", publicRoot, "--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows")
		if code != 1 || !strings.Contains(stderr, "no attestation names sha256:afa27b44") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

// TestVerifyPolicyFileAndKit verifies three artifacts signed by three different
// signers (GitHub artifact attestations, an enterprise issuer and
// slsa-github-generator) in one call with a policy file, writes a kit, and
// verifies again from the kit alone.
func TestVerifyPolicyFileAndKit(t *testing.T) {
	dir := t.TempDir()
	root, _ := filepath.Abs(publicRoot)
	policy := `version: 1
trusted-roots: [` + root + `]
identities:
  - name: GitHub artifact attestations
    owner: malancas
    signer-repo: github/artifact-attestations-workflows
  - name: enterprise
    repo: too-legit/attest
    cert-oidc-issuer: https://token.actions.githubusercontent.com/hammer-time
`
	if err := os.WriteFile(filepath.Join(dir, "policy.yml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	kit := filepath.Join(dir, "kit")
	args := []string{"verify", "--policy", filepath.Join(dir, "policy.yml"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
		"--bundle", pub("custom-issuer.sigstore.json"), "--kit", kit, "--format", "json",
		pub("reusable-workflow-artifact"), pub("custom-issuer-artifact")}
	code, stdout, stderr := pavedRun(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Verified  bool
		Artifacts []struct {
			Verified  bool
			Signer    struct{ Identity, SourceRepository string }
			Statement map[string]any
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--format json printed %q: %v", stdout, err)
	}
	if !rep.Verified || len(rep.Artifacts) != 2 || rep.Artifacts[1].Signer.SourceRepository != "https://github.com/too-legit/attest" ||
		rep.Artifacts[0].Statement["predicateType"] != "https://slsa.dev/provenance/v1" {
		t.Fatalf("report %+v", rep)
	}
	for _, f := range []string{"policy.yaml", "bundles.jsonl", "trusted_root-0.json"} {
		if _, err := os.Stat(filepath.Join(kit, f)); err != nil {
			t.Fatalf("kit lacks %s: %v", f, err)
		}
	}
	code, _, stderr = pavedRun(t, "verify", "--kit", kit, pub("custom-issuer-artifact"))
	if code != 0 {
		t.Fatalf("verifying from the kit: exit %d: %s", code, stderr)
	}
	code, _, stderr = pavedRun(t, "verify", "--kit", kit, pub("sigstore-js-2.1.0.tgz"))
	if code != 1 {
		t.Fatalf("an artifact the kit does not cover must be refused: exit %d: %s", code, stderr)
	}
}

func TestVerifyPolicyFileErrors(t *testing.T) {
	tests := []struct{ name, policy, want string }{
		{"unknown field", "version: 1\nidentities:\n  - owner: x\n    ownr: y\n", "line 4"},
		{"wrong version", "version: 2\nidentities:\n  - owner: x\n", "version: 1"},
		{"no identities", "version: 1\n", "no identities"},
		{"mixed platforms", "version: 1\nidentities:\n  - owner: x\n    project: g/p\n", "mixes GitHub fields"},
		{"bad regex", "version: 1\nidentities:\n  - cert-identity-regex: '('\n    cert-oidc-issuer: https://x\n", "regex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "policy.yml")
			if err := os.WriteFile(p, []byte(tc.policy), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := pavedRun(t, "verify", "--policy", p, "--bundle", pub("custom-issuer.sigstore.json"), "--trusted-root", publicRoot, pub("custom-issuer-artifact"))
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2 mentioning %q: %s", code, tc.want, stderr)
			}
		})
	}
}

// TestVerifyTUFTrustedRoot: --trusted-root tuf:MIRROR#ROOT fetches the trusted
// root from a TUF repository (here on loopback, publishing the public-good
// root under a root.json of its own) and verifies a real GitHub attestation
// with it; a malformed entry names the form to use.
func TestVerifyTUFTrustedRoot(t *testing.T) {
	trusted, err := os.ReadFile(publicRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir, rootJSON := trusttest.Repository(t, trusted)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	t.Setenv("HOME", t.TempDir()) // sigstore-go caches TUF metadata under $HOME/.sigstore
	rootFile := filepath.Join(t.TempDir(), "root.json")
	os.WriteFile(rootFile, rootJSON, 0o644)
	args := []string{"verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
		"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows"}
	code, stdout, stderr := pavedRun(t, append(args, "--trusted-root", "tuf:"+srv.URL+"#"+rootFile)...)
	if code != 0 || !strings.Contains(stdout, "verified: true") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if code, _, stderr := pavedRun(t, append(args, "--trusted-root", "tuf:"+srv.URL)...); code != 2 || !strings.Contains(stderr, "tuf:MIRROR_URL#ROOT_JSON") {
		t.Errorf("a TUF entry without its root: exit %d: %s", code, stderr)
	}
}
