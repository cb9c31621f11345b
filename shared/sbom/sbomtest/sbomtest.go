// Package sbomtest writes real inputs for SBOM tests and benchmarks: a Go
// module tree, an installed node_modules tree, a Python requirements file and
// a container image holding installed packages, together with the components
// a scanner must find in them.
package sbomtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Component is a component a scanner must report.
type Component struct {
	Name    string
	Version string
	PURL    string
}

// GoModules are the modules WriteGoModule requires: real modules, with the
// go.sum lines their module proxy serves.
var GoModules = []Component{
	{"github.com/google/uuid", "v1.6.0", "pkg:golang/github.com/google/uuid@v1.6.0"},
	{"github.com/spf13/pflag", "v1.1.0", "pkg:golang/github.com/spf13/pflag@v1.1.0"},
	{"golang.org/x/text", "v0.43.0", "pkg:golang/golang.org/x/text@v0.43.0"},
}

var goSum = `github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
github.com/spf13/pflag v1.1.0 h1:6W6MbVUrnMb8PEhjkqwsVLY7ryuzRfFHF4mQd7L94ag=
github.com/spf13/pflag v1.1.0/go.mod h1:McXfInJRrz4CZXVZOBLb0bTZqETkiAhM9Iw0y3An2Bg=
golang.org/x/text v0.43.0 h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc=
golang.org/x/text v0.43.0/go.mod h1:hbSIYA/amXcRXTFSZqh8tWHEoqRvvbKPJ2uz/KU+a+s=
`

// NodePackages are the packages WriteNodeModules installs.
var NodePackages = []Component{
	{"@babel/helper-string-parser", "7.25.9", "pkg:npm/%40babel/helper-string-parser@7.25.9"},
	{"left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"},
	{"ms", "2.1.3", "pkg:npm/ms@2.1.3"},
}

var nodeLicenses = map[string]string{"@babel/helper-string-parser": "MIT", "left-pad": "WTFPL", "ms": "MIT"}

// PythonPackages are the pinned requirements WriteRequirements lists.
var PythonPackages = []Component{
	{"flask", "3.0.3", "pkg:pypi/flask@3.0.3"},
	{"requests", "2.32.3", "pkg:pypi/requests@2.32.3"},
}

// ImagePackages are the installed packages of Image: an Alpine package, npm
// packages under /usr/lib/node_modules and a Python distribution.
var ImagePackages = []Component{
	{"musl", "1.2.5-r0", "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.0"},
	{"left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"},
	{"ms", "2.1.3", "pkg:npm/ms@2.1.3"},
	{"requests", "2.32.3", "pkg:pypi/requests@2.32.3"},
}

// WriteFiles writes files (slash-separated paths relative to dir, and
// their contents) under dir, creating directories as needed.
func WriteFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := write(filepath.Join(dir, filepath.FromSlash(name)), content); err != nil {
			return err
		}
	}
	return nil
}

func write(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// WriteGoModule writes go.mod, go.sum and main.go of a module requiring
// GoModules plus extra generated modules (example.com/genN), for benchmarks.
func WriteGoModule(dir string, extra int) error {
	var req, sum strings.Builder
	for _, m := range GoModules {
		fmt.Fprintf(&req, "\t%s %s\n", m.Name, m.Version)
	}
	sum.WriteString(goSum)
	for i := range extra {
		mod, ver := fmt.Sprintf("example.com/gen/m%05d", i), fmt.Sprintf("v1.%d.%d", i/100, i%100)
		fmt.Fprintf(&req, "\t%s %s\n", mod, ver)
		fmt.Fprintf(&sum, "%s %s h1:%s\n%s %s/go.mod h1:%s\n", mod, ver, fakeHash(mod+ver), mod, ver, fakeHash(mod+ver+"/go.mod"))
	}
	gomod := "module example.com/demo\n\ngo 1.24\n\nrequire (\n" + req.String() + ")\n"
	if err := write(filepath.Join(dir, "go.mod"), gomod); err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "go.sum"), sum.String()); err != nil {
		return err
	}
	return write(filepath.Join(dir, "main.go"), "package main\n\nimport _ \"github.com/google/uuid\"\n\nfunc main() {}\n")
}

// fakeHash is a well-formed go.sum hash for a generated module.
func fakeHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// WriteNodeModules installs NodePackages plus extra generated packages
// (gen-pkg-N, each with a nested dependency every tenth package) under
// dir/node_modules, as npm lays them out.
func WriteNodeModules(dir string, extra int) error {
	files := nodeFiles("node_modules", extra)
	for p, c := range files {
		if err := write(filepath.Join(dir, p), string(c)); err != nil {
			return err
		}
	}
	return write(filepath.Join(dir, "package.json"), `{"name": "demo-app", "version": "0.1.0", "private": true}`+"\n")
}

func nodeFiles(root string, extra int) map[string][]byte {
	files := map[string][]byte{}
	add := func(dir, name, version, license string) {
		pj, _ := json.MarshalIndent(map[string]any{
			"name": name, "version": version, "license": license,
			"description": "package " + name, "main": "index.js",
		}, "", "  ")
		files[dir+"/"+name+"/package.json"] = append(pj, '\n')
		files[dir+"/"+name+"/index.js"] = []byte("module.exports = {};\n")
	}
	for _, p := range NodePackages {
		add(root, p.Name, p.Version, nodeLicenses[p.Name])
	}
	for i := range extra {
		n := fmt.Sprintf("gen-pkg-%05d", i)
		add(root, n, fmt.Sprintf("1.%d.%d", i/100, i%100), "MIT")
		if i%10 == 0 {
			add(root+"/"+n+"/node_modules", "nested-"+n, "0.0.1", "ISC")
		}
	}
	return files
}

// WriteRequirements writes dir/requirements.txt pinning PythonPackages.
func WriteRequirements(dir string) error {
	var b strings.Builder
	b.WriteString("# runtime dependencies\n")
	for _, p := range PythonPackages {
		fmt.Fprintf(&b, "%s==%s\n", p.Name, p.Version)
	}
	return write(filepath.Join(dir, "requirements.txt"), b.String())
}

// WriteTree writes a source tree with all three: a Go module, an installed
// node_modules and a requirements file.
func WriteTree(dir string) error {
	if err := WriteGoModule(dir, 0); err != nil {
		return err
	}
	if err := WriteNodeModules(dir, 0); err != nil {
		return err
	}
	return WriteRequirements(dir)
}

// Image builds a linux/amd64 image of two layers holding ImagePackages.
func Image() (v1.Image, error) { return ImageWithNodeModules(0) }

// ImageWithNodeModules builds Image with extra generated packages (gen-pkg-N,
// a nested dependency every tenth) installed under /usr/lib/node_modules, for
// benchmarks.
func ImageWithNodeModules(extra int) (v1.Image, error) {
	base, err := crane.Layer(map[string][]byte{
		"etc/os-release": []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.0\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"),
		"lib/apk/db/installed": []byte("C:Q1mUMyAe1CqVTxm1jyE0c2GgpX/vI=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:411777\nI:644096\n" +
			"T:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\n" +
			"F:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n"),
		"lib/ld-musl-x86_64.so.1": []byte("not really a loader\n"),
	})
	if err != nil {
		return nil, err
	}
	app := map[string][]byte{
		"usr/lib/python3.12/site-packages/requests-2.32.3.dist-info/METADATA": []byte(
			"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nSummary: Python HTTP for Humans.\nLicense: Apache-2.0\n\n"),
		"usr/lib/python3.12/site-packages/requests-2.32.3.dist-info/RECORD": []byte(
			"requests/__init__.py,sha256=" + strings.TrimRight(fakeHash("requests"), "=") + ",20\n"),
		"usr/lib/python3.12/site-packages/requests-2.32.3.dist-info/top_level.txt": []byte("requests\n"),
		"usr/lib/python3.12/site-packages/requests/__init__.py":                    []byte("# requests\n"),
	}
	for p, c := range nodeFiles("usr/lib/node_modules", extra) {
		if strings.Contains(p, "@babel") {
			continue
		}
		app[p] = c
	}
	layer, err := crane.Layer(app)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	return mutate.ConfigFile(img, cf)
}
