package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/test/oidc"
)

// TestVerifyGHExamples runs the examples of gh attestation verify --help with
// paved verify in place of gh attestation verify, flags unchanged, beside gh
// itself on the same bundles: both accept what gh accepts and refuse what gh
// refuses. Each example is completed with the local stack's trust material
// and issuer, as gh needs them offline; --format json becomes gh-json.
func TestVerifyGHExamples(t *testing.T) {
	owner, _, _ := strings.Cut(ghRepo, "/")
	ws := workspace(t)
	tok, err := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	bundle := attestAs(t, ws, tok)
	art := filepath.Join(ws, "dist", "app-linux-amd64")

	// A reusable workflow in another repository of the owner signs for ghRepo.
	const shared = "paved-dev/shared-workflows"
	claims := oidc.GitHubClaims(ghRepo)
	claims["job_workflow_ref"] = shared + "/.github/workflows/attest.yml@refs/heads/main"
	rtok, err := stk.GitHubOIDC().Mint(claims, "sigstore", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ws2 := workspace(t)
	rbundle := attestAs(t, ws2, rtok)
	rart := filepath.Join(ws2, "dist", "app-linux-amd64")

	other := filepath.Join(t.TempDir(), "other.bin")
	if err := os.WriteFile(other, []byte("not the artifact that was attested\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// An image in a registry, attested by digest with the bundle kept on disk.
	reg := startRegistry(t)
	imgRepo, err := name.NewRepository(reg + "/paved-dev/demo")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(imgRepo.Tag("1.0"), img, anon); err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()
	iws := t.TempDir()
	if r := execIn(t, iws, nil, paved, "attest", "--identity-token-file", writeToken(t, tok), "--trusted-root", stk.TrustedRootPath,
		"--signing-config", stk.SigningConfigPath, "--bundle-path", "image.sigstore.json",
		"--subject-digest", imgRepo.Name()+"@"+imgDigest.String()); r.code != 0 {
		t.Fatalf("paved attest: %s", r)
	}
	ibundle := filepath.Join(iws, "image.sigstore.json")
	image := "oci://" + imgRepo.Tag("1.0").String()

	local := []string{"--custom-trusted-root", stk.TrustedRootJSONLPath, "--cert-oidc-issuer", stk.GitHubIssuer}
	cases := []struct {
		name string
		args []string
		// pavedCode is paved's exit code: 0, 1 when the check fails, 2 for
		// flags gh refuses too (gh exits 1 for both).
		pavedCode int
	}{
		{"verify an artifact linked with a repository", []string{art, "--bundle", bundle, "--repo", ghRepo}, 0},
		{"verify an artifact linked with an organization", []string{art, "--bundle", bundle, "--owner", owner}, 0},
		{"output the full verification result", []string{art, "--bundle", bundle, "--owner", owner, "--format", "json"}, 0},
		{"artifact signed with a reusable workflow", []string{rart, "--bundle", rbundle, "--owner", owner, "--signer-repo", shared}, 0},
		{"verify an OCI image using attestations stored on disk", []string{image, "--owner", owner, "--bundle", ibundle}, 0},
		{"an OCI image with the bundle of a file", []string{image, "--owner", owner, "--bundle", bundle}, 1},
		{"short flags", []string{art, "-b", bundle, "-R", ghRepo}, 0},
		{"jq on the verification result", []string{art, "-b", bundle, "-o", owner, "--format", "json", "-q", ".[0].verificationResult.statement.predicateType"}, 0},
		{"another organization", []string{art, "--bundle", bundle, "--owner", "evil"}, 1},
		{"another repository", []string{art, "--bundle", bundle, "--repo", owner + "/other"}, 1},
		{"reusable workflow of another repository", []string{rart, "--bundle", rbundle, "--owner", owner, "--signer-repo", owner + "/other"}, 1},
		{"the bundle of another artifact", []string{other, "--bundle", bundle, "--owner", owner}, 1},
		{"a digest the bundle does not name", []string{art, "--bundle", bundle, "--owner", owner, "-d", "sha512"}, 1},
		{"owner with repo", []string{art, "--bundle", bundle, "--owner", owner, "--repo", ghRepo}, 2},
		{"signer repo with signer workflow", []string{rart, "--bundle", rbundle, "--owner", owner, "--signer-repo", shared, "--signer-workflow", shared + "/.github/workflows/attest.yml"}, 2},
		{"jq without a JSON format", []string{art, "--bundle", bundle, "--owner", owner, "--jq", "."}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gh := execIn(t, "", []string{"GH_NO_UPDATE_NOTIFIER=1", "GH_TOKEN="}, tool(t, "gh"),
				append(append([]string{"attestation", "verify"}, c.args...), local...)...)
			pargs := append([]string{"verify"}, c.args...)
			for i, a := range pargs {
				if a == "--format" && pargs[i+1] == "json" {
					pargs[i+1] = "gh-json"
				}
			}
			pv := execIn(t, "", nil, paved, append(pargs, local...)...)
			if (gh.code == 0) != (c.pavedCode == 0) {
				t.Fatalf("gh exit %d, this case expects success=%v: %s", gh.code, c.pavedCode == 0, gh)
			}
			if pv.code != c.pavedCode {
				t.Fatalf("paved exit %d, want %d (gh: exit %d)\npaved: %s", pv.code, c.pavedCode, gh.code, pv)
			}
			joined := strings.Join(c.args, " ")
			if c.pavedCode == 0 && strings.Contains(joined, "--format json") && !strings.Contains(joined, "-q") {
				sameGHJSON(t, gh.stdout, pv.stdout)
			}
			if c.pavedCode == 0 && strings.Contains(joined, "-q") && gh.stdout != pv.stdout {
				t.Fatalf("--jq printed %q, gh printed %q", pv.stdout, gh.stdout)
			}
		})
	}
}

// sameGHJSON compares gh's --format json with paved's --format gh-json, all
// but verifiedIdentity, which states each tool's own policy.
func sameGHJSON(t *testing.T, ghOut, pavedOut string) {
	t.Helper()
	var g, p []map[string]map[string]any
	if err := json.Unmarshal([]byte(ghOut), &g); err != nil {
		t.Fatalf("gh printed %q: %v", ghOut, err)
	}
	if err := json.Unmarshal([]byte(pavedOut), &p); err != nil {
		t.Fatalf("paved printed %q: %v", pavedOut, err)
	}
	if len(g) != 1 || len(p) != 1 {
		t.Fatalf("gh printed %d results, paved %d", len(g), len(p))
	}
	for _, r := range []map[string]map[string]any{g[0], p[0]} {
		delete(r["verificationResult"], "verifiedIdentity")
	}
	if !reflect.DeepEqual(g[0], p[0]) {
		a, _ := json.MarshalIndent(g[0], "", " ")
		b, _ := json.MarshalIndent(p[0], "", " ")
		t.Fatalf("gh-json differs from gh's JSON\ngh:\n%s\npaved:\n%s", a, b)
	}
}
