// Package sbom generates software bills of materials with syft as a library: one
// scan of a directory, a file or archive, or a container image (OCI layout,
// docker-archive tarball or registry), encoded from that same scan with syft's own
// encoders in the formats syft and anchore/sbom-action name (SPDX 2.3 JSON and
// tag-value, CycloneDX 1.6 JSON and XML, syft JSON), and turned into in-toto
// predicates for attestation.
//
// Scans make no network requests unless Options.Network asks for them; the only
// exception is pulling a registry image, which is the source itself.
package sbom

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/cyclonedxxml"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/spdxtagvalue"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/google/go-containerregistry/pkg/authn"

	// syft reads newer RPM databases through database/sql; this registers the
	// pure-Go driver it expects, as syft's own CLI does.
	_ "modernc.org/sqlite"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/fail"
)

// SourceType names what kind of thing is scanned.
type SourceType string

const (
	// Auto picks the type from the input: an existing directory is a directory
	// (or an OCI layout when it holds one), an existing file is a file (or a
	// docker-archive when it holds a docker save tarball), and anything else
	// that names a registry host is a registry image.
	Auto SourceType = "auto"
	// Dir is a directory: a checked-out repository or build output.
	Dir SourceType = "dir"
	// File is a single file; archives (tar, zip, ...) are unpacked and scanned.
	File SourceType = "file"
	// OCILayout is a directory in OCI image layout.
	OCILayout SourceType = "oci-layout"
	// DockerArchive is a tarball written by docker save.
	DockerArchive SourceType = "docker-archive"
	// Registry is an image reference pulled from a registry.
	Registry SourceType = "registry"
	// Daemon is an image read from a local Docker, containerd or podman
	// daemon (Options.Daemons, or the daemon an input's scheme names).
	Daemon SourceType = "daemon"
)

// SourceTypes are the valid source types, Auto first.
var SourceTypes = []SourceType{Auto, Dir, File, OCILayout, DockerArchive, Registry, Daemon}

// IsImage reports whether the type is a container image.
func (t SourceType) IsImage() bool {
	return t == OCILayout || t == DockerArchive || t == Registry || t == Daemon
}

// Format is an SBOM document format, named as syft's -o flag and
// anchore/sbom-action's format input name it.
type Format string

const (
	// SPDXJSON is SPDX 2.3 in JSON.
	SPDXJSON Format = "spdx-json"
	// CycloneDXJSON is CycloneDX 1.6 in JSON.
	CycloneDXJSON Format = "cyclonedx-json"
	// SPDXTagValue is SPDX 2.3 in tag-value text: what "spdx" means to syft.
	SPDXTagValue Format = "spdx"
	// CycloneDXXML is CycloneDX 1.6 in XML: what "cyclonedx" means to syft.
	CycloneDXXML Format = "cyclonedx"
	// SyftJSON is syft's own JSON document, the most complete of the five.
	SyftJSON Format = "syft-json"
)

// SyftVersion is the version of syft this package is built and tested with; it
// must match go.mod (a test checks).
const SyftVersion = "v1.57.1"

// Formats are the supported formats, in the order they are written.
var Formats = []Format{SPDXJSON, CycloneDXJSON, SPDXTagValue, CycloneDXXML, SyftJSON}

// DefaultFormats are written when no format is named.
var DefaultFormats = []Format{SPDXJSON, CycloneDXJSON}

// formatNames lists the accepted names of each format: syft's format id and
// aliases, then the unambiguous spellings earlier Paved versions accepted.
var formatNames = map[Format][]string{
	SPDXJSON:      {"spdx-json", "spdxjson"},
	CycloneDXJSON: {"cyclonedx-json", "cdx-json", "cyclonedxjson"},
	SPDXTagValue:  {"spdx", "spdx-tag-value", "spdx-tv"},
	CycloneDXXML:  {"cyclonedx", "cyclonedx-xml", "cyclone", "cdx"},
	SyftJSON:      {"syft-json", "syft", "json"},
}

// Extension is the conventional file name suffix of the format.
func (f Format) Extension() string {
	switch f {
	case CycloneDXJSON:
		return ".cdx.json"
	case CycloneDXXML:
		return ".cdx.xml"
	case SPDXTagValue:
		return ".spdx"
	case SyftJSON:
		return ".syft.json"
	}
	return ".spdx.json"
}

// MediaType is the IANA media type of the format (syft's vendor type for
// syft JSON, which has no registered one).
func (f Format) MediaType() string {
	switch f {
	case CycloneDXJSON:
		return "application/vnd.cyclonedx+json"
	case CycloneDXXML:
		return "application/vnd.cyclonedx+xml"
	case SPDXTagValue:
		return "text/spdx"
	case SyftJSON:
		return "application/vnd.syft+json"
	}
	return "application/spdx+json"
}

// JSON reports whether documents of the format are JSON, which is what an
// in-toto predicate can carry inline.
func (f Format) JSON() bool { return f == SPDXJSON || f == CycloneDXJSON || f == SyftJSON }

// PredicateType is the in-toto predicate type of an attestation of a document
// in the format, the types cosign gives them: SPDX documents (JSON or
// tag-value) are https://spdx.dev/Document/v2.3, CycloneDX documents
// https://cyclonedx.org/bom, and syft JSON cosign's custom type, as
// `syft attest -o syft-json` signs it.
func (f Format) PredicateType() string {
	switch f {
	case CycloneDXJSON, CycloneDXXML:
		return CycloneDXPredicateType
	case SyftJSON:
		return CosignCustomPredicateType
	}
	return SPDXPredicateType
}

// FormatNames is the list of valid format names for messages.
func FormatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ParseFormat accepts a format name as syft and anchore/sbom-action name it
// (spdx is tag-value and cyclonedx is XML there, so here too), their aliases,
// and the unambiguous spellings of earlier versions.
func ParseFormat(s string) (Format, error) {
	want := strings.ToLower(strings.TrimSpace(s))
	for _, f := range Formats {
		for _, n := range formatNames[f] {
			if want == n {
				return f, nil
			}
		}
	}
	return "", fail.Configf("unknown SBOM format %q: want one of %s (as syft and anchore/sbom-action name them: spdx is SPDX tag-value, cyclonedx is CycloneDX XML)", s, FormatNames())
}

// Credentials authenticate registry pulls.
type Credentials struct {
	// Username and Password are used for the image's registry when both are set.
	Username string
	Password string
	// Keychain is consulted otherwise (default authn.DefaultKeychain: the Docker
	// config of the job, including credential helpers).
	Keychain authn.Keychain
}

// Options configure Generate. The zero value means defaults.
type Options struct {
	// Type is the source type (default Auto).
	Type SourceType
	// Catalogers overrides syft's cataloger selection. Plain names or tags
	// replace the default set for the source kind ("directory" for
	// directories and files, "image" for images); entries starting with "+"
	// add a cataloger and "-" remove one from whatever set applies.
	Catalogers []string
	// SelectCatalogers refine the cataloger set after Catalogers, as syft's
	// --select-catalogers: plain names or tags keep only those, +NAME adds
	// one, -NAME removes one.
	SelectCatalogers []string
	// Exclude are glob patterns of paths left out of the scan, as syft's
	// --exclude: relative to the scanned root, starting with ./, */ or **/.
	Exclude []string
	// Network allows catalogers to look up licenses and metadata remotely
	// (Go module proxy, npm, PyPI, Maven). Off by default.
	Network bool
	// Credentials authenticate registry pulls.
	Credentials Credentials
	// Transport carries registry requests (default: go-containerregistry's).
	Transport http.RoundTripper
	// Platform selects an image from a multi-platform index, as os/arch[/variant]
	// (default linux/amd64 for a registry index; the only image of a layout).
	Platform string
	// Progress receives one line per phase (default: discarded).
	Progress io.Writer
	// Bar also draws a progress bar on Progress while cataloging, redrawn in
	// place: for a terminal, never for a CI log.
	Bar bool
	// Parallelism bounds syft's concurrent cataloging (default: syft's, 4 per CPU).
	Parallelism int
	// Now is the clock for phase timings (default time.Now).
	Now func() time.Time
	// Daemons are the local image daemons (DockerDaemon, ContainerdDaemon,
	// PodmanDaemon) an image reference is read from, in this order, before
	// its registry is asked: see DetectDaemons. Nil: registry only. Registry
	// credentials, source type registry and the registry: scheme skip them.
	Daemons []string
	// ConfineTo is a directory a directory scan must not follow symlinks out
	// of: links that resolve outside it are left out of the scan (default:
	// symlinks are followed wherever they lead, as syft does).
	ConfineTo string
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) progress() io.Writer {
	if o.Progress == nil {
		return io.Discard
	}
	return o.Progress
}

// Source describes what was scanned.
type Source struct {
	// Type is the resolved source type (never Auto).
	Type SourceType
	// Input is what the caller named.
	Input string
	// Name names the artifact: the repository of an image reference, the base
	// name of a file, layout or directory.
	Name string
	// Digest is "sha256:HEX" of the image manifest (registry, OCI layout) or of
	// the file (file, docker-archive); "" for a directory.
	Digest string
}

// SBOM is the result of one scan. It is encoded into as many formats as wanted
// without scanning again.
type SBOM struct {
	// Source is what was scanned.
	Source Source
	doc    *syftsbom.SBOM
}

// Package is one component found.
type Package struct {
	Name    string
	Version string
	PURL    string
	// Type is syft's package type, e.g. "go-module", "npm", "python".
	Type string
}

// Generate scans input once and returns its SBOM. Temporary files (unpacked
// archives, image layers) are removed before it returns.
func Generate(ctx context.Context, input string, opts Options) (*SBOM, error) {
	log := opts.progress()
	start := opts.now()
	fmt.Fprintf(log, "sbom: resolving source %s\n", input)
	src, err := openSource(ctx, input, opts)
	if err != nil {
		return nil, err
	}
	defer src.close()
	fmt.Fprintf(log, "sbom: source is %s %s%s (%s)\n", src.meta.Type, src.meta.Name, digestSuffix(src.meta.Digest), since(opts, start))

	cfg, err := createConfig(opts)
	if err != nil {
		return nil, err
	}
	start = opts.now()
	fmt.Fprintf(log, "sbom: cataloging\n")
	stopBar := func() {}
	if opts.Bar {
		stopBar = startBar(log, 150*time.Millisecond)
	}
	// Index the source first so an unreadable tree is named as such; sources
	// keep their index, so CreateSBOM reuses it.
	if _, err := src.src.FileResolver(cfg.Search.Scope); err != nil {
		stopBar()
		return nil, fmt.Errorf("indexing %s: %w", input, err)
	}
	ctx, err = WithLicenseScanner(ctx)
	if err != nil {
		stopBar()
		return nil, err
	}
	doc, err := syft.CreateSBOM(ctx, src.src, cfg)
	stopBar()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail.Transientf("cataloging %s: %w", input, ctx.Err())
		}
		if len(opts.Catalogers) > 0 || len(opts.SelectCatalogers) > 0 {
			return nil, fail.Configf("cataloging %s with catalogers %q, select %q: %w (check the catalogers input and the syft config's catalogers: names or tags such as go-module-file-cataloger, javascript, image)", input, opts.Catalogers, opts.SelectCatalogers, err)
		}
		return nil, fmt.Errorf("cataloging %s: %w", input, err)
	}
	if err := matcherErr(); err != nil {
		return nil, fmt.Errorf("identifying the licenses of %s: building licensecheck's matcher: %w", input, err)
	}
	s := &SBOM{Source: src.meta, doc: doc}
	fmt.Fprintf(log, "sbom: cataloged %d packages (%s)\n", doc.Artifacts.Packages.PackageCount(), since(opts, start))
	return s, nil
}

func digestSuffix(d string) string {
	if d == "" {
		return ""
	}
	return "@" + d
}

func since(opts Options, start time.Time) string {
	return opts.now().Sub(start).Round(time.Millisecond).String()
}

// createConfig turns Options into syft's configuration in one place.
func createConfig(opts Options) (*syft.CreateSBOMConfig, error) {
	cfg := syft.DefaultCreateSBOMConfig()
	if cfg.ToolVersion == "" {
		// Binaries without module information (test binaries among them) would
		// otherwise record an empty version.
		cfg.ToolVersion = SyftVersion
	}
	if opts.Parallelism > 0 {
		cfg = cfg.WithParallelism(opts.Parallelism)
	}
	pk := cfg.Packages
	// go/packages runs the go tool, which downloads modules: never use it.
	pk.Golang.UsePackagesLib = false
	pk.Golang.SearchRemoteLicenses = opts.Network
	pk.JavaScript.SearchRemoteLicenses = opts.Network
	pk.Python.SearchRemoteLicenses = opts.Network
	pk.JavaArchive.UseNetwork = opts.Network
	cfg = cfg.WithPackagesConfig(pk)

	if len(opts.Catalogers) > 0 || len(opts.SelectCatalogers) > 0 {
		sel := cataloging.NewSelectionRequest()
		var defaults, exprs []string
		for _, c := range opts.Catalogers {
			for _, item := range strings.Split(c, ",") {
				item = strings.TrimSpace(item)
				switch {
				case item == "":
				case strings.HasPrefix(item, "+") || strings.HasPrefix(item, "-"):
					exprs = append(exprs, item)
				default:
					defaults = append(defaults, item)
				}
			}
		}
		if len(defaults) > 0 {
			sel = sel.WithDefaults(defaults...)
		}
		exprs = append(exprs, opts.SelectCatalogers...)
		if len(exprs) > 0 {
			sel = sel.WithExpression(exprs...)
		}
		cfg = cfg.WithCatalogerSelection(sel)
	}
	return cfg, nil
}

// Encode writes the SBOM in format f with syft's own encoder, compact as the
// syft CLI writes it.
func (s *SBOM) Encode(w io.Writer, f Format) error {
	enc, err := encoder(f)
	if err != nil {
		return fmt.Errorf("creating %s encoder: %w", f, err)
	}
	if err := enc.Encode(w, *s.doc); err != nil {
		return fmt.Errorf("encoding %s: %w", f, err)
	}
	return nil
}

// encoder returns syft's encoder of format f, at the versions Paved writes.
func encoder(f Format) (syftsbom.FormatEncoder, error) {
	switch f {
	case SPDXJSON:
		c := spdxjson.DefaultEncoderConfig()
		c.Version = "2.3"
		return spdxjson.NewFormatEncoderWithConfig(c)
	case CycloneDXJSON:
		c := cyclonedxjson.DefaultEncoderConfig()
		c.Version = "1.6"
		return cyclonedxjson.NewFormatEncoderWithConfig(c)
	case SPDXTagValue:
		c := spdxtagvalue.DefaultEncoderConfig()
		c.Version = "2.3"
		return spdxtagvalue.NewFormatEncoderWithConfig(c)
	case CycloneDXXML:
		c := cyclonedxxml.DefaultEncoderConfig()
		c.Version = "1.6"
		return cyclonedxxml.NewFormatEncoderWithConfig(c)
	case SyftJSON:
		return syftjson.NewFormatEncoderWithConfig(syftjson.DefaultEncoderConfig())
	}
	return nil, fail.Configf("unknown SBOM format %q: want one of %s", f, FormatNames())
}

// Bytes encodes the SBOM in format f into memory, reporting the phase to
// opts.Progress.
func (s *SBOM) Bytes(f Format, opts Options) ([]byte, error) {
	start := opts.now()
	var buf bytes.Buffer
	if err := s.Encode(&buf, f); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.progress(), "sbom: encoded %s, %d bytes (%s)\n", f, buf.Len(), since(opts, start))
	return buf.Bytes(), nil
}

// Written describes an SBOM file written by WriteFile.
type Written struct {
	Path   string
	Format Format
	Size   int64
	// SHA256 is the hex digest of the file's bytes.
	SHA256 string
}

// WriteFile streams the SBOM in format f into path atomically: through a
// temporary file in the same directory, renamed into place only when complete,
// so a failure leaves nothing behind and the document is never held in memory.
func (s *SBOM) WriteFile(path string, f Format, opts Options) (Written, error) {
	start := opts.now()
	h := sha256.New()
	size, err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)
		if err := s.Encode(bw, f); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return Written{}, err
	}
	fmt.Fprintf(opts.progress(), "sbom: encoded %s, %d bytes (%s)\n", f, size, since(opts, start))
	return Written{Path: path, Format: f, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Count is the number of components found. Unlike Packages, it copies
// nothing: syft hands out every package as a deep copy (by reflection), which
// costs a noticeable share of a scan of thousands of packages.
func (s *SBOM) Count() int { return s.doc.Artifacts.Packages.PackageCount() }

// Packages returns the components found, sorted by type, name and version.
func (s *SBOM) Packages() []Package {
	var out []Package
	for p := range s.doc.Artifacts.Packages.Enumerate() {
		out = append(out, Package{Name: p.Name, Version: p.Version, PURL: p.PURL, Type: string(p.Type)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return out
}

// Ecosystems counts components by ecosystem: the purl type ("golang", "npm",
// "pypi"...), or syft's package type for a component without a purl.
func (s *SBOM) Ecosystems() map[string]int {
	out := map[string]int{}
	for p := range s.doc.Artifacts.Packages.Enumerate() {
		out[ecosystem(p)]++
	}
	return out
}

func ecosystem(p pkg.Package) string {
	if rest, ok := strings.CutPrefix(p.PURL, "pkg:"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			return strings.ToLower(rest[:i])
		}
	}
	if p.Type == "" {
		return "unknown"
	}
	return string(p.Type)
}
