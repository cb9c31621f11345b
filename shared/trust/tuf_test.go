package trust_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/trust"
)

// tufRepo writes a TUF repository (consistent snapshots, one ed25519 key for
// every role) that publishes trustedRoot as trusted_root.json, as Sigstore's
// TUF repositories do, and returns its directory and initial root.json.
func tufRepo(t *testing.T, trustedRoot []byte) (string, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadED25519Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(24 * time.Hour)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "targets"), 0o755)

	root := metadata.Root(expires)
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if err := root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
	}
	targets := metadata.Targets(expires)
	tf, err := metadata.TargetFile().FromBytes("trusted_root.json", trustedRoot, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	targets.Signed.Targets["trusted_root.json"] = tf
	sum := sha256.Sum256(trustedRoot)
	os.WriteFile(filepath.Join(dir, "targets", hex.EncodeToString(sum[:])+".trusted_root.json"), trustedRoot, 0o644)
	snapshot, timestamp := metadata.Snapshot(expires), metadata.Timestamp(expires)

	sign := func(name string, m interface {
		Sign(signature.Signer) (*metadata.Signature, error)
		ToFile(string, bool) error
	}) {
		if _, err := m.Sign(signer); err != nil {
			t.Fatal(err)
		}
		if err := m.ToFile(filepath.Join(dir, name), true); err != nil {
			t.Fatal(err)
		}
	}
	sign("1.root.json", root)
	sign("1.targets.json", targets)
	sign("1.snapshot.json", snapshot)
	sign("timestamp.json", timestamp)
	rootJSON, err := os.ReadFile(filepath.Join(dir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, rootJSON
}

// TestTUF loads trust material the way public-good Sigstore is loaded, through
// sigstore-go's TUF client, from a repository on loopback with its own root:
// the trusted root arrives and is cached; with the server gone, the cache
// serves offline; a trusted root altered on the server is refused.
func TestTUF(t *testing.T) {
	trustedRoot, err := os.ReadFile("../../testdata/trust/public-good-trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	dir, rootJSON := tufRepo(t, trustedRoot)
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
