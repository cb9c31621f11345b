package command_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

func sbomRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := command.Main(context.Background(), door, append([]string{"sbom"}, args...), door.Getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestSbomCommand(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "app")
	if err := sbomtest.WriteTree(tree); err != nil {
		t.Fatal(err)
	}
	img, err := sbomtest.Image()
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, "image"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "registry.example/team/web:2.1"})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		wantFiles []string
		wantOut   []string
		summary   []string
	}{
		{
			name:      "both formats by default",
			args:      []string{tree, "--catalogers", "+javascript-package-cataloger"},
			wantFiles: []string{"app.cdx.json", "app.spdx.json"},
			wantOut:   []string{"components: 9", "spdx-path: OUT/app.spdx.json", "cyclonedx-path: OUT/app.cdx.json"},
			summary:   []string{"| golang | 3 |", "| npm | 4 |", "| pypi | 2 |", "**9 components**"},
		},
		{
			name:      "one format, named output",
			args:      []string{"--source", tree, "--format", "cyclonedx-json", "--output-name", "release-1.0"},
			wantFiles: []string{"release-1.0.cdx.json"},
			wantOut:   []string{"components: 5", "cyclonedx-path: OUT/release-1.0.cdx.json"},
			summary:   []string{"| golang | 3 |", "| pypi | 2 |"},
		},
		{
			// As syft and anchore/sbom-action name them: spdx is tag-value,
			// cyclonedx is XML; a newline list as a workflow's YAML block gives it.
			name:      "every format from one scan",
			args:      []string{tree, "--format", "spdx, cyclonedx\nsyft-json\nspdx-json,cyclonedx-json"},
			wantFiles: []string{"app.cdx.json", "app.cdx.xml", "app.spdx", "app.spdx.json", "app.syft.json"},
			wantOut:   []string{"spdx-path: OUT/app.spdx.json", "cyclonedx-path: OUT/app.cdx.json", "syft-path: OUT/app.syft.json", "OUT/app.spdx\n", "OUT/app.cdx.xml\n"},
			summary:   []string{"**5 components**"},
		},
		{
			name:      "output-file: the exact path of one format",
			args:      []string{tree, "--format", "spdx", "--output-file", "OUT/bom.txt"},
			wantFiles: []string{"bom.txt"},
			wantOut:   []string{"spdx-path: OUT/bom.txt", "sbom-paths: OUT/bom.txt"},
		},
		{
			name:      "OCI layout named by its repository",
			args:      []string{filepath.Join(dir, "image"), "--format", "spdx-json,cyclonedx-json"},
			wantFiles: []string{"web.cdx.json", "web.spdx.json"},
			wantOut:   []string{"components: 4"},
			summary:   []string{"oci-layout `registry.example/team/web:2.1` (sha256:", "| apk | 1 |"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{}, tt.args...)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "OUT", out)
			}
			code, stdout, stderr := sbomRun(t, append(args, "--output-dir", out, "--output", "markdown")...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if got := listDir(t, out); strings.Join(got, " ") != strings.Join(tt.wantFiles, " ") {
				t.Errorf("files = %v, want %v", got, tt.wantFiles)
			}
			for _, w := range tt.wantOut {
				if w = strings.ReplaceAll(w, "OUT", out); !strings.Contains(stdout, w) {
					t.Errorf("outputs lack %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.summary {
				if !strings.Contains(stderr, w) {
					t.Errorf("summary lacks %q:\n%s", w, stderr)
				}
			}
			for _, p := range []string{"sbom: resolving source", "sbom: cataloged", "sbom: encoded"} {
				if !strings.Contains(stderr, p) {
					t.Errorf("progress lacks %q", p)
				}
			}
			// One scan, however many formats.
			if n := strings.Count(stderr, "sbom: cataloging\n"); n != 1 {
				t.Errorf("scanned %d times for %d files", n, len(tt.wantFiles))
			}
			for _, f := range tt.wantFiles {
				data, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(f, ".json") {
					// Decoded back with syft's decoders in the sbom package's tests.
					if !bytes.HasPrefix(data, []byte("SPDXVersion: SPDX-2.3")) && !bytes.Contains(data[:min(len(data), 200)], []byte(`xmlns="http://cyclonedx.org/schema/bom/1.6"`)) {
						t.Errorf("%s is neither SPDX 2.3 tag-value nor CycloneDX 1.6 XML: %.80s", f, data)
					}
					continue
				}
				var doc map[string]any
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if strings.HasSuffix(f, ".spdx.json") && doc["spdxVersion"] != "SPDX-2.3" {
					t.Errorf("%s: spdxVersion %v", f, doc["spdxVersion"])
				}
				if strings.HasSuffix(f, ".cdx.json") && doc["specVersion"] != "1.6" {
					t.Errorf("%s: specVersion %v", f, doc["specVersion"])
				}
			}
		})
	}
}

// TestSbomCommandErrors checks that bad input exits non-zero with a message
// naming the fix and leaves nothing in the output directory.
func TestSbomCommandErrors(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "app")
	if err := sbomtest.WriteTree(tree); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.tar.gz")
	if err := os.WriteFile(broken, []byte("not a gzip stream"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing path", []string{filepath.Join(dir, "nope")}, 2, "does not exist"},
		{"corrupt archive", []string{broken}, 2, "broken.tar.gz"},
		{"unreadable image", []string{"127.0.0.1:1/team/web:1.0", "--source-type", "registry"}, 3, "pulling 127.0.0.1:1/team/web:1.0"},
		{"two sources", []string{tree, tree}, 2, "one source at a time"},
		{"unknown format", []string{tree, "--format", "xml"}, 2, `unknown SBOM format "xml": want one of spdx-json, cyclonedx-json, spdx, cyclonedx, syft-json`},
		{"unknown format among good ones", []string{tree, "--format", "spdx-json,table"}, 2, `unknown SBOM format "table"`},
		{"output-file with two formats", []string{tree, "--output-file", filepath.Join(dir, "bom.json")}, 2, "--output-file names one file, but 2 formats"},
		{"output-file in a missing directory", []string{tree, "--format", "spdx-json", "--output-file", filepath.Join(dir, "no-such-dir", "bom.json")}, 2, "create it or choose another --output-file"},
		{"output-file is a directory", []string{tree, "--format", "spdx-json", "--output-file", tree}, 2, "is a directory"},
		{"bad inline limit", []string{tree, "--inline-limit", "lots"}, 2, "--inline-limit"},
		{"subjects without --attest", []string{tree, "--subject-digest", "x@sha256:" + strings.Repeat("a", 64)}, 2, "add --attest"},
		{"attest a directory without subjects", []string{tree, "--attest", "--identity-token", "x"}, 2, "needs --subject-path or --subject-digest"},
		{"attest without a usable trust root", []string{tree, "--attest", "--subject-digest", "app@sha256:" + strings.Repeat("a", 64), "--trusted-root", filepath.Join(dir, "missing.json"), "--identity-token", "x"}, 2, "missing.json"},
		{"missing output dir", []string{tree, "--output-dir", filepath.Join(dir, "no-such-dir")}, 2, "create it or choose another --output-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{}, tt.args...)
			if !strings.Contains(strings.Join(args, " "), "--output-dir") {
				args = append(args, "--output-dir", out)
			}
			code, stdout, stderr := sbomRun(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.msg) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.msg, stdout, stderr)
			}
			if got := listDir(t, out); len(got) != 0 {
				t.Errorf("files left behind: %v", got)
			}
		})
	}
}

// TestAttackSbomOutputFileOutsideWorkspace: --output-file, an exact path
// from the workflow, cannot write outside the workspace: not by an absolute
// path, .., a symlinked directory, nor by replacing a symlink to a file
// outside.
func TestAttackSbomOutputFileOutsideWorkspace(t *testing.T) {
	out := t.TempDir()
	victim := filepath.Join(out, "victim.json")
	writeFile(t, victim, "keep me")
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "app", "requirements.txt"), "goodpkg==1.0.0\n")
	if err := os.Symlink(out, filepath.Join(ws, "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(ws, "bom.json")); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(ws, filepath.Join(out, "bom.json"))
	for name, path := range map[string]string{
		"absolute":          filepath.Join(out, "bom.json"),
		"dotdot":            rel,
		"symlinked dir":     filepath.Join("outdir", "bom.json"),
		"symlink to a file": "bom.json",
	} {
		t.Run(name, func(t *testing.T) {
			before := entries(t, ws)
			code, stderr := inWorkspace(t, ws, ws, "sbom", "app", "--format", "spdx-json", "--output-file", path)
			if code != 2 || !strings.Contains(stderr, "--output-file") || !strings.Contains(stderr, "outside the workspace") {
				t.Fatalf("exit %d, stderr %q; want 2, --output-file outside the workspace", code, stderr)
			}
			if got := entries(t, ws); strings.Join(got, " ") != strings.Join(before, " ") {
				t.Errorf("files written in the workspace: %v", got)
			}
			if got := listDir(t, out); strings.Join(got, " ") != "victim.json" {
				t.Errorf("files written outside the workspace: %v", got)
			}
			if data, _ := os.ReadFile(victim); string(data) != "keep me" {
				t.Errorf("the file outside was overwritten: %.40s", data)
			}
		})
	}
}

// TestSbomConfigFile: --config reads a syft config file's exclude and
// cataloger selection; keys Paved would not honour are refused with exit 2.
func TestSbomConfigFile(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "app")
	if err := sbomtest.WriteTree(tree); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "syft.yaml")
	if err := os.WriteFile(good, []byte("exclude: ['**/requirements.txt']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("exclude: ['**/requirements.txt']\nscope: all-layers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(dir, "both.yaml")
	if err := os.WriteFile(both, []byte("select-catalogers: [-python]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := sbomRun(t, tree, "--config", good, "--output-dir", out)
	if code != 0 || !strings.Contains(stdout, "components: 3") || strings.Contains(stderr, "| pypi |") {
		t.Fatalf("exit %d; want the 3 Go modules only\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, tt := range []struct{ args []string }{
		{[]string{tree, "--config", bad}},
		{[]string{tree, "--config", both, "--catalogers", "go"}},
	} {
		out := t.TempDir()
		code, _, stderr := sbomRun(t, append(tt.args, "--output-dir", out)...)
		if code != 2 || !strings.Contains(stderr, "--config") {
			t.Errorf("%v: exit %d, want 2 naming --config:\n%s", tt.args, code, stderr)
		}
		if got := listDir(t, out); len(got) != 0 {
			t.Errorf("files left behind: %v", got)
		}
	}
}
