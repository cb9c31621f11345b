package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttackWorkingDirectoryGlobAttestsOtherFileInGitHubStep: a step with
// `working-directory: sub` attests sub/dist/app for 'dist/*', signed on the
// local stack, never the workspace root's dist/app of the same name.
func TestAttackWorkingDirectoryGlobAttestsOtherFileInGitHubStep(t *testing.T) {
	ws := t.TempDir()
	for p, content := range map[string]string{"dist/app": "another file at the workspace root", "sub/dist/app": "the artifact this step built"} {
		full := filepath.Join(ws, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := sha256.Sum256([]byte("the artifact this step built"))
	other := sha256.Sum256([]byte("another file at the workspace root"))
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	ghOut := filepath.Join(t.TempDir(), "github_output")
	env := githubStep(ws, ghOut, "", reqURL, reqToken, "GITHUB_RUN_ID=4243", "INPUT_SUBJECT_PATH=dist/*")
	sub := filepath.Join(ws, "sub")
	if r := execIn(t, sub, env, paved, "attest"); r.code != 0 {
		t.Fatalf("paved attest failed: %s", r)
	}
	outputs, _ := os.ReadFile(ghOut)
	if !strings.Contains(string(outputs), "sha256:"+hex.EncodeToString(want[:])+" app") || strings.Contains(string(outputs), hex.EncodeToString(other[:])) {
		t.Fatalf("attested the wrong file; want sha256:%x app:\n%s", want, outputs)
	}
	if _, err := os.Stat(filepath.Join(sub, "app.sigstore.json")); err != nil {
		t.Fatalf("bundle not written in the working directory: %v", err)
	}
}
