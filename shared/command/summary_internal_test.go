package command

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/verify"
)

// TestAttackShellMetacharsInVerifyCommand runs the verify commands a step
// summary suggests through bash, with paved, cosign and gh as functions that
// record their arguments: a name with shell syntax must arrive as one
// argument, unchanged, and run nothing.
func TestAttackShellMetacharsInVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	file := "dist/app$(touch " + pwned + ");`touch " + pwned + "`'x\n```\ntouch " + pwned
	bundle := "b $(touch " + pwned + ").sigstore.json"
	san := "https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1;touch " + pwned
	tr, err := root.NewTrustedRootFromPath("../../testdata/trust/public-good-trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	mat := &trust.Material{Root: tr, Source: "root $(touch " + pwned + ").json"}
	subj := subject.Subject{Name: file, Path: file, Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}}
	md := attestSummary([]subject.Subject{subj}, san, "https://token.actions.githubusercontent.com", "https://github.com/o", "https://slsa.dev/provenance/v1", bundle, mat)
	_, block, ok := strings.Cut(md, "```sh\n")
	if !ok {
		t.Fatalf("no command block in:\n%s", md)
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if lines := strings.Split(block, "\n"); !ok || len(lines) != 3 {
		t.Fatalf("a name split a command or closed the command block early:\n%s", md)
	}
	block += "\n" + verifyCommandLine(file, bundle, verify.Rule{CertIdentity: san, CertOIDCIssuer: "https://token.actions.githubusercontent.com", Repo: "o/r"}, "https://slsa.dev/provenance/v1", mat.Source)
	script := `record() { for a in "$@"; do printf '%s\0' "$a"; done; printf '\n\0'; }
paved() { record paved "$@"; }; cosign() { record cosign "$@"; }; gh() { record gh "$@"; }
` + block + "\n"
	out, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, script)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatalf("a suggested command ran an injected command:\n%s", block)
	}
	var calls [][]string
	var cur []string
	for _, a := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if a == "\n" {
			calls = append(calls, cur)
			cur = nil
			continue
		}
		cur = append(cur, a)
	}
	if len(calls) != 4 {
		t.Fatalf("want 4 commands (paved verify-bundle, cosign, gh, paved verify), got %d: %q", len(calls), calls)
	}
	for _, c := range calls {
		args := map[string]bool{}
		for _, a := range c {
			args[a] = true
		}
		want := []bool{args[file], args[bundle]}
		if c[0] == "paved" || c[0] == "cosign" {
			want = append(want, args[san], args[mat.Source])
		}
		for _, ok := range want {
			if !ok {
				t.Errorf("%s did not receive every name as one unchanged argument: %q", c[0], c)
				break
			}
		}
	}
	if !reflect.DeepEqual(calls[0][:2], []string{"paved", "verify-bundle"}) {
		t.Errorf("first command: %q", calls[0])
	}
}
