// Package glstoretest serves the GitLab REST API v4 endpoints Paved writes
// to and reads from, on loopback, for tests. It follows GitLab's public
// documentation:
//
//   - "GitLab generic packages repository": PUT
//     /projects/:id/packages/generic/:package_name/:package_version/:file_name
//     with the raw bytes answers 201 {"message":"201 Created"} (with
//     select=package_file, the package file record including file_sha256);
//     GET of the same path returns the newest file of that name, or 404
//     {"message":"404 Not Found"}; a CI job authenticates with its job token
//     in the JOB-TOKEN header, anything else is 401; 403 without access.
//   - "Release links API": GET and POST
//     /projects/:id/releases/:tag_name/assets/links, 404 when the tag has no
//     release, POST answering 201 with the link.
//   - Rate limits and outages: 429 with Retry-After, 5xx.
package glstoretest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Faults are answers the server gives before serving requests normally.
type Faults struct {
	// Fail is the status of each of the next requests, in order (with
	// Retry-After: 0).
	Fail []int
	// FailPut is the same for the next uploads only.
	FailPut []int
	// Denied answers 403 to every authenticated request.
	Denied bool
}

// GitLab is the API server of one project.
type GitLab struct {
	srv            *httptest.Server
	project, token string

	mu       sync.Mutex
	files    map[string][]byte // PACKAGE/VERSION/FILE, unescaped
	releases map[string][]map[string]any
	log      []string // "METHOD PACKAGE/VERSION/FILE" or "METHOD links TAG"
	badAuth  int
	uploads  int
	faults   Faults
}

// New starts the API of project (its numeric ID as in CI_PROJECT_ID) that
// accepts the job token token. Close it when done.
func New(project, token string) *GitLab {
	g := &GitLab{project: project, token: token, files: map[string][]byte{}, releases: map[string][]map[string]any{}}
	g.srv = httptest.NewServer(g)
	return g
}

// Close stops the server.
func (g *GitLab) Close() { g.srv.Close() }

// URL is the API v4 base, as CI_API_V4_URL.
func (g *GitLab) URL() string { return g.srv.URL + "/api/v4" }

// SetFaults replaces the pending faults.
func (g *GitLab) SetFaults(f Faults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = f
}

// PendingFaults returns the faults not served yet.
func (g *GitLab) PendingFaults() Faults {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults
}

// PutFile stores a package file, as if uploaded earlier.
func (g *GitLab) PutFile(key string, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files[key] = data
}

// CreateRelease makes a release for tag, without links.
func (g *GitLab) CreateRelease(tag string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releases[tag] = nil
}

// Uploads counts the files uploaded.
func (g *GitLab) Uploads() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.uploads
}

// Snapshot returns copies of the package files, the releases' links, the
// request log and how many requests came without the job token.
func (g *GitLab) Snapshot() (map[string][]byte, map[string][]map[string]any, []string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	files := map[string][]byte{}
	for k, v := range g.files {
		files[k] = append([]byte(nil), v...)
	}
	rels := map[string][]map[string]any{}
	for k, v := range g.releases {
		rels[k] = append([]map[string]any(nil), v...)
	}
	return files, rels, append([]string(nil), g.log...), g.badAuth
}

func message(w http.ResponseWriter, status int, m string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": m})
}

// ServeHTTP implements http.Handler.
func (g *GitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, q := range []*[]int{&g.faults.Fail, &g.faults.FailPut} {
		if len(*q) > 0 && (q == &g.faults.Fail || r.Method == http.MethodPut) {
			s := (*q)[0]
			*q = (*q)[1:]
			w.Header().Set("Retry-After", "0")
			message(w, s, fmt.Sprint(s))
			return
		}
	}
	if r.Header.Get("JOB-TOKEN") != g.token {
		g.badAuth++
		message(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	if g.faults.Denied {
		message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	pkgs := "/api/v4/projects/" + g.project + "/packages/generic/"
	rels := "/api/v4/projects/" + g.project + "/releases/"
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, pkgs):
		key := strings.TrimPrefix(path, pkgs)
		if strings.Count(key, "/") != 2 {
			message(w, http.StatusBadRequest, "400 Bad request")
			return
		}
		g.log = append(g.log, r.Method+" "+key)
		switch r.Method {
		case http.MethodPut:
			data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
			if err != nil {
				message(w, http.StatusBadRequest, "400 Bad request")
				return
			}
			g.files[key] = data
			g.uploads++
			if r.URL.Query().Get("select") == "package_file" {
				sum := sha256.Sum256(data)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				json.NewEncoder(w).Encode(map[string]any{"id": len(g.log), "package_id": 1, "size": len(data),
					"file_name": key[strings.LastIndex(key, "/")+1:], "file_sha256": hex.EncodeToString(sum[:])})
				return
			}
			message(w, http.StatusCreated, "201 Created")
		case http.MethodGet:
			data, ok := g.files[key]
			if !ok {
				message(w, http.StatusNotFound, "404 Not Found")
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(data)
		default:
			message(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		}
	case strings.HasPrefix(path, rels) && strings.HasSuffix(path, "/assets/links"):
		tag := strings.TrimSuffix(strings.TrimPrefix(path, rels), "/assets/links")
		g.log = append(g.log, r.Method+" links "+tag)
		links, ok := g.releases[tag]
		if !ok {
			message(w, http.StatusNotFound, "404 Not Found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			var in map[string]any
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in["url"] == nil || in["name"] == nil {
				message(w, http.StatusBadRequest, "400 Bad request")
				return
			}
			in["id"] = len(links) + 1
			g.releases[tag] = append(links, in)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(in)
			return
		}
		json.NewEncoder(w).Encode(links)
	default:
		message(w, http.StatusNotFound, "404 Not Found")
	}
}
