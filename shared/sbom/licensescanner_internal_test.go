package sbom

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"

	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

// mitText is the MIT license, which licensecheck identifies in full.
const mitText = `MIT License

Copyright (c) 2026 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

// writeLicenseTree writes npm packages that declare no license in
// package.json, so syft reads the license file beside each: one MIT text, one
// text no license matches.
func writeLicenseTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"node_modules/with-mit/package.json":     `{"name":"with-mit","version":"1.0.0"}`,
		"node_modules/with-mit/LICENSE":          mitText,
		"node_modules/with-unknown/package.json": `{"name":"with-unknown","version":"2.0.0"}`,
		"node_modules/with-unknown/LICENSE":      "You may use this only on Tuesdays.\n",
	}
	if err := sbomtest.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	return dir
}

// licenseRows lists each package's licenses as name@version value spdx type
// locations, sorted.
func licenseRows(s *SBOM) []string {
	var rows []string
	for p := range s.doc.Artifacts.Packages.Enumerate() {
		for _, l := range p.Licenses.ToSlice() {
			rows = append(rows, strings.Join([]string{p.Name + "@" + p.Version, l.Value, l.SPDXExpression,
				string(l.Type), strings.Join(l.Locations.CoordinateSet().Paths(), ",")}, " "))
		}
	}
	sort.Strings(rows)
	return rows
}

// TestLicensesAsSyftsOwnScanner scans license files with the lazily built
// matcher and with the scanner syft builds itself: every package must carry
// the same licenses, the MIT text identified as MIT.
func TestLicensesAsSyftsOwnScanner(t *testing.T) {
	dir := writeLicenseTree(t)
	opts := Options{Catalogers: []string{"+javascript-package-cataloger"}}
	before := scans.Load()
	got, err := Generate(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if scans.Load() == before {
		t.Fatal("no license text reached the lazy scanner: the test tree does not exercise it")
	}

	src, err := openSource(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	cfg, err := createConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := syft.CreateSBOM(ctx, src.src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := licenseRows(&SBOM{doc: doc})

	rows := licenseRows(got)
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("licenses differ from syft's own scanner:\n got %q\nwant %q", rows, want)
	}
	if !regexp.MustCompile(`(?m)^with-mit@1\.0\.0 MIT MIT concluded`).MatchString(strings.Join(rows, "\n")) {
		t.Errorf("the MIT text was not identified as MIT: %q", rows)
	}
	if !regexp.MustCompile(`(?m)^with-unknown@2\.0\.0 sha256:[0-9a-f]{64} `).MatchString(strings.Join(rows, "\n")) {
		t.Errorf("the unknown text was not reported by its hash: %q", rows)
	}
}

// TestScanWithoutLicenseTextsBuildsNoMatcher: a Go module tree without its
// module cache hands syft no license text, so its scan leaves the matcher
// unbuilt (the 1-2 s of CPU the syft CLI spends on every scan).
func TestScanWithoutLicenseTextsBuildsNoMatcher(t *testing.T) {
	dir := t.TempDir()
	if err := sbomtest.WriteGoModule(dir, 20); err != nil {
		t.Fatal(err)
	}
	before := scans.Load()
	s, err := Generate(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Count() < 20 {
		t.Fatalf("found %d packages, want at least 20", s.Count())
	}
	if n := scans.Load() - before; n != 0 {
		t.Errorf("%d license texts went to the matcher on a tree with none", n)
	}
}

// TestSyftInternalsAsDeclared reads the source of the syft version in go.mod
// and fails when the declarations licensescanner.go reaches by name differ
// from it: a syft upgrade that changes them must change that file.
func TestSyftInternalsAsDeclared(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anchore/syft").Output()
	if err != nil {
		t.Fatalf("locating syft's source: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "licenses")
	var src strings.Builder
	for _, f := range []string{"scanner.go", "context.go"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for _, decl := range []string{
		`type Scanner interface \{`,
		`type ScannerConfig struct \{\s+CoverageThreshold\s+float64\s+Scanner\s+func\(\[\]byte\) licensecheck\.Coverage\s+\}`,
		`func NewScanner\(c \*ScannerConfig\) \(Scanner, error\) \{`,
		`func SetContextLicenseScanner\(ctx context\.Context, s Scanner\) context\.Context \{`,
	} {
		if !regexp.MustCompile(decl).MatchString(src.String()) {
			t.Errorf("syft's internal/licenses no longer declares %s: update licensescanner.go to the new declarations", decl)
		}
	}
}
