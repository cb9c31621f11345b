package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/actions/gha"
	"github.com/paved-dev/paved/gitlab/glci"
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

func ciInputs(cmd *command.Command) []command.Input { return cmd.CIInputs() }

// ciCommands are the commands offered to CI users: those with inputs that are
// not CLI-only. Each has actions/NAME/action.yml and templates/NAME.yml.
func ciCommands() []*command.Command {
	var out []*command.Command
	for _, c := range command.All() {
		if len(ciInputs(c)) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// TestActionsMatchDeclarations fails when an action.yml drifts from the
// command's declared inputs and outputs or from the packaging inputs every
// action has (how it gets the paved binary), or a CI command has no action.
func TestActionsMatchDeclarations(t *testing.T) {
	actions := map[string]*command.Command{}
	root, _ := command.Find("supply-chain")
	actions["action.yml"] = root
	for _, c := range ciCommands() {
		actions["actions/"+c.Name+"/action.yml"] = c
	}
	for path, cmd := range actions {
		t.Run(path, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var a actionYAML
			if err := yaml.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			want := ciInputs(cmd)
			if len(a.Inputs) != len(want)+len(gha.PackagingInputs)+len(gha.ArtifactInputs(cmd)) {
				t.Errorf("%d inputs, want %d command inputs, %d packaging inputs and %d artifact inputs", len(a.Inputs), len(want), len(gha.PackagingInputs), len(gha.ArtifactInputs(cmd)))
			}
			var env, setup map[string]string
			for i, s := range a.Runs.Steps {
				if i == 0 {
					setup = s.Env
					if strings.TrimSpace(s.Run) != gha.SetupRun {
						t.Errorf("first step runs %q, want %q", s.Run, gha.SetupRun)
					}
				}
				if s.ID == "paved" {
					env = s.Env
					if strings.TrimSpace(s.Run) != "paved "+cmd.Name {
						t.Errorf("step runs %q, want \"paved %s\" with inputs through env", s.Run, cmd.Name)
					}
				}
			}
			for _, in := range want {
				got, ok := a.Inputs[in.Name]
				if !ok {
					t.Errorf("input %s missing", in.Name)
					continue
				}
				if want := gha.ActionDefault(in); got.Description != in.Usage || got.Default != want {
					t.Errorf("input %s = %q (default %q), want %q (default %q)", in.Name, got.Description, got.Default, in.Usage, want)
				}
				key := "INPUT_" + strings.ToUpper(strings.ReplaceAll(in.Name, "-", "_"))
				if env[key] != "${{ inputs."+in.Name+" }}" {
					t.Errorf("env %s = %q, want the input passed through env", key, env[key])
				}
			}
			for _, in := range gha.PackagingInputs {
				for _, c := range want {
					if c.Name == in.Name {
						t.Errorf("command input %s collides with the packaging input of the same name", c.Name)
					}
				}
				got, ok := a.Inputs[in.Name]
				if !ok || got.Description != in.Description || got.Default != "" {
					t.Errorf("packaging input %s = %q (default %q), want %q", in.Name, got.Description, got.Default, in.Description)
				}
				if setup[in.Env] != "${{ inputs."+in.Name+" }}" {
					t.Errorf("setup step env %s = %q, want the packaging input passed through env", in.Env, setup[in.Env])
				}
			}
			for key, want := range map[string]string{"PAVED_ACTION_REF": "${{ github.action_ref }}", "PAVED_ACTION_REPOSITORY": "${{ github.action_repository }}"} {
				if setup[key] != want {
					t.Errorf("setup step env %s = %q, want %q", key, setup[key], want)
				}
			}
			for _, o := range cmd.Outputs {
				if got, ok := a.Outputs[o.Name]; !ok || got.Description != o.Usage {
					t.Errorf("output %s = %q, want %q", o.Name, got.Description, o.Usage)
				}
			}
		})
	}
}

// TestTemplatesMatchDeclarations does the same for the GitLab components.
func TestTemplatesMatchDeclarations(t *testing.T) {
	for _, cmd := range ciCommands() {
		t.Run(cmd.Name, func(t *testing.T) { checkTemplate(t, cmd) })
	}
}

func checkTemplate(t *testing.T, cmd *command.Command) {
	raw, err := os.ReadFile("templates/" + cmd.Name + ".yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var header struct {
		Spec struct {
			Inputs map[string]struct {
				Description string `yaml:"description"`
				Default     any    `yaml:"default"`
				Regex       string `yaml:"regex"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := dec.Decode(&header); err != nil {
		t.Fatal(err)
	}
	var jobs map[string]struct {
		Stage     string            `yaml:"stage"`
		Needs     string            `yaml:"needs"`
		Image     string            `yaml:"image"`
		Script    []string          `yaml:"script"`
		IDTokens  map[string]any    `yaml:"id_tokens"`
		Variables map[string]string `yaml:"variables"`
	}
	if err := dec.Decode(&jobs); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	job, ok := jobs[glci.JobKey(cmd)]
	if !ok {
		t.Fatalf("no %s job in %v", glci.JobKey(cmd), jobs)
	}
	if len(header.Spec.Inputs) != len(cmd.GitLabInputs())+len(glci.InputsOf(cmd)) {
		t.Errorf("%d inputs, want %d command inputs and %d packaging inputs", len(header.Spec.Inputs), len(cmd.GitLabInputs()), len(glci.InputsOf(cmd)))
	}
	for _, name := range glci.InputsOf(cmd) {
		if _, ok := header.Spec.Inputs[name]; !ok {
			t.Errorf("packaging input %s missing", name)
		}
		for _, in := range cmd.GitLabInputs() {
			if in.Name == name {
				t.Errorf("command input %s collides with the packaging input of the same name", name)
			}
		}
	}
	wantImage, err := glci.ReleaseImage(".")
	if err != nil {
		t.Fatal(err)
	}
	if wantImage == "" {
		wantImage = "$" + glci.ImageVariable
	}
	if img := header.Spec.Inputs["image"]; img.Default != wantImage || img.Regex != glci.ImagePattern {
		t.Errorf("image input default %v regex %q, want %s and %q", img.Default, img.Regex, wantImage, glci.ImagePattern)
	}
	if job.Stage != "$[[ inputs.stage ]]" || job.Needs != "$[[ inputs.needs ]]" || job.Image != "$[[ inputs.image ]]" {
		t.Errorf("job stage %q needs %q image %q, want them from the inputs", job.Stage, job.Needs, job.Image)
	}
	if len(job.Script) != 1 || job.Script[0] != "$[[ inputs.paved ]] "+cmd.Name {
		t.Errorf("job script %q, want \"$[[ inputs.paved ]] %s\" with inputs through variables", job.Script, cmd.Name)
	}
	if _, ok := job.IDTokens["SIGSTORE_ID_TOKEN"]; ok != cmd.CI.Signs {
		t.Errorf("id_tokens SIGSTORE_ID_TOKEN declared %v, want %v (the command signs: %v)", ok, cmd.CI.Signs, cmd.CI.Signs)
	}
	for _, in := range cmd.GitLabInputs() {
		got, ok := header.Spec.Inputs[in.Name]
		if !ok {
			t.Errorf("input %s missing", in.Name)
			continue
		}
		wantDefault := any(in.Default)
		if in.Name == cmd.CI.CacheInput && in.Default == "" {
			wantDefault = glci.DefaultCacheDir
		}
		if d, ok := cmd.CI.GitLabDefaults[in.Name]; ok {
			wantDefault = d
		}
		if in.Bool {
			wantDefault = in.Default == "true"
		}
		if got.Description != in.Usage || got.Default != wantDefault {
			t.Errorf("input %s = %q (default %v), want %q (default %v)", in.Name, got.Description, got.Default, in.Usage, wantDefault)
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

// TestGeneratedPackagingIsFresh fails when action.yml files or templates were
// edited by hand or not regenerated after a declaration changed.
func TestGeneratedPackagingIsFresh(t *testing.T) {
	out, err := exec.Command("go", "run", "./tools/paved-gen", "-check").CombinedOutput()
	if err != nil {
		t.Fatalf("generated packaging is stale (run go generate): %v\n%s", err, out)
	}
}

// TestBranchesPinNoRelease: on a branch, actions/release.sha256 lists no
// binary and gitlab/release.image names no image. Pins belong in release
// commits only (.github/release/pin.sh); a pin here would make every branch
// run a released binary or image instead of its source.
func TestBranchesPinNoRelease(t *testing.T) {
	if image, err := glci.ReleaseImage("."); err != nil || image != "" {
		t.Errorf("%s names %q (%v); only release commits pin an image (leave only comments)", glci.ReleaseImageFile, image, err)
	}
	b, err := os.ReadFile("actions/release.sha256")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("actions/release.sha256:%d pins %q; only release commits pin binaries (remove the line)", i+1, line)
		}
	}
}
