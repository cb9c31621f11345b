package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/githubapi"
	"github.com/paved-dev/paved/shared/store"
)

const ghToken = "ghs_testtoken0123456789abcdefghijklmnop"

// fakeGitHub implements the artifact attestations endpoints as GitHub's public
// REST API documentation describes them ("REST API endpoints for artifact
// attestations" / repository attestations, API version 2022-11-28):
//
//   - POST /repos/{owner}/{repo}/attestations with {"bundle": {...}}: 201 and
//     {"id": N}; 403 without the attestations write permission; 422 when the
//     bundle fails validation ({"message": ..., "errors": [...]}); 404 for an
//     unknown repository.
//   - GET /repos/{owner}/{repo}/attestations/{subject_digest}: 200 and
//     {"attestations": [{"bundle": ..., "repository_id": N, "bundle_url": ...}]},
//     paginated with per_page and an opaque after cursor announced in a Link
//     header (rel="next"), as "Using pagination in the REST API" describes.
//     In bundle_url mode the bundle is left out and served snappy-compressed
//     from a second origin, as newer API versions do.
//   - 429 and 5xx with Retry-After, as "Rate limits for the REST API" describes.
type fakeGitHub struct {
	t         *testing.T
	mu        sync.Mutex
	repo      string
	items     []ghItem
	pageSize  int
	bundleURL bool
	// fail answers the next requests of a method with these statuses.
	fail      map[string][]int
	forbidden bool
	blobs     *httptest.Server
	srv       *httptest.Server
	posts     int
	sawToken  []string // Authorization headers the blob origin received
}

type ghItem struct {
	id      int
	digests []string
	bundle  json.RawMessage
}

func newFakeGitHub(t *testing.T, repo string) *fakeGitHub {
	f := &fakeGitHub{t: t, repo: repo, pageSize: 2, fail: map[string][]int{}}
	f.blobs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sawToken = append(f.sawToken, r.Header.Get("Authorization"))
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/blob/"))
		for _, it := range f.items {
			if it.id == id {
				w.Header().Set("Content-Type", "application/x-snappy")
				w.Write(snappy.Encode(nil, it.bundle))
				return
			}
		}
		http.NotFound(w, r)
	}))
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() { f.srv.Close(); f.blobs.Close() })
	return f
}

func (f *fakeGitHub) jsonError(w http.ResponseWriter, status int, msg string, errs ...any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg, "errors": errs, "documentation_url": "https://docs.github.com/rest/repos/attestations", "status": strconv.Itoa(status)})
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.fail[r.Method]; len(q) > 0 {
		f.fail[r.Method] = q[1:]
		w.Header().Set("Retry-After", "0")
		f.jsonError(w, q[0], "try again")
		return
	}
	if r.Header.Get("X-GitHub-Api-Version") != githubapi.APIVersion || r.Header.Get("Accept") != "application/vnd.github+json" {
		f.jsonError(w, http.StatusBadRequest, "missing API version or Accept headers")
		return
	}
	prefix := "/api/v3/repos/" + f.repo + "/attestations"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		f.jsonError(w, http.StatusNotFound, "Not Found")
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodPost && rest == "":
		if r.Header.Get("Authorization") != "Bearer "+ghToken {
			f.jsonError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if f.forbidden {
			f.jsonError(w, http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		var req struct {
			Bundle json.RawMessage `json:"bundle"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &req) != nil {
			f.jsonError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		b, err := store.Parse(req.Bundle)
		if err != nil {
			f.jsonError(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "Attestation", "field": "bundle", "code": "invalid", "message": "bundle is not a valid Sigstore bundle"})
			return
		}
		f.posts++
		id := 1000 + len(f.items)
		f.items = append(f.items, ghItem{id: id, digests: b.Subjects, bundle: req.Bundle})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d}`, id)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/sha256:"):
		digest := strings.TrimPrefix(rest, "/")
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 || per > f.pageSize {
			per = f.pageSize
		}
		var matches []ghItem
		for _, it := range f.items {
			for _, d := range it.digests {
				if d == digest {
					matches = append(matches, it)
				}
			}
		}
		if len(matches) == 0 {
			f.jsonError(w, http.StatusNotFound, "Not Found")
			return
		}
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		end := min(after+per, len(matches))
		var out []map[string]any
		for _, it := range matches[after:end] {
			a := map[string]any{"repository_id": 42}
			if f.bundleURL {
				a["bundle"] = nil
				a["bundle_url"] = fmt.Sprintf("%s/blob/%d?sig=secret", f.blobs.URL, it.id)
			} else {
				a["bundle"] = it.bundle
			}
			out = append(out, a)
		}
		if end < len(matches) {
			next := fmt.Sprintf("%s%s?per_page=%d&after=%d", f.srv.URL, r.URL.Path, per, end)
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"attestations": out})
	default:
		f.jsonError(w, http.StatusNotFound, "Not Found")
	}
}

func (f *fakeGitHub) target(t *testing.T, token string) *store.GitHub {
	t.Helper()
	g, err := store.NewGitHub(f.repo, store.GitHubOptions{APIURL: f.srv.URL + "/api/v3", ServerURL: "https://ghes.example", Token: token, HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGitHubAttestations(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"inline bundle", "bundle_url"} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeGitHub(t, "paved-dev/demo")
			f.bundleURL = mode == "bundle_url"
			g := f.target(t, ghToken)
			d := randomDigest()
			// Earlier attestations of the same artifact fill more than one page.
			var earlier []store.Bundle
			for range 3 {
				b := fakeBundle(t, slsa, d)
				earlier = append(earlier, b)
				if _, err := g.Put(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			b := fakeBundle(t, slsa, d, randomDigest())
			f.fail[http.MethodPost] = []int{502, 429}
			r, err := g.Put(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != "1003" || r.URL != "https://ghes.example/paved-dev/demo/attestations/1003" || r.Existed {
				t.Fatalf("receipt %+v", r)
			}
			if r.Outputs[store.OutputAttestationID] != r.ID || r.Outputs[store.OutputAttestationURL] != r.URL || len(r.Outputs) != 2 {
				t.Fatalf("receipt outputs %v", r.Outputs)
			}
			again, err := g.Put(ctx, b)
			if err != nil || !again.Existed || f.posts != 4 {
				t.Fatalf("re-run: %+v, %v, %d posts", again, err, f.posts)
			}
			f.fail[http.MethodGet] = []int{503}
			got, err := g.Fetch(ctx, d)
			if err != nil || len(got) != 4 {
				t.Fatalf("Fetch: %d bundles, %v", len(got), err)
			}
			for i, e := range earlier {
				if pb, _ := store.Parse(got[i]); pb.Key() != e.Key() {
					t.Fatalf("bundle %d differs", i)
				}
			}
			for _, h := range f.sawToken {
				if h != "" {
					t.Fatal("the token was sent to the bundle_url origin")
				}
			}
			if none, err := g.Fetch(ctx, randomDigest()); err != nil || len(none) != 0 {
				t.Fatalf("unknown digest: %d, %v", len(none), err)
			}
		})
	}
}

func TestGitHubErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		setup   func(f *fakeGitHub)
		repo    string
		token   string
		bundle  func(t *testing.T) store.Bundle
		class   fail.Class
		message string
		// noAccess: the answer says the token may not write there
		// (store.ErrNoAccess), which attest's default storage warns about.
		noAccess bool
	}{
		{name: "403 names the permission", setup: func(f *fakeGitHub) { f.forbidden = true }, class: fail.Config, message: "permissions: attestations: write", noAccess: true},
		{name: "401 bad token", token: "ghs_wrong_wrong_wrong_wrong", class: fail.Config, message: "rejected the token", noAccess: true},
		{name: "404 unknown repository", repo: "paved-dev/other", class: fail.Config, message: "repository paved-dev/other not found", noAccess: true},
		{name: "422 says what was rejected", bundle: func(t *testing.T) store.Bundle {
			b := fakeBundle(t, slsa, randomDigest())
			b.JSON = []byte(`{"mediaType":"nonsense"}`)
			return b
		}, class: fail.Config, message: "field=bundle code=invalid message=bundle is not a valid Sigstore bundle"},
		{name: "5xx exhausted retries", setup: func(f *fakeGitHub) { f.fail[http.MethodPost] = []int{500, 502, 503, 500} }, class: fail.Transient, message: "HTTP 500"},
		{name: "429 exhausted retries", setup: func(f *fakeGitHub) { f.fail[http.MethodGet] = []int{429, 429, 429, 429} }, class: fail.Transient, message: "HTTP 429"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, "paved-dev/demo")
			if tc.setup != nil {
				tc.setup(f)
			}
			token := ghToken
			if tc.token != "" {
				token = tc.token
			}
			repo := f.repo
			if tc.repo != "" {
				f.repo = "paved-dev/demo"
				repo = tc.repo
			}
			g, err := store.NewGitHub(repo, store.GitHubOptions{APIURL: f.srv.URL + "/api/v3", Token: token, HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Sleep: noSleep})
			if err != nil {
				t.Fatal(err)
			}
			b := fakeBundle(t, slsa, randomDigest())
			if tc.bundle != nil {
				b = tc.bundle(t)
			}
			_, err = g.Put(ctx, b)
			if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("got %v (class %v), want %v containing %q", err, fail.ClassOf(err), tc.class, tc.message)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatal("the token is in the error")
			}
			if got := errors.Is(err, store.ErrNoAccess); got != tc.noAccess {
				t.Fatalf("errors.Is(err, ErrNoAccess) = %v, want %v: %v", got, tc.noAccess, err)
			}
		})
	}
	if _, err := store.NewGitHub("no-slash", store.GitHubOptions{}); fail.ClassOf(err) != fail.Config {
		t.Fatalf("bad repository: %v", err)
	}
}
