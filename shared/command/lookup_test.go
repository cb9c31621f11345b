package command

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// valuesReads are the methods of Values that read an input by name.
var valuesReads = []string{"stringValue", "listValue", "boolValue", "isSet"}

// TestOnlyBindOptionsReadsValues parses the package and fails when any
// function but bindOptions (which checks the options struct against the
// declaration first), doorValue (Main's --output) or the readers themselves
// reads an input by name: a
// command reads its typed options, so an undeclared name cannot be read.
func TestOnlyBindOptionsReadsValues(t *testing.T) {
	fset := token.NewFileSet()
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(".", e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			allowed := fd.Name.Name == "bindOptions" || fd.Name.Name == "doorValue" || slices.Contains(valuesReads, fd.Name.Name)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !slices.Contains(valuesReads, sel.Sel.Name) {
					return true
				}
				reads++
				if !allowed {
					t.Errorf("%s: %s reads an input by name (%s): read the command's typed options instead", fset.Position(call.Pos()), fd.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if reads < len(valuesReads) {
		t.Fatalf("found %d reads: the parser no longer finds bindOptions' reads", reads)
	}
}

// TestUndeclaredLookupFails: reading an input the command does not declare
// is an error naming the command and the input, never a silent "".
func TestUndeclaredLookupFails(t *testing.T) {
	v, err := NewValues(Verify(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() error{
		"string": func() error { _, err := v.stringValue("no-such-input"); return err },
		"list":   func() error { _, err := v.listValue("no-such-input"); return err },
		"bool":   func() error { _, err := v.boolValue("no-such-input"); return err },
		"set":    func() error { _, err := v.isSet("no-such-input"); return err },
		"options": func() error {
			var o struct {
				verifyOptions
				Extra string `input:"no-such-input"`
			}
			return bindOptions(v, &o)
		},
	} {
		t.Run(name, func(t *testing.T) {
			msg := fmt.Sprint(read())
			if !strings.Contains(msg, "paved verify") || !strings.Contains(msg, `"no-such-input"`) {
				t.Fatalf("error %q, want one naming paved verify and the input", msg)
			}
		})
	}
	if got, err := v.stringValue("cert-identity"); got != "" || err != nil {
		t.Fatalf("declared input read %q (%v), want empty", got, err)
	}
}
