package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/atomicfile"
)

// entries lists dir, so a test sees a temporary file left behind (the
// pattern matches names with a leading dot too).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

func TestWriteFileReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(path, []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new content" {
		t.Fatalf("read %q, %v", got, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v: want 0644", st.Mode(), err)
	}
	if e := entries(t, dir); len(e) != 1 {
		t.Fatalf("directory holds %v, want only out.json", e)
	}
}

// TestFailedWriteLeavesNothingHalfWritten: a fill that fails midway leaves
// the old file untouched and no temporary file, and a new path is not created.
func TestFailedWriteLeavesNothingHalfWritten(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("encoder failed")
	for _, path := range []string{old, filepath.Join(dir, "new.json")} {
		n, err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
			if _, err := io.WriteString(w, strings.Repeat("half", 1000)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || n != 0 {
			t.Fatalf("Write(%s) = %d, %v; want the fill's error", path, n, err)
		}
	}
	if got, _ := os.ReadFile(old); string(got) != "old" {
		t.Fatalf("the old file became %q", got)
	}
	if e := entries(t, dir); len(e) != 1 || e[0] != "old.json" {
		t.Fatalf("directory holds %v, want only old.json", e)
	}
}

func TestWriteCountsBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	n, err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, "12345")
		return err
	})
	if err != nil || n != 5 {
		t.Fatalf("Write = %d, %v; want 5 bytes", n, err)
	}
}

func TestWriteIntoMissingDirectoryFails(t *testing.T) {
	if err := atomicfile.WriteFile(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), 0o644); err == nil {
		t.Fatal("a write into a missing directory succeeded")
	}
}
