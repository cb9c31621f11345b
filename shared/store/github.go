package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/githubapi"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/retry"

	"github.com/klauspost/compress/snappy"

	"github.com/paved-dev/paved/shared/fail"
)

// maxPages bounds how many pages of a listing are followed.
const maxPages = 50

// GitHubOptions configure the GitHub attestations target.
type GitHubOptions struct {
	// APIURL is the REST API base, GITHUB_API_URL (default https://api.github.com;
	// GitHub Enterprise Server: https://HOST/api/v3).
	APIURL string
	// ServerURL is the web base for attestation links, GITHUB_SERVER_URL
	// (default https://github.com).
	ServerURL string
	// Token authenticates; writing needs the job permission attestations: write.
	// Reading public repositories works without one.
	Token string
	HTTPOptions
	// ReadBackTries bounds how often a write is looked for before it counts as
	// lost (default 4, with doubling waits from 500ms).
	ReadBackTries int
	// Sleep waits between read-back tries (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// GitHub stores bundles with the GitHub artifact attestations REST API of one
// repository and fetches them by subject digest.
type GitHub struct {
	owner, repo string
	o           GitHubOptions
	hc          *http.Client
}

var (
	_ Writer  = (*GitHub)(nil)
	_ Fetcher = (*GitHub)(nil)
)

// NewGitHub returns the target for repository "owner/name".
func NewGitHub(repository string, o GitHubOptions) (*GitHub, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fail.Configf("GitHub repository %q: want OWNER/NAME", repository)
	}
	if o.APIURL == "" {
		o.APIURL = githubapi.PublicAPIURL
	}
	if o.ServerURL == "" {
		o.ServerURL = githubapi.PublicServerURL
	}
	if _, err := url.Parse(o.APIURL); err != nil {
		return nil, fail.Configf("GitHub API URL: %w", err)
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	o.ServerURL = strings.TrimRight(o.ServerURL, "/")
	if o.ReadBackTries <= 0 {
		o.ReadBackTries = 4
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	return &GitHub{owner: owner, repo: repo, o: o, hc: o.client()}, nil
}

// Name implements Writer.
func (g *GitHub) Name() string { return "GitHub attestations" }

func (g *GitHub) endpoint(rest string) string {
	return fmt.Sprintf("%s/repos/%s/%s/attestations%s", g.o.APIURL, url.PathEscape(g.owner), url.PathEscape(g.repo), rest)
}

func (g *GitHub) request(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", githubapi.APIVersion)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if g.o.Token != "" && githubapi.SameOrigin(u, g.o.APIURL) {
		req.Header.Set("Authorization", "Bearer "+g.o.Token)
	}
	return req, nil
}

// Put implements Writer: the bundle is created unless the repository already
// has it for its first subject, then looked up until it is found.
func (g *GitHub) Put(ctx context.Context, b Bundle) (Receipt, error) {
	r, err := g.put(ctx, b)
	if err == nil {
		r.Outputs = map[string]string{OutputAttestationID: r.ID, OutputAttestationURL: r.URL}
	}
	return r, err
}

func (g *GitHub) put(ctx context.Context, b Bundle) (Receipt, error) {
	r := Receipt{Target: g.Name()}
	found, id, err := g.find(ctx, b)
	if err != nil {
		return Receipt{}, err
	}
	if found {
		r.Existed, r.ID = true, id
		r.URL = g.link(id)
		return r, nil
	}
	body, err := json.Marshal(map[string]json.RawMessage{"bundle": b.JSON})
	if err != nil {
		return Receipt{}, fmt.Errorf("bundle is not JSON: %w", err)
	}
	req, err := g.request(ctx, http.MethodPost, g.endpoint(""), body)
	if err != nil {
		return Receipt{}, err
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return Receipt{}, storeError("creating the attestation", err)
	}
	data, rerr := bounded.Read(resp.Body, 1<<20)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return Receipt{}, g.statusError("creating the attestation", resp, data)
	}
	if rerr != nil {
		return Receipt{}, storeError("reading the created attestation", rerr)
	}
	var created struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(data, &created); err != nil || created.ID == "" {
		return Receipt{}, fail.Transientf("GitHub answered the attestation upload without an id: %.200q", data)
	}
	r.ID = created.ID.String()
	r.URL = g.link(r.ID)
	wait := 500 * time.Millisecond
	for try := 1; ; try++ {
		found, _, err := g.find(ctx, b)
		if err != nil {
			return Receipt{}, fmt.Errorf("reading back attestation %s: %w", r.ID, err)
		}
		if found {
			r.Locations = []string{g.endpoint("/" + b.Subjects[0])}
			return r, nil
		}
		if try >= g.o.ReadBackTries {
			return Receipt{}, fail.Transientf("GitHub accepted attestation %s but does not list it for %s after %d lookups: the write was not confirmed", r.ID, b.Subjects[0], try)
		}
		if err := g.o.Sleep(ctx, wait); err != nil {
			return Receipt{}, err
		}
		wait *= 2
	}
}

func (g *GitHub) link(id string) string {
	if id == "" {
		return fmt.Sprintf("%s/%s/%s/attestations", g.o.ServerURL, g.owner, g.repo)
	}
	return fmt.Sprintf("%s/%s/%s/attestations/%s", g.o.ServerURL, g.owner, g.repo, id)
}

// find looks for b among the attestations of its first subject.
func (g *GitHub) find(ctx context.Context, b Bundle) (bool, string, error) {
	found := false
	id := ""
	err := g.list(ctx, b.Subjects[0], func(data []byte, itemID string) bool {
		if b.SameAs(data) {
			found, id = true, itemID
			return false
		}
		return true
	})
	return found, id, err
}

// Fetch implements Fetcher: every attestation of the repository for digest,
// following pagination and bundle_url.
func (g *GitHub) Fetch(ctx context.Context, digest string) ([][]byte, error) {
	var out [][]byte
	err := g.list(ctx, strings.ToLower(digest), func(data []byte, _ string) bool {
		out = append(out, data)
		return true
	})
	return out, err
}

// list calls each with every bundle listed for digest until it returns false.
func (g *GitHub) list(ctx context.Context, digest string, each func(bundle []byte, id string) bool) error {
	next := g.endpoint("/"+url.PathEscape(digest)) + "?per_page=100"
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return fail.Transientf("listing attestations for %s: more than %d pages", digest, maxPages)
		}
		req, err := g.request(ctx, http.MethodGet, next, nil)
		if err != nil {
			return err
		}
		resp, err := g.hc.Do(req)
		if err != nil {
			return storeError("listing attestations", err)
		}
		data, rerr := bounded.Read(resp.Body, 64<<20)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil // no attestation for this digest (or a repository the token cannot see)
		}
		if resp.StatusCode != http.StatusOK {
			return g.statusError("listing attestations", resp, data)
		}
		if rerr != nil {
			return storeError("listing attestations", rerr)
		}
		var listing struct {
			Attestations []struct {
				ID        json.Number     `json:"id"`
				Bundle    json.RawMessage `json:"bundle"`
				BundleURL string          `json:"bundle_url"`
			} `json:"attestations"`
		}
		if err := json.Unmarshal(data, &listing); err != nil {
			return fail.Transientf("listing attestations: unexpected answer: %w", err)
		}
		for _, a := range listing.Attestations {
			bundle := []byte(a.Bundle)
			if len(bytes.TrimSpace(bundle)) == 0 || string(bytes.TrimSpace(bundle)) == "null" {
				if a.BundleURL == "" {
					continue
				}
				if bundle, err = g.download(ctx, a.BundleURL); err != nil {
					return err
				}
			}
			if !each(bundle, a.ID.String()) {
				return nil
			}
		}
		next = githubapi.NextLink(resp.Header.Get("Link"))
	}
	return nil
}

// download reads a bundle_url: JSON, or snappy-compressed JSON as GitHub
// serves it from its blob storage. The token goes only to the API's own origin.
func (g *GitHub) download(ctx context.Context, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		return nil, fail.Transientf("attestation bundle_url %q is not an http(s) URL", redactURL(u))
	}
	req, err := g.request(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, storeError("downloading attestation bundle", err)
	}
	defer resp.Body.Close()
	data, err := bounded.Read(resp.Body, maxBundle)
	if resp.StatusCode != http.StatusOK {
		return nil, fail.Transientf("downloading attestation bundle %s: HTTP %d", redactURL(u), resp.StatusCode)
	}
	if err != nil {
		return nil, storeError("downloading attestation bundle", err)
	}
	out, err := decodeBundleURL(data)
	if err != nil {
		return nil, fail.Transientf("attestation bundle from %s: %w", redactURL(u), err)
	}
	return out, nil
}

// decodeBundleURL returns a bundle_url payload as JSON. A snappy payload
// declares its decoded length up front and the decoder allocates it before
// reading further, so a forged header could claim 4 GiB: the declared length
// is checked against maxBundle first.
func decodeBundleURL(data []byte) ([]byte, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return t, nil
	}
	n, err := snappy.DecodedLen(data)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor snappy-compressed JSON: %w", err)
	}
	if n > maxBundle {
		return nil, fail.Verificationf("snappy payload declares %d bytes, more than the %d a bundle may have", n, maxBundle)
	}
	out, err := snappy.Decode(nil, data)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor snappy-compressed JSON: %w", err)
	}
	return out, nil
}

// statusError explains an unsuccessful answer with the fix it calls for.
func (g *GitHub) statusError(op string, resp *http.Response, body []byte) error {
	// A server may echo the token (or any part of the request) in its message.
	msg := githubapi.ErrorMessage(body)
	if g.o.Token != "" {
		msg = strings.ReplaceAll(msg, g.o.Token, "***")
	}
	msg = logtext.Line(msg)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fail.As(fail.Config, noAccess{fmt.Errorf("%s: GitHub rejected the token (HTTP 401%s): pass a valid github-token", op, msg)})
	case http.StatusForbidden:
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			return fail.Transientf("%s: GitHub API rate limit exhausted (HTTP 403%s); retry after %s", op, msg, resp.Header.Get("X-RateLimit-Reset"))
		}
		return fail.As(fail.Config, noAccess{fmt.Errorf("%s in %s/%s: GitHub refused (HTTP 403%s): add 'permissions: attestations: write' (with id-token: write and contents: read) to the job, or give the token the Attestations repository permission (write)", op, g.owner, g.repo, msg)})
	case http.StatusNotFound:
		return fail.As(fail.Config, noAccess{fmt.Errorf("%s: repository %s/%s not found at %s (HTTP 404%s): check the repository and that the token can see it (a job token without 'permissions: attestations: write' gets this answer too)", op, g.owner, g.repo, g.o.APIURL, msg)})
	case http.StatusUnprocessableEntity:
		return fail.Configf("%s: GitHub rejected the bundle (HTTP 422%s)", op, msg)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return fail.Transientf("%s: GitHub answered HTTP %d%s after retries", op, resp.StatusCode, msg)
	}
	return fail.Transientf("%s: unexpected HTTP %d%s", op, resp.StatusCode, msg)
}

// ErrNoAccess matches (with errors.Is) GitHub's answers that the token may not
// write the repository's attestations: HTTP 401, 403 other than a rate
// limit, and 404, which GitHub gives a token that cannot see the repository
// or lacks 'permissions: attestations: write' ("Resource not accessible by
// integration"). Callers that store with GitHub only when they can tell
// these apart from an outage.
var ErrNoAccess = errors.New("GitHub refused access to the repository's attestations")

// noAccess marks an error as ErrNoAccess, keeping its message.
type noAccess struct{ error }

func (e noAccess) Unwrap() error      { return e.error }
func (noAccess) Is(target error) bool { return target == ErrNoAccess }

// redactURL drops credentials and query strings (signed URLs carry secrets there).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
