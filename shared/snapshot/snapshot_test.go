package snapshot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/sbom"
	"github.com/paved-dev/paved/shared/snapshot"
	"github.com/paved-dev/paved/shared/snapshot/snapshottest"
)

const token = "ghs_snapshotToken0123456789abcdefXYZ"

func valid() snapshot.Snapshot {
	return snapshot.Snapshot{
		Version:  snapshot.Version,
		Job:      snapshot.Job{Correlator: "build_sbom", ID: "42"},
		Sha:      strings.Repeat("ab", 20),
		Ref:      "refs/heads/main",
		Detector: snapshot.Detector{Name: "paved", Version: "1.0.0", URL: "https://github.com/paved-dev/paved"},
		Scanned:  "2026-12-06T05:00:00Z",
		Manifests: snapshot.Build([]sbom.Manifest{{Path: "/go.mod", Packages: []sbom.Dependency{
			{PURL: "pkg:golang/example.com/a@v1.0.0", Direct: true, DependsOn: []string{"pkg:golang/example.com/b@v1.1.0"}},
			{PURL: "pkg:golang/example.com/b@v1.1.0"},
			{PURL: "not-a-purl"},
		}}}, "app", ""),
	}
}

func TestSubmit(t *testing.T) {
	api := snapshottest.New("paved-dev", "demo", token)
	defer api.Close()
	c, err := snapshot.New("paved-dev/demo", snapshot.Options{APIURL: api.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Submit(context.Background(), valid())
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != 1 || r.Result != "SUCCESS" {
		t.Fatalf("result %+v", r)
	}
	got := api.Snapshots()
	if len(got) != 1 {
		t.Fatalf("%d snapshots stored", len(got))
	}
	man := got[0]["manifests"].(map[string]any)["app/go.mod"].(map[string]any)
	if man["file"].(map[string]any)["source_location"] != "app/go.mod" {
		t.Errorf("manifest %v: want source_location app/go.mod", man)
	}
	res := man["resolved"].(map[string]any)
	a := res["pkg:golang/example.com/a@v1.0.0"].(map[string]any)
	b := res["pkg:golang/example.com/b@v1.1.0"].(map[string]any)
	if a["relationship"] != "direct" || b["relationship"] != "indirect" || len(a["dependencies"].([]any)) != 1 || len(res) != 2 {
		t.Errorf("resolved %v: want a direct with b as dependency, b indirect, no invalid purl", res)
	}
}

// TestSubmitRefusesWhatTheAPIWould: a snapshot missing a required field fails
// before any request, naming the field.
func TestSubmitRefusesWhatTheAPIWould(t *testing.T) {
	api := snapshottest.New("paved-dev", "demo", token)
	defer api.Close()
	c, _ := snapshot.New("paved-dev/demo", snapshot.Options{APIURL: api.URL, Token: token})
	tests := []struct {
		name   string
		change func(*snapshot.Snapshot)
		want   string
	}{
		{"short sha", func(s *snapshot.Snapshot) { s.Sha = "abc" }, "GITHUB_SHA"},
		{"bare ref", func(s *snapshot.Snapshot) { s.Ref = "main" }, "refs/heads/main"},
		{"no correlator", func(s *snapshot.Snapshot) { s.Job.Correlator = "" }, "job.correlator"},
		{"no detector url", func(s *snapshot.Snapshot) { s.Detector.URL = "" }, "detector"},
		{"scanned not a time", func(s *snapshot.Snapshot) { s.Scanned = "yesterday" }, "RFC 3339"},
		{"package keyed by name", func(s *snapshot.Snapshot) {
			s.Manifests["x"] = snapshot.Manifest{Name: "x", Resolved: map[string]snapshot.Dependency{"a": {PackageURL: "pkg:npm/a@1"}}}
		}, "keyed by its package URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.change(&s)
			_, err := c.Submit(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), tc.want) || fail.ClassOf(err) != fail.Config {
				t.Fatalf("err %v, want a configuration error naming %q", err, tc.want)
			}
		})
	}
	if n := len(api.Authorizations()); n != 0 {
		t.Fatalf("%d requests sent for invalid snapshots", n)
	}
}

func TestSubmitErrorsNameTheFix(t *testing.T) {
	api := snapshottest.New("paved-dev", "demo", token)
	defer api.Close()
	for _, tc := range []struct {
		repo, token, want string
		class             fail.Class
	}{
		{"paved-dev/demo", "ghs_wrongToken", "pass a valid github-token", fail.Config},
		{"paved-dev/other", token, "permissions: contents: write", fail.Config},
	} {
		c, err := snapshot.New(tc.repo, snapshot.Options{APIURL: api.URL, Token: tc.token, Retry: retry.Options{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Submit(context.Background(), valid())
		if err == nil || !strings.Contains(err.Error(), tc.want) || fail.ClassOf(err) != tc.class || strings.Contains(err.Error(), tc.token) {
			t.Errorf("%s: err %v, want %q without the token", tc.repo, err, tc.want)
		}
	}
	if _, err := snapshot.New("paved-dev/demo", snapshot.Options{APIURL: api.URL}); err == nil || !strings.Contains(err.Error(), "github-token") {
		t.Errorf("no token: %v", err)
	}
}

// TestAttackSnapshotRedirectToAnotherOrigin: an API that redirects the
// submission to another origin does not get the token sent there.
func TestAttackSnapshotRedirectToAnotherOrigin(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		for k, v := range r.Header {
			if strings.Contains(strings.Join(v, " "), token) {
				leaked = append(leaked, k)
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":1,"result":"SUCCESS"}`))
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c, _ := snapshot.New("paved-dev/demo", snapshot.Options{APIURL: api.URL, Token: token})
	_, _ = c.Submit(context.Background(), valid())
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) > 0 {
		t.Fatalf("the token followed the redirect to another origin in %v", leaked)
	}
}
