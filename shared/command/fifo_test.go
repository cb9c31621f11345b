//go:build unix

package command_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFIFOInputsRefusedWithoutBlocking: a FIFO given as a subject, bundle,
// policy, data file or scan source is refused with a configuration error,
// never opened blocking.
func TestFIFOInputsRefusedWithoutBlocking(t *testing.T) {
	ws := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(ws, "pipe"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	writeFile(t, filepath.Join(ws, "app"), "app")
	fixtures(t, ws)
	cases := map[string][]string{
		"attest subject":   {"attest", "pipe", "--identity-token", "x.y.z"},
		"attest checksums": {"attest", "--subject-checksums", "pipe", "--identity-token", "x.y.z"},
		"verify bundle":    {"verify", "app", "--bundle", "pipe", "--repo", "o/r"},
		"verify artifact":  {"verify", "pipe", "--bundle", "app.sigstore.json", "--repo", "o/r"},
		"policy file":      {"policy", "--policy", "pipe", "sbom.cdx.json"},
		"policy data":      {"policy", "--policy", "policy.yaml", "sbom.cdx.json", "--data", "pipe"},
		"policy osv-db":    {"policy", "--policy", "policy.yaml", "sbom.cdx.json", "--osv-db", "pipe"},
		"sbom source":      {"sbom", "pipe"},
		"verify-bundle":    {"verify-bundle", "--bundle", "pipe", "--certificate-identity", "x", "--certificate-oidc-issuer", "y", "sha256:" + strings.Repeat("a", 64)},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			type res struct {
				code   int
				stderr string
			}
			done := make(chan res, 1)
			go func() {
				code, stderr := inWorkspace(t, ws, ws, args...)
				done <- res{code, stderr}
			}()
			select {
			case r := <-done:
				if r.code != 2 || !(strings.Contains(r.stderr, "named pipe") || strings.Contains(r.stderr, "not a regular file") || strings.Contains(r.stderr, "nor a regular file")) {
					t.Fatalf("exit %d, stderr %q; want 2, refusing the FIFO", r.code, r.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("blocked on the FIFO")
			}
		})
	}
}
