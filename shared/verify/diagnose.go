package verify

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// checkLogBodies refuses a bundle whose Rekor v2 log entries describe other
// content than the bundle carries. sigstore-go recomputes a v2 entry from the
// bundle and ignores canonicalizedBody, so an altered body would otherwise go
// unnoticed; a bundle must not say two different things.
func checkLogBodies(b *bundle.Bundle) error {
	vm := b.GetVerificationMaterial()
	for i, e := range vm.GetTlogEntries() {
		// Rekor v2 logs hashedrekord 0.0.2 entries (Rekor v1's hashedrekord is
		// 0.0.1, and v1 bodies are compared by sigstore-go itself).
		if e.GetKindVersion().GetKind() != "hashedrekord" || e.GetKindVersion().GetVersion() != "0.0.2" || len(e.GetCanonicalizedBody()) == 0 {
			continue
		}
		var entry rekorpb.Entry
		if err := protojson.Unmarshal(e.GetCanonicalizedBody(), &entry); err != nil {
			return fmt.Errorf("transparency log entry %d: its body is not a Rekor v2 entry: %w", i, err)
		}
		hr := entry.GetSpec().GetHashedRekordV002()
		if hr == nil {
			return fmt.Errorf("transparency log entry %d claims to be a hashedrekord but its body is not one", i)
		}
		var sig, digest []byte
		switch {
		case b.GetDsseEnvelope() != nil:
			env := b.GetDsseEnvelope()
			if len(env.GetSignatures()) > 0 {
				sig = env.GetSignatures()[0].GetSig()
			}
			sum := sha256.Sum256(ssldsse.PAE(env.GetPayloadType(), env.GetPayload()))
			digest = sum[:]
		case b.GetMessageSignature() != nil:
			sig = b.GetMessageSignature().GetSignature()
			digest = b.GetMessageSignature().GetMessageDigest().GetDigest()
		}
		if !bytes.Equal(hr.GetSignature().GetContent(), sig) {
			return fmt.Errorf("transparency log entry %d records another signature than the bundle's (the log entry or the signature was altered)", i)
		}
		if len(hr.GetData().GetDigest()) == sha256.Size && len(digest) == sha256.Size && !bytes.Equal(hr.GetData().GetDigest(), digest) {
			return fmt.Errorf("transparency log entry %d records another digest than the bundle's content (the log entry or the payload was altered)", i)
		}
		if cert := vm.GetCertificate(); cert != nil {
			if logged := hr.GetSignature().GetVerifier().GetX509Certificate().GetRawBytes(); logged != nil && !bytes.Equal(logged, cert.GetRawBytes()) {
				return fmt.Errorf("transparency log entry %d records another certificate than the bundle's (the log entry or the certificate was altered)", i)
			}
		}
	}
	return nil
}

// diagnose names the altered part of a bundle that failed verification, by
// checking the parts one at a time: the signature over the content, then the
// certificate chain.
func diagnose(tm root.TrustedMaterial, b *bundle.Bundle) string {
	sc, err := b.SignatureContent()
	if err != nil {
		return ""
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return ""
	}
	if sc.EnvelopeContent() != nil {
		if err := sgverify.VerifySignature(sc, vc, tm); err != nil {
			return "the signature does not match the signed statement (the payload, its subjects or the signature were altered)"
		}
	}
	if cert := vc.Certificate(); cert != nil {
		if _, err := sgverify.VerifyLeafCertificate(cert.NotBefore, cert, tm); err != nil {
			return "the certificate does not chain to a trusted Fulcio certificate authority (it was altered, or comes from another Sigstore instance)"
		}
	}
	return ""
}
