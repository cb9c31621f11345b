package ghformat

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestQueryPrintsAsGH(t *testing.T) {
	tests := []struct{ expr, doc, want string }{
		{`.[].name`, `[{"name":"a"},{"name":"b"}]`, "a\nb\n"},                           // strings raw
		{`.[0]`, `[{"n":1234567890123,"f":1.5}]`, `{"f":1.5,"n":1234567890123}` + "\n"}, // exact numbers, compact
		{`first(.[])`, `[1,2]`, "1\n"},
		{`halt`, `[1]`, ""},
	}
	for _, tt := range tests {
		q, err := ParseQuery(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.Run(context.Background(), []byte(tt.doc))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s on %s = %q, %v; want %q", tt.expr, tt.doc, got, err, tt.want)
		}
	}
}

func TestQueryTypoIsAUsageError(t *testing.T) {
	if _, err := ParseQuery(`.[`); err == nil || !strings.Contains(err.Error(), "--jq") {
		t.Fatalf("err = %v", err)
	}
	q, _ := ParseQuery(`error("boom")`)
	if _, err := q.Run(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a query that fails: %v", err)
	}
}

// TestAttackQueryOutputFlood: an expression that prints without end is
// stopped at MaxOutput with a message naming the fix, not run out of memory.
func TestAttackQueryOutputFlood(t *testing.T) {
	q, err := ParseQuery(`range(1e12) | "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := q.Run(context.Background(), []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "narrow it") || out != nil {
		t.Fatalf("got %d bytes, %v", len(out), err)
	}
}

// TestAttackQueryRunsForever: an expression that loops without printing is
// stopped by its context.
func TestAttackQueryRunsForever(t *testing.T) {
	q, err := ParseQuery(`last(range(1e15))`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if out, err := q.Run(ctx, []byte(`{}`)); err == nil {
		t.Fatalf("a query that never ends returned %q", out)
	}
}
