package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/sbom"
	"github.com/paved-dev/paved/shared/subject"
)

// Sbom declares `paved sbom`.
func Sbom() *Command {
	cmd := &Command{
		Name:      "sbom",
		Summary:   "generate SBOMs (SPDX 2.3, CycloneDX 1.6 or syft JSON, all from one scan) of a directory, file or image, and optionally attest them",
		Args:      "[DIR|FILE|IMAGE]",
		ArgsInput: "source",
		Inputs: append([]Input{
			{Name: "source", Default: ".", Usage: "what to scan: a directory, a file or archive, an OCI layout, a docker-archive tarball or an image reference (registry host included: read from the local Docker or containerd daemon when one runs, else pulled from the registry; docker:IMAGE or containerd:IMAGE reads that daemon only, registry:IMAGE pulls only)"},
			{Name: "source-type", Default: string(sbom.Auto), Usage: "auto, dir, file, oci-layout, docker-archive, registry (pull, never a daemon) or daemon (the local Docker or containerd daemon only)"},
			{Name: "format", List: true, Default: "spdx-json,cyclonedx-json", Usage: "SBOM formats to write from one scan, as syft and anchore/sbom-action name them: spdx-json, cyclonedx-json, spdx (SPDX tag-value), cyclonedx (CycloneDX XML), syft-json"},
			{Name: "output-file", Usage: "with one format: the exact path the SBOM is written to, as in anchore/sbom-action (default OUTPUT-DIR/NAME.EXT)"},
			{Name: "output-dir", Default: ".", Usage: "directory the SBOMs (NAME.spdx.json, NAME.cdx.json, NAME.spdx, NAME.cdx.xml, NAME.syft.json) and bundles are written to"},
			{Name: "output-name", Usage: "NAME of the files written (default: from the source: directory, file or image repository name)"},
			{Name: "catalogers", List: true, Usage: "syft catalogers: names or tags replace the default set for the source kind; +NAME adds one, -NAME removes one"},
			{Name: "config", Usage: "syft config file (.syft.yaml) to read exclude, default-catalogers and select-catalogers from; any other key is refused rather than ignored"},
			{Name: "platform", Usage: "os/arch of the image to scan in a multi-platform index (default linux/amd64 for registries)"},
			{Name: "network", Bool: true, Usage: "let catalogers look up licenses remotely (Go module proxy, npm, PyPI, Maven); off by default"},
			{Name: "registry-username", Usage: "username for the image's registry (default: the Docker config's credentials, else the job's own: CI_REGISTRY_USER for $CI_REGISTRY, the job token for ghcr.io)"},
			{Name: "registry-password", Secret: true, Usage: "password or token for the image's registry, e.g. GITHUB_TOKEN for ghcr.io or CI_REGISTRY_PASSWORD"},
			{Name: "attest", Bool: true, Usage: "also sign an attestation of each SBOM (predicate types https://spdx.dev/Document/v2.3, https://cyclonedx.org/bom, and cosign's https://cosign.sigstore.dev/attestation/v1 for syft-json; tag-value and XML are attested by reference)"},
			{Name: "subject-path", List: true, Usage: "with --attest: artifact files or globs the SBOM describes (default: the image digest, or the scanned file)"},
			{Name: "subject-digest", List: true, Usage: "with --attest: artifacts the SBOM describes, as NAME@sha256:HEX"},
			{Name: "inline-limit", Default: "2MiB", Usage: "with --attest: larger SBOMs are attested by digest reference instead of inline (the transparency log refuses big entries)"},
		}, append(sbomGitHubInputs(), signingInputs()...)...),
		Outputs: []Output{
			{Name: "spdx-path", Usage: "path of the SPDX 2.3 SBOM (the JSON one when both encodings are written)"},
			{Name: "cyclonedx-path", Usage: "path of the CycloneDX 1.6 SBOM (the JSON one when both encodings are written)"},
			{Name: "syft-path", Usage: "path of the syft JSON SBOM"},
			{Name: "sbom-paths", Usage: "paths of every SBOM written, one per line, in the order of --format"},
			{Name: "components", Usage: "number of components found"},
			{Name: "bundle-paths", Usage: "with --attest: the Sigstore bundles written, one per line"},
		},
		CI: CI{
			Title:         "Paved SBOM",
			Description:   "Generate SPDX 2.3, CycloneDX 1.6 or syft JSON SBOMs of the build with syft in one scan, and optionally attest them keylessly with the job's OIDC identity.",
			Signs:         true,
			ArtifactPaths: []string{"*.spdx.json", "*.cdx.json", "*.spdx", "*.cdx.xml", "*.syft.json", "*.sigstore.json"},
			Reports:       map[string]string{"cyclonedx": "*.cdx.json"},
			Stage:         "build",
			// As anchore/sbom-action: the SBOMs become a workflow artifact by default.
			WorkflowArtifact: &WorkflowArtifact{Outputs: []string{"sbom-paths", "bundle-paths"}, Prefix: "sbom", Default: true},
		},
	}
	return typed(cmd, runSbom)
}

// sbomOptions are the inputs of paved sbom.
type sbomOptions struct {
	signingOptions
	sbomGitHubOptions
	Source           string   `input:"source"`
	Sources          []string `input:"source,all"`
	SourceType       string   `input:"source-type"`
	Formats          []string `input:"format"`
	OutputFile       string   `input:"output-file"`
	OutputDir        string   `input:"output-dir"`
	OutputName       string   `input:"output-name"`
	Catalogers       []string `input:"catalogers"`
	Config           string   `input:"config"`
	Platform         string   `input:"platform"`
	Network          bool     `input:"network"`
	RegistryUsername string   `input:"registry-username"`
	RegistryPassword string   `input:"registry-password"`
	Attest           bool     `input:"attest"`
	SubjectPaths     []string `input:"subject-path"`
	SubjectDigests   []string `input:"subject-digest"`
	InlineLimit      string   `input:"inline-limit"`
}

func runSbom(ctx context.Context, env Env, o sbomOptions) (*Result, error) {
	sources := o.Sources
	if len(sources) > 1 {
		return nil, fail.Configf("one source at a time, got %d: %q", len(sources), sources)
	}
	input := o.Source
	typ := sbom.SourceType(strings.ToLower(o.SourceType))
	formats, err := sbomFormats(o.Formats)
	if err != nil {
		return nil, err
	}
	limit, err := parseSize(o.InlineLimit)
	if err != nil {
		return nil, fail.Configf("--inline-limit %q: %v", o.InlineLimit, err)
	}
	outDir := o.OutputDir
	if err := checkOutputDir(filepath.Join(outDir, "x"), "output-dir"); err != nil {
		return nil, err
	}
	if err := insideWorkspace(env, outDir, "output-dir"); err != nil {
		return nil, err
	}
	outFile := o.OutputFile
	if outFile != "" {
		if len(formats) != 1 {
			return nil, fail.Configf("--output-file names one file, but %d formats were asked for: write one --format, or drop --output-file and use --output-dir", len(formats))
		}
		if strings.HasSuffix(outFile, "/") {
			return nil, fail.Configf("--output-file %q names a directory: name the SBOM file, or use --output-dir", outFile)
		}
		if err := checkOutputDir(outFile, "output-file"); err != nil {
			return nil, err
		}
		if err := insideWorkspace(env, outFile, "output-file"); err != nil {
			return nil, err
		}
		if st, err := os.Stat(outFile); err == nil && st.IsDir() {
			return nil, fail.Configf("--output-file %s is a directory: name the SBOM file, or use --output-dir", outFile)
		}
	}
	var confineTo string
	if typ != sbom.Registry {
		if confineTo, err = sbomSource(env, input); err != nil {
			return nil, err
		}
	}
	scfg, err := sbomConfig(env, o.Config, len(o.Catalogers) > 0)
	if err != nil {
		return nil, err
	}
	gh, err := newSbomGitHub(env, o.sbomGitHubOptions)
	if err != nil {
		return nil, err
	}
	attest := o.Attest
	spec := subject.Spec{Paths: o.SubjectPaths, Digests: o.SubjectDigests}
	var explicit []subject.Subject
	if attest && !spec.Empty() {
		// Resolved before the scan, so a wrong subject fails fast.
		files, err := env.files()
		if err != nil {
			return nil, err
		}
		if explicit, err = subject.Resolve(ctx, spec, subject.Options{Files: files}); err != nil {
			return nil, err
		}
	} else if !spec.Empty() {
		return nil, fail.Configf("--subject-path and --subject-digest name what an attestation is about: add --attest, or drop them")
	}
	if pw := o.RegistryPassword; pw != "" && env.Platform != nil {
		env.Platform.Mask(pw)
	}

	opts := sbom.Options{
		ConfineTo:        confineTo,
		Type:             typ,
		Catalogers:       append(o.Catalogers, scfg.DefaultCatalogers...),
		SelectCatalogers: scfg.SelectCatalogers,
		Exclude:          scfg.Exclude,
		Network:          o.Network,
		Credentials:      sbom.Credentials{Username: o.RegistryUsername, Password: o.RegistryPassword, Keychain: env.keychain()},
		Platform:         o.Platform,
		Daemons:          sbom.DetectDaemons(env.Getenv, nil),
		Progress:         env.log(),
		Bar:              env.terminal(),
		Now:              env.Now,
	}
	s, err := sbom.Generate(ctx, input, opts)
	if err != nil {
		return nil, redact(err, o.RegistryPassword)
	}

	subjects := explicit
	if attest && len(subjects) == 0 {
		if s.Source.Digest == "" {
			return nil, fail.Configf("--attest on a %s needs --subject-path or --subject-digest: name the artifacts the SBOM describes (a directory has no digest of its own, and a daemon's image ID is not the registry's manifest digest)", s.Source.Type)
		}
		subjects = []subject.Subject{{Name: s.Source.Name, Digest: map[string]string{"sha256": strings.TrimPrefix(s.Source.Digest, "sha256:")}}}
	}

	name := o.OutputName
	if name == "" {
		name = outputName(s.Source)
	}
	var planned []string
	for _, f := range formats {
		p := filepath.Join(outDir, name+f.Extension())
		if outFile != "" {
			p = outFile
		}
		planned = append(planned, p)
		if attest {
			planned = append(planned, p+".sigstore.json")
		}
	}
	if err := gh.checkAssetNames(planned); err != nil {
		return nil, err
	}
	// Everything is written or nothing: on failure, remove what this run wrote.
	var written []string
	cleanup := func(err error) error {
		for _, p := range written {
			_ = os.Remove(p)
		}
		return err
	}
	outputs := map[string]string{}
	var docs []sbom.Written
	var all []string
	for _, f := range formats {
		path := filepath.Join(outDir, name+f.Extension())
		if outFile != "" {
			path = outFile
		}
		w, err := s.WriteFile(path, f, opts)
		if err != nil {
			return nil, cleanup(fail.Configf("writing %s: %w", path, err))
		}
		written = append(written, path)
		docs = append(docs, w)
		all = append(all, path)
		if key := formatOutput(f); outputs[key] == "" || f.JSON() {
			outputs[key] = path
		}
	}
	outputs["sbom-paths"] = strings.Join(all, "\n")
	count := s.Count()
	outputs["components"] = strconv.Itoa(count)

	var notices, bundles, attestLines, commands []string
	text := Report{Title: sbomTitle(s)}
	for _, d := range docs {
		text.Rows = append(text.Rows, logtext.Row{Status: logtext.OK, Cells: []string{d.Path, string(d.Format)}})
	}
	if attest {
		sg, err := newSigning(ctx, env, o.signingOptions)
		if err != nil {
			return nil, cleanup(err)
		}
		for _, d := range docs {
			predType, pred, inline, err := sbomPredicate(d, count, limit, env.now())
			if err != nil {
				return nil, cleanup(err)
			}
			bundlePath := d.Path + ".sigstore.json"
			data, err := sg.sign(ctx, subjects, predType, pred)
			if err != nil {
				return nil, cleanup(err)
			}
			if err := writeBundle(bundlePath, data); err != nil {
				return nil, cleanup(err)
			}
			written = append(written, bundlePath)
			bundles = append(bundles, bundlePath)
			how := "inline"
			if !inline {
				how = fmt.Sprintf("by reference (%d bytes is over --inline-limit %d; keep %s beside the bundle)", d.Size, limit, filepath.Base(d.Path))
				notices = append(notices, fmt.Sprintf("paved sbom: %s attested %s", d.Path, how))
			}
			attestLines = append(attestLines, fmt.Sprintf("| %s | %s | %s |", logtext.Code(bundlePath), logtext.Code(predType), logtext.Cell(how)))
			text.Rows = append(text.Rows, logtext.Row{Status: logtext.OK, Cells: []string{bundlePath, "attestation, SBOM " + strings.SplitN(how, " (", 2)[0]}})
			commands = append(commands, sg.verifyCommand(subjects[0], bundlePath, predType))
		}
		outputs["bundle-paths"] = strings.Join(bundles, "\n")
		fmt.Fprintf(env.log(), "sbom: signed %d attestation(s) as %s\n", len(bundles), sg.signer.Identity())
	}
	// The files stay written when GitHub refuses them: they are correct, and
	// the step fails with the reason.
	assets, err := gh.uploadAssets(ctx, append(all, bundles...))
	if err != nil {
		return nil, err
	}
	notices = append(notices, prefixed("paved sbom: release asset ", assets)...)
	root := ""
	if s.Source.Type == sbom.Dir {
		if root, err = sbomRoot(env, input); err != nil {
			return nil, err
		}
	}
	submitted, err := gh.submit(ctx, s, root, env.now())
	if err != nil {
		return nil, err
	}
	if submitted != "" {
		notices = append(notices, "paved sbom: "+submitted)
	}
	var paths []string
	for _, d := range docs {
		paths = append(paths, logtext.Code(d.Path))
	}
	if len(commands) > 0 {
		text.Lines = append(text.Lines, "verify with:", "  "+commands[0])
	}
	return &Result{Outputs: outputs, Summary: sbomSummary(s, paths, subjects, attestLines, commands), Reports: []Report{text}, Notices: notices}, nil
}

// sbomPredicate attests a written SBOM: inline when it fits the limit (read
// back, so it is bounded by the limit), by reference to its digest otherwise.
func sbomPredicate(d sbom.Written, components int, limit int64, now time.Time) (string, []byte, bool, error) {
	if d.Size > limit || !d.Format.JSON() {
		pred, err := sbom.ReferenceTo(d.Format, filepath.Base(d.Path), d.SHA256, d.Size, components)
		return sbom.ReferencePredicateType, pred, false, err
	}
	data, err := bounded.ReadFile(d.Path, limit)
	if err != nil {
		return "", nil, false, fail.Configf("reading back %s: %w", d.Path, err)
	}
	return sbom.Predicate(d.Format, data, filepath.Base(d.Path), components, limit, now)
}

// maxConfigSize bounds the syft config file read.
const maxConfigSize = 1 << 20

// sbomConfig reads the syft config file named by --config (path), if any;
// catalogers says --catalogers chose catalogers too.
func sbomConfig(env Env, path string, catalogers bool) (sbom.Config, error) {
	if path == "" {
		return sbom.Config{}, nil
	}
	if err := insideWorkspace(env, path, "config"); err != nil {
		return sbom.Config{}, err
	}
	data, err := bounded.ReadFile(path, maxConfigSize)
	if err != nil {
		return sbom.Config{}, fail.Configf("--config: %w", err)
	}
	c, err := sbom.ParseConfig(data)
	if err != nil {
		return sbom.Config{}, fail.Configf("--config %s: %w", path, err)
	}
	if catalogers && (len(c.DefaultCatalogers) > 0 || len(c.SelectCatalogers) > 0) {
		return sbom.Config{}, fail.Configf("--catalogers and the catalogers of --config %s both choose catalogers: keep one", path)
	}
	return c, nil
}

// formatOutput is the output that names a file of format f.
func formatOutput(f sbom.Format) string {
	switch f {
	case sbom.SPDXJSON, sbom.SPDXTagValue:
		return "spdx-path"
	case sbom.CycloneDXJSON, sbom.CycloneDXXML:
		return "cyclonedx-path"
	}
	return "syft-path"
}

func sbomFormats(raw []string) ([]sbom.Format, error) {
	seen := map[sbom.Format]bool{}
	var out []sbom.Format
	for _, r := range raw {
		for _, item := range SplitList(r) {
			f, err := sbom.ParseFormat(item)
			if err != nil {
				return nil, err
			}
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 {
		return nil, fail.Configf("--format: name at least one of %s", sbom.FormatNames())
	}
	return out, nil
}

var sizeRE = regexp.MustCompile(`^([0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$`)

// parseSize reads a byte count such as 2097152, 512KiB or 2MiB.
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, errors.New("want a size in bytes such as 2MiB, 512KiB or 1048576")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive size")
	}
	mult := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
	return n * mult, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// outputName derives the file name stem from what was scanned.
func outputName(src sbom.Source) string {
	n := src.Name
	if src.Type.IsImage() && src.Type != sbom.DockerArchive {
		n = n[strings.LastIndex(n, "/")+1:]
		if i := strings.IndexAny(n, ":@"); i > 0 {
			n = n[:i]
		}
	}
	n = strings.Trim(unsafeName.ReplaceAllString(n, "-"), "-.")
	if n == "" {
		return "sbom"
	}
	return n
}

// looksLikeImageRef reports whether a source names a registry image rather
// than a path: it does not exist locally and starts with a registry host.
func looksLikeImageRef(s string) bool {
	if _, err := os.Stat(s); err == nil {
		return false
	}
	return namesRegistryHost(s)
}

// namesRegistryHost reports whether s starts with a registry host.
func namesRegistryHost(s string) bool {
	first, _, ok := strings.Cut(s, "/")
	return ok && first != "." && first != ".." && (strings.ContainsAny(first, ".:") || first == "localhost")
}

// insideWorkspace refuses paths that leave the workspace, symlinks
// resolved; a path that does not exist yet is checked lexically.
func insideWorkspace(env Env, path, input string) error {
	files, err := env.files()
	if err != nil {
		return err
	}
	if err := files.Confine(path); err != nil {
		return fail.Configf("--%s: %w", input, err)
	}
	return nil
}

// sbomSource checks a local source to scan and returns the directory the scan
// must not follow symlinks out of: the workspace root in CI, else the
// scanned directory itself ("" for an image reference).
func sbomSource(env Env, source string) (string, error) {
	files, err := env.files()
	if err != nil {
		return "", err
	}
	// A path outside the workspace is refused before anything outside is
	// looked at, so the error does not tell whether it exists there.
	if _, err := files.Rel(source); err != nil {
		if _, perr := name.ParseReference(source, name.StrictValidation); perr == nil && namesRegistryHost(source) {
			return "", nil
		}
		return "", fail.Configf("--source: %w", err)
	}
	if looksLikeImageRef(source) {
		return "", nil
	}
	if err := insideWorkspace(env, source, "source"); err != nil {
		return "", err
	}
	if files.Confined() {
		return files.Abs("."), nil
	}
	return source, nil
}

func sbomSummary(s *sbom.SBOM, paths []string, subjects []subject.Subject, attestLines, commands []string) string {
	var b strings.Builder
	b.WriteString("### Paved SBOM\n\n")
	total := 0
	eco := s.Ecosystems()
	keys := make([]string, 0, len(eco))
	for k, n := range eco {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "Scanned %s %s%s: **%d components**.\n\n", logtext.Cell(string(s.Source.Type)), logtext.Code(s.Source.Name), logtext.Line(digestNote(s.Source.Digest)), total)
	if total > 0 {
		b.WriteString("| ecosystem | components |\n| --- | ---: |\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %d |\n", logtext.Cell(k), eco[k])
		}
		b.WriteString("\n")
	}
	b.WriteString("SBOMs: " + strings.Join(paths, ", ") + "\n")
	if len(attestLines) > 0 {
		b.WriteString("\nAttested for ")
		for i, sub := range subjects {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%s)", logtext.Code(sub.Name), sub.DigestString())
		}
		b.WriteString(":\n\n| bundle | predicate type | SBOM |\n| --- | --- | --- |\n")
		b.WriteString(strings.Join(attestLines, "\n") + "\n")
		b.WriteString("\nVerify them:\n\n```sh\n" + strings.Join(commands, "\n") + "\n```\n")
	}
	return b.String()
}

// sbomTitle is the headline for a terminal: what was scanned and what it holds.
func sbomTitle(s *sbom.SBOM) string {
	eco := s.Ecosystems()
	keys := make([]string, 0, len(eco))
	total := 0
	for k, n := range eco {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, eco[k]))
	}
	t := fmt.Sprintf("paved sbom: %s %s%s: %d components", s.Source.Type, s.Source.Name, digestNote(s.Source.Digest), total)
	if len(parts) > 0 {
		t += " (" + strings.Join(parts, ", ") + ")"
	}
	return t
}

func digestNote(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}
