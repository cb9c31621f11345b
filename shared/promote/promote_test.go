package promote

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/paved-dev/paved/shared/fail"
)

// noCreds keeps the tests away from the machine's Docker config.
var noCreds = authn.NewMultiKeychain()

// newRegistry serves go-containerregistry's in-memory registry on loopback,
// with or without the OCI 1.1 referrers API.
func newRegistry(t *testing.T, referrersAPI bool) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrersAPI)))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fixture is a multi-arch index in a staging registry, with a provenance and
// an SBOM referrer on the index, one on a platform and a signature on the
// provenance referrer.
type fixture struct {
	repo      name.Repository
	index     v1.Hash
	platforms []v1.Hash
	referrers []v1.Hash
}

func ociImage(t *testing.T, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, 2)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.MediaType(img, types.OCIManifestSchema1)
}

func attach(t *testing.T, repo name.Repository, subject v1.Descriptor, predType string) v1.Hash {
	t.Helper()
	img := mutate.ConfigMediaType(ociImage(t, 300), "application/vnd.dev.sigstore.bundle.v0.3+json")
	img = mutate.Annotations(img, map[string]string{"dev.sigstore.bundle.predicateType": predType}).(v1.Image)
	img = mutate.Subject(img, subject).(v1.Image)
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Digest(d.String()), img, remote.WithAuthFromKeychain(noCreds)); err != nil {
		t.Fatal(err)
	}
	return d
}

func stage(t *testing.T, reg string) fixture {
	t.Helper()
	repo, _ := name.NewRepository(reg + "/team/app")
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var f fixture
	for _, arch := range []string{"amd64", "arm64"} {
		img := ociImage(t, 8192)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		d, _ := img.Digest()
		f.platforms = append(f.platforms, d)
	}
	if err := remote.WriteIndex(repo.Tag("1.0"), idx, remote.WithAuthFromKeychain(noCreds)); err != nil {
		t.Fatal(err)
	}
	f.repo = repo
	f.index, _ = idx.Digest()
	raw, _ := idx.RawManifest()
	idxDesc := v1.Descriptor{MediaType: types.OCIImageIndex, Digest: f.index, Size: int64(len(raw))}
	im, _ := idx.IndexManifest()
	prov := attach(t, repo, idxDesc, "https://slsa.dev/provenance/v1")
	f.referrers = append(f.referrers,
		prov,
		attach(t, repo, idxDesc, "https://spdx.dev/Document/v2.3"),
		attach(t, repo, im.Manifests[0], "https://slsa.dev/provenance/v1"))
	provDesc, err := remote.Head(repo.Digest(prov.String()), remote.WithAuthFromKeychain(noCreds))
	if err != nil {
		t.Fatal(err)
	}
	f.referrers = append(f.referrers, attach(t, repo, *provDesc, "https://example.com/signature/v1"))
	return f
}

func rawManifest(t *testing.T, ref name.Reference) []byte {
	t.Helper()
	d, err := remote.Get(ref, remote.WithAuthFromKeychain(noCreds))
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	return d.Manifest
}

// assertIdentical compares every manifest and blob of the promoted graph at
// both ends, byte for byte, and checks every referrer is listed at the destination.
func assertIdentical(t *testing.T, f fixture, dst name.Repository, res *Result) {
	t.Helper()
	if res.Digest != f.index.String() || !strings.HasSuffix(res.Destination, "/release/app@"+f.index.String()) {
		t.Fatalf("result digest %s destination %s, want %s", res.Digest, res.Destination, f.index)
	}
	if len(res.Manifests) != 3 || len(res.Referrers) != len(f.referrers) {
		t.Fatalf("promoted %d manifests and %d referrers, want 3 and %d: %+v", len(res.Manifests), len(res.Referrers), len(f.referrers), res)
	}
	all := append(append([]v1.Hash{f.index}, f.platforms...), f.referrers...)
	for _, d := range all {
		a, b := rawManifest(t, f.repo.Digest(d.String())), rawManifest(t, dst.Digest(d.String()))
		if !bytes.Equal(a, b) {
			t.Fatalf("manifest %s differs at the destination", d)
		}
		m, err := v1.ParseManifest(bytes.NewReader(a))
		if err != nil || m.Config.Digest.Hex == "" {
			continue // an index
		}
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			blob := func(repo name.Repository) []byte {
				layer, err := remote.Layer(repo.Digest(l.Digest.String()), remote.WithAuthFromKeychain(noCreds))
				if err != nil {
					t.Fatal(err)
				}
				rc, err := layer.Compressed()
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				data, err := io.ReadAll(rc)
				if err != nil {
					t.Fatalf("blob %s: %v", l.Digest, err)
				}
				return data
			}
			if !bytes.Equal(blob(f.repo), blob(dst)) {
				t.Fatalf("blob %s differs at the destination", l.Digest)
			}
		}
	}
	for _, r := range res.Referrers {
		idx, err := remote.Referrers(dst.Digest(r.Subject), remote.WithAuthFromKeychain(noCreds))
		if err != nil {
			t.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		found := false
		for _, d := range im.Manifests {
			found = found || d.Digest.String() == r.Digest
		}
		if !found {
			t.Fatalf("referrer %s of %s is not listed at the destination", r.Digest, r.Subject)
		}
	}
}

func tagDigest(t *testing.T, ref name.Tag) (string, bool) {
	t.Helper()
	d, err := remote.Head(ref, remote.WithAuthFromKeychain(noCreds))
	if isNotFound(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String(), true
}

func TestPromoteIndexWithReferrers(t *testing.T) {
	for _, tc := range []struct {
		name           string
		srcAPI, dstAPI bool
		source         func(f fixture) string
		wantTag        string
	}{
		{"referrers API at both ends, source by tag", true, true, func(f fixture) string { return f.repo.Tag("1.0").String() }, "1.0"},
		{"tag schema at both ends, source by digest", false, false, func(f fixture) string { return "oci://" + f.repo.Digest(f.index.String()).String() }, ""},
		{"referrers API to tag schema", true, false, func(f fixture) string { return f.repo.Digest(f.index.String()).String() }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := stage(t, newRegistry(t, tc.srcAPI))
			prod := newRegistry(t, tc.dstAPI)
			dst, _ := name.NewRepository(prod + "/release/app")
			var admitted []Source
			var beforeTag int
			opts := Options{Keychain: noCreds, Tags: []string{"stable"},
				Admit: func(_ context.Context, s Source) error { admitted = append(admitted, s); return nil },
				BeforeTag: func(_ context.Context, r *Result) error {
					beforeTag++
					if _, ok := tagDigest(t, dst.Tag("stable")); ok {
						t.Error("a tag was set before BeforeTag ran")
					}
					return nil
				}}
			res, err := Promote(context.Background(), tc.source(f), prod+"/release/app:1.0", opts)
			if err != nil {
				t.Fatal(err)
			}
			assertIdentical(t, f, dst, res)
			if len(admitted) != 1 || admitted[0].Digest != f.index.String() || admitted[0].Tag != tc.wantTag || beforeTag != 1 {
				t.Fatalf("admitted %+v, before-tag calls %d", admitted, beforeTag)
			}
			for _, tag := range []string{"1.0", "stable"} {
				if d, ok := tagDigest(t, dst.Tag(tag)); !ok || d != f.index.String() {
					t.Fatalf("tag %s: %s %v, want %s", tag, d, ok, f.index)
				}
			}
			if len(res.Tagged) != 2 || res.Blobs != 2*3+4*3 || res.Bytes <= 2*2*8192 {
				t.Fatalf("tagged %v, %d blobs, %d bytes", res.Tagged, res.Blobs, res.Bytes)
			}
			// Promoting again is a no-op that proves the same content.
			again, err := Promote(context.Background(), tc.source(f), prod+"/release/app:1.0", Options{Keychain: noCreds, Tags: []string{"stable"}})
			if err != nil || again.Digest != res.Digest {
				t.Fatalf("second promotion: %v", err)
			}
		})
	}
}

func TestPromoteRefusals(t *testing.T) {
	f := stage(t, newRegistry(t, true))
	prod := newRegistry(t, true)
	dst, _ := name.NewRepository(prod + "/release/app")
	other := ociImage(t, 100)
	if err := remote.Write(dst.Tag("taken"), other, remote.WithAuthFromKeychain(noCreds)); err != nil {
		t.Fatal(err)
	}
	otherDigest, _ := other.Digest()
	tests := []struct {
		name      string
		src, dst  string
		opts      Options
		class     fail.Class
		msg       string
		untouched bool
	}{
		{"tag with require-digest", f.repo.Tag("1.0").String(), dst.String(), Options{RequireDigest: true}, fail.Config, "--require-digest", true},
		{"implicit latest", f.repo.String(), dst.String(), Options{}, fail.Config, "neither a tag nor a digest", true},
		{"destination tag points elsewhere", f.repo.Tag("1.0").String(), dst.String() + ":taken", Options{}, fail.Verification, "already points at " + otherDigest.String(), true},
		{"destination digest differs", f.repo.Tag("1.0").String(), dst.String() + "@" + otherDigest.String(), Options{}, fail.Config, "keeps the digest", true},
		{"gate refuses", f.repo.Tag("1.0").String(), dst.String() + ":v1", Options{Admit: func(context.Context, Source) error {
			return fail.Verificationf("no attestation verifies")
		}}, fail.Verification, "no attestation verifies", true},
		{"bad tag", f.repo.Tag("1.0").String(), dst.String(), Options{Tags: []string{"a/b"}}, fail.Config, "not a valid tag", true},
		{"missing source", f.repo.Tag("nope").String(), dst.String() + ":v3", Options{}, fail.Verification, "not found", true},
		// Last: the image is copied and proved, then the hook fails before tagging.
		{"before-tag fails", f.repo.Tag("1.0").String(), dst.String() + ":v2", Options{BeforeTag: func(context.Context, *Result) error {
			return fail.Transientf("signing failed")
		}}, fail.Transient, "signing failed", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Keychain = noCreds
			_, err := Promote(context.Background(), tc.src, tc.dst, tc.opts)
			if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v (%s), want a %s error mentioning %q", err, fail.ClassOf(err), tc.class, tc.msg)
			}
			_, err = remote.Head(dst.Digest(f.index.String()), remote.WithAuthFromKeychain(noCreds))
			if tc.untouched && !isNotFound(err) {
				t.Fatalf("the destination holds the image after a refusal: %v", err)
			}
			for _, tag := range []string{"v1", "v2", "v3"} {
				if _, ok := tagDigest(t, dst.Tag(tag)); ok {
					t.Fatalf("tag %s was set", tag)
				}
			}
			if d, _ := tagDigest(t, dst.Tag("taken")); d != otherDigest.String() {
				t.Fatalf("tag taken moved to %s", d)
			}
		})
	}
}

// proxy forwards to a registry and lets a test alter requests or responses.
type proxy struct {
	target *url.URL
	mu     sync.Mutex
	// alterPut changes manifest uploads; alterBlobGet changes blob downloads.
	alterPut, alterBlobGet bool
	// drops is how many blob uploads are cut off mid-body.
	drops   int
	uploads atomic.Int32
}

func newProxy(t *testing.T, backend string) (*proxy, string) {
	t.Helper()
	p := &proxy{target: &url.URL{Scheme: "http", Host: backend}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, strings.TrimPrefix(srv.URL, "http://")
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	alterPut, alterBlobGet := p.alterPut, p.alterBlobGet
	drop := false
	if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") && r.ContentLength != 0 {
		p.uploads.Add(1)
		if p.drops > 0 {
			p.drops--
			drop = true
		}
	}
	p.mu.Unlock()
	if drop {
		// Take part of the blob, then drop the connection as a network would.
		io.CopyN(io.Discard, r.Body, 512)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if alterPut && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
		body, _ := io.ReadAll(r.Body)
		body = bytes.Replace(body, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":3`), 1)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	rp := httputil.NewSingleHostReverseProxy(p.target)
	if alterBlobGet && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
		rp.ModifyResponse = func(resp *http.Response) error {
			body, _ := io.ReadAll(resp.Body)
			if len(body) > 10 {
				body[10] ^= 0xff
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return nil
		}
	}
	rp.ServeHTTP(w, r)
}

// TestPromoteDetectsRewritingRegistry: a registry (here a proxy in front of
// one) that stores other bytes than it was sent, or serves other bytes than it
// stored, fails the proof and nothing is tagged.
func TestPromoteDetectsRewritingRegistry(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(p *proxy)
		msg  string
	}{
		{"manifest rewritten on upload", func(p *proxy) { p.alterPut = true }, "returned different bytes for manifest"},
		{"blob altered on read", func(p *proxy) { p.alterBlobGet = true }, "returned different content for blob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := stage(t, newRegistry(t, true))
			backend := newRegistry(t, true)
			p, front := newProxy(t, backend)
			tc.set(p)
			_, err := Promote(context.Background(), f.repo.Tag("1.0").String(), front+"/release/app:1.0", Options{Keychain: noCreds})
			if err == nil || fail.ClassOf(err) != fail.Verification || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "nothing was tagged") {
				t.Fatalf("got %v, want a verification error mentioning %q", err, tc.msg)
			}
			dst, _ := name.NewRepository(backend + "/release/app")
			if _, ok := tagDigest(t, dst.Tag("1.0")); ok {
				t.Fatal("the destination was tagged")
			}
		})
	}
}

// TestPromoteInterruptedCopy drops the connection in the middle of a blob
// upload. With retries the copy resumes in the same run; without, it fails
// cleanly (a transient error, nothing tagged) and a rerun completes, skipping
// the blobs that arrived the first time.
func TestPromoteInterruptedCopy(t *testing.T) {
	t.Run("fails cleanly, rerun completes", func(t *testing.T) {
		f := stage(t, newRegistry(t, true))
		backend := newRegistry(t, false)
		p, front := newProxy(t, backend)
		p.drops = 1
		opts := Options{Keychain: noCreds, Attempts: 1, Jobs: 1}
		_, err := Promote(context.Background(), f.repo.Tag("1.0").String(), front+"/release/app:1.0", opts)
		if err == nil || fail.ClassOf(err) != fail.Transient || !strings.Contains(err.Error(), "run the promotion again") {
			t.Fatalf("got %v, want a transient error", err)
		}
		dst, _ := name.NewRepository(backend + "/release/app")
		if _, ok := tagDigest(t, dst.Tag("1.0")); ok {
			t.Fatal("tagged after an interrupted copy")
		}
		first := p.uploads.Load()
		res, err := Promote(context.Background(), f.repo.Tag("1.0").String(), front+"/release/app:1.0", opts)
		if err != nil {
			t.Fatalf("rerun: %v", err)
		}
		assertIdentical(t, f, dst, res)
		if again := p.uploads.Load() - first; int(again) >= res.Blobs {
			t.Fatalf("the rerun uploaded %d blobs of %d: existing blobs were not skipped", again, res.Blobs)
		}
		if d, ok := tagDigest(t, dst.Tag("1.0")); !ok || d != f.index.String() {
			t.Fatalf("tag after rerun: %s", d)
		}
	})
	t.Run("retried in the same run", func(t *testing.T) {
		f := stage(t, newRegistry(t, true))
		backend := newRegistry(t, true)
		p, front := newProxy(t, backend)
		p.drops = 1
		res, err := Promote(context.Background(), f.repo.Digest(f.index.String()).String(), front+"/release/app", Options{Keychain: noCreds, RetryDelay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		dst, _ := name.NewRepository(backend + "/release/app")
		assertIdentical(t, f, dst, res)
		if p.drops != 0 {
			t.Fatal("no upload was interrupted")
		}
	})
}

func TestParseReferences(t *testing.T) {
	for _, tc := range []struct {
		dst      string
		tags     []string
		repo     string
		wantTags []string
		digest   string
		err      string
	}{
		{"127.0.0.1:5000/app", nil, "127.0.0.1:5000/app", nil, "", ""},
		{"oci://127.0.0.1:5000/team/app:1.2", []string{"stable", "1.2"}, "127.0.0.1:5000/team/app", []string{"1.2", "stable"}, "", ""},
		{"reg.example/app@sha256:" + strings.Repeat("a", 64), nil, "reg.example/app", nil, "sha256:" + strings.Repeat("a", 64), ""},
		{"reg.example/app@sha256:abc", nil, "", nil, "", "destination"},
		{"reg.example/app", []string{"-bad"}, "", nil, "", "not a valid tag"},
		{"", nil, "", nil, "", "not a repository"},
	} {
		t.Run(tc.dst, func(t *testing.T) {
			repo, tags, digest, err := parseDestination(tc.dst, tc.tags)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || repo.Name() != tc.repo || strings.Join(tags, ",") != strings.Join(tc.wantTags, ",") || digest != tc.digest {
				t.Fatalf("got %s %v %s %v", repo.Name(), tags, digest, err)
			}
		})
	}
	for src, want := range map[string]string{
		"reg.example/app:1":   "",
		"reg.example:5000/a":  "neither a tag nor a digest",
		"reg.example/app@x":   "source",
		"  ":                  "no source image",
		"oci://reg.example/a": "neither a tag nor a digest",
	} {
		_, err := parseSource(src, false)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("parseSource(%q) = %v, want %q", src, err, want)
		}
	}
	if _, err := Resolve(context.Background(), "127.0.0.1:1/app:1", Options{RequireDigest: true}); err == nil || fail.ClassOf(err) != fail.Config {
		t.Fatalf("Resolve with RequireDigest: %v", err)
	}
}
