package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"time"
)

// VSAPredicateType is the SLSA Verification Summary Attestation predicate type.
const VSAPredicateType = "https://slsa.dev/verification_summary/v1"

// VerifierID names Paved's policy gate as the verifier in a VSA.
const VerifierID = "https://github.com/paved-dev/paved/policy"

// VSA is a SLSA Verification Summary (v1) of one policy evaluation: the
// policy by digest, the SBOM as the input evaluated, and the verdict, with
// Paved's counts of what it found.
type VSA struct {
	Verifier           VSAVerifier `json:"verifier"`
	TimeVerified       string      `json:"timeVerified"`
	ResourceURI        string      `json:"resourceUri"`
	Policy             VSARef      `json:"policy"`
	InputAttestations  []VSARef    `json:"inputAttestations"`
	VerificationResult string      `json:"verificationResult"`
	VerifiedLevels     []string    `json:"verifiedLevels"`
	Paved              VSAFindings `json:"paved"`
}

// VSAVerifier names the verifier and its version.
type VSAVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version"`
}

// VSARef is a resource by URI and digest.
type VSARef struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// VSAFindings are the counts behind the verdict.
type VSAFindings struct {
	SBOMFormat string `json:"sbomFormat"`
	Components int    `json:"components"`
	Denied     int    `json:"denied"`
	Warnings   int    `json:"warnings"`
	Excused    int    `json:"excused"`
}

// NewVSA summarises rep, the evaluation of the SBOM sbomRaw (read from
// sbomPath) under pol, about resource, with verdict PASSED or FAILED, as
// verified by Paved version at now.
func NewVSA(rep *Report, pol *Policy, verdict, resource, sbomPath string, sbomRaw []byte, version string, now time.Time) VSA {
	sum := sha256.Sum256(sbomRaw)
	levels := []string{"PAVED_DEPENDENCY_POLICY"}
	if verdict != "PASSED" {
		levels = []string{"FAILED"}
	}
	return VSA{
		Verifier:           VSAVerifier{ID: VerifierID, Version: map[string]string{"paved": version}},
		TimeVerified:       now.UTC().Format(time.RFC3339),
		ResourceURI:        resource,
		Policy:             VSARef{URI: filepath.Base(pol.Name), Digest: map[string]string{"sha256": pol.Digest}},
		InputAttestations:  []VSARef{{URI: filepath.Base(sbomPath), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		VerificationResult: verdict,
		VerifiedLevels:     levels,
		Paved: VSAFindings{
			SBOMFormat: rep.SBOMFormat, Components: rep.Components,
			Denied: rep.Count(Deny), Warnings: rep.Count(Warn), Excused: rep.Count(Excused),
		},
	}
}
