package command_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/command"
)

// TestConformanceVerifyCorpus runs the sigstore-conformance verification corpus
// (testdata/conformance/bundle-verify, copied from sigstore/sigstore-conformance)
// through `paved verify-bundle`, once with the artifact file and once with its
// digest: every case must give the expected result.
func TestConformanceVerifyCorpus(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "conformance", "bundle-verify")
	publicGood, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "trust", "public-good-trusted_root.json"))
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		cases++
		dir := filepath.Join(root, e.Name())
		wantFail := strings.HasSuffix(e.Name(), "_fail")
		artifact := filepath.Join(dir, "artifact")
		if _, err := os.Stat(artifact); err != nil {
			artifact = filepath.Join(root, "..", "a.txt")
		}
		data, err := os.ReadFile(artifact)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		digest := "sha256:" + hex.EncodeToString(sum[:])

		args := []string{"verify-bundle", "--bundle", filepath.Join(dir, "bundle.sigstore.json")}
		if _, err := os.Stat(filepath.Join(dir, "key.pub")); err == nil {
			args = append(args, "--key", filepath.Join(dir, "key.pub"))
		} else {
			args = append(args, "--certificate-identity", readOr(t, filepath.Join(dir, "identity"),
				"https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"),
				"--certificate-oidc-issuer", readOr(t, filepath.Join(dir, "issuer"), "https://token.actions.githubusercontent.com"))
		}
		trusted := publicGood
		if _, err := os.Stat(filepath.Join(dir, "trusted_root.json")); err == nil {
			trusted = filepath.Join(dir, "trusted_root.json")
		}
		args = append(args, "--trusted-root", trusted)

		for _, mode := range []struct{ name, arg string }{{"file", artifact}, {"digest", digest}} {
			t.Run(e.Name()+"/"+mode.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
				code := command.Main(context.Background(), door, append(append([]string{}, args...), mode.arg), door.Getenv, &stdout, &stderr)
				if wantFail && code == 0 {
					t.Fatalf("verification passed, want failure\n%s", stdout.String())
				}
				if !wantFail && code != 0 {
					t.Fatalf("verification failed (exit %d), want success: %s", code, stderr.String())
				}
				if wantFail && code != 1 && code != 2 {
					t.Fatalf("exit %d, want 1 (verification failed) or 2 (bad input): %s", code, stderr.String())
				}
			})
		}
	}
	if cases != 70 {
		t.Fatalf("corpus has %d cases, want 70", cases)
	}
}

func readOr(t *testing.T, path, def string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	return strings.TrimSpace(string(b))
}
