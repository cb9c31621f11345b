package sbom_test

import (
	"context"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/sbom"
)

func TestParseConfig(t *testing.T) {
	c, err := sbom.ParseConfig([]byte("exclude:\n  - ./vendor/**\n  - '**/requirements.txt'\ndefault-catalogers: [directory]\nselect-catalogers: [+javascript-package-cataloger, -python]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Exclude, " ") != "./vendor/** **/requirements.txt" || strings.Join(c.DefaultCatalogers, " ") != "directory" || strings.Join(c.SelectCatalogers, " ") != "+javascript-package-cataloger -python" {
		t.Errorf("config = %+v", c)
	}
	if c, err := sbom.ParseConfig(nil); err != nil || len(c.Exclude) != 0 {
		t.Errorf("an empty config: %+v, %v", c, err)
	}
	for doc, msg := range map[string]string{
		"output: spdx-json\nexclude: [./x]\n": `key "output" is not supported`,
		"scope: all-layers\nfile: {}\n":       `keys "file", "scope" are not supported`,
		"exclude: vendor/\n":                  "list of strings",
		"exclude: [vendor/**]\n":              "must start with ./, */ or **/",
		"default-catalogers: [+go]\n":         "belong in select-catalogers",
		"exclude: [\n":                        "syft config",
	} {
		_, err := sbom.ParseConfig([]byte(doc))
		if fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseConfig(%q) = %v, want a configuration error with %q", doc, err, msg)
		}
	}
}

// TestGenerateExclude: excluded paths and selected catalogers change what the
// scan finds, as in syft.
func TestGenerateExclude(t *testing.T) {
	f := setup(t)
	count := func(opts sbom.Options) map[string]int {
		t.Helper()
		s, err := sbom.Generate(context.Background(), f.tree, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s.Ecosystems()
	}
	all := count(sbom.Options{})
	if all["pypi"] == 0 || all["golang"] == 0 {
		t.Fatalf("the fixture lacks pypi or golang packages: %v", all)
	}
	if got := count(sbom.Options{Exclude: []string{"**/requirements.txt"}}); got["pypi"] != 0 || got["golang"] != all["golang"] {
		t.Errorf("excluding requirements.txt: %v (all: %v)", got, all)
	}
	if got := count(sbom.Options{SelectCatalogers: []string{"-python"}}); got["pypi"] != 0 || got["golang"] != all["golang"] {
		t.Errorf("select -python: %v (all: %v)", got, all)
	}
}
