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
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/paved-dev/paved/shared/bounded"
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
func (r *Record) Malicious() bool { return strings.HasPrefix(r.malID(), "MAL-") }

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
	// Total is how many records the databases hold; Scanned how many were
	// read (all of them, unless an index of a zip spared the rest); Kept how
	// many concern the packages.
	Total, Scanned, Kept int
}

// NewDB returns an empty database.
func NewDB() *DB { return &DB{byPkg: map[pkgKey][]*Record{}} }

// key is the package an affected entry is filed under, named as osvPackage
// names the package of a purl.
func (a *Affected) key() pkgKey {
	k := pkgKey{baseEcosystem(a.Package.Ecosystem), a.Package.Name}
	if k.Ecosystem == "PyPI" {
		k.Name = normalizePyPI(k.Name)
	}
	return k
}

// Add indexes a record under every package it affects.
func (db *DB) Add(r *Record) {
	seen := map[pkgKey]bool{}
	for _, a := range r.Affected {
		k := a.key()
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

// LoadOptions are LoadOSV's optional settings.
type LoadOptions struct {
	// CacheDir keeps the indexes of OSV export zips between runs
	// ("" = beside each zip, as NAME.zip.paved-index). An index is rebuilt
	// when its zip changes; whoever can write it can hide records, so it must
	// be as trusted as the zip. A directory that cannot be written only costs
	// speed.
	CacheDir string
	// NoIndex reads every record of every zip and neither reads nor writes
	// an index.
	NoIndex bool
	// Log receives a line when an index is ignored (stale, damaged, or not
	// matching its zip) or cannot be written (nil = none).
	Log io.Writer
}

// LoadOSV reads OSV records from directories of OSV JSON files and from OSV
// export zips (such as an ecosystem's all.zip), keeping only records that
// affect one of the wanted packages. A record is decoded in full only after a
// cheap scan of its "name" members matched, so memory grows with the relevant
// records, not with the database. The first load of a zip reads every entry
// and writes an index of those names (see LoadOptions.CacheDir); later loads
// decompress only the entries the index points to.
func LoadOSV(ctx context.Context, paths []string, want []Component, opts LoadOptions) (*DB, error) {
	names := wantNames{raw: map[string]bool{}, pypi: map[string]bool{}}
	wantKeys := map[pkgKey]bool{}
	for _, c := range want {
		if k, ok := osvPackage(c.purl); ok {
			wantKeys[k] = true
			names.raw[k.Name] = true
			if k.Ecosystem == "PyPI" {
				names.raw[c.purl.Name] = true
				names.pypi[k.Name] = true
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
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("OSV database %s is not a regular file or directory", p)
			}
			sources = append(sources, source{path: p, zip: strings.HasSuffix(strings.ToLower(p), ".zip")})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// FIFOs and devices are skipped: opening one would block.
			if d.IsDir() || d.Type()&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeSocket) != 0 {
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
	l := &loader{names: names, want: wantKeys, db: db, opts: opts}
	if l.opts.Log == nil {
		l.opts.Log = io.Discard
	}
	for _, s := range sources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if s.zip {
			err = l.zip(ctx, s.path)
		} else {
			var data []byte
			if data, err = bounded.ReadFile(s.path, maxRecord); err == nil {
				db.Total++
				db.Scanned++
				var r *Record
				if r, err = l.decode(s.path, data); r != nil {
					db.Add(r)
				}
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
	names wantNames
	want  map[pkgKey]bool
	opts  LoadOptions
	db    *DB
}

// zip reads an OSV export through its index when a current one exists, and
// otherwise reads all of it and writes the index.
func (l *loader) zip(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("OSV export %s: %w", path, err)
	}
	defer f.Close()
	if l.opts.NoIndex {
		_, err := l.zipAll(ctx, f, path, false)
		return err
	}
	key, kerr := readZipKey(f)
	idxPath, perr := indexPath(path, l.opts.CacheDir)
	if kerr != nil || perr != nil {
		// archive/zip, reading everything, reports what is wrong.
		_, err := l.zipAll(ctx, f, path, false)
		return err
	}
	entries, total, err := readIndex(idxPath, key, l.names)
	if err == nil {
		var done bool
		if done, err = l.zipIndexed(ctx, f, path, entries, total); done || err != nil {
			return err
		}
		fmt.Fprintf(l.opts.Log, "OSV export %s: its index %s does not match it; reading all of it\n", path, idxPath)
	} else if !errors.Is(err, errNoIndex) {
		fmt.Fprintf(l.opts.Log, "OSV export %s: ignoring its index %s (%v); reading all of it\n", path, idxPath, err)
	}
	x, err := l.zipAll(ctx, f, path, true)
	if err != nil {
		return err
	}
	x.key = key
	if err := x.write(idxPath); err != nil {
		fmt.Fprintf(l.opts.Log, "OSV export %s: cannot keep its index (%v); the next run reads all of it again\n", path, err)
	}
	return nil
}

// zipIndexed reads the entries an index selected. done is false when an entry
// does not match the index (the caller then reads the whole zip); nothing is
// added to the database in that case.
func (l *loader) zipIndexed(ctx context.Context, f *os.File, path string, entries []zipEntry, total int) (done bool, err error) {
	kept := make([]*Record, len(entries))
	err = eachEntry(ctx, f, len(entries), func(i int) (*zipEntry, error) { return &entries[i], nil },
		func(i int, e *zipEntry, data []byte) error {
			r, err := l.decode(e.name, data)
			kept[i] = r
			return err
		})
	var ee *errEntry
	if errors.As(err, &ee) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("OSV export %s: %w", path, err)
	}
	l.db.Total += total
	l.db.Scanned += len(entries)
	for _, r := range kept {
		if r != nil {
			l.db.Add(r)
		}
	}
	return true, nil
}

// zipAll reads every record of an OSV export, one worker per CPU. With
// index, it also returns the index of the zip's name values (without its key).
func (l *loader) zipAll(ctx context.Context, f *os.File, path string, index bool) (*zipIndex, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("OSV export %s: %w", path, err)
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("OSV export %s: %w", path, err)
	}
	var files []*zip.File
	for _, zf := range zr.File {
		if !zf.FileInfo().IsDir() && strings.HasSuffix(strings.ToLower(zf.Name), ".json") {
			files = append(files, zf)
		}
	}
	x := &zipIndex{total: len(files)}
	if index {
		x.entries = make([]zipEntry, len(files))
		x.values = make([][]string, len(files))
	}
	kept := make([]*Record, len(files))
	err = eachEntry(ctx, f, len(files), func(i int) (*zipEntry, error) {
		zf := files[i]
		if zf.Flags&1 != 0 {
			return nil, fmt.Errorf("%s: encrypted", zf.Name)
		}
		off, err := zf.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", zf.Name, err)
		}
		e := &zipEntry{name: zf.Name, offset: off, csize: zf.CompressedSize64, usize: zf.UncompressedSize64, crc: zf.CRC32, method: zf.Method}
		if e.csize > uint64(st.Size()) || uint64(off) > uint64(st.Size())-e.csize {
			return nil, fmt.Errorf("%s: data outside the zip", zf.Name)
		}
		return e, nil
	}, func(i int, e *zipEntry, data []byte) error {
		hit := false
		judged := scanNames(data, func(v []byte) bool {
			hit = hit || nameWanted(v, l.names)
			if index {
				x.values[i] = append(x.values[i], string(v))
				return false
			}
			return hit
		})
		if index {
			e.check = !judged
			x.entries[i] = *e
		}
		if !hit && judged {
			return nil
		}
		r, err := l.decode(e.name, data)
		kept[i] = r
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("OSV export %s: %w", path, err)
	}
	l.db.Total += len(files)
	l.db.Scanned += len(files)
	for _, r := range kept {
		if r != nil {
			l.db.Add(r)
		}
	}
	return x, nil
}

// decode returns the record if it concerns a wanted package, nil if not;
// only records whose names the scan matched are decoded.
func (l *loader) decode(name string, data []byte) (*Record, error) {
	if !mentionsName(data, l.names) {
		return nil, nil
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is not an OSV record: %w", name, err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%s is not an OSV record: no id", name)
	}
	for _, a := range r.Affected {
		k := a.key()
		if l.want[k] {
			return &r, nil
		}
	}
	return nil, nil
}

var nameKey = []byte(`"name"`)

// mentionsName reports whether any JSON member called "name" has a wanted
// value, or one this scan cannot judge (escaped). It over-approximates: the
// full decode that follows decides.
func mentionsName(data []byte, names wantNames) bool {
	hit := false
	judged := scanNames(data, func(v []byte) bool {
		hit = nameWanted(v, names)
		return hit
	})
	return hit || !judged
}

// wantNames are the "name" values a scan looks for: raw, the names as OSV
// files them; pypi, the normalized names of wanted PyPI packages, which OSV
// may spell in any case and with any of "-_." (PEP 503).
type wantNames struct {
	raw, pypi map[string]bool
}

// nameWanted reports whether a "name" value is wanted as it is or, for PyPI,
// once normalized. It allocates nothing for ASCII values.
func nameWanted(v []byte, names wantNames) bool {
	if names.raw[string(v)] {
		return true
	}
	if len(names.pypi) == 0 {
		return false
	}
	var buf [128]byte
	n := buf[:0]
	dash := false
	for _, c := range v {
		switch {
		case c >= 0x80:
			return names.pypi[normalizePyPI(string(v))]
		case c == '-' || c == '_' || c == '.':
			if !dash {
				n = append(n, '-')
			}
			dash = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dash = false
		n = append(n, c)
	}
	return names.pypi[string(n)]
}

// scanNames calls visit with the value of every JSON member called "name",
// in order, until visit returns true. It returns false if it met a value it
// cannot judge (one with an escape, or unterminated) and stopped there.
func scanNames(data []byte, visit func(v []byte) bool) bool {
	for rest := data; ; {
		i := bytes.Index(rest, nameKey)
		if i < 0 {
			return !oddNameKey(data)
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
			return false
		}
		val := rest[j : j+end]
		// The decoder unescapes, and replaces invalid UTF-8 by U+FFFD.
		if bytes.IndexByte(val, '\\') >= 0 || !utf8.Valid(val) {
			return false
		}
		if visit(val) {
			return true
		}
		rest = rest[j+end:]
	}
}

// oddNameKey reports whether data has an object key that encoding/json
// matches to "name" without it being spelled "name": in another case (the
// decoder folds case) or with escapes. The scan cannot see such members, so
// records holding one are not judged by it.
func oddNameKey(data []byte) bool {
	for i := 0; i < len(data); {
		q := bytes.IndexByte(data[i:], '"')
		if q < 0 {
			return false
		}
		start := i + q + 1
		end := start
		for {
			e := bytes.IndexByte(data[end:], '"')
			if e < 0 {
				return false
			}
			end += e
			bs := 0
			for bs < end-start && data[end-1-bs] == '\\' {
				bs++
			}
			if bs%2 == 0 {
				break
			}
			end++
		}
		key := data[start:end]
		k := end + 1
		for k < len(data) && (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r') {
			k++
		}
		// "\u006e\u0061\u006d\u0065" is the longest spelling of "name".
		if k < len(data) && data[k] == ':' && len(key) <= 24 {
			if len(key) == 4 && bytes.EqualFold(key, nameKey[1:5]) && !bytes.Equal(key, nameKey[1:5]) || bytes.IndexByte(key, '\\') >= 0 {
				return true
			}
		}
		i = end + 1
	}
	return false
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
		ak := a.key()
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
