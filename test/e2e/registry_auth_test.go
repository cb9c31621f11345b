package e2e

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// authRegistry is an OCI registry (go-containerregistry's) on loopback that,
// like GitLab's container registry, answers 401 with a Basic challenge to any
// request without the job's registry credentials. It counts refusals.
func authRegistry(t *testing.T, user, password string) (string, *atomic.Int32) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &refused
}

// TestRegistryCredentialsFromTheJob: a GitLab job reads and writes its
// project's container registry with the CI_REGISTRY_USER and
// CI_REGISTRY_PASSWORD every job has, without a docker login: paved attest
// attaches the provenance to the image, paved sbom scans it, paved verify
// fetches the attestation back. Without the password the registry refuses the
// job and paved fails.
func TestRegistryCredentialsFromTheJob(t *testing.T) {
	const user, password = "gitlab-ci-token", "glcbt-64_e2eRegistryPassword0123456789"
	host, refused := authRegistry(t, user, password)
	ref, _ := name.ParseReference(host + "/paved-dev/demo:1.0")
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	image := ref.Context().Digest(d.String()).String()

	ws := workspace(t)
	token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	job := func(extra ...string) []string {
		return append([]string{
			"GITLAB_CI=true", "CI_PROJECT_DIR=" + ws, "CI_SERVER_URL=https://gitlab.com", "CI_PROJECT_PATH=" + glProject,
			"CI_PIPELINE_ID=777", "CI_JOB_ID=9002", "CI_JOB_NAME=paved", "SIGSTORE_ID_TOKEN=" + token,
			"DOCKER_CONFIG=" + t.TempDir(), // no docker login
			"CI_REGISTRY=" + host, "CI_REGISTRY_USER=" + user,
			"PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
			"PAVED_CERT_OIDC_ISSUER=" + stk.GitLabIssuer, "PAVED_PROJECT=" + glProject,
		}, extra...)
	}
	attest := []string{"PAVED_SUBJECT_DIGEST=" + image, "PAVED_PUSH_TO_REGISTRY=true", "PAVED_REGISTRY_IMAGE=" + image, "PAVED_BUNDLE_PATH=image.sigstore.json"}

	r := execIn(t, ws, job(attest...), paved, "attest")
	if r.code != 2 || !strings.Contains(r.stderr, "the registry refused the job's credentials (HTTP 401)") || !strings.Contains(r.stderr, "CI_REGISTRY_PASSWORD") {
		t.Fatalf("without CI_REGISTRY_PASSWORD: want exit 2 naming the credentials to use: %s", r)
	}
	if refused.Load() == 0 {
		t.Fatal("the registry never refused a request")
	}

	withPassword := "CI_REGISTRY_PASSWORD=" + password
	if r := execIn(t, ws, job(append(attest, withPassword)...), paved, "attest"); r.code != 0 {
		t.Fatalf("paved attest with the job's registry credentials: %s", r)
	}
	if r := execIn(t, ws, job(withPassword, "PAVED_SOURCE="+image, "PAVED_SOURCE_TYPE=registry", "PAVED_FORMAT=cyclonedx-json", "PAVED_OUTPUT_NAME=image"), paved, "sbom"); r.code != 0 {
		t.Fatalf("paved sbom of the image with the job's registry credentials: %s", r)
	}
	if _, err := remote.Head(ref, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatal(err)
	}
	v := execIn(t, ws, job(withPassword, "PAVED_ARTIFACT=oci://"+image), paved, "verify")
	if v.code != 0 || !strings.Contains(v.stdout+v.stderr, "verified") {
		t.Fatalf("paved verify fetching the attestation with the job's registry credentials: %s", v)
	}
	assertNoSecrets(t, []string{token, password}, []string{r.stdout, r.stderr, v.stdout, v.stderr}, ws)
	if _, err := filepath.Glob(filepath.Join(ws, "image.cdx.json")); err != nil {
		t.Fatal(err)
	}
}
