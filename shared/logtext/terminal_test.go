package logtext_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/logtext"
)

func TestColoursRespectNoColorAndDumbTerminals(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"TERM": "xterm-256color"}, true},
		{map[string]string{"NO_COLOR": "1"}, false},
		{map[string]string{"NO_COLOR": "0"}, false}, // any non-empty value
		{map[string]string{"NO_COLOR": ""}, true},
		{map[string]string{"TERM": "dumb"}, false},
	} {
		if got := logtext.Colours(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("Colours(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	var buf bytes.Buffer
	if logtext.IsTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
	if !logtext.IsTerminal(logtext.New(&buf, logtext.Options{Terminal: true})) || logtext.IsTerminal(logtext.New(&buf, logtext.Options{})) {
		t.Error("a Writer answers for itself")
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if logtext.IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}

func TestTable(t *testing.T) {
	rows := []logtext.Row{
		{Status: logtext.OK, Cells: []string{"dist/app", "sha256:ab…", "signed by x"}},
		{Status: logtext.Failed, Cells: []string{"dist/longer-name", "sha256:cd…", "no attestation"}},
		{Status: logtext.Warning, Cells: []string{"é", "", ""}},
	}
	want := "✓ dist/app          sha256:ab…  signed by x\n" +
		"✗ dist/longer-name  sha256:cd…  no attestation\n" +
		"! é\n"
	var plain bytes.Buffer
	if err := logtext.Table(logtext.New(&plain, logtext.Options{Terminal: true}), rows); err != nil {
		t.Fatal(err)
	}
	if plain.String() != want {
		t.Errorf("without colours:\n%q\nwant\n%q", plain.String(), want)
	}
	var coloured bytes.Buffer
	if err := logtext.Table(logtext.New(&coloured, logtext.Options{Terminal: true, Colour: true}), rows); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"\x1b[32m✓\x1b[0m", "\x1b[31m✗\x1b[0m", "\x1b[33m!\x1b[0m"} {
		if !strings.Contains(coloured.String(), m) {
			t.Errorf("colours on: %q lacks %q", coloured.String(), m)
		}
	}
	if stripSGR(coloured.String()) != want {
		t.Errorf("colours change more than the marks: %q", coloured.String())
	}
}

// paved is every colour sequence Paint writes.
var paved = regexp.MustCompile(`\x1b\[(?:0|1|2|31|32|33)m`)

func stripSGR(s string) string { return paved.ReplaceAllString(s, "") }

// TestAttackColourFromNames: with colours on, a name (an artifact file
// name, a signer identity from a certificate) cannot bring its own ESC, CR or
// C1 control sequence to the terminal, whether printed plainly, painted, or
// in a table; only Paint's own sequences reach it.
func TestAttackColourFromNames(t *testing.T) {
	names := []string{
		"evil\x1b[2J\x1b[Hcleared",       // erase the screen
		"ok\x1b]8;;https://evil\x07link", // OSC 8 hyperlink
		"a\rPASSED ✓ everything",         // overwrite the line
		"c1\u009b31mred",                 // C1 CSI
		"bell\x07\x1b[31",                // an unfinished sequence
	}
	var buf bytes.Buffer
	w := logtext.New(&buf, logtext.Options{Terminal: true, Colour: true})
	var rows []logtext.Row
	for _, n := range names {
		rows = append(rows, logtext.Row{Status: logtext.Failed, Cells: []string{n, n}})
		if err := logtext.Paint(w, logtext.Bad, n); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(n + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := logtext.Table(w, rows); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rest := stripSGR(buf.String())
	if strings.ContainsAny(rest, "\x1b\r\x07\u009b") {
		t.Fatalf("a control character from a name reached the terminal: %q", rest)
	}
	for _, want := range []string{`evil\x1b[2J\x1b[Hcleared`, `a\rPASSED`, `c1\u009b31mred`} {
		if !strings.Contains(rest, want) {
			t.Errorf("the name is not shown escaped (%q): %q", want, rest)
		}
	}
	if n := len(paved.FindAllString(buf.String(), -1)); n != 4*len(names) {
		t.Errorf("want one coloured mark and one painted name per row (%d sequences), got %d: %q", 4*len(names), n, buf.String())
	}
}

func TestPaintPlainWithoutColours(t *testing.T) {
	var buf bytes.Buffer
	for _, w := range []interface{ Write([]byte) (int, error) }{&buf, logtext.New(&buf, logtext.Options{Terminal: true})} {
		if err := logtext.Paint(w, logtext.Good, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	if buf.String() != "okok" {
		t.Errorf("got %q", buf.String())
	}
}

// TestAttackCarriageReturnOnTerminal: on a terminal, only a progress bar's
// redraw (one Write: CR, the frame, ESC [ K) may return to the line start; a
// name that starts with CR cannot overwrite the line it is printed on.
func TestAttackCarriageReturnOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	w := logtext.New(&buf, logtext.Options{Terminal: true})
	for _, s := range []string{"\rPASSED\n", "x\rPASSED\n", "\rPASSED\x1b[31m\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Fatalf("a carriage return or ESC passed: %q", buf.String())
	}
}
