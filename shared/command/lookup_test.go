package command_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/command"
)

// lookupDirs are the packages whose functions take command.Values: this one
// and the front doors that read inputs for the core.
var lookupDirs = []string{".", "../../gitlab/glci"}

// dynamicLookups are the functions allowed to read an input whose name is
// not a literal; each checks that the command declares the name first.
var dynamicLookups = []string{"subValuesWith", "bindFields"}

// valuesFunc is a function declaration with command.Values parameters.
type valuesFunc struct {
	name   string
	decl   *ast.FuncDecl
	params map[int]string // argument index → parameter name
}

// TestEveryLookupIsDeclared parses the command package and the doors, follows
// every command's bound values from its Run function through every call that
// passes them on, and checks that each v.String/List/Bool/Set("name") is an
// input every command reaching it declares. It fails when a look-up of an
// undeclared name is added anywhere a command can reach, which at run time
// would panic.
func TestEveryLookupIsDeclared(t *testing.T) {
	fset := token.NewFileSet()
	funcs := map[string][]*valuesFunc{}
	ctors := map[string]string{} // constructor → command name
	runs := map[string]string{}  // command name → Run function
	for _, dir := range lookupDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				if name, run, ok := commandDecl(fd); ok {
					ctors[fd.Name.Name] = name
					runs[name] = run
				}
				vf := &valuesFunc{name: fd.Name.Name, decl: fd, params: map[int]string{}}
				i := 0
				for _, field := range fd.Type.Params.List {
					n := max(len(field.Names), 1)
					if isValuesType(field.Type) {
						for j, id := range field.Names {
							vf.params[i+j] = id.Name
						}
					}
					i += n
				}
				if len(vf.params) > 0 {
					funcs[vf.name] = append(funcs[vf.name], vf)
				}
			}
		}
	}
	declared := map[string]map[string]bool{}
	for _, c := range command.All() {
		declared[c.Name] = map[string]bool{}
		for _, in := range c.Inputs {
			declared[c.Name][in.Name] = true
		}
		run, ok := runs[c.Name]
		if !ok {
			t.Fatalf("command %s: the parser found no declaration", c.Name)
		}
		full := runtime.FuncForPC(reflect.ValueOf(c.Run).Pointer()).Name()
		if run == "" {
			// Typed options (typed(cmd, runX)): the run reads no Values.
			if !strings.Contains(full, ".typed[") {
				t.Fatalf("command %s: Run %s is neither declared by name nor typed", c.Name, full)
			}
			delete(runs, c.Name)
			continue
		}
		if full[strings.LastIndex(full, ".")+1:] != run {
			t.Fatalf("command %s: its declaration (Run: %s) was not found by the parser (found %q)", c.Name, full, run)
		}
	}

	type visit struct {
		f   *valuesFunc
		arg int
		cmd string
	}
	seen := map[visit]bool{}
	var queue []visit
	push := func(v visit) {
		if !seen[v] {
			seen[v] = true
			queue = append(queue, v)
		}
	}
	for name, run := range runs {
		fs := funcs[run]
		if len(fs) != 1 || fs[0].params[2] == "" {
			t.Fatalf("command %s: Run function %s does not take Values as its third parameter", name, run)
		}
		push(visit{fs[0], 2, name})
	}
	var problems []string
	checked := 0
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		// vars are the Values variables of this function with the command
		// each holds: the parameter reached, and locals bound from a
		// constructor (subValuesWith(Sbom(), …)).
		vars := map[string]string{cur.f.params[cur.arg]: cur.cmd}
		ast.Inspect(cur.f.decl.Body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Rhs) != 1 {
				return true
			}
			call, ok := as.Rhs[0].(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); ok && (fn.Name == "subValuesWith" || fn.Name == "NewValues") {
				if c, ok := call.Args[0].(*ast.CallExpr); ok {
					if id, ok := c.Fun.(*ast.Ident); ok && ctors[id.Name] != "" {
						if lhs, ok := as.Lhs[0].(*ast.Ident); ok {
							vars[lhs.Name] = ctors[id.Name]
						}
					}
				}
			}
			return true
		})
		where := func(n ast.Node) string {
			return fmt.Sprintf("%s (%s, as %s)", fset.Position(n.Pos()), cur.f.name, cur.cmd)
		}
		// Every use of a Values variable is a look-up or an argument.
		uses := map[*ast.Ident]bool{}
		ast.Inspect(cur.f.decl.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						uses[id] = true
					}
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					uses[id] = true
				}
			case *ast.SelectorExpr:
				id, ok := n.X.(*ast.Ident)
				if !ok || vars[id.Name] == "" {
					return true
				}
				uses[id] = true
				if n.Sel.Name == "cmd" && slices.Contains(dynamicLookups, cur.f.name) {
					return true
				}
				if !slices.Contains([]string{"String", "List", "Bool", "Set"}, n.Sel.Name) {
					problems = append(problems, where(n)+": "+id.Name+"."+n.Sel.Name+" is not a look-up")
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && vars[id.Name] != "" && len(n.Args) == 1 {
						cmd := vars[id.Name]
						lit, ok := n.Args[0].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							if !slices.Contains(dynamicLookups, cur.f.name) {
								problems = append(problems, where(n)+": the input name is not a literal")
							}
							return true
						}
						name, _ := strconv.Unquote(lit.Value)
						checked++
						if !declared[cmd][name] {
							problems = append(problems, fmt.Sprintf("%s: paved %s reads input %q, which it does not declare", where(n), cmd, name))
						}
						return true
					}
				}
				for i, a := range n.Args {
					id, ok := a.(*ast.Ident)
					if !ok || vars[id.Name] == "" {
						continue
					}
					uses[id] = true
					callee := ""
					switch fn := n.Fun.(type) {
					case *ast.Ident:
						callee = fn.Name
					case *ast.SelectorExpr:
						callee = fn.Sel.Name
					}
					found := false
					for _, f := range funcs[callee] {
						if f.params[i] != "" {
							found = true
							push(visit{f, i, vars[id.Name]})
						}
					}
					if !found {
						problems = append(problems, where(n)+": "+id.Name+" is passed to "+callee+", which this check cannot follow")
					}
				}
			}
			return true
		})
		ast.Inspect(cur.f.decl.Body, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && vars[id.Name] != "" && !uses[id] {
				problems = append(problems, where(id)+": "+id.Name+" is used in a way this check cannot follow")
			}
			return true
		})
	}
	sort.Strings(problems)
	for _, p := range slices.Compact(problems) {
		t.Error(p)
	}
	if checked < 50 {
		t.Fatalf("only %d look-ups checked: the parser no longer finds them", checked)
	}
}

// commandDecl returns the name and Run function of the Command literal a
// constructor returns, if fd is one; run is "" for a command with typed
// options, whose Run typed sets.
func commandDecl(fd *ast.FuncDecl) (name, run string, ok bool) {
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "Command" {
			return true
		}
		for _, e := range cl.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch k := kv.Key.(*ast.Ident); k.Name {
			case "Name":
				if lit, ok := kv.Value.(*ast.BasicLit); ok {
					name, _ = strconv.Unquote(lit.Value)
				}
			case "Run":
				if id, ok := kv.Value.(*ast.Ident); ok {
					run = id.Name
				}
			}
		}
		return false
	})
	return name, run, name != ""
}

func isValuesType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Values"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Values"
	}
	return false
}

// TestUndeclaredLookupPanics: reading an input the command does not declare
// panics with a message naming the command and the input.
func TestUndeclaredLookupPanics(t *testing.T) {
	v, err := command.NewValues(command.Verify(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func(){
		"String": func() { v.String("no-such-input") },
		"List":   func() { v.List("no-such-input") },
		"Bool":   func() { v.Bool("no-such-input") },
		"Set":    func() { v.Set("no-such-input") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, "paved verify") || !strings.Contains(msg, `"no-such-input"`) {
					t.Fatalf("panic %q, want one naming paved verify and the input", msg)
				}
			}()
			read()
		})
	}
	if got := v.String("cert-identity"); got != "" {
		t.Fatalf("declared input read %q, want empty", got)
	}
}
