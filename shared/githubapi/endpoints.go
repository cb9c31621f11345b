package githubapi

import (
	"net/url"
	"strings"
)

// APIVersion is the REST API version every Paved request names.
const APIVersion = "2022-11-28"

// The public GitHub service, the default instance.
const (
	PublicServerURL = "https://github.com"
	PublicAPIURL    = "https://api.github.com"
)

// Endpoints name one GitHub instance and the token that speaks to it.
type Endpoints struct {
	// ServerURL is the web base, GITHUB_SERVER_URL (default https://github.com).
	ServerURL string
	// APIURL is the REST API base, GITHUB_API_URL (default: derived from
	// ServerURL by APIFromServer).
	APIURL string
	// Token authenticates API calls ("" for none).
	Token string
}

// Resolve decides the endpoints a command uses, the one place these defaults
// live: what the user set wins, field by field; else what the CI job provides
// (ci, the zero value outside GitHub Actions); the server defaults to the
// public service and the API URL is derived from the server. The job's API URL
// belongs to the job's server, so it is not used when the user named another.
func Resolve(set, ci Endpoints) Endpoints {
	e := set
	if e.Token == "" {
		e.Token = ci.Token
	}
	sameServer := e.ServerURL == "" || strings.TrimRight(e.ServerURL, "/") == strings.TrimRight(ci.ServerURL, "/")
	if e.ServerURL == "" {
		e.ServerURL = ci.ServerURL
	}
	if e.ServerURL == "" {
		e.ServerURL = PublicServerURL
	}
	if e.APIURL == "" && sameServer {
		e.APIURL = ci.APIURL
	}
	if e.APIURL == "" {
		e.APIURL = APIFromServer(e.ServerURL)
	}
	e.ServerURL = strings.TrimRight(e.ServerURL, "/")
	e.APIURL = strings.TrimRight(e.APIURL, "/")
	return e
}

// APIFromServer derives the REST API base from a GitHub server URL: the
// public service, GHE.com subdomains, or a GitHub Enterprise Server.
func APIFromServer(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return PublicAPIURL
	}
	switch {
	case strings.EqualFold(u.Host, "github.com"):
		return PublicAPIURL
	case strings.HasSuffix(strings.ToLower(u.Host), ".ghe.com"):
		return u.Scheme + "://api." + u.Host
	}
	return strings.TrimRight(server, "/") + "/api/v3"
}
