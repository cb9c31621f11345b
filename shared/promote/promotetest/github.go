// Package promotetest serves the GitHub REST API endpoints that release-file
// promotion uses, on loopback, for tests of Paved and of the paved binary.
//
// It follows GitHub's public REST documentation, API version 2022-11-28:
//
//   - "REST API endpoints for releases", Get a release by tag name:
//     GET /repos/{owner}/{repo}/releases/tags/{tag} answers 200 with the
//     release (id, tag_name, upload_url as the URI template
//     ".../releases/{id}/assets{?name,label}" on the uploads host) or 404.
//   - "REST API endpoints for release assets":
//     List release assets, GET /repos/{owner}/{repo}/releases/{release_id}/assets
//     with per_page and page, paginated with a Link header;
//     Upload a release asset, POST {upload_url}?name=NAME with the raw bytes,
//     Content-Type and Content-Length, answering 201 with the asset, 422
//     Validation Failed with code already_exists for a taken name, 403 without
//     the contents: write permission; Get a release asset,
//     GET /repos/{owner}/{repo}/releases/assets/{asset_id}, which with
//     "Accept: application/octet-stream" answers 302 to the download location.
//   - Assets carry "digest": "sha256:HEX" (GitHub computes it at upload since 2025).
//
// Every API call needs "Authorization: Bearer TOKEN"; a wrong token gets 401.
package promotetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// GitHubReleases is a GitHub API for one repository's releases.
type GitHubReleases struct {
	// API is the REST API server (GITHUB_API_URL); Uploads is the uploads
	// host named by upload_url, which also serves downloads.
	API, Uploads *httptest.Server

	owner, repo, token string

	mu       sync.Mutex
	releases map[string]int64 // tag → release id
	assets   map[int64][]*stored
	nextID   int64
	f        Faults
	uploads  int
	auth     []string
}

type stored struct {
	id     int64
	name   string
	data   []byte
	digest string
	state  string
}

// Faults make the API misbehave the ways a test needs.
type Faults struct {
	// Forbidden answers uploads 403, as for a token without contents: write.
	Forbidden bool
	// Alter stores every uploaded asset with its last byte changed, as a
	// storage layer that corrupts content would.
	Alter bool
	// NoDigest leaves "digest" out of asset objects, as for assets uploaded
	// before GitHub computed digests.
	NoDigest bool
	// PerPage caps the page size of asset listings (default: per_page, at most 100).
	PerPage int
}

// SetFaults replaces the faults in effect.
func (g *GitHubReleases) SetFaults(f Faults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.f = f
}

// NewGitHubReleases starts the API and uploads servers on 127.0.0.1 for
// repository owner/repo; token is the only one accepted. Close stops them.
func NewGitHubReleases(owner, repo, token string) *GitHubReleases {
	g := &GitHubReleases{owner: owner, repo: repo, token: token, releases: map[string]int64{}, assets: map[int64][]*stored{}, nextID: 100}
	g.API = httptest.NewServer(http.HandlerFunc(g.serveAPI))
	g.Uploads = httptest.NewServer(http.HandlerFunc(g.serveUploads))
	return g
}

// Close stops both servers.
func (g *GitHubReleases) Close() {
	g.API.Close()
	g.Uploads.Close()
}

// CreateRelease adds a release for tag.
func (g *GitHubReleases) CreateRelease(tag string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	g.releases[tag] = g.nextID
}

// AddAsset puts an asset into the release of tag as if uploaded earlier.
func (g *GitHubReleases) AddAsset(tag, name string, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.add(g.releases[tag], name, data, "uploaded")
}

// AddInterrupted leaves an asset in the "starter" state, as a failed upload does.
func (g *GitHubReleases) AddInterrupted(tag, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.add(g.releases[tag], name, nil, "starter")
}

func (g *GitHubReleases) add(rel int64, name string, data []byte, state string) *stored {
	g.nextID++
	sum := sha256.Sum256(data)
	s := &stored{id: g.nextID, name: name, data: append([]byte(nil), data...), digest: "sha256:" + hex.EncodeToString(sum[:]), state: state}
	g.assets[rel] = append(g.assets[rel], s)
	return s
}

// Asset returns the bytes of the asset called name in the release of tag.
func (g *GitHubReleases) Asset(tag, name string) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range g.assets[g.releases[tag]] {
		if a.name == name {
			return append([]byte(nil), a.data...), true
		}
	}
	return nil, false
}

// UploadCount counts upload requests that stored an asset.
func (g *GitHubReleases) UploadCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.uploads
}

// Authorizations are the Authorization headers received, in order.
func (g *GitHubReleases) Authorizations() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.auth...)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (g *GitHubReleases) authorized(w http.ResponseWriter, r *http.Request) bool {
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		message(w, http.StatusUnauthorized, "Bad credentials")
		return false
	}
	return true
}

func (g *GitHubReleases) assetJSON(a *stored) map[string]any {
	m := map[string]any{
		"url":                  fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", g.API.URL, g.owner, g.repo, a.id),
		"browser_download_url": fmt.Sprintf("%s/download/%d/%s", g.Uploads.URL, a.id, a.name),
		"id":                   a.id, "name": a.name, "label": "", "state": a.state,
		"content_type": "application/octet-stream", "size": len(a.data), "download_count": 0,
	}
	if !g.f.NoDigest && a.state == "uploaded" {
		m["digest"] = a.digest
	}
	return m
}

func (g *GitHubReleases) serveAPI(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.authorized(w, r) {
		return
	}
	prefix := "/repos/" + g.owner + "/" + g.repo + "/releases/"
	path := r.URL.Path
	if r.Method != http.MethodGet || !strings.HasPrefix(path, prefix) {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	rest := strings.TrimPrefix(path, prefix)
	switch {
	case strings.HasPrefix(rest, "tags/"):
		id, ok := g.releases[strings.TrimPrefix(rest, "tags/")]
		if !ok {
			message(w, http.StatusNotFound, "Not Found")
			return
		}
		var assets []map[string]any
		for _, a := range g.assets[id] {
			assets = append(assets, g.assetJSON(a))
		}
		reply(w, http.StatusOK, map[string]any{
			"id": id, "tag_name": strings.TrimPrefix(rest, "tags/"), "draft": false, "prerelease": false,
			"url":        fmt.Sprintf("%s%s%d", g.API.URL, prefix, id),
			"upload_url": fmt.Sprintf("%s/repos/%s/%s/releases/%d/assets{?name,label}", g.Uploads.URL, g.owner, g.repo, id),
			"assets":     assets,
		})
	case strings.HasPrefix(rest, "assets/"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(rest, "assets/"), 10, 64)
		a := g.find(id)
		if a == nil {
			message(w, http.StatusNotFound, "Not Found")
			return
		}
		if r.Header.Get("Accept") == "application/octet-stream" {
			http.Redirect(w, r, fmt.Sprintf("%s/download/%d/%s", g.Uploads.URL, a.id, a.name), http.StatusFound)
			return
		}
		reply(w, http.StatusOK, g.assetJSON(a))
	case strings.HasSuffix(rest, "/assets"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(rest, "/assets"), 10, 64)
		if !g.knownRelease(id) {
			message(w, http.StatusNotFound, "Not Found")
			return
		}
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 || per > 100 {
			per = 30
		}
		if g.f.PerPage > 0 && per > g.f.PerPage {
			per = g.f.PerPage
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page <= 0 {
			page = 1
		}
		all := g.assets[id]
		from, to := min((page-1)*per, len(all)), min(page*per, len(all))
		out := []map[string]any{}
		for _, a := range all[from:to] {
			out = append(out, g.assetJSON(a))
		}
		if to < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?per_page=%d&page=%d>; rel="next"`, g.API.URL, path, per, page+1))
		}
		reply(w, http.StatusOK, out)
	default:
		message(w, http.StatusNotFound, "Not Found")
	}
}

func (g *GitHubReleases) knownRelease(id int64) bool {
	for _, r := range g.releases {
		if r == id {
			return true
		}
	}
	return false
}

func (g *GitHubReleases) find(id int64) *stored {
	for _, list := range g.assets {
		for _, a := range list {
			if a.id == id {
				return a
			}
		}
	}
	return nil
}

func (g *GitHubReleases) serveUploads(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/download/") {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/download/"), "/", 2)
		id, _ := strconv.ParseInt(parts[0], 10, 64)
		a := g.find(id)
		if a == nil || a.state != "uploaded" {
			message(w, http.StatusNotFound, "Not Found")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(a.data)
		return
	}
	if !g.authorized(w, r) {
		return
	}
	prefix := "/repos/" + g.owner + "/" + g.repo + "/releases/"
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	if r.Method != http.MethodPost || rest == r.URL.Path || !strings.HasSuffix(rest, "/assets") {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	id, _ := strconv.ParseInt(strings.TrimSuffix(rest, "/assets"), 10, 64)
	if !g.knownRelease(id) {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	if g.f.Forbidden {
		message(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	name := r.URL.Query().Get("name")
	if name == "" || r.Header.Get("Content-Type") == "" || r.ContentLength < 0 {
		reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "ReleaseAsset", "code": "missing_field", "field": "name, content type or length"}}})
		return
	}
	for _, a := range g.assets[id] {
		if a.name == name {
			reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors": []map[string]string{{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}}})
			return
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil || int64(len(data)) != r.ContentLength {
		message(w, http.StatusBadRequest, "Problems parsing body")
		return
	}
	if g.f.Alter && len(data) > 0 {
		data[len(data)-1] ^= 0x01
	}
	g.uploads++
	reply(w, http.StatusCreated, g.assetJSON(g.add(id, name, data, "uploaded")))
}

// Names lists the asset names of the release of tag, sorted.
func (g *GitHubReleases) Names(tag string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, a := range g.assets[g.releases[tag]] {
		out = append(out, a.name)
	}
	sort.Strings(out)
	return out
}
