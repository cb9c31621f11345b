package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/logtext/logtexttest"
)

// runAttestStep runs paved attest as the GitHub action step does, with the
// action inputs given, in a fresh workspace holding dist/app and a file
// outside it; it returns the exit code, stdout, stderr, the names in the
// workspace afterwards and the outputs file.
func runAttestStep(t *testing.T, inputs map[string]string) (code int, stdout, stderr string, names []string, outputs string) {
	t.Helper()
	top := t.TempDir()
	ws := filepath.Join(top, "ws")
	os.MkdirAll(filepath.Join(ws, "dist"), 0o755)
	os.WriteFile(filepath.Join(ws, "dist", "app"), []byte("app"), 0o644)
	os.WriteFile(filepath.Join(top, "outside.spdx.json"), []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`), 0o644)
	out := t.TempDir()
	vars := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": filepath.Join(out, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(out, "summary.md"), "GITHUB_REPOSITORY": "o/r", "INPUT_GITHUB_TOKEN": "ghs_attackToken0123456789"}
	for k, v := range inputs {
		vars["INPUT_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = v
	}
	t.Chdir(ws)
	var o, e bytes.Buffer
	code = run(context.Background(), []string{"attest"}, func(k string) string { return vars[k] }, &o, &e)
	entries, _ := os.ReadDir(ws)
	for _, de := range entries {
		names = append(names, de.Name())
	}
	raw, _ := os.ReadFile(filepath.Join(out, "output"))
	return code, o.String(), e.String(), names, string(raw)
}

// TestAttackActionsAttestInputs: the inputs taken for actions/attest are
// refused, before any request, when hostile: a subject-name that would
// inject workflow commands or names no file, an inline predicate that is no
// JSON object or claims SLSA provenance, an sbom-path outside the workspace,
// a predicate with an SBOM. Nothing is written and no injected line reaches
// the log.
func TestAttackActionsAttestInputs(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	cases := map[string]struct {
		inputs map[string]string
		want   string
	}{
		"subject-name newline command":  {map[string]string{"subject-name": "app\n::add-mask::paved\n::warning::pwned", "subject-digest": digest}, "control characters"},
		"subject-name dot-dot":          {map[string]string{"subject-name": "..", "subject-digest": digest}, "not a file name"},
		"subject-name path escape":      {map[string]string{"subject-name": "../..", "subject-digest": digest}, "not a file name"},
		"predicate not an object":       {map[string]string{"subject-path": "dist/app", "predicate-type": "https://example.com/p", "predicate": "[\"\\n::warning::pwned\"]"}, "not a JSON object"},
		"predicate claims provenance":   {map[string]string{"subject-path": "dist/app", "predicate-type": "https://slsa.dev/provenance/v1", "predicate": `{"builder":{"id":"x"}}`}, "cannot claim to be SLSA provenance"},
		"predicate with predicate-path": {map[string]string{"subject-path": "dist/app", "predicate-type": "https://example.com/p", "predicate": `{}`, "predicate-path": "dist/app"}, "cannot be used together"},
		"sbom-path outside workspace":   {map[string]string{"subject-path": "dist/app", "sbom-path": "../outside.spdx.json"}, "outside"},
		"sbom-path with predicate":      {map[string]string{"subject-path": "dist/app", "sbom-path": "dist/app", "predicate": `{}`}, "cannot be used together"},
		"sbom-path not an SBOM":         {map[string]string{"subject-path": "dist/app", "sbom-path": "dist/app"}, "not a JSON SBOM"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr, names, outputs := runAttestStep(t, tc.inputs)
			if code != 2 || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d; want 2 naming %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			// Paved's own lines: the error, and the mask of the secret
			// input, which the runner consumes and never shows.
			const mask = "::add-mask::ghs_attackToken0123456789"
			for _, l := range logtexttest.CommandLines(stdout + stderr) {
				if !strings.HasPrefix(l, "::error") && l != mask {
					t.Errorf("injected workflow command: %q", l)
				}
			}
			if len(names) != 1 || outputs != "" {
				t.Errorf("written: workspace %v, outputs %q", names, outputs)
			}
			if strings.Contains(strings.ReplaceAll(stdout+stderr, mask, ""), "ghs_attackToken") {
				t.Error("the token reached the log")
			}
		})
	}
}
