// Package snapshottest serves GitHub's dependency submission endpoint on
// loopback, for tests of Paved.
//
// It follows GitHub's REST documentation, API version 2022-11-28, "Create a
// snapshot of dependencies for a repository":
// POST /repos/{owner}/{repo}/dependency-graph/snapshots with
// "Authorization: Bearer TOKEN" and a JSON body whose required fields are
// version (integer), job {correlator, id}, sha (40 characters), ref
// (pattern ^refs/), detector {name, version, url} and scanned (date-time);
// manifests maps names to {name (required), file {source_location},
// resolved}, and resolved maps names to {package_url (pattern
// ^pkg:), relationship (direct or indirect), scope (runtime or
// development), dependencies (array of strings)}. It answers 201 with
// {id, created_at, result, message}, 401 for a wrong token and 422 for a body
// that misses what the schema requires.
package snapshottest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// API is the fake API for one repository.
type API struct {
	*httptest.Server
	owner, repo, token string

	mu        sync.Mutex
	snapshots []map[string]any
	auth      []string
}

// New starts the API on 127.0.0.1 for owner/repo; token is the only one accepted.
func New(owner, repo, token string) *API {
	a := &API{owner: owner, repo: repo, token: token}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	return a
}

// Snapshots returns the accepted snapshots, as decoded JSON.
func (a *API) Snapshots() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]map[string]any(nil), a.snapshots...)
}

// Authorizations returns the Authorization headers of every request received.
func (a *API) Authorizations() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.auth...)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	a.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != fmt.Sprintf("/repos/%s/%s/dependency-graph/snapshots", a.owner, a.repo) {
		reply(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+a.token {
		reply(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	var body map[string]any
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil || json.Unmarshal(data, &body) != nil {
		reply(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	if msg := invalid(body); msg != "" {
		reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid request.\n\n" + msg})
		return
	}
	a.mu.Lock()
	a.snapshots = append(a.snapshots, body)
	id := len(a.snapshots)
	a.mu.Unlock()
	reply(w, http.StatusCreated, map[string]any{"id": id, "created_at": time.Now().UTC().Format(time.RFC3339), "result": "SUCCESS", "message": "Dependency results for the repo have been successfully updated."})
}

var (
	sha  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	purl = regexp.MustCompile(`^pkg:`)
)

// invalid checks the documented schema and names the first violation.
func invalid(b map[string]any) string {
	str := func(m map[string]any, k string) (string, bool) {
		s, ok := m[k].(string)
		return s, ok && s != ""
	}
	obj := func(m map[string]any, k string) (map[string]any, bool) {
		o, ok := m[k].(map[string]any)
		return o, ok
	}
	if v, ok := b["version"].(float64); !ok || v != float64(int64(v)) {
		return "version is required (integer)"
	}
	job, ok := obj(b, "job")
	if !ok {
		return "job is required"
	}
	for _, k := range []string{"correlator", "id"} {
		if _, ok := str(job, k); !ok {
			return "job." + k + " is required"
		}
	}
	if s, _ := str(b, "sha"); !sha.MatchString(s) {
		return "sha is required (40 characters)"
	}
	if s, _ := str(b, "ref"); !strings.HasPrefix(s, "refs/") {
		return "ref is required (^refs/)"
	}
	det, ok := obj(b, "detector")
	if !ok {
		return "detector is required"
	}
	for _, k := range []string{"name", "version", "url"} {
		if _, ok := str(det, k); !ok {
			return "detector." + k + " is required"
		}
	}
	if s, _ := str(b, "scanned"); s == "" {
		return "scanned is required"
	} else if _, err := time.Parse(time.RFC3339, s); err != nil {
		return "scanned is not a date-time"
	}
	mans, _ := b["manifests"].(map[string]any)
	for key, mv := range mans {
		m, ok := mv.(map[string]any)
		if !ok {
			return "manifests." + key + " is not an object"
		}
		if _, ok := str(m, "name"); !ok {
			return "manifests." + key + ".name is required"
		}
		if f, ok := m["file"]; ok {
			fo, ok := f.(map[string]any)
			if !ok {
				return "manifests." + key + ".file is not an object"
			}
			if sl, ok := fo["source_location"]; ok {
				if _, ok := sl.(string); !ok {
					return "manifests." + key + ".file.source_location is not a string"
				}
			}
		}
		res, _ := m["resolved"].(map[string]any)
		for rk, rv := range res {
			d, ok := rv.(map[string]any)
			if !ok {
				return "resolved." + rk + " is not an object"
			}
			if s, _ := str(d, "package_url"); !purl.MatchString(s) {
				return "resolved." + rk + ".package_url does not match ^pkg:"
			}
			if rel, ok := d["relationship"]; ok && rel != "direct" && rel != "indirect" {
				return "resolved." + rk + ".relationship is not direct or indirect"
			}
			if sc, ok := d["scope"]; ok && sc != "runtime" && sc != "development" {
				return "resolved." + rk + ".scope is not runtime or development"
			}
			if deps, ok := d["dependencies"]; ok {
				list, ok := deps.([]any)
				if !ok {
					return "resolved." + rk + ".dependencies is not an array"
				}
				for _, x := range list {
					if _, ok := x.(string); !ok {
						return "resolved." + rk + ".dependencies holds a non-string"
					}
				}
			}
		}
	}
	return ""
}
