package command

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/logtext"
	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/provenance"
	"github.com/paved-dev/paved/shared/store"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/verify"
	"github.com/paved-dev/paved/shared/workspace"
)

// Promote declares `paved promote`: move exactly the verified bytes from one
// registry to another, with their proofs, or upload exactly the attested
// bytes of a release file.
func Promote() *Command {
	cmd := &Command{
		Name:      "promote",
		Summary:   "build once, promote by digest: verify an image's attestations, copy it with every platform and referrer, prove the copy identical, then tag and attest the promotion; or upload a release file only if its bytes are attested",
		Args:      "SOURCE DESTINATION",
		ArgsInput: "source",
		Inputs: append(append([]Input{
			{Name: "source", Usage: "image to promote, IMAGE@sha256:HEX (or IMAGE:TAG, resolved once), or a release file, PATH or file://PATH; also the first positional argument"},
			{Name: "destination", Usage: "repository to promote an image to, REGISTRY/REPOSITORY[:TAG]; for a file, github-release://OWNER/REPO@TAG (an asset of that existing release) or gitlab-package://NAME[@VERSION] (the project's generic package, in GitLab CI/CD; version default: the tag, else the commit SHA); also the second positional argument"},
			{Name: "tag", List: true, Usage: "tags to set at the destination after the copy is proved identical (an existing tag naming other content is refused; images only)"},
			{Name: "require-digest", Bool: true, Usage: "refuse a source given by tag"},
			{Name: "environment", Usage: "name of the environment promoted to (e.g. production), recorded in the promotion attestation"},
			{Name: "bundle", List: true, Usage: "Sigstore bundles about the source (files, JSON Lines or directories); an image's OCI referrers are always read; for a file, default: FILE.sigstore.json and attestations.jsonl beside the file or in the working directory"},
			{Name: "attestation-path", Default: "promotion.sigstore.json", Usage: "where to write the promotion attestation's Sigstore bundle (attached to the image, or uploaded beside the release file)"},
			{Name: "github-token", Secret: true, Usage: "token for github-release:// destinations, with contents: write (in GitHub Actions, default: the job's token, github.token)"},
			{Name: "github-api-url", Usage: "GitHub REST API base for github-release:// destinations (default: GITHUB_API_URL in GitHub Actions, else derived from the server URL)"},
		}, verifyPolicyInputs()...), signingInputs()...),
		Outputs: []Output{
			{Name: "digest", Usage: "the promoted digest, sha256:HEX, identical at source and destination"},
			{Name: "destination", Usage: "the destination by digest, REGISTRY/REPOSITORY@sha256:HEX; for a file, the release or package it went to"},
			{Name: "attestation-path", Usage: "path of the promotion attestation's Sigstore bundle (also attached at the destination, or uploaded beside the release file)"},
			{Name: "tags", Usage: "the destination references tagged, one per line"},
			{Name: "file-url", Usage: "where the promoted release file is downloaded from (files only)"},
		},
		CI: CI{
			Title:         "Paved promote",
			Description:   "Build once, promote by digest: verify an image's attestations, copy it with every platform and attestation to another registry, prove the copy byte-identical, tag it and sign a promotion attestation; or upload a release file to a GitHub release or GitLab generic package only if its bytes are attested.",
			Signs:         true,
			ArtifactPaths: []string{"*.sigstore.json"},
			Stage:         "deploy",
		},
	}
	return typed(cmd, runPromote)
}

// promoteOptions are the inputs of paved promote.
type promoteOptions struct {
	identityOptions
	signingOptions
	// Sources are --source and the positional arguments: SOURCE [DESTINATION].
	Sources         []string `input:"source,all"`
	Destination     string   `input:"destination"`
	Tags            []string `input:"tag"`
	RequireDigest   bool     `input:"require-digest"`
	Environment     string   `input:"environment"`
	Bundles         []string `input:"bundle"`
	AttestationPath string   `input:"attestation-path"`
	GitHubToken     string   `input:"github-token"`
	GitHubAPIURL    string   `input:"github-api-url"`
}

func runPromote(ctx context.Context, env Env, o promoteOptions) (*Result, error) {
	src, dst, err := promoteEnds(o)
	if err != nil {
		return nil, err
	}
	fd, isFile, err := promote.ParseFileDestination(dst)
	if err != nil {
		return nil, err
	}
	if isFile || strings.HasPrefix(src, "file://") {
		if !isFile {
			return nil, fail.Configf("source %s is a file: promote it to github-release://OWNER/REPO@TAG or gitlab-package://NAME[@VERSION], not to %s", src, dst)
		}
		return promoteFile(ctx, env, o, strings.TrimPrefix(src, "file://"), fd)
	}
	attPath := o.AttestationPath
	if err := checkOutputDir(attPath, "attestation-path"); err != nil {
		return nil, err
	}
	httpo := store.HTTPOptions{Transport: env.Transport, Retry: env.Retry}
	adm, _, err := promoteAdmission(ctx, env, o, o.Bundles)
	if err != nil {
		return nil, err
	}
	adm.HTTP, adm.Keychain = httpo, env.keychain()
	// Fail on a missing or expired identity token before anything is copied;
	// the signing certificate itself is requested after the copy, so that a
	// long copy cannot outlive it.
	if _, err := idToken(ctx, env, o.IdentityToken, o.IdentityTokenFile); err != nil {
		return nil, err
	}
	var verified promote.Verification
	var signed promotionSigned
	opts := promote.Options{
		Tags: o.Tags, RequireDigest: o.RequireDigest,
		Keychain: env.keychain(), Transport: env.Transport, Log: env.log(),
		Admit: func(ctx context.Context, s promote.Source) (err error) {
			verified, err = adm.Admit(ctx, s)
			return err
		},
		BeforeTag: func(ctx context.Context, res *promote.Result) (err error) {
			signed, err = signPromotion(ctx, env, o, res, verified, attPath, httpo)
			return err
		},
	}
	res, err := promote.Promote(ctx, src, dst, opts)
	if err != nil {
		return nil, err
	}
	return &Result{
		Outputs: map[string]string{
			"digest": res.Digest, "destination": res.Destination,
			"attestation-path": attPath, "tags": strings.Join(res.Tagged, "\n"),
		},
		Summary: promoteSummary(res, verified, o.Environment, attPath, signed),
		Reports: []Report{promoteText(res, verified, attPath, signed)},
	}, nil
}

// promoteAdmission reads the policy, the bundles given as files and the
// trusted roots a promotion is verified with, and the workspace the bundles
// were read from.
func promoteAdmission(ctx context.Context, env Env, o promoteOptions, bundles []string) (promote.Admission, *workspace.Workspace, error) {
	none := promote.Admission{}
	pol, ids, err := promotePolicy(env, o)
	if err != nil {
		return none, nil, err
	}
	ws, err := env.files()
	if err != nil {
		return none, nil, err
	}
	var cands []verify.Candidate
	if len(bundles) > 0 {
		if cands, err = verify.LoadBundles(ws, bundles); err != nil {
			return none, nil, err
		}
	}
	roots, err := verifyRoots(ctx, env, pol.TrustedRoots, "", false, o.Policy)
	if err != nil {
		return none, nil, err
	}
	return promote.Admission{Bundles: cands, Roots: roots, Identities: ids, PredicateType: pol.PredicateType, CheckStatement: provenanceAgrees}, ws, nil
}

// promoteText is the result for a terminal: a ✓ row per step of the
// promotion, in the order they happened.
func promoteText(res *promote.Result, ver promote.Verification, attPath string, signed promotionSigned) Report {
	r := Report{Title: fmt.Sprintf("paved promote: %s promoted to %s", shortDigest(res.Digest), res.Destination)}
	ok := func(cells ...string) { r.Rows = append(r.Rows, logtext.Row{Status: logtext.OK, Cells: cells}) }
	ok("verified", ver.PredicateType+" signed by "+ver.Signer)
	ok("copied", fmt.Sprintf("%d manifest(s), %d referrer(s), %d blob(s), proved identical", len(res.Manifests), len(res.Referrers), res.Blobs))
	if len(res.Tagged) > 0 {
		ok("tagged", strings.Join(res.Tagged, ", "))
	}
	ok("attested", attPath+" signed by "+signed.signer)
	return r
}

// promotePolicy reads the verification policy and the identities it accepts.
func promotePolicy(env Env, o promoteOptions) (*verify.PolicyFile, []verify.Identity, error) {
	var roots []string
	if o.TrustedRoot != "" {
		roots = []string{o.TrustedRoot}
	}
	pol, err := verifyPolicy(env, o.identityOptions, roots, "", false, false)
	if err != nil {
		return nil, nil, err
	}
	ids, err := pol.IdentityList()
	if err != nil {
		return nil, nil, err
	}
	return pol, ids, nil
}

// promoteEnds reads SOURCE and DESTINATION from the inputs or the two
// positional arguments.
func promoteEnds(o promoteOptions) (string, string, error) {
	srcs, dst := o.Sources, o.Destination
	if len(srcs) == 2 && dst == "" {
		return srcs[0], srcs[1], nil
	}
	if len(srcs) != 1 || dst == "" {
		return "", "", fail.Configf("name the image and where to promote it: paved promote SOURCE DESTINATION (or --source and --destination)")
	}
	return srcs[0], dst, nil
}

// promotionSigned is what the summary tells about the promotion attestation.
type promotionSigned struct {
	size           int
	signer, issuer string
	// source is the source repository the signing certificate names.
	source string
	// trust is the trust material's source: public-good or a trusted root file.
	trust string
	token string // to redact from errors; never printed
}

// signPromotion signs the promotion attestation over the proved digest,
// writes it to path and attaches it at the destination as a referrer.
func signPromotion(ctx context.Context, env Env, o promoteOptions, res *promote.Result, ver promote.Verification, path string, httpo store.HTTPOptions) (promotionSigned, error) {
	none := promotionSigned{}
	repo, _, _ := strings.Cut(res.Destination, "@")
	subj := subject.Subject{Name: repo, Digest: map[string]string{"sha256": strings.TrimPrefix(res.Digest, "sha256:")}}
	signed, data, err := signPromotionStatement(ctx, env, o.signingOptions, subj, func(run promote.Run) ([]byte, error) {
		return promote.NewPredicate(res, o.Environment, run, ver, env.now())
	})
	if err != nil {
		return none, err
	}
	b, err := store.Parse(data)
	if err != nil {
		return none, fmt.Errorf("attaching the promotion attestation: %w", err)
	}
	oci, err := store.NewOCI([]string{res.Destination}, store.OCIOptions{Keychain: env.keychain(), HTTPOptions: httpo})
	if err != nil {
		return none, err
	}
	if _, err := oci.Put(ctx, b); err != nil {
		return none, redact(fmt.Errorf("the promotion attestation is signed, but attaching it at %s failed (nothing was tagged and %s was not written; run the promotion again): %w", res.Destination, path, err), signed.token)
	}
	if err := writeBundle(path, data); err != nil {
		return none, fmt.Errorf("the promotion attestation is attached at %s, but: %w", res.Destination, err)
	}
	fmt.Fprintf(env.log(), "paved: promotion attestation attached to %s\n", res.Destination)
	return signed, nil
}

// signPromotionStatement signs a promotion statement about subj, with the
// predicate pred builds from this run's identity; it returns the bundle's
// bytes, which the caller writes once the promotion it claims happened.
func signPromotionStatement(ctx context.Context, env Env, so signingOptions, subj subject.Subject, pred func(promote.Run) ([]byte, error)) (promotionSigned, []byte, error) {
	none := promotionSigned{}
	sg, err := newSigning(ctx, env, so)
	if err != nil {
		return none, nil, err
	}
	run := promote.Run{Signer: sg.signer.Identity(), SignerClaims: provenance.ClaimsOf(sg.signer.Extensions())}
	p, err := pred(run)
	if err != nil {
		return none, nil, err
	}
	data, err := sg.sign(ctx, []subject.Subject{subj}, promote.PredicateType, p)
	if err != nil {
		return none, nil, err
	}
	return promotionSigned{size: len(data), signer: run.Signer, issuer: run.Issuer, source: run.SourceRepository, trust: sg.mat.Source, token: sg.token}, data, nil
}

func promoteSummary(res *promote.Result, ver promote.Verification, environment, attPath string, signed promotionSigned) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Paved promote\n\n")
	from := logtext.Code(res.Source.Reference)
	if res.Source.Tag != "" {
		from += " (tag " + logtext.Code(res.Source.Tag) + ", resolved once)"
	}
	fmt.Fprintf(&b, "Promoted %s\n\n- from %s\n- to %s\n", logtext.Code(res.Digest), from, logtext.Code(res.Destination))
	if environment != "" {
		fmt.Fprintf(&b, "- environment: %s\n", logtext.Code(environment))
	}
	fmt.Fprintf(&b, "- verified: %s signed by %s (%s), trust: %s\n", logtext.Code(ver.PredicateType), logtext.Code(ver.Signer), logtext.Cell(ver.Attestation), logtext.Cell(ver.TrustedRoot))
	fmt.Fprintf(&b, "- proved identical at the destination: %d manifest(s), %d referrer(s), %d blob(s) (%d bytes)\n", len(res.Manifests), len(res.Referrers), res.Blobs, res.Bytes)
	if len(res.Tagged) > 0 {
		tags := make([]string, len(res.Tagged))
		for i, t := range res.Tagged {
			tags[i] = logtext.Code(t)
		}
		fmt.Fprintf(&b, "- tagged after the proof: %s\n", strings.Join(tags, ", "))
	}
	fmt.Fprintf(&b, "- promotion attestation: %s (%d bytes) signed by %s, attached at the destination\n", logtext.Code(attPath), signed.size, logtext.Code(signed.signer))
	fmt.Fprintf(&b, "\nVerify it at the destination (the build's attestation, then the promotion's):\n\n```sh\n")
	if ver.Signer != "" {
		b.WriteString(verifyCommandLine("oci://"+res.Destination, "", verify.SignerRule(ver.Signer, ver.Issuer, ver.SourceRepository), ver.PredicateType, signed.trust) + "\n")
	}
	b.WriteString(verifyCommandLine("oci://"+res.Destination, "", verify.SignerRule(signed.signer, signed.issuer, signed.source), promote.PredicateType, signed.trust) + "\n```\n")
	return b.String()
}

// promoteFile verifies a release file's attestations and uploads exactly the
// verified bytes to a GitHub release or a GitLab generic package. Nothing is
// uploaded unless an attestation about the file's digest verifies under the
// policy; the upload reads a private copy whose digest is checked again, so
// bytes changed after verification are refused too.
func promoteFile(ctx context.Context, env Env, o promoteOptions, path string, dst promote.FileDestination) (*Result, error) {
	if err := checkFilePromotion(o, path, dst); err != nil {
		return nil, err
	}
	real, err := confine(env, path)
	if err != nil {
		return nil, fail.Configf("release file: %v", err)
	}
	name := filepath.Base(real)
	if err := promote.CheckFileName(name); err != nil {
		return nil, err
	}
	adm, ws, err := fileAdmission(ctx, env, o, path, real)
	if err != nil {
		return nil, err
	}
	up, err := fileUploader(env, o, dst)
	if err != nil {
		return nil, err
	}
	if err := checkOutputDir(o.AttestationPath, "attestation-path"); err != nil {
		return nil, err
	}
	// A missing or expired identity token fails before anything is uploaded.
	if _, err := idToken(ctx, env, o.IdentityToken, o.IdentityTokenFile); err != nil {
		return nil, err
	}
	targets, err := verifyTargets(ctx, env, []string{real}, verify.Algorithms(adm.Bundles))
	if err != nil {
		return nil, err
	}
	targets[0].Name = path
	ver, digest, err := adm.AdmitFile(ctx, targets[0])
	if err != nil {
		return nil, err
	}
	var signed promotionSigned
	rel := promote.FileRelease{Path: path, Open: ws.Open, Uploader: up, AttestationPath: o.AttestationPath, Log: env.log(),
		Sign: func(ctx context.Context, f *promote.File, to string) (data []byte, err error) {
			subj := subject.Subject{Name: name, Digest: map[string]string{"sha256": strings.TrimPrefix(f.Digest, "sha256:")}}
			signed, data, err = signPromotionStatement(ctx, env, o.signingOptions, subj, func(run promote.Run) ([]byte, error) {
				return promote.NewFilePredicate(path, to, f.Digest, f.Size, o.Environment, run, ver, env.now())
			})
			return data, err
		}}
	res, err := rel.Release(ctx, real, name, digest)
	if err != nil {
		return nil, redact(err, signed.token)
	}
	return promoteFileResult(o, dst, o.AttestationPath, up.Name(), res, ver, signed), nil
}

// fileAdmission is the admission of a release file: verified with the given
// bundles, or those paved attest leaves beside it by default.
func fileAdmission(ctx context.Context, env Env, o promoteOptions, path, real string) (promote.Admission, *workspace.Workspace, error) {
	bundles := o.Bundles
	if len(bundles) == 0 {
		bundles = fileBundles(real)
	}
	if len(bundles) == 0 {
		return promote.Admission{}, nil, fail.Configf("no bundles about %s: pass --bundle with the bundle or attestations.jsonl that paved attest wrote (looked for %s)", path, strings.Join(bundleGuesses(real), ", "))
	}
	return promoteAdmission(ctx, env, o, bundles)
}

// bundleGuesses are where paved attest leaves the bundles about a file by
// default: FILE.sigstore.json and attestations.jsonl, beside the file or in
// the working directory.
func bundleGuesses(path string) []string {
	base := filepath.Base(path) + ".sigstore.json"
	out := []string{filepath.Join(filepath.Dir(path), base), filepath.Join(filepath.Dir(path), "attestations.jsonl")}
	for _, p := range []string{base, "attestations.jsonl"} {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// fileBundles are the bundleGuesses that exist.
func fileBundles(path string) []string {
	var out []string
	for _, p := range bundleGuesses(path) {
		if fileExists(p) {
			out = append(out, p)
		}
	}
	return out
}

// fileUploader builds the destination of a release file before anything is
// hashed, so that missing tokens and wrong places fail first.
func fileUploader(env Env, o promoteOptions, dst promote.FileDestination) (promote.Uploader, error) {
	switch dst.Kind {
	case promote.GitHubRelease:
		ep := githubEndpoints(env, "", o.GitHubAPIURL, o.GitHubToken)
		return promote.NewGitHubRelease(dst.Repository, dst.Tag, promote.GitHubReleaseOptions{APIURL: ep.APIURL, Token: ep.Token, Transport: env.Transport, Retry: env.Retry})
	case promote.GitLabPackage:
		if env.Uploaders == nil {
			return nil, fail.Configf("%s works only inside a GitLab CI/CD job (it uses the job token)", dst)
		}
		return env.Uploaders.FileUploader(dst.Package, dst.Version)
	}
	return nil, fail.Configf("destination %s: unknown kind", dst)
}

// checkFilePromotion refuses the image-only inputs and a missing file.
func checkFilePromotion(o promoteOptions, path string, dst promote.FileDestination) error {
	lastTag := ""
	if len(o.Tags) > 0 {
		lastTag = o.Tags[len(o.Tags)-1]
	}
	for _, in := range []struct {
		name string
		set  bool
	}{{"tag", lastTag != "" && lastTag != "false"}, {"require-digest", o.RequireDigest}} {
		if in.set {
			return fail.Configf("--%s applies to images; drop it to promote the release file %s", in.name, path)
		}
	}
	if path == "" {
		return fail.Configf("name the release file to promote: paved promote FILE %s", dst)
	}
	return nil
}

// promoteFileResult is what a file promotion shows: the summary, the
// terminal rows and the outputs.
func promoteFileResult(o promoteOptions, dst promote.FileDestination, attPath, where string, rel *promote.FileReleased, ver promote.Verification, signed promotionSigned) *Result {
	res, attRes := rel.File, rel.Attestation
	state := res.State()
	var b strings.Builder
	fmt.Fprintf(&b, "### Paved promote\n\nPromoted release file %s (%s, %d bytes)\n\n", logtext.Code(rel.Name), logtext.Code(rel.Digest), rel.Size)
	fmt.Fprintf(&b, "- to %s: %s\n- %s\n", logtext.Cell(where), logtext.Cell(res.URL), logtext.Cell(state))
	if e := o.Environment; e != "" {
		fmt.Fprintf(&b, "- environment: %s\n", logtext.Code(e))
	}
	fmt.Fprintf(&b, "- verified: %s signed by %s (%s), trust: %s\n", logtext.Code(ver.PredicateType), logtext.Code(ver.Signer), logtext.Cell(ver.Attestation), logtext.Cell(ver.TrustedRoot))
	fmt.Fprintf(&b, "- promotion attestation: %s (%d bytes) signed by %s, uploaded beside the file: %s\n", logtext.Code(attPath), signed.size, logtext.Code(signed.signer), logtext.Cell(attRes.URL))
	fmt.Fprintf(&b, "\nVerify the promotion:\n\n```sh\n%s\n```\n", verifyCommandLine(rel.Digest, attPath, verify.SignerRule(signed.signer, signed.issuer, signed.source), promote.PredicateType, signed.trust))
	text := Report{Title: fmt.Sprintf("paved promote: %s (%s) promoted to %s", rel.Name, shortDigest(rel.Digest), where)}
	for _, cells := range [][]string{
		{"verified", ver.PredicateType + " signed by " + ver.Signer},
		{"uploaded", res.URL + ": " + state},
		{"attested", attPath + " signed by " + signed.signer + ", uploaded to " + attRes.URL},
	} {
		text.Rows = append(text.Rows, logtext.Row{Status: logtext.OK, Cells: cells})
	}
	return &Result{
		Outputs: map[string]string{"digest": rel.Digest, "destination": dst.String(), "file-url": res.URL, "attestation-path": attPath},
		Summary: b.String(),
		Reports: []Report{text},
	}
}
