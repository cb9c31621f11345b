package sbom

import (
	"reflect"
	"testing"

	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
)

// TestManifestsDependencyEdges: a package another one of the same file
// depends on is indirect; edges across files keep both direct.
func TestManifestsDependencyEdges(t *testing.T) {
	mk := func(name, purl, path string) pkg.Package {
		p := pkg.Package{Name: name, Version: "1.0.0", PURL: purl, Locations: file.NewLocationSet(file.NewLocation(path))}
		p.SetID()
		return p
	}
	app := mk("app", "pkg:npm/app@1.0.0", "/package-lock.json")
	lib := mk("lib", "pkg:npm/lib@1.0.0", "/package-lock.json")
	leaf := mk("leaf", "pkg:npm/leaf@1.0.0", "/package-lock.json")
	other := mk("other", "pkg:golang/example.com/other@v1.0.0", "/go.mod")
	nopurl := mk("nopurl", "", "/package-lock.json")
	doc := &syftsbom.SBOM{Artifacts: syftsbom.Artifacts{Packages: pkg.NewCollection(app, lib, leaf, other, nopurl)}}
	dep := func(child, parent pkg.Package) artifact.Relationship {
		return artifact.Relationship{From: child, To: parent, Type: artifact.DependencyOfRelationship}
	}
	doc.Relationships = []artifact.Relationship{dep(lib, app), dep(leaf, lib), dep(other, app), dep(nopurl, app),
		{From: app, To: lib, Type: artifact.ContainsRelationship}}
	got := (&SBOM{doc: doc}).Manifests()
	want := []Manifest{
		{Path: "/go.mod", Packages: []Dependency{{PURL: "pkg:golang/example.com/other@v1.0.0", Direct: true}}},
		{Path: "/package-lock.json", Packages: []Dependency{
			{PURL: "pkg:npm/app@1.0.0", Direct: true, DependsOn: []string{"pkg:golang/example.com/other@v1.0.0", "pkg:npm/lib@1.0.0"}},
			{PURL: "pkg:npm/leaf@1.0.0"},
			{PURL: "pkg:npm/lib@1.0.0", DependsOn: []string{"pkg:npm/leaf@1.0.0"}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("manifests\n got %+v\nwant %+v", got, want)
	}
}
