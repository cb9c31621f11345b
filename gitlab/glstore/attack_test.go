package glstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

// TestAttackRedirectLeaksJobToken: GitLab may answer a generic package
// download with a redirect to object storage; a hostile or compromised
// instance can point it at any origin. The job token must not go there.
func TestAttackRedirectLeaksJobToken(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	var hits int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		for k, v := range r.Header {
			if strings.Contains(strings.Join(v, ","), jobToken) {
				leaked = append(leaked, k)
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	// The instance: package file downloads redirect, as with object storage
	// (GET /projects/:id/packages/generic/:package/:version/:file).
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("JOB-TOKEN") != jobToken {
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v4/projects/42/packages/generic/") {
			http.Redirect(w, r, other.URL+"/bucket"+r.URL.Path, http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}))
	defer api.Close()

	g, err := glstore.New(glstore.Options{APIURL: api.URL + "/api/v4", Project: "42", JobToken: jobToken, Package: "attestations", Version: "1.2.3",
		HTTPOptions: store.HTTPOptions{Retry: retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Fetch(context.Background(), digest()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits == 0 {
		t.Fatal("the redirect was not followed; the test checks nothing")
	}
	if len(leaked) > 0 {
		t.Errorf("the job token went to another origin in %v", leaked)
	}
}
