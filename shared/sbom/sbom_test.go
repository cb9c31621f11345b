package sbom_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/sbom"
	"github.com/paved-dev/paved/shared/sbom/sbomtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtures are the real inputs, made once per test binary.
type fixtures struct {
	root       string // holds everything below; tests chdir here for stable names
	tree       string // Go module + node_modules + requirements.txt, relative to root
	layoutDir  string // OCI layout, relative to root
	archive    string // docker-archive tarball, relative to root
	img        v1.Image
	imgDigest  string
	reg        *httptest.Server
	regRef     string
	regDigest  string
	username   string
	password   string
	setupError error
}

var (
	fxOnce sync.Once
	fx     fixtures
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fx.reg != nil {
		fx.reg.Close()
	}
	if fx.root != "" {
		os.RemoveAll(fx.root)
	}
	os.Exit(code)
}

func setup(t *testing.T) *fixtures {
	t.Helper()
	fxOnce.Do(func() { fx.setupError = fx.make() })
	if fx.setupError != nil {
		t.Fatalf("making fixtures: %v", fx.setupError)
	}
	t.Chdir(fx.root)
	return &fx
}

func (f *fixtures) make() error {
	root, err := os.MkdirTemp("", "paved-sbom-test-")
	if err != nil {
		return err
	}
	f.root = root
	f.tree, f.layoutDir, f.archive = "tree", "demo-layout", "demo.tar"
	if err := sbomtest.WriteTree(filepath.Join(root, f.tree)); err != nil {
		return err
	}
	if f.img, err = sbomtest.Image(); err != nil {
		return err
	}
	d, err := f.img.Digest()
	if err != nil {
		return err
	}
	f.imgDigest = d.String()
	p, err := layout.Write(filepath.Join(root, f.layoutDir), empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(f.img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "example.com/demo/app:1.0"})); err != nil {
		return err
	}
	tag, err := name.NewTag("example.com/demo/app:1.0")
	if err != nil {
		return err
	}
	if err := tarball.WriteToFile(filepath.Join(root, f.archive), tag, f.img); err != nil {
		return err
	}
	// A real registry (go-containerregistry's, in memory) behind basic auth.
	f.username, f.password = "ci-user", "s3cret-registry-password"
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	f.reg = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != f.username || pw != f.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	f.regRef = strings.TrimPrefix(f.reg.URL, "http://") + "/demo/app:1.0"
	ref, err := name.ParseReference(f.regRef)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, f.img, remote.WithAuth(&authn.Basic{Username: f.username, Password: f.password})); err != nil {
		return fmt.Errorf("pushing the test image: %w", err)
	}
	f.regDigest = f.imgDigest
	return nil
}

// noKeychain keeps the machine's Docker config out of the tests.
var noKeychain = authn.NewMultiKeychain()

func TestGenerateSources(t *testing.T) {
	f := setup(t)
	goNodePy := append(append(append([]sbomtest.Component{}, sbomtest.GoModules...), sbomtest.NodePackages...), sbomtest.PythonPackages...)
	tests := []struct {
		name       string
		input      string
		opts       sbom.Options
		wantType   sbom.SourceType
		wantName   string
		wantDigest string
		want       []sbomtest.Component
		absent     []string // names that must not be found
		ecosystems map[string]int
	}{
		{
			name: "source tree, default catalogers", input: f.tree, wantType: sbom.Dir, wantName: "tree",
			want:       append(append([]sbomtest.Component{}, sbomtest.GoModules...), sbomtest.PythonPackages...),
			absent:     []string{"left-pad"}, // installed node_modules are an image concern for syft
			ecosystems: map[string]int{"golang": 3, "pypi": 2},
		},
		{
			name: "source tree, node_modules cataloger added", input: f.tree, wantType: sbom.Dir, wantName: "tree",
			opts:       sbom.Options{Catalogers: []string{"+javascript-package-cataloger"}},
			want:       goNodePy,
			ecosystems: map[string]int{"golang": 3, "npm": 4, "pypi": 2}, // the tree's own package.json too
		},
		{
			name: "source tree, catalogers overridden", input: f.tree, wantType: sbom.Dir, wantName: "tree",
			opts:       sbom.Options{Catalogers: []string{"go-module-file-cataloger"}},
			want:       sbomtest.GoModules,
			absent:     []string{"flask", "requests"},
			ecosystems: map[string]int{"golang": 3},
		},
		{
			name: "single file", input: filepath.Join(f.tree, "requirements.txt"), wantType: sbom.File, wantName: "requirements.txt",
			want: sbomtest.PythonPackages, ecosystems: map[string]int{"pypi": 2},
		},
		{
			name: "OCI layout", input: f.layoutDir, wantType: sbom.OCILayout, wantName: "example.com/demo/app:1.0", wantDigest: f.imgDigest,
			want: sbomtest.ImagePackages, ecosystems: map[string]int{"apk": 1, "npm": 2, "pypi": 1},
		},
		{
			name: "docker-archive", input: f.archive, wantType: sbom.DockerArchive, wantName: "demo.tar",
			want: sbomtest.ImagePackages, ecosystems: map[string]int{"apk": 1, "npm": 2, "pypi": 1},
		},
		{
			name: "registry with username and password", input: f.regRef, wantType: sbom.Registry,
			wantName: strings.TrimSuffix(f.regRef, ":1.0"), wantDigest: f.regDigest,
			opts: sbom.Options{Credentials: sbom.Credentials{Username: f.username, Password: f.password}},
			want: sbomtest.ImagePackages, ecosystems: map[string]int{"apk": 1, "npm": 2, "pypi": 1},
		},
		{
			name: "registry with a keychain", input: f.regRef, wantType: sbom.Registry,
			wantName: strings.TrimSuffix(f.regRef, ":1.0"), wantDigest: f.regDigest,
			opts: sbom.Options{Credentials: sbom.Credentials{Keychain: staticKeychain{f.username, f.password}}},
			want: sbomtest.ImagePackages, ecosystems: map[string]int{"apk": 1, "npm": 2, "pypi": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var progress bytes.Buffer
			tt.opts.Progress = &progress
			s, err := sbom.Generate(context.Background(), tt.input, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Source.Type != tt.wantType || s.Source.Name != tt.wantName {
				t.Errorf("source = %+v, want type %s name %s", s.Source, tt.wantType, tt.wantName)
			}
			if tt.wantDigest != "" && s.Source.Digest != tt.wantDigest {
				t.Errorf("source digest = %s, want %s", s.Source.Digest, tt.wantDigest)
			}
			if tt.wantType == sbom.File || tt.wantType == sbom.DockerArchive {
				if !strings.HasPrefix(s.Source.Digest, "sha256:") || len(s.Source.Digest) != 71 {
					t.Errorf("file source digest = %q", s.Source.Digest)
				}
			}
			got := map[string]sbom.Package{}
			for _, p := range s.Packages() {
				got[p.Name] = p
			}
			if n := len(s.Packages()); s.Count() != n || n < len(tt.want) {
				t.Errorf("Count() = %d, Packages() has %d, want at least %d", s.Count(), n, len(tt.want))
			}
			for _, w := range tt.want {
				p, ok := got[w.Name]
				if !ok {
					t.Errorf("component %s not found; found %v", w.Name, s.Packages())
					continue
				}
				if p.Version != w.Version || p.PURL != w.PURL {
					t.Errorf("component %s = %s %s, want %s %s", w.Name, p.Version, p.PURL, w.Version, w.PURL)
				}
			}
			for _, n := range tt.absent {
				if _, ok := got[n]; ok {
					t.Errorf("component %s found, but its cataloger was not selected", n)
				}
			}
			if eco := s.Ecosystems(); !equalCounts(eco, tt.ecosystems) {
				t.Errorf("ecosystems = %v, want %v", eco, tt.ecosystems)
			}
			for _, phase := range []string{"sbom: resolving source " + tt.input, "sbom: source is " + string(tt.wantType), "sbom: cataloging", "sbom: cataloged "} {
				if !strings.Contains(progress.String(), phase) {
					t.Errorf("progress lacks %q:\n%s", phase, progress.String())
				}
			}
			// The formats with an official JSON schema; every format is
			// decoded back in TestFormatsRoundTrip.
			for _, format := range sbom.DefaultFormats {
				doc, err := s.Bytes(format, sbom.Options{})
				if err != nil {
					t.Fatal(err)
				}
				validate(t, format, doc)
				for _, w := range tt.want {
					if !bytes.Contains(doc, []byte(w.PURL)) && !bytes.Contains(doc, []byte(jsonString(w.PURL))) {
						t.Errorf("%s document lacks purl %s", format, w.PURL)
					}
				}
			}
		})
	}
}

type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// jsonString is s as it appears inside a JSON string (Go escapes & and friends).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func TestGenerateErrors(t *testing.T) {
	f := setup(t)
	if err := os.WriteFile("broken.tar.gz", []byte("this is not gzip at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("manifest.json", []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeTar("corrupt-docker.tar", map[string]string{"manifest.json": "{not json"}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("broken-layout", 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("broken-layout/oci-layout", []byte(`{"imageLayoutVersion": "1.0.0"}`), 0o644)
	os.WriteFile("broken-layout/index.json", []byte(`{"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:`+strings.Repeat("a", 64)+`", "size": 10}]}`), 0o644)
	regHost := strings.TrimPrefix(f.reg.URL, "http://")
	creds := sbom.Credentials{Username: f.username, Password: f.password}
	tests := []struct {
		name  string
		input string
		opts  sbom.Options
		class fail.Class
		want  string
	}{
		{"empty input", "", sbom.Options{}, fail.Config, "no source"},
		{"missing path", "no/such/dir", sbom.Options{}, fail.Config, "no/such/dir does not exist"},
		{"missing path as dir", "no/such/dir", sbom.Options{Type: sbom.Dir}, fail.Config, "no such file or directory"},
		{"unknown type", f.tree, sbom.Options{Type: "zip"}, fail.Config, `unknown source type "zip"`},
		{"dir type on a file", f.archive, sbom.Options{Type: sbom.Dir}, fail.Config, "is not a directory"},
		{"corrupt archive", "broken.tar.gz", sbom.Options{}, fail.Config, "broken.tar.gz"},
		{"corrupt docker-archive", "corrupt-docker.tar", sbom.Options{}, fail.Config, "not a readable docker save tarball"},
		{"docker-archive type on a plain file", "manifest.json", sbom.Options{Type: sbom.DockerArchive}, fail.Config, "not a readable docker save tarball"},
		{"OCI layout with a missing manifest", "broken-layout", sbom.Options{}, fail.Config, "OCI layout broken-layout"},
		{"OCI layout of another platform", f.layoutDir, sbom.Options{Platform: "linux/s390x"}, fail.Config, "no image for platform"},
		{"bad platform", f.layoutDir, sbom.Options{Platform: "amd64"}, fail.Config, "want os/arch"},
		{"image missing from the registry", regHost + "/demo/nothing:1.0", sbom.Options{Credentials: creds}, fail.Config, "no such image"},
		{"registry without credentials", f.regRef, sbom.Options{Credentials: sbom.Credentials{Keychain: noKeychain}}, fail.Config, "access denied"},
		{"registry with a wrong password", f.regRef, sbom.Options{Credentials: sbom.Credentials{Username: f.username, Password: "wrong"}}, fail.Config, "set registry-username and registry-password"},
		{"username without password", f.regRef, sbom.Options{Credentials: sbom.Credentials{Username: f.username}}, fail.Config, "need both"},
		{"registry refusing connections", "127.0.0.1:1/demo/app:1.0", sbom.Options{Credentials: creds}, fail.Transient, "pulling 127.0.0.1:1/demo/app:1.0"},
		{"unknown cataloger", f.tree, sbom.Options{Catalogers: []string{"no-such-cataloger"}}, fail.Config, "catalogers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tmpEntries(t)
			_, err := sbom.Generate(context.Background(), tt.input, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if fail.ClassOf(err) != tt.class || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %s: %v, want %s containing %q", fail.ClassOf(err), err, tt.class, tt.want)
			}
			if strings.Contains(err.Error(), f.password) {
				t.Errorf("error shows the registry password: %v", err)
			}
			if after := tmpEntries(t); after > before {
				t.Errorf("temporary files left behind: %d entries in the temp dir, %d before", after, before)
			}
		})
	}
}

func tmpEntries(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "paved-sbom") && !strings.HasPrefix(e.Name(), "paved-sbom-test-") || strings.HasPrefix(e.Name(), "syft-") {
			n++
		}
	}
	return n
}

// TestGolden compares both formats of a source tree and an image against
// golden files, with timestamps and document ids redacted; -update rewrites
// them. Two scans of the same input must give the same redacted documents.
func TestGolden(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name, input string
		opts        sbom.Options
	}{
		{"tree", f.tree, sbom.Options{Catalogers: []string{"+javascript-package-cataloger"}}},
		{"image", f.layoutDir, sbom.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := sbom.Generate(context.Background(), tt.input, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			second, err := sbom.Generate(context.Background(), tt.input, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			// The default formats (the JSON redactor reads them); the others
			// come from the same scan and are checked in TestFormatsRoundTrip.
			for _, format := range sbom.DefaultFormats {
				a, err := first.Bytes(format, sbom.Options{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := second.Bytes(format, sbom.Options{})
				if err != nil {
					t.Fatal(err)
				}
				ra, rb := redact(t, a), redact(t, b)
				if !bytes.Equal(ra, rb) {
					t.Errorf("%s: two scans of the same input differ beyond timestamps and ids", format)
				}
				golden := filepath.Join(goldenDir(t), tt.name+format.Extension())
				if *update {
					if err := os.WriteFile(golden, ra, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./shared/sbom -run TestGolden -update to create it)", err)
				}
				if !bytes.Equal(ra, want) {
					t.Errorf("%s differs from %s (rerun with -update if the change is intended):\n%s", format, golden, firstDiff(string(want), string(ra)))
				}
			}
		})
	}
}

func goldenDir(t *testing.T) string {
	t.Helper()
	// Tests chdir into the fixtures; the package directory is where the test binary started.
	return filepath.Join(pkgDir, "testdata", "golden")
}

var pkgDir = func() string {
	wd, _ := os.Getwd()
	return wd
}()

// redact replaces what legitimately changes between runs: timestamps and
// document ids (SPDX documentNamespace, CycloneDX serialNumber).
func redact(t *testing.T, doc []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, val := range x {
				switch k {
				case "created", "timestamp":
					x[k] = "<REDACTED-TIME>"
				case "documentNamespace", "serialNumber":
					x[k] = "<REDACTED-ID>"
				default:
					walk(val)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}

// The official schemas come from the module cache: CycloneDX's from
// cyclonedx-go (which ships the specification's schemas) and SPDX 2.3's from
// syft's module, so nothing is copied into this repository.
var (
	schemaOnce sync.Once
	schemas    map[sbom.Format]*jsonschema.Schema
	schemaErr  error
)

func moduleDir(mod string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod)
	cmd.Dir = pkgDir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", mod, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("module %s is not in the module cache (run go mod download %s)", mod, mod)
	}
	return dir, nil
}

func loadSchemas() error {
	cdx, err := moduleDir("github.com/CycloneDX/cyclonedx-go")
	if err != nil {
		return err
	}
	syftDir, err := moduleDir("github.com/anchore/syft")
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	add := func(url, path string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return c.AddResource(url, doc)
	}
	for url, path := range map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  filepath.Join(cdx, "schema", "bom-1.6.schema.json"),
		"http://cyclonedx.org/schema/spdx.schema.json":     filepath.Join(cdx, "schema", "spdx.schema.json"),
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": filepath.Join(cdx, "schema", "jsf-0.82.schemax.json"),
		"http://spdx.org/rdf/terms/2.3":                    filepath.Join(syftDir, "schema", "spdx-json", "spdx-schema-2.3.json"),
	} {
		if err := add(url, path); err != nil {
			return err
		}
	}
	schemas = map[sbom.Format]*jsonschema.Schema{}
	if schemas[sbom.CycloneDXJSON], err = c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json"); err != nil {
		return err
	}
	if schemas[sbom.SPDXJSON], err = c.Compile("http://spdx.org/rdf/terms/2.3"); err != nil {
		return err
	}
	return nil
}

func validate(t *testing.T, format sbom.Format, doc []byte) {
	t.Helper()
	schemaOnce.Do(func() { schemaErr = loadSchemas() })
	if schemaErr != nil {
		t.Fatalf("loading the official schemas: %v", schemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s document is not JSON: %v", format, err)
	}
	if err := schemas[format].Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			t.Fatalf("%s document fails its official schema: %v", format, ve)
		}
		t.Fatalf("%s: %v", format, err)
	}
}

// TestSchemaRejectsInvalid proves the validator can fail.
func TestSchemaRejectsInvalid(t *testing.T) {
	schemaOnce.Do(func() { schemaErr = loadSchemas() })
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	for format, doc := range map[sbom.Format]string{
		sbom.SPDXJSON:      `{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}`,
		sbom.CycloneDXJSON: `{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "x"}]}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err := schemas[format].Validate(v); err == nil {
			t.Errorf("%s: an invalid document passed the schema", format)
		}
	}
}

func writeTar(path string, files map[string]string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, c := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write([]byte(c)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// TestSyftVersionMatchesGoMod keeps SyftVersion, recorded in every SBOM, true.
func TestSyftVersionMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(pkgDir, "..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "github.com/anchore/syft "+sbom.SyftVersion+"\n") && !strings.Contains(string(data), "github.com/anchore/syft "+sbom.SyftVersion+" ") {
		t.Errorf("go.mod does not require github.com/anchore/syft %s: update sbom.SyftVersion", sbom.SyftVersion)
	}
}

// TestProgressBar: with Bar, cataloging draws a bar redrawn in place (carriage
// return, erase to end of line) up to all tasks done, then ends its line;
// without it, the progress writer gets phase lines only.
func TestProgressBar(t *testing.T) {
	f := setup(t)
	var withBar, plain bytes.Buffer
	if _, err := sbom.Generate(context.Background(), f.tree, sbom.Options{Progress: &withBar, Bar: true}); err != nil {
		t.Fatal(err)
	}
	out := withBar.String()
	last := out[strings.LastIndex(out, "\r")+1:]
	frame, rest, _ := strings.Cut(last, "\x1b[K\n")
	var done, all int
	if _, err := fmt.Sscanf(frame[strings.Index(frame, "]")+2:], "%d/%d cataloging tasks", &done, &all); err != nil || done != all || all == 0 ||
		!strings.HasPrefix(frame, "sbom: ["+strings.Repeat("#", 24)+"]") || !strings.Contains(frame, "packages") {
		t.Fatalf("last frame %q (%v), want a full bar with every task done and the package count", frame, err)
	}
	if !strings.HasPrefix(rest, "sbom: cataloged ") {
		t.Errorf("after the bar: %q, want the cataloged line on a line of its own", rest)
	}
	if _, err := sbom.Generate(context.Background(), f.tree, sbom.Options{Progress: &plain}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(plain.String(), "\r\x1b") {
		t.Errorf("without Bar the progress has control characters: %q", plain.String())
	}
}
