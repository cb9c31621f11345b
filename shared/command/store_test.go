package command_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/store"
)

// TestStoreInputsFailBeforeSigning: wrong storage inputs are configuration
// errors that name the fix, found before any signing, leaving no file behind.
func TestStoreInputsFailBeforeSigning(t *testing.T) {
	dir := t.TempDir()
	artifact := filepath.Join(dir, "app")
	os.WriteFile(artifact, []byte("app"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--push-to-registry"}, "needs --registry-image"},
		{[]string{"--registry-image", "127.0.0.1:5000/app:v1"}, "set push-to-registry"},
		{[]string{"--push-to-registry", "--registry-image", "Not A Reference"}, "registry-image"},
		{[]string{"--gitlab-package", "attestations"}, "only inside a GitLab CI/CD job"},
		{[]string{"--github-attestations"}, "--github-repository"},
		{[]string{"--github-attestations", "--github-repository", "paved-dev/demo"}, "needs a token"},
		{[]string{"--github-attestations", "--github-repository", "nope", "--github-token", "t"}, "want OWNER/NAME"},
		{[]string{"--bundles-jsonl", filepath.Join(dir, "missing", "a.jsonl")}, "--bundles-jsonl"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(string) string { return "" }
			door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: getenv}
			args := append(append([]string{"attest", "--bundle-path", filepath.Join(dir, "app.sigstore.json")}, tc.args...), artifact)
			code := command.Main(context.Background(), door, args, getenv, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %q", code, stderr.String(), tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("files left behind: %v", entries)
			}
		})
	}
}

// TestReceiptOutputsAreDeclared fails when a store answers an output key that
// the commands storing bundles do not declare: the step would set an output
// no workflow can read.
func TestReceiptOutputsAreDeclared(t *testing.T) {
	for _, name := range []string{"attest", "supply-chain"} {
		cmd, ok := command.Find(name)
		if !ok {
			t.Fatalf("no command %s", name)
		}
		declared := map[string]bool{}
		for _, o := range cmd.Outputs {
			declared[o.Name] = true
		}
		for _, k := range store.OutputKeys {
			if !declared[k] {
				t.Errorf("paved %s does not declare output %q, which a store's receipt sets", name, k)
			}
		}
	}
}
