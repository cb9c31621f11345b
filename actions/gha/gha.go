// Package gha is Paved's GitHub Actions front door: it reads action inputs,
// requests the job's OIDC token, masks secrets, and writes outputs, the step
// summary and error annotations the way the Actions runner expects.
package gha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/origin"
)

// Detect reports whether the process runs inside a GitHub Actions job.
func Detect(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" }

// Door is the GitHub Actions front door.
type Door struct {
	action *githubactions.Action
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	masked map[string]bool
}

var _ command.Door = (*Door)(nil)

// Options configure a Door; every field is required except HTTPClient.
type Options struct {
	Getenv         func(string) string
	Stdout, Stderr io.Writer
	// HTTPClient requests the OIDC token (default: a client with a 30s timeout).
	HTTPClient *http.Client
}

// New returns the GitHub Actions front door.
func New(o Options) *Door {
	hc := o.HTTPClient
	if hc == nil {
		hc = origin.Client(nil)
		hc.Timeout = 30 * time.Second
	}
	return &Door{
		// Workflow commands are Paved's own (go-githubactions escapes their
		// data); everything else on stdout is neutralised by logtext.
		action: githubactions.New(githubactions.WithGetenv(o.Getenv), githubactions.WithWriter(logtext.Trusted(o.Stdout)), githubactions.WithHTTPClient(hc)),
		getenv: o.Getenv,
		stdout: o.Stdout,
		stderr: o.Stderr,
	}
}

// Name implements command.Door.
func (d *Door) Name() string { return "GitHub Actions" }

// Run implements ci.Platform.
func (d *Door) Run() ci.Run {
	return ci.Run{
		Kind:              ci.GitHubActions,
		ServerURL:         d.getenv("GITHUB_SERVER_URL"),
		PipelineID:        d.getenv("GITHUB_RUN_ID"),
		JobName:           d.getenv("GITHUB_JOB"),
		RunnerDescription: d.getenv("RUNNER_NAME"),
		ProjectPath:       d.getenv("GITHUB_REPOSITORY"),
		Ref:               d.getenv("GITHUB_REF"),
		Commit:            d.getenv("GITHUB_SHA"),
		Visibility:        d.visibility(),
	}
}

// maxEvent bounds the webhook event payload read for the repository's visibility.
const maxEvent = 64 << 20

// visibility is the repository's visibility from the event payload, Unknown
// when the payload is missing or does not say.
func (d *Door) visibility() ci.Visibility {
	p := d.getenv("GITHUB_EVENT_PATH")
	if p == "" {
		return ci.Unknown
	}
	data, err := bounded.ReadFile(p, maxEvent)
	if err != nil {
		return ci.Unknown
	}
	return ci.VisibilityFromEvent(data)
}

// Identity implements ci.Platform: the job's OIDC token request, when the job may
// request one.
func (d *Door) Identity() identity.Source {
	if d.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || d.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
		return nil
	}
	// The runner masks the request token; Paved redacts it too, should the
	// token service echo it in an error.
	d.Mask(d.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
	return tokenRequest{d: d}
}

type tokenRequest struct{ d *Door }

func (t tokenRequest) Describe() string { return "the GitHub Actions OIDC token request" }

func (t tokenRequest) Token(ctx context.Context, audience string) (string, error) {
	tok, err := t.d.action.GetIDToken(ctx, audience)
	if err != nil {
		return "", err
	}
	t.d.Mask(tok)
	return tok, nil
}

// TokenFix implements ci.Platform.
func (d *Door) TokenFix() string {
	return "add 'permissions: id-token: write' to the workflow job (GitHub withholds the token from pull requests of forks)"
}

// Mask implements ci.Platform; each secret is registered once.
func (d *Door) Mask(secret string) {
	if strings.TrimSpace(secret) == "" || d.masked[secret] {
		return
	}
	if d.masked == nil {
		d.masked = map[string]bool{}
	}
	d.masked[secret] = true
	d.action.AddMask(secret)
	logtext.Redact(d.stdout, secret)
	logtext.Redact(d.stderr, secret)
}

// Log implements ci.Platform.
func (d *Door) Log() io.Writer { return d.stderr }

// Input implements command.Door: INPUT_<NAME> as the runner sets it, or with
// '-' as '_' as composite actions pass it through env.
func (d *Door) Input(_ *command.Command, in command.Input) (string, bool) {
	for _, name := range []string{in.Name, strings.ReplaceAll(in.Name, "-", "_")} {
		if v := d.action.GetInput(name); v != "" {
			return v, true
		}
	}
	return "", false
}

// WriteOutputs implements command.Door. Every value is written with a random
// heredoc delimiter, so no value can end the block early and inject outputs.
func (d *Door) WriteOutputs(_ *command.Command, outputs map[string]string) error {
	path := d.getenv("GITHUB_OUTPUT")
	if path == "" {
		return (&command.Local{Stdout: d.stderr, Stderr: d.stderr}).WriteOutputs(nil, outputs)
	}
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		delim, err := delimiter()
		if err != nil {
			return err
		}
		for strings.Contains(outputs[k], delim) {
			if delim, err = delimiter(); err != nil {
				return err
			}
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", k, delim, outputs[k], delim)
	}
	return appendFile(path, b.String())
}

func delimiter() (string, error) {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return "ghadelimiter_" + hex.EncodeToString(buf), nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSummary implements command.Door.
func (d *Door) WriteSummary(md string) error {
	path := d.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		_, err := fmt.Fprintln(d.stderr, md)
		return err
	}
	return appendFile(path, md+"\n")
}

// ReportError implements command.Door: an error annotation on the run.
func (d *Door) ReportError(cmd *command.Command, err error) {
	d.action.WithFieldsMap(map[string]string{"title": "paved " + cmd.Name}).Errorf("%v", err)
}

// Annotate implements command.Door: ::error, ::warning or ::notice on the run.
func (d *Door) Annotate(a command.Annotation) {
	a2 := d.action.WithFieldsMap(map[string]string{"title": a.Title})
	switch a.Level {
	case command.LevelError:
		a2.Errorf("%s", a.Message)
	case command.LevelWarning:
		a2.Warningf("%s", a.Message)
	default:
		a2.Noticef("%s", a.Message)
	}
}

// Workspace implements command.Door.
func (d *Door) Workspace() string { return d.getenv("GITHUB_WORKSPACE") }

// Shell implements command.Door: a workflow run collects outputs and the summary.
func (d *Door) Shell() bool { return false }
