package command

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/verify"
)

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
