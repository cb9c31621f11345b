package sbom_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/cyclonedxxml"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/spdxtagvalue"
	"github.com/anchore/syft/syft/format/syftjson"
	syftsbom "github.com/anchore/syft/syft/sbom"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/sbom"
)

// TestFormatsRoundTrip writes every format from one scan and reads each file
// back with syft's decoder of that format: each is the format it claims to
// be, and lists the same packages.
func TestFormatsRoundTrip(t *testing.T) {
	f := setup(t)
	s, err := sbom.Generate(context.Background(), f.tree, sbom.Options{Catalogers: []string{"+javascript-package-cataloger"}})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range s.Packages() {
		want = append(want, p.Name+"@"+p.Version)
	}
	slices.Sort(want)
	if len(want) < 2 {
		t.Fatalf("the fixture gives %d packages; the test needs several", len(want))
	}
	decoders := map[sbom.Format]struct {
		dec     syftsbom.FormatDecoder
		id      syftsbom.FormatID
		version string
		prefix  string
	}{
		sbom.SPDXJSON:      {spdxjson.NewFormatDecoder(), spdxjson.ID, "2.3", "{"},
		sbom.CycloneDXJSON: {cyclonedxjson.NewFormatDecoder(), cyclonedxjson.ID, "1.6", "{"},
		sbom.SPDXTagValue:  {spdxtagvalue.NewFormatDecoder(), spdxtagvalue.ID, "2.3", "SPDXVersion: SPDX-2.3"},
		sbom.CycloneDXXML:  {cyclonedxxml.NewFormatDecoder(), cyclonedxxml.ID, "1.6", "<?xml"},
		sbom.SyftJSON:      {syftjson.NewFormatDecoder(), syftjson.ID, "", "{"},
	}
	if len(decoders) != len(sbom.Formats) {
		t.Fatalf("the test decodes %d formats, the package writes %d", len(decoders), len(sbom.Formats))
	}
	dir := t.TempDir()
	for _, format := range sbom.Formats {
		t.Run(string(format), func(t *testing.T) {
			w, err := s.WriteFile(filepath.Join(dir, "app"+format.Extension()), format, sbom.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := decoders[format]
			data, err := os.ReadFile(w.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), d.prefix) {
				t.Errorf("%s file starts %q, want %q", format, data[:min(len(data), 40)], d.prefix)
			}
			r, err := os.Open(w.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			doc, id, version, err := d.dec.Decode(r)
			if err != nil {
				t.Fatalf("syft's %s decoder refuses the file: %v", d.id, err)
			}
			if id != d.id || (d.version != "" && version != d.version) {
				t.Errorf("decoded as %s %s, want %s %s", id, version, d.id, d.version)
			}
			var got []string
			for p := range doc.Artifacts.Packages.Enumerate() {
				got = append(got, p.Name+"@"+p.Version)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s lists packages\n%v\nthe scan found\n%v", format, got, want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]sbom.Format{
		"spdx": sbom.SPDXTagValue, "spdx-tag-value": sbom.SPDXTagValue, "SPDX-TV": sbom.SPDXTagValue,
		"spdx-json": sbom.SPDXJSON, " spdxjson ": sbom.SPDXJSON,
		"cyclonedx": sbom.CycloneDXXML, "cyclonedx-xml": sbom.CycloneDXXML, "cdx": sbom.CycloneDXXML,
		"cyclonedx-json": sbom.CycloneDXJSON, "cdx-json": sbom.CycloneDXJSON,
		"syft-json": sbom.SyftJSON, "syft": sbom.SyftJSON, "json": sbom.SyftJSON,
	} {
		if got, err := sbom.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xml", "spdx-2.3", "table", "cyclonedx-json@1.4"} {
		_, err := sbom.ParseFormat(bad)
		if fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "spdx-json, cyclonedx-json, spdx, cyclonedx, syft-json") {
			t.Errorf("ParseFormat(%q) = %v, want a configuration error naming the valid formats", bad, err)
		}
	}
}
