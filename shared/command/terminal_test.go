package command_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/ci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/logtext"
)

// ttyRun runs paved in a plain shell whose standard output and error are a
// (fake) terminal, with colours on or off as main decides from NO_COLOR.
func ttyRun(t *testing.T, colour bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o := logtext.Options{Terminal: true, Colour: colour}
	out, errw := logtext.New(&stdout, o), logtext.New(&stderr, o)
	door := &command.Local{Stdout: out, Stderr: errw, Getenv: func(string) string { return "" }}
	code := command.Main(context.Background(), door, args, door.Getenv, out, errw)
	out.Flush()
	errw.Flush()
	return code, stdout.String(), stderr.String()
}

var pavedSGR = regexp.MustCompile(`\x1b\[(?:0|1|2|31|32|33)m`)

// TestTerminalPrintsRowsNotMarkdown: in a shell, verify ends with a ✓ or ✗
// row per artifact, coloured only when colours are on; the Markdown summary
// is not printed unless --output markdown asks for it.
func TestTerminalPrintsRowsNotMarkdown(t *testing.T) {
	args := append(ghBase(t), pub("sigstore-js-2.1.0.tgz"))
	code, _, stderr := ttyRun(t, true, args...)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"\x1b[1mpaved verify: refused: 1 of 2 artifact(s)", "\x1b[32m✓\x1b[0m ../../testdata/public-bundles/reusable-workflow-artifact", "\x1b[31m✗\x1b[0m ../../testdata/public-bundles/sigstore-js-2.1.0.tgz", "signed by https://github.com/github/artifact-attestations-workflows/", "no attestation names sha256:", "accepted signers:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, md := range []string{"###", "| artifact |", "`"} {
		if strings.Contains(stderr, md) {
			t.Errorf("Markdown %q printed in a shell:\n%s", md, stderr)
		}
	}
	_, _, plain := ttyRun(t, false, args...)
	if strings.Contains(plain, "\x1b") || !strings.Contains(plain, "✓ ../../testdata/public-bundles/reusable-workflow-artifact") {
		t.Errorf("without colours:\n%q", plain)
	}
	if pavedSGR.ReplaceAllString(stderr, "") != plain {
		t.Errorf("colours change more than colours:\n%q\n%q", stderr, plain)
	}
	_, _, md := ttyRun(t, false, append(args, "--output", "markdown")...)
	if !strings.Contains(md, "### Paved verify") || strings.Contains(md, "✓") {
		t.Errorf("--output markdown:\n%s", md)
	}
	// --format json keeps standard output for the JSON alone.
	_, stdout, _ := ttyRun(t, true, append(ghBase(t), "--format", "json")...)
	if !strings.HasPrefix(stdout, "{") || strings.Contains(stdout, "\x1b") || strings.Contains(stdout, "✓") {
		t.Errorf("--format json on a terminal printed %q", stdout)
	}
}

// TestAttackColourEscapeFromArtifactName: an artifact whose file name holds
// escape sequences (clear the screen, a hyperlink, a fake ✓ after a CR)
// is shown escaped on a colour terminal; only Paved's colours reach it.
func TestAttackColourEscapeFromArtifactName(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "app\x1b[2J\x1b]8;;https:evil\x07\r\x1b[32m✓ fine\u009b0m")
	if err := os.WriteFile(name, []byte("artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := ttyRun(t, true, append(ghBase(t), name)...)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rest := pavedSGR.ReplaceAllString(stdout+stderr, "")
	if strings.ContainsAny(rest, "\x1b\r\x07\u009b") {
		t.Fatalf("a control character from the name reached the terminal: %q", rest)
	}
	if !strings.Contains(stderr, `app\x1b[2J\x1b]8;;https:evil\x07\r\x1b[32m✓ fine\u009b0m`) {
		t.Errorf("the name is not shown escaped:\n%q", stderr)
	}
	// A name in an error message: a CR would return to the line start and
	// overwrite the refusal with a fake success.
	code, _, stderr = ttyRun(t, true, append(ghBase(t), filepath.Join(dir, "gone\r✓ verified"))...)
	if code != 2 || strings.ContainsAny(pavedSGR.ReplaceAllString(stderr, ""), "\x1b\r") || !strings.Contains(stderr, `gone\r✓ verified`) {
		t.Fatalf("exit %d: %q", code, stderr)
	}
}

// summaryDoor is a CI front door that records its summary.
type summaryDoor struct {
	command.Local
	summary string
}

func (d *summaryDoor) Run() ci.Run                                            { return ci.Run{Kind: ci.GitHubActions} }
func (d *summaryDoor) Identity() identity.Source                              { return nil }
func (d *summaryDoor) Name() string                                           { return "test CI" }
func (d *summaryDoor) WriteSummary(md string) error                           { d.summary += md; return nil }
func (d *summaryDoor) WriteOutputs(*command.Command, map[string]string) error { return nil }

// TestCIPrintsTextOnlyWhenAsked: in CI the Markdown goes to the summary and
// the log gets no ✓/✗ rows, unless --output text asks for them too.
func TestCIPrintsTextOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		extra []string
		rows  bool
	}{{nil, false}, {[]string{"--output", "text"}, true}, {[]string{"--output", "markdown"}, false}} {
		var stdout, stderr bytes.Buffer
		d := &summaryDoor{Local: command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}}
		code := command.Main(context.Background(), d, append(ghBase(t), tc.extra...), d.Getenv, &stdout, io.MultiWriter(&stderr))
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.extra, code, stderr.String())
		}
		if !strings.Contains(d.summary, "### Paved verify") {
			t.Errorf("%v: the CI summary lacks the Markdown: %q", tc.extra, d.summary)
		}
		if strings.Contains(stderr.String(), "###") {
			t.Errorf("%v: Markdown in the log: %s", tc.extra, stderr.String())
		}
		if got := strings.Contains(stderr.String(), "✓ ../../testdata/public-bundles/reusable-workflow-artifact"); got != tc.rows {
			t.Errorf("%v: rows in the log = %v, want %v: %s", tc.extra, got, tc.rows, stderr.String())
		}
	}
}
