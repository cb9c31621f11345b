package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/promote/promotetest"
)

// TestPromoteReleaseFileToGitHub attests a release file with paved attest on
// the local Sigstore stack, then promotes it as a GitHub Actions step to a
// GitHub API on loopback that follows the REST documentation for releases and
// release assets (package promotetest). The asset holds exactly the attested
// bytes and verifies with paved and cosign; a promotion attestation signed as
// the job goes beside it; a rerun does not upload the file again; a modified
// copy and another signer's policy are refused with nothing uploaded.
func TestPromoteReleaseFileToGitHub(t *testing.T) {
	ws := workspace(t)
	token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r := execIn(t, ws, nil, paved, "attest", "--identity-token-file", writeToken(t, token), "--trusted-root", stk.TrustedRootPath,
		"--signing-config", stk.SigningConfigPath, "dist/app-linux-amd64"); r.code != 0 {
		t.Fatalf("paved attest: %s", r)
	}
	attested, err := os.ReadFile(filepath.Join(ws, "dist", "app-linux-amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "rebuilt"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "rebuilt", "app-linux-amd64"), []byte("binary for amd64, rebuilt\n"), 0o755)

	const ghToken = "ghs_e2ePromoteFileToken0123456789abcdef"
	gh := promotetest.NewGitHubReleases("paved-dev", "demo", ghToken)
	defer gh.Close()
	gh.CreateRelease("v1.0.0")
	gh.CreateRelease("v2.0.0")

	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	summary := filepath.Join(t.TempDir(), "summary")
	promote := func(t *testing.T, inputs ...string) (result, map[string]string) {
		t.Helper()
		ghOut := filepath.Join(t.TempDir(), "github_output")
		os.Remove(summary)
		env := githubStep(ws, ghOut, summary, reqURL, reqToken, append([]string{"GITHUB_RUN_ID=4343",
			"GITHUB_API_URL=" + gh.API.URL, "GITHUB_TOKEN=" + ghToken, "INPUT_CERT_OIDC_ISSUER=" + stk.GitHubIssuer}, inputs...)...)
		r := execIn(t, ws, env, paved, "promote")
		assertNoSecrets(t, []string{ghToken, token, reqToken}, []string{r.stdout, r.stderr}, ws, filepath.Dir(ghOut))
		return r, outputsOf(t, ghOut)
	}

	// The bundles are found where paved attest left them in the workspace.
	r, out := promote(t, "INPUT_SOURCE=dist/app-linux-amd64", "INPUT_DESTINATION=github-release://paved-dev/demo@v1.0.0", "INPUT_REPO="+ghRepo, "INPUT_ENVIRONMENT=production")
	if r.code != 0 {
		t.Fatalf("paved promote: %s", r)
	}
	if got, ok := gh.Asset("v1.0.0", "app-linux-amd64"); !ok || string(got) != string(attested) || gh.UploadCount() != 2 {
		t.Fatalf("the release holds %q (%d uploads), want the attested bytes and the promotion attestation", got, gh.UploadCount())
	}
	// The promotion attestation: uploaded beside the file, the same bytes as
	// attestation-path, about the file's digest, signed as this job; the
	// summary's command verifies it.
	var promotion string
	for _, n := range gh.Names("v1.0.0") {
		if strings.HasPrefix(n, "app-linux-amd64.promotion-") && strings.HasSuffix(n, ".sigstore.json") {
			promotion = n
		}
	}
	local, _ := os.ReadFile(filepath.Join(ws, out["attestation-path"]))
	if up, ok := gh.Asset("v1.0.0", promotion); promotion == "" || !ok || string(up) != string(local) || len(local) == 0 {
		t.Fatalf("release assets %v: want the promotion attestation %s beside the file", gh.Names("v1.0.0"), out["attestation-path"])
	}
	st := statement(t, filepath.Join(ws, out["attestation-path"]))
	pred, _ := st["predicate"].(map[string]any)
	if pred["environment"] != "production" || pred["from"] != "dist/app-linux-amd64" || pred["to"] != "GitHub release paved-dev/demo@v1.0.0, file app-linux-amd64" || pred["mediaType"] != "application/octet-stream" {
		t.Errorf("promotion predicate %v", pred)
	}
	sum, _ := os.ReadFile(summary)
	ran := 0
	for _, line := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(line, "paved verify ") {
			ran++
			if v := execIn(t, ws, nil, paved, strings.Fields(line)[1:]...); v.code != 0 {
				t.Errorf("the summary's command %q fails: %s", line, v)
			}
		}
	}
	if ran != 1 {
		t.Errorf("the summary gives %d verify commands, want the promotion's:\n%s", ran, sum)
	}
	for _, a := range gh.Authorizations() {
		if a != "Bearer "+ghToken {
			t.Fatalf("a request went without the job's token: %q", a)
		}
	}
	if out["destination"] != "github-release://paved-dev/demo@v1.0.0" || !strings.HasPrefix(out["digest"], "sha256:") ||
		out["file-url"] != gh.Uploads.URL+"/download/"+strings.TrimPrefix(out["file-url"], gh.Uploads.URL+"/download/") || !strings.HasSuffix(out["file-url"], "/app-linux-amd64") {
		t.Fatalf("outputs: %q", out)
	}

	// What a user downloads from the release verifies against the attestation.
	resp, err := http.Get(out["file-url"])
	if err != nil {
		t.Fatal(err)
	}
	downloaded, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dl := filepath.Join(t.TempDir(), "app-linux-amd64")
	os.WriteFile(dl, downloaded, 0o644)
	bundle := filepath.Join(ws, "app-linux-amd64.sigstore.json")
	for name, res := range verifiers(t, bundle, dl, ghSAN, stk.GitHubIssuer, "") {
		if res.code != 0 {
			t.Errorf("%s rejects the promoted asset: %s", name, res)
		}
	}

	// Rerunning the job finds the same bytes and does not upload the file
	// again; the rerun's own promotion attestation goes beside it.
	if r, _ := promote(t, "INPUT_SOURCE=file://dist/app-linux-amd64", "INPUT_DESTINATION=github-release://paved-dev/demo@v1.0.0", "INPUT_REPO="+ghRepo); r.code != 0 || gh.UploadCount() != 3 || !strings.Contains(r.stdout+r.stderr, "nothing uploaded") {
		t.Fatalf("rerun: %d uploads: %s", gh.UploadCount(), r)
	}

	// Refusals: nothing reaches the v2.0.0 release, whose name is free.
	for _, tc := range []struct {
		name   string
		inputs []string
		want   string
	}{
		{"modified copy", []string{"INPUT_SOURCE=rebuilt/app-linux-amd64", "INPUT_BUNDLE=app-linux-amd64.sigstore.json", "INPUT_REPO=" + ghRepo}, "rebuilt or altered after it was attested"},
		{"another signer", []string{"INPUT_SOURCE=dist/app-linux-amd64", "INPUT_REPO=someone/else"}, "no attestation of type https://slsa.dev/provenance/v1 verifies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := promote(t, append(tc.inputs, "INPUT_DESTINATION=github-release://paved-dev/demo@v2.0.0")...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want exit 1 saying %q: %s", tc.want, r)
			}
			if names := gh.Names("v2.0.0"); len(names) != 0 || gh.UploadCount() != 3 {
				t.Fatalf("something was uploaded: %v", names)
			}
		})
	}
}
