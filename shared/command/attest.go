package command

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/shared/logtext"

	"github.com/paved-dev/paved/shared/attest"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/identity"
	"github.com/paved-dev/paved/shared/provenance"
	"github.com/paved-dev/paved/shared/sbom"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
)

// maxPredicate bounds a custom predicate file.
const maxPredicate = 16 << 20

// Attest declares `paved attest`.
func Attest() *Command {
	return &Command{
		Name:      "attest",
		Summary:   "sign SLSA provenance (or a custom predicate) for build artifacts, keylessly",
		Args:      "[FILE|GLOB...]",
		ArgsInput: "subject-path",
		Inputs: append([]Input{
			{Name: "subject-path", List: true, Usage: "artifact files or globs to attest (** spans directories)"},
			{Name: "subject-digest", List: true, Usage: "artifacts given by digest, as NAME@sha256:HEX or NAME@sha512:HEX, or as sha256:HEX / sha512:HEX named by --subject-name (as actions/attest takes it)"},
			{Name: "subject-name", Usage: "name of the artifact given by a bare --subject-digest (an image: its repository without a tag, which --push-to-registry then attaches to), or the name of the one --subject-path file"},
			{Name: "subject-checksums", List: true, Usage: "checksums files in sha256sum or sha512sum format listing the artifacts"},
			{Name: "predicate-type", Default: provenance.PredicateType, Usage: "predicate type URI of the statement"},
			{Name: "predicate-path", Usage: "JSON file holding a custom predicate (requires --predicate-type)"},
			{Name: "predicate", Usage: "a custom predicate as a JSON string (requires --predicate-type; instead of --predicate-path)"},
			{Name: "sbom-path", Usage: "attest an existing SPDX or CycloneDX JSON SBOM: the predicate type follows its format (https://spdx.dev/Document/vX.Y, https://cyclonedx.org/bom), as actions/attest and attest-sbom do"},
			{Name: "subject-version", Usage: "accepted for actions/attest workflows, where it versions the artifact metadata storage record; Paved creates no storage record and ignores it, with a notice"},
			{Name: "create-storage-record", Bool: true, Usage: "accepted for actions/attest workflows, where it creates an artifact metadata storage record; Paved creates none and ignores it, with a notice"},
			{Name: "show-summary", Bool: true, Default: "true", Usage: "write the job summary (false: none, as with actions/attest)"},
			{Name: "bundle-path", Usage: "where to write the Sigstore bundle (default: ARTIFACT.sigstore.json for one subject, attestation.sigstore.json for several)"},
		}, append(signingInputs(), storeInputs()...)...),
		Exclusive: [][]string{{"predicate", "predicate-path", "sbom-path"}},
		Outputs: append([]Output{
			{Name: "bundle-path", Usage: "absolute path of the Sigstore bundle written"},
			{Name: "subjects", Usage: "the attested subjects, one \"sha256:HEX NAME\" per line (sha512:HEX for a subject given only by that)"},
			{Name: "signer-identity", Usage: "the certificate identity (SAN) that signed"},
			{Name: "signer-issuer", Usage: "the OIDC issuer of that identity"},
		}, storeOutputs()...),
		CI: CI{
			Title:         "Paved attest",
			Description:   "Sign SLSA provenance (or a custom predicate) for build artifacts keylessly with the job's OIDC identity.",
			Signs:         true,
			ArtifactPaths: []string{"*.sigstore.json", "attestations.jsonl"},
			Stage:         "build",
		},
		Run: runAttest,
	}
}

// attestPlan is an attest run with its local inputs checked: what remains
// needs the services (certificate, signature, storage).
type attestPlan struct {
	subjects        []subject.Subject
	predType        string
	customPredicate []byte
	bundlePath      string
	st              *storing
}

func runAttest(ctx context.Context, env Env, v Values) (*Result, error) {
	p, err := planAttest(ctx, env, v)
	if err != nil {
		return nil, err
	}
	res, err := p.run(ctx, env, v)
	if res == nil {
		return res, err
	}
	// actions/attest gives the bundle's absolute path, so later steps
	// find it whatever their working directory.
	if bp := res.Outputs["bundle-path"]; bp != "" {
		if abs, aerr := filepath.Abs(bp); aerr == nil {
			res.Outputs["bundle-path"] = abs
		}
	}
	const storageRecord = " is ignored: actions/attest uses it only for GitHub's artifact metadata storage records, which Paved does not create"
	if v.Set("subject-version") {
		res.Notices = append(res.Notices, "paved: subject-version"+storageRecord)
	}
	if v.Set("create-storage-record") {
		res.Notices = append(res.Notices, "paved: create-storage-record"+storageRecord)
	}
	if !v.Bool("show-summary") {
		res.Summary = ""
	}
	return res, err
}

// planAttest checks the inputs of an attest run that need no service:
// subjects, predicate and output paths.
func planAttest(ctx context.Context, env Env, v Values) (*attestPlan, error) {
	files, err := env.files()
	if err != nil {
		return nil, err
	}
	spec := subject.Spec{Paths: v.List("subject-path"), Digests: v.List("subject-digest"), ChecksumsFiles: v.List("subject-checksums"), Name: v.String("subject-name")}
	subjects, err := subject.Resolve(ctx, spec, subject.Options{Files: files})
	if err != nil {
		return nil, err
	}
	predType, customPredicate, err := attestPredicate(files, v)
	if err != nil {
		return nil, err
	}
	if customPredicate != nil {
		// A predicate that is no JSON object fails here, before any token
		// is requested.
		if _, err := attest.Statement(subjects, predType, customPredicate); err != nil {
			return nil, err
		}
	}
	bundlePath := v.String("bundle-path")
	if bundlePath == "" {
		bundlePath = "attestation.sigstore.json"
		if len(subjects) == 1 {
			// Resolve checked the name; the base is a plain file name.
			bundlePath = path.Base(filepath.ToSlash(subjects[0].Name)) + ".sigstore.json"
		}
	}
	if err := checkOutputDir(bundlePath, "bundle-path"); err != nil {
		return nil, err
	}
	st, err := newStoring(env, v, bundlePath, subjectImage(v, subjects))
	if err != nil {
		return nil, err
	}
	return &attestPlan{subjects: subjects, predType: predType, customPredicate: customPredicate, bundlePath: bundlePath, st: st}, nil
}

// subjectImage is the image --push-to-registry attaches to when
// --registry-image is not set: as with actions/attest, the one subject given
// as --subject-name (the image repository) and a bare --subject-digest. The
// reference is lower-cased, as registries take repository names (and
// actions/attest lower-cases the name it pushes to).
func subjectImage(v Values, subjects []subject.Subject) []string {
	if !v.Bool("push-to-registry") || v.String("subject-name") == "" || len(subjects) != 1 || subjects[0].Path != "" {
		return nil
	}
	return []string{strings.ToLower(subjects[0].Name) + "@" + subjects[0].DigestString()}
}

// attestPredicate returns the predicate type and, for anything but Paved's
// own provenance, the predicate: from --sbom-path (typed by its format), from
// --predicate-path or from --predicate (typed by --predicate-type). A nil
// predicate means SLSA provenance, built at signing time.
func attestPredicate(files interface {
	ReadFile(string, int64) ([]byte, error)
}, v Values) (string, []byte, error) {
	predType := v.String("predicate-type")
	custom := predType != provenance.PredicateType
	if p := v.String("sbom-path"); p != "" {
		if custom {
			return "", nil, fail.Configf("--sbom-path with --predicate-type %s: the predicate type of an SBOM attestation follows the SBOM's format; drop --predicate-type", predType)
		}
		doc, err := files.ReadFile(p, maxPredicate)
		if err != nil {
			return "", nil, fail.Configf("reading SBOM: %w", err)
		}
		t, err := sbom.DocumentPredicateType(doc)
		if err != nil {
			return "", nil, fail.Configf("--sbom-path %s: %w", p, err)
		}
		return t, doc, nil
	}
	var pred []byte
	var from string
	switch {
	case v.String("predicate-path") != "":
		from = "--predicate-path"
		if !v.Set("predicate-type") {
			return "", nil, fail.Configf("--predicate-path needs --predicate-type: name the type of the custom predicate (a URI)")
		}
		var err error
		if pred, err = files.ReadFile(v.String("predicate-path"), maxPredicate); err != nil {
			return "", nil, fail.Configf("reading predicate: %w", err)
		}
	case v.Set("predicate"):
		from = "--predicate"
		if !v.Set("predicate-type") {
			return "", nil, fail.Configf("--predicate needs --predicate-type: name the type of the custom predicate (a URI)")
		}
		if len(v.String("predicate")) > maxPredicate {
			return "", nil, fail.Configf("--predicate is longer than %d bytes: write it to a file and pass --predicate-path", maxPredicate)
		}
		pred = []byte(v.String("predicate"))
	default:
		if custom {
			return "", nil, fail.Configf("--predicate-type %s needs --predicate-path or --predicate: Paved builds only SLSA provenance (%s) itself", predType, provenance.PredicateType)
		}
		return predType, nil, nil
	}
	if provenance.IsProvenanceType(predType) {
		return "", nil, fail.Configf("--predicate-type %s with %s: a custom predicate cannot claim to be SLSA provenance, which Paved builds itself from the signing certificate and the CI run; drop %s to sign Paved's provenance, or give your predicate a type of its own", predType, from, from)
	}
	return predType, pred, nil
}

// run signs and stores the attestation the plan describes.
func (p *attestPlan) run(ctx context.Context, env Env, v Values) (*Result, error) {
	subjects, predType, customPredicate, bundlePath, st := p.subjects, p.predType, p.customPredicate, p.bundlePath, p.st
	sg, err := newSigning(ctx, env, signingFrom(v))
	if err != nil {
		return nil, err
	}
	if customPredicate == nil {
		if customPredicate, err = provenance.Build(sg.signer.Extensions(), env.Platform.Run()); err != nil {
			return nil, fmt.Errorf("building provenance: %w", err)
		}
	}
	bundleJSON, err := sg.sign(ctx, subjects, predType, customPredicate)
	if err != nil {
		return nil, err
	}
	stored, warnings, err := st.put(ctx, env, bundleJSON, subjects, bundlePath)
	if err != nil {
		return nil, sg.redact(err)
	}
	var lines []string
	for _, s := range subjects {
		lines = append(lines, s.DigestString()+" "+s.Name)
	}
	ext := sg.signer.Extensions()
	outputs := map[string]string{
		"bundle-path":     bundlePath,
		"subjects":        strings.Join(lines, "\n"),
		"signer-identity": sg.signer.Identity(),
		"signer-issuer":   ext.Issuer,
	}
	for k, val := range stored {
		outputs[k] = val
	}
	return &Result{
		Outputs:     outputs,
		Summary:     attestSummary(subjects, sg.signer.Identity(), ext.Issuer, ext.SourceRepositoryOwnerURI, predType, bundlePath, sg.mat),
		Reports:     []Report{attestText(subjects, sg.signer.Identity(), ext.Issuer, ext.SourceRepositoryOwnerURI, predType, bundlePath, sg.mat)},
		Annotations: warnings,
	}, nil
}

// idToken returns the identity token from the explicit inputs (the token
// itself, else a file holding it) or the platform,
// checked for audience and expiry, and masked.
func idToken(ctx context.Context, env Env, token, tokenFile string) (string, error) {
	var src identity.Source
	switch {
	case token != "":
		src = identity.Static{Value: token}
	case tokenFile != "":
		src = identity.File{Path: tokenFile}
	default:
		src = env.Platform.Identity()
	}
	fix := env.Platform.TokenFix()
	if src == nil {
		return "", fail.Configf("no OIDC identity token to sign with: %s", fix)
	}
	token, err := src.Token(ctx, identity.Audience)
	if err != nil {
		return "", fail.As(fail.Config, fmt.Errorf("getting an identity token from %s: %w; %s", src.Describe(), err, fix))
	}
	env.Platform.Mask(token)
	if _, err := identity.Check(token, identity.Audience, env.now(), fix); err != nil {
		return "", err
	}
	return token, nil
}

func attestSummary(subjects []subject.Subject, san, issuer, ownerURI, predType, bundlePath string, mat *trust.Material) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Paved attestation\n\n")
	fmt.Fprintf(&b, "Signed %s for %d subject(s) as **%s** (issuer %s), trust: %s.\n\n", logtext.Code(predType), len(subjects), logtext.Cell(san), logtext.Code(issuer), logtext.Cell(mat.Source))
	b.WriteString("| subject | digest |\n| --- | --- |\n")
	for _, s := range subjects {
		fmt.Fprintf(&b, "| %s | `%s` |\n", logtext.Code(s.Name), s.DigestString())
	}
	fmt.Fprintf(&b, "\nBundle: %s\n\nVerify it:\n\n```sh\n%s\n```\n", logtext.Code(bundlePath), strings.Join(attestCommands(subjects, san, issuer, ownerURI, predType, bundlePath, mat), "\n"))
	return b.String()
}

// attestText is the result for a terminal: a ✓ row per signed subject, the
// bundle, and the first command that verifies it.
func attestText(subjects []subject.Subject, san, issuer, ownerURI, predType, bundlePath string, mat *trust.Material) Report {
	r := Report{Title: fmt.Sprintf("paved attest: signed %s as %s (issuer %s)", predType, san, issuer)}
	for _, s := range subjects {
		r.Rows = append(r.Rows, logtext.Row{Status: logtext.OK, Cells: []string{s.Name, shortDigest(s.DigestString())}})
	}
	cmds := attestCommands(subjects, san, issuer, ownerURI, predType, bundlePath, mat)
	r.Lines = []string{"bundle: " + logtext.Line(bundlePath), "verify it with:", "  " + cmds[0]}
	return r
}

// attestCommands are the commands that verify an attestation: paved's,
// then cosign's and gh's when the subject is a file they can digest.
func attestCommands(subjects []subject.Subject, san, issuer, ownerURI, predType, bundlePath string, mat *trust.Material) []string {
	q := logtext.Shell
	root := trustedRootFlag(mat.Source)
	// The artifact as the job has it: the file that was digested, else the
	// digest, which paved accepts; cosign and gh need the file.
	first, file := subjects[0].DigestString(), subjects[0].Path
	if file != "" {
		first = file
	}
	cmds := []string{fmt.Sprintf("paved verify-bundle --bundle %s --certificate-identity %s --certificate-oidc-issuer %s%s %s", q(bundlePath), q(san), q(issuer), root, q(first))}
	if file == "" {
		return cmds
	}
	cosignType := predType
	if predType == provenance.PredicateType {
		cosignType = "slsaprovenance1"
	}
	var extra string
	if len(mat.Root.TimestampingAuthorities()) > 0 {
		extra += " --use-signed-timestamps"
	}
	if len(mat.Root.CTLogs()) == 0 {
		extra += " --insecure-ignore-sct"
	}
	cmds = append(cmds, fmt.Sprintf("cosign verify-blob-attestation --bundle %s --certificate-identity %s --certificate-oidc-issuer %s --type %s%s%s %s",
		q(bundlePath), q(san), q(issuer), q(cosignType), extra, root, q(file)))
	if owner := strings.TrimPrefix(ownerURI, "https://github.com/"); owner != ownerURI && owner != "" {
		cmds = append(cmds, fmt.Sprintf("gh attestation verify %s --bundle %s --owner %s", q(file), q(bundlePath), q(owner)))
	}
	return cmds
}

// redact removes a secret from an error's message, keeping its class.
func redact(err error, secret string) error { return logtext.RedactError(err, secret) }
