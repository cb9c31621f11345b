package policy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Record is an OSV record (https://ossf.github.io/osv-schema/), the fields a
// policy decision needs.
type Record struct {
	ID               string          `json:"id"`
	Modified         string          `json:"modified,omitempty"`
	Published        string          `json:"published,omitempty"`
	Withdrawn        string          `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []Severity      `json:"severity,omitempty"`
	Affected         []Affected      `json:"affected,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Severity is one OSV severity entry: a CVSS vector or a database's rating.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected is one OSV affected entry.
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		PURL      string `json:"purl,omitempty"`
	} `json:"package"`
	Severity         []Severity      `json:"severity,omitempty"`
	Ranges           []Range         `json:"ranges,omitempty"`
	Versions         []string        `json:"versions,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Range is an OSV affected range.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Malicious reports whether the record is an OSV malicious-package record:
// its id, or one of its aliases, is a MAL- id.
func (r *Record) Malicious() bool {
	if strings.HasPrefix(r.ID, "MAL-") {
		return true
	}
	for _, a := range r.Aliases {
		if strings.HasPrefix(a, "MAL-") {
			return true
		}
	}
	return false
}

// malID is the MAL- id naming the record, or its own id.
func (r *Record) malID() string {
	if strings.HasPrefix(r.ID, "MAL-") {
		return r.ID
	}
	for _, a := range r.Aliases {
		if strings.HasPrefix(a, "MAL-") {
			return a
		}
	}
	return r.ID
}

// DB holds the OSV records that concern a set of packages, indexed by package.
type DB struct {
	byPkg map[pkgKey][]*Record
	// Scanned is how many records were read; Kept how many concern the packages.
	Scanned, Kept int
}

// NewDB returns an empty database.
func NewDB() *DB { return &DB{byPkg: map[pkgKey][]*Record{}} }

// Add indexes a record under every package it affects.
func (db *DB) Add(r *Record) {
	seen := map[pkgKey]bool{}
	for _, a := range r.Affected {
		k := pkgKey{baseEcosystem(a.Package.Ecosystem), a.Package.Name}
		if k.Ecosystem == "PyPI" {
			k.Name = normalizePyPI(k.Name)
		}
		if !seen[k] {
			seen[k] = true
			db.byPkg[k] = append(db.byPkg[k], r)
		}
	}
	db.Kept++
}

// Records returns the records filed under a package.
func (db *DB) records(k pkgKey) []*Record { return db.byPkg[k] }

// maxRecord bounds one OSV record file.
const maxRecord = 8 << 20

// LoadOSV reads OSV records from directories of OSV JSON files and from OSV
// export zips (such as an ecosystem's all.zip), keeping only records that
// affect one of the wanted packages. Zips are read entry by entry, and a
// record is decoded in full only after a cheap scan of its package names
// matched, so memory grows with the relevant records, not with the database.
func LoadOSV(ctx context.Context, paths []string, want []Component) (*DB, error) {
	names := map[string]bool{}
	wantKeys := map[pkgKey]bool{}
	for _, c := range want {
		if k, ok := osvPackage(c.purl); ok {
			wantKeys[k] = true
			names[k.Name] = true
			if k.Ecosystem == "PyPI" {
				names[c.purl.Name] = true
			}
		}
	}
	db := NewDB()
	var sources []source
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("OSV database %s: %w", p, err)
		}
		if !st.IsDir() {
			sources = append(sources, source{path: p, zip: strings.HasSuffix(strings.ToLower(p), ".zip")})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".json":
				sources = append(sources, source{path: path})
			case ".zip":
				sources = append(sources, source{path: path, zip: true})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading OSV database %s: %w", p, err)
		}
	}
	sort.Slice(sources, func(i, j int) bool { return sources[i].path < sources[j].path })
	l := &loader{names: names, want: wantKeys, db: db}
	for _, s := range sources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if s.zip {
			err = l.zip(ctx, s.path)
		} else {
			var data []byte
			if data, err = readLimited(s.path, maxRecord); err == nil {
				err = l.record(s.path, data)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return db, nil
}

type source struct {
	path string
	zip  bool
}

type loader struct {
	names map[string]bool
	want  map[pkgKey]bool
	mu    sync.Mutex
	db    *DB
}

// zip reads an OSV export with one decoding worker per CPU.
func (l *loader) zip(ctx context.Context, path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("OSV export %s: %w", path, err)
	}
	defer zr.Close()
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *zip.File)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := new(bytes.Buffer)
			for f := range jobs {
				if err := l.zipEntry(f, buf); err != nil {
					errc <- fmt.Errorf("OSV export %s: %w", path, err)
					for range jobs {
					}
					return
				}
			}
		}()
	}
	var ctxErr error
	for _, f := range zr.File {
		if ctxErr = ctx.Err(); ctxErr != nil {
			break
		}
		if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".json") {
			continue
		}
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	return ctxErr
}

func (l *loader) zipEntry(f *zip.File, buf *bytes.Buffer) error {
	if f.UncompressedSize64 > maxRecord {
		return fmt.Errorf("%s: record larger than %d bytes", f.Name, maxRecord)
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	buf.Reset()
	if _, err := io.Copy(buf, io.LimitReader(rc, maxRecord+1)); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return l.record(f.Name, buf.Bytes())
}

// record keeps one record if it concerns a wanted package.
func (l *loader) record(name string, data []byte) error {
	l.mu.Lock()
	l.db.Scanned++
	l.mu.Unlock()
	if !mentionsName(data, l.names) {
		return nil
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("%s is not an OSV record: %w", name, err)
	}
	if r.ID == "" {
		return fmt.Errorf("%s is not an OSV record: no id", name)
	}
	relevant := false
	for _, a := range r.Affected {
		k := pkgKey{baseEcosystem(a.Package.Ecosystem), a.Package.Name}
		if k.Ecosystem == "PyPI" {
			k.Name = normalizePyPI(k.Name)
		}
		if l.want[k] {
			relevant = true
			break
		}
	}
	if !relevant {
		return nil
	}
	l.mu.Lock()
	l.db.Add(&r)
	l.mu.Unlock()
	return nil
}

var nameKey = []byte(`"name"`)

// mentionsName reports whether any JSON member called "name" has a wanted
// value, or one this scan cannot judge (escaped). It over-approximates: the
// full decode that follows decides.
func mentionsName(data []byte, names map[string]bool) bool {
	for rest := data; ; {
		i := bytes.Index(rest, nameKey)
		if i < 0 {
			return false
		}
		rest = rest[i+len(nameKey):]
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n' || rest[j] == '\r') {
			j++
		}
		if j >= len(rest) || rest[j] != ':' {
			continue
		}
		j++
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n' || rest[j] == '\r') {
			j++
		}
		if j >= len(rest) || rest[j] != '"' {
			continue
		}
		j++
		end := bytes.IndexByte(rest[j:], '"')
		if end < 0 {
			return true
		}
		val := rest[j : j+end]
		if bytes.IndexByte(val, '\\') >= 0 || names[string(val)] {
			return true
		}
		if bytes.ContainsAny(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZ._") && names[normalizePyPI(string(val))] {
			return true
		}
		rest = rest[j+end:]
	}
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// matchState says how a record concerns a component version.
type matchState int

const (
	notAffected matchState = iota
	affected
	// unknownVersion: the record has ranges, but the component's version
	// could not be compared with them.
	unknownVersion
)

// affects reports whether the record affects version v of package k.
func (r *Record) affects(k pkgKey, v string) (matchState, *Affected) {
	state := notAffected
	var hit *Affected
	for i := range r.Affected {
		a := &r.Affected[i]
		ak := pkgKey{baseEcosystem(a.Package.Ecosystem), a.Package.Name}
		if ak.Ecosystem == "PyPI" {
			ak.Name = normalizePyPI(ak.Name)
		}
		if ak != k {
			continue
		}
		switch s := affectedVersion(a, v); s {
		case affected:
			return affected, a
		case unknownVersion:
			state, hit = unknownVersion, a
		}
	}
	return state, hit
}

var errNoVersion = errors.New("no version")

// affectedVersion evaluates one affected entry for version v with the
// ecosystem's own version ordering: v is affected when an explicit version
// matches, or when, in some ECOSYSTEM or SEMVER range, the greatest
// "introduced" at or below v is not followed (at or below v) by a "fixed",
// nor by a "last_affected" below v.
func affectedVersion(a *Affected, v string) matchState {
	eco := a.Package.Ecosystem
	goEco := baseEcosystem(eco) == "Go"
	trimmed := v
	if goEco {
		trimmed = strings.TrimPrefix(v, "v")
	}
	for _, x := range a.Versions {
		if v != "" && (x == v || x == trimmed) {
			return affected
		}
	}
	state := notAffected
	for _, rg := range a.Ranges {
		if rg.Type != "ECOSYSTEM" && rg.Type != "SEMVER" {
			continue
		}
		s := rangeAffects(eco, rg, trimmed)
		if s == affected {
			return affected
		}
		if s == unknownVersion {
			state = unknownVersion
		}
	}
	return state
}

func rangeAffects(eco string, rg Range, v string) matchState {
	rangeEco := eco
	if rg.Type == "SEMVER" {
		rangeEco = "npm" // SEMVER ranges use SemVer 2.0 ordering whatever the ecosystem
	}
	allVersions := false
	for _, e := range rg.Events {
		if e.Introduced == "0" {
			allVersions = true
		}
	}
	if v == "" {
		if allVersions && onlyIntroduced(rg) {
			return affected
		}
		return unknownVersion
	}
	ver, err := parseVersion(rangeEco, v)
	if err != nil || ver == nil {
		if allVersions && onlyIntroduced(rg) {
			return affected
		}
		return unknownVersion
	}
	cmp := func(s string) (int, error) {
		if rangeEco != eco || baseEcosystem(eco) == "Go" {
			s = strings.TrimPrefix(s, "v")
		}
		return ver.CompareStr(s) // sign of v − s
	}
	// The greatest introduced event at or below v.
	var intro string
	found := false
	for _, e := range rg.Events {
		if e.Introduced == "" {
			continue
		}
		if e.Introduced == "0" {
			if !found {
				intro, found = "0", true
			}
			continue
		}
		c, err := cmp(e.Introduced)
		if err != nil || c < 0 {
			continue
		}
		if !found || intro == "0" || laterThan(rangeEco, e.Introduced, intro) {
			intro, found = e.Introduced, true
		}
	}
	if !found {
		return notAffected
	}
	for _, e := range rg.Events {
		switch {
		case e.Fixed != "":
			if c, err := cmp(e.Fixed); err == nil && c >= 0 && (intro == "0" || !laterThan(rangeEco, intro, e.Fixed)) {
				return notAffected
			}
		case e.LastAffected != "":
			if c, err := cmp(e.LastAffected); err == nil && c > 0 && (intro == "0" || !laterThan(rangeEco, intro, e.LastAffected)) {
				return notAffected
			}
		case e.Limit != "" && e.Limit != "*":
			if c, err := cmp(e.Limit); err == nil && c >= 0 {
				return notAffected
			}
		}
	}
	return affected
}

func onlyIntroduced(rg Range) bool {
	for _, e := range rg.Events {
		if e.Fixed != "" || e.LastAffected != "" || (e.Limit != "" && e.Limit != "*") {
			return false
		}
	}
	return true
}

// laterThan reports a > b in the ecosystem's ordering (false if either does not parse).
func laterThan(eco, a, b string) bool {
	if baseEcosystem(eco) == "Go" {
		a, b = strings.TrimPrefix(a, "v"), strings.TrimPrefix(b, "v")
	}
	va, err := parseVersion(eco, a)
	if err != nil || va == nil {
		return false
	}
	c, err := va.CompareStr(b)
	return err == nil && c > 0
}
