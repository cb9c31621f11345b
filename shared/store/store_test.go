package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/store"
)

func TestParse(t *testing.T) {
	d1, d2 := randomDigest(), randomDigest()
	b := fakeBundle(t, slsa, d1, d2)
	if !b.About(d1) || !b.About(strings.ToUpper(d2[:7])+d2[7:]) || b.About(randomDigest()) {
		t.Fatalf("About is wrong for subjects %v", b.Subjects)
	}
	if b.PredicateType != slsa || len(b.Key()) != 64 {
		t.Fatalf("parsed %+v", b)
	}
	// The key survives re-serialisation (services store bundles their own way).
	again, err := store.Parse([]byte(strings.Join(strings.Fields(string(b.JSON)), "")))
	if err != nil || again.Key() != b.Key() {
		t.Fatalf("key changed after compaction: %v", err)
	}
	if other := fakeBundle(t, slsa, d1, d2); other.Key() == b.Key() {
		t.Fatal("different signatures share a key")
	}
	for _, bad := range []string{`[]`, `{"mediaType":"x"}`, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"%%%"}}`} {
		if _, err := store.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) succeeded", bad)
		}
	}
}

func TestFileTargets(t *testing.T) {
	dir := t.TempDir()
	d := randomDigest()
	b1, b2 := fakeBundle(t, slsa, d), fakeBundle(t, "https://spdx.dev/Document", d, randomDigest())
	jl := &store.JSONLines{Path: filepath.Join(dir, "attestations.jsonl")}
	one := &store.File{Path: filepath.Join(dir, "a.sigstore.json")}
	ctx := context.Background()
	for i, step := range []struct {
		w       store.Writer
		b       store.Bundle
		existed bool
	}{{jl, b1, false}, {jl, b2, false}, {jl, b1, true}, {one, b1, false}, {one, b1, true}} {
		r, err := step.w.Put(ctx, step.b)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if r.Existed != step.existed {
			t.Fatalf("step %d: existed=%v, want %v", i, r.Existed, step.existed)
		}
	}
	raw, _ := os.ReadFile(jl.Path)
	if n := strings.Count(string(raw), "\n"); n != 2 {
		t.Fatalf("JSON Lines file has %d lines, want 2 (no duplicates):\n%s", n, raw)
	}
	os.WriteFile(filepath.Join(dir, "notes.json"), []byte(`{"not":"a bundle"}`), 0o644)
	for _, tc := range []struct {
		paths []string
		want  int
	}{{[]string{dir}, 2}, {[]string{jl.Path}, 2}, {[]string{one.Path}, 1}} {
		got, err := (&store.Files{Paths: tc.paths}).Fetch(ctx, d)
		if err != nil || len(got) != tc.want {
			t.Fatalf("Fetch(%v) = %d bundles, %v; want %d", tc.paths, len(got), err, tc.want)
		}
	}
	if got, _ := (&store.Files{Paths: []string{dir}}).Fetch(ctx, randomDigest()); len(got) != 0 {
		t.Fatalf("Fetch of an unknown digest found %d", len(got))
	}
	if _, err := (&store.Files{Paths: []string{filepath.Join(dir, "missing")}}).Fetch(ctx, d); fail.ClassOf(err) != fail.Config {
		t.Fatalf("missing path: %v", err)
	}
	bad := &store.JSONLines{Path: filepath.Join(dir, "no-such-dir", "x.jsonl")}
	if _, err := bad.Put(ctx, b1); fail.ClassOf(err) != fail.Config {
		t.Fatalf("unwritable path: %v", err)
	}
}

type failing struct{ err error }

func (f failing) Name() string { return "broken" }
func (f failing) Put(context.Context, store.Bundle) (store.Receipt, error) {
	return store.Receipt{}, f.err
}

func TestPutAllReportsEachTarget(t *testing.T) {
	dir := t.TempDir()
	b := fakeBundle(t, slsa, randomDigest())
	ok := &store.JSONLines{Path: filepath.Join(dir, "a.jsonl")}
	res := store.PutAll(context.Background(), b, []store.Writer{failing{fail.Configf("add the permission")}, ok})
	if res[0].Err == nil || res[1].Err != nil {
		t.Fatalf("results: %+v", res)
	}
	if _, err := os.Stat(ok.Path); err != nil {
		t.Fatal("the healthy target did not complete")
	}
	err := store.Errors(res)
	if err == nil || !strings.Contains(err.Error(), "broken: add the permission") || fail.ClassOf(err) != fail.Config {
		t.Fatalf("joined error %v (class %v)", err, fail.ClassOf(err))
	}
	if store.Errors(res[1:]) != nil || errors.Is(store.Errors(res), os.ErrNotExist) {
		t.Fatal("Errors reported a success as failure")
	}
}

// TestPutAllAfterCancelStoresNothingSilently: a run cancelled before its
// targets are written reports every target as not stored, never as a success
// with an empty receipt.
func TestPutAllAfterCancelStoresNothingSilently(t *testing.T) {
	dir := t.TempDir()
	b := fakeBundle(t, slsa, randomDigest())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	writers := []store.Writer{&store.JSONLines{Path: filepath.Join(dir, "a.jsonl")}, failing{fail.Configf("add the permission")}}
	res := store.PutAll(ctx, b, writers)
	if len(res) != 2 {
		t.Fatalf("got %d results", len(res))
	}
	for i, r := range res {
		if r.Err == nil || r.Target != writers[i].Name() {
			t.Errorf("target %d: %+v", i, r)
		}
	}
	if store.Errors(res) == nil {
		t.Fatal("a cancelled store reported success")
	}
}
