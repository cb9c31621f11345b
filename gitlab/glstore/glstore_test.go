package glstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/gitlab/glstore/glstoretest"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

const jobToken = "glcbt-64_testjobtoken0123456789"

// newFakeGitLab serves project 42's API (package glstoretest, after GitLab's
// generic packages and release links documentation).
func newFakeGitLab(t *testing.T) *glstoretest.GitLab {
	f := glstoretest.New("42", jobToken)
	t.Cleanup(f.Close)
	return f
}

func bundle(t *testing.T, digests ...string) store.Bundle {
	t.Helper()
	var subjects []map[string]any
	for _, d := range digests {
		subjects = append(subjects, map[string]any{"name": "a", "digest": map[string]string{"sha256": strings.TrimPrefix(d, "sha256:")}})
	}
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]any{}})
	sig := make([]byte, 64)
	rand.Read(sig)
	data, _ := json.MarshalIndent(map[string]any{"mediaType": store.BundleMediaType, "dsseEnvelope": map[string]any{
		"payload": base64.StdEncoding.EncodeToString(stmt), "payloadType": "application/vnd.in-toto+json",
		"signatures": []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}}}}, "", "  ")
	b, err := store.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digest() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "sha256:" + hex.EncodeToString(b)
}

func target(t *testing.T, f *glstoretest.GitLab, tag string) *glstore.GitLab {
	t.Helper()
	g, err := glstore.New(glstore.Options{APIURL: f.URL(), Project: "42", JobToken: jobToken, Package: "attestations", Version: "1.2.3", Tag: tag,
		HTTPOptions: store.HTTPOptions{Retry: retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPutReadBackFetch(t *testing.T) {
	ctx := context.Background()
	f := newFakeGitLab(t)
	f.CreateRelease("v1.2.3")
	g := target(t, f, "v1.2.3")
	d := digest()
	b1, b2 := bundle(t, d), bundle(t, d, digest())
	f.SetFaults(glstoretest.Faults{Fail: []int{429, 503}})
	r, err := g.Put(ctx, b1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Existed || !strings.HasSuffix(r.URL, "/projects/42/packages/generic/attestations/1.2.3/"+r.ID) || len(r.Locations) != 2 {
		t.Fatalf("receipt %+v", r)
	}
	f.SetFaults(glstoretest.Faults{FailPut: []int{502, 429}})
	if _, err := g.Put(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if len(f.PendingFaults().FailPut) != 0 {
		t.Fatal("the upload faults were not met")
	}
	uploads := f.Uploads()
	again, err := g.Put(ctx, b1)
	if err != nil || !again.Existed || f.Uploads() != uploads {
		t.Fatalf("re-run uploaded again: %+v, %v", again, err)
	}
	got, err := g.Fetch(ctx, d)
	if err != nil || len(got) != 2 {
		t.Fatalf("Fetch: %d, %v", len(got), err)
	}
	if p, _ := store.Parse(got[0]); p.Key() != b1.Key() {
		t.Fatal("first fetched bundle is not the first stored")
	}
	_, releases, _, _ := f.Snapshot()
	if links := releases["v1.2.3"]; len(links) != 2 || links[0]["url"] != r.URL || links[0]["link_type"] != "other" {
		t.Fatalf("release links %v", links)
	}
	if none, err := g.Fetch(ctx, digest()); err != nil || len(none) != 0 {
		t.Fatalf("unknown digest: %d, %v", len(none), err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(f *glstoretest.GitLab)
		tag   string
		class fail.Class
		want  string
	}{
		{"403 names the fix", func(f *glstoretest.GitLab) { f.SetFaults(glstoretest.Faults{Denied: true}) }, "", fail.Config, "Developer role"},
		{"no release for the tag", nil, "v9", fail.Config, "create the release before this job"},
		{"429 exhausted", func(f *glstoretest.GitLab) { f.SetFaults(glstoretest.Faults{Fail: []int{429, 429, 429, 429}}) }, "", fail.Transient, "429"},
		{"5xx exhausted", func(f *glstoretest.GitLab) { f.SetFaults(glstoretest.Faults{Fail: []int{500, 502, 503, 500}}) }, "", fail.Transient, "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitLab(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, err := target(t, f, tc.tag).Put(ctx, bundle(t, digest()))
			if err == nil || fail.ClassOf(err) != tc.class || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (class %v), want %v with %q", err, fail.ClassOf(err), tc.class, tc.want)
			}
			if strings.Contains(err.Error(), jobToken) {
				t.Fatal("the job token is in the error")
			}
		})
	}
	f := newFakeGitLab(t)
	for _, o := range []glstore.Options{
		{Project: "42", JobToken: "x", Package: "p", Version: "v"},
		{APIURL: f.URL(), JobToken: "x", Package: "p", Version: "v"},
		{APIURL: f.URL(), Project: "42", Package: "p", Version: "v"},
		{APIURL: f.URL(), Project: "42", JobToken: "x", Package: "../p", Version: "v"},
	} {
		if _, err := glstore.New(o); fail.ClassOf(err) != fail.Config {
			t.Errorf("New(%+v) = %v, want a configuration error", o, err)
		}
	}
}
