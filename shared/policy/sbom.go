package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/paved-dev/paved/shared/bounded"
)

// MaxSBOM bounds the size of an SBOM document read by ReadSBOM.
const MaxSBOM = 256 << 20

// Component is one package of an SBOM.
type Component struct {
	// Ref is the document's own identifier for it (CycloneDX bom-ref, SPDX SPDXID).
	Ref     string
	Name    string
	Version string
	// PURL is the package URL as the SBOM gives it ("" when it gives none).
	PURL string
	// License is the SPDX license expression of the component ("" when unknown).
	License string
	// Path is the chain of components from a root of the dependency graph to
	// this one (both ends included), when the SBOM records a graph.
	Path []string

	purl packageurl.PackageURL
}

// Label names a component for people: its purl, or name@version without one.
func (c Component) Label() string {
	if c.PURL != "" {
		return c.PURL
	}
	if c.Version != "" {
		return c.Name + "@" + c.Version
	}
	return c.Name
}

// SBOM is the part of an SBOM document a policy is evaluated on.
type SBOM struct {
	// Format is "SPDX-2.3" or "CycloneDX-1.x".
	Format string
	// Components have a purl; evaluation identifies them by it.
	Components []Component
	// WithoutPURL are components the SBOM names without a (valid) purl; they
	// cannot be matched against any database and are reported as such.
	WithoutPURL []Component
}

// ReadSBOM reads an SPDX 2.3 or CycloneDX 1.4–1.6 JSON document.
func ReadSBOM(r io.Reader) (*SBOM, error) {
	data, err := bounded.Read(r, MaxSBOM)
	if err != nil {
		return nil, fmt.Errorf("SBOM: %w", err)
	}
	var probe struct {
		SPDXVersion string `json:"spdxVersion"`
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("SBOM is not JSON: %w", err)
	}
	switch {
	case probe.SPDXVersion != "":
		if probe.SPDXVersion != "SPDX-2.3" && probe.SPDXVersion != "SPDX-2.2" {
			return nil, fmt.Errorf("SPDX version %s is not supported: give an SPDX 2.3 JSON document", probe.SPDXVersion)
		}
		return readSPDX(data)
	case probe.BOMFormat == "CycloneDX":
		switch probe.SpecVersion {
		case "1.4", "1.5", "1.6":
		default:
			return nil, fmt.Errorf("CycloneDX spec version %q is not supported: give a CycloneDX 1.4, 1.5 or 1.6 JSON document", probe.SpecVersion)
		}
		return readCycloneDX(data, probe.SpecVersion)
	default:
		return nil, fmt.Errorf("not an SBOM: neither spdxVersion nor bomFormat CycloneDX is set (want SPDX 2.3 or CycloneDX 1.4–1.6 JSON)")
	}
}

func readSPDX(data []byte) (*SBOM, error) {
	var doc v2_3.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		return nil, fmt.Errorf("reading SPDX document: %w", err)
	}
	g := newGraph()
	var comps []Component
	for _, p := range doc.Packages {
		if p == nil {
			continue
		}
		c := Component{Ref: string(p.PackageSPDXIdentifier), Name: p.PackageName, Version: p.PackageVersion}
		for _, ref := range p.PackageExternalReferences {
			if ref != nil && strings.EqualFold(ref.RefType, "purl") && c.PURL == "" {
				c.PURL = strings.TrimSpace(ref.Locator)
			}
		}
		c.License = spdxLicense(p.PackageLicenseConcluded)
		if c.License == "" {
			c.License = spdxLicense(p.PackageLicenseDeclared)
		}
		comps = append(comps, c)
	}
	for _, rel := range doc.Relationships {
		if rel == nil {
			continue
		}
		a, b := string(rel.RefA.ElementRefID), string(rel.RefB.ElementRefID)
		switch strings.ToUpper(rel.Relationship) {
		case "DEPENDS_ON", "CONTAINS", "DESCRIBES", "DEV_DEPENDENCY_OF_REVERSED":
			g.edge(a, b)
		case "DEPENDENCY_OF", "CONTAINED_BY", "DESCRIBED_BY", "DEV_DEPENDENCY_OF", "BUILD_DEPENDENCY_OF", "RUNTIME_DEPENDENCY_OF", "OPTIONAL_DEPENDENCY_OF":
			g.edge(b, a)
		}
	}
	return finish("SPDX-"+strings.TrimPrefix(doc.SPDXVersion, "SPDX-"), comps, g), nil
}

// spdxLicense drops the SPDX placeholders that mean "no information".
func spdxLicense(s string) string {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "", "NOASSERTION", "NONE":
		return ""
	}
	return s
}

func readCycloneDX(data []byte, spec string) (*SBOM, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("reading CycloneDX document: %w", err)
	}
	g := newGraph()
	var comps []Component
	var walk func(parent string, list *[]cdx.Component, depth int)
	walk = func(parent string, list *[]cdx.Component, depth int) {
		if list == nil || depth > 64 {
			return
		}
		for _, x := range *list {
			name := x.Name
			if x.Group != "" {
				name = x.Group + "/" + x.Name
			}
			c := Component{Ref: x.BOMRef, Name: name, Version: x.Version, PURL: strings.TrimSpace(x.PackageURL), License: cdxLicense(x.Licenses)}
			comps = append(comps, c)
			if parent != "" && x.BOMRef != "" {
				g.edge(parent, x.BOMRef)
			}
			walk(x.BOMRef, x.Components, depth+1)
		}
	}
	walk("", bom.Components, 0)
	if bom.Dependencies != nil {
		for _, d := range *bom.Dependencies {
			if d.Dependencies == nil {
				continue
			}
			for _, to := range *d.Dependencies {
				g.edge(d.Ref, to)
			}
		}
	}
	return finish("CycloneDX-"+spec, comps, g), nil
}

// cdxLicense joins a component's license choices into one SPDX expression.
// CycloneDX lists either one expression or licenses that all apply.
func cdxLicense(ls *cdx.Licenses) string {
	if ls == nil {
		return ""
	}
	var parts []string
	for _, l := range *ls {
		switch {
		case l.Expression != "":
			parts = append(parts, l.Expression)
		case l.License != nil && l.License.ID != "":
			parts = append(parts, l.License.ID)
		case l.License != nil && l.License.Name != "":
			parts = append(parts, "LicenseRef-"+sanitizeRef(l.License.Name))
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	for i, p := range parts {
		if strings.ContainsAny(p, " ") {
			parts[i] = "(" + p + ")"
		}
	}
	return strings.Join(parts, " AND ")
}

func sanitizeRef(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// finish validates purls, attaches dependency paths and sorts components.
func finish(format string, comps []Component, g *graph) *SBOM {
	s := &SBOM{Format: format}
	label := map[string]string{}
	for _, c := range comps {
		if c.Ref != "" {
			label[c.Ref] = c.Label()
		}
	}
	paths := g.shortestPaths()
	for _, c := range comps {
		if c.PURL != "" {
			p, err := packageurl.FromString(c.PURL)
			if err == nil {
				c.purl = p
				c.PURL = p.ToString()
			} else {
				c.PURL = ""
			}
		}
		if refs := paths[c.Ref]; len(refs) > 1 {
			var path []string
			for _, r := range refs {
				if l, ok := label[r]; ok {
					path = append(path, l)
				}
			}
			if len(path) > 1 {
				c.Path = path
			}
		}
		if c.PURL == "" {
			s.WithoutPURL = append(s.WithoutPURL, c)
			continue
		}
		s.Components = append(s.Components, c)
	}
	sort.SliceStable(s.Components, func(i, j int) bool { return s.Components[i].PURL < s.Components[j].PURL })
	return s
}

type graph struct {
	out map[string][]string
	in  map[string]int
}

func newGraph() *graph { return &graph{out: map[string][]string{}, in: map[string]int{}} }

func (g *graph) edge(from, to string) {
	if from == "" || to == "" || from == to {
		return
	}
	g.out[from] = append(g.out[from], to)
	g.in[to]++
}

// shortestPaths returns, for every node reachable from a root (a node nothing
// points to), the shortest chain of refs from a root to it.
func (g *graph) shortestPaths() map[string][]string {
	parent := map[string]string{}
	seen := map[string]bool{}
	var roots []string
	for n := range g.out {
		if g.in[n] == 0 {
			roots = append(roots, n)
		}
	}
	sort.Strings(roots)
	queue := append([]string(nil), roots...)
	for _, r := range roots {
		seen[r] = true
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range g.out[n] {
			if !seen[m] {
				seen[m] = true
				parent[m] = n
				queue = append(queue, m)
			}
		}
	}
	paths := make(map[string][]string, len(seen))
	for n := range seen {
		var chain []string
		for cur, i := n, 0; i < 1000; i++ {
			chain = append(chain, cur)
			p, ok := parent[cur]
			if !ok {
				break
			}
			cur = p
		}
		for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
			chain[i], chain[j] = chain[j], chain[i]
		}
		paths[n] = chain
	}
	return paths
}
