package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
)

// largeSBOM is a generated SBOM of n npm packages, as a scan of a huge
// node_modules tree would produce.
func largeSBOM(n int) *SBOM {
	c := pkg.NewCollection()
	for i := range n {
		name := fmt.Sprintf("generated-package-with-a-long-name-%06d", i)
		version := fmt.Sprintf("1.%d.%d", i/1000, i%1000)
		p := pkg.Package{
			Name: name, Version: version, Type: pkg.NpmPkg, Language: pkg.JavaScript,
			PURL:      "pkg:npm/" + name + "@" + version,
			Locations: file.NewLocationSet(file.NewLocation("/app/node_modules/" + name + "/package.json")),
			Licenses:  pkg.NewLicenseSet(pkg.NewLicense("MIT")),
		}
		p.SetID()
		c.Add(p)
	}
	return &SBOM{
		Source: Source{Type: Dir, Name: "app"},
		doc: &syftsbom.SBOM{
			Artifacts:  syftsbom.Artifacts{Packages: c},
			Source:     source.Description{ID: "generated", Name: "app", Metadata: source.DirectoryMetadata{Path: "app"}},
			Descriptor: syftsbom.Descriptor{Name: "syft", Version: SyftVersion},
		},
	}
}

func TestPredicateLargeSBOMByReference(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 16 MB SBOM")
	}
	s := largeSBOM(34000)
	// The JSON formats, that are inline when small; the others are always
	// attested by reference (TestPredicateInline).
	for _, f := range DefaultFormats {
		doc, err := s.Bytes(f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(doc) <= 16<<20 {
			t.Fatalf("%s: generated SBOM is only %d bytes; the test needs one over 16 MB", f, len(doc))
		}
		predType, pred, inline, err := Predicate(f, doc, "app"+f.Extension(), 34000, 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if inline || predType != ReferencePredicateType {
			t.Fatalf("%s: a %d-byte SBOM was attested inline (%s)", f, len(doc), predType)
		}
		if len(pred) > 1024 {
			t.Errorf("%s: reference predicate is %d bytes", f, len(pred))
		}
		var ref Reference
		if err := json.Unmarshal(pred, &ref); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(doc)
		want := Reference{
			SBOM:              Descriptor{Name: "app" + f.Extension(), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}, MediaType: f.MediaType()},
			SBOMPredicateType: f.PredicateType(), Size: int64(len(doc)), Components: 34000,
		}
		got, _ := json.Marshal(ref)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(got, wantJSON) {
			t.Errorf("%s: reference = %s, want %s", f, got, wantJSON)
		}
		// Streamed to a file, the same document gives the same reference.
		dir := t.TempDir()
		w, err := s.WriteFile(filepath.Join(dir, "app"+f.Extension()), f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		if w.Size != int64(len(onDisk)) || w.SHA256 != hex.EncodeToString(sha256Of(onDisk)) {
			t.Errorf("%s: WriteFile reports %d bytes %s, the file has %d", f, w.Size, w.SHA256, len(onDisk))
		}
		fromFile, err := ReferenceTo(f, "app"+f.Extension(), w.SHA256, w.Size, 34000)
		if err != nil {
			t.Fatal(err)
		}
		if w.SHA256 == ref.SBOM.Digest["sha256"] && !bytes.Equal(fromFile, pred) {
			t.Errorf("%s: reference from the file %s differs from %s", f, fromFile, pred)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: WriteFile left %d entries", f, len(ents))
		}
	}
}

func sha256Of(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	s := largeSBOM(3)
	dir := t.TempDir()
	if _, err := s.WriteFile(filepath.Join(dir, "missing", "x.spdx.json"), SPDXJSON, Options{}); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	if _, err := s.WriteFile(filepath.Join(dir, "x.json"), Format("xml"), Options{}); err == nil {
		t.Fatal("an unknown format was written")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left %v", ents)
	}
}

func TestPredicateInline(t *testing.T) {
	s := largeSBOM(3)
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, f := range Formats {
		doc, err := s.Bytes(f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		predType, pred, inline, err := Predicate(f, doc, "app"+f.Extension(), 3, 0, now)
		if err != nil {
			t.Fatal(err)
		}
		if !f.JSON() {
			// An in-toto predicate is a JSON object: tag-value and XML are bound by digest.
			var ref Reference
			if inline || predType != ReferencePredicateType || json.Unmarshal(pred, &ref) != nil {
				t.Fatalf("%s: attested as %s (inline %v): %s", f, predType, inline, pred)
			}
			if ref.SBOMPredicateType != f.PredicateType() || ref.SBOM.MediaType != f.MediaType() || ref.SBOM.Digest["sha256"] != hex.EncodeToString(sha256Of(doc)) || ref.Size != int64(len(doc)) {
				t.Errorf("%s: reference %+v does not bind the document", f, ref)
			}
			continue
		}
		if !inline || predType != f.PredicateType() {
			t.Fatalf("%s: small SBOM not inline: %s", f, predType)
		}
		var compact bytes.Buffer
		json.Compact(&compact, doc)
		if f == SyftJSON {
			// As cosign's custom predicate carries it (syft attest -o syft-json).
			var cp CosignPredicate
			dec := json.NewDecoder(bytes.NewReader(pred))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cp); err != nil {
				t.Fatalf("%s: predicate is not cosign's custom predicate: %v", f, err)
			}
			if cp.Data != compact.String() || cp.Timestamp != "2026-12-06T02:00:00Z" {
				t.Errorf("%s: predicate carries %q at %s", f, cp.Data[:min(len(cp.Data), 40)], cp.Timestamp)
			}
		} else if !bytes.Equal(pred, compact.Bytes()) {
			t.Errorf("%s: inline predicate is not the document", f)
		}
		// Just over a custom limit: by reference.
		if _, _, inline, _ := Predicate(f, doc, "x", 3, int64(len(pred)-1), now); inline {
			t.Errorf("%s: document over the limit was inlined", f)
		}
		if _, _, inline, _ := Predicate(f, doc, "x", 3, int64(len(pred)), now); !inline {
			t.Errorf("%s: document at the limit was not inlined", f)
		}
	}
	if _, _, _, err := Predicate(SPDXJSON, []byte("{not json"), "x", 0, 0, now); err == nil {
		t.Error("a document that is not JSON was accepted")
	}
}

// TestDocumentedReference: the example in docs/predicates/sbom-reference-v1.md
// decodes strictly into Reference, and the document names the predicate type.
func TestDocumentedReference(t *testing.T) {
	md, err := os.ReadFile("../../docs/predicates/sbom-reference-v1.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), ReferencePredicateType) {
		t.Errorf("the document does not name %s", ReferencePredicateType)
	}
	_, rest, _ := strings.Cut(string(md), "```json\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no JSON example in the document")
	}
	dec := json.NewDecoder(strings.NewReader(example))
	dec.DisallowUnknownFields()
	var r Reference
	if err := dec.Decode(&r); err != nil || r.SBOM.Name == "" || r.SBOMPredicateType == "" || r.Size == 0 || r.Components == 0 {
		t.Fatalf("the documented example %+v does not decode strictly with every field: %v", r, err)
	}
}
