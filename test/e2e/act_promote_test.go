package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/paved-dev/paved/shared/promote"
)

const promoteWorkflow = `name: promote
on: push
permissions:
  contents: read
  id-token: write
jobs:
  promote:
    runs-on: ubuntu-latest
    steps:
      - name: promote
        id: promote
        uses: paved-dev/paved/actions/promote@v1
        with:
          source: ${{ env.SOURCE }}
          destination: ${{ env.DESTINATION }}
          tag: "1.0"
          environment: production
          repo: paved-dev/demo
          cert-oidc-issuer: ${{ env.STACK_GITHUB_ISSUER }}
      - name: outputs
        env:
          DIGEST: ${{ steps.promote.outputs.digest }}
          DEST: ${{ steps.promote.outputs.destination }}
          ATTESTATION: ${{ steps.promote.outputs.attestation-path }}
          TAGS: ${{ steps.promote.outputs.tags }}
        run: |
          echo "promoted digest=$DIGEST destination=$DEST tags=$TAGS"
          mkdir -p "$OUT_DIR" && cp "$ATTESTATION" "$OUT_DIR/promotion.sigstore.json"
      - name: refused
        id: refused
        continue-on-error: true
        uses: paved-dev/paved/actions/promote@v1
        with:
          source: ${{ env.SOURCE }}
          destination: ${{ env.DESTINATION }}
          owner: someone-else
          cert-oidc-issuer: ${{ env.STACK_GITHUB_ISSUER }}
      - name: outcomes
        env:
          REFUSED: ${{ steps.refused.outcome }}
        run: echo "refused=$REFUSED"
`

// TestActRunsThePromoteAction runs actions/promote in act against two
// registries on loopback and the local Sigstore stack: an attested
// multi-arch index is promoted by digest with its referrers, tagged after the
// proof, and a promotion attestation signed with the job's OIDC token is
// attached at the destination; the action's outputs name the digest, the
// destination by digest and the attestation; a policy the source does not
// meet fails the step; the step summary says what was promoted, from where to
// where, and how to verify it.
func TestActRunsThePromoteAction(t *testing.T) {
	staging, prod := startRegistry(t), startRegistry(t)
	stagingRepo, _ := name.NewRepository(staging + "/paved-dev/demo")
	prodRepo, _ := name.NewRepository(prod + "/paved-dev/demo")
	index, platforms := pushIndex(t, stagingRepo.Tag("1.0"))
	attestImage(t, stagingRepo, []v1.Hash{index, platforms[0]}, ghRepo)

	act := tool(t, "act")
	consumer := gitRepo(t, map[string]string{".github/workflows/promote.yml": promoteWorkflow})
	out := t.TempDir()
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	source := stagingRepo.Digest(index.String()).String()
	args := []string{"push", "-W", ".github/workflows/promote.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@v1=" + repoRoot(t),
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"--env", "PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "--env", "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
		"--env", "STACK_GITHUB_ISSUER=" + stk.GitHubIssuer, "--env", "OUT_DIR=" + out,
		"--env", "SOURCE=" + source, "--env", "DESTINATION=" + prodRepo.String(),
		"--env", "PAVED_BINARY=" + paved,
	}
	start := time.Now()
	r := execIn(t, consumer, []string{"HOME=" + t.TempDir(), "GH_TOKEN=", "GITHUB_TOKEN="}, act, args...)
	t.Logf("act took %s", time.Since(start))
	want := "promoted digest=" + index.String() + " destination=" + prodRepo.Digest(index.String()).String() + " tags=" + prodRepo.Tag("1.0").String()
	if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "refused=failure") {
		t.Fatalf("act run of actions/promote (want %q and refused=failure): %s", want, r)
	}
	if d, err := remote.Head(prodRepo.Tag("1.0"), anon); err != nil || d.Digest != index {
		t.Fatalf("tag 1.0 at the destination: %v %v", d, err)
	}
	if n := sameGraph(t, stagingRepo, prodRepo, index, 0); n != 2 {
		t.Errorf("%d referrers at the source, want the provenance of the index and of a platform", n)
	}
	if got := len(referrersOf(t, prodRepo, index)); got != 2 {
		t.Errorf("%d referrers of the index at the destination, want the provenance and the promotion attestation", got)
	}
	bundle := filepath.Join(out, "promotion.sigstore.json")
	if _, err := os.Stat(bundle); err != nil {
		t.Fatal(err)
	}
	v := execIn(t, "", nil, paved, "verify", "oci://"+prodRepo.Digest(index.String()).String(), "--bundle", bundle,
		"--repo", ghRepo, "--cert-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath, "--predicate-type", promote.PredicateType)
	if v.code != 0 {
		t.Errorf("the promotion attestation does not verify at the destination: %s", v)
	}

	// act gives every step a fresh summary file and shows none of them, so
	// the summary is read from a run of the same step's binary with the
	// environment GitHub gives it, promoting to a second repository.
	ws := t.TempDir()
	summary := filepath.Join(t.TempDir(), "step_summary")
	again := prodRepo.Registry.Repo("paved-dev", "demo-2")
	env := githubStep(ws, filepath.Join(t.TempDir(), "out"), summary, reqURL, reqToken, "GITHUB_RUN_ID=4242",
		"INPUT_SOURCE="+source, "INPUT_DESTINATION="+again.String(), "INPUT_REPO="+ghRepo, "INPUT_ENVIRONMENT=production",
		"INPUT_CERT_OIDC_ISSUER="+stk.GitHubIssuer)
	if r := execIn(t, ws, env, paved, "promote"); r.code != 0 {
		t.Fatalf("paved promote as a GitHub step: %s", r)
	}
	sum, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{source, again.Digest(index.String()).String(), "environment: `production`"} {
		if !strings.Contains(string(sum), s) {
			t.Errorf("the step summary does not show %q:\n%s", s, sum)
		}
	}
	// The summary's verify commands, run as written, pass.
	var commands int
	for _, line := range strings.Split(string(sum), "\n") {
		if !strings.HasPrefix(line, "paved verify oci://") {
			continue
		}
		commands++
		if v := execIn(t, "", nil, paved, strings.Fields(line)[1:]...); v.code != 0 {
			t.Errorf("the summary's command %q fails: %s", line, v)
		}
	}
	if commands != 2 {
		t.Errorf("the summary gives %d verify commands, want the build's and the promotion's:\n%s", commands, sum)
	}
	assertNoSecrets(t, []string{reqToken}, []string{r.stdout, r.stderr}, out)
}
