package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/bounded"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/retry"
)

// Annotations of the referrer manifests, as Sigstore clients write them.
const (
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationContent       = "dev.sigstore.bundle.content"
)

// emptyConfig is the OCI 1.1 empty descriptor's content; artifacts without a
// config use it.
var emptyConfig = []byte("{}")

const emptyMediaType = types.MediaType("application/vnd.oci.empty.v1+json")

// OCIOptions configure the OCI registry target. The zero value means defaults.
type OCIOptions struct {
	// Keychain supplies registry credentials (default authn.DefaultKeychain:
	// the Docker config and credential helpers the CI job already set up).
	Keychain authn.Keychain
	HTTPOptions
	// Platforms also attaches the bundle to each platform manifest of a
	// multi-arch index whose digest the bundle names as a subject.
	Platforms bool
	// Settle is how long a write through the referrers tag schema must stay
	// visible before it counts as confirmed (default 1s). Registries without the
	// referrers API keep the list in one tag that concurrent writers rewrite;
	// a writer whose entry was lost to another's stale rewrite adds it again.
	Settle time.Duration
	// Tries bounds how often a lost tag-schema entry is written again (default 5).
	Tries int
	// Sleep waits (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// OCI attaches bundles to container images as OCI 1.1 referrers, and fetches
// them again from the images' repositories.
type OCI struct {
	images []name.Reference
	o      OCIOptions
}

var (
	_ Writer  = (*OCI)(nil)
	_ Fetcher = (*OCI)(nil)
)

// NewOCI returns the target for images, given by tag or digest.
func NewOCI(images []string, o OCIOptions) (*OCI, error) {
	if len(images) == 0 {
		return nil, fail.Configf("no image to attach the attestation to: set registry-image")
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Settle <= 0 {
		o.Settle = time.Second
	}
	if o.Tries <= 0 {
		o.Tries = 5
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	t := &OCI{o: o}
	for _, s := range images {
		r, err := name.ParseReference(strings.TrimPrefix(strings.TrimSpace(s), "oci://"))
		if err != nil {
			return nil, fail.Configf("registry-image %q: %w", s, err)
		}
		t.images = append(t.images, r)
	}
	return t, nil
}

// Name implements Writer.
func (t *OCI) Name() string { return "OCI registry" }

func (t *OCI) opts(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(t.o.Keychain), remote.WithTransport(retry.Over(t.o.Transport, t.o.Retry))}
}

// referrer is one manifest to push: the bundle as an artifact referring to subject.
type referrer struct {
	raw    []byte
	digest v1.Hash
}

func (r referrer) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r referrer) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// manifest builds the referrer manifest. It holds nothing that changes between
// runs, so the same bundle always gives the same manifest digest.
func manifest(b Bundle, subject v1.Descriptor) (referrer, error) {
	cfg, _, _ := v1.SHA256(bytes.NewReader(emptyConfig))
	layer, _, _ := v1.SHA256(bytes.NewReader(b.JSON))
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: emptyMediaType, Size: int64(len(emptyConfig)), Digest: cfg, Data: emptyConfig},
		Layers:        []v1.Descriptor{{MediaType: BundleMediaType, Size: int64(len(b.JSON)), Digest: layer}},
		Annotations:   map[string]string{AnnotationContent: "dsse-envelope"},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest},
	}
	if b.PredicateType != "" {
		m.Annotations[AnnotationPredicateType] = b.PredicateType
	} else {
		m.Annotations[AnnotationContent] = "message-signature"
	}
	raw, err := json.Marshal(struct {
		v1.Manifest
		ArtifactType string `json:"artifactType"`
	}{m, BundleMediaType})
	if err != nil {
		return referrer{}, err
	}
	sum := sha256.Sum256(raw)
	return referrer{raw: raw, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}, nil
}

// Put implements Writer: for every image (and, with Platforms, its platform
// manifests the bundle is about) the bundle is pushed as a referrer unless it
// is already listed, then read back through the referrers list and compared by
// digest.
func (t *OCI) Put(ctx context.Context, b Bundle) (Receipt, error) {
	r, err := t.put(ctx, b)
	if err == nil && len(r.Locations) > 0 {
		r.Outputs = map[string]string{OutputRegistryReferrer: strings.Join(r.Locations, "\n")}
	}
	return r, err
}

func (t *OCI) put(ctx context.Context, b Bundle) (Receipt, error) {
	r := Receipt{Target: t.Name(), Existed: true}
	opts := t.opts(ctx)
	for _, img := range t.images {
		desc, err := remote.Get(img, opts...)
		if err != nil {
			return Receipt{}, storeError(fmt.Sprintf("reading image %s", img), err)
		}
		if d, ok := img.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
			return Receipt{}, fail.Verificationf("registry answered digest %s for %s", desc.Digest, img)
		}
		if !b.About(desc.Digest.String()) {
			return Receipt{}, fail.Configf("the attestation is not about image %s (%s): attest the image itself (subject-digest NAME@%s) or leave it out of registry-image", img, desc.Digest, desc.Digest)
		}
		subjects := []v1.Descriptor{desc.Descriptor}
		if t.o.Platforms && desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				return Receipt{}, storeError(fmt.Sprintf("reading index %s", img), err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return Receipt{}, storeError(fmt.Sprintf("reading index %s", img), err)
			}
			for _, m := range im.Manifests {
				if b.About(m.Digest.String()) {
					subjects = append(subjects, m)
				}
			}
		}
		for _, s := range subjects {
			ref, existed, err := t.attach(ctx, img.Context(), s, b, opts)
			if err != nil {
				return Receipt{}, err
			}
			r.Existed = r.Existed && existed
			r.ID = ref.digest.String()
			r.Locations = append(r.Locations, img.Context().Digest(ref.digest.String()).String())
		}
	}
	return r, nil
}

// attach pushes the referrer of b to subject in repo and confirms it.
func (t *OCI) attach(ctx context.Context, repo name.Repository, subject v1.Descriptor, b Bundle, opts []remote.Option) (referrer, bool, error) {
	ref, err := manifest(b, subject)
	if err != nil {
		return referrer{}, false, err
	}
	subj := repo.Digest(subject.Digest.String())
	listed, tagSchema, err := t.listed(subj, ref.digest, opts)
	if err != nil {
		return referrer{}, false, err
	}
	if listed {
		return ref, true, t.compare(repo, ref, b, opts)
	}
	for _, blob := range []struct {
		data []byte
		mt   types.MediaType
	}{{emptyConfig, emptyMediaType}, {b.JSON, BundleMediaType}} {
		if err := remote.WriteLayer(repo, static.NewLayer(blob.data, blob.mt), opts...); err != nil {
			return referrer{}, false, storeError(fmt.Sprintf("uploading to %s", repo), err)
		}
	}
	seen := 0
	for try := 1; ; try++ {
		if err := remote.Put(repo.Digest(ref.digest.String()), ref, opts...); err != nil {
			return referrer{}, false, storeError(fmt.Sprintf("pushing the referrer of %s", subj), err)
		}
		for {
			listed, _, err := t.listed(subj, ref.digest, opts)
			if err != nil {
				return referrer{}, false, fmt.Errorf("reading back: %w", err)
			}
			if !listed {
				seen = 0
				break
			}
			seen++
			if !tagSchema || seen >= 2 {
				return ref, false, t.compare(repo, ref, b, opts)
			}
			// Another writer may be rewriting the tag from a list read before
			// ours was added; look again once its write has landed.
			if err := t.o.Sleep(ctx, t.o.Settle); err != nil {
				return referrer{}, false, err
			}
		}
		if try >= t.o.Tries {
			return referrer{}, false, fail.Transientf("the registry does not list the attestation pushed to %s after %d tries: the write was lost (a silent no-op or concurrent writers)", subj, try)
		}
		// Jitter so that writers that lost each other do not collide again.
		if err := t.o.Sleep(ctx, time.Duration(50+rand.IntN(250))*time.Millisecond); err != nil {
			return referrer{}, false, err
		}
	}
}

// listed reports whether manifest is among the referrers of subj, and whether
// the registry keeps referrers through the tag schema (no referrers API).
func (t *OCI) listed(subj name.Digest, manifest v1.Hash, opts []remote.Option) (bool, bool, error) {
	tagSchema := false
	idx, err := remote.Referrers(subj, append(opts, remote.WithReferrersTagFallback(false))...)
	if err != nil && strings.Contains(err.Error(), "does not support the Referrers API") {
		tagSchema = true
		idx, err = remote.Referrers(subj, opts...)
	}
	if err != nil {
		return false, tagSchema, storeError(fmt.Sprintf("listing referrers of %s", subj), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return false, tagSchema, storeError(fmt.Sprintf("listing referrers of %s", subj), err)
	}
	for _, d := range im.Manifests {
		if d.Digest == manifest {
			return true, tagSchema, nil
		}
	}
	return false, tagSchema, nil
}

// compare reads the referrer manifest and its bundle back and checks both digests.
func (t *OCI) compare(repo name.Repository, ref referrer, b Bundle, opts []remote.Option) error {
	got, err := t.bundleOf(repo, ref.digest, opts)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", repo.Digest(ref.digest.String()), err)
	}
	if !bytes.Equal(got, b.JSON) {
		return fail.Verificationf("reading back %s: the registry returned a different bundle", repo.Digest(ref.digest.String()))
	}
	return nil
}

// bundleOf returns the bundle layer of a referrer manifest; remote verifies
// the manifest and blob digests as it reads them.
func (t *OCI) bundleOf(repo name.Repository, manifest v1.Hash, opts []remote.Option) ([]byte, error) {
	img, err := remote.Image(repo.Digest(manifest.String()), opts...)
	if err != nil {
		return nil, storeError("reading referrer manifest", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, storeError("reading referrer manifest", err)
	}
	for _, l := range m.Layers {
		if l.MediaType != BundleMediaType {
			continue
		}
		if l.Size > maxBundle {
			return nil, fail.Verificationf("bundle layer %s is larger than %d bytes", l.Digest, maxBundle)
		}
		layer, err := remote.Layer(repo.Digest(l.Digest.String()), opts...)
		if err != nil {
			return nil, storeError("reading bundle blob", err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, storeError("reading bundle blob", err)
		}
		data, err := bounded.Read(rc, maxBundle)
		rc.Close()
		if err != nil {
			return nil, storeError("reading bundle blob", err)
		}
		if h, _, _ := v1.SHA256(bytes.NewReader(data)); h != l.Digest {
			return nil, fail.Verificationf("bundle blob digest %s, manifest says %s", h, l.Digest)
		}
		return data, nil
	}
	return nil, errNoBundle
}

// maxReferrers bounds the referrers of one digest that Fetch reads.
const maxReferrers = 512

// errNoBundle marks a referrer that is not a Sigstore bundle.
var errNoBundle = errors.New("referrer holds no Sigstore bundle")

// Fetch implements Fetcher: the Sigstore bundles attached to digest (an image
// or platform manifest) in each configured image's repository.
func (t *OCI) Fetch(ctx context.Context, digest string) ([][]byte, error) {
	opts := t.opts(ctx)
	h, err := v1.NewHash(strings.ToLower(digest))
	if err != nil {
		return nil, fail.Configf("digest %q: %w", digest, err)
	}
	var out [][]byte
	seen := map[string]bool{}
	for _, img := range t.images {
		repo := img.Context()
		if seen[repo.String()] {
			continue
		}
		seen[repo.String()] = true
		idx, err := remote.Referrers(repo.Digest(h.String()), opts...)
		if err != nil {
			return nil, storeError(fmt.Sprintf("listing referrers of %s@%s", repo, h), err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, storeError(fmt.Sprintf("listing referrers of %s@%s", repo, h), err)
		}
		fetched := 0
		for _, d := range im.Manifests {
			// Some registries report the config media type instead of the
			// manifest's artifactType, so empty-config artifacts are looked into.
			if d.ArtifactType != BundleMediaType && d.ArtifactType != string(emptyMediaType) && d.ArtifactType != "" {
				continue
			}
			// Each one costs two requests and up to maxBundle bytes kept.
			if fetched++; fetched > maxReferrers {
				return nil, fail.Verificationf("%s@%s has more than %d referrers that may hold Sigstore bundles: the registry's answer is refused", repo, h, maxReferrers)
			}
			data, err := t.bundleOf(repo, d.Digest, opts)
			if errors.Is(err, errNoBundle) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, data)
		}
	}
	return out, nil
}
