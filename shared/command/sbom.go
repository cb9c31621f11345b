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
	res, _, err := generateSbom(ctx, env, o)
	return res, err
}

// generateSbom is paved sbom, returning what it wrote typed as well as its
// Result, for the steps that build on the SBOM (supply-chain's policy gate).
func generateSbom(ctx context.Context, env Env, o sbomOptions) (*Result, sbomFiles, error) {
	p, err := planSbom(ctx, env, o)
	if err != nil {
		return nil, sbomFiles{}, err
	}
	s, err := sbom.Generate(ctx, p.input, p.opts)
	if err != nil {
		return nil, sbomFiles{}, redact(err, o.RegistryPassword)
	}
	var files sbomFiles
	res, err := p.finish(ctx, env, s, &files)
	return res, files, err
}

// sbomFiles are the documents and bundles one SBOM run wrote: per family the
// JSON document when there is one, as the -path outputs name them.
type sbomFiles struct {
	spdx, cyclonedx, syft string
	all                   []string // every document, in format order
	bundles               []string
}

func (w *sbomFiles) add(f sbom.Format, path string) {
	w.all = append(w.all, path)
	slot := &w.syft
	switch f {
	case sbom.SPDXJSON, sbom.SPDXTagValue:
		slot = &w.spdx
	case sbom.CycloneDXJSON, sbom.CycloneDXXML:
		slot = &w.cyclonedx
	}
	if *slot == "" || f.JSON() {
		*slot = path
	}
}

// outputs are the documents as paved sbom's declared outputs name them.
func (w sbomFiles) outputs() map[string]string {
	out := map[string]string{"sbom-paths": strings.Join(w.all, "\n")}
	for k, v := range map[string]string{"spdx-path": w.spdx, "cyclonedx-path": w.cyclonedx, "syft-path": w.syft} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// sbomRun is one paved sbom, checked before the scan: everything a wrong
// input can break fails here, before any network or file is touched.
type sbomRun struct {
	o        sbomOptions
	input    string
	formats  []sbom.Format
	limit    int64
	opts     sbom.Options
	gh       *sbomGitHub
	subjects []subject.Subject // named by --subject-*; empty: the scanned image
	// written are the files this run wrote, removed again when it fails.
	written []string
}

// planSbom checks the inputs and resolves the explicit subjects.
func planSbom(ctx context.Context, env Env, o sbomOptions) (*sbomRun, error) {
	if len(o.Sources) > 1 {
		return nil, fail.Configf("one source at a time, got %d: %q", len(o.Sources), o.Sources)
	}
	p := &sbomRun{o: o, input: o.Source}
	typ := sbom.SourceType(strings.ToLower(o.SourceType))
	var err error
	if p.formats, err = sbomFormats(o.Formats); err != nil {
		return nil, err
	}
	if p.limit, err = parseSize(o.InlineLimit); err != nil {
		return nil, fail.Configf("--inline-limit %q: %v", o.InlineLimit, err)
	}
	if err := checkSbomOutputs(env, o, len(p.formats)); err != nil {
		return nil, err
	}
	var confineTo string
	if typ != sbom.Registry {
		if confineTo, err = sbomSource(env, p.input); err != nil {
			return nil, err
		}
	}
	scfg, err := sbomConfig(env, o.Config, len(o.Catalogers) > 0)
	if err != nil {
		return nil, err
	}
	if p.gh, err = newSbomGitHub(env, o.sbomGitHubOptions); err != nil {
		return nil, err
	}
	spec := subject.Spec{Paths: o.SubjectPaths, Digests: o.SubjectDigests}
	switch {
	case o.Attest && !spec.Empty():
		// Resolved before the scan, so a wrong subject fails fast.
		files, err := env.files()
		if err != nil {
			return nil, err
		}
		if p.subjects, err = subject.Resolve(ctx, spec, subject.Options{Files: files}); err != nil {
			return nil, err
		}
	case !spec.Empty():
		return nil, fail.Configf("--subject-path and --subject-digest name what an attestation is about: add --attest, or drop them")
	}
	if pw := o.RegistryPassword; pw != "" && env.Platform != nil {
		env.Platform.Mask(pw)
	}
	p.opts = sbom.Options{
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
	return p, nil
}

// checkSbomOutputs checks --output-dir and --output-file: inside the
// workspace, in a directory that exists, and one file for one format.
func checkSbomOutputs(env Env, o sbomOptions, formats int) error {
	if err := checkOutputDir(filepath.Join(o.OutputDir, "x"), "output-dir"); err != nil {
		return err
	}
	if err := insideWorkspace(env, o.OutputDir, "output-dir"); err != nil {
		return err
	}
	outFile := o.OutputFile
	if outFile == "" {
		return nil
	}
	if formats != 1 {
		return fail.Configf("--output-file names one file, but %d formats were asked for: write one --format, or drop --output-file and use --output-dir", formats)
	}
	if strings.HasSuffix(outFile, "/") {
		return fail.Configf("--output-file %q names a directory: name the SBOM file, or use --output-dir", outFile)
	}
	if err := checkOutputDir(outFile, "output-file"); err != nil {
		return err
	}
	if err := insideWorkspace(env, outFile, "output-file"); err != nil {
		return err
	}
	if st, err := os.Stat(outFile); err == nil && st.IsDir() {
		return fail.Configf("--output-file %s is a directory: name the SBOM file, or use --output-dir", outFile)
	}
	return nil
}

// path is where format f of the SBOM of source is written.
func (p *sbomRun) path(src sbom.Source, f sbom.Format) string {
	if p.o.OutputFile != "" {
		return p.o.OutputFile
	}
	name := p.o.OutputName
	if name == "" {
		name = outputName(src)
	}
	return filepath.Join(p.o.OutputDir, name+f.Extension())
}

// fail removes what this run wrote, then returns err: everything is written
// or nothing.
func (p *sbomRun) fail(err error) error {
	for _, path := range p.written {
		_ = os.Remove(path)
	}
	return err
}

// finish writes the SBOMs of s, attests them when asked, and hands them to
// GitHub (release assets, dependency snapshot) when asked.
func (p *sbomRun) finish(ctx context.Context, env Env, s *sbom.SBOM, files *sbomFiles) (*Result, error) {
	if p.o.Attest && len(p.subjects) == 0 {
		if s.Source.Digest == "" {
			return nil, fail.Configf("--attest on a %s needs --subject-path or --subject-digest: name the artifacts the SBOM describes (a directory has no digest of its own, and a daemon's image ID is not the registry's manifest digest)", s.Source.Type)
		}
		p.subjects = []subject.Subject{{Name: s.Source.Name, Digest: map[string]string{"sha256": strings.TrimPrefix(s.Source.Digest, "sha256:")}}}
	}
	var planned []string
	for _, f := range p.formats {
		planned = append(planned, p.path(s.Source, f))
		if p.o.Attest {
			planned = append(planned, p.path(s.Source, f)+".sigstore.json")
		}
	}
	if err := p.gh.checkAssetNames(planned); err != nil {
		return nil, err
	}
	var docs []sbom.Written
	for _, f := range p.formats {
		path := p.path(s.Source, f)
		w, err := s.WriteFile(path, f, p.opts)
		if err != nil {
			return nil, p.fail(fail.Configf("writing %s: %w", path, err))
		}
		p.written = append(p.written, path)
		docs = append(docs, w)
		files.add(f, path)
	}
	outputs := files.outputs()
	count := s.Count()
	outputs["components"] = strconv.Itoa(count)

	text := Report{Title: sbomTitle(s)}
	for _, d := range docs {
		text.Rows = append(text.Rows, logtext.Row{Status: logtext.OK, Cells: []string{d.Path, string(d.Format)}})
	}
	var att sbomAttested
	if p.o.Attest {
		var err error
		if att, err = p.attest(ctx, env, docs, count, &text); err != nil {
			return nil, p.fail(err)
		}
		files.bundles = att.bundles
		outputs["bundle-paths"] = strings.Join(att.bundles, "\n")
	}
	notices, err := p.publish(ctx, env, s, append(files.all, att.bundles...))
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, d := range docs {
		paths = append(paths, logtext.Code(d.Path))
	}
	if len(att.commands) > 0 {
		text.Lines = append(text.Lines, "verify with:", "  "+att.commands[0])
	}
	return &Result{Outputs: outputs, Summary: sbomSummary(s, paths, p.subjects, att.lines, att.commands), Reports: []Report{text}, Notices: append(att.notices, notices...)}, nil
}

// sbomAttested is what attesting the SBOMs produced.
type sbomAttested struct {
	bundles, lines, commands, notices []string
}

// attest signs one attestation per SBOM document for the subjects and
// writes each bundle beside its SBOM.
func (p *sbomRun) attest(ctx context.Context, env Env, docs []sbom.Written, count int, text *Report) (sbomAttested, error) {
	var a sbomAttested
	sg, err := newSigning(ctx, env, p.o.signingOptions)
	if err != nil {
		return a, err
	}
	for _, d := range docs {
		predType, pred, inline, err := sbomPredicate(d, count, p.limit, env.now())
		if err != nil {
			return a, err
		}
		bundlePath := d.Path + ".sigstore.json"
		data, err := sg.sign(ctx, p.subjects, predType, pred)
		if err != nil {
			return a, err
		}
		if err := writeBundle(bundlePath, data); err != nil {
			return a, err
		}
		p.written = append(p.written, bundlePath)
		a.bundles = append(a.bundles, bundlePath)
		how := "inline"
		if !inline {
			how = fmt.Sprintf("by reference (%d bytes is over --inline-limit %d; keep %s beside the bundle)", d.Size, p.limit, filepath.Base(d.Path))
			a.notices = append(a.notices, fmt.Sprintf("paved sbom: %s attested %s", d.Path, how))
		}
		a.lines = append(a.lines, fmt.Sprintf("| %s | %s | %s |", logtext.Code(bundlePath), logtext.Code(predType), logtext.Cell(how)))
		text.Rows = append(text.Rows, logtext.Row{Status: logtext.OK, Cells: []string{bundlePath, "attestation, SBOM " + strings.SplitN(how, " (", 2)[0]}})
		a.commands = append(a.commands, sg.verifyCommand(p.subjects[0], bundlePath, predType))
	}
	fmt.Fprintf(env.log(), "sbom: signed %d attestation(s) as %s\n", len(a.bundles), sg.signer.Identity())
	return a, nil
}

// publish uploads files as release assets and submits the dependency
// snapshot, as asked. The files stay written when GitHub refuses them: they
// are correct, and the step fails with the reason.
func (p *sbomRun) publish(ctx context.Context, env Env, s *sbom.SBOM, files []string) ([]string, error) {
	assets, err := p.gh.uploadAssets(ctx, files)
	if err != nil {
		return nil, err
	}
	notices := prefixed("paved sbom: release asset ", assets)
	root := ""
	if s.Source.Type == sbom.Dir {
		if root, err = sbomRoot(env, p.input); err != nil {
			return nil, err
		}
	}
	submitted, err := p.gh.submit(ctx, s, root, env.now())
	if err != nil {
		return nil, err
	}
	if submitted != "" {
		notices = append(notices, "paved sbom: "+submitted)
	}
	return notices, nil
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
