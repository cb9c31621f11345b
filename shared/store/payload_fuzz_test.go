package store

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// FuzzBundleURLPayload feeds arbitrary bundle_url answers to their decoder:
// nothing panics, nothing decodes beyond maxBundle, a forged length header
// allocates nothing near what it claims, JSON passes through trimmed, and
// snappy-compressed bundles come back byte for byte.
func FuzzBundleURLPayload(f *testing.F) {
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`)
	f.Add(bundle)
	f.Add(snappy.Encode(nil, bundle))
	f.Add([]byte("  \n" + string(bundle) + "\n"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}) // claims 4 GiB
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		out, err := decodeBundleURL(data)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*maxBundle {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(data), grew)
		}
		if err == nil && len(out) > maxBundle {
			t.Fatalf("decoded %d bytes, more than maxBundle", len(out))
		}
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' && !bytes.Equal(out, t) {
			panic("JSON payload not passed through as it is")
		}
		// A varint of 128 and more starts with a byte that is neither
		// whitespace nor '{', so the payload cannot be taken for JSON.
		if len(data) >= 128 && len(data) <= maxBundle {
			back, err := decodeBundleURL(snappy.Encode(nil, data))
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("snappy round trip of %d bytes: %v", len(data), err)
			}
		}
	})
}
