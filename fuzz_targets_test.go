package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestEveryFuzzTargetRunsInMakeFuzz keeps the Makefile's FUZZ_TARGETS list and
// the Fuzz functions of the module in step: a fuzz target that make fuzz does
// not run protects nothing, and a listed one that no longer exists makes
// go test -fuzz pass while fuzzing nothing.
func TestEveryFuzzTargetRunsInMakeFuzz(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	block := regexp.MustCompile(`(?m)^FUZZ_TARGETS :=((?:.*\\\n)*.*)$`).FindSubmatch(mk)
	if block == nil {
		t.Fatal("Makefile has no FUZZ_TARGETS := list")
	}
	for _, f := range strings.Fields(strings.ReplaceAll(string(block[1]), "\\", " ")) {
		pkg, target, _ := strings.Cut(f, ":")
		target, _, _ = strings.Cut(target, ":") // an optional execution count
		listed[pkg+":"+target] = true
	}
	found := map[string]bool{}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != "." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Fuzz") || len(fn.Type.Params.List) != 1 {
				continue
			}
			if star, ok := fn.Type.Params.List[0].Type.(*ast.StarExpr); ok {
				if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "F" {
					found["./"+filepath.ToSlash(filepath.Dir(path))+":"+fn.Name.Name] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatal("found no Fuzz function: the scan is broken")
	}
	var missing, stale []string
	for f := range found {
		if !listed[f] {
			missing = append(missing, f)
		}
	}
	for f := range listed {
		if !found[f] {
			stale = append(stale, f)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("fuzz targets that make fuzz does not run: add them to FUZZ_TARGETS in the Makefile:\n\t%s", strings.Join(missing, "\n\t"))
	}
	if len(stale) > 0 {
		t.Errorf("FUZZ_TARGETS lists targets that do not exist: remove or rename them:\n\t%s", strings.Join(stale, "\n\t"))
	}
}
