package logtext_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/logtext/logtexttest"
)

func TestWriterNeutralises(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"plain", []string{"hello: world\n"}, "hello: world\n"},
		{"command at line start", []string{"::add-mask::x\n"}, `\::add-mask::x` + "\n"},
		{"command after newline in a name", []string{"open x\n::set-output name=a::b: no such file\n"}, "open x\n" + `\::set-output name=a::b: no such file` + "\n"},
		{"command after blanks", []string{" \t\u00a0::warning::x\n"}, " \t\u00a0" + `\::warning::x` + "\n"},
		{"command split across writes", []string{"a\n:", ":error::x\n"}, "a\n" + `\::error::x` + "\n"},
		{"single colon kept", []string{":x\n", ":"}, ":x\n:"},
		{"colon mid-line kept", []string{"a ::b\n"}, "a ::b\n"},
		{"ANSI and CR", []string{"a\x1b[31mred\rb\n"}, `a\x1b[31mred\rb` + "\n"},
		{"section marker", []string{"\x1b[0Ksection_end:1:paved_summary\r\x1b[0K\n"}, `\x1b[0Ksection_end:1:paved_summary\r\x1b[0K` + "\n"},
		{"C1 CSI", []string{"a\u009b31mb\n"}, `a\u009b31mb` + "\n"},
		{"invalid UTF-8", []string{"a\x9bb\n"}, `a\x9bb` + "\n"},
		{"rune split across writes", []string{"\xc3", "\xa9\n"}, "é\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := logtext.New(&buf, logtext.Options{})
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got %q, want %q", buf.String(), tc.want)
			}
			if c := logtexttest.CommandLines(buf.String()); len(c) > 0 {
				t.Errorf("workflow command lines survived: %q", c)
			}
			if strings.ContainsAny(buf.String(), "\x1b\r") {
				t.Errorf("ESC or CR survived: %q", buf.String())
			}
		})
	}
}

func TestWriterTrustedAndRedact(t *testing.T) {
	var buf bytes.Buffer
	w := logtext.New(&buf, logtext.Options{})
	w.Redact("s3cr3t-token")
	fmt.Fprint(w, "error: token s3cr3t-token refused")
	fmt.Fprint(logtext.Trusted(w), "::add-mask::s3cr3t-token\n")
	fmt.Fprint(w, "::x\n")
	fmt.Fprint(logtext.Trusted(w), "::error::s3cr3t-token refused\n")
	want := "error: token *** refused\n::add-mask::s3cr3t-token\n" + `\::x` + "\n::error::*** refused\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestWriterTerminalKeepsProgressBar(t *testing.T) {
	var buf bytes.Buffer
	w := logtext.New(&buf, logtext.Options{Terminal: true})
	fmt.Fprint(w, "\r[##  ] 3/4\x1b[K\x1b[31m")
	if want := "\r[##  ] 3/4\x1b[K" + `\x1b[31m`; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestCodeAndCell(t *testing.T) {
	for _, tc := range []struct{ in, code, cell string }{
		{"dist/app.tgz", "`dist/app.tgz`", "dist/app.tgz"},
		{"a|b", "`a\\|b`", `a\|b`},
		{"a`b``c", "```a`b``c```", "a\\`b\\`\\`c"},
		{"`x", "`` `x ``", "\\`x"},
		{"x\n| y | z |", "`x\\n\\| y \\| z \\|`", `x\\n\| y \| z \|`},
		{"[click](https://evil)<img src=x>", "`[click](https://evil)<img src=x>`", `\[click\](https://evil)&lt;img src=x&gt;`},
		{"# head", "`# head`", `\# head`},
	} {
		if got := logtext.Code(tc.in); got != tc.code {
			t.Errorf("Code(%q) = %q, want %q", tc.in, got, tc.code)
		}
		if got := logtext.Cell(tc.in); got != tc.cell {
			t.Errorf("Cell(%q) = %q, want %q", tc.in, got, tc.cell)
		}
	}
}

func TestShell(t *testing.T) {
	for in, want := range map[string]string{
		"dist/app-1.0.tgz":      "dist/app-1.0.tgz",
		"sha256:abc":            "sha256:abc",
		"":                      "''",
		"a b":                   "'a b'",
		"$(touch pwned)":        "'$(touch pwned)'",
		"it's":                  `'it'"'"'s'`,
		"x\n```\nrm -rf ~":      `$'x\u000a` + "```" + `\u000arm -rf ~'`,
		"https://x/y@refs/tags": "https://x/y@refs/tags",
	} {
		if got := logtext.Shell(in); got != want {
			t.Errorf("Shell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDotenv(t *testing.T) {
	if got, want := logtext.Dotenv("a\nb\r\nc\x1b[0K\rd\n"), "a,b,c[0Kd"; got != want {
		t.Errorf("Dotenv = %q, want %q", got, want)
	}
}

func TestRedactError(t *testing.T) {
	base := fmt.Errorf("HTTP 401: bad credentials ghp_abcdef")
	err := logtext.RedactError(fmt.Errorf("listing: %w", base), "ghp_abcdef")
	if strings.Contains(err.Error(), "ghp_abcdef") || !strings.Contains(err.Error(), "***") {
		t.Errorf("not redacted: %v", err)
	}
	if !errors.Is(err, base) {
		t.Error("redacted error does not unwrap to the original")
	}
}
