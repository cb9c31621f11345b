package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/store"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/verify"
)

// Promote declares `paved promote`: move exactly the verified bytes from one
// registry to another, with their proofs.
func Promote() *Command {
	return &Command{
		Name:      "promote",
		Summary:   "build once, promote by digest: verify an image's attestations, copy it with every platform and referrer, prove the copy identical, then tag and attest the promotion",
		Args:      "SOURCE DESTINATION",
		ArgsInput: "source",
		Inputs: append(append([]Input{
			{Name: "source", Usage: "image to promote, IMAGE@sha256:HEX (or IMAGE:TAG, resolved once); also the first positional argument"},
			{Name: "destination", Usage: "repository to promote to, REGISTRY/REPOSITORY[:TAG]; also the second positional argument"},
			{Name: "tag", List: true, Usage: "tags to set at the destination after the copy is proved identical (an existing tag naming other content is refused)"},
			{Name: "require-digest", Bool: true, Usage: "refuse a source given by tag"},
			{Name: "environment", Usage: "name of the environment promoted to (e.g. production), recorded in the promotion attestation"},
			{Name: "bundle", List: true, Usage: "more Sigstore bundles about the source (files, JSON Lines or directories); the source's OCI referrers are always read"},
			{Name: "attestation-path", Default: "promotion.sigstore.json", Usage: "where to write the promotion attestation's Sigstore bundle"},
		}, verifyPolicyInputs()...), signingInputs()...),
		Outputs: []Output{
			{Name: "digest", Usage: "the promoted digest, sha256:HEX, identical at source and destination"},
			{Name: "destination", Usage: "the destination by digest, REGISTRY/REPOSITORY@sha256:HEX"},
			{Name: "attestation-path", Usage: "path of the promotion attestation's Sigstore bundle (also attached at the destination)"},
			{Name: "tags", Usage: "the destination references tagged, one per line"},
		},
		CI: CI{
			Title:         "Paved promote",
			Description:   "Build once, promote by digest: verify an image's attestations, copy it with every platform and attestation to another registry, prove the copy byte-identical, tag it and sign a promotion attestation.",
			Signs:         true,
			ArtifactPaths: []string{"*.sigstore.json"},
			Stage:         "deploy",
		},
		Run: runPromote,
	}
}

func runPromote(ctx context.Context, env Env, v Values) (*Result, error) {
	src, dst, err := promoteEnds(v)
	if err != nil {
		return nil, err
	}
	pol, err := verifyPolicy(v, "", false)
	if err != nil {
		return nil, err
	}
	ids := make([]verify.Identity, 0, len(pol.Identities))
	for _, r := range pol.Identities {
		id, err := r.Identity()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	var files []verify.Candidate
	if paths := v.List("bundle"); len(paths) > 0 {
		if files, err = verify.LoadBundles(paths); err != nil {
			return nil, err
		}
	}
	attPath := v.String("attestation-path")
	if err := checkOutputDir(attPath, "attestation-path"); err != nil {
		return nil, err
	}
	roots, err := verifyRoots(ctx, env, pol.TrustedRoots, "", false, v.String("policy"))
	if err != nil {
		return nil, err
	}
	// Fail on a missing or expired identity token before anything is copied;
	// the signing certificate itself is requested after the copy, so that a
	// long copy cannot outlive it.
	if _, err := idToken(ctx, env, v); err != nil {
		return nil, err
	}

	httpo := store.HTTPOptions{Transport: env.Transport, Retry: env.Retry}
	var verified promote.Verification
	var bundleJSON []byte
	opts := promote.Options{
		Tags:          v.List("tag"),
		RequireDigest: v.Bool("require-digest"),
		Keychain:      authn.DefaultKeychain,
		Transport:     env.Transport,
		Log:           env.log(),
		Admit: func(ctx context.Context, s promote.Source) error {
			verified, err = admit(ctx, s, files, roots, ids, pol, httpo)
			return err
		},
		BeforeTag: func(ctx context.Context, res *promote.Result) error {
			bundleJSON, err = signPromotion(ctx, env, v, res, verified, attPath, httpo)
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
		Summary: promoteSummary(res, verified, attPath, len(bundleJSON)),
	}, nil
}

// promoteEnds reads SOURCE and DESTINATION from the inputs or the two
// positional arguments.
func promoteEnds(v Values) (string, string, error) {
	srcs, dst := v.List("source"), v.String("destination")
	if len(srcs) == 2 && dst == "" {
		return srcs[0], srcs[1], nil
	}
	if len(srcs) != 1 || dst == "" {
		return "", "", fail.Configf("name the image and where to promote it: paved promote SOURCE DESTINATION (or --source and --destination)")
	}
	return srcs[0], dst, nil
}

// admit verifies the source's attestations — its referrers and any --bundle
// files — against the policy, by the resolved digest only.
func admit(ctx context.Context, s promote.Source, files []verify.Candidate, roots []verify.Root, ids []verify.Identity, pol *verify.PolicyFile, httpo store.HTTPOptions) (promote.Verification, error) {
	oci, err := store.NewOCI([]string{s.Reference}, store.OCIOptions{Keychain: authn.DefaultKeychain, HTTPOptions: httpo})
	if err != nil {
		return promote.Verification{}, err
	}
	docs, err := oci.Fetch(ctx, s.Digest)
	if err != nil {
		return promote.Verification{}, fmt.Errorf("reading the attestations attached to %s: %w", s.Reference, err)
	}
	cands := append([]verify.Candidate(nil), files...)
	for i, d := range docs {
		c, err := verify.ParseBundles(d, fmt.Sprintf("referrer #%d of %s", i+1, s.Reference))
		if err != nil {
			return promote.Verification{}, err
		}
		cands = append(cands, c...)
	}
	art, err := verify.ParseDigest(s.Digest)
	if err != nil {
		return promote.Verification{}, err
	}
	oc := verify.All(ctx, roots, []verify.Target{{Name: s.Reference, Artifact: art}}, cands, ids, verify.Options{PredicateType: pol.PredicateType}, 0)[0]
	if !oc.Verified {
		var why []string
		for _, f := range oc.Failures {
			r := f.Reason
			if f.Source != "" {
				r = f.Source + ": " + r
			}
			why = append(why, r)
		}
		return promote.Verification{}, fail.Verificationf("refusing to promote %s: no attestation of type %s verifies under the policy (%d found attached or given): %s",
			s.Reference, pol.PredicateType, len(cands), strings.Join(why, "; "))
	}
	out := promote.Verification{PredicateType: oc.Result.PredicateType, Attestation: oc.Candidate.Source, TrustedRoot: oc.Root}
	for _, id := range ids {
		out.Policy = append(out.Policy, id.String())
	}
	if sg := oc.Result.Signer; sg != nil {
		out.Signer, out.Issuer = sg.SubjectAlternativeName, sg.Extensions.Issuer
		out.SourceRepository, out.SourceRef = sg.Extensions.SourceRepositoryURI, sg.Extensions.SourceRepositoryRef
	}
	return out, nil
}

// signPromotion signs the promotion attestation over the proved digest,
// writes it to path and attaches it at the destination as a referrer.
func signPromotion(ctx context.Context, env Env, v Values, res *promote.Result, ver promote.Verification, path string, httpo store.HTTPOptions) ([]byte, error) {
	sg, err := newSigning(ctx, env, v)
	if err != nil {
		return nil, err
	}
	ext := sg.signer.Extensions()
	run := promote.Run{
		Signer: sg.signer.Identity(), Issuer: ext.Issuer,
		SourceRepository: ext.SourceRepositoryURI, SourceRef: ext.SourceRepositoryRef, SourceDigest: ext.SourceRepositoryDigest,
		BuildSigner: ext.BuildSignerURI, RunnerEnvironment: ext.RunnerEnvironment, RunInvocation: ext.RunInvocationURI,
	}
	pred, err := promote.NewPredicate(res, v.String("environment"), run, ver, env.now())
	if err != nil {
		return nil, err
	}
	repo, _, _ := strings.Cut(res.Destination, "@")
	subj := subject.Subject{Name: repo, Digest: map[string]string{"sha256": strings.TrimPrefix(res.Digest, "sha256:")}}
	if _, err := sg.sign(ctx, []subject.Subject{subj}, promote.PredicateType, pred, path); err != nil {
		return nil, err
	}
	data, err := readBounded(path, maxPredicate)
	if err != nil {
		return nil, fmt.Errorf("reading the bundle written: %w", err)
	}
	b, err := store.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("attaching the promotion attestation: %w", err)
	}
	oci, err := store.NewOCI([]string{res.Destination}, store.OCIOptions{Keychain: authn.DefaultKeychain, HTTPOptions: httpo})
	if err != nil {
		return nil, err
	}
	if _, err := oci.Put(ctx, b); err != nil {
		return nil, sg.redact(fmt.Errorf("the promotion attestation is signed and written to %s, but attaching it at %s failed (nothing was tagged; run the promotion again): %w", path, res.Destination, err))
	}
	fmt.Fprintf(env.log(), "paved: promotion attestation attached to %s\n", res.Destination)
	return data, nil
}

func promoteSummary(res *promote.Result, ver promote.Verification, attPath string, attSize int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Paved promote\n\n")
	from := "`" + res.Source.Reference + "`"
	if res.Source.Tag != "" {
		from += " (tag `" + res.Source.Tag + "`, resolved once)"
	}
	fmt.Fprintf(&b, "Promoted `%s`\n\n- from %s\n- to `%s`\n", res.Digest, from, res.Destination)
	fmt.Fprintf(&b, "- verified: `%s` signed by `%s` (%s), trust: %s\n", ver.PredicateType, ver.Signer, ver.Attestation, ver.TrustedRoot)
	fmt.Fprintf(&b, "- proved identical at the destination: %d manifest(s), %d referrer(s), %d blob(s) (%d bytes)\n", len(res.Manifests), len(res.Referrers), res.Blobs, res.Bytes)
	if len(res.Tagged) > 0 {
		fmt.Fprintf(&b, "- tagged after the proof: `%s`\n", strings.Join(res.Tagged, "`, `"))
	}
	fmt.Fprintf(&b, "- promotion attestation: `%s` (%d bytes), attached at the destination\n", attPath, attSize)
	return b.String()
}
