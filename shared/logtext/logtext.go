// Package logtext keeps untrusted text (file names, SBOM component names,
// server error bodies) from acting on the CI log or document it is printed
// to: no workflow command, ANSI sequence or GitLab section marker can come
// from a name, and Markdown, shell and dotenv text is escaped for its reader.
package logtext

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Options configure a Writer. The zero value suits a CI log.
type Options struct {
	// Terminal lets a carriage return at the start of a Write and the
	// erase-to-end-of-line sequence ESC [ K through, for a progress bar
	// redrawn on a terminal (never a CI log).
	Terminal bool
	// Colour lets Paint colour Paved's own marks (see Colours for when a
	// terminal wants them). Text written, names included, never carries a
	// colour sequence of its own either way.
	Colour bool
}

// Writer neutralises everything written to it before it reaches the log:
//   - a line whose first non-blank characters are "::" (a GitHub Actions
//     workflow command, which the runner reads after trimming leading blanks)
//     starts with `\::` instead;
//   - ESC, CR and every other control character except tab and newline are
//     written as visible escapes (`\x1b`, `\r`), so no ANSI sequence, line
//     overwrite or GitLab section_start/section_end marker (which needs
//     CR ESC [ 0 K) can be formed;
//   - registered secrets are replaced by "***".
//
// Paved's own workflow commands and section markers go through Trusted.
// A Writer is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	o       Options
	blank   bool   // only blanks written since the last newline
	col0    bool   // the last byte written was a newline (or nothing was written)
	colon   bool   // a ':' at the start of the line is held back
	partial []byte // an incomplete UTF-8 sequence held back
	secrets []string
}

// New returns a Writer over w.
func New(w io.Writer, o Options) *Writer {
	return &Writer{w: w, o: o, blank: true, col0: true}
}

// Terminal reports whether the Writer was made for a terminal.
func (lw *Writer) Terminal() bool { return lw.o.Terminal }

// Colour reports whether Paint colours what it writes to the Writer.
func (lw *Writer) Colour() bool { return lw.o.Colour }

// Redact registers a secret: every later Write replaces it with "***".
// Secrets shorter than 4 characters are ignored (they would mangle any text).
func (lw *Writer) Redact(secret string) {
	if len(strings.TrimSpace(secret)) < 4 {
		return
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, s := range lw.secrets {
		if s == secret {
			return
		}
	}
	lw.secrets = append(lw.secrets, secret)
}

// Write implements io.Writer. It reports len(p) when the text, neutralised,
// was written.
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	s := string(p)
	for _, sec := range lw.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	var out strings.Builder
	lw.neutralise(&out, append(lw.partial, s...), lw.o.Terminal)
	if _, err := io.WriteString(lw.w, out.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// neutralise escapes b into out. On a terminal (term), a carriage return
// that starts b when b holds the erase-to-end-of-line sequence (a
// progress bar's redraw, written in one Write), and that sequence, pass; a CR inside the text, which a name
// could hold to overwrite what was printed before it, does not.
func (lw *Writer) neutralise(out *strings.Builder, b []byte, term bool) {
	lw.partial = nil
	for i := 0; i < len(b); {
		if !utf8.FullRune(b[i:]) {
			lw.partial = append([]byte(nil), b[i:]...)
			break
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			lw.emit(out, fmt.Sprintf(`\x%02x`, b[i]), false)
			i++
			continue
		}
		switch {
		case r == '\n':
			lw.release(out)
			out.WriteByte('\n')
			lw.blank, lw.col0 = true, true
		case term && r == '\r' && i == 0 && bytes.Contains(b, []byte("\x1b[K")):
			lw.release(out)
			out.WriteByte('\r')
			lw.blank, lw.col0 = true, false
		case term && r == 0x1b && strings.HasPrefix(string(b[i:]), "\x1b[K"):
			lw.release(out)
			out.WriteString("\x1b[K")
			n = 3
		case r == '\r':
			lw.emit(out, `\r`, false)
		case r == 0x1b:
			lw.emit(out, `\x1b`, false)
		case r != '\t' && (r < 0x20 || r == 0x7f):
			lw.emit(out, fmt.Sprintf(`\x%02x`, r), false)
		case r >= 0x80 && r <= 0x9f:
			lw.emit(out, fmt.Sprintf(`\u%04x`, r), false)
		case r == ':' && lw.blank && !lw.colon:
			lw.colon = true
			lw.col0 = false
		case r == ':' && lw.colon:
			lw.colon = false
			lw.emit(out, `\::`, false)
		default:
			lw.emit(out, string(b[i:i+n]), unicode.IsSpace(r))
		}
		i += n
	}
}

// release writes a held-back ':'.
func (lw *Writer) release(out *strings.Builder) {
	if lw.colon {
		lw.colon = false
		out.WriteByte(':')
		lw.blank, lw.col0 = false, false
	}
}

func (lw *Writer) emit(out *strings.Builder, s string, blank bool) {
	lw.release(out)
	out.WriteString(s)
	lw.blank = lw.blank && blank
	lw.col0 = false
}

// Flush writes what is held back (a ':' at the start of an unfinished line,
// or an incomplete UTF-8 sequence, escaped).
func (lw *Writer) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.flush()
}

func (lw *Writer) flush() error {
	var out strings.Builder
	lw.release(&out)
	for _, c := range lw.partial {
		fmt.Fprintf(&out, `\x%02x`, c)
		lw.col0 = false
	}
	lw.partial = nil
	_, err := io.WriteString(lw.w, out.String())
	return err
}

// Trusted returns the writer for Paved's own emitters (workflow commands,
// section markers): text goes through unchanged, on a line of its own.
func (lw *Writer) Trusted() io.Writer { return trusted{lw} }

type trusted struct{ lw *Writer }

func (t trusted) Write(p []byte) (int, error) {
	lw := t.lw
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if err := lw.flush(); err != nil {
		return 0, err
	}
	if !lw.col0 {
		if _, err := io.WriteString(lw.w, "\n"); err != nil {
			return 0, err
		}
		lw.col0 = true
	}
	// Registered secrets are redacted here too, except in the command that
	// registers one with the GitHub Actions runner.
	if !bytes.HasPrefix(p, []byte("::add-mask::")) {
		s := string(p)
		for _, sec := range lw.secrets {
			s = strings.ReplaceAll(s, sec, "***")
		}
		if s != string(p) {
			if _, err := io.WriteString(lw.w, s); err != nil {
				return 0, err
			}
			lw.col0 = strings.HasSuffix(s, "\n")
			lw.blank = lw.col0
			return len(p), nil
		}
	}
	n, err := lw.w.Write(p)
	if n > 0 {
		lw.col0 = p[n-1] == '\n'
		lw.blank = lw.col0
	}
	return n, err
}

// Trusted returns w's writer for Paved's own emitters when w is a Writer, and
// w itself otherwise.
func Trusted(w io.Writer) io.Writer {
	if lw, ok := w.(*Writer); ok {
		return lw.Trusted()
	}
	return w
}

// Redact registers a secret with w when w is a Writer.
func Redact(w io.Writer, secret string) {
	if lw, ok := w.(*Writer); ok {
		lw.Redact(secret)
	}
}

// RedactError removes secrets from err's message. The result unwraps to err,
// so errors.As and error classes keep working; Paved prints only Error().
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// Line returns s as one line of plain text: every control character
// (newline, CR, ESC, ...) and every C1 control written as a visible escape.
func Line(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Code returns s as a Markdown code span that is safe in a table cell: one
// line, fenced by more backticks than s contains in a row, with '|' escaped
// (GitHub splits table cells at '|' even inside code spans).
func Code(s string) string {
	s = strings.ReplaceAll(Line(s), "|", `\|`)
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// markdownSpecial are the characters that start Markdown or HTML syntax
// anywhere in a line; blockStart those that do only at its start.
const (
	markdownSpecial = "\\`*_[]|~!$"
	blockStart      = "#+-="
)

// Cell returns s as plain text for Markdown (a table cell, a list item): one
// line, with every Markdown and HTML special character escaped, so a name
// cannot add links, images, HTML, emphasis, headings or table columns.
func Cell(s string) string {
	var b strings.Builder
	for i, r := range Line(s) {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune(markdownSpecial, r) || i == 0 && strings.ContainsRune(blockStart, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Shell quotes s for a shell command line: s itself when it holds only
// characters no shell interprets, otherwise s in single quotes, or, when s
// holds control characters (a newline would end the command and the code
// block it is shown in), in bash's $'...' with those characters escaped.
func Shell(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }) {
		var b strings.Builder
		b.WriteString("$'")
		for _, r := range s {
			switch {
			case r == '\\' || r == '\'':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteString("'")
		return b.String()
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r)))
	}) < 0 && !strings.HasPrefix(s, "-") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// Dotenv returns s as the value of one dotenv line: control characters other
// than tab are dropped after line breaks become commas (GitLab's dotenv report
// reads one variable per line).
func Dotenv(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(strings.TrimRight(s, "\r\n"), "\r\n", ","), "\n", ",")
	return strings.Map(func(r rune) rune {
		if r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f) {
			return -1
		}
		return r
	}, s)
}
