package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/store"
)

// toolPath finds a pinned test tool built by tools/install.sh.
func toolPath(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dir := os.Getenv("PAVED_TOOLS_CACHE")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "paved-tools")
	}
	p := filepath.Join(dir, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not built: run tools/install.sh %s", name, name)
	}
	return p
}

// distributionRegistry starts the CNCF distribution registry (tools/registry)
// on loopback. It has no referrers API, so clients keep referrers through the
// tag schema (sha256-HEX index tags).
func distributionRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, toolPath(t, "registry"), "serve", cfg)
	logf, _ := os.Create(filepath.Join(dir, "registry.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait(); logf.Close() })
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
	t.Fatalf("registry did not start on %s:\n%s", addr, log)
	return ""
}

// referrersRegistry serves go-containerregistry's in-memory registry with the
// OCI 1.1 referrers API enabled.
func referrersRegistry(t *testing.T) string {
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func pushImage(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func ociTarget(t *testing.T, images []string, platforms bool) *store.OCI {
	t.Helper()
	o, err := store.NewOCI(images, store.OCIOptions{Keychain: authn.NewMultiKeychain(), HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Platforms: platforms, Settle: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func registries(t *testing.T) map[string]string {
	return map[string]string{"distribution, tag schema": distributionRegistry(t), "referrers API": referrersRegistry(t)}
}

func TestOCIAttachReadBackFetch(t *testing.T) {
	ctx := context.Background()
	for kind, host := range registries(t) {
		t.Run(kind, func(t *testing.T) {
			ref := host + "/demo/app:v1"
			digest := pushImage(t, ref)
			b := fakeBundle(t, slsa, digest)
			target := ociTarget(t, []string{ref}, false)
			r, err := target.Put(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if r.Existed || !strings.HasPrefix(r.ID, "sha256:") || len(r.Locations) != 1 {
				t.Fatalf("receipt %+v", r)
			}
			again, err := target.Put(ctx, b)
			if err != nil || !again.Existed || again.ID != r.ID {
				t.Fatalf("second Put: %+v, %v", again, err)
			}
			got, err := target.Fetch(ctx, digest)
			if err != nil || len(got) != 1 || string(got[0]) != string(b.JSON) {
				t.Fatalf("Fetch: %d bundles, %v", len(got), err)
			}
			// The referrer is what other clients see: artifact type,
			// predicate annotation and subject.
			d, _ := name.NewDigest(host + "/demo/app@" + digest)
			idx, err := remote.Referrers(d)
			if err != nil {
				t.Fatal(err)
			}
			im, _ := idx.IndexManifest()
			if len(im.Manifests) != 1 || im.Manifests[0].Annotations[store.AnnotationPredicateType] != slsa {
				t.Fatalf("referrers index: %+v", im.Manifests)
			}
			desc, _ := remote.Get(d.Context().Digest(im.Manifests[0].Digest.String()))
			var mf struct {
				ArtifactType string         `json:"artifactType"`
				Subject      *v1.Descriptor `json:"subject"`
			}
			json.Unmarshal(desc.Manifest, &mf)
			if mf.ArtifactType != store.BundleMediaType || mf.Subject == nil || mf.Subject.Digest.String() != digest {
				t.Fatalf("referrer manifest %s", desc.Manifest)
			}
			if other, _ := target.Fetch(ctx, randomDigest()); len(other) != 0 {
				t.Fatalf("an unrelated digest has %d bundles", len(other))
			}
		})
	}
}

func TestOCIIndexAndSeveralImages(t *testing.T) {
	ctx := context.Background()
	host := distributionRegistry(t)
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/demo/multi:v1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	id, _ := idx.Digest()
	im, _ := idx.IndexManifest()
	platform := im.Manifests[0].Digest.String()
	single := host + "/demo/single:v1"
	sd := pushImage(t, single)
	b := fakeBundle(t, slsa, id.String(), platform, sd)
	r, err := ociTarget(t, []string{ref.String(), single}, true).Put(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Locations) != 3 {
		t.Fatalf("attached at %v, want the index, its platform named as subject, and the second image", r.Locations)
	}
	for _, dg := range []string{id.String(), platform} {
		got, err := ociTarget(t, []string{ref.String()}, false).Fetch(ctx, dg)
		if err != nil || len(got) != 1 {
			t.Fatalf("Fetch(%s): %d, %v", dg, len(got), err)
		}
	}
	if got, _ := ociTarget(t, []string{ref.String()}, false).Fetch(ctx, im.Manifests[1].Digest.String()); len(got) != 0 {
		t.Fatal("attached to a platform the bundle does not name")
	}
	// A bundle about something else must not be attached to the image.
	_, err = ociTarget(t, []string{single}, false).Put(ctx, fakeBundle(t, slsa, randomDigest()))
	if fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "not about image") {
		t.Fatalf("unrelated bundle: %v", err)
	}
}

func TestOCIConcurrentWritersKeepBoth(t *testing.T) {
	ctx := context.Background()
	for kind, host := range registries(t) {
		t.Run(kind, func(t *testing.T) {
			ref := host + "/demo/race:v1"
			digest := pushImage(t, ref)
			const writers = 4
			bundles := make([]store.Bundle, writers)
			for i := range bundles {
				bundles[i] = fakeBundle(t, slsa, digest)
			}
			var wg sync.WaitGroup
			errs := make([]error, writers)
			start := make(chan struct{})
			for i := range bundles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = ociTarget(t, []string{ref}, false).Put(ctx, bundles[i])
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("writer %d: %v", i, err)
				}
			}
			got, err := ociTarget(t, []string{ref}, false).Fetch(ctx, digest)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != writers {
				t.Fatalf("%d of %d concurrent attestations survived", len(got), writers)
			}
		})
	}
}

// TestOCISilentNoOp is a registry that acknowledges the referrer manifest but
// drops it: the read-back must turn that into an error.
func TestOCISilentNoOp(t *testing.T) {
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	var dropped int
	var mu sync.Mutex
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), `"subject"`) {
				mu.Lock()
				dropped++
				mu.Unlock()
				h, _, _ := v1.SHA256(strings.NewReader(string(body)))
				w.Header().Set("Docker-Content-Digest", h.String())
				w.WriteHeader(http.StatusCreated)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		inner.ServeHTTP(w, r)
	}))
	defer s.Close()
	ref := strings.TrimPrefix(s.URL, "http://") + "/demo/app:v1"
	digest := pushImage(t, ref)
	o, _ := store.NewOCI([]string{ref}, store.OCIOptions{Keychain: authn.NewMultiKeychain(), HTTPOptions: store.HTTPOptions{Retry: fastRetry}, Tries: 2, Sleep: noSleep})
	_, err := o.Put(context.Background(), fakeBundle(t, slsa, digest))
	if err == nil || !strings.Contains(err.Error(), "write was lost") || dropped != 2 {
		t.Fatalf("silent no-op: err=%v after %d dropped pushes", err, dropped)
	}
}
