package ghformat

import (
	"strings"
	"testing"
	"time"
)

func TestTemplateFunctions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct{ tmpl, doc, want string }{
		{`{{timeago .t}}`, `{"t":"2026-01-02T01:00:00Z"}`, "about 2 hours ago"},
		{`{{timeago .t}}`, `{"t":"2025-12-01T00:00:00Z"}`, "about 1 month ago"},
		{`{{truncate 5 .s}}`, `{"s":"abcdefgh"}`, "ab..."},
		{`{{.n}}`, `{"n":1234567890123}`, "1234567890123"},
		{`{{join "-" .l}}`, `{"l":[1,"a",true]}`, "1-a-true"},
		{`{{tablerow "a" "bbb"}}{{tablerow "cccc" "d"}}`, `{}`, "a     bbb\ncccc  d\n"},
	}
	for _, tt := range tests {
		ot, err := ParseTemplate(tt.tmpl, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		got, err := ot.Execute([]byte(tt.doc))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s on %s = %q, %v; want %q", tt.tmpl, tt.doc, got, err, tt.want)
		}
	}
}

// TestAttackTemplateOutputFlood: a template that prints without end (nested
// ranges over the document) is stopped at the bound, not run out of memory.
func TestAttackTemplateOutputFlood(t *testing.T) {
	doc := `[` + strings.Repeat(`"`+strings.Repeat("x", 1000)+`",`, 999) + `"x"]`
	ot, err := ParseTemplate(`{{range .}}{{range $}}{{range $}}{{.}}{{end}}{{end}}{{end}}`, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ot.Execute([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "narrow it") || out != nil {
		t.Fatalf("got %d bytes, %v", len(out), err)
	}
	ot, _ = ParseTemplate(`{{range .}}{{range $}}{{tablerow .}}{{end}}{{end}}`, time.Now)
	if _, err := ot.Execute([]byte(doc)); err == nil || !strings.Contains(err.Error(), "narrow it") {
		t.Fatalf("a table of a million rows: %v", err)
	}
}
