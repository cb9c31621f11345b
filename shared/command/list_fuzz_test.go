package command_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/command"
)

// FuzzSplitList feeds arbitrary list inputs to SplitList: every item is
// non-empty, trimmed and holds no separator, and splitting the items joined
// again gives the same items.
func FuzzSplitList(f *testing.F) {
	f.Add("a.tgz\nb.tgz")
	f.Add(" sha256:ab , sha256:cd ,,\n\n ghcr.io/o/r:v1 ")
	f.Add("\r\n,\t")
	f.Fuzz(func(t *testing.T, s string) {
		items := command.SplitList(s)
		for _, it := range items {
			if it == "" || it != strings.TrimSpace(it) || strings.ContainsAny(it, ",\n") {
				t.Fatalf("item %q", it)
			}
		}
		if again := command.SplitList(strings.Join(items, ",")); !slices.Equal(again, items) {
			t.Fatalf("%q joined and split again is %q", items, again)
		}
	})
}
