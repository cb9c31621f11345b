package attest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/paved-dev/paved/shared/attest"
	"github.com/paved-dev/paved/shared/subject"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/verify"
)

const (
	testIdentity = "ci@example.com"
	testIssuer   = "https://issuer.example"
)

// instance is an in-memory Sigstore instance: a certificate authority and a
// timestamp authority behind httptest servers that speak Fulcio's v2
// signingCert API and RFC 3161, built from sigstore-go's testing CA helpers.
type instance struct {
	material *trust.Material
	token    string
	// certs counts the certificates Fulcio issued.
	certs atomic.Int32
}

// publicOnly lets the CA helper certify a key whose private half it never sees.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("not a signing key")
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	fulcioCert, fulcioKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	tsaInter, tsaInterKey, err := ca.GenerateTSAIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tsaLeaf, err := ca.GenerateTSALeafCert(time.Now().Add(-5*time.Minute), tsaKey, tsaInter, tsaInterKey)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{token: unsignedToken(t, testIdentity, testIssuer)}

	fulcio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" || r.Header.Get("Authorization") != "Bearer "+in.token {
			http.Error(w, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			PublicKeyRequest struct {
				PublicKey struct {
					Content string `json:"content"`
				} `json:"publicKey"`
			} `json:"publicKeyRequest"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
		if block == nil {
			http.Error(w, "no public key", http.StatusBadRequest)
			return
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		leaf, err := ca.GenerateLeafCert(testIdentity, testIssuer, time.Now().Add(-time.Minute), publicOnly{pub}, fulcioCert, fulcioKey)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		in.certs.Add(1)
		var chain []string
		for _, c := range []*x509.Certificate{leaf, fulcioCert, rootCert} {
			chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
		}
		resp := map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(fulcio.Close)

	tsa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ts := timestamp.Timestamp{
			HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(),
			Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		}
		resp, err := ts.CreateResponseWithOpts(tsaLeaf, tsaKey, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(tsa.Close)

	start, end := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{fulcioCert}, ValidityPeriodStart: start, ValidityPeriodEnd: end, URI: fulcio.URL}},
		nil,
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{Root: rootCert, Intermediates: []*x509.Certificate{tsaInter}, Leaf: tsaLeaf, ValidityPeriodStart: start, ValidityPeriodEnd: end, URI: tsa.URL}},
		nil)
	if err != nil {
		t.Fatal(err)
	}
	any1 := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: fulcio.URL, MajorAPIVersion: 1, ValidityPeriodStart: start}}, nil,
		nil, any1,
		[]root.Service{{URL: tsa.URL + "/api/v1/timestamp", MajorAPIVersion: 1, ValidityPeriodStart: start}}, any1)
	if err != nil {
		t.Fatal(err)
	}
	in.material = &trust.Material{Root: tr, Signing: sc, Source: "in-memory test instance"}
	return in
}

// unsignedToken is an identity token as sigstore-go's Fulcio client reads it
// (it takes the subject from the unverified payload; Fulcio checks the rest).
func unsignedToken(t *testing.T, email, issuer string) string {
	t.Helper()
	payload, err := json.Marshal(map[string]any{"iss": issuer, "sub": email, "email": email, "email_verified": true, "aud": "sigstore"})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(payload) + "." + enc([]byte("sig"))
}

func digestOf(b []byte) (string, verify.Artifact) {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), verify.Artifact{Algorithm: "sha256", Digest: sum[:]}
}

func signStatement(t *testing.T, in *instance, artifact []byte) (*bundle.Bundle, []byte) {
	t.Helper()
	ctx := context.Background()
	s, err := attest.NewSigner(ctx, in.material, in.token, attest.Options{})
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	if s.Identity() != testIdentity || s.Extensions().Issuer != testIssuer {
		t.Fatalf("signer %q from %q, want %q from %q", s.Identity(), s.Extensions().Issuer, testIdentity, testIssuer)
	}
	hexSum, _ := digestOf(artifact)
	st, err := attest.Statement([]subject.Subject{{Name: "app", Digest: map[string]string{"sha256": hexSum}}}, "https://example.com/p/v1", []byte(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SignStatement(ctx, st)
	if err != nil {
		t.Fatalf("SignStatement: %v", err)
	}
	data, err := attest.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, data
}

func reparse(t *testing.T, data []byte) *bundle.Bundle {
	t.Helper()
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatalf("the bundle does not parse: %v", err)
	}
	return &b
}

var ids = []verify.Identity{{SAN: testIdentity, Issuer: testIssuer}}

// TestSignedBundleVerifies signs in process, without the local Sigstore
// process stack, and verifies the bundle as a verifier would: from its JSON,
// against the trusted root, the identity and the artifact digest.
func TestSignedBundleVerifies(t *testing.T) {
	in := newInstance(t)
	artifact := []byte("release bytes\n")
	_, data := signStatement(t, in, artifact)
	_, art := digestOf(artifact)
	res, err := verify.Bundle(in.material.Root, reparse(t, data), art, ids, verify.Options{PredicateType: "https://example.com/p/v1"})
	if err != nil {
		t.Fatalf("the signed bundle does not verify: %v", err)
	}
	if res.PredicateType != "https://example.com/p/v1" {
		t.Fatalf("verified predicate type %q", res.PredicateType)
	}
	if in.certs.Load() != 1 {
		t.Fatalf("Fulcio issued %d certificates, want 1", in.certs.Load())
	}
}

// TestTamperedBundleFails: a bundle whose statement, signature or subject was
// changed after signing, or checked against another identity or artifact,
// does not verify.
func TestTamperedBundleFails(t *testing.T) {
	in := newInstance(t)
	artifact := []byte("release bytes\n")
	_, data := signStatement(t, in, artifact)
	_, art := digestOf(artifact)
	_, otherArt := digestOf([]byte("other bytes\n"))

	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	env := doc["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sig := env["signatures"].([]any)[0].(map[string]any)
	rawSig, err := base64.StdEncoding.DecodeString(sig["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(env, sig map[string]any)) []byte {
		var d map[string]any
		_ = json.Unmarshal(data, &d)
		e := d["dsseEnvelope"].(map[string]any)
		f(e, e["signatures"].([]any)[0].(map[string]any))
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	flipped := append([]byte(nil), rawSig...)
	flipped[len(flipped)/2] ^= 1
	opts := verify.Options{PredicateType: "https://example.com/p/v1"}
	// The control: untouched, the same checks pass, so each refusal below is
	// the tampering's doing.
	if _, err := verify.Bundle(in.material.Root, reparse(t, data), art, ids, opts); err != nil {
		t.Fatalf("the untouched bundle does not verify: %v", err)
	}
	for _, tc := range []struct {
		name   string
		bundle []byte
		art    verify.Artifact
		ids    []verify.Identity
	}{
		{"statement edited", edit(func(e, _ map[string]any) {
			changed := strings.Replace(string(payload), `"ok":true`, `"ok":false`, 1)
			if changed == string(payload) {
				t.Fatalf("the statement %s has no predicate to edit", payload)
			}
			e["payload"] = base64.StdEncoding.EncodeToString([]byte(changed))
		}), art, ids},
		{"signature flipped", edit(func(_, s map[string]any) { s["sig"] = base64.StdEncoding.EncodeToString(flipped) }), art, ids},
		{"another artifact", data, otherArt, ids},
		{"another identity", data, art, []verify.Identity{{SAN: "attacker@example.com", Issuer: testIssuer}}},
		{"another issuer", data, art, []verify.Identity{{SAN: testIdentity, Issuer: "https://evil.example"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bundle.Bundle
			if err := b.UnmarshalJSON(tc.bundle); err != nil {
				return // refused while parsing: not verified either
			}
			if _, err := verify.Bundle(in.material.Root, &b, tc.art, tc.ids, opts); err == nil {
				t.Fatal("the tampered bundle verified")
			}
		})
	}
}

// TestSignerRefusesForeignTrustedRoot: a signing config of one instance
// with the trusted root of another yields bundles nobody can verify; the
// self-check refuses to hand one back.
func TestSignerRefusesForeignTrustedRoot(t *testing.T) {
	in, other := newInstance(t), newInstance(t)
	mixed := &trust.Material{Root: other.material.Root, Signing: in.material.Signing}
	s, err := attest.NewSigner(context.Background(), mixed, in.token, attest.Options{})
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	hexSum, _ := digestOf([]byte("x"))
	st, err := attest.Statement([]subject.Subject{{Name: "x", Digest: map[string]string{"sha256": hexSum}}}, "https://example.com/p/v1", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SignStatement(context.Background(), st)
	if err == nil || b != nil || !strings.Contains(err.Error(), "same Sigstore instance") {
		t.Fatalf("SignStatement with a foreign root = %v, %v; want a refusal naming the mismatch", b, err)
	}
}

// TestNewSignerRefusesTokenFulcioRejects: a token Fulcio refuses is a
// configuration error that names the audience to check, and no certificate
// is issued.
func TestNewSignerRefusesTokenFulcioRejects(t *testing.T) {
	in := newInstance(t)
	_, err := attest.NewSigner(context.Background(), in.material, unsignedToken(t, "other@example.com", testIssuer), attest.Options{})
	if err == nil || !strings.Contains(err.Error(), "refused the identity token") {
		t.Fatalf("NewSigner with a refused token = %v", err)
	}
	if in.certs.Load() != 0 {
		t.Fatalf("Fulcio issued %d certificates", in.certs.Load())
	}
}
