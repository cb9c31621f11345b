package command_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/promote/promotetest"
	"github.com/paved-dev/paved/shared/sbom/sbomtest"
	"github.com/paved-dev/paved/shared/snapshot/snapshottest"
)

const sbomGHToken = "ghs_sbomReleaseToken0123456789abcdefXY"

// ghDoor is a plain shell that answers what the GitHub Actions door answers
// about the run: the repository, commit, token, API and the release event.
type ghDoor struct {
	*command.Local
	api, tag, ws string
}

func (d ghDoor) Workspace() string { return d.ws }

func (d ghDoor) Run() ci.Run {
	return ci.Run{Kind: ci.GitHubActions, ServerURL: "https://github.com", ProjectPath: "paved-dev/demo", PipelineID: "77", JobName: "build",
		Ref: "refs/tags/v1.0.0", Commit: strings.Repeat("c0", 20)}
}
func (d ghDoor) GitHubAPIURL() string { return d.api }
func (d ghDoor) GitHubToken() string  { return sbomGHToken }
func (d ghDoor) ReleaseTag() string   { return d.tag }
func (d ghDoor) Workflow() string     { return "release" }

var (
	_ command.GitHubEnv   = ghDoor{}
	_ command.GitHubEvent = ghDoor{}
)

func ghSbomRun(t *testing.T, api, tag string, args ...string) (int, string, string) {
	t.Helper()
	return ghSbomRunIn(t, "", api, tag, args...)
}

// ghSbomRunIn runs in the workspace ws, confined to it as in GitHub Actions.
func ghSbomRunIn(t *testing.T, ws, api, tag string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	door := ghDoor{Local: &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}, api: api, tag: tag, ws: ws}
	code := command.Main(context.Background(), door, append([]string{"sbom"}, args...), door.Getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// sbomTree writes the test tree as ./app of a fresh working directory.
func sbomTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := sbomtest.WriteTree(filepath.Join(dir, "app")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("out", 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSbomUploadsReleaseAssets: on a release event the SBOMs become assets
// of that release (GitHub's releases API, served by promotetest); a second
// run finds the same bytes there; other events and upload-release-assets:
// false upload nothing.
func TestSbomUploadsReleaseAssets(t *testing.T) {
	sbomTree(t)
	gh := promotetest.NewGitHubReleases("paved-dev", "demo", sbomGHToken)
	defer gh.Close()
	gh.CreateRelease("v1.0.0")

	code, stdout, stderr := ghSbomRun(t, gh.API.URL, "v1.0.0", "app", "--output-dir", "out")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if got, want := gh.Names("v1.0.0"), []string{"app.cdx.json", "app.spdx.json"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("release assets %v, want %v", got, want)
	}
	for _, name := range []string{"app.cdx.json", "app.spdx.json"} {
		local, _ := os.ReadFile(filepath.Join("out", name))
		if remote, _ := gh.Asset("v1.0.0", name); !bytes.Equal(local, remote) {
			t.Errorf("asset %s differs from the file written", name)
		}
	}
	if strings.Contains(stdout+stderr, sbomGHToken) {
		t.Fatal("token printed")
	}
	uploads := gh.UploadCount()

	// A re-run writes a new SPDX document (new namespace and time): the
	// asset already released is not replaced.
	before, _ := gh.Asset("v1.0.0", "app.spdx.json")
	code, stdout, stderr = ghSbomRun(t, gh.API.URL, "v1.0.0", "app", "--output-dir", "out", "--format", "spdx-json")
	after, _ := gh.Asset("v1.0.0", "app.spdx.json")
	if code != 1 || gh.UploadCount() != uploads || !bytes.Equal(before, after) || !strings.Contains(stderr, "already has a different app.spdx.json") {
		t.Fatalf("second run: exit %d, %d uploads (was %d): %s %s", code, gh.UploadCount(), uploads, stdout, stderr)
	}
	for _, tc := range []struct {
		tag  string
		args []string
	}{
		{"", nil},
		{"v1.0.0", []string{"--upload-release-assets=false"}},
	} {
		code, stdout, stderr = ghSbomRun(t, gh.API.URL, tc.tag, append([]string{"app", "--output-dir", "out"}, tc.args...)...)
		if code != 0 || gh.UploadCount() != uploads || len(gh.Authorizations()) == 0 {
			t.Fatalf("tag %q %v: exit %d, %d uploads (was %d): %s %s", tc.tag, tc.args, code, gh.UploadCount(), uploads, stdout, stderr)
		}
	}
}

// TestAttackSbomReleaseAssetNames: asset names with a path separator, "..",
// or a control character are refused before anything is written or sent.
func TestAttackSbomReleaseAssetNames(t *testing.T) {
	sbomTree(t)
	gh := promotetest.NewGitHubReleases("paved-dev", "demo", sbomGHToken)
	defer gh.Close()
	gh.CreateRelease("v1.0.0")
	for _, args := range [][]string{
		{"--output-name", "app..evil"},
		{"--output-name", "..", "--format", "spdx-json"},
		{"--output-name", "app\nevil"},
		{"--output-file", "out/app\r.spdx.json", "--format", "spdx-json"},
		{"--output-file", "out/..spdx.json", "--format", "spdx-json"},
	} {
		code, stdout, stderr := ghSbomRun(t, gh.API.URL, "v1.0.0", append([]string{"app", "--output-dir", "out"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "release asset") {
			t.Errorf("%q: exit %d, want 2 naming the release asset: %s %s", args, code, stdout, stderr)
		}
		if files := listDir(t, "out"); len(files) != 0 {
			t.Errorf("%q: files written: %v", args, files)
		}
	}
	if n := len(gh.Authorizations()); n != 0 || gh.UploadCount() != 0 {
		t.Fatalf("%d requests, %d uploads for refused names", n, gh.UploadCount())
	}
}

// TestAttackSbomReleaseRedirectKeepsToken: a releases API that redirects to
// another origin does not get the job token sent there.
func TestAttackSbomReleaseRedirectKeepsToken(t *testing.T) {
	sbomTree(t)
	other := promotetest.NewGitHubReleases("paved-dev", "demo", sbomGHToken)
	defer other.Close()
	other.CreateRelease("v1.0.0")
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.API.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	code, stdout, stderr := ghSbomRun(t, api.URL, "v1.0.0", "app", "--output-dir", "out")
	if code == 0 {
		t.Fatalf("exit 0 through a redirect to another origin: %s %s", stdout, stderr)
	}
	for _, a := range other.Authorizations() {
		if strings.Contains(a, sbomGHToken) {
			t.Fatal("the token followed the redirect to another origin")
		}
	}
	if len(other.Authorizations()) == 0 {
		t.Fatal("the redirect was not followed: the test checks nothing")
	}
	if other.UploadCount() != 0 || strings.Contains(stdout+stderr, sbomGHToken) {
		t.Fatalf("uploaded %d or printed the token: %s %s", other.UploadCount(), stdout, stderr)
	}
}

// TestSbomDependencySnapshot submits the packages of a scan to a fake of
// GitHub's dependency submission API that checks the documented schema.
func TestSbomDependencySnapshot(t *testing.T) {
	ws := sbomTree(t)
	api := snapshottest.New("paved-dev", "demo", sbomGHToken)
	defer api.Close()
	code, stdout, stderr := ghSbomRunIn(t, ws, api.URL, "", filepath.Join(ws, "app"), "--output-dir", "out", "--dependency-snapshot")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	snaps := api.Snapshots()
	if len(snaps) != 1 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	s := snaps[0]
	job := s["job"].(map[string]any)
	if s["sha"] != strings.Repeat("c0", 20) || s["ref"] != "refs/tags/v1.0.0" || job["correlator"] != "release_build_app" || job["id"] != "77" {
		t.Errorf("snapshot %v", s)
	}
	man, ok := s["manifests"].(map[string]any)["app/go.mod"].(map[string]any)
	if !ok || man["file"].(map[string]any)["source_location"] != "app/go.mod" || len(man["resolved"].(map[string]any)) != 3 {
		t.Errorf("manifests %v: want app/go.mod with 3 modules", s["manifests"])
	}
	if !strings.Contains(stdout+stderr, "dependency snapshot 1") || strings.Contains(stdout+stderr, sbomGHToken) {
		t.Errorf("output: %s %s", stdout, stderr)
	}

	// Outside GitHub Actions there is no repository to submit to.
	code, _, stderr = sbomRun(t, "app", "--output-dir", "out", "--dependency-snapshot")
	if code != 2 || !strings.Contains(stderr, "inside GitHub Actions") {
		t.Errorf("local: exit %d: %s", code, stderr)
	}
}
