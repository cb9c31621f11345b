package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/paved-dev/paved/shared/githubapi"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/origin"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/retry"
)

// maxAssetPages bounds the pages of a release's asset listing that are read.
const maxAssetPages = 20

// GitHubReleaseOptions configure a GitHub release destination. The zero value
// means defaults, except that uploading needs a Token.
type GitHubReleaseOptions struct {
	// APIURL is the REST API base, GITHUB_API_URL (default https://api.github.com;
	// GitHub Enterprise Server: https://HOST/api/v3).
	APIURL string
	// Token authenticates; uploading needs the job permission contents: write.
	Token string
	// Transport sends requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Retry bounds retries of 5xx, 429 and timeouts (zero value: package retry's defaults).
	Retry retry.Options
}

// GitHubReleaseAssets uploads release files as assets of one GitHub release,
// through the REST API's release and release asset endpoints.
type GitHubReleaseAssets struct {
	owner, repo, tag string
	o                GitHubReleaseOptions
	hc               *http.Client
}

var _ Uploader = (*GitHubReleaseAssets)(nil)

// NewGitHubRelease returns the destination for the release of tag in
// repository "OWNER/REPO". The release must exist; it is looked up at upload.
func NewGitHubRelease(repository, tag string, o GitHubReleaseOptions) (*GitHubReleaseAssets, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fail.Configf("GitHub repository %q: want OWNER/REPO", repository)
	}
	if tag == "" {
		return nil, fail.Configf("GitHub release: name the tag of the release (github-release://OWNER/REPO@TAG)")
	}
	if o.Token == "" {
		return nil, fail.Configf("uploading to the GitHub release of %s needs a token: pass github-token: ${{ github.token }} with 'permissions: contents: write', or set --github-token", tag)
	}
	if o.APIURL == "" {
		o.APIURL = githubapi.PublicAPIURL
	}
	u, err := url.Parse(o.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fail.Configf("GitHub API URL %q: want https://HOST[/api/v3]", o.APIURL)
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	return &GitHubReleaseAssets{owner: owner, repo: repo, tag: tag, o: o, hc: origin.Client(retry.Over(o.Transport, o.Retry))}, nil
}

// Name implements Uploader.
func (g *GitHubReleaseAssets) Name() string {
	return fmt.Sprintf("GitHub release %s/%s@%s", g.owner, g.repo, g.tag)
}

// release is the part of GitHub's release object Paved reads.
type release struct {
	ID        int64  `json:"id"`
	UploadURL string `json:"upload_url"`
}

// asset is the part of GitHub's release asset object Paved reads.
type asset struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	State              string `json:"state"`
	Size               int64  `json:"size"`
	Digest             string `json:"digest"`
	URL                string `json:"url"`
	BrowserDownloadURL string `json:"browser_download_url"`
}

// Check implements Checker: the release of the tag exists and the token can
// read it.
func (g *GitHubReleaseAssets) Check(ctx context.Context) error {
	_, err := g.release(ctx)
	return err
}

// Upload implements Uploader: find the release by tag, look for an asset
// called name, upload to the release's upload URL unless one exists, then
// download the asset and compare its digest.
func (g *GitHubReleaseAssets) Upload(ctx context.Context, name string, f *File) (Uploaded, error) {
	if err := CheckFileName(name); err != nil {
		return Uploaded{}, err
	}
	rel, err := g.release(ctx)
	if err != nil {
		return Uploaded{}, err
	}
	if a, err := g.findAsset(ctx, rel.ID, name); err != nil {
		return Uploaded{}, err
	} else if a != nil {
		return g.existing(ctx, *a, f)
	}
	a, raced, err := g.send(ctx, rel, name, f)
	if err != nil {
		return Uploaded{}, err
	}
	if raced != nil {
		return *raced, nil
	}
	if a.Name != name {
		return Uploaded{}, fail.Verificationf("GitHub stored the asset as %q, not %q: delete asset %d and rename the file", a.Name, name, a.ID)
	}
	if a.Digest != "" && !strings.EqualFold(a.Digest, f.Digest) {
		return Uploaded{}, fail.Verificationf("GitHub reports digest %s for the uploaded %s, not the attested %s: the bytes were altered on the way; delete asset %d and promote again", a.Digest, name, f.Digest, a.ID)
	}
	got, err := g.download(ctx, a, f.Size)
	if err != nil {
		return Uploaded{}, fmt.Errorf("reading back %s: %w", name, err)
	}
	if got != f.Digest {
		return Uploaded{}, fail.Verificationf("the asset %s read back from %s has digest %s, not the attested %s: the release holds different bytes; delete asset %d and promote again", name, g.Name(), got, f.Digest, a.ID)
	}
	return Uploaded{URL: a.BrowserDownloadURL, Digest: got}, nil
}

// existing decides about an asset already called name: the same bytes are
// done, anything else is refused.
func (g *GitHubReleaseAssets) existing(ctx context.Context, a asset, f *File) (Uploaded, error) {
	got := strings.ToLower(a.Digest)
	if a.State != "" && a.State != "uploaded" {
		return Uploaded{}, fail.Verificationf("%s already has an asset called %s in state %q (an interrupted upload): delete asset %d, then promote again", g.Name(), a.Name, a.State, a.ID)
	}
	if !strings.HasPrefix(got, "sha256:") {
		// Assets uploaded before GitHub computed digests: hash the download.
		var err error
		if got, err = g.download(ctx, a, f.Size); err != nil {
			if fail.ClassOf(err) == fail.Verification {
				return Uploaded{}, fail.Verificationf("%s already has a different %s (%d bytes, not %d): refusing to replace a release file; promote under a new tag, or delete asset %d deliberately first", g.Name(), a.Name, a.Size, f.Size, a.ID)
			}
			return Uploaded{}, fmt.Errorf("reading the existing asset %s: %w", a.Name, err)
		}
	}
	if got != f.Digest {
		return Uploaded{}, fail.Verificationf("%s already has a different %s (%s, not the attested %s): refusing to replace a release file; promote under a new tag, or delete asset %d deliberately first", g.Name(), a.Name, got, f.Digest, a.ID)
	}
	return Uploaded{URL: a.BrowserDownloadURL, Digest: got, Existed: true}, nil
}

func (g *GitHubReleaseAssets) repoURL(rest string) string {
	return fmt.Sprintf("%s/repos/%s/%s%s", g.o.APIURL, url.PathEscape(g.owner), url.PathEscape(g.repo), rest)
}

func (g *GitHubReleaseAssets) request(ctx context.Context, method, u string, body *io.SectionReader) (*http.Request, error) {
	var req *http.Request
	var err error
	if body == nil {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, body)
		if err == nil {
			size := body.Size()
			req.ContentLength = size
			req.GetBody = func() (io.ReadCloser, error) {
				return io.NopCloser(io.NewSectionReader(body, 0, size)), nil
			}
		}
	}
	if err != nil {
		return nil, fail.Configf("GitHub request: %v", redactURL(err.Error(), g.o.Token))
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", githubapi.APIVersion)
	req.Header.Set("Authorization", "Bearer "+g.o.Token)
	return req, nil
}

// call sends a request and decodes a JSON answer with status want into out.
func (g *GitHubReleaseAssets) call(req *http.Request, op string, want int, out any) (*http.Response, error) {
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, fail.As(fail.Transient, fmt.Errorf("%s: %v", op, redactURL(err.Error(), g.o.Token)))
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != want {
		return resp, g.statusError(op, resp, data)
	}
	if rerr != nil {
		return resp, fail.Transientf("%s: reading the answer: %v", op, rerr)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp, fail.Transientf("%s: unexpected answer: %v", op, err)
	}
	return resp, nil
}

// release looks up the release of the tag.
func (g *GitHubReleaseAssets) release(ctx context.Context) (release, error) {
	req, err := g.request(ctx, http.MethodGet, g.repoURL("/releases/tags/"+url.PathEscape(g.tag)), nil)
	if err != nil {
		return release{}, err
	}
	var rel release
	if _, err := g.call(req, "finding the release of tag "+g.tag, http.StatusOK, &rel); err != nil {
		return release{}, err
	}
	if rel.ID == 0 || rel.UploadURL == "" {
		return release{}, fail.Transientf("finding the release of tag %s: GitHub answered without an id or upload_url", g.tag)
	}
	return rel, nil
}

// findAsset lists the release's assets, following pagination, for one called name.
func (g *GitHubReleaseAssets) findAsset(ctx context.Context, releaseID int64, name string) (*asset, error) {
	next := g.repoURL("/releases/"+strconv.FormatInt(releaseID, 10)+"/assets") + "?per_page=100"
	for page := 0; next != ""; page++ {
		if page >= maxAssetPages {
			return nil, fail.Transientf("listing the assets of %s: more than %d pages", g.Name(), maxAssetPages)
		}
		if !githubapi.SameOrigin(next, g.o.APIURL) {
			return nil, fail.Transientf("listing the assets of %s: the next page is on another host", g.Name())
		}
		req, err := g.request(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		var assets []asset
		resp, err := g.call(req, "listing the assets of "+g.Name(), http.StatusOK, &assets)
		if err != nil {
			return nil, err
		}
		for _, a := range assets {
			if a.Name == name {
				return &a, nil
			}
		}
		next = githubapi.NextLink(resp.Header.Get("Link"))
	}
	return nil, nil
}

// send uploads f to the release's upload URL as name. When another upload
// took the name meanwhile, raced is the verdict on what that one stored.
func (g *GitHubReleaseAssets) send(ctx context.Context, rel release, name string, f *File) (a asset, raced *Uploaded, err error) {
	// upload_url is a URI template: https://uploads.github.com/repos/O/R/releases/ID/assets{?name,label}
	base, _, _ := strings.Cut(rel.UploadURL, "{")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return asset{}, nil, fail.Transientf("the release of %s has an unusable upload_url %q", g.tag, redactURL(base, g.o.Token))
	}
	q := u.Query()
	q.Set("name", name)
	u.RawQuery = q.Encode()
	req, err := g.request(ctx, http.MethodPost, u.String(), f.Body())
	if err != nil {
		return asset{}, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if _, err := g.call(req, "uploading "+name+" to "+g.Name(), http.StatusCreated, &a); err != nil {
		if !strings.Contains(err.Error(), "already_exists") {
			return asset{}, nil, err
		}
		// Another job uploaded the same name meanwhile: judge what it sent.
		ex, ferr := g.findAsset(ctx, rel.ID, name)
		if ferr != nil || ex == nil {
			return asset{}, nil, err
		}
		up, xerr := g.existing(ctx, *ex, f)
		if xerr != nil {
			return asset{}, nil, xerr
		}
		return asset{}, &up, nil
	}
	return a, nil, nil
}

// download fetches an asset's bytes through the API (which answers them or
// redirects to storage; the token is not sent to another host) and hashes
// them. More than limit bytes is a verification failure.
func (g *GitHubReleaseAssets) download(ctx context.Context, a asset, limit int64) (string, error) {
	u := a.URL
	if u == "" || !githubapi.SameOrigin(u, g.o.APIURL) {
		u = g.repoURL("/releases/assets/" + strconv.FormatInt(a.ID, 10))
	}
	req, err := g.request(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/octet-stream")
	resp, err := g.hc.Do(req)
	if err != nil {
		return "", fail.As(fail.Transient, fmt.Errorf("downloading asset %d: %v", a.ID, redactURL(err.Error(), g.o.Token)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return "", g.statusError(fmt.Sprintf("downloading asset %d", a.ID), resp, data)
	}
	d, _, err := Digest(resp.Body, limit)
	if err != nil {
		if errors.As(err, new(tooLarge)) {
			return "", fail.Verificationf("asset %d holds %s", a.ID, err)
		}
		return "", fail.Transientf("downloading asset %d: %v", a.ID, err)
	}
	return d, nil
}

// statusError explains an unsuccessful answer with the fix it calls for.
func (g *GitHubReleaseAssets) statusError(op string, resp *http.Response, body []byte) error {
	// A server may echo the token (or any part of the request) in its message.
	msg := logtext.Line(redactURL(githubapi.ErrorMessage(body), g.o.Token))
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		return fail.Configf("%s: GitHub rejected the token (HTTP 401%s): pass a valid github-token", op, msg)
	case s == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0":
		return fail.Transientf("%s: GitHub API rate limit exhausted (HTTP 403%s); retry after %s", op, msg, resp.Header.Get("X-RateLimit-Reset"))
	case s == http.StatusForbidden:
		return fail.Configf("%s: GitHub refused (HTTP 403%s): add 'permissions: contents: write' to the job, or give the token the Contents repository permission (write)", op, msg)
	case s == http.StatusNotFound:
		return fail.Configf("%s: not found in %s/%s at %s (HTTP 404%s): create the release of tag %s first (e.g. gh release create %s), and check the token can see the repository", op, g.owner, g.repo, g.o.APIURL, msg, g.tag, g.tag)
	case s == http.StatusUnprocessableEntity:
		return fail.Configf("%s: GitHub rejected the request (HTTP 422%s)", op, msg)
	case s == http.StatusTooManyRequests || s >= 500:
		return fail.Transientf("%s: GitHub answered HTTP %d%s after retries", op, s, msg)
	}
	return fail.Transientf("%s: unexpected HTTP %d%s", op, resp.StatusCode, msg)
}

// redactURL removes the token and query strings from a message.
func redactURL(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, "***")
	}
	return queryRE.ReplaceAllString(s, "?…")
}

var queryRE = regexp.MustCompile(`\?[^\s"]*`)
