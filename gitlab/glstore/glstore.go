// Package glstore stores Sigstore bundles in a GitLab project's generic package
// registry with the CI job token, links them from the release of a tag, and
// fetches them again by artifact digest. It plugs into the core as a
// store.Writer and store.Fetcher.
package glstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/origin"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

// maxIndex bounds one digest's JSON Lines file in the package.
const maxIndex = 64 << 20

// Options configure the GitLab target. Project, Package, Version and JobToken
// are required.
type Options struct {
	// APIURL is the v4 API base, CI_API_V4_URL (self-managed instances included).
	APIURL string
	// Project is the project ID or path, CI_PROJECT_ID.
	Project string
	// JobToken is CI_JOB_TOKEN, sent as the JOB-TOKEN header.
	JobToken string
	// Package and Version name the generic package the bundles go to.
	Package, Version string
	// Tag is CI_COMMIT_TAG: when set, the bundle is linked from that tag's release.
	Tag string
	store.HTTPOptions
}

// GitLab is the generic package registry target.
type GitLab struct {
	c *gitlab.Client
	o Options
}

var (
	_ store.Writer  = (*GitLab)(nil)
	_ store.Fetcher = (*GitLab)(nil)
)

var packageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// New returns the target. The token is never part of an error it returns.
func New(o Options) (*GitLab, error) {
	switch {
	case o.APIURL == "":
		return nil, fail.Configf("GitLab package registry: CI_API_V4_URL is not set (run inside a GitLab CI/CD job)")
	case o.Project == "":
		return nil, fail.Configf("GitLab package registry: CI_PROJECT_ID is not set (run inside a GitLab CI/CD job)")
	case o.JobToken == "":
		return nil, fail.Configf("GitLab package registry: CI_JOB_TOKEN is not set (run inside a GitLab CI/CD job)")
	case !packageName.MatchString(o.Package):
		return nil, fail.Configf("gitlab-package %q: use letters, digits, '.', '_', '-' and '+'", o.Package)
	case !packageName.MatchString(o.Version):
		return nil, fail.Configf("gitlab-package-version %q: use letters, digits, '.', '_', '-' and '+' (default: the tag or the commit SHA)", o.Version)
	}
	c, err := gitlab.NewJobClient(o.JobToken,
		gitlab.WithBaseURL(o.APIURL),
		// The JOB-TOKEN header never follows a redirect to another origin.
		gitlab.WithHTTPClient(origin.Client(retry.Over(o.Transport, o.Retry))),
		gitlab.WithoutRetries())
	if err != nil {
		return nil, fail.Configf("GitLab API URL %q: %v", o.APIURL, redact(err, o.JobToken))
	}
	return &GitLab{c: c, o: o}, nil
}

// Name implements store.Writer.
func (g *GitLab) Name() string { return "GitLab package registry" }

// indexFile is the package file listing every bundle about digest, one per line.
func indexFile(digest string) string {
	return strings.Replace(strings.ToLower(digest), ":", "-", 1) + ".jsonl"
}

// bundleFile is the package file holding one bundle, named by its content.
func bundleFile(b store.Bundle) string { return "attestation-" + b.Key()[:32] + ".sigstore.json" }

// URL is where the package registry serves a file of the package.
func (g *GitLab) URL(file string) string {
	return fmt.Sprintf("%s/projects/%s/packages/generic/%s/%s/%s", strings.TrimRight(g.o.APIURL, "/"),
		url.PathEscape(g.o.Project), url.PathEscape(g.o.Package), url.PathEscape(g.o.Version), url.PathEscape(file))
}

// Put implements store.Writer: the bundle is uploaded as its own file and
// added to the JSON Lines file of each of its subjects, each read back; with a
// tag, the bundle file is linked from the release once.
func (g *GitLab) Put(ctx context.Context, b store.Bundle) (store.Receipt, error) {
	name := bundleFile(b)
	r := store.Receipt{Target: g.Name(), ID: name, URL: g.URL(name), Existed: true}
	r.Outputs = map[string]string{store.OutputGitLabPackageURL: r.URL}
	cur, err := g.download(ctx, name)
	if err != nil {
		return store.Receipt{}, err
	}
	if !b.SameAs(cur) {
		r.Existed = false
		if err := g.upload(ctx, name, b.JSON); err != nil {
			return store.Receipt{}, err
		}
		if back, err := g.download(ctx, name); err != nil || !b.SameAs(back) {
			return store.Receipt{}, errors.Join(fail.Transientf("reading back %s from the package registry: the bundle uploaded is not there", name), err)
		}
	}
	r.Locations = append(r.Locations, r.URL)
	for _, d := range b.Subjects {
		file := indexFile(d)
		existed, err := g.addLine(ctx, file, b)
		if err != nil {
			return store.Receipt{}, err
		}
		r.Existed = r.Existed && existed
		r.Locations = append(r.Locations, g.URL(file))
	}
	if g.o.Tag != "" {
		if err := g.link(ctx, r.URL, name, gitlab.OtherLinkType); err != nil {
			return store.Receipt{}, err
		}
	}
	return r, nil
}

// addLine adds b to a JSON Lines package file unless it is there already.
func (g *GitLab) addLine(ctx context.Context, file string, b store.Bundle) (bool, error) {
	cur, err := g.download(ctx, file)
	if err != nil {
		return false, err
	}
	if containsBundle(cur, b) {
		return true, nil
	}
	var line bytes.Buffer
	if err := compact(&line, b.JSON); err != nil {
		return false, err
	}
	data := append(bytes.TrimRight(cur, "\n"), '\n')
	if len(cur) == 0 {
		data = nil
	}
	data = append(append(data, line.Bytes()...), '\n')
	if err := g.upload(ctx, file, data); err != nil {
		return false, err
	}
	back, err := g.download(ctx, file)
	if err != nil {
		return false, err
	}
	if !containsBundle(back, b) {
		return false, fail.Transientf("reading back %s from the package registry: the bundle added is not there", file)
	}
	return false, nil
}

// link adds the bundle to the tag's release unless a link to it exists.
// noRelease is the error for a tag whose release the job cannot see.
func (g *GitLab) noRelease(op string, err error) error {
	return fail.Configf("%s: the tag %s has no release the job can see (HTTP %d): create the release before this job runs (a release job in an earlier stage)", op, g.o.Tag, status(err))
}

func (g *GitLab) link(ctx context.Context, u, name string, lt gitlab.LinkTypeValue) error {
	links, _, err := g.c.ReleaseLinks.ListReleaseLinks(g.o.Project, g.o.Tag, &gitlab.ListReleaseLinksOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}, gitlab.WithContext(ctx))
	if err != nil {
		if status(err) == http.StatusNotFound || status(err) == http.StatusForbidden {
			return g.noRelease("linking "+name+" from the release of tag "+g.o.Tag, err)
		}
		return g.apiError("listing release links", err)
	}
	for _, l := range links {
		if l.URL == u {
			return nil
		}
	}
	if _, _, err := g.c.ReleaseLinks.CreateReleaseLink(g.o.Project, g.o.Tag, &gitlab.CreateReleaseLinkOptions{Name: &name, URL: &u, LinkType: &lt}, gitlab.WithContext(ctx)); err != nil {
		return g.apiError("linking "+name+" from the release of "+g.o.Tag, err)
	}
	return nil
}

// Fetch implements store.Fetcher: the bundles the package holds about digest.
func (g *GitLab) Fetch(ctx context.Context, digest string) ([][]byte, error) {
	data, err := g.download(ctx, indexFile(digest))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if b, err := store.Parse(l); err == nil && b.About(digest) {
			out = append(out, l)
		}
	}
	return out, nil
}

// download returns a package file, or nil when there is none. It reads at most
// maxIndex bytes: the registry's answer is untrusted and is held in memory.
func (g *GitLab) download(ctx context.Context, file string) ([]byte, error) {
	path, err := g.c.GenericPackages.FormatPackageURL(g.o.Project, g.o.Package, g.o.Version, file)
	if err != nil {
		return nil, fail.Configf("package file name %q: %v", file, err)
	}
	// The client drains a body before closing it: cancelling the request is
	// what stops the read at the bound.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := g.c.NewRequest(http.MethodGet, path, nil, []gitlab.RequestOptionFunc{gitlab.WithContext(ctx)})
	if err != nil {
		return nil, fail.Configf("GitLab request: %v", redact(err, g.o.JobToken))
	}
	buf := &boundedBuffer{left: maxIndex, stop: cancel}
	_, err = g.c.Do(req, buf)
	switch {
	case status(err) == http.StatusNotFound:
		return nil, nil
	case errors.Is(err, errTooLarge):
		return nil, fail.Verificationf("%s in the package registry is larger than %d bytes", file, maxIndex)
	case err != nil:
		return nil, g.apiError("downloading "+file+" from the package registry", err)
	}
	return buf.b.Bytes(), nil
}

// boundedBuffer keeps what is written to it and, beyond left bytes, calls
// stop and fails.
type boundedBuffer struct {
	b    bytes.Buffer
	left int64
	stop func()
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if int64(len(p)) > b.left {
		b.stop()
		return 0, errTooLarge
	}
	b.left -= int64(len(p))
	return b.b.Write(p)
}

func (g *GitLab) upload(ctx context.Context, file string, data []byte) error {
	_, _, err := g.c.GenericPackages.PublishPackageFile(g.o.Project, g.o.Package, g.o.Version, file, bytes.NewReader(data), nil, gitlab.WithContext(ctx))
	if err != nil {
		return g.apiError("uploading "+file+" to the package registry", err)
	}
	return nil
}

// apiError classifies a GitLab API failure and names the fix.
func (g *GitLab) apiError(op string, err error) error {
	err = redact(err, g.o.JobToken)
	switch s := status(err); {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fail.Configf("%s: GitLab refused the job token (HTTP %d): enable the project's package registry, and make sure the pipeline's user has at least the Developer role in project %s: %v", op, s, g.o.Project, err)
	case s == http.StatusNotFound:
		return fail.Configf("%s: project %s or its package registry not found at %s (HTTP 404): check CI_API_V4_URL and that the package registry is enabled: %v", op, g.o.Project, g.o.APIURL, err)
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return fail.Configf("%s: GitLab rejected the request (HTTP %d): %v", op, s, err)
	}
	return fail.As(fail.Transient, fmt.Errorf("%s: %w", op, err))
}

func status(err error) int {
	var er *gitlab.ErrorResponse
	if errors.As(err, &er) {
		if er.Response != nil {
			return er.Response.StatusCode
		}
		return er.StatusCode
	}
	return 0
}

func containsBundle(data []byte, b store.Bundle) bool {
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && b.SameAs(l) {
			return true
		}
	}
	return false
}

// redact removes the token from an error's text, keeping errors.As working.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), token, "***"), err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

func compact(dst *bytes.Buffer, src []byte) error {
	if err := json.Compact(dst, src); err != nil {
		return fmt.Errorf("bundle is not JSON: %w", err)
	}
	return nil
}
