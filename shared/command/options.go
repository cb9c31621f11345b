package command

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// A command's typed options are a struct whose fields are tagged with the
// input they hold: `input:"subject-path"`. A string field holds the input's
// value (or its default), a []string field a list input's values, a bool
// field a switch; a bool field tagged `input:"NAME,set"` says whether any
// source set NAME, and a []string field tagged `input:"NAME,all"` every value
// of a single-valued input that positional arguments add to. Embedded structs contribute their fields, so inputs
// declared once (signingInputs) are held by one struct (signingOptions).
// The declaration stays the one source of flags, action inputs and help:
// the struct only names what the run function reads, and checkOptions
// holds the two to each other.

// typed makes run the command's Run: its options are bound from the
// invocation's values once, at run start.
func typed[T any](c *Command, run func(context.Context, Env, T) (*Result, error)) *Command {
	c.options = reflect.TypeFor[T]()
	c.Run = func(ctx context.Context, env Env, v Values) (*Result, error) {
		var o T
		if err := bindOptions(v, &o); err != nil {
			return nil, err
		}
		return run(ctx, env, o)
	}
	return c
}

// doorInputs are the inputs every command takes that Main reads itself (how
// to print the result), not the command: its options need no field for them.
var doorInputs = []Input{outputInput}

// doorValue is the value of one of the doorInputs.
func doorValue(v Values, in Input) string {
	if _, ok := v.cmd.Input(in.Name); !ok {
		return in.Default
	}
	val, err := v.stringValue(in.Name)
	if err != nil {
		return in.Default
	}
	return val
}

// optionField is one tagged field of an options struct.
type optionField struct {
	index []int
	input string
	// set fields hold whether the input was set, not the input; all fields
	// every value of a single-valued input, which may also have a field of
	// its own for the last one.
	set, all bool
	typ      reflect.Type
}

// optionFields lists the tagged fields of the options struct t, embedded
// structs' included.
func optionFields(t reflect.Type) []optionField {
	var out []optionField
	for _, f := range reflect.VisibleFields(t) {
		tag, ok := f.Tag.Lookup("input")
		if !ok {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		out = append(out, optionField{index: f.Index, input: name, set: opt == "set", all: opt == "all", typ: f.Type})
	}
	return out
}

// checkOptions reports how the options struct t disagrees with cmd's
// declaration: a tag that names no declared input, a field whose type does
// not fit its input, or a declared input no field holds.
func checkOptions(cmd *Command, t reflect.Type) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("paved %s: options %s is not a struct", cmd.Name, t)
	}
	held := map[string]bool{}
	var problems []string
	for _, f := range optionFields(t) {
		in, ok := cmd.Input(f.input)
		if !ok {
			problems = append(problems, fmt.Sprintf("field for %q: paved %s declares no such input", f.input, cmd.Name))
			continue
		}
		var want reflect.Type
		switch {
		case f.set, in.Bool:
			want = reflect.TypeFor[bool]()
		case in.List, f.all:
			want = reflect.TypeFor[[]string]()
		default:
			want = reflect.TypeFor[string]()
		}
		if f.typ != want {
			problems = append(problems, fmt.Sprintf("field for %q is %s, want %s", f.input, f.typ, want))
		}
		if !f.set && !f.all {
			if held[f.input] {
				problems = append(problems, fmt.Sprintf("input %q is held by two fields", f.input))
			}
		}
		held[f.input] = held[f.input] || !f.set
	}
	for _, in := range cmd.Inputs {
		if !held[in.Name] && !slices.ContainsFunc(doorInputs, func(d Input) bool { return d.Name == in.Name }) {
			problems = append(problems, fmt.Sprintf("input %q has no field", in.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("paved %s: options %s: %s", cmd.Name, t, strings.Join(problems, "; "))
	}
	return nil
}

// bindOptions fills the options struct opts points to from v. A struct that
// disagrees with the command's declaration is a programming error, which
// TestOptionsMatchDeclarations catches: the error names both.
func bindOptions(v Values, opts any) error {
	rv := reflect.ValueOf(opts).Elem()
	if err := checkOptions(v.cmd, rv.Type()); err != nil {
		return err
	}
	for _, f := range optionFields(rv.Type()) {
		field := rv.FieldByIndex(f.index)
		var err error
		switch {
		case f.set:
			var set bool
			set, err = v.isSet(f.input)
			field.SetBool(set)
		case f.typ.Kind() == reflect.Bool:
			var b bool
			b, err = v.boolValue(f.input)
			field.SetBool(b)
		case f.typ.Kind() == reflect.Slice:
			var list []string
			list, err = v.listValue(f.input)
			field.Set(reflect.ValueOf(append([]string(nil), list...)))
		default:
			var str string
			str, err = v.stringValue(f.input)
			field.SetString(str)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
