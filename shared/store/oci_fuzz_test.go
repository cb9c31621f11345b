package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/shared/store"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// referrerServer is a registry of one repository whose single referrer has a
// fuzzed manifest and a fuzzed blob; the referrers index lists the manifest by
// its real digest, so only what the fuzzer wrote decides what Fetch sees.
type referrerServer struct {
	mu             sync.Mutex
	manifest, blob []byte
	srv            *httptest.Server
}

func (r *referrerServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := req.URL.Path
	switch {
	case p == "/v2/":
	case strings.HasPrefix(p, "/v2/demo/app/referrers/"):
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		fmt.Fprintf(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":%q,"digest":%q,"size":%d}]}`,
			store.BundleMediaType, sha(r.manifest), len(r.manifest))
	case strings.HasPrefix(p, "/v2/demo/app/manifests/"):
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", sha(r.manifest))
		w.Write(r.manifest)
	case strings.HasPrefix(p, "/v2/demo/app/blobs/"):
		w.Write(r.blob)
	default:
		http.NotFound(w, req)
	}
}

func referrerManifest(blob []byte, mediaType string) []byte {
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": store.BundleMediaType,
		"config": map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha([]byte("{}")), "size": 2},
		"layers": []map[string]any{{"mediaType": mediaType, "digest": sha(blob), "size": len(blob)}},
	})
	return m
}

// FuzzOCIReferrerManifest serves arbitrary referrer manifests and blobs to
// Fetch: nothing panics, and what it returns is exactly a blob that the
// manifest lists, by digest, as a Sigstore bundle layer.
func FuzzOCIReferrerManifest(f *testing.F) {
	bundles := publicBundles(f)
	f.Add(referrerManifest(bundles[0], store.BundleMediaType), bundles[0])
	f.Add(referrerManifest(bundles[1], "application/octet-stream"), bundles[1])
	f.Add(referrerManifest(bundles[2], store.BundleMediaType), bundles[3])
	r := &referrerServer{}
	r.srv = httptest.NewServer(r)
	f.Cleanup(r.srv.Close)
	target, err := store.NewOCI([]string{strings.TrimPrefix(r.srv.URL, "http://") + "/demo/app:v1"}, store.OCIOptions{Keychain: authn.NewMultiKeychain(), HTTPOptions: store.HTTPOptions{Retry: fastRetry}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, manifest, blob []byte) {
		r.mu.Lock()
		r.manifest, r.blob = manifest, blob
		r.mu.Unlock()
		got, err := target.Fetch(context.Background(), "sha256:"+strings.Repeat("cd", 32))
		if err != nil {
			return
		}
		var m struct {
			Layers []struct {
				MediaType string `json:"mediaType"`
				Digest    string `json:"digest"`
			} `json:"layers"`
		}
		json.Unmarshal(manifest, &m)
		for _, b := range got {
			if !bytes.Equal(b, blob) {
				t.Fatalf("Fetch returned %d bytes that the registry did not serve as the blob", len(b))
			}
			listed := false
			for _, l := range m.Layers {
				listed = listed || (l.MediaType == store.BundleMediaType && l.Digest == sha(blob))
			}
			if !listed {
				t.Fatalf("Fetch returned a blob that the manifest does not list as a bundle layer")
			}
		}
	})
}

// TestAttackOCIReferrerFlood: a registry that lists the same bundle referrer
// thousands of times cannot make Fetch read it thousands of times and keep
// every copy; Fetch refuses once the listing passes its bound.
func TestAttackOCIReferrerFlood(t *testing.T) {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	var flood atomic.Bool
	var manifestReads atomic.Int64
	var forged []byte
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flood.Load() {
			if strings.Contains(r.URL.Path, "/referrers/") {
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Write(forged)
				return
			}
			if strings.Contains(r.URL.Path, "/manifests/") {
				manifestReads.Add(1)
			}
		}
		inner.ServeHTTP(w, r)
	}))
	defer s.Close()
	ref := strings.TrimPrefix(s.URL, "http://") + "/demo/app:v1"
	digest := pushImage(t, ref)
	target := ociTarget(t, []string{ref}, false)
	if _, err := target.Put(context.Background(), fakeBundle(t, slsa, digest)); err != nil {
		t.Fatal(err)
	}
	d, _ := name.NewDigest(strings.TrimPrefix(s.URL, "http://") + "/demo/app@" + digest)
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 {
		t.Fatalf("%d referrers", len(im.Manifests))
	}
	for range 2000 {
		im.Manifests = append(im.Manifests, im.Manifests[0])
	}
	forged, _ = json.Marshal(im)
	flood.Store(true)
	got, err := target.Fetch(context.Background(), digest)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Fetch = %d bundles, %v; want the flood refused", len(got), err)
	}
	if n := manifestReads.Load(); n > 600 {
		t.Fatalf("Fetch read %d referrer manifests", n)
	}
}
