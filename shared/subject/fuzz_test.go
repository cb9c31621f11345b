package subject_test

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/subject"
)

// FuzzChecksums feeds arbitrary checksums files to Resolve: no panic, and every
// subject it accepts has a name and a 64-hex-digit digest.
func FuzzChecksums(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  a.tgz\n"))
	f.Add([]byte("# c\n\nzz *b\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "sums")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		subs, err := subject.Resolve(context.Background(), subject.Spec{ChecksumsFiles: []string{p}}, subject.Options{})
		if err != nil {
			return
		}
		for _, s := range subs {
			if s.Name == "" || len(s.SHA256()) != 64 {
				t.Fatalf("accepted subject %+v", s)
			}
		}
	})
}

// FuzzSubjectDigest feeds arbitrary name@sha256:HEX subjects to Resolve:
// nothing panics, and an accepted one keeps its name and a lower-case
// 64-hex-digit digest.
func FuzzSubjectDigest(f *testing.F) {
	f.Add("app.tgz@sha256:" + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")
	f.Add("ghcr.io/o/r@v1@sha256:" + "00000000000000000000000000000000000000000000000000000000000000000")
	f.Add("@sha256:")
	f.Fuzz(func(t *testing.T, d string) {
		subs, err := subject.Resolve(context.Background(), subject.Spec{Digests: []string{d}}, subject.Options{})
		if err != nil {
			return
		}
		if len(subs) != 1 {
			t.Fatalf("%d subjects from one digest", len(subs))
		}
		s := subs[0]
		at := strings.LastIndex(d, "@")
		if s.Name != d[:at] || s.Name == "" || s.SHA256() != strings.ToLower(d[at+len("@sha256:"):]) {
			t.Fatalf("%q resolved to %+v", d, s)
		}
		if raw, err := hex.DecodeString(s.SHA256()); err != nil || len(raw) != 32 || s.SHA256() != strings.ToLower(s.SHA256()) {
			t.Fatalf("digest %q", s.SHA256())
		}
	})
}
