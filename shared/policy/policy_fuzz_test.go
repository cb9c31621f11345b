package policy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/package-url/packageurl-go"
)

func seedFiles(f *testing.F, pattern string) {
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzReadSBOM feeds arbitrary documents to the CycloneDX/SPDX readers and
// the dependency graph: nothing panics, components with a purl carry it in
// canonical form and sorted, the others carry none, and a dependency path is
// a chain of at least two distinct components, never longer than the SBOM.
func FuzzReadSBOM(f *testing.F) {
	seedFiles(f, "testdata/sbom-*.json")
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"bom-ref":"a","name":"a","purl":"pkg:npm/a@1"},{"bom-ref":"b","name":"b","purl":"pkg:npm/b@1"}],"dependencies":[{"ref":"a","dependsOn":["b"]},{"ref":"b","dependsOn":["a"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSBOM(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := len(s.Components) + len(s.WithoutPURL)
		for i, c := range s.Components {
			p, err := packageurl.FromString(c.PURL)
			if err != nil || p.ToString() != c.PURL {
				t.Fatalf("component purl %q is not canonical (%v)", c.PURL, err)
			}
			if i > 0 && s.Components[i-1].PURL > c.PURL {
				t.Fatal("components are not sorted by purl")
			}
		}
		for _, c := range s.WithoutPURL {
			if c.PURL != "" {
				t.Fatalf("component without purl has %q", c.PURL)
			}
		}
		for _, c := range append(slices.Clone(s.Components), s.WithoutPURL...) {
			if p := s.PathOf(c); p != nil && (len(p) < 2 || len(p) > MaxPath) {
				t.Fatalf("path %q in an SBOM of %d components", p, n)
			}
		}
	})
}

// FuzzPolicyParse feeds arbitrary YAML to the dependency-policy parser:
// nothing panics, an accepted policy is named and digested as given, and a
// refusal points at a line of the file.
func FuzzPolicyParse(f *testing.F) {
	seedFiles(f, "testdata/policy-*.yaml")
	f.Add([]byte("version: 1\nrules:\n  - deny: {severity: high}\n"))
	f.Add([]byte("version: 1\nversion: 2\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("p.yaml", data)
		if err != nil {
			var fe *FileError
			// YAML ends a line at \n, \r\n or a lone \r.
			lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
			if errors.As(err, &fe) && (fe.Line < 0 || fe.Line > lines+1) {
				t.Fatalf("error at line %d of a %d-line file: %v", fe.Line, lines, err)
			}
			return
		}
		sum := sha256.Sum256(data)
		if p.Name != "p.yaml" || p.Digest != hex.EncodeToString(sum[:]) {
			t.Fatalf("policy named %q digest %q", p.Name, p.Digest)
		}
	})
}

// FuzzMaintenanceData feeds arbitrary maintenance data files to ParseData:
// nothing panics, an accepted file is version 1, and every release date it
// accepted was read.
func FuzzMaintenanceData(f *testing.F) {
	seedFiles(f, "testdata/maintenance.json")
	f.Add([]byte(`{"version":1,"packages":[{"purl":"pkg:npm/a","last_release":"2020-01-02"},{"purl":"pkg:npm/a","archived":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseData("m.json", data)
		if err != nil {
			return
		}
		if d.Version != 1 {
			t.Fatalf("accepted version %d", d.Version)
		}
		for _, i := range d.byPURL {
			if p := d.Packages[i]; p.LastRelease != "" && p.lastRelease.IsZero() {
				t.Fatalf("release date %q accepted but not read", p.LastRelease)
			}
		}
	})
}

// FuzzOSVRecord feeds arbitrary records to the loader's decode: nothing
// panics, and the cheap name scan never hides a record that a full decode
// finds to affect a wanted package.
func FuzzOSVRecord(f *testing.F) {
	seedFiles(f, "testdata/osv/*.json")
	f.Add([]byte(`{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"Django_Foo"}}]}`))
	f.Add([]byte(`{"id":"X-2","affected":[{"package":{"ecosystem":"npm","name":"a\u002db"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var full Record
		if json.Unmarshal(data, &full) != nil || full.ID == "" {
			return
		}
		l := &loader{names: wantNames{raw: map[string]bool{}, pypi: map[string]bool{}}, want: map[pkgKey]bool{}}
		named := 0
		for _, a := range full.Affected {
			k := a.key()
			if k.Name == "" {
				continue // no component is called ""
			}
			named++
			l.want[k] = true
			l.names.raw[k.Name] = true
			l.names.raw[a.Package.Name] = true
			if k.Ecosystem == "PyPI" {
				l.names.pypi[k.Name] = true
			}
		}
		r, err := l.decode("r.json", data)
		if err != nil {
			t.Fatalf("a record that decodes was refused: %v", err)
		}
		if named > 0 && r == nil {
			t.Fatalf("the name scan hid record %s about %+v", full.ID, full.Affected[0].Package)
		}
	})
}

// FuzzOSVZip feeds arbitrary files to LoadOSV as an OSV export zip: nothing
// panics, and reading it through its index, cold and warm, finds exactly
// the records a full read finds.
func FuzzOSVZip(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name string, data []byte) {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	add("A-1.json", []byte(`{"id":"A-1","affected":[{"package":{"ecosystem":"npm","name":"aaaa-pkg"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}`))
	add("D-1.json", []byte(`{"id":"D-1","affected":[{"package":{"ecosystem":"PyPI","name":"django.foo"}}]}`))
	add("B-1.json", []byte(`{"id":"B-1","affected":[{"package":{"ecosystem":"npm","name":"bbbb-pkg"}}]}`))
	osvs, _ := filepath.Glob("testdata/osv/*.json")
	for _, p := range osvs[:3] {
		data, _ := os.ReadFile(p)
		add(filepath.Base(p), data)
	}
	zw.Close()
	f.Add(b.Bytes())
	sb, err := ReadSBOM(strings.NewReader(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
		{"type":"library","bom-ref":"a","name":"aaaa-pkg","version":"1.0.0","purl":"pkg:npm/aaaa-pkg@1.0.0"},
		{"type":"library","bom-ref":"d","name":"Django_Foo","version":"1.0","purl":"pkg:pypi/Django_Foo@1.0"}]}`))
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	ids := func(path string, o LoadOptions) ([]string, error) {
		db, err := LoadOSV(context.Background(), []string{path}, sb.Components, o)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, rs := range db.byPkg {
			for _, r := range rs {
				out = append(out, r.ID)
			}
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "all.zip")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cache := t.TempDir()
		want, err := ids(path, LoadOptions{NoIndex: true})
		if err != nil {
			return
		}
		for _, pass := range []string{"cold", "warm"} {
			got, err := ids(path, LoadOptions{CacheDir: cache})
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s indexed load found %q (%v), a full read %q", pass, got, err, want)
			}
		}
	})
}

// TestAttackOSVRecordHiddenFromNameScan: encoding/json matches member names
// without regard to case or escapes, so a record spelling "Name" or
// "n\u0061me" affects the package once decoded; the name scan must not skip
// it, neither on a full read nor through the index.
func TestAttackOSVRecordHiddenFromNameScan(t *testing.T) {
	for _, key := range []string{`"Name"`, `"NAME"`, `"n\u0061me"`} {
		t.Run(key, func(t *testing.T) {
			rec := bytes.Replace(osvJSON(t, "H-1", "npm", "aaaa-pkg"), []byte(`"name"`), []byte(key), 1)
			dir := t.TempDir()
			path := filepath.Join(dir, "all.zip")
			writeZip(t, path, zip.Deflate, []zipFile{{"H-1.json", rec}, {"B-1.json", osvJSON(t, "B-1", "npm", "bbbb-pkg")}})
			for _, o := range []LoadOptions{{NoIndex: true}, {CacheDir: dir}, {CacheDir: dir}} {
				if _, ids := load(t, path, o); !slices.Equal(ids, []string{"H-1"}) {
					t.Fatalf("%+v: loaded %q, want the record spelled %s", o, ids, key)
				}
			}
		})
	}
}
