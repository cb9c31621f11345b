package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/test/oidc"
)

// consumerWorkflows are the workflows the e2e tests run in act, by file name.
func consumerWorkflows(t *testing.T) map[string]string {
	return map[string]string{
		"build.yml":    consumerWorkflow,
		"release.yml":  releaseConsumerWorkflow,
		"reusable.yml": docExample(t),
	}
}

// pavedRefRE matches a use of this repository's actions or reusable workflow
// at some ref; group 1 is the path inside the repository.
var pavedRefRE = regexp.MustCompile(`paved-dev/paved((?:/[A-Za-z0-9_.-]+)*)@[A-Za-z0-9_.-]+`)

// brokenWorkflow has mistakes both linters must catch: an unknown key under a
// step, a job without runs-on and an undefined context.
const brokenWorkflow = `name: broken
on: push
jobs:
  build:
    steps:
      - run: echo "${{ nothing.here }}"
        shell: bash
        runs: twice
`

// brokenAction is an action.yml whose composite steps key is misspelt.
const brokenAction = `name: broken
description: a composite action without steps
runs:
  using: composite
  stepz: []
`

// TestWorkflowsLint runs actionlint over the project's workflows and the
// consumer workflows the e2e tests run, and fails on any finding; a broken
// workflow must fail it.
func TestWorkflowsLint(t *testing.T) {
	actionlint := tool(t, "actionlint")
	root := repoRoot(t)
	project, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if err != nil || len(project) < 3 {
		t.Fatalf("want the project's workflows (ci, paved, release) under .github/workflows, found %v (%v)", project, err)
	}
	t.Run("project", func(t *testing.T) {
		// From the repository root, so that uses: ./ is checked against the
		// local action.yml files.
		r := execIn(t, root, nil, actionlint, append([]string{"-no-color"}, project...)...)
		if r.code != 0 {
			t.Errorf("actionlint finds problems in .github/workflows: %s", r)
		}
	})
	t.Run("against this repository's actions", func(t *testing.T) {
		// actionlint checks the with: of local actions and reusable workflows
		// against their declared inputs, but cannot fetch paved-dev/paved@REF.
		// So the reusable workflow and the consumer workflows are linted in a
		// copy of the repository where those references point at the local
		// action.yml files and .github/workflows/paved.yml.
		files := map[string]string{}
		actions, _ := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
		for _, p := range append(actions, filepath.Join(root, "action.yml")) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			files[rel] = string(b)
		}
		reusable, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "paved.yml"))
		if err != nil {
			t.Fatal(err)
		}
		workflows := consumerWorkflows(t)
		workflows["paved.yml"] = string(reusable)
		rewritten := 0
		for name, wf := range workflows {
			local := pavedRefRE.ReplaceAllStringFunc(wf, func(ref string) string {
				rewritten++
				return "./" + strings.TrimPrefix(pavedRefRE.FindStringSubmatch(ref)[1], "/")
			})
			files[".github/workflows/"+name] = local
		}
		// The consumer workflows name the actions and the reusable workflow (the
		// reusable workflow names none: it runs its own commit).
		if rewritten < 5 {
			t.Fatalf("only %d references to paved-dev/paved were pointed at the local files", rewritten)
		}
		dir := gitRepo(t, files)
		r := execIn(t, dir, nil, actionlint, "-no-color")
		if r.code != 0 {
			t.Errorf("actionlint finds problems in the reusable workflow or the e2e consumer workflows: %s", r)
		}
	})
	t.Run("broken", func(t *testing.T) {
		dir := gitRepo(t, map[string]string{".github/workflows/broken.yml": brokenWorkflow})
		r := execIn(t, dir, nil, actionlint, "-no-color")
		if r.code == 0 || !strings.Contains(r.stdout, "runs-on") || !strings.Contains(r.stdout, "nothing") {
			t.Errorf("actionlint accepts a broken workflow: %s", r)
		}
	})
}

// TestActionsValidate checks every action.yml and workflow of the project
// against the published action and workflow schemas with action-validator.
func TestActionsValidate(t *testing.T) {
	validator := tool(t, "action-validator")
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "action.yml"))
	workflows, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	files = append(files, workflows...)
	if len(files) < 6 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			if r := execIn(t, root, nil, validator, f); r.code != 0 {
				t.Errorf("action-validator rejects %s: %s", rel, r)
			}
		})
	}
	t.Run("broken", func(t *testing.T) {
		for name, content := range map[string]string{"action.yml": brokenAction, ".github/workflows/broken.yml": brokenWorkflow} {
			dir := t.TempDir()
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := execIn(t, dir, nil, validator, p); r.code == 0 {
				t.Errorf("action-validator accepts the broken %s: %s", name, r)
			}
		}
	})
}

// docExample returns the consumer workflow that docs/github.md shows: the
// YAML block after the comment that names this test.
func docExample(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "github.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	at := strings.Index(doc, "(TestActRunsTheReusableWorkflow). -->\n```yaml\n")
	if at < 0 {
		t.Fatal("docs/github.md lacks the consumer workflow example marked for TestActRunsTheReusableWorkflow")
	}
	body := doc[at+len("(TestActRunsTheReusableWorkflow). -->\n```yaml\n"):]
	end := strings.Index(body, "```\n")
	if end < 0 {
		t.Fatal("the example in docs/github.md is not closed")
	}
	return body[:end]
}

// consumerBuild stands for the consumer's build in the docs example.
const consumerBuild = `#!/usr/bin/env bash
set -euo pipefail
mkdir -p dist
printf 'app for amd64\n' > dist/app-amd64
printf 'app for arm64\n' > dist/app-arm64
`

// consumerPolicy runs under act with no network and no OSV data: it turns the
// OSV API off and accepts, explicitly, that the malicious rule goes unchecked
// (without unchecked: warn the gate would fail, as it must).
const consumerPolicy = `version: 1
online:
  osv: false
unchecked: warn
rules:
  license:
    action: deny
    deny: [AGPL-3.0-only]
    unknown: allow
`

// artifactStandIn is a local stand-in for actions/upload-artifact or
// actions/download-artifact: act runs them only after fetching their code,
// which an offline test cannot, so the test maps the pinned SHAs to these
// composite actions, which keep artifacts in the directory ARTIFACT_STORE.
func artifactStandIn(t *testing.T, upload bool) string {
	t.Helper()
	script := `mkdir -p "$ARTIFACT_STORE/$NAME"
if [ -d "$FILES" ]; then cp -R "$FILES"/. "$ARTIFACT_STORE/$NAME/"; else cp "$FILES" "$ARTIFACT_STORE/$NAME/"; fi`
	inputs := "  path: {description: files to upload}\n  if-no-files-found: {description: ignored}\n  retention-days: {description: ignored}\n"
	if !upload {
		script = `test -d "$ARTIFACT_STORE/$NAME" || { echo "::error::no artifact $NAME"; exit 1; }
mkdir -p "$FILES" && cp -R "$ARTIFACT_STORE/$NAME"/. "$FILES/"`
		inputs = "  path: {description: where to download, default: .}\n"
	}
	action := "name: artifact stand-in\ndescription: test double keeping artifacts in ARTIFACT_STORE\ninputs:\n  name: {description: artifact name, default: artifact}\n" + inputs +
		"runs:\n  using: composite\n  steps:\n    - name: artifact stand-in\n      shell: bash\n      env:\n        NAME: ${{ inputs.name }}\n        FILES: ${{ inputs.path }}\n      run: |\n" +
		"        " + strings.ReplaceAll(script, "\n", "\n        ") + "\n"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte(action), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// selfCheckoutStandIn is an actions/checkout test double for the reusable
// workflow's checkout of its own repository (act checks out the caller's own
// repository itself): it logs the repository and ref asked for to
// CHECKOUT_LOG and copies Paved's actions/ from PAVED_SELF_SOURCE, all that
// setting up paved needs when PAVED_BINARY names the binary under test.
func selfCheckoutStandIn(t *testing.T) string {
	t.Helper()
	action := `name: checkout stand-in
description: test double of actions/checkout for Paved's own repository
inputs:
  repository: {description: OWNER/REPO}
  ref: {description: commit}
  path: {description: where to check out}
  persist-credentials: {description: ignored}
runs:
  using: composite
  steps:
    - name: checkout stand-in
      shell: bash
      env:
        REPOSITORY: ${{ inputs.repository }}
        REF: ${{ inputs.ref }}
        DEST: ${{ inputs.path }}
      run: |
        printf '%s %s\n' "$REPOSITORY" "$REF" >> "$CHECKOUT_LOG"
        mkdir -p "$GITHUB_WORKSPACE/$DEST" && cp -R "$PAVED_SELF_SOURCE/actions" "$GITHUB_WORKSPACE/$DEST/"
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), []byte(action), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAttackReusableWorkflowRunsItsOwnCommit: a caller that pins the reusable
// workflow by SHA must get Paved at that SHA, not whatever a moving tag of
// Paved's actions points at today. So paved.yml names none of Paved's actions
// by a ref; it checks out its own commit from the OIDC token's
// job_workflow_sha and runs paved from there (the act run in
// TestActRunsTheReusableWorkflow checks the commit it asked for).
func TestAttackReusableWorkflowRunsItsOwnCommit(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", "paved.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string            `yaml:"id"`
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
				Run  string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	selfCheckout := false
	for name, job := range wf.Jobs {
		for _, st := range job.Steps {
			if strings.HasPrefix(st.Uses, "paved-dev/paved/") || strings.HasPrefix(st.Uses, "./") {
				t.Errorf("job %s uses %s: a reusable workflow must not name its own actions by a ref (a moving tag) or a caller-relative path", name, st.Uses)
			}
			if strings.HasPrefix(st.Uses, "actions/checkout@") && st.With["ref"] == "${{ steps.self.outputs.sha }}" &&
				st.With["repository"] == "${{ steps.self.outputs.repository }}" {
				selfCheckout = true
			}
			if st.ID == "self" && (!strings.Contains(st.Run, "job_workflow_sha") || !strings.Contains(st.Run, "^[0-9a-f]{40}$")) {
				t.Errorf("the self step must read and check job_workflow_sha from the OIDC token:\n%s", st.Run)
			}
		}
	}
	if !selfCheckout {
		t.Error("paved.yml does not check out its own commit (actions/checkout with steps.self.outputs.repository and sha)")
	}
}

// TestActRunsTheReusableWorkflow runs the consumer workflow of docs/github.md,
// which builds in one job and calls .github/workflows/paved.yml (as paved-dev/paved@v1) for the
// SBOM, provenance and policy gate, against the local Sigstore stack, and
// verifies the provenance bundle it hands back with paved, cosign and gh.
func TestActRunsTheReusableWorkflow(t *testing.T) {
	act := tool(t, "act")
	consumer := gitRepo(t, map[string]string{
		".github/workflows/release.yml": docExample(t),
		"paved-policy.yml":              consumerPolicy,
		"build.sh":                      consumerBuild,
	})
	if err := os.Chmod(filepath.Join(consumer, "build.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	// The token GitHub gives a job of the reusable workflow: the caller's
	// repository and run, the reusable workflow as job_workflow_ref.
	const reusable = "paved-dev/paved/.github/workflows/paved.yml@refs/tags/v1"
	reusableSAN := "https://github.com/" + reusable
	claims := oidc.GitHubReusableClaims(ghRepo, reusable)
	reqURL, reqToken := stk.GitHubOIDC().GitHubRequestFor(claims)
	checkouts := filepath.Join(t.TempDir(), "checkouts.log")
	args := []string{"push", "-W", ".github/workflows/release.yml",
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--local-repository", "paved-dev/paved@v1=" + repoRoot(t),
		"--local-repository", "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02=" + artifactStandIn(t, true),
		"--local-repository", "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093=" + artifactStandIn(t, false),
		"--local-repository", "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683=" + selfCheckoutStandIn(t),
		"--env", "PAVED_SELF_SOURCE=" + repoRoot(t), "--env", "CHECKOUT_LOG=" + checkouts,
		"--env", "ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "--env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"--env", "PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "--env", "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
		"--env", "ARTIFACT_STORE=" + store,
		// The from-source and the download paths have their own tests: here
		// every action of the reusable workflow runs the binary under test.
		"--env", "PAVED_BINARY=" + paved,
	}
	start := time.Now()
	r := execIn(t, consumer, []string{"HOME=" + t.TempDir(), "GH_TOKEN=", "GITHUB_TOKEN="}, act, args...)
	t.Logf("act took %s", time.Since(start))
	if r.code != 0 || !strings.Contains(r.stdout, "bundle=paved-out/provenance.sigstore.json verdict=PASSED") ||
		!strings.Contains(r.stdout, "signer="+reusableSAN) || !strings.Contains(r.stdout, "provenance.sigstore.json\n") {
		t.Fatalf("act run of the reusable workflow failed: %s", r)
	}
	// The workflow checked out its own repository at the commit its OIDC
	// token names (job_workflow_sha), not at a tag.
	if got, err := os.ReadFile(checkouts); err != nil || string(got) != "paved-dev/paved "+claims["job_workflow_sha"].(string)+"\n" {
		t.Errorf("the reusable workflow checked out %q (%v), want paved-dev/paved at its job_workflow_sha %s", got, err, claims["job_workflow_sha"])
	}
	// The stand-in of upload-artifact kept what the reusable workflow handed back.
	out := filepath.Join(store, "build-output-paved")
	for _, f := range []string{"provenance.sigstore.json", "build-output.spdx.json", "build-output.cdx.json", "paved-policy.junit.xml", "paved-policy.sarif"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the attestations artifact lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, ".paved-caller")); err == nil {
		t.Errorf("the caller's checkout leaked into the attestations artifact")
	}
	artifact := filepath.Join(store, "build-output", "app-amd64")
	bundle := filepath.Join(out, "provenance.sigstore.json")
	for name, res := range verifiers(t, bundle, artifact, reusableSAN, stk.GitHubIssuer, "paved-dev") {
		if res.code != 0 {
			t.Errorf("%s rejects what the reusable workflow signed: %s", name, res)
		}
	}
	// docs/github.md's three commands for verifying by hand, as written but for
	// OWNER/REPO, the paths, and the local stack standing in for public-good
	// Sigstore and GitHub's issuer.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "dist"), 0o755)
	if b, err := os.ReadFile(artifact); err != nil || os.WriteFile(filepath.Join(dir, "dist", "app-amd64"), b, 0o644) != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(bundle); err != nil || os.WriteFile(filepath.Join(dir, "provenance.sigstore.json"), b, 0o644) != nil {
		t.Fatal(err)
	}
	local := map[string][]string{
		"paved":  {"--trusted-root", stk.TrustedRootPath, "--cert-oidc-issuer", stk.GitHubIssuer},
		"cosign": {"--trusted-root", stk.TrustedRootPath, "--use-signed-timestamps", "--insecure-ignore-sct"},
		"gh":     {"--custom-trusted-root", stk.TrustedRootJSONLPath, "--cert-oidc-issuer", stk.GitHubIssuer},
	}
	for _, prefix := range []string{"paved verify dist/app-amd64", "cosign verify-blob-attestation", "gh attestation verify"} {
		args := docCommand(t, "docs/github.md", prefix)
		for i, a := range args {
			a = strings.ReplaceAll(a, "OWNER/REPO", ghRepo)
			a = strings.ReplaceAll(a, "https://token.actions.githubusercontent.com", stk.GitHubIssuer)
			args[i] = strings.Trim(a, "'")
		}
		bin := args[0]
		if bin == "paved" {
			bin = paved
		} else {
			bin = tool(t, bin)
		}
		v := execIn(t, dir, []string{"GH_NO_UPDATE_NOTIFIER=1", "GH_TOKEN="}, bin, append(args[1:], local[args[0]]...)...)
		if v.code != 0 {
			t.Errorf("docs/github.md's %q rejects what the reusable workflow signed: %s", prefix, v)
		}
	}
	other := execIn(t, dir, nil, paved, "verify", "dist/app-amd64", "--bundle", "provenance.sigstore.json", "--repo", ghRepo,
		"--signer-workflow", ghRepo+"/.github/workflows/build.yml", "--trusted-root", stk.TrustedRootPath, "--cert-oidc-issuer", stk.GitHubIssuer)
	if other.code != 1 {
		t.Errorf("the caller's own workflow passed as the signer; the reusable workflow signed: %s", other)
	}
	st := statement(t, filepath.Join(out, "provenance.sigstore.json"))
	if subjects, _ := st["subject"].([]any); len(subjects) != 2 {
		t.Errorf("the provenance names %d subjects, want app-amd64 and app-arm64: %v", len(subjects), st["subject"])
	}
	assertNoSecrets(t, []string{reqToken}, []string{r.stdout, r.stderr}, out, store)
}
