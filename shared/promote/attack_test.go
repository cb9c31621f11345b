package promote_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/retry"
)

// TestAttackRedirectLeaksJobToken: the releases API (GET
// /repos/{owner}/{repo}/releases/tags/{tag}) answers with a redirect to
// another origin (same host, another port: Go's client keeps Authorization).
// The token must not follow it.
func TestAttackRedirectLeaksJobToken(t *testing.T) {
	const token = "ghs_promoteAttackToken0123456789"
	var mu sync.Mutex
	hits, leaked := 0, []string{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits++
		for k, v := range r.Header {
			if strings.Contains(strings.Join(v, ","), token) {
				leaked = append(leaked, k)
			}
		}
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	up, err := promote.NewGitHubRelease("paved-dev/demo", "v1.0.0", promote.GitHubReleaseOptions{APIURL: api.URL, Token: token,
		Retry: retry.Options{Sleep: func(context.Context, time.Duration) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Check(context.Background()); err == nil {
		t.Fatal("Check passed against a release that does not exist")
	}
	mu.Lock()
	defer mu.Unlock()
	if hits == 0 {
		t.Fatal("the redirect was not followed; the test checks nothing")
	}
	if len(leaked) > 0 {
		t.Errorf("the GitHub token went to another origin in %v", leaked)
	}
}
