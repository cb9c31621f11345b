package workspace_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/workspace"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, root, wd string) *workspace.Workspace {
	t.Helper()
	w, err := workspace.Open(root, wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestRelativeToWorkingDirectory(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a.txt"), "outer")
	write(t, filepath.Join(root, "sub", "a.txt"), "inner")
	write(t, filepath.Join(root, "sub", "dist", "x.bin"), "x")
	write(t, filepath.Join(root, "sub", "dist", "deep", "y.bin"), "y")
	w := open(t, root, filepath.Join(root, "sub"))
	for p, want := range map[string]string{"a.txt": "inner", "../a.txt": "outer", filepath.Join(root, "a.txt"): "outer"} {
		got, err := w.ReadFile(p, 100)
		if err != nil || string(got) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
	tests := map[string][]string{
		"dist/*":      {"dist/x.bin"},
		"dist/**":     {"dist/deep/y.bin", "dist/x.bin"},
		"**/*.bin":    {"dist/deep/y.bin", "dist/x.bin"},
		"../sub/*/x*": {"dist/x.bin"},
		"*.txt":       {"a.txt"},
	}
	for pat, want := range tests {
		es, err := w.Glob(pat)
		if err != nil {
			t.Fatalf("Glob(%s): %v", pat, err)
		}
		var got []string
		for _, e := range es {
			got = append(got, filepath.ToSlash(e.Path))
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("Glob(%s) = %v, want %v", pat, got, want)
		}
	}
}

// TestAttackGlobOutsideWorkspaceRefusedBeforeWalk: a glob whose fixed part
// leaves the workspace is refused at once, before a single directory is read,
// with a short error; '/usr/**' used to walk the whole tree.
func TestAttackGlobOutsideWorkspaceRefusedBeforeWalk(t *testing.T) {
	root := t.TempDir()
	w := open(t, root, root)
	for _, pat := range []string{"/usr/**", "/**/*.so", "../**", "../../*/*", "/*"} {
		start := time.Now()
		got, err := w.Glob(pat)
		var oe *workspace.OutsideError
		if !errors.As(err, &oe) || len(got) != 0 {
			t.Fatalf("Glob(%s) = %v, %v; want an outside-the-workspace refusal", pat, got, err)
		}
		if fail.ClassOf(err) != fail.Config || len(err.Error()) > 300 {
			t.Fatalf("Glob(%s): class %v, error of %d bytes: %v", pat, fail.ClassOf(err), len(err.Error()), err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("Glob(%s) took %v: it walked before refusing", pat, d)
		}
	}
}

// TestAttackOutsideFileExistenceOracle: whether a file outside the workspace
// exists must not show through the error, for a path or a symlink to it.
func TestAttackOutsideFileExistenceOracle(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(out, "exists"), "secret")
	for _, n := range []string{"exists", "missing"} {
		if err := os.Symlink(filepath.Join(out, n), filepath.Join(root, "abs-"+n)); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, filepath.Join(out, n))
		if err := os.Symlink(rel, filepath.Join(root, "rel-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	w := open(t, root, root)
	msg := func(p string, f func(string) error) string {
		err := f(p)
		var oe *workspace.OutsideError
		if !errors.As(err, &oe) {
			t.Fatalf("%s: %v, want an outside-the-workspace refusal", p, err)
		}
		return strings.ReplaceAll(err.Error(), p, "PATH")
	}
	ops := map[string]func(string) error{
		"open": func(p string) error { _, err := w.Open(p); return err },
		"stat": func(p string) error { _, err := w.Stat(p); return err },
		"glob": func(p string) error { _, err := w.Glob(p + "*"); return err },
	}
	for name, op := range ops {
		pairs := [][2]string{
			{filepath.Join(out, "exists"), filepath.Join(out, "missing")},
			{"abs-exists", "abs-missing"},
			{"rel-exists", "rel-missing"},
		}
		if name == "glob" {
			pairs = pairs[:1]
		}
		for _, p := range pairs {
			if a, b := msg(p[0], op), msg(p[1], op); a != b {
				t.Errorf("%s: error for an existing file %q differs from a missing one %q", name, a, b)
			}
		}
	}
}

func TestJoinCapsTheList(t *testing.T) {
	var errs []error
	for i := 0; i < 1000; i++ {
		errs = append(errs, fail.Configf("file %d: no such file", i))
	}
	err := fail.Join(errs)
	if n := strings.Count(err.Error(), "\n"); n != fail.MaxListed || !strings.Contains(err.Error(), "and 980 more") {
		t.Fatalf("%d lines: %v", n, err)
	}
	if fail.ClassOf(err) != fail.Config {
		t.Fatalf("class %v", fail.ClassOf(err))
	}
}

func TestRootNamedThroughASymlink(t *testing.T) {
	real := t.TempDir()
	write(t, filepath.Join(real, "a.txt"), "a")
	link := filepath.Join(t.TempDir(), "ws")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	w := open(t, link, link)
	for _, p := range []string{"a.txt", filepath.Join(link, "a.txt"), filepath.Join(real, "a.txt")} {
		if got, err := w.ReadFile(p, 10); err != nil || string(got) != "a" {
			t.Errorf("ReadFile(%s) = %q, %v", p, got, err)
		}
	}
	if _, err := w.ReadFile(filepath.Join(link, "..", "x"), 10); err == nil {
		t.Error("a path above the workspace was accepted")
	}
}

func TestGlobManyDoubleStarsStaysFast(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a")
	write(t, filepath.Join(deep, "b"), "b")
	w := open(t, root, root)
	start := time.Now()
	got, err := w.Glob(strings.Repeat("**/a*/", 12) + "c")
	if err != nil || len(got) != 0 {
		t.Fatalf("Glob = %v, %v", got, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a pattern of many ** took %v", d)
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		dir, p string
		want   bool
	}{
		{"/ws", "/ws", true},
		{"/ws", "/ws/a/b", true},
		{"/ws", "/ws/..a", true},
		{"/ws", "/ws/a/../../x", false},
		{"/ws", "/wsx/a", false},
		{"/ws", "/", false},
		{"/ws/a", "/ws", false},
		{"ws", "/ws/a", false},
		{".", "a/b", true},
		{".", "../a", false},
	} {
		if got := workspace.Within(tc.dir, tc.p); got != tc.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tc.dir, tc.p, got, tc.want)
		}
	}
}

func TestConfine(t *testing.T) {
	base := t.TempDir()
	ws := filepath.Join(base, "ws")
	write(t, filepath.Join(ws, "in.txt"), "x")
	write(t, filepath.Join(base, "secret"), "s")
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	w := open(t, ws, ws)
	for _, tc := range []struct {
		path    string
		outside bool
	}{
		{"in.txt", false},
		{"new/out.json", false},
		{"../secret", true},
		{"link", true},
		{filepath.Join(base, "secret"), true},
	} {
		err := w.Confine(tc.path)
		var out *workspace.OutsideError
		if got := errors.As(err, &out); got != tc.outside {
			t.Errorf("Confine(%q) = %v, want outside=%v", tc.path, err, tc.outside)
		}
		if tc.outside && fail.ClassOf(err) != fail.Config {
			t.Errorf("Confine(%q) = %v, want a configuration error", tc.path, err)
		}
	}
}
