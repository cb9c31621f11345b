package glstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/gitlab/glstore/glstoretest"
	"github.com/paved-dev/paved/shared/retry"
	"github.com/paved-dev/paved/shared/store"
)

// FuzzGitLabPackageIndex serves an arbitrary JSON Lines index of a digest
// from the package registry to Fetch: nothing panics, and every bundle it
// returns is a line of the index that parses as a bundle about that digest.
func FuzzGitLabPackageIndex(f *testing.F) {
	const d = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var compact bytes.Buffer
	for _, subjects := range [][]string{{d}, {strings.Repeat("ff", 32)}, {d, strings.Repeat("ee", 32)}} {
		compact.Write(seedBundle(subjects...))
		compact.WriteByte('\n')
	}
	f.Add(compact.Bytes())
	f.Add([]byte("not json\n{}\n\n" + strings.SplitN(compact.String(), "\n", 2)[0]))
	srv := glstoretest.New("42", jobToken)
	f.Cleanup(srv.Close)
	g, err := glstore.New(glstore.Options{APIURL: srv.URL(), Project: "42", JobToken: jobToken, Package: "attestations", Version: "1.2.3",
		HTTPOptions: store.HTTPOptions{Retry: retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, index []byte) {
		srv.PutFile("attestations/1.2.3/sha256-"+strings.TrimPrefix(d, "sha256:")+".jsonl", index)
		got, err := g.Fetch(context.Background(), d)
		if err != nil {
			t.Fatalf("Fetch of a served index: %v", err)
		}
		lines := map[string]bool{}
		for _, l := range bytes.Split(index, []byte("\n")) {
			lines[string(bytes.TrimSpace(l))] = true
		}
		for _, b := range got {
			p, err := store.Parse(b)
			if err != nil || !p.About(d) || !lines[string(b)] {
				t.Fatalf("Fetch returned %q (%v)", b, err)
			}
		}
	})
}

// seedBundle is a compact bundle about digests, as the index holds them.
func seedBundle(digests ...string) []byte {
	var subjects []string
	for _, d := range digests {
		subjects = append(subjects, fmt.Sprintf(`{"name":"a","digest":{"sha256":%q}}`, strings.TrimPrefix(d, "sha256:")))
	}
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[` + strings.Join(subjects, ",") + `],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`
	return fmt.Appendf(nil, `{"mediaType":%q,"dsseEnvelope":{"payload":%q,"payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"c2ln"}]}}`,
		store.BundleMediaType, base64.StdEncoding.EncodeToString([]byte(stmt)))
}

// TestAttackGitLabIndexUnbounded: a package registry that answers with an
// endless index file cannot make Fetch read it all into memory; the read
// stops at the bound and Fetch refuses.
func TestAttackGitLabIndexUnbounded(t *testing.T) {
	var sent atomic.Int64
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for range 1024 { // 1 GiB unless the client stops reading
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	g, err := glstore.New(glstore.Options{APIURL: srv.URL + "/api/v4", Project: "42", JobToken: jobToken, Package: "attestations", Version: "1.2.3",
		HTTPOptions: store.HTTPOptions{Retry: retry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := g.Fetch(context.Background(), "sha256:"+strings.Repeat("ab", 32))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Fetch = %d bundles, %v; want the oversized index refused", len(got), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 300<<20 {
		t.Fatalf("Fetch allocated %d bytes for an index bounded to 64 MiB", grew)
	}
	if n := sent.Load(); n > 256<<20 {
		t.Fatalf("Fetch read %d bytes (%s)", n, fmt.Sprint(n>>20)+" MiB")
	}
}
