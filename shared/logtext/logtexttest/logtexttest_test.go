package logtexttest_test

import (
	"reflect"
	"testing"

	"github.com/paved-dev/paved/shared/logtext/logtexttest"
)

func TestCommandLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"plain\n", nil},
		{"::error::x\n", []string{"::error::x"}},
		{"  \t::warning::indented", []string{"  \t::warning::indented"}},
		{"ok\r::add-mask::s\nnext", []string{"::add-mask::s"}},
		{`\::error::escaped`, nil},
		{"a :: b", nil},
	} {
		if got := logtexttest.CommandLines(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("CommandLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
