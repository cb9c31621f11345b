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
