package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/paved-dev/paved/shared/promote"
	"github.com/paved-dev/paved/shared/store"
)

var anon = remote.WithAuthFromKeychain(authn.NewMultiKeychain())

// pushIndex pushes a two-platform OCI index of random images and returns its
// digest and the platforms' digests.
func pushIndex(t *testing.T, ref name.Reference) (v1.Hash, []v1.Hash) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var platforms []v1.Hash
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64<<10, 2)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		d, _ := img.Digest()
		platforms = append(platforms, d)
	}
	if err := remote.WriteIndex(ref, idx, anon); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d, platforms
}

// attestImage signs a statement about the image (and the given platforms) as
// repo's GitHub workflow and attaches it to the image in the registry.
func attestImage(t *testing.T, image name.Repository, digests []v1.Hash, repo string, extra ...string) {
	t.Helper()
	ws := t.TempDir()
	tok, err := stk.MintGitHubToken(repo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"attest", "--identity-token-file", writeToken(t, tok), "--trusted-root", stk.TrustedRootPath,
		"--signing-config", stk.SigningConfigPath, "--bundle-path", "b.sigstore.json", "--bundles-jsonl", "none",
		"--push-to-registry", "--registry-image", image.Digest(digests[0].String()).String(), "--registry-platforms"}
	for i, d := range digests {
		n := image.Name()
		if i > 0 {
			n += fmt.Sprintf("/platform-%d", i)
		}
		args = append(args, "--subject-digest", n+"@"+d.String())
	}
	if r := execIn(t, ws, nil, paved, append(args, extra...)...); r.code != 0 {
		t.Fatalf("paved attest: %s", r)
	}
}

// referrersOf lists the referrer digests of a manifest.
func referrersOf(t *testing.T, repo name.Repository, d v1.Hash) map[v1.Hash]bool {
	t.Helper()
	idx, err := remote.Referrers(repo.Digest(d.String()), anon)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	out := map[v1.Hash]bool{}
	for _, m := range im.Manifests {
		out[m.Digest] = true
	}
	return out
}

// sameGraph asserts that every manifest and blob under d, and every referrer
// (recursively), is byte-identical in both repositories, and returns how many
// referrers the source has under d.
func sameGraph(t *testing.T, src, dst name.Repository, d v1.Hash, depth int) int {
	t.Helper()
	a, err := remote.Get(src.Digest(d.String()), anon)
	if err != nil {
		t.Fatal(err)
	}
	b, err := remote.Get(dst.Digest(d.String()), anon)
	if err != nil {
		t.Fatalf("%s is missing at the destination: %v", d, err)
	}
	if !bytes.Equal(a.Manifest, b.Manifest) {
		t.Fatalf("manifest %s differs at the destination", d)
	}
	n := 0
	if a.MediaType.IsIndex() {
		im, _ := v1.ParseIndexManifest(bytes.NewReader(a.Manifest))
		for _, c := range im.Manifests {
			n += sameGraph(t, src, dst, c.Digest, depth)
		}
	} else {
		m, _ := v1.ParseManifest(bytes.NewReader(a.Manifest))
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !bytes.Equal(blob(t, src, l.Digest), blob(t, dst, l.Digest)) {
				t.Fatalf("blob %s differs at the destination", l.Digest)
			}
		}
	}
	if depth < 3 {
		there := referrersOf(t, dst, d)
		for r := range referrersOf(t, src, d) {
			if !there[r] {
				t.Fatalf("referrer %s of %s is not listed at the destination", r, d)
			}
			n += 1 + sameGraph(t, src, dst, r, depth+1)
		}
	}
	return n
}

func blob(t *testing.T, repo name.Repository, d v1.Hash) []byte {
	t.Helper()
	l, err := remote.Layer(repo.Digest(d.String()), anon)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("blob %s: %v", d, err)
	}
	return data
}

func outputLines(stdout string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[k] = v
		}
	}
	return out
}

// alteringProxy forwards to a registry; it can change one byte of the blobs it
// serves, or cut blob uploads off mid-body.
type alteringProxy struct {
	target   *url.URL
	mu       sync.Mutex
	alterGet bool
	alterPut bool
	dropAll  bool
	dropped  int
}

func (p *alteringProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	alterGet, alterPut, drop := p.alterGet, p.alterPut, p.dropAll && (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") && r.ContentLength != 0
	if drop {
		p.dropped++
	}
	p.mu.Unlock()
	if drop {
		io.CopyN(io.Discard, r.Body, 4096)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	if alterPut && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
		body, _ := io.ReadAll(r.Body)
		if i := bytes.IndexByte(body, '}'); i > 0 {
			body = append(append(append([]byte{}, body[:i]...), ' '), body[i:]...)
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	rp := httputil.NewSingleHostReverseProxy(p.target)
	if alterGet && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
		rp.ModifyResponse = func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			if len(body) > 100 {
				body[100] ^= 1
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return nil
		}
	}
	rp.ServeHTTP(w, r)
}

func newAlteringProxy(t *testing.T, backend string) (*alteringProxy, string) {
	p := &alteringProxy{target: &url.URL{Scheme: "http", Host: backend}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, strings.TrimPrefix(srv.URL, "http://")
}

// TestPromoteBetweenRegistries builds a multi-arch index in a staging registry,
// attests provenance and an SBOM on the local Sigstore stack, promotes it to a
// production registry (both the distribution registry on loopback, which keeps
// referrers through the tag schema) and checks the copy byte for byte, the
// referrers, paved verify at the destination and the promotion attestation.
// Then the refusals: unattested, wrong signer, destination tag taken, a
// registry that alters a byte, and an interrupted copy that a rerun completes.
func TestPromoteBetweenRegistries(t *testing.T) {
	staging, prod := startRegistry(t), startRegistry(t)
	stagingRepo, _ := name.NewRepository(staging + "/paved-dev/demo")
	prodRepo, _ := name.NewRepository(prod + "/paved-dev/demo")
	index, platforms := pushIndex(t, stagingRepo.Tag("1.0"))
	attestImage(t, stagingRepo, []v1.Hash{index, platforms[0]}, ghRepo)
	ws := t.TempDir()
	sbomPath := filepath.Join(ws, "sbom.spdx.json")
	os.WriteFile(sbomPath, []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"demo","dataLicense":"CC0-1.0","documentNamespace":"https://example.com/demo","creationInfo":{"created":"2025-01-01T00:00:00Z","creators":["Tool: test"]},"packages":[]}`), 0o644)
	attestImage(t, stagingRepo, []v1.Hash{index}, ghRepo, "--predicate-type", "https://spdx.dev/Document/v2.3", "--predicate-path", sbomPath)

	tok, _ := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	tokFile := writeToken(t, tok)
	promoteArgs := func(src, dst string, extra ...string) []string {
		return append([]string{"promote", src, dst, "--repo", ghRepo, "--cert-oidc-issuer", stk.GitHubIssuer,
			"--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath,
			"--identity-token-file", tokFile, "--environment", "production"}, extra...)
	}

	r := execIn(t, ws, nil, paved, promoteArgs(stagingRepo.Tag("1.0").String(), prodRepo.String(), "--tag", "1.0", "--tag", "stable")...)
	if r.code != 0 {
		t.Fatalf("paved promote: %s", r)
	}
	assertNoSecrets(t, []string{tok}, []string{r.stdout, r.stderr}, ws)
	out := outputLines(r.stdout)
	if out["digest"] != index.String() || out["destination"] != prodRepo.Digest(index.String()).String() || out["attestation-path"] != "promotion.sigstore.json" {
		t.Fatalf("outputs %q", out)
	}

	t.Run("byte-identical with every referrer", func(t *testing.T) {
		// provenance on the index and a platform, the SBOM, plus the promotion attestation.
		if n := sameGraph(t, stagingRepo, prodRepo, index, 0); n != 3 {
			t.Fatalf("%d referrers at the source, want 3", n)
		}
		if got := len(referrersOf(t, prodRepo, index)); got != 3 {
			t.Fatalf("%d referrers of the index at the destination, want provenance, SBOM and promotion", got)
		}
		for _, tag := range []string{"1.0", "stable"} {
			d, err := remote.Head(prodRepo.Tag(tag), anon)
			if err != nil || d.Digest != index {
				t.Fatalf("tag %s: %v %v", tag, d, err)
			}
		}
	})

	// The attestations at the destination, fetched from its referrers, verify
	// there: the provenance, the SBOM and the promotion attestation.
	oci, err := store.NewOCI([]string{prodRepo.Digest(index.String()).String()}, store.OCIOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := oci.Fetch(context.Background(), index.String())
	if err != nil || len(docs) != 3 {
		t.Fatalf("fetched %d bundles from the destination: %v", len(docs), err)
	}
	bundles := t.TempDir()
	for i, d := range docs {
		os.WriteFile(filepath.Join(bundles, fmt.Sprintf("%d.sigstore.json", i)), d, 0o644)
	}
	for _, pt := range []string{"https://slsa.dev/provenance/v1", "https://spdx.dev/Document/v2.3", promote.PredicateType} {
		t.Run("paved verify "+pt, func(t *testing.T) {
			v := execIn(t, ws, nil, paved, "verify", "oci://"+prodRepo.Digest(index.String()).String(), "--bundle", bundles,
				"--repo", ghRepo, "--cert-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "--predicate-type", pt)
			if v.code != 0 {
				t.Fatalf("paved verify at the destination: %s", v)
			}
		})
	}

	t.Run("promotion attestation", func(t *testing.T) {
		st := statement(t, filepath.Join(ws, "promotion.sigstore.json"))
		if st["predicateType"] != promote.PredicateType || get(st, "subject") == nil {
			t.Fatalf("statement %v", st)
		}
		subj := st["subject"].([]any)[0].(map[string]any)
		if subj["name"] != prodRepo.Name() || get(subj, "digest", "sha256") != index.Hex {
			t.Fatalf("subject %v", subj)
		}
		want := map[string]any{
			"from": stagingRepo.Digest(index.String()).String(), "fromTag": stagingRepo.Tag("1.0").String(),
			"to": prodRepo.Digest(index.String()).String(), "environment": "production",
		}
		pred := st["predicate"]
		for k, v := range want {
			if get(pred, k) != v {
				t.Errorf("predicate %s = %v, want %v", k, get(pred, k), v)
			}
		}
		if get(pred, "verification", "signer") != ghSAN || get(pred, "verification", "predicateType") != "https://slsa.dev/provenance/v1" ||
			get(pred, "run", "signer") != ghSAN || !strings.HasPrefix(get(pred, "run", "runInvocation").(string), "https://github.com/"+ghRepo+"/actions/runs/") {
			raw, _ := json.MarshalIndent(pred, "", "  ")
			t.Errorf("verification or run:\n%s", raw)
		}
		if refs, _ := get(pred, "referrers").([]any); len(refs) != 3 {
			t.Errorf("predicate lists %d referrers, want 3", len(refs))
		}
	})

	t.Run("refusals", func(t *testing.T) {
		unattested, _ := pushIndex(t, stagingRepo.Tag("unattested"))
		evil, evilPlatforms := pushIndex(t, stagingRepo.Tag("evil"))
		attestImage(t, stagingRepo, []v1.Hash{evil, evilPlatforms[0]}, "someone-else/demo")
		other, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(prodRepo.Tag("taken"), other, anon); err != nil {
			t.Fatal(err)
		}
		otherDigest, _ := other.Digest()
		second, _ := pushIndex(t, stagingRepo.Tag("2.0"))
		attestImage(t, stagingRepo, []v1.Hash{second}, ghRepo)

		tests := []struct {
			name   string
			src    v1.Hash
			tag    string
			args   []string
			want   int
			msg    string
			copied bool
		}{
			{"unattested source", unattested, "u", nil, 1, "no attestation of type https://slsa.dev/provenance/v1 verifies", false},
			{"attested by the wrong identity", evil, "e", nil, 1, "not an expected identity", false},
			{"destination tag points elsewhere", second, "taken", nil, 1, "already points at " + otherDigest.String(), false},
			{"by tag with require-digest", second, "r", []string{"--require-digest"}, 2, "--require-digest", false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				src := stagingRepo.Digest(tc.src.String()).String()
				if tc.args != nil {
					src = stagingRepo.Tag("2.0").String()
				}
				r := execIn(t, t.TempDir(), nil, paved, promoteArgs(src, prodRepo.String(), append([]string{"--tag", tc.tag}, tc.args...)...)...)
				if r.code != tc.want || !strings.Contains(r.stderr, tc.msg) {
					t.Fatalf("want exit %d mentioning %q: %s", tc.want, tc.msg, r)
				}
				if _, err := remote.Head(prodRepo.Digest(tc.src.String()), anon); err == nil {
					t.Fatal("the image reached the destination")
				}
				if d, _ := remote.Head(prodRepo.Tag("taken"), anon); d == nil || d.Digest != otherDigest {
					t.Fatal("the taken tag moved")
				}
			})
		}

		for _, tc := range []struct {
			name string
			set  func(p *alteringProxy)
			msg  string
		}{
			{"registry serves an altered blob", func(p *alteringProxy) { p.alterGet = true }, "returned different content for blob"},
			{"proxy alters an uploaded manifest", func(p *alteringProxy) { p.alterPut = true }, "refused the content as sent"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				backend := startRegistry(t)
				p, front := newAlteringProxy(t, backend)
				tc.set(p)
				r := execIn(t, t.TempDir(), nil, paved, promoteArgs(stagingRepo.Digest(second.String()).String(), front+"/paved-dev/demo:2.0")...)
				if r.code != 1 || !strings.Contains(r.stderr, tc.msg) {
					t.Fatalf("want exit 1 mentioning %q: %s", tc.msg, r)
				}
				if d, err := remote.Head(mustTag(t, backend+"/paved-dev/demo:2.0"), anon); err == nil {
					t.Fatalf("tagged %s", d.Digest)
				}
			})
		}

		t.Run("interrupted copy, then rerun", func(t *testing.T) {
			backend := startRegistry(t)
			p, front := newAlteringProxy(t, backend)
			p.dropAll = true
			dir := t.TempDir()
			args := promoteArgs(stagingRepo.Tag("2.0").String(), front+"/paved-dev/demo:2.0")
			r := execIn(t, dir, nil, paved, args...)
			if r.code != 3 || !strings.Contains(r.stderr, "run the promotion again") || strings.Contains(r.stderr, "_state=") || p.dropped == 0 {
				t.Fatalf("want exit 3 after %d dropped uploads: %s", p.dropped, r)
			}
			if _, err := remote.Head(mustTag(t, backend+"/paved-dev/demo:2.0"), anon); err == nil {
				t.Fatal("tagged after an interrupted copy")
			}
			if _, err := os.Stat(filepath.Join(dir, "promotion.sigstore.json")); err == nil {
				t.Fatal("a promotion attestation was signed for an interrupted copy")
			}
			p.mu.Lock()
			p.dropAll = false
			p.mu.Unlock()
			if r := execIn(t, dir, nil, paved, args...); r.code != 0 {
				t.Fatalf("rerun: %s", r)
			}
			backendRepo, _ := name.NewRepository(backend + "/paved-dev/demo")
			sameGraph(t, stagingRepo, backendRepo, second, 0)
			if d, err := remote.Head(backendRepo.Tag("2.0"), anon); err != nil || d.Digest != second {
				t.Fatalf("tag after rerun: %v %v", d, err)
			}
		})
	})
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
