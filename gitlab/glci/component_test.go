package glci_test

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
)

type specInput struct {
	Type    string `yaml:"type"`
	Default any    `yaml:"default"`
	Regex   string `yaml:"regex"`
}

type componentJob struct {
	Tags         string            `yaml:"tags"`
	AllowFailure string            `yaml:"allow_failure"`
	Rules        []any             `yaml:"rules"`
	Cache        map[string]any    `yaml:"cache"`
	Variables    map[string]string `yaml:"variables"`
}

func parseComponent(t *testing.T, cmd *command.Command) (map[string]specInput, map[string]componentJob) {
	t.Helper()
	header, body, ok := strings.Cut(glci.ComponentYAML(cmd, ""), "\n---\n")
	if !ok {
		t.Fatal("no --- between spec and jobs")
	}
	var spec struct {
		Spec struct {
			Inputs map[string]specInput `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(header), &spec); err != nil {
		t.Fatal(err)
	}
	var jobs map[string]componentJob
	if err := yaml.Unmarshal([]byte(body), &jobs); err != nil {
		t.Fatal(err)
	}
	return spec.Spec.Inputs, jobs
}

// TestComponentJobInputs: every component offers job-prefix, rules,
// allow-failure and tags with the types GitLab checks, and its job uses them;
// the disabled switch is the first rule whatever the rules input holds; the
// commands with a data directory cache it under cache-key, and only those.
func TestComponentJobInputs(t *testing.T) {
	for _, cmd := range command.All() {
		if len(cmd.CIInputs()) == 0 {
			continue
		}
		t.Run(cmd.Name, func(t *testing.T) {
			inputs, jobs := parseComponent(t, cmd)
			for name, typ := range map[string]string{"rules": "array", "tags": "array", "needs": "array", "allow-failure": "boolean", "job-prefix": ""} {
				in, ok := inputs[name]
				if !ok || in.Type != typ {
					t.Errorf("input %s: %+v, want type %q", name, in, typ)
				}
			}
			if inputs["job-prefix"].Default != "paved" || inputs["allow-failure"].Default != false {
				t.Errorf("job-prefix default %v, allow-failure default %v; want paved and false", inputs["job-prefix"].Default, inputs["allow-failure"].Default)
			}
			if rules, _ := inputs["rules"].Default.([]any); len(rules) != 1 {
				t.Errorf("rules default %v, want one rule that runs the job", inputs["rules"].Default)
			}
			if got := glci.JobName(cmd, "paved", ""); got != "paved-"+cmd.Name {
				t.Errorf("default job name %s", got)
			}
			job, ok := jobs[glci.JobKey(cmd)]
			if !ok {
				t.Fatalf("no job %s in %v", glci.JobKey(cmd), jobs)
			}
			if job.Tags != "$[[ inputs.tags ]]" || job.AllowFailure != "$[[ inputs.allow-failure ]]" {
				t.Errorf("job tags %q allow_failure %q, want the inputs", job.Tags, job.AllowFailure)
			}
			if len(job.Rules) != 2 || job.Rules[1] != "$[[ inputs.rules ]]" {
				t.Fatalf("job rules %v, want the switch, then the rules input", job.Rules)
			}
			first, _ := job.Rules[0].(map[string]any)
			v := glci.DisabledVariable(cmd)
			if first["when"] != "never" || first["if"] != "$"+v+` == "true" || $`+v+` == "1"` {
				t.Errorf("first rule %v, want %s true or 1: never", first, v)
			}
			if _, ok := job.Variables[v]; ok {
				t.Errorf("the job sets its own switch %s", v)
			}
			if cmd.CI.CacheInput == "" {
				if job.Cache != nil || inputs[glci.CacheKeyInput] != (specInput{}) {
					t.Errorf("%s keeps no data but has cache %v", cmd.Name, job.Cache)
				}
				return
			}
			dir := inputs[cmd.CI.CacheInput]
			if dir.Default != glci.DefaultCacheDir || dir.Regex != glci.CacheDirPattern {
				t.Errorf("%s input: %+v, want default %s", cmd.CI.CacheInput, dir, glci.DefaultCacheDir)
			}
			if job.Cache["key"] != "$[[ inputs.cache-key ]]" || job.Cache["when"] != "always" {
				t.Errorf("cache %v", job.Cache)
			}
			if paths, _ := job.Cache["paths"].([]any); len(paths) != 1 || paths[0] != "$[[ inputs."+cmd.CI.CacheInput+" ]]" {
				t.Errorf("cache paths %v, want the %s input", job.Cache["paths"], cmd.CI.CacheInput)
			}
			if inputs[glci.CacheKeyInput].Default != "paved-"+cmd.Name+"-data" {
				t.Errorf("cache-key default %v", inputs[glci.CacheKeyInput].Default)
			}
		})
	}
}
