package trust_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/trust"
	"github.com/paved-dev/paved/shared/trust/trusttest"
)

// TestTUF loads trust material the way public-good Sigstore is loaded, through
// sigstore-go's TUF client, from a repository on loopback with its own root:
// the trusted root arrives and is cached; with the server gone, the cache
// serves offline; a trusted root altered on the server is refused.
func TestTUF(t *testing.T) {
	trustedRoot, err := os.ReadFile("../../testdata/trust/public-good-trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	dir, rootJSON := trusttest.Repository(t, trustedRoot)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	cache := t.TempDir()
	ctx := context.Background()

	m, err := trust.Load(ctx, trust.Options{TUFMirror: srv.URL, TUFRoot: rootJSON, TUFCacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if string(m.RootJSON) != string(trustedRoot) || len(m.Root.FulcioCertificateAuthorities()) == 0 || !strings.Contains(m.Source, srv.URL) {
		t.Fatalf("material from TUF: source %q, %d bytes", m.Source, len(m.RootJSON))
	}

	srv.Close()
	m, err = trust.Load(ctx, trust.Options{TUFMirror: srv.URL, TUFRoot: rootJSON, TUFCacheDir: cache, Offline: true})
	if err != nil || string(m.RootJSON) != string(trustedRoot) {
		t.Fatalf("offline from the cache: %v", err)
	}

	// A server whose trusted_root.json is not what the signed targets say.
	altered := append([]byte(nil), trustedRoot...)
	altered[len(altered)/2] ^= 1
	sum := sha256.Sum256(trustedRoot)
	os.WriteFile(filepath.Join(dir, "targets", hex.EncodeToString(sum[:])+".trusted_root.json"), altered, 0o644)
	bad := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer bad.Close()
	if _, err := trust.Load(ctx, trust.Options{TUFMirror: bad.URL, TUFRoot: rootJSON, TUFCacheDir: t.TempDir()}); err == nil || fail.ClassOf(err) == fail.Config {
		t.Fatalf("an altered trusted root was accepted or misclassified: %v", err)
	}
	if _, err := trust.Load(ctx, trust.Options{TUFRoot: rootJSON}); fail.ClassOf(err) != fail.Config {
		t.Errorf("a TUF root without its repository URL: %v", err)
	}
}
