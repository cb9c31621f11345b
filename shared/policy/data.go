package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
)

// MaxData bounds a maintenance data file.
const MaxData = 256 << 20

// Data is the offline maintenance and provenance data file: what deps.dev
// and package registries say about packages, captured for air-gapped runs.
//
//	{"version": 1, "packages": [{"purl": "pkg:npm/request", "deprecated": true,
//	  "repository": "github.com/request/request", "archived": true,
//	  "last_release": "2020-02-11", "provenance": {"2.88.2": "https://slsa.dev/provenance/v1"}}]}
type Data struct {
	Version  int           `json:"version"`
	Packages []PackageInfo `json:"packages"`

	byPURL map[string]int // index into Packages
}

// PackageInfo is what is known about one package (all versions).
type PackageInfo struct {
	// PURL names the package without a version: pkg:TYPE/NAMESPACE/NAME.
	PURL string `json:"purl"`
	// Deprecated is set when the registry marks the package deprecated.
	Deprecated bool `json:"deprecated,omitempty"`
	// DeprecationMessage is the registry's deprecation notice.
	DeprecationMessage string `json:"deprecation_message,omitempty"`
	// Repository is the package's source repository.
	Repository string `json:"repository,omitempty"`
	// Archived is set when the source repository is archived.
	Archived bool `json:"archived,omitempty"`
	// LastRelease is the date of the newest release, YYYY-MM-DD or RFC 3339.
	LastRelease string `json:"last_release,omitempty"`
	// Provenance maps versions that carry a provenance attestation to the
	// attestation's predicate type.
	Provenance map[string]string `json:"provenance,omitempty"`

	lastRelease time.Time
}

// ParseData reads a maintenance data file.
func ParseData(name string, raw []byte) (*Data, error) {
	if len(raw) > MaxData {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, MaxData)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var d Data
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: not a maintenance data file: %w", name, err)
	}
	if d.Version != 1 {
		return nil, fmt.Errorf("%s: version %d: want \"version\": 1", name, d.Version)
	}
	d.index()
	for _, i := range d.byPURL {
		p := &d.Packages[i]
		if p.LastRelease == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.LastRelease)
		if err != nil {
			if t, err = time.Parse("2006-01-02", p.LastRelease); err != nil {
				return nil, fmt.Errorf("%s: %s: last_release %q is not a date (YYYY-MM-DD or RFC 3339)", name, p.PURL, p.LastRelease)
			}
		}
		p.lastRelease = t
	}
	return &d, nil
}

func (d *Data) index() {
	d.byPURL = map[string]int{}
	for i := range d.Packages {
		d.byPURL[packageID(d.Packages[i].PURL)] = i
	}
}

// lookup returns what the data says about a component's package.
func (d *Data) lookup(c Component) *PackageInfo {
	if d == nil || d.byPURL == nil {
		return nil
	}
	i, ok := d.byPURL[packageID(c.PURL)]
	if !ok {
		return nil
	}
	return &d.Packages[i]
}

// merge adds online facts to the data (online facts win).
func (d *Data) merge(info PackageInfo) {
	if d.byPURL == nil {
		d.index()
	}
	id := packageID(info.PURL)
	i, ok := d.byPURL[id]
	if !ok {
		d.Packages = append(d.Packages, info)
		d.byPURL[id] = len(d.Packages) - 1
		return
	}
	cur := &d.Packages[i]
	if !info.lastRelease.IsZero() && info.lastRelease.After(cur.lastRelease) {
		cur.lastRelease, cur.LastRelease = info.lastRelease, info.LastRelease
	}
	cur.Deprecated = cur.Deprecated || info.Deprecated
	cur.Archived = cur.Archived || info.Archived
	for v, t := range info.Provenance {
		if cur.Provenance == nil {
			cur.Provenance = map[string]string{}
		}
		cur.Provenance[v] = t
	}
}

// packageID is a purl without version, qualifiers and subpath, normalised.
func packageID(s string) string {
	p, err := packageurl.FromString(s)
	if err != nil {
		return strings.ToLower(s)
	}
	p.Version, p.Qualifiers, p.Subpath = "", nil, ""
	if p.Type == "pypi" {
		p.Name = normalizePyPI(p.Name)
	}
	return p.ToString()
}
