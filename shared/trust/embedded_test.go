package trust_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/trust"
)

type unreachable struct{ hits atomic.Int32 }

func (u *unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	u.hits.Add(1)
	return nil, errors.New("dial tcp: network is unreachable")
}

// TestEmbeddedFallbackWhenTUFUnreachable: verifying against public-good
// Sigstore with TUF unreachable uses the root embedded at build time, and
// says so with its date; signing, other TUF repositories and callers that
// did not ask for the fallback still fail, as a transient error.
func TestEmbeddedFallbackWhenTUFUnreachable(t *testing.T) {
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(trust.EmbeddedAsOf()) {
		t.Fatalf("embedded root date %q, want YYYY-MM-DD", trust.EmbeddedAsOf())
	}
	ctx := context.Background()
	net := &unreachable{}
	m, err := trust.Load(ctx, trust.Options{TUFCacheDir: t.TempDir(), Transport: net, EmbeddedFallback: true})
	if err != nil {
		t.Fatal(err)
	}
	if net.hits.Load() == 0 {
		t.Fatal("TUF was not tried before the fallback")
	}
	if len(m.Root.FulcioCertificateAuthorities()) == 0 || len(m.Root.RekorLogs()) == 0 || m.Signing != nil {
		t.Fatalf("embedded material: %d CAs, %d logs, signing config %v", len(m.Root.FulcioCertificateAuthorities()), len(m.Root.RekorLogs()), m.Signing)
	}
	for _, want := range []string{"embedded", trust.EmbeddedAsOf(), "network is unreachable", "--trusted-root"} {
		if !strings.Contains(m.Note, want) {
			t.Errorf("note %q lacks %q", m.Note, want)
		}
	}
	if !strings.Contains(m.Source, "embedded") || !strings.Contains(m.Source, trust.EmbeddedAsOf()) {
		t.Errorf("source %q does not name the embedded root and its date", m.Source)
	}
	for name, o := range map[string]trust.Options{
		"no fallback asked": {},
		"signing":           {EmbeddedFallback: true, ForSigning: true},
		"staging":           {EmbeddedFallback: true, Staging: true},
	} {
		t.Run(name, func(t *testing.T) {
			o.TUFCacheDir, o.Transport = t.TempDir(), &unreachable{}
			m, err := trust.Load(ctx, o)
			if err == nil || fail.ClassOf(err) != fail.Transient || m != nil {
				t.Fatalf("material %v, err %v: want a transient error and no material", m, err)
			}
		})
	}
}
