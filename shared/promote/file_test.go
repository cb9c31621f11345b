package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
)

func TestOpenAttested(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.tar.gz")
	content := []byte("release bytes\n")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	attested := "sha256:" + hex.EncodeToString(sum[:])
	other := "sha256:" + strings.Repeat("0", 64)
	tmp := t.TempDir()
	for _, tc := range []struct {
		name     string
		attested []string
		max      int64
		class    fail.Class
		msg      string
	}{
		{"attested bytes", []string{other, strings.ToUpper(attested)}, 0, 0, ""},
		{"rebuilt file", []string{other}, 0, fail.Verification, "rebuilt or altered"},
		{"nothing attested", nil, 0, fail.Verification, "verify its attestations first"},
		{"too large", []string{attested}, 4, fail.Config, "larger than 4 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenAttested(context.Background(), path, tc.attested, FileOptions{TempDir: tmp, MaxSize: tc.max})
			if tc.msg != "" {
				if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("got %v, want a %s error mentioning %q", err, tc.class, tc.msg)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				// The upload reads the private copy, not the path: changing the
				// file afterwards does not change what is sent.
				os.WriteFile(path, []byte("rebuilt\n"), 0o644)
				defer os.WriteFile(path, content, 0o644)
				got, _ := io.ReadAll(f)
				if string(got) != string(content) || f.Digest != attested || f.Size != int64(len(content)) {
					t.Fatalf("read %q digest %s size %d", got, f.Digest, f.Size)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Fatalf("private copies left behind: %v", left)
			}
		})
	}
}
