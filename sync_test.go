package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/shared/command"
)

type actionYAML struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Steps []struct {
			ID  string            `yaml:"id"`
			Env map[string]string `yaml:"env"`
			Run string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func ciInputs(cmd *command.Command) []command.Input {
	var out []command.Input
	for _, in := range cmd.Inputs {
		if !in.CLIOnly {
			out = append(out, in)
		}
	}
	return out
}

// TestActionsMatchDeclarations fails when an action.yml drifts from the
// command's declared inputs and outputs.
func TestActionsMatchDeclarations(t *testing.T) {
	attest, _ := command.Find("attest")
	for _, path := range []string{"action.yml", "actions/attest/action.yml"} {
		t.Run(path, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var a actionYAML
			if err := yaml.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			want := ciInputs(attest)
			if len(a.Inputs) != len(want) {
				t.Errorf("%d inputs, want %d", len(a.Inputs), len(want))
			}
			var env map[string]string
			for _, s := range a.Runs.Steps {
				if s.ID == "paved" {
					env = s.Env
					if strings.TrimSpace(s.Run) != "paved attest" {
						t.Errorf("step runs %q, want \"paved attest\" with inputs through env", s.Run)
					}
				}
			}
			for _, in := range want {
				got, ok := a.Inputs[in.Name]
				if !ok {
					t.Errorf("input %s missing", in.Name)
					continue
				}
				if got.Description != in.Usage || got.Default != in.Default {
					t.Errorf("input %s = %q (default %q), want %q (default %q)", in.Name, got.Description, got.Default, in.Usage, in.Default)
				}
				key := "INPUT_" + strings.ToUpper(strings.ReplaceAll(in.Name, "-", "_"))
				if env[key] != "${{ inputs."+in.Name+" }}" {
					t.Errorf("env %s = %q, want the input passed through env", key, env[key])
				}
			}
			for _, o := range attest.Outputs {
				if got, ok := a.Outputs[o.Name]; !ok || got.Description != o.Usage {
					t.Errorf("output %s = %q, want %q", o.Name, got.Description, o.Usage)
				}
			}
		})
	}
}

// TestTemplateMatchesDeclarations does the same for the GitLab component.
func TestTemplateMatchesDeclarations(t *testing.T) {
	attest, _ := command.Find("attest")
	raw, err := os.ReadFile("templates/attest.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var header struct {
		Spec struct {
			Inputs map[string]struct {
				Description string `yaml:"description"`
				Default     any    `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := dec.Decode(&header); err != nil {
		t.Fatal(err)
	}
	var jobs map[string]struct {
		Variables map[string]string `yaml:"variables"`
	}
	if err := dec.Decode(&jobs); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	job, ok := jobs["paved-attest$[[ inputs.job-suffix ]]"]
	if !ok {
		t.Fatalf("no paved-attest job in %v", jobs)
	}
	for _, in := range ciInputs(attest) {
		got, ok := header.Spec.Inputs[in.Name]
		if !ok {
			t.Errorf("input %s missing", in.Name)
			continue
		}
		if got.Description != in.Usage || got.Default != in.Default {
			t.Errorf("input %s = %q (default %v), want %q (default %q)", in.Name, got.Description, got.Default, in.Usage, in.Default)
		}
		if v := job.Variables[in.EnvName()]; v != "$[[ inputs."+in.Name+" ]]" {
			t.Errorf("variable %s = %q, want the input", in.EnvName(), v)
		}
	}
}

// TestReadmeShowsHelp fails when README's copy of `paved attest --help` is stale.
func TestReadmeShowsHelp(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range command.All() {
		help := command.CommandHelp(c)
		if !strings.Contains(string(raw), "```text\n$ paved "+c.Name+" --help\n"+help+"```") {
			t.Errorf("README.md lacks the current `paved %s --help`; paste this block:\n```text\n$ paved %s --help\n%s```", c.Name, c.Name, help)
		}
	}
}
