// Package trust loads the trust material for signing and verification: a
// Sigstore trusted root (which CAs, logs and timestamp authorities to believe) and
// a signing config (which service URLs to use). The default is the public-good
// Sigstore instance through TUF; any private instance works through files.
package trust

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

	"github.com/paved-dev/paved/shared/fail"
)

// Material is what signing and verification need.
type Material struct {
	// Root is the trusted root.
	Root *root.TrustedRoot
	// RootJSON is Root as JSON, for writing beside bundles and verification kits.
	RootJSON []byte
	// Signing is the signing config; nil when only verification was asked for.
	Signing *root.SigningConfig
	// Source says where the material came from, for summaries.
	Source string
	// Note, when set, is a line the caller must show: the material is not
	// what was asked for (the embedded root stood in for TUF).
	Note string
}

// Options select the material. The zero value means public-good Sigstore via TUF.
type Options struct {
	// TrustedRootPath is a trusted_root.json file; with it, TUF is not used.
	TrustedRootPath string
	// SigningConfigPath is a signing_config.json (v0.2) file. Required for signing
	// with a TrustedRootPath, ignored for verification.
	SigningConfigPath string
	// TUFCacheDir is where TUF metadata is cached (default: $HOME/.sigstore/root
	// via sigstore-go; CI front doors point it into the runner's temp dir).
	TUFCacheDir string
	// TUFMirror overrides the public-good TUF repository URL.
	TUFMirror string
	// TUFRoot is the initial root.json of a TUF repository other than
	// public-good's (with TUFMirror): a private Sigstore instance that
	// publishes its trusted root through TUF.
	TUFRoot []byte
	// Offline uses the TUF cache as it is, without refreshing it.
	Offline bool
	// Staging uses Sigstore's staging instance instead of public-good.
	Staging bool
	// ForSigning also loads the signing config.
	ForSigning bool
	// Transport fetches TUF metadata (default http.DefaultTransport).
	Transport http.RoundTripper
	// EmbeddedFallback, for verification against public-good Sigstore
	// (no ForSigning, mirror, TUF root or Staging), uses the public-good
	// trusted root embedded in Paved when TUF cannot be reached, and says so
	// in Material.Note. Signing never falls back: it needs the services anyway.
	EmbeddedFallback bool
}

// Load returns the trust material.
func Load(ctx context.Context, o Options) (*Material, error) {
	if o.TrustedRootPath != "" {
		return fromFiles(o)
	}
	if o.SigningConfigPath != "" {
		return nil, fail.Configf("--signing-config was given without --trusted-root: a private Sigstore instance needs both files")
	}
	m, err := fromTUF(ctx, o)
	if err == nil || !o.EmbeddedFallback || o.ForSigning || o.Staging || o.TUFMirror != "" || len(o.TUFRoot) > 0 || fail.ClassOf(err) != fail.Transient {
		return m, err
	}
	return embedded(err)
}

// The public-good trusted root as of the build, refreshed through TUF by
// each release (make trust-root), for verifying where TUF cannot be reached.
var (
	//go:embed publicgood/trusted_root.json
	embeddedRoot []byte
	//go:embed publicgood/as-of
	embeddedAsOf string
)

// EmbeddedAsOf is the date the embedded public-good trusted root was taken
// from TUF.
func EmbeddedAsOf() string { return strings.TrimSpace(embeddedAsOf) }

// embedded is the public-good trusted root embedded in Paved, standing in
// for TUF, which failed with tufErr.
func embedded(tufErr error) (*Material, error) {
	tr, err := root.NewTrustedRootFromJSON(embeddedRoot)
	if err != nil {
		return nil, fmt.Errorf("parsing the embedded public-good trusted root: %w", err)
	}
	return &Material{
		Root: tr, RootJSON: embeddedRoot,
		Source: "public-good Sigstore (trusted root embedded in Paved, as of " + EmbeddedAsOf() + ")",
		Note: fmt.Sprintf("note: %v\nnote: verifying with the public-good trusted root embedded in Paved at build time (as of %s): "+
			"keys added or revoked since then are not known; pass --trusted-root FILE to choose the root", tufErr, EmbeddedAsOf()),
	}, nil
}

func fromFiles(o Options) (*Material, error) {
	data, err := os.ReadFile(o.TrustedRootPath)
	if err != nil {
		return nil, fail.Configf("reading trusted root: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fail.Configf("trusted root %s is not a Sigstore trusted root (application/vnd.dev.sigstore.trustedroot+json): %w", o.TrustedRootPath, err)
	}
	m := &Material{Root: tr, RootJSON: data, Source: o.TrustedRootPath}
	if o.ForSigning {
		if o.SigningConfigPath == "" {
			return nil, fail.Configf("signing with --trusted-root %s also needs --signing-config: the signing config names the Fulcio, timestamp and Rekor URLs of that instance", o.TrustedRootPath)
		}
		sc, err := root.NewSigningConfigFromPath(o.SigningConfigPath)
		if err == nil {
			err = checkSigningConfig(sc)
		}
		if err != nil {
			return nil, fail.Configf("signing config %s is not a Sigstore signing config v0.2: %w", o.SigningConfigPath, err)
		}
		m.Signing = sc
	}
	return m, nil
}

func fromTUF(ctx context.Context, o Options) (*Material, error) {
	opts := tuf.DefaultOptions().WithContext(ctx)
	if o.TUFCacheDir != "" {
		opts = opts.WithCachePath(filepath.Clean(o.TUFCacheDir))
	}
	if o.Staging {
		opts = opts.WithRoot(tuf.StagingRoot()).WithRepositoryBaseURL(tuf.StagingMirror)
	}
	if o.TUFMirror != "" {
		opts = opts.WithRepositoryBaseURL(o.TUFMirror)
	}
	if len(o.TUFRoot) > 0 {
		if o.TUFMirror == "" {
			return nil, fail.Configf("a TUF root was given without the URL of its repository: set the TUF mirror too")
		}
		opts = opts.WithRoot(o.TUFRoot)
	}
	if o.Offline {
		opts = opts.WithForceCache()
	}
	if o.Transport != nil {
		// A client of its own: SetTransport would change http.DefaultClient.
		f := fetcher.NewDefaultFetcher()
		f.SetHTTPClient(&http.Client{Transport: o.Transport})
		opts = opts.WithFetcher(f)
	}
	client, err := tuf.New(opts)
	if err != nil {
		return nil, fail.Transientf("updating the public-good Sigstore trust root through TUF (%s): %w; offline, pass --trusted-root FILE", opts.RepositoryBaseURL, err)
	}
	data, err := client.GetTarget("trusted_root.json")
	if err != nil {
		return nil, fail.Transientf("fetching trusted_root.json through TUF: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing TUF trusted root: %w", err)
	}
	src := "public-good Sigstore (TUF " + opts.RepositoryBaseURL + ")"
	if len(o.TUFRoot) > 0 {
		src = "TUF " + opts.RepositoryBaseURL
	}
	m := &Material{Root: tr, RootJSON: data, Source: src}
	if o.ForSigning {
		sc, err := root.GetSigningConfig(client)
		if err == nil {
			err = checkSigningConfig(sc)
		}
		if err != nil {
			return nil, fail.Transientf("fetching the public-good signing config through TUF: %w", err)
		}
		m.Signing = sc
	}
	return m, nil
}

// checkSigningConfig refuses a signing config that lists timestamp authorities
// or Rekor logs without saying how many to use: sigstore-go dereferences the
// missing selector when signing selects services, and panics.
func checkSigningConfig(sc *root.SigningConfig) error {
	raw, err := sc.MarshalJSON()
	if err != nil {
		return err
	}
	pb, err := root.NewSigningConfigProtobuf(raw)
	if err != nil {
		return err
	}
	if len(pb.GetTsaUrls()) > 0 && pb.GetTsaConfig() == nil {
		return fmt.Errorf(`it lists tsaUrls without a tsaConfig: add "tsaConfig": {"selector": "ANY"}`)
	}
	if len(pb.GetRekorTlogUrls()) > 0 && pb.GetRekorTlogConfig() == nil {
		return fmt.Errorf(`it lists rekorTlogUrls without a rekorTlogConfig: add "rekorTlogConfig": {"selector": "ANY"}`)
	}
	return nil
}

// publicDomains are the domains of Sigstore's public instances (public-good
// and staging), whose transparency and certificate transparency logs anyone
// can read and search.
var publicDomains = []string{"sigstore.dev", "sigstage.dev"}

// PublicServices lists the services of the signing config that publish what
// they are sent: a public-good Rekor writes each entry to a public
// transparency log, and a public-good Fulcio writes each certificate (with
// the repository, commit and workflow it names) to a public certificate
// transparency log. Empty means signing publishes nothing; a timestamp
// authority keeps no public record, so it never counts.
func (m *Material) PublicServices() []string {
	if m == nil || m.Signing == nil {
		return nil
	}
	var out []string
	for _, svcs := range [][]root.Service{m.Signing.FulcioCertificateAuthorityURLs(), m.Signing.RekorLogURLs()} {
		for _, s := range svcs {
			if isPublic(s.URL) {
				out = append(out, s.URL)
			}
		}
	}
	return out
}

func isPublic(service string) bool {
	u, err := url.Parse(service)
	if err != nil {
		return true // fail closed: an unreadable URL might be anything
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, d := range publicDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
