package e2e

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttackStorageFailureLeavesNoBundle: when the store a job asked for
// refuses the bundle after signing, the run fails and leaves no bundle file
// and no JSON Lines file behind that a later step (an upload, a release)
// could take for a finished attestation. A run that stores fine writes both.
func TestAttackStorageFailureLeavesNoBundle(t *testing.T) {
	const ghToken = "ghs_e2eStorageFailure0123456789abcdefAB"
	api := &githubAPI{token: ghToken, forbidden: true}
	srv := httptest.NewServer(api)
	defer srv.Close()
	attest := func(t *testing.T, ws string) result {
		reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
		ghOut := filepath.Join(t.TempDir(), "github_output")
		env := githubStep(ws, ghOut, "", reqURL, reqToken, "GITHUB_RUN_ID=4242", "GITHUB_API_URL="+srv.URL, "GITHUB_TOKEN="+ghToken,
			"INPUT_SUBJECT_PATH=dist/app-linux-amd64", "INPUT_GITHUB_ATTESTATIONS=true")
		r := execIn(t, ws, env, paved, "attest")
		assertNoSecrets(t, []string{ghToken, reqToken}, []string{r.stdout, r.stderr}, ws, filepath.Dir(ghOut))
		return r
	}
	bundle, jsonl := "app-linux-amd64.sigstore.json", "attestations.jsonl"

	ws := workspace(t)
	r := attest(t, ws)
	if r.code != 2 || !strings.Contains(r.stderr, "permissions: attestations: write") ||
		!strings.Contains(r.stderr, "neither "+bundle+" nor "+jsonl+" was written") {
		t.Fatalf("a refused store must fail, name the permission and say no file was written: %s", r)
	}
	for _, f := range []string{bundle, jsonl} {
		if _, err := os.Lstat(filepath.Join(ws, f)); err == nil {
			t.Errorf("the failed run left %s behind", f)
		}
	}
	if ents, _ := os.ReadDir(ws); len(ents) != 1 {
		t.Errorf("the failed run left files in the workspace: %v", ents)
	}

	api.mu.Lock()
	api.forbidden = false
	api.mu.Unlock()
	ws = workspace(t)
	if r := attest(t, ws); r.code != 0 {
		t.Fatalf("paved attest with a working store: %s", r)
	}
	for _, f := range []string{bundle, jsonl} {
		if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
			t.Errorf("a stored run must write %s: %v", f, err)
		}
	}
}
