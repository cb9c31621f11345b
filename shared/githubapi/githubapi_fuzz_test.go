package githubapi_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paved-dev/paved/shared/githubapi"
)

// FuzzErrorMessage feeds arbitrary error bodies to ErrorMessage: nothing
// panics, the message is bounded and stays valid UTF-8 when cut.
func FuzzErrorMessage(f *testing.F) {
	f.Add([]byte(`{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}]}`))
	f.Add([]byte(`{"message":"` + strings.Repeat("é", 400) + `"}`))
	f.Add([]byte(`{"message":"x","errors":[1,null,"s",{"code":5}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := githubapi.ErrorMessage(body)
		if len(m) > 600+len("…") {
			t.Fatalf("message of %d bytes", len(m))
		}
		if m != "" && !strings.HasPrefix(m, ": ") {
			t.Fatalf("message %q", m)
		}
		if !utf8.ValidString(m) {
			t.Fatalf("message %q is not valid UTF-8", m)
		}
	})
}

// FuzzNextLink feeds arbitrary Link headers to NextLink: nothing panics, and
// the link it returns is one the header holds between angle brackets.
func FuzzNextLink(f *testing.F) {
	f.Add(`<https://api.github.com/repos/o/r/attestations/x?page=2>; rel="next", <https://api.github.com/repos/o/r/attestations/x?page=5>; rel="last"`)
	f.Add(`<a>;rel=next`)
	f.Add(`<https://x/?a=1,2>; rel="next"`)
	f.Fuzz(func(t *testing.T, h string) {
		n := githubapi.NextLink(h)
		if n != "" && (!strings.Contains(h, "<"+n+">") || strings.ContainsAny(n, "<>,")) {
			t.Fatalf("next link %q from %q", n, h)
		}
	})
}

// TestAttackGitHubErrorMessageSplitsRune: a server's error message that is
// cut to its bound in the middle of a character would put invalid UTF-8 into
// Paved's errors, logs and JSON outputs; the cut falls on a rune boundary.
func TestAttackGitHubErrorMessageSplitsRune(t *testing.T) {
	m := githubapi.ErrorMessage([]byte(`{"message":"x` + strings.Repeat("é", 400) + `"}`))
	if !utf8.ValidString(m) || !strings.HasSuffix(m, "é…") || len(m) > 600+len("…") {
		t.Fatalf("message %q", m)
	}
}
