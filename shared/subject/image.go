package subject

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/shared/fail"
)

// ImagePrefix marks an artifact given as an OCI image reference.
const ImagePrefix = "oci://"

// ImageDigest resolves an image reference (a tag or a digest) to its manifest
// digest, once, with the credentials the environment already has (Docker
// config, credential helpers, or kc when set). The name returned is the
// repository without tag or digest. transport and kc may be nil.
func ImageDigest(ctx context.Context, ref string, transport http.RoundTripper, kc authn.Keychain) (repo, digest string, err error) {
	r, err := name.ParseReference(strings.TrimPrefix(ref, ImagePrefix))
	if err != nil {
		return "", "", fail.Configf("image reference %q: %w", ref, err)
	}
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if transport != nil {
		opts = append(opts, remote.WithTransport(transport))
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return "", "", fail.Transientf("resolving image %s to a digest: %w", r, err)
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return "", "", fail.Verificationf("registry answered digest %s for %s", desc.Digest, r)
	}
	return r.Context().Name(), desc.Digest.String(), nil
}
