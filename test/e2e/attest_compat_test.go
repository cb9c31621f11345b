package e2e

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttestTakesActionsAttestInputs runs paved attest in a GitHub Actions
// step with the inputs as actions/attest takes them, against the local
// Sigstore stack and a local server speaking GitHub's attestations API,
// which the attestation goes to without being asked, as with actions/attest.
func TestAttestTakesActionsAttestInputs(t *testing.T) {
	const ghToken = "ghs_e2eCompatToken0123456789abcdefABCDEF"
	api := &githubAPI{token: ghToken}
	srv := httptest.NewServer(api)
	defer srv.Close()
	step := func(t *testing.T, ws, summary string, inputs ...string) (result, map[string]string) {
		t.Helper()
		reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
		ghOut := filepath.Join(t.TempDir(), "github_output")
		env := githubStep(ws, ghOut, summary, reqURL, reqToken, append([]string{"GITHUB_RUN_ID=4242", "GITHUB_API_URL=" + srv.URL,
			// The action passes its github-token input, ${{ github.token }}.
			"INPUT_GITHUB_TOKEN=" + ghToken}, inputs...)...)
		r := execIn(t, ws, env, paved, "attest")
		assertNoSecrets(t, []string{ghToken, reqToken}, []string{r.stdout, r.stderr}, ws, filepath.Dir(ghOut))
		return r, outputsOf(t, ghOut)
	}
	amd64 := []byte("binary for amd64\n")
	sum256 := sha256.Sum256(amd64)
	sum512 := sha512.Sum512(amd64)

	t.Run("subject-name and a bare sha512 subject-digest, stored with GitHub by default", func(t *testing.T) {
		ws := workspace(t)
		summary := filepath.Join(t.TempDir(), "summary")
		r, out := step(t, ws, summary, "INPUT_SUBJECT_NAME=app-linux-amd64", "INPUT_SUBJECT_DIGEST=sha512:"+hex.EncodeToString(sum512[:]),
			"INPUT_PREDICATE_TYPE=https://example.com/predicate/v1", "INPUT_PREDICATE={\"purl\":\"pkg:generic/app\"}", "INPUT_SUBJECT_VERSION=1.2.3")
		if r.code != 0 {
			t.Fatalf("paved attest: %s", r)
		}
		if !strings.Contains(r.stdout+r.stderr, "subject-version is ignored") {
			t.Errorf("subject-version must be noticed as ignored: %s", r)
		}
		if !filepath.IsAbs(out["bundle-path"]) || out["bundle-path"] != filepath.Join(ws, "app-linux-amd64.sigstore.json") {
			t.Fatalf("bundle-path %q: want the absolute path of the bundle", out["bundle-path"])
		}
		if out["attestation-id"] == "" || out["attestation-url"] != "https://github.com/"+ghRepo+"/attestations/"+out["attestation-id"] {
			t.Fatalf("the attestation was not stored with GitHub by default: %q", out)
		}
		st := statement(t, out["bundle-path"])
		subj := st["subject"].([]any)[0].(map[string]any)
		if subj["name"] != "app-linux-amd64" || subj["digest"].(map[string]any)["sha512"] != hex.EncodeToString(sum512[:]) ||
			st["predicateType"] != "https://example.com/predicate/v1" || st["predicate"].(map[string]any)["purl"] != "pkg:generic/app" {
			t.Fatalf("statement: %v", st)
		}
		// paved verifies the file against the sha512 subject.
		v := execIn(t, "", nil, paved, "verify-bundle", "--bundle", out["bundle-path"], "--certificate-identity", ghSAN,
			"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, filepath.Join(ws, "dist", "app-linux-amd64"))
		if v.code != 0 {
			t.Fatalf("verify-bundle rejects the sha512 attestation: %s", v)
		}
	})

	t.Run("sha512sum checksums, show-summary false", func(t *testing.T) {
		ws := workspace(t)
		arm64 := sha512.Sum512([]byte("binary for arm64\n"))
		sums := hex.EncodeToString(sum512[:]) + "  app-linux-amd64\n" + hex.EncodeToString(arm64[:]) + " *app-linux-arm64\n"
		os.WriteFile(filepath.Join(ws, "SHA512SUMS"), []byte(sums), 0o644)
		summary := filepath.Join(t.TempDir(), "summary")
		r, out := step(t, ws, summary, "INPUT_SUBJECT_CHECKSUMS=SHA512SUMS", "INPUT_SHOW_SUMMARY=false")
		if r.code != 0 {
			t.Fatalf("paved attest: %s", r)
		}
		if got := strings.Count(out["subjects"], "sha512:"); got != 2 {
			t.Fatalf("subjects %q: want two sha512 subjects", out["subjects"])
		}
		if raw, _ := os.ReadFile(summary); len(raw) != 0 {
			t.Fatalf("show-summary false wrote a summary:\n%s", raw)
		}
	})

	t.Run("sbom-path takes its predicate type from the SBOM", func(t *testing.T) {
		ws := workspace(t)
		for name, doc := range map[string]string{
			"sbom.spdx.json": `{"spdxVersion":"SPDX-2.2","SPDXID":"SPDXRef-DOCUMENT","name":"app"}`,
			"sbom.cdx.json":  `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79","version":1}`,
		} {
			os.WriteFile(filepath.Join(ws, name), []byte(doc), 0o644)
		}
		want := map[string]string{"sbom.spdx.json": "https://spdx.dev/Document/v2.2", "sbom.cdx.json": "https://cyclonedx.org/bom"}
		for name, predType := range want {
			r, out := step(t, ws, "", "INPUT_SUBJECT_PATH=dist/app-linux-amd64", "INPUT_SBOM_PATH="+name, "INPUT_BUNDLE_PATH="+name+".sigstore.json")
			if r.code != 0 {
				t.Fatalf("paved attest --sbom-path %s: %s", name, r)
			}
			if st := statement(t, out["bundle-path"]); st["predicateType"] != predType {
				t.Fatalf("%s: predicate type %v, want %s", name, st["predicateType"], predType)
			}
		}
	})

	t.Run("without attestations: write, a warning naming it and the bundle", func(t *testing.T) {
		api.mu.Lock()
		api.forbidden = true
		api.mu.Unlock()
		defer func() { api.mu.Lock(); api.forbidden = false; api.mu.Unlock() }()
		ws := workspace(t)
		r, out := step(t, ws, "", "INPUT_SUBJECT_DIGEST=app@sha256:"+hex.EncodeToString(sum256[:]))
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "::warning") || !strings.Contains(r.stdout+r.stderr, "permissions: attestations: write") {
			t.Fatalf("a job without the permission must pass with a warning naming it: %s", r)
		}
		if _, err := os.Stat(out["bundle-path"]); err != nil || out["attestation-id"] != "" {
			t.Fatalf("the bundle must be written and no attestation id given: %q, %v", out, err)
		}
		// Asked for explicitly, the same refusal fails the step.
		r, _ = step(t, workspace(t), "", "INPUT_SUBJECT_DIGEST=app@sha256:"+hex.EncodeToString(sum256[:]), "INPUT_GITHUB_ATTESTATIONS=true")
		if r.code != 2 || !strings.Contains(r.stderr, "permissions: attestations: write") {
			t.Fatalf("github-attestations: true must fail on the refusal: %s", r)
		}
	})
}
