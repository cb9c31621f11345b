// Package glci is Paved's GitLab CI/CD front door: it reads the job's CI_*
// context and the SIGSTORE_ID_TOKEN from id_tokens, and writes outputs as a dotenv
// report and the summary as a section of the job log.
package glci

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/logtext"
)

// TokenVariable is the id_tokens variable Paved reads.
const TokenVariable = "SIGSTORE_ID_TOKEN"

// Detect reports whether the process runs inside a GitLab CI/CD job. Runners set
// GITLAB_CI=true; gitlab-ci-local sets it to false on purpose but provides the
// same CI_* job context, which is what Paved needs.
func Detect(getenv func(string) string) bool {
	return getenv("GITLAB_CI") == "true" || (getenv("CI_SERVER_URL") != "" && getenv("CI_JOB_ID") != "" && getenv("CI_PIPELINE_ID") != "")
}

// Door is the GitLab CI/CD front door.
type Door struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
}

var _ command.Door = (*Door)(nil)

// Options configure a Door; Now defaults to time.Now.
type Options struct {
	Getenv         func(string) string
	Stdout, Stderr io.Writer
	Now            func() time.Time
}

// New returns the GitLab front door.
func New(o Options) *Door {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Door{getenv: o.Getenv, stdout: o.Stdout, stderr: o.Stderr, now: o.Now}
}

// Name implements command.Door.
func (d *Door) Name() string { return "GitLab CI/CD" }

// Run implements ci.Platform.
func (d *Door) Run() ci.Run {
	return ci.Run{
		Kind:              ci.GitLabCI,
		ServerURL:         d.getenv("CI_SERVER_URL"),
		PipelineID:        d.getenv("CI_PIPELINE_ID"),
		JobID:             d.getenv("CI_JOB_ID"),
		JobName:           d.getenv("CI_JOB_NAME"),
		RunnerID:          d.getenv("CI_RUNNER_ID"),
		RunnerDescription: d.getenv("CI_RUNNER_DESCRIPTION"),
		ProjectPath:       d.getenv("CI_PROJECT_PATH"),
		Ref:               d.getenv("CI_COMMIT_REF_NAME"),
		Commit:            d.getenv("CI_COMMIT_SHA"),
		Visibility:        ci.ParseVisibility(d.getenv("CI_PROJECT_VISIBILITY")),
	}
}

// Identity implements ci.Platform: the SIGSTORE_ID_TOKEN declared in id_tokens.
func (d *Door) Identity() identity.Source {
	if t := d.getenv(TokenVariable); t != "" {
		return identity.Static{Value: t, From: TokenVariable}
	}
	return nil
}

// TokenFix implements ci.Platform.
func (d *Door) TokenFix() string {
	return "add to the job:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"
}

// Mask implements ci.Platform. GitLab masks only variables declared masked,
// so Paved replaces the secret itself in whatever it prints (a server may echo
// a token in an error body).
func (d *Door) Mask(secret string) {
	logtext.Redact(d.stdout, secret)
	logtext.Redact(d.stderr, secret)
}

// Log implements ci.Platform.
func (d *Door) Log() io.Writer { return d.stderr }

// Input implements command.Door: components pass inputs as PAVED_* variables,
// which command.Bind reads already.
func (d *Door) Input(*command.Command, command.Input) (string, bool) { return "", false }

// DotenvPath is where outputs go: $PAVED_DOTENV, default paved.env.
func (d *Door) DotenvPath() string {
	if p := d.getenv("PAVED_DOTENV"); p != "" {
		return p
	}
	return "paved.env"
}

// WriteOutputs implements command.Door: a dotenv report
// (PAVED_<COMMAND>_<NAME>=value, see command.OutputEnv;
// GitLab's dotenv takes one line per variable, so line breaks become commas) and
// the same lines in the job log.
func (d *Door) WriteOutputs(cmd *command.Command, outputs map[string]string) error {
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		name := cmd.OutputEnv(k)
		v := logtext.Dotenv(outputs[k])
		fmt.Fprintf(&b, "%s=%s\n", name, v)
	}
	if err := atomicfile.WriteFile(d.DotenvPath(), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing dotenv report %s: %w", d.DotenvPath(), err)
	}
	_, err := io.WriteString(d.stdout, b.String())
	return err
}

// WriteSummary implements command.Door: a collapsible section of the job log.
// Only the section markers are written raw; the summary, which holds names
// from the build, is neutralised like every other line (see logtext).
func (d *Door) WriteSummary(md string) error {
	ts := d.now().Unix()
	raw := logtext.Trusted(d.stdout)
	if _, err := fmt.Fprintf(raw, "\x1b[0Ksection_start:%d:paved_summary\r\x1b[0KPaved summary\n", ts); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(d.stdout, "%s\n", md); err != nil {
		return err
	}
	_, err := fmt.Fprintf(raw, "\x1b[0Ksection_end:%d:paved_summary\r\x1b[0K\n", ts)
	return err
}

// ReportError implements command.Door; the error is already in the job log.
func (d *Door) ReportError(*command.Command, error) {}

// Annotate implements command.Door: GitLab has no annotations of a job, so
// the message is a line of the job log.
func (d *Door) Annotate(a command.Annotation) { fmt.Fprintln(d.stderr, a.Message) }

// Workspace implements command.Door.
func (d *Door) Workspace() string { return d.getenv("CI_PROJECT_DIR") }

// Shell implements command.Door: a pipeline collects outputs and the job log.
func (d *Door) Shell() bool { return false }
