package glstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

const jobToken = "glcbt-64_testjobtoken0123456789"

// fakeGitLab speaks the GitLab REST API v4 endpoints Paved uses, as GitLab's
// public documentation describes them:
//
//   - Generic packages ("GitLab generic packages repository"): PUT
//     /projects/:id/packages/generic/:package_name/:package_version/:file_name
//     answers 201 {"message":"201 Created"}; GET of the same path returns the
//     newest file of that name or 404 {"message":"404 Not Found"}; the job
//     token travels in the JOB-TOKEN header; 401/403 without access.
//   - Release links ("Release links API"): GET and POST
//     /projects/:id/releases/:tag_name/assets/links; 404 when the tag has no
//     release; POST answers 201 with the link.
//   - Rate limits: 429 with Retry-After; 5xx for outages.
type fakeGitLab struct {
	mu       sync.Mutex
	files    map[string][]byte
	uploads  int
	releases map[string][]map[string]any
	fail     []int
	failPut  []int
	denied   bool
	srv      *httptest.Server
}

func newFakeGitLab(t *testing.T) *fakeGitLab {
	f := &fakeGitLab{files: map[string][]byte{}, releases: map[string][]map[string]any{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func msg(w http.ResponseWriter, status int, m string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": m})
}

func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fail) > 0 {
		s := f.fail[0]
		f.fail = f.fail[1:]
		w.Header().Set("Retry-After", "0")
		msg(w, s, fmt.Sprintf("%d", s))
		return
	}
	if len(f.failPut) > 0 && r.Method == http.MethodPut {
		s := f.failPut[0]
		f.failPut = f.failPut[1:]
		w.Header().Set("Retry-After", "0")
		msg(w, s, fmt.Sprintf("%d", s))
		return
	}
	if r.Header.Get("JOB-TOKEN") != jobToken {
		msg(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	if f.denied {
		msg(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	path := r.URL.EscapedPath()
	const pkgs = "/api/v4/projects/42/packages/generic/"
	const rels = "/api/v4/projects/42/releases/"
	switch {
	case strings.HasPrefix(path, pkgs):
		key := strings.TrimPrefix(path, pkgs)
		if strings.Count(key, "/") != 2 {
			msg(w, http.StatusBadRequest, "400 Bad request")
			return
		}
		switch r.Method {
		case http.MethodPut:
			data, _ := io.ReadAll(r.Body)
			f.files[key] = data
			f.uploads++
			msg(w, http.StatusCreated, "201 Created")
		case http.MethodGet:
			data, ok := f.files[key]
			if !ok {
				msg(w, http.StatusNotFound, "404 Not Found")
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(data)
		default:
			msg(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		}
	case strings.HasPrefix(path, rels) && strings.HasSuffix(path, "/assets/links"):
		tag, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(path, rels), "/assets/links"))
		links, ok := f.releases[tag]
		if !ok {
			msg(w, http.StatusNotFound, "404 Not Found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			var in map[string]any
			json.NewDecoder(r.Body).Decode(&in)
			in["id"] = len(links) + 1
			f.releases[tag] = append(links, in)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(in)
			return
		}
		json.NewEncoder(w).Encode(links)
	default:
		msg(w, http.StatusNotFound, "404 Not Found")
	}
}

func bundle(t *testing.T, digests ...string) store.Bundle {
	t.Helper()
	var subjects []map[string]any
	for _, d := range digests {
		subjects = append(subjects, map[string]any{"name": "a", "digest": map[string]string{"sha256": strings.TrimPrefix(d, "sha256:")}})
	}
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]any{}})
	sig := make([]byte, 64)
	rand.Read(sig)
	data, _ := json.MarshalIndent(map[string]any{"mediaType": store.BundleMediaType, "dsseEnvelope": map[string]any{
		"payload": base64.StdEncoding.EncodeToString(stmt), "payloadType": "application/vnd.in-toto+json",
		"signatures": []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}}}}, "", "  ")
	b, err := store.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digest() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "sha256:" + hex.EncodeToString(b)
}

func target(t *testing.T, f *fakeGitLab, tag string) *glstore.GitLab {
	t.Helper()
	g, err := glstore.New(glstore.Options{APIURL: f.srv.URL + "/api/v4", Project: "42", JobToken: jobToken, Package: "attestations", Version: "1.2.3", Tag: tag,
		HTTPOptions: store.HTTPOptions{Retry: retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPutReadBackFetch(t *testing.T) {
	ctx := context.Background()
	f := newFakeGitLab(t)
	f.releases["v1.2.3"] = nil
	g := target(t, f, "v1.2.3")
	d := digest()
	b1, b2 := bundle(t, d), bundle(t, d, digest())
	f.fail = []int{429, 503}
	r, err := g.Put(ctx, b1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Existed || !strings.HasSuffix(r.URL, "/projects/42/packages/generic/attestations/1.2.3/"+r.ID) || len(r.Locations) != 2 {
		t.Fatalf("receipt %+v", r)
	}
	f.failPut = []int{502, 429}
	if _, err := g.Put(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if len(f.failPut) != 0 {
		t.Fatal("the upload faults were not met")
	}
	uploads := f.uploads
	again, err := g.Put(ctx, b1)
	if err != nil || !again.Existed || f.uploads != uploads {
		t.Fatalf("re-run uploaded again: %+v, %v", again, err)
	}
	got, err := g.Fetch(ctx, d)
	if err != nil || len(got) != 2 {
		t.Fatalf("Fetch: %d, %v", len(got), err)
	}
	if p, _ := store.Parse(got[0]); p.Key() != b1.Key() {
		t.Fatal("first fetched bundle is not the first stored")
	}
	if links := f.releases["v1.2.3"]; len(links) != 2 || links[0]["url"] != r.URL || links[0]["link_type"] != "other" {
		t.Fatalf("release links %v", links)
	}
	if none, err := g.Fetch(ctx, digest()); err != nil || len(none) != 0 {
		t.Fatalf("unknown digest: %d, %v", len(none), err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(f *fakeGitLab)
		tag   string
		class fail.Class
		want  string
	}{
		{"403 names the fix", func(f *fakeGitLab) { f.denied = true }, "", fail.Config, "Developer role"},
		{"no release for the tag", nil, "v9", fail.Config, "create the release before this job"},
		{"429 exhausted", func(f *fakeGitLab) { f.fail = []int{429, 429, 429, 429} }, "", fail.Transient, "429"},
		{"5xx exhausted", func(f *fakeGitLab) { f.fail = []int{500, 502, 503, 500} }, "", fail.Transient, "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitLab(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, err := target(t, f, tc.tag).Put(ctx, bundle(t, digest()))
			if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (class %v), want %v with %q", err, fail.ClassOf(err), tc.class, tc.want)
			}
			if strings.Contains(err.Error(), jobToken) {
				t.Fatal("the job token is in the error")
			}
		})
	}
	f := newFakeGitLab(t)
	for _, o := range []glstore.Options{
		{Project: "42", JobToken: "x", Package: "p", Version: "v"},
		{APIURL: f.srv.URL, JobToken: "x", Package: "p", Version: "v"},
		{APIURL: f.srv.URL, Project: "42", Package: "p", Version: "v"},
		{APIURL: f.srv.URL, Project: "42", JobToken: "x", Package: "../p", Version: "v"},
	} {
		if _, err := glstore.New(o); fail.ClassOf(err) != fail.Config {
			t.Errorf("New(%+v) = %v, want a configuration error", o, err)
		}
	}
}
