// Package githubapi holds what every client of GitHub's REST API needs and
// go-githubactions does not provide: reading error bodies, following Link
// pagination, and keeping tokens on the API's own origin.
package githubapi

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/paved-dev/paved/shared/bounded"
)

// ErrorMessage extracts the message and validation errors of a GitHub error
// body as ": MESSAGE; field=... code=...", or "" when the body has none.
func ErrorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
		Errors  []any  `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	s := ": " + e.Message
	for _, x := range e.Errors {
		switch v := x.(type) {
		case string:
			s += "; " + v
		case map[string]any:
			parts := []string{}
			for _, k := range []string{"resource", "field", "code", "message"} {
				if f, ok := v[k].(string); ok && f != "" {
					parts = append(parts, k+"="+f)
				}
			}
			s += "; " + strings.Join(parts, " ")
		}
	}
	if len(s) > 600 {
		// On a rune boundary: the message ends up in logs and JSON outputs.
		s = bounded.Prefix(s, 600) + "…"
	}
	return s
}

var linkNext = regexp.MustCompile(`<([^<>]+)>\s*;\s*rel="?next"?`)

// NextLink returns the rel="next" URL of a Link header, or "".
func NextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		if m := linkNext.FindStringSubmatch(part); m != nil {
			return m[1]
		}
	}
	return ""
}

// SameOrigin reports whether two URLs share scheme and host, so that a token
// for one is never sent to the other (pagination and download links can point
// elsewhere).
func SameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}
