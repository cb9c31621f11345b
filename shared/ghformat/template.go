package ghformat

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/paved-dev/paved/shared/fail"
)

// Template is a parsed --template and the table its tablerow calls fill.
type Template struct {
	t     *template.Template
	table *tableWriter
}

// ParseTemplate parses a --template, with the functions gh's --template
// offers that make sense without colours (see "gh help formatting"): join,
// pluck, truncate, timefmt, timeago (against now), tablerow and tablerender.
// An invalid template is a usage error.
func ParseTemplate(text string, now func() time.Time) (*Template, error) {
	tw := &tableWriter{}
	t, err := template.New("--template").Funcs(template.FuncMap{
		"join":        templateJoin,
		"pluck":       templatePluck,
		"truncate":    templateTruncate,
		"timefmt":     templateTimeFmt,
		"timeago":     func(v any) (string, error) { return templateTimeAgo(v, now()) },
		"tablerow":    tw.row,
		"tablerender": tw.render,
	}).Parse(text)
	if err != nil {
		return nil, fail.Configf("--template: %w", err)
	}
	return &Template{t: t, table: tw}, nil
}

// Execute formats doc, a JSON document, as gh's --template does: the
// template sees the decoded JSON (objects as maps, arrays as lists); a table
// of tablerow calls not rendered is written at the end. Output beyond
// MaxOutput is refused.
func (ot *Template) Execute(doc []byte) ([]byte, error) {
	in, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("--template: reading the output: %w", err)
	}
	out := &cappedBuffer{max: MaxOutput}
	err = ot.t.Execute(out, in)
	if err == nil {
		_, err = out.WriteString(ot.table.render())
	}
	if errors.Is(err, errTooMuchOutput) {
		return nil, fail.Configf("--template prints more than %d MiB; narrow it", MaxOutput>>20)
	}
	if err != nil {
		return nil, fail.Configf("--template: %w", err)
	}
	return out.Bytes(), nil
}

// cappedBuffer refuses writes beyond max bytes, so a template ranging over
// a large document, or a query, cannot grow without end.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errTooMuchOutput
	}
	return c.Buffer.Write(p)
}

// WriteString implements io.StringWriter within the same bound.
func (c *cappedBuffer) WriteString(s string) (int, error) { return c.Write([]byte(s)) }

// tableWriter collects tablerow cells and aligns them on tablerender.
type tableWriter struct {
	rows [][]string
}

// tablerowMax bounds the rows a template's table holds before it is rendered.
const tablerowMax = 100000

func (tw *tableWriter) row(cells ...any) (string, error) {
	if len(tw.rows) >= tablerowMax {
		return "", errTooMuchOutput
	}
	r := make([]string, len(cells))
	for i, c := range cells {
		r[i] = fmt.Sprint(c)
	}
	tw.rows = append(tw.rows, r)
	return "", nil
}

func (tw *tableWriter) render() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, r := range tw.rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	tw.rows = nil
	return b.String()
}

func templateJoin(sep string, list any) (string, error) {
	items, err := listOf(list)
	if err != nil {
		return "", fmt.Errorf("join: %w", err)
	}
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = fmt.Sprint(it)
	}
	return strings.Join(s, sep), nil
}

func templatePluck(field string, list any) ([]any, error) {
	items, err := listOf(list)
	if err != nil {
		return nil, fmt.Errorf("pluck: %w", err)
	}
	var out []any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			if v, ok := m[field]; ok {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func listOf(v any) ([]any, error) {
	if l, ok := v.([]any); ok {
		return l, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("want a list, got %T", v)
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, nil
}

func templateTruncate(n int, v any) string {
	s := fmt.Sprint(v)
	if r := []rune(s); len(r) > n {
		if n <= 3 {
			return string(r[:max(n, 0)])
		}
		return string(r[:n-3]) + "..."
	}
	return s
}

func templateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time string, got %T", v)
	}
	return time.Parse(time.RFC3339, s)
}

func templateTimeFmt(layout string, v any) (string, error) {
	t, err := templateTime(v)
	if err != nil {
		return "", fmt.Errorf("timefmt: %w", err)
	}
	return t.Format(layout), nil
}

func templateTimeAgo(v any, now time.Time) (string, error) {
	t, err := templateTime(v)
	if err != nil {
		return "", fmt.Errorf("timeago: %w", err)
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future", nil
	case d < time.Minute:
		return "less than a minute ago", nil
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago", nil
	case d < 24*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago", nil
	case d < 30*24*time.Hour:
		return plural(int(d.Hours()/24), "day") + " ago", nil
	case d < 365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month") + " ago", nil
	default:
		return plural(int(d.Hours()/24/365), "year") + " ago", nil
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "about 1 " + unit
	}
	return fmt.Sprintf("about %d %ss", n, unit)
}
