// Package verify checks Sigstore bundles offline against trust material, an
// artifact and an identity policy. Fetching bundles is someone else's job: this
// package never touches the network.
package verify

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/subject"
)

// Identity is who must have signed. Exactly one of SAN / SANRegex and one of
// Issuer / IssuerRegex are required for keyless bundles; Extensions narrows the
// accepted certificates further (zero fields are not checked).
type Identity struct {
	SAN         string
	SANRegex    string
	Issuer      string
	IssuerRegex string
	Extensions  certificate.Extensions
}

func (id Identity) String() string {
	san := id.SAN
	if san == "" {
		san = "~" + id.SANRegex
	}
	iss := id.Issuer
	if iss == "" {
		iss = "~" + id.IssuerRegex
	}
	extra := ""
	for _, kv := range [][2]string{
		{"source repository", id.Extensions.SourceRepositoryURI},
		{"owner", id.Extensions.SourceRepositoryOwnerURI},
		{"source ref", id.Extensions.SourceRepositoryRef},
		{"source digest", id.Extensions.SourceRepositoryDigest},
		{"signer digest", id.Extensions.BuildSignerDigest},
		{"build config", id.Extensions.BuildConfigURI},
		{"runner", id.Extensions.RunnerEnvironment},
	} {
		if kv[1] != "" {
			extra += ", " + kv[0] + " " + kv[1]
		}
	}
	return san + " (issuer " + iss + extra + ")"
}

// Artifact is what the bundle must be about: a digest, or content to digest.
type Artifact struct {
	// Algorithm ("sha256", "sha512"...) and Digest (raw bytes) of the artifact.
	Algorithm string
	Digest    []byte
}

// String renders the digest as ALGORITHM:HEX.
func (a Artifact) String() string { return a.Algorithm + ":" + hex.EncodeToString(a.Digest) }

// ParseDigest parses "sha256:<hex>" (also sha384, sha512).
func ParseDigest(s string) (Artifact, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Artifact{}, fail.Configf("artifact digest %q: want ALGORITHM:HEX such as sha256:<64 hex digits>", s)
	}
	want := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[alg]
	d, err := hex.DecodeString(h)
	if want == 0 || err != nil || len(h) != want {
		return Artifact{}, fail.Configf("artifact digest %q: want sha256, sha384 or sha512 followed by ':' and the hex digest", s)
	}
	return Artifact{Algorithm: alg, Digest: d}, nil
}

// Options tune verification. The zero value means defaults.
type Options struct {
	// Key verifies a bundle signed with this public key instead of a certificate.
	Key crypto.PublicKey
	// PredicateType, when set, is the predicate type the bundle's in-toto
	// statement must have; bundles without a statement are then refused.
	PredicateType string
	// Now is the clock for messages (default time.Now).
	Now func() time.Time
	// CheckStatement, when set, is called with the statement of a bundle that
	// verified and its signing certificate (nil for a key); an error refuses
	// the bundle. paved verify refuses provenance that contradicts the
	// certificate through it.
	CheckStatement func(statement []byte, signer *certificate.Summary) error
	// MaxCandidates bounds the bundles All tries per artifact
	// (default DefaultMaxCandidates); the rest are reported, not tried.
	MaxCandidates int
	// MaxFailures bounds the failures All lists per artifact
	// (default DefaultMaxFailures); the rest are counted.
	MaxFailures int
	// Every makes All try each candidate bundle of an artifact after one has
	// verified it, and list the others that verify in Outcome.More, as gh
	// attestation verify lists every attestation that verifies (default:
	// stop at the first).
	Every bool
}

func (o Options) maxCandidates() int { return cmp.Or(max(o.MaxCandidates, 0), DefaultMaxCandidates) }

func (o Options) maxFailures() int { return cmp.Or(max(o.MaxFailures, 0), DefaultMaxFailures) }

// Result is what was verified.
type Result struct {
	// Statement is the in-toto statement when the bundle holds a DSSE envelope.
	Statement []byte
	// PredicateType of that statement, if any.
	PredicateType string
	// Signer is the certificate summary of a keyless signature.
	Signer *certificate.Summary
	// Raw is sigstore-go's verification result.
	Raw *sgverify.VerificationResult
}

// Config returns the verifier options the trust material and bundle call for:
// signed timestamps when the root has TSAs and the bundle carries them, the log
// when the root has logs (with integrated time for bundles that promise it), and
// certificate transparency when the root has CT logs.
func Config(tm root.TrustedMaterial, b *bundle.Bundle, keyed bool) ([]sgverify.VerifierOption, error) {
	var opts []sgverify.VerifierOption
	if !keyed && len(tm.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	ts, err := b.Timestamps()
	if err != nil {
		return nil, err
	}
	if len(tm.TimestampingAuthorities()) > 0 && len(ts) > 0 {
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	}
	if len(tm.RekorLogs()) > 0 {
		opts = append(opts, sgverify.WithTransparencyLog(1))
		if b.HasInclusionPromise() {
			opts = append(opts, sgverify.WithIntegratedTimestamps(1))
		}
	}
	if keyed && len(opts) == 0 {
		opts = append(opts, sgverify.WithCurrentTime())
	}
	return opts, nil
}

// Bundle verifies b: signature, certificate chain, timestamps, log inclusion,
// artifact, predicate type and identity (any one of ids must match). Errors are
// fail.Verification errors that say what did not match.
func Bundle(tm root.TrustedMaterial, b *bundle.Bundle, art Artifact, ids []Identity, o Options) (*Result, error) {
	if len(art.Digest) == 0 {
		return nil, fail.Configf("no artifact digest to verify against: name the artifact file or its digest")
	}
	keyed := o.Key != nil
	if keyed {
		v, err := signature.LoadDefaultVerifier(o.Key)
		if err != nil {
			return nil, fail.Configf("loading public key: %w", err)
		}
		km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
		})
		tm = root.TrustedMaterialCollection{km, tm}
	}
	cfg, err := Config(tm, b, keyed)
	if err != nil {
		return nil, fail.Verificationf("reading bundle timestamps: %w", err)
	}
	v, err := sgverify.NewVerifier(tm, cfg...)
	if err != nil {
		return nil, fail.Verificationf("bundle cannot be verified with this trusted root: %w", err)
	}
	var policy []sgverify.PolicyOption
	if keyed {
		policy = append(policy, sgverify.WithKey())
	} else {
		if len(ids) == 0 {
			return nil, fail.Configf("an identity is required: give the certificate identity (or a regex) and the OIDC issuer that must have signed")
		}
		for _, id := range ids {
			ci, err := id.certificateIdentity()
			if err != nil {
				return nil, err
			}
			policy = append(policy, sgverify.WithCertificateIdentity(ci))
		}
	}
	if o.PredicateType != "" {
		env := b.GetDsseEnvelope()
		if env == nil {
			return nil, fail.Verificationf("the bundle holds no in-toto statement, want predicate type %s", o.PredicateType)
		}
		var st struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(env.GetPayload(), &st); err != nil || st.PredicateType != o.PredicateType {
			return nil, fail.Verificationf("predicate type is %q, want %q", st.PredicateType, o.PredicateType)
		}
	}
	res, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(art.Algorithm, art.Digest), policy...))
	if err != nil {
		if d := diagnose(tm, b); d != "" {
			return nil, fail.Verificationf("%s: %s", d, explain(err, ids))
		}
		return nil, fail.Verificationf("%s", explain(err, ids))
	}
	if err := checkLogBodies(b); err != nil {
		return nil, fail.Verificationf("%w", err)
	}
	out := &Result{Raw: res}
	if res.Statement != nil {
		out.PredicateType = res.Statement.GetPredicateType()
	}
	if res.Signature != nil && res.Signature.Certificate != nil {
		out.Signer = res.Signature.Certificate
	}
	if env := b.GetDsseEnvelope(); env != nil {
		out.Statement = env.GetPayload()
	}
	if o.CheckStatement != nil && out.Statement != nil {
		if err := o.CheckStatement(out.Statement, out.Signer); err != nil {
			return nil, fail.Verificationf("%w", err)
		}
	}
	return out, nil
}

// certificateIdentity converts id into sigstore-go's form.
func (id Identity) certificateIdentity() (sgverify.CertificateIdentity, error) {
	if (id.SAN == "" && id.SANRegex == "") || (id.Issuer == "" && id.IssuerRegex == "") {
		return sgverify.CertificateIdentity{}, fail.Configf("an identity needs a certificate identity (or a regex) and the OIDC issuer that must have signed")
	}
	san, err := sgverify.NewSANMatcher(id.SAN, id.SANRegex)
	if err != nil {
		return sgverify.CertificateIdentity{}, fail.Configf("certificate identity regex: %w", err)
	}
	iss, err := sgverify.NewIssuerMatcher(id.Issuer, id.IssuerRegex)
	if err != nil {
		return sgverify.CertificateIdentity{}, fail.Configf("issuer regex: %w", err)
	}
	ci, err := sgverify.NewCertificateIdentity(san, iss, id.Extensions)
	if err != nil {
		return sgverify.CertificateIdentity{}, fail.Configf("identity policy: %w", err)
	}
	return ci, nil
}

// explain rewords sigstore-go's errors where a user needs expected vs found.
func explain(err error, ids []Identity) string {
	var none *sgverify.ErrNoMatchingCertificateIdentity
	if errors.As(err, &none) {
		want := make([]string, len(ids))
		for i, id := range ids {
			want[i] = id.String()
		}
		return fmt.Sprintf("the signer is not an expected identity (%s): %v", strings.Join(want, "; or "), err)
	}
	return err.Error()
}

// FileDigest streams a file through SHA-256.
func FileDigest(ctx context.Context, path string) (Artifact, error) {
	h, err := subject.File(ctx, nil, path, nil)
	if err != nil {
		return Artifact{}, err
	}
	d, _ := hex.DecodeString(h)
	return Artifact{Algorithm: "sha256", Digest: d}, nil
}

// FileDigests streams a file once through SHA-256 and SHA-512.
func FileDigests(ctx context.Context, path string) (sha256Art, sha512Art Artifact, err error) {
	arts, err := FileDigestsOf(ctx, path, []string{"sha256", "sha512"})
	if err != nil {
		return Artifact{}, Artifact{}, err
	}
	return arts[0], arts[1], nil
}

// hashes are the digest algorithms Paved computes for artifacts.
var hashes = map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}

// FileDigestsOf streams a file once through each of algs (sha256, sha384,
// sha512; others are ignored), in that order of algs.
func FileDigestsOf(ctx context.Context, path string, algs []string) ([]Artifact, error) {
	// Never blocking on a FIFO or device: only a regular file is read.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fail.Configf("artifact: %w", fail.PathCause(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fail.Configf("artifact %s is not a regular file: name a file", path)
	}
	return ReaderDigestsOf(ctx, f, path, algs)
}

// ReaderDigestsOf streams r once through each of algs, as FileDigestsOf does;
// name is for errors.
func ReaderDigestsOf(ctx context.Context, r io.Reader, name string, algs []string) ([]Artifact, error) {
	var names []string
	var hs []hash.Hash
	var ws []io.Writer
	seen := map[string]bool{}
	for _, a := range algs {
		if mk := hashes[a]; mk != nil && !seen[a] {
			seen[a] = true
			h := mk()
			names, hs, ws = append(names, a), append(hs, h), append(ws, h)
		}
	}
	if len(hs) == 0 {
		return nil, fail.Configf("no supported digest algorithm among %v: want sha256, sha384 or sha512", algs)
	}
	w := io.MultiWriter(ws...)
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, rerr := r.Read(buf)
		w.Write(buf[:n])
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fail.Configf("reading artifact %s: %w", name, rerr)
		}
	}
	out := make([]Artifact, len(hs))
	for i, h := range hs {
		out[i] = Artifact{Algorithm: names[i], Digest: h.Sum(nil)}
	}
	return out, nil
}

// BundleArtifact digests the file at path in every algorithm the bundle's
// subjects (or message digest) use and returns the digest the bundle names;
// when it names none of them, the SHA-256 digest, so verification reports the
// mismatch. npm provenance, for one, names packages by SHA-512 only.
func BundleArtifact(ctx context.Context, path string, b *bundle.Bundle) (Artifact, error) {
	names := digestsOf(b)
	algs := []string{"sha256"}
	for _, d := range names {
		alg, _, _ := strings.Cut(d, ":")
		algs = append(algs, alg)
	}
	arts, err := FileDigestsOf(ctx, path, algs)
	if err != nil {
		return Artifact{}, err
	}
	for _, a := range arts {
		for _, d := range names {
			if d == a.String() {
				return a, nil
			}
		}
	}
	return arts[0], nil
}
