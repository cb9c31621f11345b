package logtext

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal (an interactive run, where a
// progress bar can be redrawn in place and colours help) rather than a CI
// log, a pipe or a file. A Writer answers for itself, so a test can make one
// that says it is a terminal.
func IsTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ Terminal() bool }); ok {
		return t.Terminal()
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Colours reports whether a terminal may be written colours, as
// https://no-color.org asks: not when NO_COLOR is set to anything but "",
// and not on a terminal that says it is dumb (TERM=dumb).
func Colours(getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// Style is how Paint shows text when colours are on.
type Style int

// Styles of Paint.
const (
	Plain  Style = iota
	Good         // green: a check passed
	Bad          // red: a check failed
	Warn         // yellow: worth a look
	Faint        // dim: secondary detail
	Strong       // bold: a heading or verdict
)

var sgr = map[Style]string{Good: "32", Bad: "31", Warn: "33", Faint: "2", Strong: "1"}

// Paint writes text to w in style when w is a Writer with colours on, and
// plainly otherwise. text is neutralised as every Write is (a name cannot
// bring its own ESC, CR or C1 control); only the colour sequence around it
// is Paved's.
func Paint(w io.Writer, st Style, text string) error {
	lw, ok := w.(*Writer)
	if !ok || !lw.o.Colour || sgr[st] == "" {
		_, err := io.WriteString(w, text)
		return err
	}
	return lw.painted(sgr[st], text)
}

func (lw *Writer) painted(code, text string) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, sec := range lw.secrets {
		text = strings.ReplaceAll(text, sec, "***")
	}
	var body strings.Builder
	lw.neutralise(&body, append(lw.partial, text...), false)
	if body.Len() == 0 {
		return nil
	}
	// Paved's colour around the neutralised text; a ':' held back at the
	// start of a line is inside it (released by the next write).
	_, err := io.WriteString(lw.w, "\x1b["+code+"m"+body.String()+"\x1b[0m")
	return err
}

// Status marks a Row.
type Status int

// Row statuses.
const (
	None    Status = iota
	OK             // ✓
	Failed         // ✗
	Warning        // !
)

// Row is one line of a result table: a mark and cells.
type Row struct {
	Status Status
	Cells  []string
}

var marks = map[Status]struct {
	mark  string
	style Style
}{OK: {"✓", Good}, Failed: {"✗", Bad}, Warning: {"!", Warn}, None: {" ", Plain}}

// Table writes rows to w as a compact table for a terminal: each row's mark
// (✓ ✗ !, coloured when w has colours on), then its cells, each made one line
// (Line) and padded to the widest in its column. The last cell is not padded.
func Table(w io.Writer, rows []Row) error {
	var widths []int
	cells := make([][]string, len(rows))
	for i, r := range rows {
		for j, c := range r.Cells {
			c = Line(c)
			cells[i] = append(cells[i], c)
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	}
	for i, r := range rows {
		m := marks[r.Status]
		if err := Paint(w, m.style, m.mark); err != nil {
			return err
		}
		var line strings.Builder
		for j, c := range cells[i] {
			line.WriteString(" ")
			line.WriteString(c)
			if j < len(cells[i])-1 {
				line.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)))
				line.WriteString(" ")
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(line.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}
