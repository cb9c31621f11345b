package subject_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/workspace"
)

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	a := write(t, filepath.Join(dir, "dist", "a.tar.gz"), "artifact a")
	b := write(t, filepath.Join(dir, "dist", "sub", "b.bin"), "artifact b")
	sums := filepath.Join(dir, "SHA256SUMS")
	write(t, sums, a+"  a.tar.gz\n"+strings.Repeat("c", 64)+" *c.zip\n# comment\n")

	tests := []struct {
		name string
		spec subject.Spec
		want map[string]string
	}{
		{"file", subject.Spec{Paths: []string{filepath.Join(dir, "dist", "a.tar.gz")}}, map[string]string{"a.tar.gz": a}},
		{"glob", subject.Spec{Paths: []string{filepath.Join(dir, "dist", "*")}}, map[string]string{"a.tar.gz": a}},
		{"doublestar", subject.Spec{Paths: []string{filepath.Join(dir, "**", "*.bin")}}, map[string]string{"b.bin": b}},
		{"checksums", subject.Spec{ChecksumsFiles: []string{sums}}, map[string]string{"a.tar.gz": a, "c.zip": strings.Repeat("c", 64)}},
		{"digest", subject.Spec{Digests: []string{"img@sha256:" + strings.ToUpper(b)}}, map[string]string{"img": b}},
		{"same subject twice", subject.Spec{Paths: []string{filepath.Join(dir, "dist", "a.tar.gz")}, ChecksumsFiles: []string{sums}},
			map[string]string{"a.tar.gz": a, "c.zip": strings.Repeat("c", 64)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := subject.Resolve(context.Background(), tc.spec, subject.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d subjects %v, want %v", len(got), got, tc.want)
			}
			for _, s := range got {
				if tc.want[s.Name] != s.SHA256() {
					t.Errorf("subject %s = %s, want %s", s.Name, s.SHA256(), tc.want[s.Name])
				}
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x"), "x")
	write(t, filepath.Join(dir, "bad.sums"), "nothex  file\n")
	outside := filepath.Join(t.TempDir(), "outside")
	write(t, outside, "secret")
	ws, err := workspace.Open(dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec subject.Spec
		opts subject.Options
		want string
	}{
		{"nothing", subject.Spec{}, subject.Options{}, "no subjects"},
		{"missing", subject.Spec{Paths: []string{filepath.Join(dir, "nope")}}, subject.Options{}, "no such file"},
		{"glob matches nothing", subject.Spec{Paths: []string{filepath.Join(dir, "*.zip")}}, subject.Options{}, "matches no files"},
		{"directory", subject.Spec{Paths: []string{dir}}, subject.Options{}, "is a directory"},
		{"bad digest", subject.Spec{Digests: []string{"x@sha256:abc"}}, subject.Options{}, "want name@sha256"},
		{"bad checksums", subject.Spec{ChecksumsFiles: []string{filepath.Join(dir, "bad.sums")}}, subject.Options{}, "line 1"},
		{"conflicting digests", subject.Spec{Digests: []string{"x@sha256:" + strings.Repeat("a", 64), "x@sha256:" + strings.Repeat("b", 64)}}, subject.Options{}, "named twice"},
		{"escapes workspace", subject.Spec{Paths: []string{filepath.Join(dir, "link")}}, subject.Options{Files: ws}, "outside the workspace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := subject.Resolve(context.Background(), tc.spec, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
			if fail.ClassOf(err) != fail.Config {
				t.Fatalf("class %v, want configuration error", fail.ClassOf(err))
			}
		})
	}
}

func TestResolveManyFilesInParallel(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{}
	for i := 0; i < 100; i++ {
		name := "f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + hex.EncodeToString([]byte{byte(i)})
		want[name] = write(t, filepath.Join(dir, name), name)
	}
	got, err := subject.Resolve(context.Background(), subject.Spec{Paths: []string{filepath.Join(dir, "*")}}, subject.Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Fatalf("got %d subjects, want 100", len(got))
	}
	for _, s := range got {
		if want[s.Name] != s.SHA256() {
			t.Errorf("%s: digest %s, want %s", s.Name, s.SHA256(), want[s.Name])
		}
	}
}
