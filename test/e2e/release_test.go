package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/test/oidc"
	"github.com/paved-dev/paved/test/stack"
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

// actRelease runs the consumer workflow in act with paved-dev/paved@REF
// mapped to the released copy of the action.
func actRelease(t *testing.T, ref, action, releases, out string) (result, string) {
	t.Helper()
	act := tool(t, "act")
	workflow := strings.ReplaceAll(releaseConsumerWorkflow, "paved-dev/paved@"+releaseTag, "paved-dev/paved@"+ref)
	consumer := gitRepo(t, map[string]string{".github/workflows/build.yml": workflow})
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	args := []string{"push", "-W", ".github/workflows/build.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@" + ref + "=" + action,
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
		r, token := actRelease(t, releaseTag, action, releases, out)
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
		r, _ := actRelease(t, releaseTag, action, releases, out)
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

// releaseToken returns an ID token of a run of paved-dev/paved's release
// workflow (.github/workflows/release.yml, dispatched on main) from the local
// stack's GitHub issuer.
func releaseToken(t *testing.T) string {
	t.Helper()
	claims := oidc.GitHubClaims("paved-dev/paved")
	release := "paved-dev/paved/.github/workflows/release.yml@refs/heads/main"
	claims["workflow"], claims["workflow_ref"], claims["job_workflow_ref"], claims["event_name"] = "release", release, release, "workflow_dispatch"
	token, err := stk.GitHubOIDC().Mint(claims, stack.Audience, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// docCommand returns the shell command of doc (a path under the repository)
// that starts with prefix, its continuation lines joined, split into words.
func docCommand(t *testing.T, doc, prefix string) []string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(repoRoot(t), doc))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(md), "\n")
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), prefix) {
			continue
		}
		cmd := strings.TrimSpace(line)
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, "\\") + " " + strings.TrimSpace(lines[i])
		}
		return strings.Fields(cmd)
	}
	t.Fatalf("%s has no command starting with %q", doc, prefix)
	return nil
}

// pinLine matches a pin of actions/release.sha256.
var pinLine = regexp.MustCompile(`(?m)^[0-9a-f]{64}  v[^/\s]+/paved_`)

// sourceCopy makes a git repository of this working tree's files (tracked and
// untracked, without ignored ones) in one commit, as a release checkout.
func sourceCopy(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	list := execIn(t, root, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if list.code != 0 {
		t.Fatal(list)
	}
	files := map[string]string{}
	for _, rel := range strings.Split(strings.TrimRight(list.stdout, "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		files[rel] = string(b)
	}
	dir := gitRepo(t, files)
	for _, script := range []string{".github/release/build.sh", ".github/release/pin.sh", "actions/setup.sh"} {
		if err := os.Chmod(filepath.Join(dir, script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--amend", "--no-edit"}} {
		if r := execIn(t, dir, nil, "git", args...); r.code != 0 {
			t.Fatalf("git %v: %s", args, r)
		}
	}
	return dir
}

// TestReleaseCommitPinsItsBinaries runs the release tooling of
// .github/workflows/release.yml on a copy of this source tree: build.sh builds
// paved for this runner's platform and pin.sh makes the release commit and
// its tag. The release commit adds actions/release.sha256 alone to the source
// commit; building the tag again reproduces the pinned bytes; the root action
// used at the release commit's SHA (a full-SHA pin, not the tag) downloads the
// release binary and checks it; the source commit pins nothing. Bad input to
// the scripts is refused and changes nothing.
func TestReleaseCommitPinsItsBinaries(t *testing.T) {
	src := sourceCopy(t)
	platform := runtime.GOOS + "/" + runtime.GOARCH
	name := "paved_" + runtime.GOOS + "_" + runtime.GOARCH
	gitEnv := []string{"GIT_AUTHOR_NAME=release", "GIT_AUTHOR_EMAIL=release@example.com", "GIT_COMMITTER_NAME=release", "GIT_COMMITTER_EMAIL=release@example.com"}
	git := func(args ...string) string {
		t.Helper()
		r := execIn(t, src, gitEnv, "git", args...)
		if r.code != 0 {
			t.Fatalf("git %v: %s", args, r)
		}
		return strings.TrimSpace(r.stdout)
	}
	dist := t.TempDir()
	if r := execIn(t, src, nil, "./.github/release/build.sh", releaseTag, dist, platform); r.code != 0 {
		t.Fatalf("build.sh: %s", r)
	}
	binary, err := os.ReadFile(filepath.Join(dist, name))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(binary)
	pin := hex.EncodeToString(sum[:])
	if v := execIn(t, "", nil, filepath.Join(dist, name), "version"); v.code != 0 || !strings.Contains(v.stdout, releaseTag) {
		t.Errorf("the release binary does not report %s: %s", releaseTag, v)
	}

	// The release workflow's provenance of the binaries, checked with the
	// command docs/github.md gives for a downloaded paved.
	token := releaseToken(t)
	at := execIn(t, dist, nil, paved, "attest", "--subject-checksums", "checksums.txt", "--bundle-path", "paved.provenance.sigstore.json", "--bundles-jsonl", "none",
		"--identity-token-file", writeToken(t, token), "--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath)
	if at.code != 0 {
		t.Fatalf("attesting the release binaries: %s", at)
	}
	doc := docCommand(t, "docs/github.md", "paved verify paved_linux_amd64")
	doc[2] = name // this runner's binary
	local := []string{"--trusted-root", stk.TrustedRootPath, "--cert-oidc-issuer", stk.GitHubIssuer}
	if v := execIn(t, dist, nil, paved, append(doc[1:], local...)...); v.code != 0 || !strings.Contains(v.stdout, "verified: true") {
		t.Errorf("docs/github.md's command %v rejects the release binary: %s", doc, v)
	}
	assertNoSecrets(t, []string{token}, []string{at.stdout, at.stderr}, dist)

	// Refusals first: nothing may be committed or tagged.
	source := git("rev-parse", "HEAD")
	tampered := t.TempDir()
	for _, f := range []string{name, "checksums.txt"} {
		b, err := os.ReadFile(filepath.Join(dist, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == name {
			b[len(b)/2] ^= 1
		}
		if err := os.WriteFile(filepath.Join(tampered, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ version, dist, want string }{
		{"9.9.9", dist, "VERSION must be a release version like v1.2.3"},
		{releaseTag, t.TempDir(), "checksums.txt is missing"},
		{releaseTag, tampered, "do not match"},
	} {
		r := execIn(t, src, gitEnv, "./.github/release/pin.sh", c.version, c.dist)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("pin.sh %s %s: want a refusal saying %q: %s", c.version, c.dist, c.want, r)
		}
	}
	if r := execIn(t, src, nil, "./.github/release/build.sh", "latest", t.TempDir()); r.code != 2 || !strings.Contains(r.stderr, "VERSION must be a release version") {
		t.Errorf("build.sh latest: want exit 2 naming the version format: %s", r)
	}
	if head, tags := git("rev-parse", "HEAD"), git("tag", "--list"); head != source || tags != "" {
		t.Fatalf("a refused pin.sh left a commit or tag behind: HEAD %s (was %s), tags %q", head, source, tags)
	}

	image := "registry.example/paved-dev/paved@sha256:" + strings.Repeat("5e", 32)
	if r := execIn(t, src, gitEnv, "./.github/release/pin.sh", releaseTag, dist, "registry.example/paved-dev/paved:"+releaseTag); r.code != 2 || !strings.Contains(r.stderr, "IMAGE must be pinned by digest") {
		t.Errorf("pin.sh with an image by tag: want exit 2 asking for a digest: %s", r)
	}
	r := execIn(t, src, gitEnv, "./.github/release/pin.sh", releaseTag, dist, image)
	if r.code != 0 {
		t.Fatalf("pin.sh: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	release := lines[len(lines)-1]
	if got := git("rev-parse", releaseTag+"^{commit}"); got != release {
		t.Fatalf("tag %s points at %s, pin.sh printed %s", releaseTag, got, release)
	}
	if parent := git("rev-parse", release+"^"); parent != source {
		t.Errorf("the release commit's parent is %s, want the source commit %s", parent, source)
	}
	changed := strings.Fields(git("diff", "--name-only", source, release))
	templates, err := filepath.Glob(filepath.Join(src, "templates", "*.yml"))
	if err != nil || len(templates) == 0 {
		t.Fatalf("no templates in the release tree (%v)", err)
	}
	want := []string{"actions/release.sha256", "gitlab/release.image"}
	for _, f := range templates {
		want = append(want, "templates/"+filepath.Base(f))
	}
	if strings.Join(changed, " ") != strings.Join(want, " ") {
		t.Errorf("the release commit changes %q, want %q", changed, want)
	}
	if got := git("show", release+":actions/release.sha256"); !strings.Contains(got, pin+"  "+releaseTag+"/"+name+"\n") && !strings.HasSuffix(got, pin+"  "+releaseTag+"/"+name) {
		t.Errorf("the release commit pins\n%s\nwant %s  %s/%s", got, pin, releaseTag, name)
	}
	if got := git("show", source+":actions/release.sha256"); pinLine.MatchString(got) {
		t.Errorf("the source commit already pins binaries:\n%s", got)
	}
	if r := execIn(t, src, gitEnv, "./.github/release/pin.sh", releaseTag, dist); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("pin.sh for an existing tag: want a refusal: %s", r)
	}

	// The tag reproduces its pins.
	tagged := filepath.Join(t.TempDir(), "tagged")
	if r := execIn(t, "", nil, "git", "clone", "-q", "--branch", releaseTag, src, tagged); r.code != 0 {
		t.Fatal(r)
	}
	again := t.TempDir()
	if r := execIn(t, tagged, nil, "./.github/release/build.sh", releaseTag, again, platform); r.code != 0 {
		t.Fatalf("build.sh at the tag: %s", r)
	}
	if b, err := os.ReadFile(filepath.Join(again, name)); err != nil || sha256.Sum256(b) != sum {
		t.Errorf("building tag %s again does not reproduce the pinned binary %s (%v)", releaseTag, pin, err)
	}

	// The release's components default to its image, and the release tree's
	// generated files are what its generator writes.
	if r := execIn(t, tagged, nil, "go", "run", "./tools/paved-gen", "-check"); r.code != 0 {
		t.Errorf("the release commit's generated files are stale: %s", r)
	}
	home := catalogFrom(t, tagged)
	var pipeline strings.Builder
	pipeline.WriteString("include:\n")
	for _, f := range templates {
		pipeline.WriteString("  - component: $CI_SERVER_FQDN/paved-dev/paved/" + strings.TrimSuffix(filepath.Base(f), ".yml") + "@v1\n")
	}
	dir := consumer(t, map[string]string{".gitlab-ci.yml": pipeline.String()})
	pr := gitlabCILocal(t, dir, home, "--preview")
	if pr.code != 0 {
		t.Fatalf("the release's components are not valid: %s", pr)
	}
	jobs := previewJobs(t, pr.stdout)
	if len(jobs) != len(templates) {
		t.Errorf("%d jobs in the preview, want one per component (%d)", len(jobs), len(templates))
	}
	for name, j := range jobs {
		if got := j.imageName(); got != image {
			t.Errorf("%s of the release runs in %v, want the release's image %s", name, got, image)
		}
	}

	// A full-SHA pin of the release commit downloads and checks the binary.
	releases, hits := releaseServer(t, name, binary)
	out := t.TempDir()
	ar, token := actRelease(t, release, tagged, releases, out)
	want = []string{"downloaded paved " + releaseTag + " (" + name + ") from " + releases + "/" + releaseTag + "/" + name + " and verified its SHA-256 " + pin}
	if ar.code != 0 || !strings.Contains(ar.stdout, want[0]) || strings.Contains(ar.stdout, "building paved from the action's source") {
		t.Fatalf("the action at the release commit %s did not run the pinned download (want %q): %s", release, want, ar)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the release server saw %d downloads, want 1", n)
	}
	bundle := filepath.Join(out, "attestation.sigstore.json")
	for verifier, res := range verifiers(t, bundle, filepath.Join(out, "app-amd64"), ghSAN, stk.GitHubIssuer, "paved-dev") {
		if res.code != 0 {
			t.Errorf("%s rejects what the release binary signed: %s", verifier, res)
		}
	}
	assertNoSecrets(t, []string{token}, []string{ar.stdout, ar.stderr}, out)
}
