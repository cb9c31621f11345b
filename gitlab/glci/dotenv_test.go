package glci_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
)

// dotenvOf runs cmd's outputs through the GitLab door and returns the dotenv
// report it wrote, parsed as GitLab parses it for the jobs that need this one.
func dotenvOf(t *testing.T, cmd *command.Command, outputs map[string]string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.env")
	env := map[string]string{"PAVED_DOTENV": path}
	d := glci.New(glci.Options{Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard})
	if err := d.WriteOutputs(cmd, outputs); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	return vars
}

// TestAttackDotenvOutputSetsNextJobInput: job A's dotenv report reaches every
// job that needs A, with precedence over the variables that job defines. When
// outputs were PAVED_<NAME> like inputs, a policy job A (whose SBOM, from its
// own source scan or input, an attacker may steer) handed PAVED_SBOM to a
// policy job B that needs it, and B evaluated, and signed its VSA over, A's
// SBOM instead of the release SBOM its own sbom input named; attest's
// PAVED_BUNDLE_PATH likewise moved where B wrote its bundle. B must bind
// exactly its own inputs.
func TestAttackDotenvOutputSetsNextJobInput(t *testing.T) {
	for _, tc := range []struct {
		a, b    *command.Command
		outputs map[string]string
		jobVars map[string]string
	}{
		{command.Policy(), command.Policy(),
			map[string]string{"sbom": "attacker.cdx.json", "verdict": "PASSED", "bundle-path": "a.sigstore.json", "sarif": "x.sarif"},
			map[string]string{"PAVED_SBOM": "dist/release.cdx.json", "PAVED_POLICY": "policy.yml", "PAVED_VSA": "true"}},
		{command.Attest(), command.Policy(),
			map[string]string{"bundle-path": "../../elsewhere.sigstore.json", "bundles-jsonl": "x.jsonl"},
			map[string]string{"PAVED_SBOM": "dist/release.cdx.json", "PAVED_POLICY": "policy.yml"}},
		{command.SupplyChain(), command.Attest(),
			map[string]string{"bundle-path": "evil.sigstore.json", "bundles-jsonl": "evil.jsonl", "subjects": "sha256:00 evil"},
			map[string]string{"PAVED_SUBJECT_PATH": "dist/app"}},
	} {
		t.Run(tc.a.Name+"→"+tc.b.Name, func(t *testing.T) {
			dotenv := dotenvOf(t, tc.a, tc.outputs)
			if len(dotenv) != len(tc.outputs) {
				t.Fatalf("dotenv %v lost outputs of %v", dotenv, tc.outputs)
			}
			// GitLab: dotenv variables of needed jobs win over job variables.
			env := map[string]string{}
			for k, v := range tc.jobVars {
				env[k] = v
			}
			for k, v := range dotenv {
				env[k] = v
			}
			want, _, err := command.Bind(tc.b, glci.New(glci.Options{Getenv: func(k string) string { return tc.jobVars[k] }, Stdout: io.Discard, Stderr: io.Discard}), nil, func(k string) string { return tc.jobVars[k] })
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := command.Bind(tc.b, glci.New(glci.Options{Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard}), nil, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range tc.b.Inputs {
				if g, w := strings.Join(got.List(in.Name), ","), strings.Join(want.List(in.Name), ","); g != w || got.Set(in.Name) != want.Set(in.Name) {
					t.Errorf("%s's output reached %s's input %s: %q, want %q", tc.a.Name, tc.b.Name, in.Name, g, w)
				}
			}
		})
	}
}

// TestOutputsNeverSetInputs: no output of any component, as its dotenv key,
// is the variable of any component's input or a variable the components
// themselves set or read, so that needing a Paved job cannot change the
// inputs of the next one.
func TestOutputsNeverSetInputs(t *testing.T) {
	taken := map[string]string{"PAVED_DOTENV": "the dotenv path", glci.ImageVariable: "the image variable"}
	for _, c := range command.All() {
		for _, in := range c.Inputs {
			taken[in.EnvName()] = "input " + in.Name + " of " + c.Name
		}
		taken[glci.DisabledVariable(c)] = "the switch that disables " + c.Name
	}
	seen := map[string]string{}
	for _, c := range command.All() {
		for _, o := range c.Outputs {
			key := c.OutputEnv(o.Name)
			if what, ok := taken[key]; ok {
				t.Errorf("output %s of %s is dotenv %s, which is %s", o.Name, c.Name, key, what)
			}
			if other, ok := seen[key]; ok {
				t.Errorf("outputs %s and %s of %s share dotenv %s", other, o.Name, c.Name, key)
			}
			seen[key] = o.Name
		}
	}
	var b bytes.Buffer
	b.WriteString(command.Policy().OutputEnv("verdict"))
	if b.String() != "PAVED_POLICY_VERDICT" {
		t.Fatalf("output key %s", b.String())
	}
}
