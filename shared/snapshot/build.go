package snapshot

import (
	"path"
	"strings"

	"github.com/paved-dev/paved/shared/sbom"
)

// Build turns the manifests of an SBOM into a snapshot's manifests. root is
// the scanned directory relative to the repository root ("." for the root),
// so that each manifest's source_location points into the repository; ""
// (an image or an archive) leaves source locations out, and prefix names the
// manifests then (the image reference). Manifests without packages are
// dropped.
func Build(ms []sbom.Manifest, root, prefix string) map[string]Manifest {
	out := map[string]Manifest{}
	for _, m := range ms {
		if len(m.Packages) == 0 {
			continue
		}
		name := strings.TrimPrefix(m.Path, "/")
		var file *File
		switch {
		case root != "" && name != "":
			file = &File{SourceLocation: path.Clean(path.Join(root, name))}
			name = file.SourceLocation
		case prefix != "" && name != "":
			name = prefix + ":" + m.Path
		case prefix != "":
			name = prefix
		case name == "":
			name = "packages"
		}
		res := make(map[string]Dependency, len(m.Packages))
		for _, p := range m.Packages {
			if !purlRE.MatchString(p.PURL) {
				continue
			}
			rel := Indirect
			if p.Direct {
				rel = Direct
			}
			res[p.PURL] = Dependency{PackageURL: p.PURL, Relationship: rel, Dependencies: p.DependsOn}
		}
		if len(res) == 0 {
			continue
		}
		out[name] = Manifest{Name: name, File: file, Resolved: res}
	}
	return out
}
