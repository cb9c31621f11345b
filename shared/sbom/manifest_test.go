package sbom_test

import (
	"context"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/sbom"
)

// TestManifests groups a tree's packages by the file that declared them, keyed
// by purl, with the dependency edges syft recorded.
func TestManifests(t *testing.T) {
	f := setup(t)
	s, err := sbom.Generate(context.Background(), f.tree, sbom.Options{Catalogers: []string{"+javascript-package-cataloger"}})
	if err != nil {
		t.Fatal(err)
	}
	ms := s.Manifests()
	byPath := map[string]sbom.Manifest{}
	total := 0
	for _, m := range ms {
		byPath[m.Path] = m
		for _, p := range m.Packages {
			total++
			if !strings.HasPrefix(p.PURL, "pkg:") {
				t.Errorf("%s: package %q has no purl", m.Path, p.PURL)
			}
			for _, d := range p.DependsOn {
				if d == p.PURL {
					t.Errorf("%s depends on itself", d)
				}
			}
		}
	}
	withPURL := 0
	for _, p := range s.Packages() {
		if p.PURL != "" {
			withPURL++
		}
	}
	if total != withPURL || total == 0 {
		t.Fatalf("%d packages in manifests, want every one of the %d with a purl", total, withPURL)
	}
	for _, want := range []string{"go.mod", "requirements.txt"} {
		if len(byPath[want].Packages) == 0 {
			t.Errorf("no manifest %s in %v", want, ms)
		}
	}
	for _, p := range byPath["requirements.txt"].Packages {
		if !p.Direct {
			t.Errorf("%s from requirements.txt marked indirect: nothing there depends on it", p.PURL)
		}
	}
}
