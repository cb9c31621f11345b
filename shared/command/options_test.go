package command

import (
	"reflect"
	"strings"
	"testing"
)

// TestOptionsMatchDeclarations: every typed command's options struct has a
// field for each declared input and no field for an input it does not
// declare, each of the input's type, and binds without panicking.
func TestOptionsMatchDeclarations(t *testing.T) {
	typedCount := 0
	for _, c := range All() {
		if c.options == nil {
			continue
		}
		typedCount++
		t.Run(c.Name, func(t *testing.T) {
			if err := checkOptions(c, c.options); err != nil {
				t.Fatal(err)
			}
			v, err := NewValues(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			bindOptions(v, reflect.New(c.options).Interface())
		})
	}
	if typedCount == 0 {
		t.Fatal("no command has typed options")
	}
}

// TestCheckOptionsRefusesDisagreement: a tag naming an undeclared input, a
// field of the wrong type and an input without a field are each reported.
func TestCheckOptionsRefusesDisagreement(t *testing.T) {
	cmd := &Command{Name: "demo", Inputs: []Input{
		{Name: "path"}, {Name: "tags", List: true}, {Name: "force", Bool: true},
	}}
	type good struct {
		Path    string   `input:"path"`
		PathSet bool     `input:"path,set"`
		Tags    []string `input:"tags"`
		Force   bool     `input:"force"`
	}
	if err := checkOptions(cmd, reflect.TypeFor[good]()); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	type undeclared struct {
		good
		Extra string `input:"extra"`
	}
	type wrongType struct {
		Path  []string `input:"path"`
		Tags  []string `input:"tags"`
		Force bool     `input:"force"`
	}
	type missing struct {
		Path string   `input:"path"`
		Tags []string `input:"tags"`
	}
	for name, tc := range map[string]struct {
		typ  reflect.Type
		want string
	}{
		"undeclared": {reflect.TypeFor[undeclared](), `field for "extra": paved demo declares no such input`},
		"wrong type": {reflect.TypeFor[wrongType](), `field for "path" is []string, want string`},
		"missing":    {reflect.TypeFor[missing](), `input "force" has no field`},
	} {
		t.Run(name, func(t *testing.T) {
			err := checkOptions(cmd, tc.typ)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	v, err := NewValues(cmd, map[string][]string{"path": {"a"}, "tags": {"x", "y"}, "force": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	var o good
	bindOptions(v, &o)
	if o.Path != "a" || !o.PathSet || len(o.Tags) != 2 || !o.Force {
		t.Fatalf("bound %+v", o)
	}
}
