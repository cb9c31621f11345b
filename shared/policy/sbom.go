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

	// deps holds one parent pointer per node of the dependency graph, so
	// that memory stays linear however deep the graph; PathOf builds a path
	// only when a finding needs one.
	deps *depGraph
}

// MaxPath bounds the entries of a dependency path: a deeper component's
// path keeps its root, "…" and the nearest ancestors.
const MaxPath = 32

// maxPathLabel bounds one entry of a dependency path, in bytes: a path
// repeats names of other components, so an SBOM of long names must not
// multiply its size into every finding.
const maxPathLabel = 200

// maxPathWalk bounds the parent pointers followed for one path.
const maxPathWalk = 4096

// PathOf returns the chain of components from a root of the dependency
// graph to c (both ends included), at most MaxPath entries, or nil when the
// SBOM records no graph that reaches c from another component.
func (s *SBOM) PathOf(c Component) []string {
	g := s.deps
	if g == nil || c.Ref == "" {
		return nil
	}
	n, ok := g.index[c.Ref]
	if !ok || g.parent[n] < 0 {
		return nil
	}
	var rev []string
	cur, steps := n, 0
	for ; cur >= 0 && len(rev) < MaxPath-2 && steps < maxPathWalk; steps++ {
		if l := g.label[cur]; l != "" {
			rev = append(rev, clipLabel(l))
		}
		cur = g.parent[cur]
	}
	if cur >= 0 {
		// Stopped below the root: elide the middle, keep the root.
		for cur >= 0 && g.label[cur] == "" && steps < 2*maxPathWalk {
			cur, steps = g.parent[cur], steps+1
		}
		if cur >= 0 && g.parent[cur] >= 0 {
			rev = append(rev, "…")
		}
		if r := g.root[n]; g.label[r] != "" {
			rev = append(rev, clipLabel(g.label[r]))
		}
	}
	if len(rev) < 2 {
		return nil
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
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

// cdxComponent is the part of a CycloneDX component a policy reads. The
// document is decoded into these, not into cyclonedx-go's full model, whose
// components are many times larger: a big SBOM costs memory in proportion
// to what is evaluated.
type cdxComponent struct {
	BOMRef     string         `json:"bom-ref"`
	Group      string         `json:"group"`
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	PURL       string         `json:"purl"`
	Licenses   *cdx.Licenses  `json:"licenses"`
	Components []cdxComponent `json:"components"`
}

func readCycloneDX(data []byte, spec string) (*SBOM, error) {
	var bom struct {
		Components   []cdxComponent `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		return nil, fmt.Errorf("reading CycloneDX document: %w", err)
	}
	g := newGraph()
	comps := make([]Component, 0, len(bom.Components))
	var walk func(parent string, list []cdxComponent, depth int)
	walk = func(parent string, list []cdxComponent, depth int) {
		if depth > 64 {
			return
		}
		for i := range list {
			x := &list[i]
			name := x.Name
			if x.Group != "" {
				name = x.Group + "/" + x.Name
			}
			c := Component{Ref: x.BOMRef, Name: name, Version: x.Version, PURL: strings.TrimSpace(x.PURL), License: cdxLicense(x.Licenses)}
			comps = append(comps, c)
			if parent != "" && x.BOMRef != "" {
				g.edge(parent, x.BOMRef)
			}
			walk(x.BOMRef, x.Components, depth+1)
		}
	}
	walk("", bom.Components, 0)
	bom.Components = nil
	for _, d := range bom.Dependencies {
		for _, to := range d.DependsOn {
			g.edge(d.Ref, to)
		}
	}
	bom.Dependencies = nil
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

func clipLabel(s string) string {
	if len(s) <= maxPathLabel {
		return s
	}
	return bounded.Prefix(s, maxPathLabel-len("…")) + "…"
}

// finish validates purls, records the dependency graph and sorts components.
func finish(format string, comps []Component, g *graph) *SBOM {
	s := &SBOM{Format: format, deps: g.shortestParents(), Components: make([]Component, 0, len(comps))}
	for _, c := range comps {
		if c.Ref != "" {
			if n, ok := s.deps.index[c.Ref]; ok {
				s.deps.label[n] = c.Label()
			}
		}
	}
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
		if c.PURL == "" {
			s.WithoutPURL = append(s.WithoutPURL, c)
			continue
		}
		s.Components = append(s.Components, c)
	}
	sort.SliceStable(s.Components, func(i, j int) bool { return s.Components[i].PURL < s.Components[j].PURL })
	return s
}

// graph collects the edges of a document's dependency graph, nodes numbered
// in the order their refs appear.
type graph struct {
	index map[string]int32
	refs  []string
	out   [][]int32
	in    []int32
}

func newGraph() *graph { return &graph{index: map[string]int32{}} }

func (g *graph) node(ref string) int32 {
	if n, ok := g.index[ref]; ok {
		return n
	}
	n := int32(len(g.refs))
	g.index[ref] = n
	g.refs = append(g.refs, ref)
	g.out = append(g.out, nil)
	g.in = append(g.in, 0)
	return n
}

func (g *graph) edge(from, to string) {
	if from == "" || to == "" || from == to {
		return
	}
	a, b := g.node(from), g.node(to)
	g.out[a] = append(g.out[a], b)
	g.in[b]++
}

// depGraph is a breadth-first spanning forest of the dependency graph: one
// parent pointer per node gives each node's shortest path from a root.
type depGraph struct {
	index map[string]int32
	// parent is -1 for roots and for nodes no root reaches (cycles).
	parent []int32
	root   []int32
	// label names the component of each node ("" when the ref names none).
	label []string
}

// shortestParents walks the graph breadth-first from its roots (nodes with
// dependencies that nothing depends on), in ref order, in time and memory
// linear in its size.
func (g *graph) shortestParents() *depGraph {
	n := len(g.refs)
	d := &depGraph{index: g.index, parent: make([]int32, n), root: make([]int32, n), label: make([]string, n)}
	seen := make([]bool, n)
	for i := range d.parent {
		d.parent[i], d.root[i] = -1, -1
	}
	var roots []int32
	for i := range n {
		if g.in[i] == 0 && len(g.out[i]) > 0 {
			roots = append(roots, int32(i))
		}
	}
	sort.Slice(roots, func(i, j int) bool { return g.refs[roots[i]] < g.refs[roots[j]] })
	queue := make([]int32, 0, n)
	for _, r := range roots {
		seen[r], d.root[r] = true, r
		queue = append(queue, r)
	}
	for head := 0; head < len(queue); head++ {
		v := queue[head]
		for _, m := range g.out[v] {
			if !seen[m] {
				seen[m] = true
				d.parent[m], d.root[m] = v, d.root[v]
				queue = append(queue, m)
			}
		}
	}
	g.out, g.in = nil, nil
	return d
}
