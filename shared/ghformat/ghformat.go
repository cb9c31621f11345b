// Package ghformat prints what the gh CLI prints, for scripts written against
// it: gh attestation verify's --format json document, and the --jq and
// --template filters gh offers over any JSON output. Both filters are parsed
// before anything runs, so a typo is a usage error, and both are bounded, so a
// hostile or careless expression cannot print without end.
package ghformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/paved-dev/paved/shared/verify"
)

// MaxOutput bounds what a --jq expression or a --template may print.
const MaxOutput = 64 << 20

var errTooMuchOutput = errors.New("output too large")

// attestation is one entry of gh attestation verify --format json: the
// bundle that verified and sigstore-go's parsed result of verifying it.
type attestation struct {
	Attestation struct {
		Bundle    json.RawMessage `json:"bundle"`
		BundleURL string          `json:"bundle_url"`
		Initiator string          `json:"initiator"`
	} `json:"attestation"`
	VerificationResult *sgverify.VerificationResult `json:"verificationResult"`
}

// Attestations renders verified outcomes as gh attestation verify --format
// json does: an array with one {attestation, verificationResult} per
// attestation that verified, every one of them for each artifact (outcomes of
// verify.All with Options.Every). Outcomes that did not verify are left out.
func Attestations(outcomes []verify.Outcome) ([]byte, error) {
	out := []attestation{}
	for _, oc := range outcomes {
		if !oc.Verified {
			continue
		}
		for _, vr := range append([]verify.Verification{{Result: oc.Result, Candidate: oc.Candidate, Root: oc.Root}}, oc.More...) {
			if vr.Result == nil || vr.Result.Raw == nil || vr.Candidate == nil {
				continue
			}
			var a attestation
			var compact bytes.Buffer
			if err := json.Compact(&compact, vr.Candidate.JSON); err != nil {
				return nil, fmt.Errorf("rendering gh-json: %w", err)
			}
			a.Attestation.Bundle = compact.Bytes()
			a.VerificationResult = vr.Result.Raw
			out = append(out, a)
		}
	}
	doc, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("rendering gh-json: %w", err)
	}
	return append(doc, '\n'), nil
}

// decode reads a JSON document with numbers kept exact (json.Number).
func decode(doc []byte) (any, error) {
	var in any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	err := dec.Decode(&in)
	return in, err
}
