package verify_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/verify"
)

// FuzzParseBundles feeds arbitrary bundle files (one bundle, or JSON Lines)
// to the splitter and digest extraction: nothing panics, every candidate is
// a parsed bundle with its own JSON, and writing the candidates back as JSON
// Lines reads as the same candidates with the same digests.
func FuzzParseBundles(f *testing.F) {
	var lines bytes.Buffer
	for _, p := range []string{
		"../../testdata/public-bundles/valid-v0.3.intoto.sigstore",
		"../../testdata/public-bundles/sigstore-js-2.1.0-bundle.json",
		"../../testdata/public-bundles/dsse-2sigs.sigstore.json",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		json.Compact(&lines, b)
		lines.WriteString("\n\n")
	}
	f.Add(lines.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		cands, err := verify.ParseBundles(data, "fuzz")
		if err != nil {
			return
		}
		var back []string
		for _, c := range cands {
			if c.Bundle == nil || !json.Valid(c.JSON) || c.Source != "fuzz" {
				t.Fatalf("candidate %+v", c)
			}
			for _, d := range c.Digests {
				if alg, _, ok := strings.Cut(d, ":"); !ok || alg == "" {
					t.Fatalf("digest %q has no algorithm", d)
				}
			}
			var one bytes.Buffer
			if err := json.Compact(&one, c.JSON); err != nil {
				t.Fatal(err)
			}
			back = append(back, one.String())
		}
		again, err := verify.ParseBundles([]byte(strings.Join(back, "\n")), "fuzz")
		if err != nil || len(again) != len(cands) {
			t.Fatalf("%d candidates written back as JSON Lines read as %d: %v", len(cands), len(again), err)
		}
		for i := range cands {
			a, b := slices.Clone(cands[i].Digests), slices.Clone(again[i].Digests)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Fatalf("candidate %d digests %q, written back %q", i, a, b)
			}
		}
	})
}

// FuzzParseDigest: an accepted digest prints as itself in lower case and
// parses back to the same artifact.
func FuzzParseDigest(f *testing.F) {
	f.Add("sha256:" + strings.Repeat("ab", 32))
	f.Add("sha512:" + strings.Repeat("CD", 64))
	f.Add("sha384:" + strings.Repeat("0", 96))
	f.Add("md5:d41d8cd98f00b204e9800998ecf8427e")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := verify.ParseDigest(s)
		if err != nil {
			return
		}
		if a.String() != strings.ToLower(s) {
			t.Fatalf("%q prints as %q", s, a.String())
		}
		b, err := verify.ParseDigest(a.String())
		if err != nil || b.Algorithm != a.Algorithm || !bytes.Equal(a.Digest, b.Digest) {
			t.Fatalf("%q does not parse back: %v", a.String(), err)
		}
	})
}
