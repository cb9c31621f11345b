package command

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/pflag"

	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/workspace"
)

// Env is what a command may touch besides its inputs. Every I/O edge is here.
type Env struct {
	// Platform is the CI front door: run metadata, identity token, masking, log.
	Platform ci.Platform
	// Transport sends HTTP requests to Sigstore services (default http.DefaultTransport).
	Transport http.RoundTripper
	// Retry bounds retries of service calls (zero value: defaults).
	Retry retry.Options
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Workspace confines input paths when set (CI front doors set it).
	Workspace string
	// Files resolves every input path once, relative to the working
	// directory, confined to Workspace (default: opened from Workspace and
	// the process's working directory).
	Files *workspace.Workspace
	// TUFCacheDir caches public-good trust metadata ("" = sigstore-go default).
	TUFCacheDir string
	// Terminal reports whether a writer is a terminal, where a progress bar
	// is redrawn in place (default logtext.IsTerminal, which a logtext.Writer
	// made with Options.Terminal answers, so tests can fake a terminal).
	Terminal func(io.Writer) bool
	// Getenv reads the process environment (nil: an empty one), for what
	// lives outside any input: the local image daemons' addresses.
	Getenv func(string) string

	// What the front door offers besides ci.Platform, resolved once from it
	// by NewEnv; nil when it offers nothing of the kind.

	// Keychain holds the credentials of the platform's own container
	// registry; the Docker config is always asked first.
	Keychain authn.Keychain
	// GitHub is the GitHub Actions job's API URL and token, the defaults of
	// the github-api-url and github-token inputs.
	GitHub GitHubEnv
	// Event is what started the GitHub Actions workflow run.
	Event GitHubEvent
	// Stores adds the platform's own storage targets (the GitLab package registry).
	Stores StoreProvider
	// Fetchers reads bundles from the platform's own store (--bundle-from gitlab).
	Fetchers FetcherProvider
	// Uploaders uploads release files to the platform's own store.
	Uploaders FileUploaderProvider
}

// NewEnv is the Env of a run behind door: its platform, workspace and the
// capabilities it offers, each resolved here once.
func NewEnv(door Door) Env {
	env := Env{Platform: door, Workspace: door.Workspace()}
	if p, ok := door.(RegistryKeychain); ok {
		env.Keychain = p.RegistryKeychain()
	}
	env.GitHub, _ = door.(GitHubEnv)
	env.Event, _ = door.(GitHubEvent)
	env.Stores, _ = door.(StoreProvider)
	env.Fetchers, _ = door.(FetcherProvider)
	env.Uploaders, _ = door.(FileUploaderProvider)
	return env
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// files returns the workspace input paths are resolved in.
func (e Env) files() (*workspace.Workspace, error) {
	if e.Files != nil {
		return e.Files, nil
	}
	return workspace.Current(e.Workspace)
}

// terminal reports whether the log is a terminal.
func (e Env) terminal() bool {
	if e.Terminal != nil {
		return e.Terminal(e.log())
	}
	return logtext.IsTerminal(e.log())
}

func (e Env) log() io.Writer {
	if e.Platform == nil || e.Platform.Log() == nil {
		return io.Discard
	}
	return e.Platform.Log()
}

// Door is a front door: the platform a command runs on and how its inputs,
// outputs and errors travel there.
type Door interface {
	ci.Platform
	// Name names the platform in messages, e.g. "GitHub Actions".
	Name() string
	// Input returns the platform's value for an input, if it set one.
	Input(cmd *Command, in Input) (string, bool)
	// WriteOutputs publishes a command's outputs to the platform.
	WriteOutputs(cmd *Command, outputs map[string]string) error
	// WriteSummary publishes a Markdown summary.
	WriteSummary(markdown string) error
	// ReportError shows a failure where the platform's users look for it.
	ReportError(cmd *Command, err error)
	// Annotate shows one finding: natively where the platform has
	// annotations (GitHub's ::warning), else as its Message on the log.
	Annotate(a Annotation)
	// Workspace is the directory input paths must stay in ("" for no limit).
	Workspace() string
	// Shell reports whether a person reads the run's standard output
	// directly (a plain shell), not a CI system that collects outputs and
	// summaries: a document printed for scripts then replaces the outputs,
	// and text replaces the Markdown summary.
	Shell() bool
}

// Main runs one paved invocation: args without the program name. It returns the
// process exit code: 0 success, then fail.Class.ExitCode, and 2 for usage errors.
func Main(ctx context.Context, door Door, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stdout, Help())
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "paved "+Version())
		return 0
	}
	cmd, ok := Find(args[0])
	if !ok {
		fmt.Fprintf(stderr, "paved: unknown command %q; run 'paved help' for the list\n", args[0])
		return 2
	}
	v, help, err := Bind(cmd, door, args[1:], getenv)
	if help {
		fmt.Fprint(stdout, CommandHelp(cmd))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "paved %s: %v\nRun 'paved %s --help' for usage.\n", cmd.Name, err, cmd.Name)
		door.ReportError(cmd, err)
		return fail.Config.ExitCode()
	}
	env := NewEnv(door)
	env.Getenv = getenv
	files, err := workspace.Current(env.Workspace)
	if err != nil {
		fmt.Fprintf(stderr, "paved %s: %v\n", cmd.Name, err)
		door.ReportError(cmd, err)
		return fail.Config.ExitCode()
	}
	defer files.Close()
	env.Files = files
	res, err := cmd.Run(ctx, env, v)
	code := 0
	if res != nil {
		// A failed gate still reports what it checked and why it refused.
		if rerr := render(cmd, door, res, doorValue(v, outputInput), stdout, stderr); rerr != nil && err == nil {
			code = fail.Internal.ExitCode()
		}
	}
	if err != nil {
		class := fail.ClassOf(err)
		fmt.Fprintf(stderr, "paved %s: %s: %v\n", cmd.Name, class, err)
		door.ReportError(cmd, err)
		return class.ExitCode()
	}
	return code
}

func render(cmd *Command, door Door, res *Result, mode string, stdout, stderr io.Writer) error {
	for _, n := range res.Notices {
		fmt.Fprintln(stderr, n)
	}
	for _, a := range res.Annotations {
		door.Annotate(a)
	}
	local := door.Shell()
	if len(res.Document) > 0 {
		if _, err := stdout.Write(res.Document); err != nil {
			return err
		}
	}
	if !local || (len(res.Document) == 0 && !res.DocumentOnly) {
		if err := door.WriteOutputs(cmd, res.Outputs); err != nil {
			fmt.Fprintf(stderr, "paved %s: writing outputs: %v\n", cmd.Name, err)
			return err
		}
	}
	if mode == outputText || mode != outputMarkdown && local {
		if err := writeText(stderr, res); err != nil {
			return err
		}
	}
	// The Markdown goes to the CI summary; a shell shows it only when asked.
	if res.Summary != "" && (!local || mode == outputMarkdown) {
		if err := door.WriteSummary(res.Summary); err != nil {
			fmt.Fprintf(stderr, "paved %s: writing summary: %v\n", cmd.Name, err)
		}
	}
	return nil
}

// writeText prints the result for a person: each report's headline, its
// ✓/✗ rows as a compact table, then its lines.
func writeText(w io.Writer, res *Result) error {
	for _, r := range res.Reports {
		if r.Title != "" {
			if err := logtext.Paint(w, logtext.Strong, logtext.Line(r.Title)); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
		if err := logtext.Table(w, r.Rows); err != nil {
			return err
		}
		for _, l := range r.Lines {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}

// FlagSet returns the CLI flags of a command, bound from its declaration.
func FlagSet(cmd *Command) (*pflag.FlagSet, map[string]any) {
	fs := pflag.NewFlagSet("paved "+cmd.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	vals := map[string]any{}
	aliases := map[string]string{}
	for _, in := range cmd.Inputs {
		usage := in.Usage
		if in.Default != "" && !in.Bool {
			usage += fmt.Sprintf(" (default %q)", in.Default)
		}
		for _, a := range in.Aliases {
			aliases[a] = in.Name
			usage += " (also --" + a + ")"
		}
		switch {
		case in.Bool:
			vals[in.Name] = fs.BoolP(in.Name, in.Short, false, usage)
		case in.List:
			vals[in.Name] = fs.StringArrayP(in.Name, in.Short, nil, usage)
		default:
			vals[in.Name] = fs.StringP(in.Name, in.Short, "", usage)
		}
	}
	if len(aliases) > 0 {
		fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
			if to, ok := aliases[name]; ok {
				return pflag.NormalizedName(to)
			}
			return pflag.NormalizedName(name)
		})
	}
	fs.BoolP("help", "h", false, "show this help")
	return fs, vals
}

// flagNames are every long spelling the command's flags take, aliases included.
func flagNames(cmd *Command) []string {
	names := []string{"help"}
	for _, in := range cmd.Inputs {
		names = append(names, in.Name)
		names = append(names, in.Aliases...)
	}
	return names
}

// parseError turns pflag's error into a usage error; an unknown flag names
// the closest one the command has, as a mistyped --reop deserves "--repo".
func parseError(cmd *Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return fail.Configf("%w", err)
	}
	if near := nearest(name, flagNames(cmd)); near != "" {
		return fail.Configf("unknown flag --%s: did you mean --%s?", name, near)
	}
	return fail.Configf("unknown flag --%s", name)
}

// nearest returns the candidate closest to s by edit distance, or "" when
// none is close enough to be the likely intent (at most a third of s differs,
// or s is a prefix of it).
func nearest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(s, c)
		if strings.HasPrefix(c, s) && len(s) >= 3 {
			d = min(d, 1)
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len(s)/3) {
		return ""
	}
	return best
}

// editDistance is the Damerau (optimal string alignment) distance: a swap of
// two neighbouring letters, the commonest typo, counts once.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// exclusive refuses an invocation that sets two inputs of one of the
// command's exclusive groups, by whichever source set them.
func exclusive(cmd *Command, m map[string][]string) error {
	for _, group := range cmd.Exclusive {
		var set []string
		for _, name := range group {
			// A blank value or a switch set to false sets nothing.
			if vals := m[name]; len(vals) > 0 && !(len(vals) == 1 && (vals[0] == "false" || vals[0] == "")) {
				set = append(set, "--"+name)
			}
		}
		if len(set) > 1 {
			return fail.Configf("%s cannot be used together: give one of %s", strings.Join(set, " and "), "--"+strings.Join(group, ", --"))
		}
	}
	return nil
}

// Bind reads the command's inputs: CLI flags first, then the platform's inputs,
// then PAVED_* environment variables, then defaults. Secrets are masked as soon
// as they are read.
func Bind(cmd *Command, door Door, args []string, getenv func(string) string) (Values, bool, error) {
	fs, ptrs := FlagSet(cmd)
	if err := fs.Parse(args); err != nil {
		return Values{}, false, parseError(cmd, err)
	}
	if h, _ := fs.GetBool("help"); h {
		return Values{}, true, nil
	}
	m := map[string][]string{}
	for _, in := range cmd.Inputs {
		f := fs.Lookup(in.Name)
		if f.Changed {
			switch p := ptrs[in.Name].(type) {
			case *bool:
				m[in.Name] = []string{fmt.Sprint(*p)}
			case *[]string:
				m[in.Name] = append([]string(nil), *p...)
			case *string:
				m[in.Name] = []string{*p}
			}
			continue
		}
		if in.CLIOnly {
			continue
		}
		raw, ok := door.Input(cmd, in)
		if !ok || strings.TrimSpace(raw) == "" {
			raw, ok = getenv(in.EnvName()), getenv(in.EnvName()) != ""
		}
		if !ok || strings.TrimSpace(raw) == "" {
			continue
		}
		if in.List {
			m[in.Name] = SplitList(raw)
		} else {
			m[in.Name] = []string{strings.TrimSpace(raw)}
		}
	}
	if rest := fs.Args(); len(rest) > 0 {
		if cmd.ArgsInput == "" {
			return Values{}, false, fail.Configf("unexpected arguments %q", rest)
		}
		m[cmd.ArgsInput] = append(m[cmd.ArgsInput], rest...)
	}
	for _, in := range cmd.Inputs {
		if in.Secret {
			for _, s := range m[in.Name] {
				door.Mask(s)
			}
		}
	}
	if err := exclusive(cmd, m); err != nil {
		return Values{}, false, err
	}
	v, err := NewValues(cmd, m)
	if err != nil {
		return Values{}, false, fail.Configf("%w", err)
	}
	return v, false, nil
}

// Help is the top-level help text.
func Help() string {
	var b strings.Builder
	b.WriteString("paved: supply-chain security as the paved road in CI.\n\nUsage: paved COMMAND [flags]\n\nCommands:\n")
	for _, c := range All() {
		fmt.Fprintf(&b, "  %-14s %s\n", c.Name, c.Summary)
	}
	b.WriteString("  version        print the version\n\nRun 'paved COMMAND --help' for a command's flags.\n" +
		"Every flag can also be set as the environment variable PAVED_<FLAG> (upper case, '-' as '_').\n\n" + exitCodes)
	return b.String()
}

// CommandHelp is the help text of one command.
func CommandHelp(cmd *Command) string {
	fs, _ := FlagSet(cmd)
	var b strings.Builder
	fmt.Fprintf(&b, "paved %s: %s\n\nUsage: paved %s [flags]", cmd.Name, cmd.Summary, cmd.Name)
	if cmd.Args != "" {
		b.WriteString(" " + cmd.Args)
	}
	b.WriteString("\n\nFlags:\n")
	b.WriteString(fs.FlagUsages())
	if len(cmd.Outputs) > 0 {
		b.WriteString("\nOutputs:\n")
		for _, o := range cmd.Outputs {
			fmt.Fprintf(&b, "  %-20s %s\n", o.Name, o.Usage)
		}
	}
	b.WriteString(helpTail(cmd.Name))
	return b.String()
}

// Version is the module version Paved was built from.
func Version() string { return version }

var version = "devel"

// Local is the front door for a plain shell: flags and PAVED_* variables in,
// outputs as "name: value" lines out, the summary on the log.
type Local struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

var _ Door = (*Local)(nil)

// Name implements Door.
func (l *Local) Name() string { return "local shell" }

// Run implements ci.Platform.
func (l *Local) Run() ci.Run { return ci.Run{Kind: ci.Local} }

// Identity implements ci.Platform: SIGSTORE_ID_TOKEN when it is set.
func (l *Local) Identity() identity.Source {
	if t := l.Getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return identity.Static{Value: t, From: "SIGSTORE_ID_TOKEN"}
	}
	return nil
}

// TokenFix implements ci.Platform.
func (l *Local) TokenFix() string {
	return "pass --identity-token or --identity-token-file, or set SIGSTORE_ID_TOKEN (in GitHub Actions, add 'permissions: id-token: write' to the job; in GitLab CI, add 'id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore')"
}

// Mask implements ci.Platform: a shell has no log masking, so Paved replaces
// the secret itself in whatever it prints (a server may echo a token).
func (l *Local) Mask(secret string) {
	logtext.Redact(l.Stdout, secret)
	logtext.Redact(l.Stderr, secret)
}

// Log implements ci.Platform.
func (l *Local) Log() io.Writer { return l.Stderr }

// Input implements Door; the shell has no inputs besides flags and PAVED_* variables.
func (l *Local) Input(*Command, Input) (string, bool) { return "", false }

// WriteOutputs implements Door.
func (l *Local) WriteOutputs(_ *Command, outputs map[string]string) error {
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := outputs[k]
		if strings.Contains(v, "\n") {
			fmt.Fprintf(l.Stdout, "%s:\n  %s\n", k, strings.ReplaceAll(strings.TrimRight(v, "\n"), "\n", "\n  "))
			continue
		}
		fmt.Fprintf(l.Stdout, "%s: %s\n", k, v)
	}
	return nil
}

// WriteSummary implements Door.
func (l *Local) WriteSummary(md string) error {
	_, err := fmt.Fprintln(l.Stderr, md)
	return err
}

// ReportError implements Door; Main already printed the error.
func (l *Local) ReportError(*Command, error) {}

// Annotate implements Door: a shell shows the message as a line.
func (l *Local) Annotate(a Annotation) { fmt.Fprintln(l.Stderr, a.Message) }

// Shell implements Door.
func (l *Local) Shell() bool { return true }

// Workspace implements Door: no confinement in a shell.
func (l *Local) Workspace() string { return "" }
