package promote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/promote/promotetest"
	"github.com/paved-dev/paved/shared/retry"
)

const ghToken = "ghs_releaseTestToken0123456789abcdef"

// roundTrip adapts a function to http.RoundTripper.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func attestedFile(t *testing.T, content string) *promote.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.tar.gz")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	f, err := promote.OpenAttested(context.Background(), p, []string{"sha256:" + hex.EncodeToString(sum[:])}, promote.FileOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestGitHubReleaseUpload runs the release asset upload against a server that
// follows GitHub's REST documentation for releases and release assets (see
// package promotetest): the happy path, reruns, existing assets, pagination,
// races, faults and refusals.
func TestGitHubReleaseUpload(t *testing.T) {
	const content = "release bytes v1\n"
	noSleep := retry.Options{Sleep: func(context.Context, time.Duration) error { return nil }}
	tests := []struct {
		name   string
		setup  func(g *promotetest.GitHubReleases)
		token  string
		tag    string
		wrap   func(g *promotetest.GitHubReleases, next http.RoundTripper) http.RoundTripper
		class  fail.Class
		msg    string
		exists bool
		sent   int
		stored string // the asset's bytes afterwards ("" = no asset)
	}{
		{name: "uploaded and read back", sent: 1, stored: content},
		{name: "same bytes already there", setup: func(g *promotetest.GitHubReleases) { g.AddAsset("v1.0.0", "app.tar.gz", []byte(content)) }, exists: true, stored: content},
		{name: "same bytes, asset from before digests", setup: func(g *promotetest.GitHubReleases) {
			g.AddAsset("v1.0.0", "app.tar.gz", []byte(content))
			g.SetFaults(promotetest.Faults{NoDigest: true})
		}, exists: true, stored: content},
		{name: "found on a later page", setup: func(g *promotetest.GitHubReleases) {
			for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
				g.AddAsset("v1.0.0", n, []byte(n))
			}
			g.AddAsset("v1.0.0", "app.tar.gz", []byte(content))
			g.SetFaults(promotetest.Faults{PerPage: 1})
		}, exists: true, stored: content},
		{name: "different bytes under the name", setup: func(g *promotetest.GitHubReleases) { g.AddAsset("v1.0.0", "app.tar.gz", []byte("rebuilt\n")) },
			class: fail.Verification, msg: "already has a different app.tar.gz", stored: "rebuilt\n"},
		{name: "different bytes, asset from before digests", setup: func(g *promotetest.GitHubReleases) {
			g.AddAsset("v1.0.0", "app.tar.gz", []byte("rebuilt, and longer than the attested file\n"))
			g.SetFaults(promotetest.Faults{NoDigest: true})
		}, class: fail.Verification, msg: "already has a different app.tar.gz", stored: "rebuilt, and longer than the attested file\n"},
		{name: "interrupted upload left behind", setup: func(g *promotetest.GitHubReleases) { g.AddInterrupted("v1.0.0", "app.tar.gz") },
			class: fail.Verification, msg: `in state "starter"`},
		{name: "no release for the tag", tag: "v9.9.9", class: fail.Config, msg: "create the release of tag v9.9.9 first"},
		{name: "token without contents write", setup: func(g *promotetest.GitHubReleases) { g.SetFaults(promotetest.Faults{Forbidden: true}) },
			class: fail.Config, msg: "permissions: contents: write"},
		{name: "bad token", token: "ghs_wrong", class: fail.Config, msg: "HTTP 401"},
		{name: "storage alters the bytes", setup: func(g *promotetest.GitHubReleases) { g.SetFaults(promotetest.Faults{Alter: true}) },
			class: fail.Verification, msg: "the bytes were altered on the way", sent: 1, stored: "release bytes v1\x0b"},
		{name: "storage alters the bytes, no digest reported", setup: func(g *promotetest.GitHubReleases) { g.SetFaults(promotetest.Faults{Alter: true, NoDigest: true}) },
			class: fail.Verification, msg: "read back from GitHub release", sent: 1, stored: "release bytes v1\x0b"},
		{name: "another job uploads the same bytes first (422 already_exists)", wrap: func(g *promotetest.GitHubReleases, next http.RoundTripper) http.RoundTripper {
			return roundTrip(func(r *http.Request) (*http.Response, error) {
				if r.Method == http.MethodPost {
					g.AddAsset("v1.0.0", "app.tar.gz", []byte(content))
				}
				return next.RoundTrip(r)
			})
		}, exists: true, stored: content},
		{name: "another job uploads other bytes first (422 already_exists)", wrap: func(g *promotetest.GitHubReleases, next http.RoundTripper) http.RoundTripper {
			return roundTrip(func(r *http.Request) (*http.Response, error) {
				if r.Method == http.MethodPost {
					g.AddAsset("v1.0.0", "app.tar.gz", []byte("other\n"))
				}
				return next.RoundTrip(r)
			})
		}, class: fail.Verification, msg: "already has a different app.tar.gz", stored: "other\n"},
		{name: "upload retried after 502 sends the whole file again", wrap: func(g *promotetest.GitHubReleases, next http.RoundTripper) http.RoundTripper {
			var failed atomic.Bool
			return roundTrip(func(r *http.Request) (*http.Response, error) {
				if r.Method == http.MethodPost && !failed.Swap(true) {
					io.Copy(io.Discard, r.Body)
					return &http.Response{StatusCode: http.StatusBadGateway, Body: io.NopCloser(strings.NewReader(`{"message":"Bad Gateway"}`)), Header: http.Header{}, Request: r}, nil
				}
				return next.RoundTrip(r)
			})
		}, sent: 1, stored: content},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := promotetest.NewGitHubReleases("paved-dev", "demo", ghToken)
			defer g.Close()
			g.CreateRelease("v1.0.0")
			if tc.setup != nil {
				tc.setup(g)
			}
			token, tag := ghToken, "v1.0.0"
			if tc.token != "" {
				token = tc.token
			}
			if tc.tag != "" {
				tag = tc.tag
			}
			var tr http.RoundTripper = http.DefaultTransport
			if tc.wrap != nil {
				tr = tc.wrap(g, tr)
			}
			up, err := promote.NewGitHubRelease("paved-dev/demo", tag, promote.GitHubReleaseOptions{APIURL: g.API.URL, Token: token, Transport: tr, Retry: noSleep})
			if err != nil {
				t.Fatal(err)
			}
			f := attestedFile(t, content)
			res, err := up.Upload(context.Background(), "app.tar.gz", f)
			if tc.msg != "" {
				if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("got %v (%s), want a %s error mentioning %q", err, fail.ClassOf(err), tc.class, tc.msg)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if res.Digest != f.Digest || res.Existed != tc.exists || !strings.HasSuffix(res.URL, "/app.tar.gz") {
					t.Fatalf("result %+v, want digest %s existed %v", res, f.Digest, tc.exists)
				}
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Fatal("the token appears in the error")
			}
			if got := g.UploadCount(); got != tc.sent {
				t.Errorf("%d uploads stored, want %d", got, tc.sent)
			}
			data, ok := g.Asset(tag, "app.tar.gz")
			if tc.stored == "" && ok && len(data) > 0 {
				t.Errorf("an asset was stored: %q", data)
			}
			if tc.stored != "" && !bytes.Equal(data, []byte(tc.stored)) {
				t.Errorf("asset holds %q, want %q", data, tc.stored)
			}
		})
	}
}

func TestParseFileDestination(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want promote.FileDestination
		err  string
	}{
		{"registry.example.com/team/app:1.0", false, promote.FileDestination{}, ""},
		{"github-release://paved-dev/demo@v1.0.0", true, promote.FileDestination{Kind: promote.GitHubRelease, Repository: "paved-dev/demo", Tag: "v1.0.0"}, ""},
		{"github-release://paved-dev/demo@release/2026-01", true, promote.FileDestination{Kind: promote.GitHubRelease, Repository: "paved-dev/demo", Tag: "release/2026-01"}, ""},
		{"github-release://paved-dev/demo", true, promote.FileDestination{}, "OWNER/REPO@TAG"},
		{"github-release://demo@v1", true, promote.FileDestination{}, "OWNER/REPO@TAG"},
		{"gitlab-package://app@1.2.3", true, promote.FileDestination{Kind: promote.GitLabPackage, Package: "app", Version: "1.2.3"}, ""},
		{"gitlab-package://app", true, promote.FileDestination{Kind: promote.GitLabPackage, Package: "app"}, ""},
		{"gitlab-package://a/b@1", true, promote.FileDestination{}, "NAME[@VERSION]"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, ok, err := promote.ParseFileDestination(tc.in)
			if ok != tc.ok || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("ok %v err %v, want ok %v err %q", ok, err, tc.ok, tc.err)
			}
			if err == nil && d != tc.want {
				t.Fatalf("got %+v, want %+v", d, tc.want)
			}
			if err == nil && ok && d.String() != strings.TrimSuffix(tc.in, "@") {
				t.Fatalf("String() = %s", d.String())
			}
		})
	}
}
