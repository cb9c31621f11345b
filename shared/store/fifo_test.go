//go:build unix

package store_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/store"
)

// TestFIFOAtBundlePathDoesNotBlock: a FIFO waiting where a bundle or JSON
// Lines file is written never blocks the write: the file store replaces it,
// the JSON Lines store refuses it.
func TestFIFOAtBundlePathDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.sigstore.json", "all.jsonl"} {
		if err := syscall.Mkfifo(filepath.Join(dir, n), 0o644); err != nil {
			t.Skip("no FIFOs here:", err)
		}
	}
	b := store.Bundle{JSON: []byte(`{"mediaType":"x"}`)}
	for _, w := range []store.Writer{&store.File{Path: filepath.Join(dir, "b.sigstore.json")}, &store.JSONLines{Path: filepath.Join(dir, "all.jsonl")}} {
		done := make(chan error, 1)
		go func() { _, err := w.Put(context.Background(), b); done <- err }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: blocked on a FIFO", w.Name())
		}
	}
}
