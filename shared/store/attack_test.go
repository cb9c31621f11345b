package store_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/store"
)

const attackToken = "ghs_attackTestToken0123456789abcdef"

// leakRecorder serves any request, recording the headers that carried the token.
type leakRecorder struct {
	mu     sync.Mutex
	hits   int
	leaked []string
}

func (l *leakRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hits++
	for k, v := range r.Header {
		if strings.Contains(strings.Join(v, ","), attackToken) {
			l.leaked = append(l.leaked, k)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"attestations":[]}`))
}

// TestAttackRedirectLeaksJobToken: the attestations API (GET
// /repos/{owner}/{repo}/attestations/{subject_digest}) answers with a
// redirect to another origin — the same host on another port, which Go's
// client treats as the same site and sends Authorization to.
func TestAttackRedirectLeaksJobToken(t *testing.T) {
	other := &leakRecorder{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherSrv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	g, err := store.NewGitHub("o/r", store.GitHubOptions{APIURL: api.URL + "/api/v3", Token: attackToken, HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Fetch(context.Background(), "sha256:"+strings.Repeat("ab", 32)); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	other.mu.Lock()
	defer other.mu.Unlock()
	if other.hits == 0 {
		t.Fatal("the redirect was not followed; the test checks nothing")
	}
	if len(other.leaked) > 0 {
		t.Errorf("the GitHub token went to another origin in %v", other.leaked)
	}
}

// TestAttackTokenEchoedInErrorBody: a 401 whose message echoes the token
// (as a proxy or a hostile server may) must not put it in the error.
func TestAttackTokenEchoedInErrorBody(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"Bad credentials: ` + r.Header.Get("Authorization") + `","documentation_url":"https://docs.github.com/rest"}`))
	}))
	defer api.Close()
	g, err := store.NewGitHub("o/r", store.GitHubOptions{APIURL: api.URL, Token: attackToken, HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Fetch(context.Background(), "sha256:"+strings.Repeat("ab", 32))
	if err == nil || fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "Bad credentials") {
		t.Fatalf("want a configuration error quoting GitHub's message, got %v", err)
	}
	if strings.Contains(err.Error(), attackToken) {
		t.Errorf("the token is in the error: %v", err)
	}
}
