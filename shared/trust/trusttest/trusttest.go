// Package trusttest makes TUF repositories for tests: the way Sigstore
// instances publish their trusted root, with a root of the test's own.
package trusttest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Repository writes a TUF repository (consistent snapshots, one ed25519 key for
// every role) that publishes trustedRoot as trusted_root.json, as Sigstore's
// TUF repositories do, and returns its directory and initial root.json.
func Repository(t testing.TB, trustedRoot []byte) (string, []byte) {
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
