package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

const (
	// SPDXPredicateType is the in-toto predicate type of an SPDX 2.3 document.
	SPDXPredicateType = "https://spdx.dev/Document/v2.3"
	// CycloneDXPredicateType is the in-toto predicate type of a CycloneDX BOM.
	CycloneDXPredicateType = "https://cyclonedx.org/bom"
	// CosignCustomPredicateType is cosign's predicate type for a document it
	// has no type of its own for: syft JSON among them (`syft attest -o
	// syft-json` signs with it). The predicate is CosignPredicate.
	CosignCustomPredicateType = "https://cosign.sigstore.dev/attestation/v1"
	// ReferencePredicateType is the predicate type of an attestation that binds
	// an SBOM too large to carry inline by its digest; the SBOM file is kept
	// beside the bundle. See docs/predicates/sbom-reference-v1.md.
	ReferencePredicateType = "https://github.com/paved-dev/paved/blob/main/docs/predicates/sbom-reference-v1.md"
)

// DefaultInlineLimit is the largest SBOM carried inline in an attestation.
//
// A DSSE envelope base64-encodes the statement and a transparency log receives
// the whole envelope: Rekor v2 refuses requests over 4 MiB by default, so an
// SBOM much above 3 MiB cannot be logged inline however it is signed. Larger
// SBOMs are attested by reference instead (see Predicate), which has no size
// limit at all.
const DefaultInlineLimit = 2 << 20

// Reference is the predicate of ReferencePredicateType.
type Reference struct {
	// SBOM is an in-toto ResourceDescriptor of the SBOM file.
	SBOM Descriptor `json:"sbom"`
	// SBOMPredicateType is the predicate type the document would have inline.
	SBOMPredicateType string `json:"sbomPredicateType"`
	// Size is the document's size in bytes.
	Size int64 `json:"size"`
	// Components is how many components the document lists.
	Components int `json:"components"`
}

// Descriptor is the subset of an in-toto ResourceDescriptor Reference uses.
type Descriptor struct {
	Name      string            `json:"name"`
	Digest    map[string]string `json:"digest"`
	MediaType string            `json:"mediaType"`
}

// CosignPredicate is the predicate of CosignCustomPredicateType, as cosign
// writes it: the document as a string, and when it was attested.
type CosignPredicate struct {
	Data string `json:"Data"`
	// Timestamp is RFC 3339, UTC.
	Timestamp string `json:"Timestamp"`
}

// Predicate returns the predicate type and predicate that attest doc, an SBOM
// document in format f written to a file called fileName. JSON documents up to
// inlineLimit bytes once compacted (DefaultInlineLimit when <= 0) are the
// predicate themselves (syft JSON wrapped in a CosignPredicate stamped with
// now, as cosign does); larger ones, and every document that is not JSON
// (SPDX tag-value, CycloneDX XML: an in-toto predicate is a JSON object), are
// bound by a Reference, and inline is false.
func Predicate(f Format, doc []byte, fileName string, components int, inlineLimit int64, now time.Time) (predType string, predicate []byte, inline bool, err error) {
	if inlineLimit <= 0 {
		inlineLimit = DefaultInlineLimit
	}
	if f.JSON() {
		var buf bytes.Buffer
		if err := json.Compact(&buf, doc); err != nil {
			return "", nil, false, fmt.Errorf("%s document is not JSON: %w", f, err)
		}
		pred := buf.Bytes()
		if f == SyftJSON {
			if pred, err = json.Marshal(CosignPredicate{Data: buf.String(), Timestamp: now.UTC().Format(time.RFC3339)}); err != nil {
				return "", nil, false, err
			}
		}
		if int64(len(pred)) <= inlineLimit {
			return f.PredicateType(), pred, true, nil
		}
	}
	sum := sha256.Sum256(doc)
	out, err := ReferenceTo(f, fileName, hex.EncodeToString(sum[:]), int64(len(doc)), components)
	if err != nil {
		return "", nil, false, err
	}
	return ReferencePredicateType, out, false, nil
}

// ReferenceTo returns the ReferencePredicateType predicate binding an SBOM
// file in format f by its SHA-256 (hex) and size, without reading it.
func ReferenceTo(f Format, fileName, sha256Hex string, size int64, components int) ([]byte, error) {
	return json.Marshal(Reference{
		SBOM:              Descriptor{Name: fileName, Digest: map[string]string{"sha256": sha256Hex}, MediaType: f.MediaType()},
		SBOMPredicateType: f.PredicateType(),
		Size:              size,
		Components:        components,
	})
}

// DocumentPredicateType is the in-toto predicate type of an SBOM document
// given as JSON, recognised as actions/attest recognises one: SPDX when it has
// spdxVersion and SPDXID (https://spdx.dev/Document/vMAJOR.MINOR, from its
// own spdxVersion), CycloneDX when it has bomFormat, serialNumber and
// specVersion (https://cyclonedx.org/bom). Anything else is an error.
func DocumentPredicateType(doc []byte) (string, error) {
	var d struct {
		SPDXVersion  string `json:"spdxVersion"`
		SPDXID       string `json:"SPDXID"`
		BOMFormat    string `json:"bomFormat"`
		SerialNumber string `json:"serialNumber"`
		SpecVersion  string `json:"specVersion"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return "", fmt.Errorf("not a JSON SBOM (SPDX or CycloneDX JSON): %w", err)
	}
	switch {
	case d.SPDXVersion != "" && d.SPDXID != "":
		// The version names the type: only "SPDX-MAJOR.MINOR" is taken, so
		// a document cannot put an arbitrary string into the type URI.
		v, ok := strings.CutPrefix(d.SPDXVersion, "SPDX-")
		if !ok || !spdxVersionRE.MatchString(v) {
			return "", fmt.Errorf("SPDX document has spdxVersion %.40q: want SPDX-MAJOR.MINOR such as SPDX-2.3", d.SPDXVersion)
		}
		return "https://spdx.dev/Document/v" + v, nil
	case d.BOMFormat != "" && d.SerialNumber != "" && d.SpecVersion != "":
		return CycloneDXPredicateType, nil
	}
	return "", fmt.Errorf("unsupported SBOM format: want SPDX JSON (with spdxVersion and SPDXID) or CycloneDX JSON (with bomFormat, serialNumber and specVersion)")
}

var spdxVersionRE = regexp.MustCompile(`^[0-9]{1,3}\.[0-9]{1,3}$`)
