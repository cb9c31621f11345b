package command_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/shared/promote/promotetest"
)

// unsignedToken is shaped like an identity token (the early check reads its
// claims only); nothing in these tests reaches a certificate authority.
func unsignedToken(t *testing.T) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"iss":"https://issuer.example","sub":"x","aud":"sigstore","exp":%d}`, time.Now().Add(time.Hour).Unix())
	p := filepath.Join(t.TempDir(), "token")
	os.WriteFile(p, []byte(enc([]byte(`{"alg":"none"}`))+"."+enc([]byte(claims))+".c2ln"), 0o600)
	return p
}

// TestPromoteRefusals runs paved promote against two in-memory registries on
// loopback. Each refusal happens before anything reaches the destination.
func TestPromoteRefusals(t *testing.T) {
	serve := func() string {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	staging, prod := serve(), serve()
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := name.ParseReference(staging + "/team/app:1.0")
	if err := remote.Write(src, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	dst := prod + "/team/app"
	token := unsignedToken(t)
	out := filepath.Join(t.TempDir(), "promotion.sigstore.json")
	policy := []string{"--owner", "paved-dev", "--trusted-root", publicRoot, "--identity-token-file", token, "--attestation-path", out}
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"no destination", []string{"promote", src.String()}, 2, "paved promote SOURCE DESTINATION"},
		{"tag with require-digest", append([]string{"promote", src.String(), dst, "--require-digest"}, policy...), 2, "--require-digest"},
		{"no identity", []string{"promote", src.String(), dst, "--trusted-root", publicRoot, "--identity-token-file", token}, 2, "no identity to verify against"},
		{"no token", []string{"promote", src.String(), dst, "--owner", "paved-dev", "--trusted-root", publicRoot}, 2, "no OIDC identity token"},
		{"attestation directory missing", append(append([]string{"promote", src.String(), dst}, policy...), "--attestation-path", "/nonexistent/p.sigstore.json"), 2, "--attestation-path"},
		{"unattested source", append([]string{"promote", src.String(), dst + ":1.0"}, policy...), 1, "no attestation of type https://slsa.dev/provenance/v1 verifies"},
		{"attestations about something else", append([]string{"promote", staging + "/team/app@" + digest.String(), dst, "--bundle", pub("reusable-workflow-attestation.sigstore.json")}, policy...), 1, "no attestation names " + digest.String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := pavedRun(t, tc.args...)
			if code != tc.want || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, want %d mentioning %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, tc.msg, stdout, stderr)
			}
			if _, err := remote.Head(mustRef(t, dst+"@"+digest.String())); err == nil {
				t.Fatal("the image reached the destination")
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a promotion attestation was written")
			}
		})
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPromoteReleaseFile promotes a release file with a real public-good
// GitHub artifact attestation to a GitHub API on loopback that follows the
// REST documentation for releases and release assets (package promotetest).
// Only attested bytes are uploaded; every refusal leaves the release untouched.
func TestPromoteReleaseFile(t *testing.T) {
	const token = "ghs_promoteFileToken0123456789abcdef"
	gh := promotetest.NewGitHubReleases("paved-dev", "demo", token)
	defer gh.Close()
	gh.CreateRelease("v1.0.0")
	attested, err := os.ReadFile(pub("reusable-workflow-artifact"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "app-linux-amd64")
	os.WriteFile(file, attested, 0o644)
	rebuilt := filepath.Join(t.TempDir(), "app-linux-amd64")
	os.WriteFile(rebuilt, append(append([]byte(nil), attested...), '\n'), 0o644)
	beside := filepath.Join(t.TempDir(), "app-linux-amd64")
	os.WriteFile(beside, attested, 0o644)
	bundle, _ := os.ReadFile(pub("reusable-workflow-attestation.sigstore.json"))
	os.WriteFile(beside+".sigstore.json", bundle, 0o644)
	lonely := filepath.Join(t.TempDir(), "app-linux-amd64")
	os.WriteFile(lonely, attested, 0o644)

	dst := "github-release://paved-dev/demo@v1.0.0"
	// The identity token passes the early check; no case reaches signing (the
	// promotion attestation and the uploads run in test/e2e on the local stack).
	policy := []string{"--owner", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--trusted-root", publicRoot, "--identity-token-file", unsignedToken(t)}
	gith := []string{"--github-api-url", gh.API.URL, "--github-token", token}
	withBundle := append(append([]string{"--bundle", pub("reusable-workflow-attestation.sigstore.json")}, policy...), gith...)
	tests := []struct {
		name   string
		args   []string
		faults promotetest.Faults
		want   int
		msg    string
		sent   int
	}{
		{"rebuilt file", append([]string{"promote", rebuilt, dst}, withBundle...), promotetest.Faults{}, 1, "rebuilt or altered after it was attested", 0},
		{"another signer", append([]string{"promote", file, dst, "--bundle", pub("reusable-workflow-attestation.sigstore.json"), "--owner", "someone-else", "--signer-repo", "github/artifact-attestations-workflows", "--trusted-root", publicRoot, "--identity-token-file", unsignedToken(t)}, gith...), promotetest.Faults{}, 1, "no attestation of type https://slsa.dev/provenance/v1 verifies", 0},
		{"no identity token", append([]string{"promote", file, dst, "--bundle", pub("reusable-workflow-attestation.sigstore.json"), "--owner", "malancas", "--trusted-root", publicRoot}, gith...), promotetest.Faults{}, 2, "no OIDC identity token", 0},
		{"no token", append(append([]string{"promote", file, dst, "--bundle", pub("reusable-workflow-attestation.sigstore.json")}, policy...), "--github-api-url", gh.API.URL), promotetest.Faults{}, 2, "github-token", 0},
		{"no release for the tag", append([]string{"promote", file, "github-release://paved-dev/demo@v9"}, withBundle...), promotetest.Faults{}, 2, "create the release of tag v9 first", 0},
		{"no bundles", append(append([]string{"promote", lonely, dst}, policy...), gith...), promotetest.Faults{}, 2, "no bundles about", 0},
		{"GitLab package outside GitLab CI", append([]string{"promote", file, "gitlab-package://app@1.0.0"}, withBundle...), promotetest.Faults{}, 2, "only inside a GitLab CI/CD job", 0},
		{"file to a registry", append([]string{"promote", "file://" + file, "registry.example.com/team/app"}, withBundle...), promotetest.Faults{}, 2, "is a file", 0},
		{"image option", append([]string{"promote", file, dst, "--tag", "prod"}, withBundle...), promotetest.Faults{}, 2, "--tag applies to images", 0},
		{"bad destination", append([]string{"promote", file, "github-release://demo"}, withBundle...), promotetest.Faults{}, 2, "OWNER/REPO@TAG", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gh.SetFaults(tc.faults)
			code, stdout, stderr := pavedRun(t, tc.args...)
			if code != tc.want || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, want %d mentioning %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, tc.msg, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, token) {
				t.Fatal("the token was printed")
			}
			if n := gh.UploadCount(); n != tc.sent {
				t.Fatalf("%d uploads so far, want %d", n, tc.sent)
			}
			if tc.want == 0 {
				got, ok := gh.Asset("v1.0.0", "app-linux-amd64")
				if !ok || string(got) != string(attested) {
					t.Fatal("the release does not hold the attested bytes")
				}
				if !strings.Contains(stdout, "destination: "+dst) || !strings.Contains(stdout, "file-url: "+gh.Uploads.URL+"/download/") || !strings.Contains(stdout, "digest: sha256:") {
					t.Fatalf("outputs:\n%s", stdout)
				}
			}
		})
	}
}
