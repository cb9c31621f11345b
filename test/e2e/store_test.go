package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/shared/store"
)

// startRegistry runs the distribution registry (tools/registry) on loopback.
// It has no referrers API: Paved keeps referrers through the tag schema.
func startRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, tool(t, "registry"), "serve", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("registry did not start on %s", addr)
	return ""
}

// githubAPI serves the two artifact attestation endpoints of GitHub's REST API
// as its public documentation describes them (POST
// /repos/{owner}/{repo}/attestations answering 201 {"id"}; GET
// .../attestations/{subject_digest} answering {"attestations":[{"bundle"}]};
// 403 without the attestations write permission). The store package tests the
// rest of the protocol (pagination, bundle_url, 422, 429, 5xx).
type githubAPI struct {
	mu        sync.Mutex
	token     string
	forbidden bool
	stored    []json.RawMessage
}

func (g *githubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	const prefix = "/repos/" + ghRepo + "/attestations"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix:
		if r.Header.Get("Authorization") != "Bearer "+g.token || g.forbidden {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Resource not accessible by integration"}`)
			return
		}
		var req struct {
			Bundle json.RawMessage `json:"bundle"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Bundle) == 0 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"message":"Validation Failed"}`)
			return
		}
		g.stored = append(g.stored, req.Bundle)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d}`, len(g.stored))
	case r.Method == http.MethodGet && (strings.HasPrefix(r.URL.Path, prefix+"/sha256:") || strings.HasPrefix(r.URL.Path, prefix+"/sha512:")):
		digest := strings.TrimPrefix(r.URL.Path, prefix+"/")
		var out []map[string]any
		for _, b := range g.stored {
			if p, err := store.Parse(b); err == nil && p.About(digest) {
				out = append(out, map[string]any{"bundle": b, "repository_id": 1})
			}
		}
		if len(out) == 0 {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"attestations": out})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
	}
}

func outputsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, _ := os.ReadFile(path)
	out := map[string]string{}
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		n, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[n] = strings.Join(val, "\n")
	}
	return out
}

// TestStoreRegistryAndGitHub attests an image and a file in a GitHub Actions
// job, stores the bundle in a real registry and the GitHub attestations API,
// fetches it back from both and verifies what came back.
func TestStoreRegistryAndGitHub(t *testing.T) {
	ws := workspace(t)
	reg := startRegistry(t)
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(reg + "/paved-dev/demo:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()
	const ghToken = "ghs_e2eStoreToken0123456789abcdefABCDEF"
	api := &githubAPI{token: ghToken}
	srv := httptest.NewServer(api)
	defer srv.Close()

	attest := func(t *testing.T) (result, map[string]string) {
		reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
		ghOut := filepath.Join(t.TempDir(), "github_output")
		env := githubStep(ws, ghOut, "", reqURL, reqToken, "GITHUB_RUN_ID=4242", "GITHUB_API_URL="+srv.URL, "GITHUB_TOKEN="+ghToken,
			"INPUT_SUBJECT_PATH=dist/app-linux-amd64", "INPUT_SUBJECT_DIGEST="+ref.Context().Name()+"@"+imgDigest.String(),
			"INPUT_PUSH_TO_REGISTRY=true", "INPUT_REGISTRY_IMAGE="+ref.String(), "INPUT_GITHUB_ATTESTATIONS=true")
		r := execIn(t, ws, env, paved, "attest")
		assertNoSecrets(t, []string{ghToken, reqToken}, []string{r.stdout, r.stderr}, ws, filepath.Dir(ghOut))
		return r, outputsOf(t, ghOut)
	}

	r, out := attest(t)
	if r.code != 0 {
		t.Fatalf("paved attest: %s", r)
	}
	if out["attestation-id"] != "1" || out["attestation-url"] != "https://github.com/"+ghRepo+"/attestations/1" {
		t.Fatalf("GitHub outputs: %q", out)
	}
	if !strings.HasPrefix(out["registry-referrer"], ref.Context().Name()+"@sha256:") || out["bundles-jsonl"] != "attestations.jsonl" {
		t.Fatalf("registry outputs: %q", out)
	}
	ctx := context.Background()
	oci, err := store.NewOCI([]string{ref.String()}, store.OCIOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := store.NewGitHub(ghRepo, store.GitHubOptions{APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	fileDigest := strings.Fields(out["subjects"])[0]
	artifact := filepath.Join(ws, "dist", "app-linux-amd64")
	for name, fetch := range map[string]func() ([][]byte, error){
		"registry": func() ([][]byte, error) { return oci.Fetch(ctx, imgDigest.String()) },
		"github":   func() ([][]byte, error) { return gh.Fetch(ctx, fileDigest) },
		"jsonl file": func() ([][]byte, error) {
			return (&store.Files{Paths: []string{filepath.Join(ws, "attestations.jsonl")}}).Fetch(ctx, fileDigest)
		},
	} {
		got, err := fetch()
		if err != nil || len(got) != 1 {
			t.Fatalf("fetching from %s: %d bundles, %v", name, len(got), err)
		}
		p := filepath.Join(t.TempDir(), "fetched.sigstore.json")
		os.WriteFile(p, got[0], 0o644)
		v := execIn(t, "", nil, paved, "verify-bundle", "--bundle", p, "--certificate-identity", ghSAN,
			"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, artifact)
		if v.code != 0 {
			t.Errorf("the bundle fetched from %s does not verify: %s", name, v)
		}
	}

	// paved verify fetches the bundles itself: the image's referrers by default
	// for an oci:// artifact, the GitHub attestations API when asked.
	for name, args := range map[string][]string{
		"registry": {"oci://" + ref.String()},
		"github":   {artifact, "--bundle-from", "github", "--github-api-url", srv.URL, "--github-token", ghToken},
	} {
		v := execIn(t, "", nil, paved, append([]string{"verify", "--repo", ghRepo, "--cert-oidc-issuer", stk.GitHubIssuer,
			"--trusted-root", stk.TrustedRootPath}, args...)...)
		if v.code != 0 || !strings.Contains(v.stdout, "verified: true") {
			t.Errorf("paved verify with bundles from %s: %s", name, v)
		}
		assertNoSecrets(t, []string{ghToken}, []string{v.stdout, v.stderr})
	}
	if v := execIn(t, "", nil, paved, "verify", "oci://"+ref.String(), "--owner", "someone-else", "--cert-oidc-issuer", stk.GitHubIssuer,
		"--trusted-root", stk.TrustedRootPath); v.code != 1 {
		t.Errorf("the registry's attestation must not pass another owner's policy: %s", v)
	}

	// One target failing: GitHub refuses, the registry still gets the new
	// attestation, and the error names the permission to add.
	api.mu.Lock()
	api.forbidden = true
	api.mu.Unlock()
	r, _ = attest(t)
	if r.code != 2 || !strings.Contains(r.stderr, "permissions: attestations: write") {
		t.Fatalf("a refused GitHub write must fail naming the permission: %s", r)
	}
	got, err := oci.Fetch(ctx, imgDigest.String())
	if err != nil || len(got) != 2 {
		t.Fatalf("the registry target did not complete beside the failing one: %d bundles, %v", len(got), err)
	}
}
