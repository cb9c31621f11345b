// Package command declares Paved's commands — their inputs, outputs and what they
// run — once. The CLI flags, the GitHub action inputs and the GitLab component
// variables are all bound from these declarations, so they cannot drift apart.
package command

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/paved-dev/paved/shared/logtext"
)

// Input is one declared input of a command.
type Input struct {
	// Name is kebab-case: the CLI flag --NAME, the GitHub action input NAME, the
	// GitLab variable PAVED_NAME (upper snake case).
	Name string
	// Usage is the one-line help text; it is also the action input description.
	Usage string
	// Default applies when no source sets the input.
	Default string
	// List inputs take several values: a repeated flag, or one value per line
	// (or comma separated) in CI inputs.
	List bool
	// Bool inputs are switches: "true" or "false".
	Bool bool
	// Secret inputs are masked as soon as they are read and never printed.
	Secret bool
	// CLIOnly inputs are not offered to the CI front doors.
	CLIOnly bool
	// GitHubOnly inputs are offered by the CLI and the GitHub action, not by
	// the GitLab components: they drive GitHub's own APIs (release assets,
	// the dependency graph).
	GitHubOnly bool
	// Options, when set, are the only values the input takes.
	Options []string
	// Pattern, when set, is a regular expression every value must match
	// (RE2 syntax, anchored by the author).
	Pattern string
	// Short is a one-letter CLI shorthand (-R for --repo), "" for none.
	Short string
	// Aliases are other CLI spellings of the flag, such as the one gh
	// attestation verify uses for the same thing (--custom-trusted-root for
	// --trusted-root). They bind to this input and are listed in its help.
	Aliases []string
}

// Check validates one value of the input against its options and pattern.
func (in Input) Check(value string) error {
	if len(in.Options) > 0 && !slices.Contains(in.Options, value) {
		return fmt.Errorf("--%s %q: want one of %s", in.Name, value, strings.Join(in.Options, ", "))
	}
	if in.Pattern != "" {
		if ok, err := regexp.MatchString(in.Pattern, value); err != nil || !ok {
			return fmt.Errorf("--%s %q does not have the expected form (%s)", in.Name, value, in.Pattern)
		}
	}
	return nil
}

// EnvName is the environment variable that sets the input anywhere: PAVED_NAME.
func (in Input) EnvName() string {
	return "PAVED_" + upperSnake(in.Name)
}

// Output is one declared output of a command.
type Output struct {
	Name  string
	Usage string
}

// OutputEnv is the dotenv key of the output called name for GitLab:
// PAVED_<COMMAND>_<NAME>, e.g. PAVED_POLICY_VERDICT. The command's name keeps
// it apart from the PAVED_<INPUT> variables that set inputs: a job that needs
// an earlier Paved job gets that job's dotenv variables with precedence over
// its own, so an output named like an input would silently set it
// (TestOutputsNeverSetInputs holds every declared pair apart).
func (c *Command) OutputEnv(name string) string {
	return "PAVED_" + upperSnake(c.Name) + "_" + upperSnake(name)
}

func upperSnake(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

// Command is a declared command and the function that runs it.
type Command struct {
	Name    string
	Summary string
	// Args describes positional arguments in help text ("" when none are taken).
	Args string
	// ArgsInput is the input that positional arguments add to ("" when none).
	ArgsInput string
	Inputs    []Input
	Outputs   []Output
	// Exclusive are groups of inputs of which one invocation may set at most
	// one: setting two is a usage error that names both.
	Exclusive [][]string
	// CI describes how the command is packaged for CI users.
	CI CI
	// Run executes the command.
	Run func(ctx context.Context, env Env, v Values) (*Result, error)

	// options is the type of the typed options Run binds its inputs to
	// (typed sets it; every command has one).
	options reflect.Type
}

// Input returns the declared input called name.
func (c *Command) Input(name string) (Input, bool) {
	for _, in := range c.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// CIInputs are the inputs offered to the CI front doors (all but CLIOnly).
func (c *Command) CIInputs() []Input {
	var out []Input
	for _, in := range c.Inputs {
		if !in.CLIOnly {
			out = append(out, in)
		}
	}
	return out
}

// GitLabInputs are the CI inputs a GitLab component offers: the CI inputs
// without the GitHub-only ones.
func (c *Command) GitLabInputs() []Input {
	var out []Input
	for _, in := range c.CIInputs() {
		if !in.GitHubOnly {
			out = append(out, in)
		}
	}
	return out
}

// CI is what the packaging of a command for GitHub Actions and GitLab CI/CD
// needs besides its inputs and outputs.
type CI struct {
	// Title names the action and component, e.g. "Paved attest".
	Title string
	// Description is one or two sentences for the action's and component's readers.
	Description string
	// Signs marks commands that need the job's OIDC identity token.
	Signs bool
	// ArtifactPaths are files a GitLab job keeps as artifacts (globs).
	ArtifactPaths []string
	// Reports are GitLab artifacts:reports entries, e.g. "cyclonedx": "*.cdx.json".
	Reports map[string]string
	// Stage is the default GitLab stage of the job.
	Stage string
	// WorkflowArtifact, when set, makes the GitHub action upload the files
	// the command wrote as a workflow artifact, as anchore/sbom-action does.
	WorkflowArtifact *WorkflowArtifact
	// CacheInput names the input holding the directory the command keeps
	// data in between runs (OSV indexes, online answers): a GitLab component
	// defaults it to a directory in the project and caches it ("" = none).
	CacheInput string
	// GitLabDefaults are input defaults of the GitLab component that differ
	// from the CLI's and the action's, by input name: files only GitLab reads
	// are written by default there and nowhere else.
	GitLabDefaults map[string]string
}

// WorkflowArtifact describes the workflow artifact a GitHub action uploads
// after its command ran (actions/upload-artifact). Its inputs
// (upload-artifact, upload-artifact-retention, artifact-name) exist only in
// the action: uploading is the runner's job, not paved's.
type WorkflowArtifact struct {
	// Outputs name the outputs holding the paths to upload, one per line.
	Outputs []string
	// Prefix starts the default artifact name, PREFIX-JOB-INDEX.
	Prefix string
	// Default is whether uploading is on unless the workflow says otherwise.
	Default bool
}

// Result is what a command produced, for the front door to render.
type Result struct {
	// Outputs by declared output name.
	Outputs map[string]string
	// Summary is Markdown for a step summary or job log.
	Summary string
	// Reports are the plain-text counterpart of Summary for a person at a
	// terminal: a plain shell (or --output text) prints them instead of the
	// Markdown, which only goes to CI summaries. They never repeat what
	// Annotations already print.
	Reports []Report
	// Notices are one-line messages worth showing in any log.
	Notices []string
	// Annotations are findings worth pointing at one by one: GitHub shows them
	// on the run, other platforms print them as log lines.
	Annotations []Annotation
	// Document, when set, is printed on standard output for scripts (e.g.
	// --format json) instead of the outputs in a plain shell.
	Document []byte
	// DocumentOnly keeps a plain shell's standard output for Document even
	// when it is empty, as gh prints no JSON when verification fails.
	DocumentOnly bool
}

// Report is one short human result: a headline, a ✓/✗ row per artifact (or
// file, or step), aligned as a compact table, and a few lines after them.
// Names are made one line when printed (logtext.Table); Lines must already be.
type Report struct {
	Title string
	Rows  []logtext.Row
	Lines []string
}

// Level ranks an annotation.
type Level string

// Annotation levels.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

// Annotation is one finding for the platform to show.
type Annotation struct {
	Level Level
	// Title heads the annotation where the platform shows annotations natively.
	Title string
	// Message stands alone: where annotations are log lines, it is the line.
	Message string
}

// Values are the bound inputs of one invocation.
type Values struct {
	cmd *Command
	m   map[string][]string
}

// NewValues binds values to cmd's inputs; unknown names and values outside an
// input's options or pattern are an error.
func NewValues(cmd *Command, m map[string][]string) (Values, error) {
	v := Values{cmd: cmd, m: map[string][]string{}}
	for k, vals := range m {
		in, ok := cmd.Input(k)
		if !ok {
			return Values{}, fmt.Errorf("paved %s has no input %q", cmd.Name, k)
		}
		for _, val := range vals {
			if err := in.Check(val); err != nil {
				return Values{}, err
			}
		}
		v.m[k] = vals
	}
	return v, nil
}

// input is the declared input called name. Reading an input the command does
// not declare is a programming error, not a user's: the error names the
// command and the input. Only bindOptions reads Values, after checking the
// options struct against the declaration (TestOnlyBindOptionsReadsValues).
func (v Values) input(name string) (Input, error) {
	if v.cmd == nil {
		return Input{}, fmt.Errorf("paved: input %q read from unbound values", name)
	}
	in, ok := v.cmd.Input(name)
	if !ok {
		return Input{}, fmt.Errorf("paved %s: input %q is read but not declared; declare it in the command's Inputs", v.cmd.Name, name)
	}
	return in, nil
}

// stringValue returns the single value of an input, or its default.
func (v Values) stringValue(name string) (string, error) {
	in, err := v.input(name)
	if err != nil {
		return "", err
	}
	if vals := v.m[name]; len(vals) > 0 {
		return vals[len(vals)-1], nil
	}
	return in.Default, nil
}

// listValue returns every value of an input, or its default's values.
func (v Values) listValue(name string) ([]string, error) {
	in, err := v.input(name)
	if err != nil {
		return nil, err
	}
	if vals := v.m[name]; len(vals) > 0 {
		return vals, nil
	}
	if in.Default != "" {
		return SplitList(in.Default), nil
	}
	return nil, nil
}

// boolValue returns a switch input.
func (v Values) boolValue(name string) (bool, error) {
	s, err := v.stringValue(name)
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "true" || s == "1" || s == "yes", err
}

// isSet reports whether any source set the input.
func (v Values) isSet(name string) (bool, error) {
	_, err := v.input(name)
	return len(v.m[name]) > 0, err
}

// Given returns a copy of the values the sources set, by input name, for a
// front door's tests to compare bindings; commands read their typed options.
func (v Values) Given() map[string][]string {
	out := make(map[string][]string, len(v.m))
	for k, vals := range v.m {
		out[k] = slices.Clone(vals)
	}
	return out
}

// SplitList splits a CI input holding several values: one per line, or comma
// separated, blank entries dropped.
func SplitList(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// All is every command Paved has, by name.
func All() []*Command {
	cmds := []*Command{Attest(), SignBundle(), VerifyBundle(), Verify(), Policy(), Sbom(), Promote(), SupplyChain()}
	for _, c := range cmds {
		c.Inputs = append(c.Inputs, outputInput)
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

// Output modes: what a command prints for a person (--output).
const (
	outputAuto     = "auto"
	outputText     = "text"
	outputMarkdown = "markdown"
)

// outputInput is the --output every command takes.
var outputInput = Input{
	Name: "output", CLIOnly: true, Default: outputAuto, Options: []string{outputAuto, outputText, outputMarkdown},
	Usage: "what is printed for a person: text (a ✓/✗ line per artifact, coloured on a terminal unless NO_COLOR is set or TERM=dumb), markdown (the step summary), or auto: text in a plain shell, markdown only to the CI summary in CI",
}

// Find returns the command called name.
func Find(name string) (*Command, bool) {
	for _, c := range All() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}
