// Package promote moves an OCI image from one registry to another by digest —
// a single manifest or a multi-arch index with every platform, and every
// referrer attached to it (attestations, SBOMs, signatures) — then reads the
// destination back and proves it holds the same bytes before anything is tagged.
package promote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/origin"
	"github.com/paved-dev/paved/shared/parallel"
)

// Limits that bound what one promotion walks.
const (
	// maxManifests bounds the manifests of one promotion: the image, its
	// platforms and every referrer.
	maxManifests = 4096
	// maxManifestBytes bounds one manifest read back.
	maxManifestBytes = 4 << 20
	// referrerDepth bounds referrers of referrers (a signature on an attestation).
	referrerDepth = 3
)

// Options tune a promotion. The zero value means defaults.
type Options struct {
	// Tags are set at the destination after the proof (tag names, not references).
	Tags []string
	// RequireDigest refuses a source given by tag.
	RequireDigest bool
	// Keychain supplies registry credentials (default authn.DefaultKeychain:
	// the Docker config and credential helpers the job already set up).
	Keychain authn.Keychain
	// Transport sends requests to both registries (default remote.DefaultTransport).
	Transport http.RoundTripper
	// Attempts bounds how often one request or one blob upload is tried
	// (default 3). A blob upload that fails is started again from its beginning.
	Attempts int
	// RetryDelay is the wait before the second try; it triples each time (default 1s).
	RetryDelay time.Duration
	// Jobs is how many blobs are copied or proved at once (default 4).
	Jobs int
	// Admit, when set, is called once with the resolved source before anything
	// is written; an error stops the promotion. The verification gate goes here.
	Admit func(ctx context.Context, src Source) error
	// BeforeTag, when set, runs after the proof and before any tag is set (to
	// attach a promotion attestation first); an error leaves the destination untagged.
	BeforeTag func(ctx context.Context, res *Result) error
	// Log receives one line per step (default: nothing).
	Log io.Writer
}

// Source is the resolved source image.
type Source struct {
	// Reference is REPOSITORY@sha256:HEX; nothing else is read after resolution.
	Reference string
	// Repository is the source repository without tag or digest.
	Repository string
	// Digest is "sha256:HEX".
	Digest string
	// MediaType is the media type of the manifest (an image manifest or an index).
	MediaType string
	// Tag is the tag the source was given by, "" when it was given by digest.
	Tag string
}

// Referrer is one artifact copied because it refers to a copied manifest.
type Referrer struct {
	// Subject is the digest it refers to.
	Subject string `json:"subject"`
	// Digest of the referrer manifest.
	Digest string `json:"digest"`
	// ArtifactType as the source's referrers list reports it.
	ArtifactType string `json:"artifactType,omitempty"`
	// PredicateType of a Sigstore bundle referrer, from its annotations.
	PredicateType string `json:"predicateType,omitempty"`
}

// Result is what was promoted and proved.
type Result struct {
	Source Source
	// Destination is DESTINATION_REPOSITORY@sha256:HEX.
	Destination string
	// Digest is "sha256:HEX", the same at both ends.
	Digest string
	// Manifests are the digests of the image's manifests (the index and its
	// platforms, or the one manifest), read back from the destination byte for byte.
	Manifests []string
	// Referrers were copied and are listed at the destination.
	Referrers []Referrer
	// Blobs is how many distinct blobs were proved at the destination, and Bytes their size.
	Blobs int
	Bytes int64
	// Tags are the destination references to tag after the proof (known
	// before BeforeTag runs); Tagged are those tagged so far.
	Tags   []string
	Tagged []string
}

// node is one manifest to copy, with the bytes read from the source.
type node struct {
	digest    v1.Hash
	mediaType types.MediaType
	raw       []byte
	blobs     []v1.Descriptor
	referrer  *Referrer
}

func (n node) RawManifest() ([]byte, error)        { return n.raw, nil }
func (n node) MediaType() (types.MediaType, error) { return n.mediaType, nil }

var _ remote.Taggable = node{}

// session is one promotion's clients and state.
type session struct {
	o      Options
	src    name.Repository
	dst    name.Repository
	pull   *remote.Puller
	push   *remote.Pusher
	ropts  []remote.Option
	nodes  []node
	seen   map[v1.Hash]bool
	logger io.Writer
}

// Resolve resolves a source reference (a tag or a digest, with or without an
// oci:// prefix) to its digest, once.
func Resolve(ctx context.Context, src string, o Options) (Source, error) {
	ref, err := parseSource(src, o.RequireDigest)
	if err != nil {
		return Source{}, err
	}
	o = o.withDefaults()
	desc, err := remote.Head(ref, remoteOptions(ctx, o)...)
	if err != nil {
		return Source{}, netErr(fmt.Sprintf("resolving %s", ref), err)
	}
	return sourceOf(ref, desc)
}

func sourceOf(ref name.Reference, desc *v1.Descriptor) (Source, error) {
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return Source{}, fail.Verificationf("the source registry answered digest %s for %s", desc.Digest, ref)
	}
	if desc.Digest.Algorithm != "sha256" {
		return Source{}, fail.Configf("source %s has a %s digest: only sha256 images can be promoted", ref, desc.Digest.Algorithm)
	}
	s := Source{
		Reference:  ref.Context().Digest(desc.Digest.String()).String(),
		Repository: ref.Context().Name(),
		Digest:     desc.Digest.String(),
		MediaType:  string(desc.MediaType),
	}
	if t, ok := ref.(name.Tag); ok {
		s.Tag = t.TagStr()
	}
	return s, nil
}

// Promote copies src (a tag, resolved once, or a digest) to the repository dst
// by digest, with every platform and every referrer, reads the destination back
// and proves every manifest and blob is identical, then sets Options.Tags. dst
// is a repository, optionally with a tag (added to Options.Tags) or with the
// source's digest.
//
// A destination tag that already names other content is refused before
// anything is written. When the proof fails nothing is tagged. Blobs already at
// the destination are not uploaded again, so a promotion that was interrupted
// completes when it is run again.
func Promote(ctx context.Context, src, dst string, o Options) (*Result, error) {
	srcRef, err := parseSource(src, o.RequireDigest)
	if err != nil {
		return nil, err
	}
	dstRepo, tags, wantDigest, err := parseDestination(dst, o.Tags)
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	s := &session{o: o, src: srcRef.Context(), dst: dstRepo, seen: map[v1.Hash]bool{}, logger: o.Log}
	s.ropts = remoteOptions(ctx, o)
	if s.pull, err = remote.NewPuller(s.ropts...); err != nil {
		return nil, err
	}
	if s.push, err = remote.NewPusher(s.ropts...); err != nil {
		return nil, err
	}
	s.ropts = append(s.ropts, remote.Reuse(s.pull), remote.Reuse(s.push))

	root, err := s.pull.Get(ctx, srcRef)
	if err != nil {
		return nil, netErr(fmt.Sprintf("resolving %s", srcRef), err)
	}
	source, err := sourceOf(srcRef, &root.Descriptor)
	if err != nil {
		return nil, err
	}
	s.logf("promote: %s resolved to %s", srcRef, source.Reference)
	if wantDigest != "" && wantDigest != source.Digest {
		return nil, fail.Configf("destination %s names digest %s but the source is %s: a promotion keeps the digest; name the destination repository (and a tag) only", dst, wantDigest, source.Digest)
	}
	res := &Result{Source: source, Digest: source.Digest, Destination: dstRepo.Digest(source.Digest).String()}
	for _, t := range tags {
		res.Tags = append(res.Tags, dstRepo.Tag(t).String())
	}
	if o.Admit != nil {
		if err := o.Admit(ctx, source); err != nil {
			return nil, err
		}
	}
	for _, t := range tags {
		if err := s.checkTag(ctx, t, root.Digest); err != nil {
			return nil, err
		}
	}

	if err := s.walk(ctx, root.Digest, root.Manifest, root.MediaType, nil); err != nil {
		return nil, err
	}
	imageNodes := len(s.nodes)
	// walk appends a manifest after the ones it lists: the image itself is last.
	image := s.nodes[imageNodes-1]
	for i := 0; i < imageNodes; i++ {
		if err := s.referrers(ctx, s.nodes[i].digest, 1); err != nil {
			return nil, err
		}
	}
	for _, n := range s.nodes[:imageNodes] {
		res.Manifests = append(res.Manifests, n.digest.String())
	}
	for _, n := range s.nodes[imageNodes:] {
		if n.referrer != nil {
			res.Referrers = append(res.Referrers, *n.referrer)
		}
	}

	if err := s.copy(ctx); err != nil {
		return nil, err
	}
	if res.Blobs, res.Bytes, err = s.prove(ctx); err != nil {
		return nil, err
	}
	s.logf("promote: proved %d manifests, %d referrers and %d blobs at %s", imageNodes, len(res.Referrers), res.Blobs, res.Destination)
	if o.BeforeTag != nil {
		if err := o.BeforeTag(ctx, res); err != nil {
			return nil, err
		}
	}
	for _, t := range tags {
		if err := s.tag(ctx, t, image); err != nil {
			return res, err
		}
		res.Tagged = append(res.Tagged, dstRepo.Tag(t).String())
	}
	return res, nil
}

func (o Options) withDefaults() Options {
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

func (o Options) backoff() remote.Backoff {
	return remote.Backoff{Duration: o.RetryDelay, Factor: 3, Jitter: 0.1, Steps: o.Attempts}
}

func remoteOptions(ctx context.Context, o Options) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain), remote.WithRetryBackoff(o.backoff()), remote.WithJobs(o.Jobs)}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	return opts
}

func (s *session) logf(format string, args ...any) {
	fmt.Fprintf(s.logger, format+"\n", args...)
}

// parseSource accepts IMAGE:TAG or IMAGE@sha256:HEX; a bare repository would
// silently mean :latest, so it is refused.
func parseSource(src string, requireDigest bool) (name.Reference, error) {
	s := strings.TrimPrefix(strings.TrimSpace(src), "oci://")
	if s == "" {
		return nil, fail.Configf("no source image: name it as IMAGE@sha256:HEX (or IMAGE:TAG)")
	}
	if strings.Contains(s, "@") {
		d, err := name.NewDigest(s)
		if err != nil {
			return nil, fail.Configf("source %q: %w", src, err)
		}
		return d, nil
	}
	if requireDigest {
		return nil, fail.Configf("source %q is not pinned by digest and --require-digest is set: name it as IMAGE@sha256:HEX", src)
	}
	if !hasTag(s) {
		return nil, fail.Configf("source %q names neither a tag nor a digest: add :TAG or @sha256:HEX (an implicit :latest is not promoted)", src)
	}
	t, err := name.NewTag(s)
	if err != nil {
		return nil, fail.Configf("source %q: %w", src, err)
	}
	return t, nil
}

// parseDestination splits REPOSITORY[:TAG|@DIGEST] and validates the tags.
func parseDestination(dst string, tags []string) (name.Repository, []string, string, error) {
	s := strings.TrimPrefix(strings.TrimSpace(dst), "oci://")
	var digest string
	if repo, d, ok := strings.Cut(s, "@"); ok {
		if _, err := v1.NewHash(d); err != nil {
			return name.Repository{}, nil, "", fail.Configf("destination %q: %w", dst, err)
		}
		s, digest = repo, d
	}
	var out []string
	if hasTag(s) {
		t, err := name.NewTag(s)
		if err != nil {
			return name.Repository{}, nil, "", fail.Configf("destination %q: %w", dst, err)
		}
		s = t.Context().Name()
		out = append(out, t.TagStr())
	}
	repo, err := name.NewRepository(s)
	if err != nil || s == "" {
		return name.Repository{}, nil, "", fail.Configf("destination %q is not a repository reference: name it as REGISTRY/REPOSITORY[:TAG]", dst)
	}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !tagRE.MatchString(t) {
			return name.Repository{}, nil, "", fail.Configf("tag %q is not a valid tag name: use letters, digits, '_', '.' and '-' (up to 128 characters)", t)
		}
		if !contains(out, t) {
			out = append(out, t)
		}
	}
	return repo, out, digest, nil
}

// tagRE is the tag grammar of the OCI distribution specification.
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// hasTag reports whether the last path segment carries a :TAG (a registry
// port has a '/' after it).
func hasTag(s string) bool {
	i := strings.LastIndex(s, "/")
	return strings.Contains(s[i+1:], ":")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// walk records the manifest d and, for an index, every manifest it lists,
// children first so that they are written before their parent.
func (s *session) walk(ctx context.Context, d v1.Hash, raw []byte, mt types.MediaType, ref *Referrer) error {
	if s.seen[d] {
		return nil
	}
	if len(s.nodes) >= maxManifests {
		return fail.Configf("%s has more than %d manifests and referrers: refusing to promote an unbounded graph", s.src, maxManifests)
	}
	s.seen[d] = true
	if raw == nil {
		desc, err := s.pull.Get(ctx, s.src.Digest(d.String()))
		if err != nil {
			return netErr(fmt.Sprintf("reading %s@%s", s.src, d), err)
		}
		raw, mt = desc.Manifest, desc.MediaType
	}
	n := node{digest: d, mediaType: mt, raw: raw, referrer: ref}
	switch {
	case mt.IsIndex():
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fail.Verificationf("index %s@%s: %w", s.src, d, err)
		}
		for _, c := range im.Manifests {
			switch {
			case c.MediaType.IsIndex() || c.MediaType.IsImage():
				if err := s.walk(ctx, c.Digest, nil, "", nil); err != nil {
					return err
				}
			case c.MediaType.IsDistributable():
				n.blobs = append(n.blobs, c)
			}
		}
	case mt.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return fail.Verificationf("manifest %s@%s: %w", s.src, d, err)
		}
		n.blobs = append(n.blobs, m.Config)
		for _, l := range m.Layers {
			// Foreign layers live elsewhere; registries do not hold them.
			if l.MediaType.IsDistributable() {
				n.blobs = append(n.blobs, l)
			}
		}
	default:
		return fail.Configf("%s@%s has media type %q: only OCI and Docker v2 images and indexes can be promoted", s.src, d, mt)
	}
	s.nodes = append(s.nodes, n)
	return nil
}

// referrers adds every manifest that refers to subject (through the OCI 1.1
// referrers API, or the sha256-HEX tag of registries without it), and theirs.
func (s *session) referrers(ctx context.Context, subject v1.Hash, depth int) error {
	if depth > referrerDepth {
		return nil
	}
	idx, err := remote.Referrers(s.src.Digest(subject.String()), s.ropts...)
	if err != nil {
		return netErr(fmt.Sprintf("listing the referrers of %s@%s", s.src, subject), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return netErr(fmt.Sprintf("listing the referrers of %s@%s", s.src, subject), err)
	}
	for _, d := range im.Manifests {
		if s.seen[d.Digest] {
			continue
		}
		r := &Referrer{Subject: subject.String(), Digest: d.Digest.String(), ArtifactType: d.ArtifactType, PredicateType: d.Annotations["dev.sigstore.bundle.predicateType"]}
		before := len(s.nodes)
		if err := s.walk(ctx, d.Digest, nil, "", nil); err != nil {
			return err
		}
		// walk appends the referrer last, after any manifests it lists.
		s.nodes[len(s.nodes)-1].referrer = r
		for _, n := range s.nodes[before:] {
			if err := s.referrers(ctx, n.digest, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// copy uploads every blob (skipping those the destination has), then puts
// every manifest by digest, children before parents and subjects before
// their referrers.
func (s *session) copy(ctx context.Context) error {
	var blobs []v1.Descriptor
	seen := map[v1.Hash]bool{}
	for _, n := range s.nodes {
		for _, b := range n.blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				blobs = append(blobs, b)
			}
		}
	}
	s.logf("promote: copying %d manifests and %d blobs to %s", len(s.nodes), len(blobs), s.dst)
	err := eachBlob(ctx, s.o.Jobs, len(blobs), func(i int) error {
		l, err := s.pull.Layer(ctx, s.src.Digest(blobs[i].Digest.String()))
		if err != nil {
			return netErr(fmt.Sprintf("reading blob %s", blobs[i].Digest), err)
		}
		if err := s.push.Upload(ctx, s.dst, l); err != nil {
			return netErr(fmt.Sprintf("copying blob %s to %s", blobs[i].Digest, s.dst), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range s.nodes {
		if err := s.push.Put(ctx, s.dst.Digest(n.digest.String()), n); err != nil {
			return netErr(fmt.Sprintf("copying manifest %s to %s", n.digest, s.dst), err)
		}
	}
	return nil
}

// prove reads every manifest and blob back from the destination by digest and
// compares digests (and manifest bytes), then checks that every referrer is
// listed for its subject there. It uses its own requests so that the check does
// not depend on the copy's code paths.
func (s *session) prove(ctx context.Context) (int, int64, error) {
	rt, err := s.reader(ctx)
	if err != nil {
		return 0, 0, err
	}
	base := s.dst.Registry.Scheme() + "://" + s.dst.RegistryStr() + "/v2/" + s.dst.RepositoryStr()
	for _, n := range s.nodes {
		got, err := fetch(ctx, rt, base+"/manifests/"+n.digest.String(), accept(n.mediaType), maxManifestBytes)
		if err != nil {
			return 0, 0, netErr(fmt.Sprintf("reading back manifest %s from %s", n.digest, s.dst), err)
		}
		if h := sha256.Sum256(got); hex.EncodeToString(h[:]) != n.digest.Hex || !bytes.Equal(got, n.raw) {
			return 0, 0, fail.Verificationf("the destination %s returned different bytes for manifest %s (sha256:%s, %d bytes; %d copied): the registry rewrites content, so the promoted digest cannot be trusted there; nothing was tagged",
				s.dst, n.digest, hex.EncodeToString(h[:]), len(got), len(n.raw))
		}
	}
	var blobs []v1.Descriptor
	seen := map[v1.Hash]bool{}
	var total int64
	for _, n := range s.nodes {
		for _, b := range n.blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				blobs = append(blobs, b)
				total += b.Size
			}
		}
	}
	err = eachBlob(ctx, s.o.Jobs, len(blobs), func(i int) error {
		b := blobs[i]
		sum, size, err := hashURL(ctx, rt, base+"/blobs/"+b.Digest.String(), b.Size)
		if err != nil {
			return netErr(fmt.Sprintf("reading back blob %s from %s", b.Digest, s.dst), err)
		}
		if sum != b.Digest.Hex || size != b.Size {
			return fail.Verificationf("the destination %s returned different content for blob %s (sha256:%s, %d bytes; want %d): the registry rewrites content; nothing was tagged", s.dst, b.Digest, sum, size, b.Size)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	listed := map[v1.Hash]map[string]bool{}
	for _, n := range s.nodes {
		if n.referrer == nil {
			continue
		}
		subj, _ := v1.NewHash(n.referrer.Subject)
		if listed[subj] == nil {
			idx, err := remote.Referrers(s.dst.Digest(subj.String()), s.ropts...)
			if err != nil {
				return 0, 0, netErr(fmt.Sprintf("listing the referrers of %s@%s", s.dst, subj), err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				return 0, 0, netErr(fmt.Sprintf("listing the referrers of %s@%s", s.dst, subj), err)
			}
			listed[subj] = map[string]bool{}
			for _, d := range im.Manifests {
				listed[subj][d.Digest.String()] = true
			}
		}
		if !listed[subj][n.referrer.Digest] {
			return 0, 0, fail.Verificationf("the destination %s does not list referrer %s of %s after the copy: its referrers list lost an entry; run the promotion again", s.dst, n.referrer.Digest, subj)
		}
	}
	return len(blobs), total, nil
}

// reader returns an authenticated transport for pulls from the destination.
func (s *session) reader(ctx context.Context) (http.RoundTripper, error) {
	auth, err := authn.Resolve(ctx, s.o.Keychain, s.dst.Registry)
	if err != nil {
		return nil, fail.Configf("credentials for %s: %w", s.dst.RegistryStr(), err)
	}
	base := s.o.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	rt, err := transport.NewWithContext(ctx, s.dst.Registry, auth, base, []string{s.dst.Scope(transport.PullScope)})
	if err != nil {
		return nil, netErr(fmt.Sprintf("authenticating to %s", s.dst.RegistryStr()), err)
	}
	return transport.NewRetry(rt, transport.WithRetryBackoff(s.o.backoff())), nil
}

func accept(mt types.MediaType) string {
	all := []string{string(types.OCIImageIndex), string(types.OCIManifestSchema1), string(types.DockerManifestList), string(types.DockerManifestSchema2)}
	if !contains(all, string(mt)) && mt != "" {
		all = append([]string{string(mt)}, all...)
	}
	return strings.Join(all, ",")
}

func fetch(ctx context.Context, rt http.RoundTripper, url, accept string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := origin.Client(rt).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// hashURL streams a blob through SHA-256, reading at most want+1 bytes.
func hashURL(ctx context.Context, rt http.RoundTripper, url string, want int64) (string, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := origin.Client(rt).Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, want+1))
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// checkTag refuses a destination tag that already names other content.
func (s *session) checkTag(ctx context.Context, tag string, want v1.Hash) error {
	ref := s.dst.Tag(tag)
	desc, err := remote.Head(ref, s.ropts...)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return netErr(fmt.Sprintf("reading destination tag %s", ref), err)
	}
	if desc.Digest != want {
		return fail.Verificationf("destination tag %s already points at %s, not the promoted %s: promote under a new tag (tags are not moved), or remove that tag deliberately first", ref, desc.Digest, want)
	}
	return nil
}

// tag points tag at the proved manifest and confirms it resolves to it.
func (s *session) tag(ctx context.Context, tag string, root node) error {
	if err := s.checkTag(ctx, tag, root.digest); err != nil {
		return err
	}
	ref := s.dst.Tag(tag)
	if err := s.push.Put(ctx, ref, root); err != nil {
		return netErr(fmt.Sprintf("tagging %s", ref), err)
	}
	desc, err := remote.Head(ref, s.ropts...)
	if err != nil {
		return netErr(fmt.Sprintf("reading back tag %s", ref), err)
	}
	if desc.Digest != root.digest {
		return fail.Verificationf("tag %s resolves to %s after tagging, want %s: the registry rewrote the tagged manifest", ref, desc.Digest, root.digest)
	}
	s.logf("promote: tagged %s", ref)
	return nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return false
}

// netErr classifies a registry failure: refused credentials are a
// configuration problem, missing content is a verification problem, the rest
// is transient.
func netErr(op string, err error) error {
	// Upload URLs carry registry session state in their query; it helps no reader.
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			ue.URL = u.String()
		}
	}
	if fail.ClassOf(err) != fail.Internal {
		return fmt.Errorf("%s: %w", op, err)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return fail.Configf("%s: %w (check the registry credentials in the Docker config: pull on the source, push on the destination)", op, err)
		case isNotFound(err):
			return fail.Verificationf("%s: not found: %w", op, err)
		}
		for _, d := range te.Errors {
			if d.Code == transport.DigestInvalidErrorCode || d.Code == transport.ManifestInvalidErrorCode || d.Code == transport.BlobUploadInvalidErrorCode {
				return fail.Verificationf("%s: the registry refused the content as sent (%s): something between the registries altered it: %w", op, d.Code, err)
			}
		}
	}
	return fail.Transientf("%s: %w; nothing was tagged, run the promotion again to complete it", op, err)
}

// eachBlob runs fn for 0..n-1 on up to jobs goroutines. Every blob is tried
// even after one fails; the first error in sorted order is returned, so the
// message does not depend on scheduling.
func eachBlob(ctx context.Context, jobs, n int, fn func(i int) error) error {
	results := make([]error, n)
	err := parallel.Each(ctx, n, jobs, func(_ context.Context, i int) error {
		results[i] = fn(i)
		return nil
	})
	var errs []error
	for _, e := range results {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if err != nil && len(errs) == 0 {
		return fail.Transientf("promotion interrupted: %w", err)
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs[0]
}
