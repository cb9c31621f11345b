package policy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// indexSBOM wants aaaa-pkg (npm) and Django_Foo (PyPI).
func indexSBOM(t *testing.T) []Component {
	t.Helper()
	sb, err := ReadSBOM(strings.NewReader(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
		{"type":"library","bom-ref":"a","name":"aaaa-pkg","version":"1.0.0","purl":"pkg:npm/aaaa-pkg@1.0.0"},
		{"type":"library","bom-ref":"d","name":"Django_Foo","version":"1.0","purl":"pkg:pypi/Django_Foo@1.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return sb.Components
}

func osvJSON(t *testing.T, id, eco, name string) []byte {
	t.Helper()
	r := Record{ID: id, Aliases: []string{"CVE-2025-" + id}}
	var a Affected
	a.Package.Ecosystem, a.Package.Name = eco, name
	a.Ranges = []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}}}}
	r.Affected = []Affected{a}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type zipFile struct {
	name string
	data []byte
}

// writeZip writes files, stored (method 0) or deflated.
func writeZip(t *testing.T, path string, method uint16, files []zipFile) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// indexFixture is a small export: relevant records by plain name, by
// PyPI-normalized name, by an escaped name the scan cannot judge, and records
// that are not relevant.
func indexFixture(t *testing.T) []zipFile {
	return []zipFile{
		{"A-1.json", osvJSON(t, "A-1", "npm", "aaaa-pkg")},
		{"B-1.json", osvJSON(t, "B-1", "npm", "bbbb-pkg")},
		{"B-2.json", osvJSON(t, "B-2", "PyPI", "aaaa-pkg")}, // name matches, ecosystem does not
		{"D-1.json", osvJSON(t, "D-1", "PyPI", "django.foo")},
		{"E-1.json", bytes.Replace(osvJSON(t, "E-1", "npm", "aaaa-pkg"), []byte(`"aaaa-pkg"`), []byte(`"aaaa\u002dpkg"`), 1)},
		{"MAL-2025-1.json", osvJSON(t, "MAL-2025-1", "npm", "aaaa-pkg")},
		{"notes.txt", []byte("not a record")},
	}
}

func load(t *testing.T, zipPath string, opts LoadOptions) (*DB, []string) {
	t.Helper()
	db, err := LoadOSV(context.Background(), []string{zipPath}, indexSBOM(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rs := range db.byPkg {
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return db, slices.Compact(ids)
}

func TestOSVIndexWarmRunReadsOnlyRelevantRecords(t *testing.T) {
	want := []string{"A-1", "D-1", "E-1", "MAL-2025-1"}
	for _, tc := range []struct {
		name     string
		cacheDir bool
		method   uint16
	}{
		{"beside the zip, deflated", false, zip.Deflate},
		{"in a cache dir, stored", true, zip.Store},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			zipPath := filepath.Join(dir, "all.zip")
			writeZip(t, zipPath, tc.method, indexFixture(t))
			opts := LoadOptions{}
			idx := zipPath + indexSuffix
			if tc.cacheDir {
				opts.CacheDir = filepath.Join(dir, "cache")
				var err error
				if idx, err = indexPath(zipPath, opts.CacheDir); err != nil {
					t.Fatal(err)
				}
			}
			cold, coldIDs := load(t, zipPath, opts)
			if cold.Total != 6 || cold.Scanned != 6 || !slices.Equal(coldIDs, want) {
				t.Fatalf("cold: total %d scanned %d kept %v, want 6, 6, %v", cold.Total, cold.Scanned, coldIDs, want)
			}
			if _, err := os.Stat(idx); err != nil {
				t.Fatalf("no index after the first load: %v", err)
			}
			if tc.cacheDir {
				if _, err := os.Stat(zipPath + indexSuffix); err == nil {
					t.Fatal("index written beside the zip although a cache dir was given")
				}
			}
			warm, warmIDs := load(t, zipPath, opts)
			// The index points to the entries naming aaaa-pkg or django.foo
			// (B-2 included: the ecosystem is decided by the decode) and to
			// the escaped one.
			if warm.Total != 6 || warm.Scanned != 5 || !slices.Equal(warmIDs, want) || warm.Kept != cold.Kept {
				t.Fatalf("warm: total %d scanned %d kept %v (%d), want 6, 5, %v (%d)", warm.Total, warm.Scanned, warmIDs, warm.Kept, want, cold.Kept)
			}
			none, noneIDs := load(t, zipPath, LoadOptions{NoIndex: true, CacheDir: opts.CacheDir})
			if none.Scanned != 6 || !slices.Equal(noneIDs, want) {
				t.Fatalf("NoIndex: scanned %d kept %v", none.Scanned, noneIDs)
			}
		})
	}
}

// A changed zip must never be read through the index of its former version,
// even when its size and modification time are the same.
func TestOSVIndexStaleIsNotUsed(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "all.zip")
	before := []zipFile{
		{"A-1.json", osvJSON(t, "A-1", "npm", "aaaa-pkg")},
		{"X-1.json", osvJSON(t, "X-1", "npm", "bbbb-pkg")},
	}
	writeZip(t, zipPath, zip.Store, before)
	st, err := os.Stat(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if db, ids := load(t, zipPath, LoadOptions{}); db.Scanned != 2 || !slices.Equal(ids, []string{"A-1"}) {
		t.Fatalf("first load: scanned %d kept %v", db.Scanned, ids)
	}
	if db, _ := load(t, zipPath, LoadOptions{}); db.Scanned != 1 {
		t.Fatalf("second load read %d records, want 1 through the index", db.Scanned)
	}

	// X-1 now concerns aaaa-pkg: same length, same size, same time.
	after := []zipFile{before[0], {"X-1.json", osvJSON(t, "X-1", "npm", "aaaa-pkg")}}
	writeZip(t, zipPath, zip.Store, after)
	if err := os.Chtimes(zipPath, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	st2, err := os.Stat(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatalf("fixture: size %d→%d, time %v→%v; want both unchanged", st.Size(), st2.Size(), st.ModTime(), st2.ModTime())
	}
	db, ids := load(t, zipPath, LoadOptions{})
	if db.Scanned != 2 || !slices.Equal(ids, []string{"A-1", "X-1"}) {
		t.Fatalf("after the change: scanned %d kept %v, want 2 and [A-1 X-1] (the stale index was used)", db.Scanned, ids)
	}
	if db, ids := load(t, zipPath, LoadOptions{}); db.Scanned != 2 || !slices.Equal(ids, []string{"A-1", "X-1"}) {
		t.Fatalf("rebuilt index: scanned %d kept %v, want 2 and [A-1 X-1]", db.Scanned, ids)
	}

	// A newer modification time alone also retires the index.
	later := st.ModTime().Add(time.Hour)
	if err := os.Chtimes(zipPath, later, later); err != nil {
		t.Fatal(err)
	}
	if db, _ := load(t, zipPath, LoadOptions{}); db.Scanned != 2 {
		t.Fatalf("after touching the zip: scanned %d, want 2 (full read)", db.Scanned)
	}
}

// A damaged index is ignored, the load is complete, and the index is rebuilt.
func TestOSVIndexCorruptIsIgnoredAndRebuilt(t *testing.T) {
	want := []string{"A-1", "D-1", "E-1", "MAL-2025-1"}
	for _, tc := range []struct {
		name    string
		corrupt func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"garbage", func(b []byte) []byte { return bytes.Repeat([]byte{0xff}, len(b)) }},
		{"other format version", func(b []byte) []byte { b[len(indexMagic)-1]++; return b }},
		{"wanted name altered", func(b []byte) []byte {
			i := bytes.Index(b, []byte("aaaa-pkg"))
			b[i+7] = 'h' // aaaa-pkh: without the checksum, A-1 and MAL-2025-1 would be missed
			return b
		}},
		{"checksum altered", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			zipPath := filepath.Join(dir, "all.zip")
			writeZip(t, zipPath, zip.Deflate, indexFixture(t))
			load(t, zipPath, LoadOptions{})
			idx := zipPath + indexSuffix
			raw, err := os.ReadFile(idx)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(idx, tc.corrupt(bytes.Clone(raw)), 0o644); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			db, ids := load(t, zipPath, LoadOptions{Log: &log})
			if db.Scanned != 6 || !slices.Equal(ids, want) {
				t.Fatalf("with a damaged index: scanned %d kept %v, want 6 and %v", db.Scanned, ids, want)
			}
			if !strings.Contains(log.String(), "ignoring its index") {
				t.Errorf("log %q does not say the index was ignored", log.String())
			}
			rebuilt, err := os.ReadFile(idx)
			if err != nil || !bytes.Equal(rebuilt, raw) {
				t.Fatalf("index not rebuilt as before (%v)", err)
			}
			if db, ids := load(t, zipPath, LoadOptions{}); db.Scanned != 5 || !slices.Equal(ids, want) {
				t.Fatalf("after the rebuild: scanned %d kept %v, want 5 and %v", db.Scanned, ids, want)
			}
		})
	}
}

// Record bytes that differ from what the zip's directory says are an error,
// not a reason to trust the index.
func TestOSVIndexDamagedEntryIsAnError(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "all.zip")
	writeZip(t, zipPath, zip.Store, indexFixture(t))
	load(t, zipPath, LoadOptions{})
	raw, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	// Change A-1's bytes (its summary-free body) in place, central directory untouched.
	i := bytes.Index(raw, []byte(`"id":"A-1"`))
	raw[i+7] = '2'
	if err := os.WriteFile(zipPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(zipPath, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	_, err = LoadOSV(context.Background(), []string{zipPath}, indexSBOM(t), LoadOptions{Log: &log})
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("load of a damaged zip: %v, want a checksum error", err)
	}
	if !strings.Contains(log.String(), "does not match") {
		t.Errorf("log %q does not say the index was abandoned", log.String())
	}
}

func TestOSVIndexUnwritableCacheOnlyCostsSpeed(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "all.zip")
	writeZip(t, zipPath, zip.Deflate, indexFixture(t))
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	for range 2 {
		db, ids := load(t, zipPath, LoadOptions{CacheDir: filepath.Join(blocker, "cache"), Log: &log})
		if db.Scanned != 6 || len(ids) != 4 {
			t.Fatalf("scanned %d kept %v", db.Scanned, ids)
		}
	}
	if !strings.Contains(log.String(), "cannot keep its index") {
		t.Errorf("log %q does not say the index could not be written", log.String())
	}
}

// Exports with 65,535 entries or more use ZIP64 end records.
func TestOSVIndexZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70,000 zip entries")
	}
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "all.zip")
	files := make([]zipFile, 0, 70000)
	for i := range 70000 {
		files = append(files, zipFile{fmt.Sprintf("R-%d.json", i), []byte(fmt.Sprintf(`{"id":"R-%d","affected":[{"package":{"ecosystem":"npm","name":"p%d"}}]}`, i, i))})
	}
	files[69999] = zipFile{"A-1.json", osvJSON(t, "A-1", "npm", "aaaa-pkg")}
	writeZip(t, zipPath, zip.Store, files)
	f, err := os.Open(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, err := readZipKey(f)
	if err != nil || k.entries != 70000 {
		t.Fatalf("zip key: %d entries, %v; want 70000", k.entries, err)
	}
	for _, scanned := range []int{70000, 1} {
		if db, ids := load(t, zipPath, LoadOptions{}); db.Scanned != scanned || !slices.Equal(ids, []string{"A-1"}) {
			t.Fatalf("scanned %d kept %v, want %d and [A-1]", db.Scanned, ids, scanned)
		}
	}
}

func TestNameWantedNormalizesLikePyPI(t *testing.T) {
	names := wantNames{raw: map[string]bool{"exact.name": true}, pypi: map[string]bool{}}
	for _, n := range []string{"django-foo", "zope-interface", "a-b", "ünï-code"} {
		names.pypi[n] = true
	}
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"exact.name", true},
		{"Django_Foo", true},
		{"django.foo", true},
		{"DJANGO--FOO", true},
		{"zope.interface", true},
		{"a__.-b", true},
		{"Ünï_Code", true},
		{"django-fo", false},
		{"exact-name", false},
		{"djangofoo", false},
	} {
		if got := nameWanted([]byte(tc.v), names); got != tc.want {
			t.Errorf("nameWanted(%q) = %v, want %v", tc.v, got, tc.want)
		}
		if tc.want && !names.raw[tc.v] && !names.pypi[normalizePyPI(tc.v)] {
			t.Errorf("fixture: %q does not normalize to a wanted name", tc.v)
		}
	}
}
