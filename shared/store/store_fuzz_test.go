package store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"

	"github.com/paved-dev/paved/shared/store"
)

func publicBundles(f *testing.F) [][]byte {
	var out [][]byte
	for _, n := range []string{"valid-v0.3.intoto.sigstore", "dsse-2sigs.sigstore.json", "sigstore-js-2.1.0-bundle.json", "reusable-workflow-attestation.sigstore.json"} {
		b, err := os.ReadFile("../../testdata/public-bundles/" + n)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func isDigest(s string) bool {
	size := 32
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		size = 64
		h, ok = strings.CutPrefix(s, "sha512:")
	}
	raw, err := hex.DecodeString(h)
	return ok && err == nil && len(raw) == size && h == strings.ToLower(h)
}

// FuzzStoreParse feeds arbitrary bytes to the bundle reader every target uses:
// an accepted bundle names only well-formed sha256 or sha512 subjects (they become file
// names and URLs), has a 64-hex-digit key, is about each of its subjects, and
// is the same bundle as itself re-indented.
func FuzzStoreParse(f *testing.F) {
	for _, b := range publicBundles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := store.Parse(data)
		if err != nil {
			return
		}
		if len(b.Subjects) == 0 {
			t.Fatal("accepted a bundle without subjects")
		}
		for _, s := range b.Subjects {
			if !isDigest(s) {
				t.Fatalf("accepted subject %q", s)
			}
			if !b.About(s) || !b.About(strings.ToUpper(s)) {
				t.Fatalf("bundle is not about its subject %q", s)
			}
		}
		if k, err := hex.DecodeString(b.Key()); err != nil || len(k) != 32 {
			t.Fatalf("key %q", b.Key())
		}
		var ind bytes.Buffer
		if json.Indent(&ind, data, "", "  ") == nil && !b.SameAs(ind.Bytes()) {
			t.Fatal("the re-indented bundle is not the same bundle")
		}
	})
}

// listingServer answers attestation listings with one fuzzed body and
// bundle_url downloads with another.
type listingServer struct {
	mu            sync.Mutex
	listing, blob []byte
	srv           *httptest.Server
}

func newListingServer(tb testing.TB) *listingServer {
	l := &listingServer{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if r.URL.Path == "/blob" {
			w.Write(l.blob)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.ReplaceAll(l.listing, []byte("BLOB_URL"), []byte(l.srv.URL+"/blob")))
	}))
	tb.Cleanup(l.srv.Close)
	return l
}

func (l *listingServer) target(tb testing.TB) *store.GitHub {
	g, err := store.NewGitHub("o/r", store.GitHubOptions{APIURL: l.srv.URL, HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Sleep: noSleep})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// FuzzGitHubAttestationListing serves arbitrary attestation listings and
// bundle_url payloads to Fetch: nothing panics, at most one bundle comes back
// per listed attestation, and none is larger than a bundle may be.
func FuzzGitHubAttestationListing(f *testing.F) {
	bundles := publicBundles(f)
	inline, _ := json.Marshal(map[string]any{"attestations": []map[string]any{{"id": 1, "bundle": json.RawMessage(bundles[0])}}})
	f.Add(inline, []byte(nil))
	f.Add([]byte(`{"attestations":[{"id":2,"bundle":null,"bundle_url":"BLOB_URL"},{"id":3,"bundle_url":"BLOB_URL"}]}`), snappy.Encode(nil, bundles[1]))
	f.Add([]byte(`{"attestations":[{"id":4,"bundle_url":"BLOB_URL"}]}`), bundles[2])
	f.Add([]byte(`{"attestations":[{"id":5,"bundle_url":"file:///etc/passwd"}]}`), []byte(nil))
	l := newListingServer(f)
	g := l.target(f)
	f.Fuzz(func(t *testing.T, listing, blob []byte) {
		l.mu.Lock()
		l.listing, l.blob = listing, blob
		l.mu.Unlock()
		got, err := g.Fetch(context.Background(), "sha256:"+strings.Repeat("ab", 32))
		if err != nil {
			return
		}
		if n := bytes.Count(listing, []byte(`"`)); len(got) > n {
			t.Fatalf("%d bundles from a listing of %d bytes", len(got), len(listing))
		}
		for _, b := range got {
			if len(b) > 32<<20 {
				t.Fatalf("a bundle of %d bytes", len(b))
			}
		}
	})
}

// TestAttackSnappyBundleURLLengthBomb: a bundle_url payload whose snappy
// header claims 4 GiB is refused before the decoder allocates it.
func TestAttackSnappyBundleURLLengthBomb(t *testing.T) {
	l := newListingServer(t)
	l.listing = []byte(`{"attestations":[{"id":1,"bundle":null,"bundle_url":"BLOB_URL"}]}`)
	l.blob = binary.AppendUvarint(nil, 1<<32-1)
	l.blob = append(l.blob, 0, 0, 0, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := l.target(t).Fetch(context.Background(), "sha256:"+strings.Repeat("ab", 32))
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("a forged length header made Fetch allocate %d bytes", grew)
	}
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Fetch = %d bundles, %v; want the oversized payload refused", len(got), err)
	}
	if len(got) != 0 {
		t.Fatalf("returned %d bundles", len(got))
	}
}

// TestAttackSubjectDigestNotHex: a statement whose sha256 subject is not a
// digest (it would become a package file name or an API path) is refused, so no
// target ever sees a Bundle naming it.
func TestAttackSubjectDigestNotHex(t *testing.T) {
	for _, subj := range []string{"../../../attestation-x.sigstore", strings.Repeat("a", 63), strings.Repeat("g", 64), strings.Repeat("ab", 32) + "00", "ab/cd"} {
		t.Run(subj, func(t *testing.T) {
			good := fakeBundle(t, slsa, "sha256:"+strings.Repeat("ab", 32))
			data := bytes.Replace(good.JSON, []byte(payloadOf(t, good.JSON)), []byte(payloadWith(t, subj)), 1)
			b, err := store.Parse(data)
			if err == nil {
				t.Fatalf("accepted subjects %q", b.Subjects)
			}
			if !strings.Contains(err.Error(), "not 64 hex digits") {
				t.Fatalf("error %v does not say why", err)
			}
		})
	}
}

func payloadOf(t *testing.T, data []byte) string {
	var w struct {
		DSSE struct{ Payload string } `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &w); err != nil || w.DSSE.Payload == "" {
		t.Fatalf("no payload: %v", err)
	}
	return w.DSSE.Payload
}

func payloadWith(t *testing.T, sha256 string) string {
	stmt := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":%q}}],"predicateType":%q,"predicate":{}}`, sha256, slsa)
	return base64.StdEncoding.EncodeToString([]byte(stmt))
}
