package promote

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/provenance"
)

// PredicateType is the predicate type of a promotion attestation; the format is
// documented in docs/predicates/promotion-v1.md.
const PredicateType = "https://github.com/paved-dev/paved/blob/main/docs/predicates/promotion-v1.md"

// Predicate records one promotion: what moved, from where to where, for which
// environment, by which CI run, and which verification admitted it.
type Predicate struct {
	From        string            `json:"from"`
	FromTag     string            `json:"fromTag,omitempty"`
	To          string            `json:"to"`
	Tags        []string          `json:"tags,omitempty"`
	Digest      map[string]string `json:"digest"`
	MediaType   string            `json:"mediaType"`
	Environment string            `json:"environment,omitempty"`
	Manifests   []string          `json:"manifests"`
	Referrers   []Referrer        `json:"referrers"`
	Blobs       int               `json:"blobs"`
	Bytes       int64             `json:"bytes"`
	Run         Run               `json:"run"`
	Verified    Verification      `json:"verification"`
	PromotedAt  string            `json:"promotedAt"`
}

// Run is the CI run that promoted, as its signing certificate attests (the
// Fulcio certificate extensions), so that no platform vocabulary is needed.
type Run struct {
	// Signer is the certificate's identity.
	Signer string `json:"signer"`
	provenance.SignerClaims
}

// Verification is the check of the source's attestations that admitted it.
type Verification struct {
	// PredicateType the verified attestation had.
	PredicateType string `json:"predicateType"`
	// Policy lists the accepted signers, as the gate printed them.
	Policy []string `json:"policy"`
	// Signer and Issuer of the verified attestation.
	Signer string `json:"signer"`
	Issuer string `json:"issuer"`
	// SourceRepository and SourceRef the verified attestation's certificate names.
	SourceRepository string `json:"sourceRepository,omitempty"`
	SourceRef        string `json:"sourceRef,omitempty"`
	// Attestation says where the verified bundle came from (a referrer digest or a file).
	Attestation string `json:"attestation"`
	// TrustedRoot names the trust material that verified it.
	TrustedRoot string `json:"trustedRoot"`
}

// NewPredicate builds the predicate of a proved promotion.
func NewPredicate(res *Result, environment string, run Run, v Verification, now time.Time) ([]byte, error) {
	p := Predicate{
		From: res.Source.Reference, To: res.Destination, Tags: res.Tags,
		Digest:    map[string]string{"sha256": strings.TrimPrefix(res.Digest, "sha256:")},
		MediaType: res.Source.MediaType, Environment: environment,
		Manifests: res.Manifests, Referrers: res.Referrers, Blobs: res.Blobs, Bytes: res.Bytes,
		Run: run, Verified: v, PromotedAt: now.UTC().Format(time.RFC3339),
	}
	if res.Source.Tag != "" {
		p.FromTag = res.Source.Repository + ":" + res.Source.Tag
	}
	if p.Referrers == nil {
		p.Referrers = []Referrer{}
	}
	return json.Marshal(p)
}

// FileMediaType is the media type a file promotion records.
const FileMediaType = "application/octet-stream"

// NewFilePredicate builds the predicate of a proved file promotion: from is
// the file as the job had it, to where the destination serves it; the file is
// one blob of size bytes.
func NewFilePredicate(from, to, digest string, size int64, environment string, run Run, v Verification, now time.Time) ([]byte, error) {
	return json.Marshal(Predicate{
		From: from, To: to,
		Digest:    map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")},
		MediaType: FileMediaType, Environment: environment,
		Manifests: []string{}, Referrers: []Referrer{}, Blobs: 1, Bytes: size,
		Run: run, Verified: v, PromotedAt: now.UTC().Format(time.RFC3339),
	})
}
