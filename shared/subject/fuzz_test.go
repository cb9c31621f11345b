package subject_test

import (
	"context"
	"os"
	"path/filepath"
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
