package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/itchyny/gojq"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/verify"
)

// ghAttestation is one entry of gh attestation verify --format json: the
// bundle that verified and sigstore-go's parsed result of verifying it.
type ghAttestation struct {
	Attestation struct {
		Bundle    json.RawMessage `json:"bundle"`
		BundleURL string          `json:"bundle_url"`
		Initiator string          `json:"initiator"`
	} `json:"attestation"`
	VerificationResult *sgverify.VerificationResult `json:"verificationResult"`
}

// ghJSON renders the verified outcomes as gh attestation verify --format json
// does: an array with one {attestation, verificationResult} per attestation
// that verified, every one of them for each artifact (the outcomes come from
// verify.All with Options.Every).
func ghJSON(outcomes []verify.Outcome) ([]byte, error) {
	out := []ghAttestation{}
	for _, oc := range outcomes {
		if !oc.Verified {
			continue
		}
		for _, vr := range append([]verify.Verification{{Result: oc.Result, Candidate: oc.Candidate, Root: oc.Root}}, oc.More...) {
			if vr.Result == nil || vr.Result.Raw == nil || vr.Candidate == nil {
				continue
			}
			var a ghAttestation
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

// compileJQ parses a --jq expression before anything is verified, so a typo
// is a usage error and not a failure after the network steps.
func compileJQ(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, fail.Configf("--jq %q: %w", expr, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fail.Configf("--jq %q: %w", expr, err)
	}
	return code, nil
}

// maxJQOutput bounds what a --jq expression may print (a query such as
// [range(1e9)] would otherwise grow without end).
const maxJQOutput = 64 << 20

// runJQ filters doc with code as gh's --jq prints: each result on its own
// line, strings raw, anything else as compact JSON.
func runJQ(ctx context.Context, code *gojq.Code, doc []byte) ([]byte, error) {
	var in any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("--jq: reading the output: %w", err)
	}
	in, err := normalizeJSON(in)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	iter := code.RunWithContext(ctx, in)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			if h, ok := err.(*gojq.HaltError); ok && h.Value() == nil {
				break
			}
			return nil, fail.Configf("--jq: %w", err)
		}
		if s, ok := v.(string); ok {
			out.WriteString(s)
		} else {
			b, err := gojq.Marshal(v)
			if err != nil {
				return nil, fail.Configf("--jq: %w", err)
			}
			out.Write(b)
		}
		out.WriteByte('\n')
		if out.Len() > maxJQOutput {
			return nil, fail.Configf("--jq: the expression prints more than %d MiB; narrow it", maxJQOutput>>20)
		}
	}
	return out.Bytes(), nil
}

// normalizeJSON turns json.Number into the int or float64 gojq works on.
func normalizeJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i), nil
		}
		return x.Float64()
	case []any:
		for i := range x {
			n, err := normalizeJSON(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k := range x {
			n, err := normalizeJSON(x[k])
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

// noPublicGood refuses public-good as a trusted root for --no-public-good:
// named, or implied because no root is named.
func noPublicGood(roots []string, readKit bool) error {
	if readKit {
		return nil // a kit's roots are the files in it
	}
	if len(roots) == 0 || slices.Contains(roots, publicGood) {
		return fail.Configf("--no-public-good refuses Sigstore's public-good instance, the default trusted root: name the roots to believe with --trusted-root FILE (gh: --custom-trusted-root)")
	}
	return nil
}

// maxTrustedRoots bounds a trusted root file, JSON Lines of several roots included.
const maxTrustedRoots = 16 << 20

// trustedRootLines splits the JSON Lines form of trusted roots gh attestation
// trusted-root writes (one root per line, e.g. public-good and GitHub's); a
// file with one root, indented or not, is one entry.
func trustedRootLines(path string) ([][]byte, error) {
	data, err := bounded.ReadFile(path, maxTrustedRoots)
	if err != nil {
		return nil, fail.Configf("reading trusted root: %w", err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if !json.Valid(l) {
			return [][]byte{data}, nil // one indented document
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// onlyAlgorithm keeps, for each file artifact, only its digest in alg, as
// gh's --digest-alg matches attestations by that one digest. Artifacts given
// as a digest (sha256:HEX) or an image keep the digest they were given.
func onlyAlgorithm(targets []verify.Target, alg string) {
	for i, t := range targets {
		if len(t.Alternates) == 0 && t.Artifact.Algorithm != alg {
			continue
		}
		for _, a := range append([]verify.Artifact{t.Artifact}, t.Alternates...) {
			if a.Algorithm == alg {
				targets[i].Artifact, targets[i].Alternates = a, nil
			}
		}
	}
}
