package subject_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/subject"
)

// TestActionsAttestSubjectForms: subjects as actions/attest takes them — a
// bare sha256: or sha512: subject-digest named by subject-name, checksums
// files from sha256sum or sha512sum (the algorithm told by the hex length) —
// next to Paved's own NAME@sha256:HEX.
func TestActionsAttestSubjectForms(t *testing.T) {
	dir := t.TempDir()
	h256, h512 := strings.Repeat("ab", 32), strings.Repeat("cd", 64)
	sums, file := filepath.Join(dir, "SUMS"), filepath.Join(dir, "dist", "app")
	write(t, sums, h256+"  a.tgz\n"+strings.ToUpper(h512)+" *b.tgz\n")
	appDigest := write(t, file, "app")
	cases := []struct {
		name string
		spec subject.Spec
		want map[string]string // name -> ALG:HEX
	}{
		{"bare sha256 with subject-name", subject.Spec{Digests: []string{"sha256:" + h256}, Name: "ghcr.io/o/img"}, map[string]string{"ghcr.io/o/img": "sha256:" + h256}},
		{"bare sha512 with subject-name", subject.Spec{Digests: []string{"sha512:" + strings.ToUpper(h512)}, Name: "app.tgz"}, map[string]string{"app.tgz": "sha512:" + h512}},
		{"NAME@sha512", subject.Spec{Digests: []string{"app.tgz@sha512:" + h512}}, map[string]string{"app.tgz": "sha512:" + h512}},
		{"NAME@sha256 beside subject-name", subject.Spec{Digests: []string{"x@sha256:" + h256, "sha512:" + h512}, Name: "y"}, map[string]string{"x": "sha256:" + h256, "y": "sha512:" + h512}},
		{"sha256sum and sha512sum lines", subject.Spec{ChecksumsFiles: []string{sums}}, map[string]string{"a.tgz": "sha256:" + h256, "b.tgz": "sha512:" + h512}},
		{"subject-name renames the one file", subject.Spec{Paths: []string{file}, Name: "my-app"}, map[string]string{"my-app": "sha256:" + appDigest}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := subject.Resolve(context.Background(), tc.spec, subject.Options{})
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]string{}
			for _, s := range got {
				have[s.Name] = s.DigestString()
			}
			if len(have) != len(tc.want) {
				t.Fatalf("got %v, want %v", have, tc.want)
			}
			for n, d := range tc.want {
				if have[n] != d {
					t.Fatalf("got %v, want %v", have, tc.want)
				}
			}
		})
	}
}

// TestActionsAttestSubjectFormsRefused: what actions/attest would refuse,
// and what one subject-name cannot name, are configuration errors that say
// what to set.
func TestActionsAttestSubjectFormsRefused(t *testing.T) {
	dir := t.TempDir()
	h256 := strings.Repeat("ab", 32)
	write(t, filepath.Join(dir, "d", "a"), "a")
	write(t, filepath.Join(dir, "d", "b"), "b")
	bad := filepath.Join(dir, "BADSUMS")
	write(t, bad, strings.Repeat("a", 96)+"  a.tgz\n")
	cases := []struct {
		name string
		spec subject.Spec
		want string
	}{
		{"bare digest without subject-name", subject.Spec{Digests: []string{"sha256:" + h256}}, "set subject-name"},
		{"sha512 digest of sha256 length", subject.Spec{Digests: []string{"sha512:" + h256}, Name: "a"}, "sha512:<128 hex digits>"},
		{"unknown algorithm", subject.Spec{Digests: []string{"md5:" + h256[:32]}, Name: "a"}, "want name@sha256"},
		{"subject-name naming nothing", subject.Spec{Digests: []string{"x@sha256:" + h256}, Name: "y"}, "names nothing"},
		{"subject-name for several files", subject.Spec{Paths: []string{filepath.Join(dir, "d", "*")}, Name: "y"}, "matches 2 files"},
		{"checksum of neither length", subject.Spec{ChecksumsFiles: []string{bad}}, "64 or 128 hex digits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := subject.Resolve(context.Background(), tc.spec, subject.Options{})
			if err == nil || fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a configuration error naming %q", err, tc.want)
			}
		})
	}
}

// TestAttackSubjectNameHostile: subject-name is a free-form action input; a
// name that would inject log lines, or name no file a bundle could be
// written beside, is refused like any other subject name.
func TestAttackSubjectNameHostile(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, name := range []string{"app\n::warning::pwned", "app\r::add-mask::x", "..", "dist/..", "/", "dist/", " ", "a\x00b"} {
		for _, spec := range []subject.Spec{
			{Digests: []string{"sha256:" + h}, Name: name},
			{Digests: []string{"sha512:" + strings.Repeat(h, 2)}, Name: name},
		} {
			got, err := subject.Resolve(context.Background(), spec, subject.Options{})
			if err == nil || fail.ClassOf(err) != fail.Config {
				t.Errorf("subject-name %q: got %v, %v; want a configuration error", name, got, err)
			}
		}
	}
}
