package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/test/oidc"
)

// faulty is a reverse proxy in front of one real service that misbehaves for
// its first `failures` requests (or always when failures < 0).
type faulty struct {
	srv      *httptest.Server
	hits     atomic.Int32
	failures int32
	mode     string // "503", "drop", "hang"
}

func newFaulty(t *testing.T, target, mode string, failures int32) *faulty {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &faulty{mode: mode, failures: failures}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		if f.failures < 0 || n <= f.failures {
			switch f.mode {
			case "503":
				w.Header().Set("Retry-After", "0")
				http.Error(w, "service unavailable", http.StatusServiceUnavailable)
				return
			case "drop":
				c, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					c.Close()
				}
				return
			case "hang":
				select {
				case <-r.Context().Done():
				case <-time.After(20 * time.Second):
				}
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { f.srv.CloseClientConnections(); f.srv.Close() })
	return f
}

// signingConfigVia rewrites the stack's signing config so that one service is
// reached through a proxy.
func signingConfigVia(t *testing.T, service, proxyURL string) string {
	t.Helper()
	raw, err := os.ReadFile(stk.SigningConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	target := map[string]string{"fulcio": stk.FulcioURL, "tsa": baseOf(stk.TSAURL), "rekor": stk.RekorURL}[service]
	if !strings.Contains(string(raw), target) {
		t.Fatalf("signing config does not name %s at %s", service, target)
	}
	out := strings.ReplaceAll(string(raw), target, proxyURL)
	p := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func baseOf(s string) string {
	u, _ := url.Parse(s)
	return u.Scheme + "://" + u.Host
}

func attestWithToken(t *testing.T, ws, token, signingConfig string, extra ...string) result {
	t.Helper()
	args := append([]string{"attest", "--identity-token-file", writeToken(t, token), "--trusted-root", stk.TrustedRootPath,
		"--signing-config", signingConfig, "--bundle-path", "out.sigstore.json"}, extra...)
	args = append(args, "dist/*")
	return execIn(t, ws, nil, paved, args...)
}

// writeToken keeps the token outside the workspace, which the secret scan reads.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServiceFaults makes Fulcio, the timestamp authority and Rekor fail in the
// ways networks fail: transient faults are retried with backoff and the bundle is
// still made; persistent ones end in a clear error, exit 3 and no bundle file.
func TestServiceFaults(t *testing.T) {
	cases := []struct {
		service, mode string
		failures      int32
		wantOK        bool
		wantHits      int32 // minimum requests the proxy saw
		wantErr       string
	}{
		{"fulcio", "503", 2, true, 3, ""},
		{"fulcio", "drop", 1, true, 2, ""},
		{"tsa", "503", 1, true, 2, ""},
		{"tsa", "drop", 2, true, 3, ""},
		{"rekor", "503", 1, true, 2, ""},
		{"rekor", "drop", 1, true, 2, ""},
		{"fulcio", "503", -1, false, 4, "Fulcio"},
		{"fulcio", "hang", -1, false, 4, "Fulcio"},
		{"tsa", "drop", -1, false, 4, "timestamp"},
		{"tsa", "hang", -1, false, 4, "timestamp"},
		{"rekor", "503", -1, false, 4, "transparency log"},
		{"rekor", "hang", -1, false, 4, "transparency log"},
	}
	for _, c := range cases {
		name := c.service + "/" + c.mode
		if c.failures < 0 {
			name += "/always"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var target string
			switch c.service {
			case "fulcio":
				target = stk.FulcioURL
			case "tsa":
				target = stk.TSAURL
			case "rekor":
				target = stk.RekorURL
			}
			f := newFaulty(t, target, c.mode, c.failures)
			sc := signingConfigVia(t, c.service, f.srv.URL)
			ws := workspace(t)
			token, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			// Rekor v2 answers once its checkpoint is published (up to ~1 s here), so
			// the timeout must leave room for a healthy answer.
			r := attestWithToken(t, ws, token, sc, "--service-timeout", "3s")
			if time.Since(start) > 60*time.Second {
				t.Errorf("took %s: retries are not bounded", time.Since(start))
			}
			if f.hits.Load() < c.wantHits {
				t.Errorf("proxy saw %d requests, want at least %d", f.hits.Load(), c.wantHits)
			}
			_, statErr := os.Stat(filepath.Join(ws, "out.sigstore.json"))
			if c.wantOK {
				if r.code != 0 || statErr != nil {
					t.Fatalf("want success after retries: %s", r)
				}
			} else {
				if r.code != 3 {
					t.Fatalf("exit %d, want 3 (service unavailable): %s", r.code, r)
				}
				if !strings.Contains(r.stderr, c.wantErr) {
					t.Errorf("error does not name the %s: %s", c.wantErr, r.stderr)
				}
				if statErr == nil {
					t.Errorf("a bundle was written despite the failure")
				}
				leftovers, _ := filepath.Glob(filepath.Join(ws, ".paved-*"))
				if len(leftovers) > 0 {
					t.Errorf("temporary files left behind: %v", leftovers)
				}
			}
			assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, ws)
		})
	}
}

// TestBadTokens: expired, wrong-audience and untrusted-issuer tokens end in a
// configuration error that names the problem, and no bundle.
func TestBadTokens(t *testing.T) {
	claims := oidc.GitHubClaims(ghRepo)
	expired := map[string]any{}
	for k, v := range claims {
		expired[k] = v
	}
	expired["exp"] = time.Now().Add(-time.Minute).Unix()
	expiredTok, err := stk.GitHubOIDC().Mint(expired, "sigstore", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wrongAud, err := stk.GitHubOIDC().Mint(claims, "api://AzureADTokenExchange", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stranger, err := oidc.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	untrusted, err := stranger.Mint(claims, "sigstore", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, token, want string }{
		{"expired", expiredTok, "expired at"},
		{"wrong audience", wrongAud, `want "sigstore"`},
		{"untrusted issuer", untrusted, "refused the identity token"},
		{"not a token", "hello", "not a JWT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t)
			r := attestWithToken(t, ws, c.token, stk.SigningConfigPath)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("want exit 2 mentioning %q: %s", c.want, r)
			}
			if _, err := os.Stat(filepath.Join(ws, "out.sigstore.json")); err == nil {
				t.Fatal("a bundle was written")
			}
			assertNoSecrets(t, []string{c.token}, []string{r.stdout, r.stderr}, ws)
		})
	}
}

// TestMissingToken: a job that may not request a token is told how to fix it.
func TestMissingToken(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"github without id-token permission", []string{"GITHUB_ACTIONS=true"}, "permissions: id-token: write"},
		{"gitlab without id_tokens", []string{"GITLAB_CI=true"}, "SIGSTORE_ID_TOKEN:\n      aud: sigstore"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t)
			env := append(c.env, "PAVED_SUBJECT_PATH=dist/*", "PAVED_TRUSTED_ROOT="+stk.TrustedRootPath, "PAVED_SIGNING_CONFIG="+stk.SigningConfigPath)
			r := execIn(t, ws, env, paved, "attest")
			if r.code != 2 || !strings.Contains(r.stderr+r.stdout, c.want) {
				t.Fatalf("want exit 2 naming %q: %s", c.want, r)
			}
		})
	}
}
