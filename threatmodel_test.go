package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The threat model promises what attackers cannot achieve and names the tests
// that hold each promise. A promise whose test was renamed or deleted would be a
// claim nobody checks, so every cited test must exist, and every promise must
// cite at least one test.
func TestThreatModelCitesExistingTests(t *testing.T) {
	doc, err := os.ReadFile("docs/threat-model.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := testFunctions(t)
	cited := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)`")

	promises := 0
	for _, block := range strings.Split(string(doc), "\n- **")[1:] {
		promises++
		names := cited.FindAllStringSubmatch(block, -1)
		if len(names) == 0 {
			t.Errorf("promise %q cites no test", firstLine(block))
		}
		for _, m := range names {
			if !defined[m[1]] {
				t.Errorf("promise %q cites %s, which no _test.go file defines", firstLine(block), m[1])
			}
		}
	}
	if promises < 10 {
		t.Errorf("docs/threat-model.md has %d promises (lines starting with \"- **\"); the format changed?", promises)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "**")
	return line
}

// testFunctions lists the test, fuzz and benchmark functions of the module.
func testFunctions(t *testing.T) map[string]bool {
	t.Helper()
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)\(`)
	names := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			names[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
