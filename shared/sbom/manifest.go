package sbom

import (
	"sort"

	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/pkg"
)

// Manifest is the packages found through one file of the source (a lock file,
// go.mod, a package.json, a binary), the grouping dependency graphs use.
type Manifest struct {
	// Path is the file in the scanned source; "" gathers the packages syft
	// found nowhere in particular.
	Path string
	// Packages are sorted by purl.
	Packages []Dependency
}

// Dependency is one package of a manifest and what it depends on.
type Dependency struct {
	// PURL is the package URL.
	PURL string
	// Direct is false when another package of the same manifest depends on it.
	Direct bool
	// DependsOn are the purls of the packages it depends on, sorted.
	DependsOn []string
}

// Manifests groups the packages that have a purl by the first file syft found
// each in, with the dependency-of relationships syft recorded between them.
// Packages without a purl are left out: dependency graphs key packages by it.
func (s *SBOM) Manifests() []Manifest {
	byID := map[artifact.ID]pkg.Package{}
	where := map[artifact.ID]string{}
	for p := range s.doc.Artifacts.Packages.Enumerate() {
		if p.PURL == "" {
			continue
		}
		byID[p.ID()] = p
		if locs := p.Locations.ToSlice(); len(locs) > 0 {
			where[p.ID()] = locs[0].RealPath
		}
	}
	deps := map[artifact.ID]map[string]bool{}
	indirect := map[artifact.ID]bool{}
	for _, r := range s.doc.Relationships {
		if r.Type != artifact.DependencyOfRelationship {
			continue
		}
		// From is the dependency, To the package that depends on it.
		child, okc := byID[r.From.ID()]
		parent, okp := byID[r.To.ID()]
		if !okc || !okp || child.ID() == parent.ID() {
			continue
		}
		if deps[parent.ID()] == nil {
			deps[parent.ID()] = map[string]bool{}
		}
		deps[parent.ID()][child.PURL] = true
		if where[child.ID()] == where[parent.ID()] {
			indirect[child.ID()] = true
		}
	}
	byPath := map[string]map[string]*Dependency{}
	for id, p := range byID {
		path := where[id]
		if byPath[path] == nil {
			byPath[path] = map[string]*Dependency{}
		}
		d := byPath[path][p.PURL]
		if d == nil {
			d = &Dependency{PURL: p.PURL}
			byPath[path][p.PURL] = d
		}
		// The same purl found twice in one file is one package: direct if
		// either is.
		d.Direct = d.Direct || !indirect[id]
		for c := range deps[id] {
			if c != p.PURL && !contains(d.DependsOn, c) {
				d.DependsOn = append(d.DependsOn, c)
			}
		}
	}
	out := make([]Manifest, 0, len(byPath))
	for path, m := range byPath {
		man := Manifest{Path: path}
		for _, d := range m {
			sort.Strings(d.DependsOn)
			man.Packages = append(man.Packages, *d)
		}
		sort.Slice(man.Packages, func(i, j int) bool { return man.Packages[i].PURL < man.Packages[j].PURL })
		out = append(out, man)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
