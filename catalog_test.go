package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// selfInclude is how the component project's own pipeline includes one of its
// components: from this project at the commit being tested.
var selfInclude = regexp.MustCompile(`^\$CI_SERVER_FQDN/\$CI_PROJECT_PATH/([a-z0-9-]+)@\$CI_COMMIT_SHA$`)

// untestedComponents returns the components (templates/NAME.yml) that the
// root pipeline does not include at $CI_COMMIT_SHA, and the include entries
// that are anything else (another project or ref, a component that does not
// exist), so that neither a new component nor a stale include goes unnoticed.
func untestedComponents(pipeline []byte, components []string) (missing, stray []string, err error) {
	var doc struct {
		Include []map[string]any `yaml:"include"`
	}
	if err := yaml.Unmarshal(pipeline, &doc); err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, inc := range doc.Include {
		ref, _ := inc["component"].(string)
		m := selfInclude.FindStringSubmatch(ref)
		if m == nil || !slices.Contains(components, m[1]) {
			stray = append(stray, ref)
			continue
		}
		seen[m[1]] = true
	}
	for _, c := range components {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	return missing, stray, nil
}

// TestRootPipelineTestsEveryComponent fails when a component is added under
// templates/ without a test job in the component project's .gitlab-ci.yml,
// and when that file includes anything but this project's components at
// $CI_COMMIT_SHA.
func TestRootPipelineTestsEveryComponent(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("templates", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no components under templates/ (%v)", err)
	}
	var components []string
	for _, f := range files {
		components = append(components, strings.TrimSuffix(filepath.Base(f), ".yml"))
	}
	pipeline, err := os.ReadFile(".gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	missing, stray, err := untestedComponents(pipeline, components)
	if err != nil {
		t.Fatalf(".gitlab-ci.yml: %v", err)
	}
	if len(missing) > 0 {
		t.Errorf(".gitlab-ci.yml tests no job of the components %q: add `- component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/NAME@$CI_COMMIT_SHA` with inputs that run it", missing)
	}
	if len(stray) > 0 {
		t.Errorf(".gitlab-ci.yml includes %q; the component project's pipeline must include only its own components at $CI_COMMIT_SHA", stray)
	}

	// The check itself: a component added without a job, an include at a
	// tag instead of the commit and one of another project are reported.
	missing, _, err = untestedComponents(pipeline, append(slices.Clone(components), "new-component"))
	if err != nil || !slices.Equal(missing, []string{"new-component"}) {
		t.Errorf("a component without a test job is not reported: missing %q (%v)", missing, err)
	}
	extra := string(pipeline) + "\n" // the include list is one YAML key; append to it
	for _, c := range []string{"$CI_SERVER_FQDN/$CI_PROJECT_PATH/attest@1.2.3", "$CI_SERVER_FQDN/other/project/attest@$CI_COMMIT_SHA"} {
		edited := strings.Replace(extra, "include:\n", "include:\n  - component: "+c+"\n", 1)
		if _, stray, err := untestedComponents([]byte(edited), components); err != nil || !slices.Contains(stray, c) {
			t.Errorf("the include %s is not reported: stray %q (%v)", c, stray, err)
		}
	}
}
