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
			args:      []string{"--source", tree, "--format", "cyclonedx", "--output-name", "release-1.0"},
			wantFiles: []string{"release-1.0.cdx.json"},
			wantOut:   []string{"components: 5", "cyclonedx-path: OUT/release-1.0.cdx.json"},
			summary:   []string{"| golang | 3 |", "| pypi | 2 |"},
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
			code, stdout, stderr := sbomRun(t, append(tt.args, "--output-dir", out)...)
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
			for _, f := range tt.wantFiles {
				data, err := os.ReadFile(filepath.Join(out, f))
				if err != nil {
					t.Fatal(err)
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
		{"unknown format", []string{tree, "--format", "xml"}, 2, `unknown SBOM format "xml"`},
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
