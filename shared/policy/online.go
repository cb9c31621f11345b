package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/origin"
	"github.com/paved-dev/paved/shared/parallel"

	"github.com/paved-dev/paved/shared/retry"
)

// ClientOptions configure a Client. The zero value means defaults.
type ClientOptions struct {
	// OSVURL is the OSV API's base URL (default https://api.osv.dev).
	OSVURL string
	// DepsDevURL is the deps.dev API's base URL (default https://api.deps.dev).
	DepsDevURL string
	// Transport sends requests (default http.DefaultTransport); it is wrapped
	// in a retrying transport.
	Transport http.RoundTripper
	// Retry bounds retries of 429, 5xx and timeouts (zero value: retry defaults).
	Retry retry.Options
	// CacheDir keeps answers between runs ("" = only for this run).
	CacheDir string
	// CacheTTL is how long a cached answer is used (default 6h).
	CacheTTL time.Duration
	// Now is the clock for the cache (default time.Now).
	Now func() time.Time
	// Concurrency bounds requests in flight (default 4).
	Concurrency int
}

// Client asks the OSV API (query batch) and the deps.dev API v3.
type Client struct {
	o    ClientOptions
	hc   *http.Client
	mu   sync.Mutex
	memo map[string][]byte
}

// NewClient returns a client for the online sources.
func NewClient(o ClientOptions) *Client {
	if o.OSVURL == "" {
		o.OSVURL = "https://api.osv.dev"
	}
	if o.DepsDevURL == "" {
		o.DepsDevURL = "https://api.deps.dev"
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 6 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	return &Client{o: o, hc: origin.Client(retry.Over(o.Transport, o.Retry)), memo: map[string][]byte{}}
}

// maxAnswer bounds one API answer.
const maxAnswer = 32 << 20

// errNotFound is a 404: the source knows nothing about the thing asked.
var errNotFound = fmt.Errorf("not found")

// do sends a request, answering from the cache when it can.
func (c *Client) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	sum := sha256.Sum256([]byte(method + " " + u + "\n" + string(body)))
	key := hex.EncodeToString(sum[:])
	c.mu.Lock()
	if b, ok := c.memo[key]; ok {
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	cacheFile := ""
	if c.o.CacheDir != "" {
		cacheFile = filepath.Join(c.o.CacheDir, key+".json")
		if st, err := os.Stat(cacheFile); err == nil && c.o.Now().Sub(st.ModTime()) < c.o.CacheTTL {
			if b, err := bounded.ReadFile(cacheFile, maxAnswer); err == nil {
				return b, nil
			}
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := bounded.Read(resp.Body, maxAnswer)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading answer: %w", method, redactURL(req.URL), err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s %s: HTTP %d", method, redactURL(req.URL), resp.StatusCode)
	}
	c.mu.Lock()
	c.memo[key] = b
	c.mu.Unlock()
	if cacheFile != "" {
		_ = writeAtomic(cacheFile, b) // a cache: a failed write costs a later lookup only
	}
	return b, nil
}

func redactURL(u *url.URL) string {
	x := *u
	x.User, x.RawQuery = nil, ""
	return x.String()
}

// osvBatch is the OSV API's query batch limit.
const osvBatch = 1000

// OSV implements Sources with the OSV API: POST /v1/querybatch for the ids,
// then GET /v1/vulns/{id} for each record.
func (c *Client) OSV(ctx context.Context, comps []Component) (map[string][]*Record, error) {
	var queries []osvQuery
	var purls []string
	for _, comp := range comps {
		if _, ok := osvPackage(comp.purl); !ok || comp.Version == "" {
			continue
		}
		p := comp.purl
		p.Qualifiers, p.Subpath = nil, ""
		var q osvQuery
		q.Package.PURL = p.ToString()
		queries = append(queries, q)
		purls = append(purls, comp.PURL)
	}
	ids := map[string][]string{}
	for start := 0; start < len(queries); start += osvBatch {
		end := min(start+osvBatch, len(queries))
		if err := c.queryBatch(ctx, queries[start:end], purls[start:end], ids); err != nil {
			return nil, err
		}
	}
	return c.osvRecords(ctx, ids)
}

// osvQuery is one query of OSV's querybatch API.
type osvQuery struct {
	Package struct {
		PURL string `json:"purl"`
	} `json:"package"`
	PageToken string `json:"page_token,omitempty"`
}

// queryBatch asks one batch of queries, following each query's pages (ten at
// most), and adds the vulnerability IDs found to ids under the query's purl.
func (c *Client) queryBatch(ctx context.Context, queries []osvQuery, purls []string, ids map[string][]string) error {
	pending := append([]osvQuery(nil), queries...)
	idx := make([]int, len(pending))
	for i := range idx {
		idx[i] = i
	}
	for page := 0; len(pending) > 0; page++ {
		if page >= 10 {
			return fmt.Errorf("OSV query batch: more than 10 pages of results")
		}
		body, _ := json.Marshal(map[string]any{"queries": pending})
		raw, err := c.do(ctx, http.MethodPost, c.o.OSVURL+"/v1/querybatch", body)
		if err != nil {
			return err
		}
		var ans struct {
			Results []struct {
				Vulns []struct {
					ID string `json:"id"`
				} `json:"vulns"`
				NextPageToken string `json:"next_page_token"`
			} `json:"results"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return fmt.Errorf("OSV query batch: unexpected answer: %w", err)
		}
		if len(ans.Results) != len(pending) {
			return fmt.Errorf("OSV query batch: %d results for %d queries", len(ans.Results), len(pending))
		}
		var next []osvQuery
		var nextIdx []int
		for i, res := range ans.Results {
			for _, v := range res.Vulns {
				ids[purls[idx[i]]] = append(ids[purls[idx[i]]], v.ID)
			}
			if res.NextPageToken != "" {
				q := pending[i]
				q.PageToken = res.NextPageToken
				next = append(next, q)
				nextIdx = append(nextIdx, idx[i])
			}
		}
		pending, idx = next, nextIdx
	}
	return nil
}

// osvRecords fetches each vulnerability named in ids once, concurrently,
// and returns the records by purl.
func (c *Client) osvRecords(ctx context.Context, ids map[string][]string) (map[string][]*Record, error) {
	unique := map[string]*Record{}
	for _, list := range ids {
		for _, id := range list {
			unique[id] = nil
		}
	}
	idList := keys(unique)
	if err := parallel.Each(ctx, len(idList), c.o.Concurrency, func(ctx context.Context, i int) error {
		id := idList[i]
		raw, err := c.do(ctx, http.MethodGet, c.o.OSVURL+"/v1/vulns/"+url.PathEscape(id), nil)
		if err != nil {
			return err
		}
		var r Record
		if err := json.Unmarshal(raw, &r); err != nil || r.ID == "" {
			return fmt.Errorf("OSV record %s: not an OSV record", id)
		}
		c.mu.Lock()
		unique[id] = &r
		c.mu.Unlock()
		return nil
	}); err != nil {
		return nil, err
	}
	out := map[string][]*Record{}
	for purl, list := range ids {
		for _, id := range list {
			if r := unique[id]; r != nil {
				out[purl] = append(out[purl], r)
			}
		}
	}
	return out, nil
}

// Packages implements Sources with the deps.dev API v3: GetPackage for the
// newest release date, GetVersion for attestations and SLSA provenance.
func (c *Client) Packages(ctx context.Context, comps []Component) ([]PackageInfo, error) {
	var jobs []depsDevJob
	byName := map[string]bool{}
	for _, comp := range comps {
		sys, name := depsDevSystem(comp.purl)
		if sys == "" {
			continue
		}
		id := packageID(comp.PURL)
		if byName[id+"@"+comp.Version] {
			continue
		}
		byName[id+"@"+comp.Version] = true
		jobs = append(jobs, depsDevJob{sys, name, comp.Version, id})
	}
	infos := map[string]*PackageInfo{}
	err := parallel.Each(ctx, len(jobs), c.o.Concurrency, func(ctx context.Context, i int) error {
		info, err := c.depsDevPackage(ctx, jobs[i])
		if err != nil {
			return err
		}
		c.mu.Lock()
		if cur, ok := infos[info.PURL]; ok {
			for v, t := range info.Provenance {
				cur.Provenance[v] = t
			}
		} else {
			infos[info.PURL] = &info
		}
		c.mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]PackageInfo, 0, len(infos))
	for _, k := range keys(infos) {
		out = append(out, *infos[k])
	}
	return out, nil
}

// depsDevJob is one package version to ask deps.dev about.
type depsDevJob struct {
	system, name, version, purl string
}

// depsDevPackage asks deps.dev about a package (its latest release) and
// its version (verified attestations); a package or version deps.dev does
// not know adds nothing.
func (c *Client) depsDevPackage(ctx context.Context, j depsDevJob) (PackageInfo, error) {
	base := c.o.DepsDevURL + "/v3/systems/" + url.PathEscape(j.system) + "/packages/" + url.PathEscape(j.name)
	info := PackageInfo{PURL: j.purl, Provenance: map[string]string{}}
	raw, err := c.do(ctx, http.MethodGet, base, nil)
	switch {
	case err == errNotFound:
	case err != nil:
		return info, err
	default:
		var pkg struct {
			Versions []struct {
				PublishedAt time.Time `json:"publishedAt"`
			} `json:"versions"`
		}
		if err := json.Unmarshal(raw, &pkg); err != nil {
			return info, fmt.Errorf("deps.dev package %s: unexpected answer: %w", j.name, err)
		}
		for _, v := range pkg.Versions {
			if v.PublishedAt.After(info.lastRelease) {
				info.lastRelease = v.PublishedAt
			}
		}
		if !info.lastRelease.IsZero() {
			info.LastRelease = info.lastRelease.Format(time.RFC3339)
		}
	}
	if j.version == "" {
		return info, nil
	}
	raw, err = c.do(ctx, http.MethodGet, base+"/versions/"+url.PathEscape(j.version), nil)
	switch {
	case err == errNotFound:
		return info, nil
	case err != nil:
		return info, err
	}
	var ver struct {
		Attestations []struct {
			Type     string `json:"type"`
			Verified bool   `json:"verified"`
		} `json:"attestations"`
		SLSAProvenances []struct {
			Verified bool `json:"verified"`
		} `json:"slsaProvenances"`
	}
	if err := json.Unmarshal(raw, &ver); err != nil {
		return info, fmt.Errorf("deps.dev version %s@%s: unexpected answer: %w", j.name, j.version, err)
	}
	for _, a := range ver.Attestations {
		if a.Verified {
			info.Provenance[j.version] = a.Type
		}
	}
	for _, p := range ver.SLSAProvenances {
		if p.Verified && info.Provenance[j.version] == "" {
			info.Provenance[j.version] = "https://slsa.dev/provenance/v1"
		}
	}
	return info, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
