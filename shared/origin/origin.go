// Package origin keeps credentials on the origin they were meant for: every
// HTTP client Paved builds drops credential headers (Authorization, GitLab's
// JOB-TOKEN and PRIVATE-TOKEN, cookies, API keys) on a redirect to another
// scheme, host or port. Go's http.Client drops only Authorization and
// cookies, and only when the host name changes (not for another port).
package origin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is the redirect bound of Go's default client.
const maxRedirects = 10

// Same reports whether two URLs have one origin: scheme, host and port.
func Same(a, b *url.URL) bool {
	return a != nil && b != nil && strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// CredentialHeader reports whether a header carries a credential: the
// standard ones, GitLab's token headers, and any header whose name says token,
// key, secret, session, password or auth.
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "cookie2", "job-token", "private-token", "deploy-token":
		return true
	}
	for _, w := range []string{"token", "key", "secret", "session", "password", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// strip removes every credential header from h.
func strip(h http.Header) {
	for k := range h {
		if CredentialHeader(k) {
			delete(h, k)
		}
	}
}

// CheckRedirect is an http.Client CheckRedirect: it follows at most 10
// redirects and drops credential headers when the next request leaves the
// origin of the first.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	if len(via) > 0 && !Same(req.URL, via[0].URL) {
		strip(req.Header)
	}
	return nil
}

// Guard wraps a transport so that a redirected request (one with
// req.Response set, as http.Client makes them) that left the origin of the
// first request carries no credential header. It protects clients Paved does
// not build itself but passes its transport to (sigstore-go's Fulcio and
// timestamp clients, GitLab's client-go).
func Guard(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if g, ok := next.(guard); ok {
		return g
	}
	return guard{next: next}
}

type guard struct{ next http.RoundTripper }

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response == nil || req.Response.Request == nil {
		return g.next.RoundTrip(req)
	}
	first := req.Response.Request
	for i := 0; i < 100 && first.Response != nil && first.Response.Request != nil; i++ {
		first = first.Response.Request
	}
	if Same(req.URL, first.URL) {
		return g.next.RoundTrip(req)
	}
	clean := req.Clone(req.Context())
	strip(clean.Header)
	return g.next.RoundTrip(clean)
}

// Client returns an http.Client over transport (nil: http.DefaultTransport)
// that keeps credentials on their origin, through both CheckRedirect and Guard.
func Client(transport http.RoundTripper) *http.Client {
	return &http.Client{Transport: Guard(transport), CheckRedirect: CheckRedirect}
}
