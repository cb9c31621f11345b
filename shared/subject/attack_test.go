package subject_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/workspace"
)

// TestAttackWorkingDirectoryGlobAttestsOtherFile: with the job's working
// directory below the workspace, a glob expanded there must digest the files
// it matched there, not the files of the same name at the workspace root.
func TestAttackWorkingDirectoryGlobAttestsOtherFile(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "dist", "app"), "other file at the workspace root")
	inner := write(t, filepath.Join(root, "sub", "dist", "app"), "the artifact the job built")
	t.Chdir(filepath.Join(root, "sub"))
	ws, err := workspace.Current(root)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, p := range []string{"dist/*", "dist/app", "**/app"} {
		got, err := subject.Resolve(context.Background(), subject.Spec{Paths: []string{p}}, subject.Options{Files: ws})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(got) != 1 || got[0].SHA256() != inner || got[0].Name != "app" || filepath.ToSlash(got[0].Path) != "dist/app" {
			t.Fatalf("%s: got %+v, want app with digest %s read from sub/dist/app", p, got, inner)
		}
	}
}

// TestSubjectNames: names that cannot name a bundle file are refused wherever
// they come from; file subjects are named by their base name.
func TestSubjectNames(t *testing.T) {
	dir := t.TempDir()
	hex := strings.Repeat("a", 64)
	for _, name := range []string{"/", ".", "..", "dist/..", "dist/", "./", "a\x00b"} {
		sums := filepath.Join(dir, "sums")
		write(t, sums, hex+"  "+name+"\n")
		_, err := subject.Resolve(context.Background(), subject.Spec{ChecksumsFiles: []string{sums}}, subject.Options{})
		if err == nil || fail.ClassOf(err) != fail.Config {
			t.Errorf("checksums name %q: %v, want a configuration error", name, err)
		}
		if _, err := subject.Resolve(context.Background(), subject.Spec{Digests: []string{name + "@sha256:" + hex}}, subject.Options{}); err == nil {
			t.Errorf("digest name %q accepted", name)
		}
	}
	for _, name := range []string{"app.tgz", "dist/app.tgz", "ghcr.io/o/img"} {
		if err := subject.CheckName(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
	write(t, filepath.Join(dir, "d", "e", "f.bin"), "f")
	got, err := subject.Resolve(context.Background(), subject.Spec{Paths: []string{filepath.Join(dir, "d", "**")}}, subject.Options{})
	if err != nil || len(got) != 1 || got[0].Name != "f.bin" {
		t.Fatalf("glob subject: %+v, %v; want the base name f.bin", got, err)
	}
}
