package command_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/command"
)

// TestAttackCustomPredicateClaimsProvenanceRefused: a build step that writes
// its own "provenance" (any SLSA provenance version, any spelling) and passes
// it as a custom predicate is refused before anything is signed or written,
// with an error that says Paved builds provenance itself.
func TestAttackCustomPredicateClaimsProvenanceRefused(t *testing.T) {
	for _, typ := range []string{
		"https://slsa.dev/provenance/v1",
		"https://slsa.dev/provenance/v0.2",
		"https://slsa.dev/provenance/v0.1",
		"https://slsa.dev/provenance/v2-draft",
		"HTTPS://SLSA.dev/Provenance/v1",
		"http://slsa.dev/provenance/v1",
		" https://slsa.dev/provenance/v1",
	} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			artifact := filepath.Join(dir, "app")
			pred := filepath.Join(dir, "pred.json")
			os.WriteFile(artifact, []byte("app"), 0o644)
			os.WriteFile(pred, []byte(`{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1","externalParameters":{"workflow":{"repository":"https://github.com/victim/trusted"}}},"runDetails":{"builder":{"id":"https://github.com/victim/trusted/.github/workflows/release.yml@refs/heads/main"}}}`), 0o644)
			var stdout, stderr bytes.Buffer
			getenv := func(string) string { return "" }
			door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: getenv}
			args := []string{"attest", "--predicate-type", typ, "--predicate-path", pred, "--bundle-path", filepath.Join(dir, "app.sigstore.json"), artifact}
			code := command.Main(context.Background(), door, args, getenv, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), "cannot claim to be SLSA provenance") || !strings.Contains(stderr.String(), "drop --predicate-path") {
				t.Fatalf("exit %d, stderr %q; want 2 refusing a custom provenance predicate and naming the fix", code, stderr.String())
			}
			if names := listDir(t, dir); len(names) != 2 {
				t.Fatalf("files left behind: %v", names)
			}
		})
	}
}

// TestCustomPredicateOfItsOwnTypeGetsPastTheCheck: the refusal is about the
// provenance types only; a scan result under its own type reaches signing
// (which fails here for want of an identity token, not of the type).
func TestCustomPredicateOfItsOwnTypeGetsPastTheCheck(t *testing.T) {
	dir := t.TempDir()
	artifact := filepath.Join(dir, "app")
	pred := filepath.Join(dir, "pred.json")
	os.WriteFile(artifact, []byte("app"), 0o644)
	os.WriteFile(pred, []byte(`{"scanner":"x"}`), 0o644)
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: getenv}
	args := []string{"attest", "--predicate-type", "https://slsa.dev/verification_summary/v1", "--predicate-path", pred,
		"--trusted-root", filepath.Join(dir, "missing-root.json"), "--signing-config", filepath.Join(dir, "missing-sc.json"), artifact}
	command.Main(context.Background(), door, args, getenv, &stdout, &stderr)
	if strings.Contains(stderr.String(), "cannot claim to be SLSA provenance") {
		t.Fatalf("a non-provenance type was refused as provenance: %s", stderr.String())
	}
}
