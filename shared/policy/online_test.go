package policy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/retry"
)

// depsDevAPI speaks deps.dev API v3 as documented at https://docs.deps.dev/api/v3/:
// GET /v3/systems/{system}/packages/{name} (GetPackage: versions with publishedAt)
// and GET /v3/systems/{system}/packages/{name}/versions/{version} (GetVersion:
// attestations and slsaProvenances). Names are one path segment, "/" escaped as %2F.
func depsDevAPI(t *testing.T, hits *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch strings.ReplaceAll(r.URL.EscapedPath(), "@", "%40") {
		case "/v3/systems/NPM/packages/%40paved%2Fsigned":
			json.NewEncoder(w).Encode(map[string]any{
				"packageKey": map[string]string{"system": "NPM", "name": "@paved/signed"},
				"versions": []map[string]any{
					{"versionKey": map[string]string{"system": "NPM", "name": "@paved/signed", "version": "1.0.0"}, "publishedAt": "2019-01-01T00:00:00Z", "isDefault": false},
					{"versionKey": map[string]string{"system": "NPM", "name": "@paved/signed", "version": "2.0.0"}, "publishedAt": "2020-06-01T00:00:00Z", "isDefault": true},
				}})
		case "/v3/systems/NPM/packages/%40paved%2Fsigned/versions/2.0.0":
			json.NewEncoder(w).Encode(map[string]any{
				"versionKey":      map[string]string{"system": "NPM", "name": "@paved/signed", "version": "2.0.0"},
				"publishedAt":     "2020-06-01T00:00:00Z",
				"licenses":        []string{"MIT"},
				"attestations":    []map[string]any{{"type": "https://slsa.dev/provenance/v1", "url": "https://registry.example/att", "verified": true, "sourceRepository": "https://github.com/paved-dev/signed", "commit": "abc"}},
				"slsaProvenances": []map[string]any{{"sourceRepository": "https://github.com/paved-dev/signed", "commit": "abc", "url": "https://registry.example/att", "verified": true}},
			})
		default:
			http.Error(w, `{"code":5,"message":"package not found"}`, http.StatusNotFound)
		}
	}))
}

func TestDepsDevFeedsRules(t *testing.T) {
	var hits atomic.Int32
	srv := depsDevAPI(t, &hits)
	defer srv.Close()
	sb, err := ReadSBOM(strings.NewReader(`{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[
		{"type":"library","name":"signed","group":"@paved","version":"2.0.0","purl":"pkg:npm/%40paved/signed@2.0.0"},
		{"type":"library","name":"unknown","version":"1.0.0","purl":"pkg:npm/unknown@1.0.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("p.yaml", []byte("version: 1\nonline:\n  deps-dev: true\nrules:\n  unmaintained:\n    max-months-without-release: 24\n  provenance:\n    require:\n      - ecosystem: npm\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(ClientOptions{DepsDevURL: srv.URL, CacheDir: t.TempDir(), Retry: retry.Options{BaseDelay: time.Millisecond}})
	rep, err := Evaluate(context.Background(), sb, p, Options{DB: NewDB(), Online: c, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	got := findingKeys(rep)
	want := []string{
		"provenance deny pkg:npm/unknown@1.0.0 provenance",
		"unmaintained deny pkg:npm/%40paved/signed@2.0.0 last-release",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	first := hits.Load()
	// A second client on the same cache directory asks nothing again.
	c2 := NewClient(ClientOptions{DepsDevURL: srv.URL, CacheDir: c.o.CacheDir})
	if _, err := Evaluate(context.Background(), sb, p, Options{DB: NewDB(), Online: c2, Now: func() time.Time { return testNow }}); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != first+2 { // the two 404s are not cached
		t.Fatalf("cache: %d requests before, %d after", first, hits.Load())
	}
}
