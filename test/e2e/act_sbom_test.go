package e2e

import (
	"archive/zip"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

// uploadArtifactJS is the whole of a node20 stand-in for actions/upload-artifact
// v4: it hands the files named by its inputs to @actions/artifact, the client
// library actions/upload-artifact v4 is built on, which speaks the runner's
// artifact service protocol (here act's --artifact-server-path).
const uploadArtifactJS = `const path = require('path');
const fs = require('fs');
const { DefaultArtifactClient } = require(process.env.ACTIONS_ARTIFACT_MODULE);
const input = (n) => (process.env['INPUT_' + n.replace(/ /g, '_').toUpperCase()] || '').trim();
(async () => {
  const files = input('path').split('\n').map((s) => s.trim()).filter((s) => s && !s.startsWith('#'))
    .map((f) => path.resolve(f)).filter((f) => fs.existsSync(f));
  if (files.length === 0) {
    console.log('::error::no files found at ' + JSON.stringify(input('path')));
    process.exit(1);
  }
  let root = path.dirname(files[0]);
  while (!files.every((f) => f.startsWith(root + path.sep))) root = path.dirname(root);
  const days = parseInt(input('retention-days'), 10);
  const opts = Number.isNaN(days) ? {} : { retentionDays: days };
  const { id, size } = await new DefaultArtifactClient().uploadArtifact(input('name'), files, root, opts);
  console.log('uploaded artifact ' + input('name') + ' id=' + id + ' size=' + size + ' files=' + files.map((f) => path.basename(f)).join(','));
})().catch((e) => { console.log('::error::' + e.message); process.exit(1); });
`

func uploadArtifactStandIn(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	action := "name: upload-artifact stand-in\ndescription: actions/upload-artifact v4 over @actions/artifact\n" +
		"inputs:\n  name: {description: artifact name, default: artifact}\n  path: {description: files}\n" +
		"  retention-days: {description: days}\n  if-no-files-found: {description: warn or error, default: warn}\n" +
		"runs:\n  using: node20\n  main: index.js\n"
	for name, content := range map[string]string{"action.yml": action, "index.js": uploadArtifactJS} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const sbomArtifactWorkflow = `name: sbom
on: push
permissions:
  contents: read
jobs:
  sbom:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: mkdir -p out out2 out3
      - name: SBOM, uploaded as sbom-action does
        id: sbom
        uses: paved-dev/paved/actions/sbom@v1
        with:
          source: app
          output-dir: out
          upload-artifact-retention: 3
      - name: named artifact, one format
        uses: paved-dev/paved/actions/sbom@v1
        with:
          source: app
          format: syft-json
          output-dir: out2
          artifact-name: app-syft
      - name: no artifact
        uses: paved-dev/paved/actions/sbom@v1
        with:
          source: app
          output-dir: out3
          artifact-name: never-uploaded
          upload-artifact: false
      - name: outputs
        env:
          PATHS: ${{ steps.sbom.outputs.sbom-paths }}
        run: echo "paths=$(echo $PATHS)"
`

// TestActUploadsTheSbomArtifact runs actions/sbom in act with act's artifact
// server: by default the SBOMs become the workflow artifact sbom-JOB-INDEX
// (as anchore/sbom-action uploads one), artifact-name renames it, and
// upload-artifact: false uploads nothing. actions/upload-artifact is the
// pinned SHA mapped to a stand-in that uses @actions/artifact (its client
// library), since act cannot fetch the action offline.
func TestActUploadsTheSbomArtifact(t *testing.T) {
	act := tool(t, "act")
	module := tool(t, "actions-artifact")
	app := t.TempDir()
	if err := sbomtest.WriteGoModule(app, 0); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{".github/workflows/sbom.yml": sbomArtifactWorkflow}
	err := filepath.WalkDir(app, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(app, p)
		files[filepath.Join("app", rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	consumer := gitRepo(t, files)
	store := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"push", "-W", ".github/workflows/sbom.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--artifact-server-path", store, "--artifact-server-addr", "127.0.0.1", "--artifact-server-port", strconv.Itoa(port),
		"--local-repository", "paved-dev/paved@v1=" + repoRoot(t),
		"--local-repository", "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02=" + uploadArtifactStandIn(t),
		"--env", "ACTIONS_ARTIFACT_MODULE=" + module, "--env", "PAVED_BINARY=" + paved,
	}
	start := time.Now()
	r := execIn(t, consumer, []string{"HOME=" + t.TempDir(), "GH_TOKEN=", "GITHUB_TOKEN="}, act, args...)
	t.Logf("act took %s", time.Since(start))
	if r.code != 0 || !strings.Contains(r.stdout, "uploaded artifact sbom-sbom ") || !strings.Contains(r.stdout, "uploaded artifact app-syft ") {
		t.Fatalf("act run of actions/sbom with artifacts: %s", r)
	}
	if strings.Contains(r.stdout, "never-uploaded") && strings.Contains(r.stdout, "uploaded artifact never-uploaded") {
		t.Fatalf("upload-artifact: false uploaded: %s", r)
	}
	// What act's artifact server stored: one archive per artifact, holding
	// the SBOMs the step wrote.
	got := map[string][]string{}
	_ = filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		zr, err := zip.OpenReader(p)
		if err != nil {
			return nil
		}
		defer zr.Close()
		name := filepath.Base(filepath.Dir(p))
		for _, f := range zr.File {
			got[name] = append(got[name], f.Name)
		}
		sort.Strings(got[name])
		return nil
	})
	want := map[string][]string{"sbom-sbom": {"app.cdx.json", "app.spdx.json"}, "app-syft": {"app.syft.json"}}
	for name, w := range want {
		if strings.Join(got[name], ",") != strings.Join(w, ",") {
			t.Errorf("artifact %s holds %v, want %v (store: %v)", name, got[name], w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("artifacts %v, want only %v", got, want)
	}
}
