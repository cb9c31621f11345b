package trust_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/trust"
)

const publicGoodRoot = "../../testdata/trust/public-good-trusted_root.json"

// signingConfigSeed is a v0.2 signing config of the shape public-good publishes.
const signingConfigSeed = `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
"caUrls":[{"url":"https://fulcio.sigstore.dev","majorApiVersion":1,"validFor":{"start":"2023-04-14T21:38:40Z"},"operator":"sigstore.dev"}],
"oidcUrls":[{"url":"https://oauth2.sigstore.dev/auth","majorApiVersion":1,"validFor":{"start":"2025-04-16T00:00:00Z"},"operator":"sigstore.dev"}],
"rekorTlogUrls":[{"url":"https://rekor.sigstore.dev","majorApiVersion":1,"validFor":{"start":"2021-01-12T11:53:27Z"},"operator":"sigstore.dev"},
 {"url":"https://log2025-1.rekor.sigstore.dev","majorApiVersion":2,"validFor":{"start":"2025-09-23T00:00:00Z","end":"2026-01-01T00:00:00Z"},"operator":"sigstore.dev"}],
"tsaUrls":[{"url":"https://timestamp.sigstore.dev/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2025-07-04T00:00:00Z"},"operator":"sigstore.dev"}],
"rekorTlogConfig":{"selector":"ANY"},"tsaConfig":{"selector":"ANY"}}`

func writeTemp(t testing.TB, dir, name string, data []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzTrustedRoot feeds arbitrary trusted roots to Load: nothing panics, an
// accepted root keeps its JSON as given, every log it accepted has a key,
// and the root written back by sigstore-go reads as the same authorities.
func FuzzTrustedRoot(f *testing.F) {
	b, err := os.ReadFile(publicGoodRoot)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"certificateAuthorities":[],"ctlogs":[],"timestampAuthorities":[]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeTemp(t, dir, "trusted_root.json", data)
		m, err := trust.Load(context.Background(), trust.Options{TrustedRootPath: p})
		if err != nil {
			return
		}
		if m.Root == nil || !bytes.Equal(m.RootJSON, data) {
			t.Fatal("accepted root not kept as given")
		}
		for _, logs := range []map[string]*root.TransparencyLog{m.Root.RekorLogs(), m.Root.CTLogs()} {
			for id, l := range logs {
				if l == nil || l.PublicKey == nil {
					t.Fatalf("log %q accepted without a key", id)
				}
			}
		}
		out, err := m.Root.MarshalJSON()
		if err != nil {
			return // sigstore-go cannot write every root it reads (key types)
		}
		again, err := root.NewTrustedRootFromJSON(out)
		if err != nil {
			t.Fatalf("root written back is refused: %v", err)
		}
		if len(again.RekorLogs()) != len(m.Root.RekorLogs()) || len(again.CTLogs()) != len(m.Root.CTLogs()) ||
			len(again.FulcioCertificateAuthorities()) != len(m.Root.FulcioCertificateAuthorities()) ||
			len(again.TimestampingAuthorities()) != len(m.Root.TimestampingAuthorities()) {
			t.Fatal("root written back holds other authorities")
		}
	})
}

// FuzzSigningConfig feeds arbitrary signing configs to Load and to the
// service selection signing does: nothing panics, and every service selected
// is one the config lists, with an API version Paved speaks.
func FuzzSigningConfig(f *testing.F) {
	f.Add([]byte(signingConfigSeed))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json","caUrls":[],"rekorTlogConfig":{"selector":"EXACT","count":3}}`))
	f.Add([]byte(strings.Replace(signingConfigSeed, `"tsaConfig":{"selector":"ANY"}`, `"x":1`, 1)))
	dir := f.TempDir()
	rootPath := publicGoodRoot
	now := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeTemp(t, dir, "signing_config.json", data)
		m, err := trust.Load(context.Background(), trust.Options{TrustedRootPath: rootPath, SigningConfigPath: p, ForSigning: true})
		if err != nil {
			return
		}
		sc := m.Signing
		if sc == nil {
			t.Fatal("accepted without a signing config")
		}
		listed := func(svcs []root.Service, s root.Service, versions []uint32) {
			if !slices.ContainsFunc(svcs, func(x root.Service) bool { return x.URL == s.URL && x.MajorAPIVersion == s.MajorAPIVersion }) ||
				!slices.Contains(versions, s.MajorAPIVersion) {
				t.Fatalf("selected %+v", s)
			}
		}
		if s, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now); err == nil {
			listed(sc.FulcioCertificateAuthorityURLs(), s, sign.FulcioAPIVersions)
		}
		// As signing does: the selectors are read only for listed services.
		if len(sc.TimestampAuthorityURLs()) > 0 {
			if svcs, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now); err == nil {
				for _, s := range svcs {
					listed(sc.TimestampAuthorityURLs(), s, sign.TimestampAuthorityAPIVersions)
				}
			}
		}
		if len(sc.RekorLogURLs()) > 0 {
			if svcs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now); err == nil {
				for _, s := range svcs {
					listed(sc.RekorLogURLs(), s, sign.RekorAPIVersions)
				}
			}
		}
	})
}

// TestAttackSigningConfigWithoutSelector: a signing config that lists
// timestamp authorities or Rekor logs but no selector for them made signing
// panic in sigstore-go; Load refuses it as a configuration error that names
// the member to add.
func TestAttackSigningConfigWithoutSelector(t *testing.T) {
	for _, tc := range []struct{ drop, want string }{
		{`,"tsaConfig":{"selector":"ANY"}`, "tsaConfig"},
		{`"rekorTlogConfig":{"selector":"ANY"},`, "rekorTlogConfig"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			data := strings.Replace(signingConfigSeed, tc.drop, "", 1)
			if data == signingConfigSeed {
				t.Fatal("seed unchanged")
			}
			p := writeTemp(t, t.TempDir(), "signing_config.json", []byte(data))
			m, err := trust.Load(context.Background(), trust.Options{TrustedRootPath: publicGoodRoot, SigningConfigPath: p, ForSigning: true})
			if err == nil || fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, %v; want a configuration error naming %s", m, err, tc.want)
			}
			if m != nil {
				t.Fatal("material returned with the error")
			}
		})
	}
}
