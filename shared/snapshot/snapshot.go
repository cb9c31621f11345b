// Package snapshot submits the packages of an SBOM to GitHub's dependency
// submission API, so that they appear in the repository's dependency graph
// and get Dependabot alerts, as anchore/sbom-action's dependency-snapshot does.
//
// The types follow GitHub's REST documentation, API version 2022-11-28,
// "Create a snapshot of dependencies for a repository":
// POST /repos/{owner}/{repo}/dependency-graph/snapshots.
package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/githubapi"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/origin"
	"github.com/paved-dev/paved/shared/retry"
)

// Version is the snapshot format version the API documents.
const Version = 0

// Snapshot is the request body: the dependencies found at one commit by one job.
type Snapshot struct {
	// Version of the snapshot format (0).
	Version int `json:"version"`
	// Job identifies the run that found the dependencies.
	Job Job `json:"job"`
	// Sha is the commit the dependencies were found at (40 hex digits).
	Sha string `json:"sha"`
	// Ref is the Git reference of the commit, refs/...
	Ref string `json:"ref"`
	// Detector is the tool that found them.
	Detector Detector `json:"detector"`
	// Scanned is when they were found, RFC 3339.
	Scanned string `json:"scanned"`
	// Manifests by name.
	Manifests map[string]Manifest `json:"manifests,omitempty"`
}

// Job is the run that produced a snapshot. Snapshots with the same correlator
// replace each other; a new correlator adds to the graph.
type Job struct {
	Correlator string `json:"correlator"`
	ID         string `json:"id"`
	HTMLURL    string `json:"html_url,omitempty"`
}

// Detector names the tool that found the dependencies.
type Detector struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url"`
}

// Manifest is the dependencies found through one file.
type Manifest struct {
	Name string `json:"name"`
	// File is where the manifest is, relative to the repository root.
	File *File `json:"file,omitempty"`
	// Resolved dependencies by package URL.
	Resolved map[string]Dependency `json:"resolved,omitempty"`
}

// File locates a manifest.
type File struct {
	SourceLocation string `json:"source_location,omitempty"`
}

// Dependency is one resolved package.
type Dependency struct {
	PackageURL string `json:"package_url"`
	// Relationship is "direct" or "indirect".
	Relationship string `json:"relationship,omitempty"`
	// Scope is "runtime" or "development" ("" when unknown).
	Scope string `json:"scope,omitempty"`
	// Dependencies are the package URLs it depends on.
	Dependencies []string `json:"dependencies,omitempty"`
}

// Result is the API's answer to a submission.
type Result struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"`
	Result    string `json:"result"`
	Message   string `json:"message"`
}

// Relationships the API documents.
const (
	Direct   = "direct"
	Indirect = "indirect"
)

var (
	shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// purlRE is the API's pattern for package_url: a purl with a type and a name.
	purlRE = regexp.MustCompile(`^pkg:[a-zA-Z][a-zA-Z0-9.+-]*/.+`)
)

// Validate checks what the API requires, so that a bad snapshot fails before
// it is sent, with the field named.
func (s Snapshot) Validate() error {
	switch {
	case s.Job.Correlator == "" || s.Job.ID == "":
		return fmt.Errorf("job.correlator and job.id are required")
	case !shaRE.MatchString(s.Sha):
		return fmt.Errorf("sha %q: want the 40-hex-digit commit (GITHUB_SHA)", s.Sha)
	case !strings.HasPrefix(s.Ref, "refs/"):
		return fmt.Errorf("ref %q: want a full Git reference such as refs/heads/main (GITHUB_REF)", s.Ref)
	case s.Detector.Name == "" || s.Detector.Version == "" || s.Detector.URL == "":
		return fmt.Errorf("detector name, version and url are required")
	}
	if _, err := time.Parse(time.RFC3339, s.Scanned); err != nil {
		return fmt.Errorf("scanned %q: want an RFC 3339 time", s.Scanned)
	}
	for key, m := range s.Manifests {
		if m.Name == "" {
			return fmt.Errorf("manifest %q has no name", key)
		}
		for purl, d := range m.Resolved {
			if d.PackageURL != purl || !purlRE.MatchString(purl) {
				return fmt.Errorf("manifest %q: package %q is not keyed by its package URL", key, purl)
			}
			if d.Relationship != "" && d.Relationship != Direct && d.Relationship != Indirect {
				return fmt.Errorf("manifest %q: package %q has relationship %q, want direct or indirect", key, purl, d.Relationship)
			}
		}
	}
	return nil
}

// Options configure a Client. The zero value means defaults, except that
// submitting needs a Token.
type Options struct {
	// APIURL is the REST API base, GITHUB_API_URL (default https://api.github.com).
	APIURL string
	// Token authenticates; the job needs 'permissions: contents: write'.
	Token string
	// Transport sends requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Retry bounds retries of 5xx, 429 and timeouts (zero value: package retry's defaults).
	Retry retry.Options
}

// Client submits snapshots to one repository.
type Client struct {
	owner, repo string
	o           Options
	hc          *http.Client
}

// New returns a client for repository "OWNER/REPO".
func New(repository string, o Options) (*Client, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fail.Configf("GitHub repository %q: want OWNER/REPO", repository)
	}
	if o.Token == "" {
		return nil, fail.Configf("submitting a dependency snapshot needs a token: pass github-token: ${{ github.token }} with 'permissions: contents: write', or set --github-token")
	}
	if o.APIURL == "" {
		o.APIURL = githubapi.PublicAPIURL
	}
	u, err := url.Parse(o.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fail.Configf("GitHub API URL %q: want https://HOST[/api/v3]", o.APIURL)
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	return &Client{owner: owner, repo: repo, o: o, hc: origin.Client(retry.Over(o.Transport, o.Retry))}, nil
}

// maxAnswer bounds the API's answer that is read.
const maxAnswer = 1 << 20

// Submit validates s and posts it.
func (c *Client) Submit(ctx context.Context, s Snapshot) (Result, error) {
	if err := s.Validate(); err != nil {
		return Result{}, fail.Configf("dependency snapshot: %v", err)
	}
	body, err := json.Marshal(s)
	if err != nil {
		return Result{}, fmt.Errorf("encoding the dependency snapshot: %w", err)
	}
	u := fmt.Sprintf("%s/repos/%s/%s/dependency-graph/snapshots", c.o.APIURL, url.PathEscape(c.owner), url.PathEscape(c.repo))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Result{}, fail.Configf("dependency snapshot request: %v", c.redact(err.Error()))
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", githubapi.APIVersion)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.o.Token)
	op := fmt.Sprintf("submitting the dependency snapshot to %s/%s", c.owner, c.repo)
	resp, err := c.hc.Do(req)
	if err != nil {
		return Result{}, fail.As(fail.Transient, fmt.Errorf("%s: %v", op, c.redact(err.Error())))
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode != http.StatusCreated {
		return Result{}, c.statusError(op, resp, data)
	}
	var r Result
	if rerr != nil || json.Unmarshal(data, &r) != nil {
		return Result{}, fail.Transientf("%s: unexpected answer", op)
	}
	return r, nil
}

func (c *Client) redact(s string) string {
	if c.o.Token != "" {
		s = strings.ReplaceAll(s, c.o.Token, "***")
	}
	return s
}

func (c *Client) statusError(op string, resp *http.Response, body []byte) error {
	msg := logtext.Line(c.redact(githubapi.ErrorMessage(body)))
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		return fail.Configf("%s: GitHub rejected the token (HTTP 401%s): pass a valid github-token", op, msg)
	case s == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0":
		return fail.Transientf("%s: GitHub API rate limit exhausted (HTTP 403%s)", op, msg)
	case s == http.StatusForbidden || s == http.StatusNotFound:
		return fail.Configf("%s: GitHub refused (HTTP %d%s): add 'permissions: contents: write' to the job, and check the dependency graph is enabled for the repository", op, s, msg)
	case s == http.StatusUnprocessableEntity || s == http.StatusBadRequest:
		return fail.Configf("%s: GitHub rejected the snapshot (HTTP %d%s)", op, s, msg)
	case s == http.StatusTooManyRequests || s >= 500:
		return fail.Transientf("%s: GitHub answered HTTP %d%s after retries", op, s, msg)
	}
	return fail.Transientf("%s: unexpected HTTP %d%s", op, resp.StatusCode, msg)
}
