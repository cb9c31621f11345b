// Package logtexttest holds the checks tests make on what Paved printed: the
// one definition of a line a CI runner would act on.
package logtexttest

import (
	"strings"
	"unicode"
)

// CommandLines returns the lines of s that a GitHub Actions runner reads as
// workflow commands: "::" after leading blanks, with lines ending at \n or \r
// (the runner splits at both). Text that went through a logtext.Writer has none.
func CommandLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "::") {
			out = append(out, l)
		}
	}
	return out
}
