package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const releaseTag = "v9.9.9"

const releaseConsumerWorkflow = `name: build
on: push
permissions:
  contents: read
  id-token: write
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: build
        run: mkdir -p dist && printf 'app for amd64\n' > dist/app-amd64
      - name: attest
        id: attest
        uses: paved-dev/paved@v9.9.9
        with:
          subject-path: dist/app-amd64
          download-url: ${{ env.RELEASES_URL }}
      - name: keep the bundle
        env:
          BUNDLE: ${{ steps.attest.outputs.bundle-path }}
        run: |
          mkdir -p "$OUT_DIR" && cp "$BUNDLE" dist/app-amd64 "$OUT_DIR/"
          echo "paved-on-path=$(command -v paved)"
      - name: leftovers
        if: always()
        run: |
          ls -A "$RUNNER_TEMP/paved-bin" | sed 's/^/leftover=/'
          echo leftovers-listed
`

// releaseCopy makes a copy of the action as released at tag: the action files
// and setup.sh, without the Go source (so the action cannot fall back to a
// build from source), with sums as its actions/release.sha256.
func releaseCopy(t *testing.T, sums string) string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	copyFile := func(rel string) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("action.yml")
	err := filepath.WalkDir(filepath.Join(root, "actions"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err == nil {
			copyFile(rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "actions", "release.sha256"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// releaseServer serves body as TAG/NAME under /releases, like GitHub's release
// downloads or a mirror, and counts the downloads.
func releaseServer(t *testing.T, name string, body []byte) (string, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/releases/"+releaseTag+"/"+name {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/releases", &hits
}

// actRelease runs the consumer workflow in act with paved-dev/paved@v9.9.9
// mapped to the released copy of the action.
func actRelease(t *testing.T, action, releases, out string) (result, string) {
	t.Helper()
	act := tool(t, "act")
	consumer := gitRepo(t, map[string]string{".github/workflows/build.yml": releaseConsumerWorkflow})
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	args := []string{"push", "-W", ".github/workflows/build.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@" + releaseTag + "=" + action,
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"--env", "PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "--env", "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
		"--env", "OUT_DIR=" + out, "--env", "RELEASES_URL=" + releases,
	}
	start := time.Now()
	r := execIn(t, consumer, []string{"HOME=" + t.TempDir(), "GH_TOKEN=", "GITHUB_TOKEN="}, act, args...)
	t.Logf("act took %s", time.Since(start))
	return r, reqToken
}

// TestActDownloadsThePinnedRelease runs the root action at a release tag whose
// checksums are pinned in the action: it must download the binary for this
// runner from the download-url, check it against the pinned SHA-256 and run
// it; a binary with one byte changed must be refused and fail the job.
func TestActDownloadsThePinnedRelease(t *testing.T) {
	binary, err := os.ReadFile(paved)
	if err != nil {
		t.Fatal(err)
	}
	name := "paved_" + runtime.GOOS + "_" + runtime.GOARCH
	sum := sha256.Sum256(binary)
	pin := hex.EncodeToString(sum[:])
	// An older release and another platform around the pin: the action must
	// pick exactly its tag and its platform.
	sums := strings.Repeat("0", 64) + "  v9.9.8/" + name + "\n" +
		pin + "  " + releaseTag + "/" + name + "\n" +
		strings.Repeat("1", 64) + "  " + releaseTag + "/paved_plan9_mips\n"
	action := releaseCopy(t, sums)

	t.Run("verified", func(t *testing.T) {
		releases, hits := releaseServer(t, name, binary)
		out := t.TempDir()
		r, token := actRelease(t, action, releases, out)
		want := "downloaded paved " + releaseTag + " (" + name + ") from " + releases + "/" + releaseTag + "/" + name + " and verified its SHA-256 " + pin
		if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "leftover=paved") {
			t.Fatalf("act run failed or did not use the pinned download (want %q): %s", want, r)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("the release server saw %d downloads, want 1", n)
		}
		if strings.Contains(r.stdout, "building paved from the action's source") {
			t.Errorf("the action built from source instead of downloading: %s", r)
		}
		bundle := filepath.Join(out, "attestation.sigstore.json") // the root action writes one bundle name
		for verifier, res := range verifiers(t, bundle, filepath.Join(out, "app-amd64"), ghSAN, stk.GitHubIssuer, "paved-dev") {
			if res.code != 0 {
				t.Errorf("%s rejects what the downloaded binary signed: %s", verifier, res)
			}
		}
		assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, out)
	})

	t.Run("tampered", func(t *testing.T) {
		tampered := append([]byte(nil), binary...)
		tampered[len(tampered)/2] ^= 0x01
		releases, hits := releaseServer(t, name, tampered)
		out := t.TempDir()
		r, _ := actRelease(t, action, releases, out)
		if r.code == 0 {
			t.Fatalf("the job succeeded with a tampered binary: %s", r)
		}
		bad := sha256.Sum256(tampered)
		for _, want := range []string{
			"::error title=paved setup::refusing the paved binary from " + releases + "/" + releaseTag + "/" + name,
			"its SHA-256 is " + hex.EncodeToString(bad[:]),
			"actions/release.sha256 pins " + pin + " for " + releaseTag + "/" + name,
			"it was deleted and not run",
			"leftovers-listed",
			"Job failed",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("act output lacks %q: %s", want, r)
			}
		}
		if strings.Contains(r.stdout, "leftover=") {
			t.Errorf("the tampered binary was left in the runner's temp directory: %s", r)
		}
		if hits.Load() == 0 {
			t.Errorf("the release server was never asked for the binary")
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("the job went on after the refusal and wrote %d files", len(entries))
		}
	})
}
