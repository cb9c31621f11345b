package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// componentYAML is templates/NAME.yml, the GitLab component as users include it.
func componentYAML(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "templates", name+".yml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// gitRepo makes a consumer repository with one commit holding files.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "build"},
	} {
		if r := execIn(t, dir, nil, "git", args...); r.code != 0 {
			t.Fatalf("git %v: %s", args, r)
		}
	}
	return dir
}

const consumerWorkflow = `name: build
on: push
permissions:
  contents: read
  id-token: write
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: build
        run: mkdir -p dist && printf 'app for amd64\n' > dist/app-amd64 && printf 'app for arm64\n' > dist/app-arm64
      - name: attest
        id: attest
        uses: paved-dev/paved@v1
        with:
          subject-path: dist/*
      - name: use the outputs
        env:
          BUNDLE: ${{ steps.attest.outputs.bundle-path }}
          SUBJECTS: ${{ steps.attest.outputs.subjects }}
          SIGNER: ${{ steps.attest.outputs.signer-identity }}
        run: |
          test -s "$BUNDLE"
          echo "bundle=$BUNDLE"
          echo "signer=$SIGNER"
          echo "$SUBJECTS" | grep -c '^sha256:' | sed 's/^/subjects=/'
          mkdir -p "$OUT_DIR" && cp "$BUNDLE" "$OUT_DIR/" && cp dist/app-amd64 "$OUT_DIR/"
      - name: verify gate
        id: gate
        uses: paved-dev/paved/actions/verify@v1
        with:
          artifact: dist/app-amd64
          bundle: ${{ steps.attest.outputs.bundle-path }}
          repo: paved-dev/demo
          source-ref: refs/heads/main
          cert-oidc-issuer: ${{ env.STACK_GITHUB_ISSUER }}
          trusted-root: ${{ env.PAVED_TRUSTED_ROOT }}
      - name: verify gate refuses another owner
        id: refused
        continue-on-error: true
        uses: paved-dev/paved/actions/verify@v1
        with:
          artifact: dist/app-amd64
          bundle: ${{ steps.attest.outputs.bundle-path }}
          owner: someone-else
          cert-oidc-issuer: ${{ env.STACK_GITHUB_ISSUER }}
          trusted-root: ${{ env.PAVED_TRUSTED_ROOT }}
      - name: gate outcomes
        env:
          GATE: ${{ steps.gate.outputs.verified }}
          REFUSED: ${{ steps.refused.outcome }}
        run: echo "gate=$GATE refused=$REFUSED"
`

// TestActRunsTheAction runs a consumer workflow that uses this repository's
// root action (as paved-dev/paved@v1) in nektos/act on the host, against the
// local Sigstore stack, and verifies what it produced with paved, cosign and gh.
func TestActRunsTheAction(t *testing.T) {
	act := tool(t, "act")
	consumer := gitRepo(t, map[string]string{".github/workflows/build.yml": consumerWorkflow})
	out := t.TempDir()
	home := t.TempDir()
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	args := []string{"push", "-W", ".github/workflows/build.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@v1=" + repoRoot(t),
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"--env", "PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "--env", "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
		"--env", "OUT_DIR=" + out, "--env", "STACK_GITHUB_ISSUER=" + stk.GitHubIssuer,
		// The action builds paved from its own source, offline, from the warm module cache.
		"--env", "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "--env", "GOCACHE=" + goEnv(t, "GOCACHE"),
		"--env", "GOPROXY=off", "--env", "GOFLAGS=-buildvcs=false", "--env", "GOTOOLCHAIN=local",
	}
	start := time.Now()
	r := execIn(t, consumer, []string{"HOME=" + home, "GH_TOKEN=", "GITHUB_TOKEN="}, act, args...)
	t.Logf("act took %s", time.Since(start))
	if r.code != 0 || !strings.Contains(r.stdout, "subjects=2") || !strings.Contains(r.stdout, "gate=true refused=failure") {
		t.Fatalf("act run failed: %s", r)
	}
	bundle := filepath.Join(out, "attestation.sigstore.json")
	for name, res := range verifiers(t, bundle, filepath.Join(out, "app-amd64"), ghSAN, stk.GitHubIssuer, "paved-dev") {
		if res.code != 0 {
			t.Errorf("%s rejects what the action signed: %s", name, res)
		}
	}
	assertNoSecrets(t, []string{reqToken}, []string{r.stdout, r.stderr}, out, consumer)
}

const consumerPipeline = `stages: [build, attest, check, deploy]
include:
  - local: paved/verify.yml
    inputs:
      stage: deploy
      needs: [paved-attest, build]
      paved: $PAVED_BIN
      artifact: dist/app-amd64
      bundle: attestation.sigstore.json
      project: paved-dev/demo
      source-ref: refs/heads/main
      cert-oidc-issuer: $PAVED_STACK_GITLAB_ISSUER
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
  - local: paved/attest.yml
    inputs:
      stage: attest
      needs: [build]
      paved: $PAVED_BIN
      subject-path: dist/*
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
      signing-config: $PAVED_STACK_SIGNING_CONFIG
build:
  stage: build
  script:
    - mkdir -p dist && printf 'app for amd64\n' > dist/app-amd64 && printf 'app for arm64\n' > dist/app-arm64
  artifacts:
    paths: [dist/]
check:
  stage: check
  needs: [paved-attest]
  script:
    - test -s "$PAVED_ATTEST_BUNDLE_PATH"
    - echo "dotenv bundle=$(basename "$PAVED_ATTEST_BUNDLE_PATH") signer=$PAVED_ATTEST_SIGNER_IDENTITY"
    - mkdir -p "$OUT_DIR" && cp "$PAVED_ATTEST_BUNDLE_PATH" dist/app-amd64 "$OUT_DIR/"
`

// TestGitLabCILocalRunsTheComponent runs a consumer pipeline that includes the
// attest component (templates/attest.yml) in gitlab-ci-local's shell executor,
// with a GitLab-shaped token from the local issuer, and verifies the bundle.
// gitlab-ci-local does not implement id_tokens, so the token is passed as the
// SIGSTORE_ID_TOKEN variable, which is what GitLab sets from id_tokens.
func TestGitLabCILocalRunsTheComponent(t *testing.T) {
	component := componentYAML(t, "attest")
	verifyComponent := componentYAML(t, "verify")
	consumer := consumer(t, map[string]string{".gitlab-ci.yml": consumerPipeline, "paved/attest.yml": component, "paved/verify.yml": verifyComponent})
	token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	home := t.TempDir()
	r := gitlabCILocal(t, consumer, home, append(shellRunner(consumer, token), "--variable", "OUT_DIR="+out)...)
	if r.code != 0 || !strings.Contains(r.stdout, "dotenv bundle=attestation.sigstore.json signer="+glSAN) || !strings.Contains(r.stdout, "paved-verify") || !strings.Contains(r.stdout, "every artifact proved its history") {
		t.Fatalf("gitlab-ci-local run failed: %s", r)
	}
	bundle := filepath.Join(out, "attestation.sigstore.json")
	for name, res := range verifiers(t, bundle, filepath.Join(out, "app-amd64"), glSAN, stk.GitLabIssuer, "") {
		if res.code != 0 {
			t.Errorf("%s rejects what the component signed: %s", name, res)
		}
	}
	assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, out)
}
