package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestActRunsActionsAttestExamples runs the examples of actions/attest's and
// actions/attest-build-provenance's READMEs (testdata/actions-attest, with
// Paved on the uses: line) under act, against the local Sigstore stack, a
// local registry and a local server speaking GitHub's attestations API. Every
// example step must pass and store its attestation with GitHub without
// being asked, as actions/attest does; the stored bundles verify and carry
// the predicate type each example asks for; the container example attaches
// its attestation to the image.
func TestActRunsActionsAttestExamples(t *testing.T) {
	act := tool(t, "act")
	const ghToken = "ghs_e2eExamplesToken0123456789abcdefABCD"
	api := &githubAPI{token: ghToken}
	srv := httptest.NewServer(api)
	defer srv.Close()
	reg := startRegistry(t)
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository(reg + "/" + ghRepo)
	if err := remote.Write(repo.Tag("latest"), img); err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()

	files := map[string]string{"Makefile": "my-app:\n\tprintf 'my app\\n' > my-app\n"}
	for _, f := range []string{"build-attest-provenance.yml", "build-attest.yml", "examples.yml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "actions-attest", f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "uses: actions/attest") {
			t.Fatalf("%s still uses actions/attest", f)
		}
		files[".github/workflows/"+f] = string(raw)
	}
	consumer := gitRepo(t, files)
	// act takes github.repository from the origin remote.
	if r := execIn(t, consumer, nil, "git", "remote", "add", "origin", "https://github.com/"+ghRepo+".git"); r.code != 0 {
		t.Fatal(r)
	}
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	args := []string{"workflow_dispatch",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@v1=" + repoRoot(t),
		// github.token, which the action's github-token input defaults to.
		"-s", "GITHUB_TOKEN=" + ghToken,
		"--var", "LOCAL_REGISTRY=" + reg,
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"--env", "PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "--env", "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
		// act points GITHUB_API_URL at api.github.com; the local API stands in.
		"--env", "PAVED_GITHUB_API_URL=" + srv.URL,
		"--env", "IMAGE_DIGEST=" + imgDigest.String(),
		"--env", "SYFT_CHECK_FOR_APP_UPDATE=false",
		"--env", "PAVED_BINARY=" + paved,
	}
	start := time.Now()
	r := execIn(t, consumer, []string{"HOME=" + t.TempDir(), "GH_TOKEN=", "GITHUB_TOKEN="}, act, args...)
	t.Logf("act took %s", time.Since(start))
	if r.code != 0 {
		t.Fatalf("act run of the documented examples: %s", r)
	}
	if !strings.Contains(r.stdout, "bundle-path absolute") || !strings.Contains(r.stdout, "attestation-url=https://github.com/"+ghRepo+"/attestations/") {
		t.Errorf("the container example's outputs (absolute bundle-path, attestation-id, attestation-url) are missing: %s", r)
	}
	assertNoSecrets(t, []string{ghToken, reqToken}, []string{r.stdout, r.stderr}, consumer)

	api.mu.Lock()
	stored := append([]json.RawMessage(nil), api.stored...)
	api.mu.Unlock()
	// Two workflows with one attest step each, ten example steps.
	types := map[string]int{}
	for i, b := range stored {
		var bundle struct {
			DSSE struct {
				Payload string `json:"payload"`
			} `json:"dsseEnvelope"`
		}
		json.Unmarshal(b, &bundle)
		payload, _ := base64.StdEncoding.DecodeString(bundle.DSSE.Payload)
		var st struct {
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		json.Unmarshal(payload, &st)
		types[st.PredicateType]++
		if len(st.Subject) == 0 || st.Subject[0].Digest["sha256"] == "" {
			t.Errorf("stored bundle %d has no sha256 subject", i)
			continue
		}
		p := filepath.Join(t.TempDir(), "b.sigstore.json")
		os.WriteFile(p, b, 0o644)
		v := execIn(t, "", nil, paved, "verify-bundle", "--bundle", p, "--certificate-identity", ghSAN,
			"--certificate-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "sha256:"+st.Subject[0].Digest["sha256"])
		if v.code != 0 {
			t.Errorf("stored bundle %d (%s) does not verify: %s", i, st.PredicateType, v)
		}
	}
	want := map[string]int{"https://slsa.dev/provenance/v1": 7, "https://example.com/predicate/v1": 2, "https://spdx.dev/Document/v2.3": 1}
	for typ, n := range want {
		if types[typ] != n {
			t.Errorf("%d attestations of %s stored with GitHub, want %d (all: %v)", types[typ], typ, n, types)
		}
	}
	if got := len(referrersOf(t, repo, imgDigest)); got != 1 {
		t.Errorf("%d referrers of the image, want the container example's attestation", got)
	}
}
