// Package attest signs in-toto statements (and plain blobs) keylessly through
// sigstore-go: an ephemeral key, one certificate per signer, DSSE, timestamps and
// transparency log entries as the signing config asks, and a self-check of every
// bundle before it is handed back.
package attest

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	ita "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/origin"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/verify"
)

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Statement returns an in-toto Statement v1 as JSON for the subjects, with the
// predicate given as a JSON object.
func Statement(subjects []subject.Subject, predicateType string, predicate []byte) ([]byte, error) {
	if len(subjects) == 0 {
		return nil, fail.Configf("a statement needs at least one subject")
	}
	if predicateType == "" {
		return nil, fail.Configf("a statement needs a predicate type (a URI such as https://slsa.dev/provenance/v1)")
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(predicate, pred); err != nil {
		return nil, fail.Configf("predicate is not a JSON object: %w", err)
	}
	st := &ita.Statement{
		Type:          ita.StatementTypeUri,
		PredicateType: predicateType,
		Predicate:     pred,
	}
	for _, s := range subjects {
		st.Subject = append(st.Subject, &ita.ResourceDescriptor{Name: s.Name, Digest: s.Digest})
	}
	if err := st.Validate(); err != nil {
		return nil, fail.Configf("invalid in-toto statement: %w", err)
	}
	return protojson.Marshal(st)
}

// Options configure a Signer. The zero value means defaults.
type Options struct {
	// Transport sends requests to Fulcio and the timestamp authorities
	// (default: http.DefaultTransport). Retries are added on top of it.
	Transport http.RoundTripper
	// Retry bounds retries of every service call (default: retry defaults).
	Retry retry.Options
	// Now is the clock used to select services (default time.Now).
	Now func() time.Time
}

// Signer signs with one ephemeral key and one Fulcio certificate.
type Signer struct {
	keypair *sign.EphemeralKeypair
	certDER []byte
	cert    *x509.Certificate
	ext     certificate.Extensions
	san     string
	opts    sign.BundleOptions
	root    root.TrustedMaterial
	tlogs   []sign.Transparency
	retry   retry.Options
}

// NewSigner creates an ephemeral key and obtains its certificate from the
// Fulcio instance the signing config names, using the identity token.
func NewSigner(ctx context.Context, m *trust.Material, idToken string, o Options) (*Signer, error) {
	if m == nil || m.Signing == nil {
		return nil, fail.Configf("no signing config: signing needs the service URLs of a Sigstore instance")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	ro := o.Retry
	ro.Next = o.Transport
	// Fulcio gets the identity token in Authorization: never on another origin.
	transport := origin.Guard(retry.New(ro))

	sc := m.Signing
	fulcioSvc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now())
	if err != nil {
		return nil, fail.Configf("signing config names no usable Fulcio: %w", err)
	}
	var tsas []*sign.TimestampAuthority
	if len(sc.TimestampAuthorityURLs()) > 0 {
		svcs, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now())
		if err != nil {
			return nil, fail.Configf("signing config names no usable timestamp authority: %w", err)
		}
		for _, s := range svcs {
			tsas = append(tsas, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.URL, Timeout: -1, Transport: transport}))
		}
	}
	var tlogs []sign.Transparency
	if len(sc.RekorLogURLs()) > 0 {
		svcs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now())
		if err != nil {
			return nil, fail.Configf("signing config names no usable Rekor log: %w", err)
		}
		for _, s := range svcs {
			tlogs = append(tlogs, &rekor{
				inner: sign.NewRekor(&sign.RekorOptions{BaseURL: s.URL, Version: s.MajorAPIVersion, Timeout: timeoutOf(ro)}),
				url:   s.URL,
				retry: ro,
			})
		}
	}
	if len(tsas) == 0 && len(tlogs) == 0 {
		return nil, fail.Configf("signing config names neither a timestamp authority nor a transparency log: keyless signatures need at least one to prove when they were made")
	}

	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("creating ephemeral key: %w", err)
	}
	fulcio := sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcioSvc.URL, Timeout: -1, Transport: transport})
	der, err := fulcio.GetCertificate(ctx, kp, &sign.CertificateProviderOptions{IDToken: idToken})
	if err != nil {
		return nil, classifyFulcio(fulcioSvc.URL, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate from Fulcio: %w", err)
	}
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("reading certificate extensions: %w", err)
	}
	s := &Signer{
		keypair: kp, certDER: der, cert: cert, ext: summary.Extensions,
		san: summary.SubjectAlternativeName, root: m.Root, tlogs: tlogs, retry: ro,
	}
	s.opts = sign.BundleOptions{
		CertificateProvider:        fixedCert(der),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: "unused"},
		TimestampAuthorities:       tsas,
		TransparencyLogs:           tlogs,
	}
	return s, nil
}

func timeoutOf(o retry.Options) time.Duration {
	if o.PerTry > 0 {
		return o.PerTry
	}
	return 30 * time.Second
}

// Extensions are the Fulcio certificate extensions of the signing certificate:
// what the certificate authority verified about the CI run.
func (s *Signer) Extensions() certificate.Extensions { return s.ext }

// Identity is the certificate's subject alternative name.
func (s *Signer) Identity() string { return s.san }

// Certificate is the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// SignStatement signs an in-toto statement as DSSE and returns the bundle
// after verifying it against the trusted root, the signer's own identity and the
// statement's first subject.
func (s *Signer) SignStatement(ctx context.Context, statement []byte) (*bundle.Bundle, error) {
	var st ita.Statement
	if err := protojson.Unmarshal(statement, &st); err != nil || len(st.GetSubject()) == 0 {
		return nil, fail.Configf("statement is not an in-toto statement with subjects")
	}
	var art verify.Artifact
	for alg, h := range st.GetSubject()[0].GetDigest() {
		if d, err := hex.DecodeString(h); err == nil && (alg == "sha256" || alg == "sha512" || alg == "sha384") {
			art = verify.Artifact{Algorithm: alg, Digest: d}
			break
		}
	}
	return s.sign(ctx, &sign.DSSEData{Data: statement, PayloadType: InTotoPayloadType}, art)
}

// SignBlob signs an artifact's bytes as a message signature.
func (s *Signer) SignBlob(ctx context.Context, data []byte, digest []byte) (*bundle.Bundle, error) {
	return s.sign(ctx, &sign.PlainData{Data: data}, verify.Artifact{Algorithm: "sha256", Digest: digest})
}

func (s *Signer) sign(ctx context.Context, content sign.Content, art verify.Artifact) (*bundle.Bundle, error) {
	opts := s.opts
	opts.Context = ctx
	pb, err := sign.Bundle(content, s.keypair, opts)
	if err != nil {
		return nil, classifySign(err)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("assembling bundle: %w", err)
	}
	if len(art.Digest) > 0 {
		if _, err := verify.Bundle(s.root, b, art, []verify.Identity{{SAN: s.san, Issuer: s.ext.Issuer}}, verify.Options{}); err != nil {
			return nil, fmt.Errorf("the bundle just signed does not verify against the trusted root (is the trusted root from the same Sigstore instance as the signing config?): %w", err)
		}
	}
	return b, nil
}

// Marshal renders a bundle as Sigstore bundle JSON.
func Marshal(b *bundle.Bundle) ([]byte, error) {
	return protojson.Marshal(b.Bundle)
}

type fixedCert []byte

func (c fixedCert) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

// rekor retries transient failures of a transparency log upload.
type rekor struct {
	inner sign.Transparency
	url   string
	retry retry.Options
}

func (r *rekor) GetTransparencyLogEntry(ctx context.Context, keyOrCertPEM []byte, b *protobundle.Bundle) error {
	attempts := r.retry.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	delay := r.retry.BaseDelay
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	var last error
	for i := 1; i <= attempts; i++ {
		tctx, cancel := context.WithTimeout(ctx, timeoutOf(r.retry))
		err := r.inner.GetTransparencyLogEntry(tctx, keyOrCertPEM, b)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		last = err
		if !transientRekor(err) || i == attempts {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay *= 2
	}
	if transientRekor(last) {
		return fail.Transientf("uploading to the transparency log %s: gave up after %d tries: %w", r.url, attempts, last)
	}
	return fail.Configf("uploading to the transparency log %s: %w", r.url, last)
}

func transientRekor(err error) bool {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for _, s := range []string{"getting response", "unexpected response: 5", "unexpected response: 429", "unexpected response: 408", "unexpected response: 499", "connection reset", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func classifyFulcio(url string, err error) error {
	var ex *retry.ExhaustedError
	msg := err.Error()
	switch {
	case errors.As(err, &ex), errors.Is(err, context.DeadlineExceeded):
		return fail.Transientf("requesting a signing certificate from Fulcio %s: %w", url, err)
	case strings.Contains(msg, "returned 5"), strings.Contains(msg, "returned 429"):
		return fail.Transientf("requesting a signing certificate from Fulcio %s: %w", url, err)
	case strings.Contains(msg, "returned 4"):
		return fail.Configf("Fulcio %s refused the identity token: %w; check that the token's issuer is one this Fulcio trusts and that its audience is %q", url, err, "sigstore")
	default:
		return fail.Transientf("requesting a signing certificate from Fulcio %s: %w", url, err)
	}
}

func classifySign(err error) error {
	var fe *fail.Error
	if errors.As(err, &fe) {
		return err
	}
	var ex *retry.ExhaustedError
	if errors.As(err, &ex) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timestamp authority") {
		return fail.Transientf("signing: %w", err)
	}
	return fmt.Errorf("signing: %w", err)
}
