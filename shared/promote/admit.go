package promote

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/store"
	"github.com/paved-dev/paved/shared/verify"
)

// Admission is the verification a source must pass to be promoted: an
// attestation about its resolved digest, attached as an OCI referrer or
// given as a file, that verifies under the policy.
type Admission struct {
	// Bundles are attestations given as files besides the source's referrers.
	Bundles []verify.Candidate
	// Roots are the trusted roots to verify with.
	Roots []verify.Root
	// Identities are the signers the policy accepts.
	Identities []verify.Identity
	// PredicateType is the type the attestation must have.
	PredicateType string
	// CheckStatement, when set, refuses a statement that contradicts its
	// signing certificate.
	CheckStatement func(statement []byte, signer *certificate.Summary) error
	// HTTP bounds the registry requests that read the referrers.
	HTTP store.HTTPOptions
	// Keychain holds the source registry's credentials.
	Keychain authn.Keychain
}

// Admit verifies the attestations about s by its resolved digest only and
// returns the verification that admitted it; a source that none admits is a
// verification failure naming why each bundle was refused.
func (a Admission) Admit(ctx context.Context, s Source) (Verification, error) {
	oci, err := store.NewOCI([]string{s.Reference}, store.OCIOptions{Keychain: a.Keychain, HTTPOptions: a.HTTP})
	if err != nil {
		return Verification{}, err
	}
	docs, err := oci.Fetch(ctx, s.Digest)
	if err != nil {
		return Verification{}, fmt.Errorf("reading the attestations attached to %s: %w", s.Reference, err)
	}
	cands := append([]verify.Candidate(nil), a.Bundles...)
	for i, d := range docs {
		c, err := verify.ParseBundles(d, fmt.Sprintf("referrer #%d of %s", i+1, s.Reference))
		if err != nil {
			return Verification{}, err
		}
		cands = append(cands, c...)
	}
	art, err := verify.ParseDigest(s.Digest)
	if err != nil {
		return Verification{}, err
	}
	oc := verify.All(ctx, a.Roots, []verify.Target{{Name: s.Reference, Artifact: art}}, cands, a.Identities, verify.Options{PredicateType: a.PredicateType, CheckStatement: a.CheckStatement}, 0)[0]
	if !oc.Verified {
		return Verification{}, fail.Verificationf("refusing to promote %s: no attestation of type %s verifies under the policy (%d found attached or given): %s",
			s.Reference, a.PredicateType, len(cands), oc.FailureReasons())
	}
	return VerificationOf(oc, a.Identities), nil
}

// VerificationOf records the verification of a verified outcome under the
// identities ids, for the promotion predicate.
func VerificationOf(oc verify.Outcome, ids []verify.Identity) Verification {
	out := Verification{PredicateType: oc.Result.PredicateType, Attestation: oc.Candidate.Source, TrustedRoot: oc.Root}
	for _, id := range ids {
		out.Policy = append(out.Policy, id.String())
	}
	if sg := oc.Result.Signer; sg != nil {
		out.Signer, out.Issuer = sg.SubjectAlternativeName, sg.Extensions.Issuer
		out.SourceRepository, out.SourceRef = sg.Extensions.SourceRepositoryURI, sg.Extensions.SourceRepositoryRef
	}
	return out
}
