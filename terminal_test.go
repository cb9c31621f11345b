package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// fakeTTY is a writer that says it is a terminal, as a tty does to
// logtext.IsTerminal.
type fakeTTY struct {
	bytes.Buffer
	tty bool
}

func (f *fakeTTY) Terminal() bool { return f.tty }

// TestColoursOnlyOnATerminalWithoutNoColor: main colours the ✓/✗ marks only
// when standard error is a terminal, NO_COLOR is unset or empty
// (https://no-color.org) and TERM is not dumb.
func TestColoursOnlyOnATerminalWithoutNoColor(t *testing.T) {
	args := []string{"verify", "testdata/public-bundles/reusable-workflow-artifact", "-b", "testdata/public-bundles/reusable-workflow-attestation.sigstore.json",
		"--trusted-root", "testdata/trust/public-good-trusted_root.json", "-o", "malancas", "--signer-repo", "github/artifact-attestations-workflows"}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		tty    bool
		colour bool
	}{
		{"terminal", map[string]string{"TERM": "xterm"}, true, true},
		{"NO_COLOR", map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, true, false},
		{"NO_COLOR empty", map[string]string{"NO_COLOR": ""}, true, true},
		{"dumb terminal", map[string]string{"TERM": "dumb"}, true, false},
		{"pipe", map[string]string{"TERM": "xterm"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := &fakeTTY{tty: tc.tty}, &fakeTTY{tty: tc.tty}
			if code := run(context.Background(), args, func(k string) string { return tc.env[k] }, stdout, stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "\x1b[32m✓\x1b[0m"); got != tc.colour {
				t.Errorf("coloured = %v, want %v: %q", got, tc.colour, stderr.String())
			}
			if !tc.colour && strings.Contains(stderr.String()+stdout.String(), "\x1b") {
				t.Errorf("an escape sequence without colours: %q", stderr.String())
			}
			if !strings.Contains(stderr.String(), "✓") {
				t.Errorf("no ✓ row: %q", stderr.String())
			}
		})
	}
}
