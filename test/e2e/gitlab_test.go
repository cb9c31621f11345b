package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
)

// catalog publishes this working tree's components the way the CI/CD catalog
// serves them: a git project paved-dev/paved with templates/NAME.yml at the tag
// v1. It returns a HOME whose .gitconfig sends gitlab.com/paved-dev/paved to
// that project through url.insteadOf, so that gitlab-ci-local, which fetches a
// component with `git clone --branch REF` from the consumer's own GitLab host,
// resolves `include: component: $CI_SERVER_FQDN/paved-dev/paved/NAME@v1`
// offline, exactly as written by users.
func catalog(t *testing.T) string {
	t.Helper()
	return catalogFrom(t, repoRoot(t))
}

// catalogFrom is catalog for the components of the source tree at root.
func catalogFrom(t *testing.T, root string) string {
	t.Helper()
	src := t.TempDir()
	for _, dir := range []string{"templates"} {
		if r := execIn(t, "", nil, "cp", "-r", filepath.Join(root, dir), filepath.Join(src, dir)); r.code != 0 {
			t.Fatal(r)
		}
	}
	for _, f := range []string{"README.md", "docs/gitlab.md"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err == nil {
			os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755)
			os.WriteFile(filepath.Join(src, f), b, 0o644)
		}
	}
	git := func(dir string, args ...string) {
		t.Helper()
		if r := execIn(t, dir, nil, "git", args...); r.code != 0 {
			t.Fatalf("git %v: %s", args, r)
		}
	}
	git(src, "init", "-q", "-b", "main")
	git(src, "add", "-A")
	git(src, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "release v1")
	git(src, "-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "-a", "v1", "-m", "v1")
	bare := filepath.Join(t.TempDir(), "paved.git")
	git("", "clone", "-q", "--bare", src, bare)
	home := t.TempDir()
	gitconfig := "[user]\n\tname = t\n\temail = t@example.com\n" +
		"[url \"file://" + bare + "\"]\n\tinsteadOf = https://gitlab.com/paved-dev/paved.git\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// componentRE matches a catalog component include (not one in a comment):
// project path, component name and ref.
var componentRE = regexp.MustCompile(`(?m)^[ \t]*(?:-[ \t]*)?component: \$CI_SERVER_FQDN/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/([a-z-]+)@([A-Za-z0-9_.-]+)`)

// gitlabCILocal runs gitlab-ci-local in dir with home as HOME and --home.
// gitlab-ci-local 4.75.1 fetches the components of one project and ref in
// parallel into one directory (`cp -r CLONE/templates DIR`), and the second copy
// can fail with "cp: cannot create directory …/templates: File exists".
// GitLab itself has no such race. So when the pipeline's files include two or
// more components of one project and ref, all but the first are fetched
// beforehand, serially, by a git clone of the same URL and ref into the include
// cache gitlab-ci-local reads; the first one (and a lone component) still goes
// through gitlab-ci-local's own fetch.
func gitlabCILocal(t *testing.T, dir, home string, args ...string) result {
	t.Helper()
	var keys []string
	names := map[string][]string{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".gitlab-ci-local" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range componentRE.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + "@" + m[3]
			if names[key] == nil {
				keys = append(keys, key)
			}
			if !slices.Contains(names[key], m[2]) {
				names[key] = append(names[key], m[2])
			}
		}
		return nil
	})
	for _, key := range keys {
		if len(names[key]) < 2 {
			continue
		}
		project, ref, _ := strings.Cut(key, "@")
		clone := filepath.Join(t.TempDir(), "clone")
		if r := execIn(t, "", []string{"HOME=" + home}, "git", "clone", "-q", "--depth=1", "--branch", ref, "https://gitlab.com/"+project+".git", clone); r.code != 0 {
			t.Fatalf("prefetching %s: %s", key, r)
		}
		cache := filepath.Join(dir, ".gitlab-ci-local", "includes", "gitlab.com", project, ref, "templates")
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range names[key][1:] {
			b, err := os.ReadFile(filepath.Join(clone, "templates", name+".yml"))
			if err != nil {
				t.Fatalf("prefetching %s: %v", key, err)
			}
			if err := os.WriteFile(filepath.Join(cache, name+".yml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// GitLab's editor schema, which gitlab-ci-local validates against, wants
	// at least one tag, but GitLab runs a job with tags: [] as an untagged job,
	// and the components' tags input defaults to [] (an input cannot leave a
	// keyword out). Only that rule is set aside.
	return execIn(t, dir, []string{"HOME=" + home}, tool(t, "gitlab-ci-local"), append([]string{"--home", home, "--ignore-schema-paths", "#/definitions/tags/minItems"}, args...)...)
}

// consumer makes a project paved-dev/demo on gitlab.com holding files.
func consumer(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := gitRepo(t, files)
	if r := execIn(t, dir, nil, "git", "remote", "add", "origin", "https://gitlab.com/"+glProject+".git"); r.code != 0 {
		t.Fatal(r)
	}
	return dir
}

// runPipeline runs the consumer's pipeline in gitlab-ci-local's shell
// executor. --force-shell-executor is the mode without an image: the
// components' image input is ignored and the paved input names the binary.
func runPipeline(t *testing.T, dir, home, token string, extra ...string) result {
	t.Helper()
	start := time.Now()
	r := gitlabCILocal(t, dir, home, append(append(shellRunner(dir, token), "--concurrency", "1"), extra...)...)
	t.Logf("gitlab-ci-local took %s", time.Since(start))
	return r
}

// shellRunner returns the gitlab-ci-local arguments of a pipeline run on a
// shell runner against the local stack: the SIGSTORE_ID_TOKEN that GitLab
// sets from id_tokens, the paved binary under test and the stack's trust
// material and GitLab issuer as PAVED_BIN and PAVED_STACK_* variables.
// gitlab-ci-local sets CI_PROJECT_DIR to /builds/GROUP/PROJECT for a job
// with an image even when --force-shell-executor runs it in the project
// directory: it is set to where the job runs, as a shell runner does.
func shellRunner(dir, token string) []string {
	return []string{"--shell-executor-no-image", "--force-shell-executor",
		"--variable", "CI_PROJECT_DIR=" + dir,
		"--variable", "SIGSTORE_ID_TOKEN=" + token,
		"--variable", "PAVED_BIN=" + paved,
		"--variable", "PAVED_STACK_TRUSTED_ROOT=" + stk.TrustedRootPath,
		"--variable", "PAVED_STACK_SIGNING_CONFIG=" + stk.SigningConfigPath,
		"--variable", "PAVED_STACK_GITLAB_ISSUER=" + stk.GitLabIssuer,
	}
}

// dotenv reads the dotenv report gitlab-ci-local kept for a job.
func dotenv(t *testing.T, dir, job string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ".gitlab-ci-local", "artifacts", job, ".gitlab-ci-reports", "dotenv", job+".env"))
	if err != nil {
		t.Fatalf("no dotenv report of %s: %v", job, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

// reports checks that every artifacts:reports file of the component's job
// (cyclonedx, junit) is among the job's artifacts.
func reports(t *testing.T, dir, component string) {
	t.Helper()
	raw := componentYAML(t, component)
	docs := strings.SplitN(raw, "\n---\n", 2)
	var jobs map[string]struct {
		Artifacts struct {
			Reports map[string]string `yaml:"reports"`
		} `yaml:"artifacts"`
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &jobs); err != nil {
		t.Fatal(err)
	}
	job := "paved-" + component
	cmd, _ := command.Find(component)
	for kind, glob := range jobs[glci.JobKey(cmd)].Artifacts.Reports {
		if kind == "dotenv" {
			continue
		}
		m, _ := filepath.Glob(filepath.Join(dir, ".gitlab-ci-local", "artifacts", job, glob))
		if len(m) == 0 {
			t.Errorf("%s: the %s report %s is not among the job's artifacts", job, kind, glob)
		}
		for _, p := range m {
			if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
				t.Errorf("%s: report %s is empty", job, p)
			}
		}
	}
}

// previewJob is what the tests read of a job in gitlab-ci-local's --preview.
type previewJob struct {
	Stage     string         `yaml:"stage"`
	Image     any            `yaml:"image"`
	Needs     []any          `yaml:"needs"`
	IDTokens  map[string]any `yaml:"id_tokens"`
	Variables map[string]any `yaml:"variables"`
}

// imageName is the image of a job, written as a string or as image:name.
func (j previewJob) imageName() any {
	if m, ok := j.Image.(map[string]any); ok {
		return m["name"]
	}
	return j.Image
}

// previewJobs decodes the paved-* jobs of a --preview.
func previewJobs(t *testing.T, preview string) map[string]previewJob {
	t.Helper()
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(preview), &doc); err != nil {
		t.Fatalf("preview is not YAML: %v\n%s", err, preview)
	}
	jobs := map[string]previewJob{}
	for name, node := range doc {
		if !strings.HasPrefix(name, "paved-") {
			continue
		}
		var j previewJob
		if err := node.Decode(&j); err != nil {
			t.Fatalf("job %s: %v", name, err)
		}
		jobs[name] = j
	}
	return jobs
}

const warnPolicy = `version: 1
rules:
  vulnerable:
    action: warn
`

// docsPipeline is the pipeline docs/gitlab.md shows under "Including a
// component", made to run here: the paved binary under test, the local stack's
// trust material and issuer, the test's OSV data, this test's project, and a
// build and deploy that need no make or deploy script. Every replacement must
// apply once, so the test fails when the docs drift from what it runs.
func docsPipeline(t *testing.T) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "gitlab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), "## Including a component")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/gitlab.md lacks the yaml example under \"## Including a component\"")
	}
	for _, r := range [][2]string{
		{"      policy: policy.yml\n", "      policy: policy.yml\n      paved: $PAVED_BIN\n      osv-db: osv\n      trusted-root: $PAVED_STACK_TRUSTED_ROOT\n      signing-config: $PAVED_STACK_SIGNING_CONFIG\n"},
		{"      source-ref: refs/heads/main\n", "      source-ref: refs/heads/main\n      paved: $PAVED_BIN\n      cert-oidc-issuer: $PAVED_STACK_GITLAB_ISSUER\n      trusted-root: $PAVED_STACK_TRUSTED_ROOT\n"},
		{"my-group/my-project", glProject},
		{"    - make dist\n", "    - mkdir -p dist && printf 'app for amd64\\n' > dist/app-amd64 && printf 'app for arm64\\n' > dist/app-arm64\n"},
		{"    - ./deploy.sh dist/app-amd64\n", "    - 'echo \"deploying: verified=$PAVED_VERIFY_VERIFIED\"'\n"},
	} {
		if n := strings.Count(block, r[0]); n != 1 {
			t.Fatalf("docs/gitlab.md's example has %q %d times, want once:\n%s", r[0], n, block)
		}
		block = strings.Replace(block, r[0], r[1], 1)
	}
	return block
}

// TestGitLabSupplyChainComponent includes the all-in-one supply-chain
// component and the verify component through `include: component` at v1, as
// users do: build, then SBOM + provenance + policy gate with one identity,
// then verify gating the artifact before a deploy job that reads the gate's
// dotenv output. The dotenv outputs, the CycloneDX and JUnit reports and every
// bundle are checked, the bundles with paved and cosign.
func TestGitLabSupplyChainComponent(t *testing.T) {
	home := catalog(t)
	files := map[string]string{".gitlab-ci.yml": docsPipeline(t), "policy.yml": warnPolicy, "package-lock.json": packageLock}
	osv, err := os.ReadDir(filepath.Join(repoRoot(t), "shared", "policy", "testdata", "osv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range osv {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "shared", "policy", "testdata", "osv", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["osv/"+e.Name()] = string(b)
	}
	dir := consumer(t, files)
	token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r := runPipeline(t, dir, home, token)
	if r.code != 0 || !strings.Contains(r.stdout, "deploying: verified=true") {
		t.Fatalf("pipeline failed: %s", r)
	}
	if !strings.Contains(r.stderr+r.stdout, "downloaded paved-dev/paved v1 templates/supply-chain") {
		t.Errorf("the component was not fetched from the catalog project at v1:\n%s", r.stderr)
	}

	sc := dotenv(t, dir, "paved-supply-chain")
	for _, k := range []string{"PAVED_SUPPLY_CHAIN_BUNDLE_PATH", "PAVED_SUPPLY_CHAIN_SIGNER_IDENTITY", "PAVED_SUPPLY_CHAIN_SBOM_CYCLONEDX_PATH", "PAVED_SUPPLY_CHAIN_SBOM_SPDX_PATH", "PAVED_SUPPLY_CHAIN_POLICY_VERDICT", "PAVED_SUPPLY_CHAIN_POLICY_BUNDLE_PATH"} {
		if sc[k] == "" {
			t.Errorf("dotenv of paved-supply-chain lacks %s: %q", k, sc)
		}
	}
	if sc["PAVED_SUPPLY_CHAIN_SIGNER_IDENTITY"] != glSAN || sc["PAVED_SUPPLY_CHAIN_POLICY_VERDICT"] != "PASSED" {
		t.Errorf("signer %q verdict %q, want %q and PASSED", sc["PAVED_SUPPLY_CHAIN_SIGNER_IDENTITY"], sc["PAVED_SUPPLY_CHAIN_POLICY_VERDICT"], glSAN)
	}
	if v := dotenv(t, dir, "paved-verify"); v["PAVED_VERIFY_VERIFIED"] != "true" {
		t.Errorf("dotenv of paved-verify: %q", v)
	}
	reports(t, dir, "supply-chain")
	junit, _ := os.ReadFile(filepath.Join(dir, ".gitlab-ci-local", "artifacts", "paved-supply-chain", "paved-policy.junit.xml"))
	if !strings.Contains(string(junit), "<testsuite") {
		t.Errorf("the JUnit report is not JUnit XML:\n%s", junit)
	}

	arts := filepath.Join(dir, ".gitlab-ci-local", "artifacts", "paved-supply-chain")
	artifact := filepath.Join(dir, "dist", "app-amd64")
	for name, res := range verifiers(t, filepath.Join(arts, filepath.Base(sc["PAVED_SUPPLY_CHAIN_BUNDLE_PATH"])), artifact, glSAN, stk.GitLabIssuer, "") {
		if res.code != 0 {
			t.Errorf("%s rejects the provenance the component signed: %s", name, res)
		}
	}
	bundles := []string{filepath.Base(sc["PAVED_SUPPLY_CHAIN_BUNDLE_PATH"]), filepath.Base(sc["PAVED_SUPPLY_CHAIN_POLICY_BUNDLE_PATH"])}
	sboms, _ := filepath.Glob(filepath.Join(arts, "*.cdx.json.sigstore.json"))
	spdx, _ := filepath.Glob(filepath.Join(arts, "*.spdx.json.sigstore.json"))
	for _, b := range append(sboms, spdx...) {
		bundles = append(bundles, filepath.Base(b))
	}
	if len(bundles) < 3 {
		t.Errorf("bundles %v: want provenance, VSA and SBOM attestations", bundles)
	}
	for _, b := range bundles {
		p := filepath.Join(arts, b)
		v := execIn(t, dir, nil, paved, "verify", artifact, "--bundle", p, "--project", glProject, "--source-ref", "refs/heads/main",
			"--cert-oidc-issuer", stk.GitLabIssuer, "--trusted-root", stk.TrustedRootPath, "--predicate-type", predicateTypeOf(t, p))
		if v.code != 0 {
			t.Errorf("%s does not verify: %s", b, v)
		}
	}
	// docs/gitlab.md's commands for verifying by hand, with this test's project
	// and the local stack for public-good Sigstore and gitlab.com's issuer.
	hand := t.TempDir()
	os.MkdirAll(filepath.Join(hand, "dist"), 0o755)
	for src, dst := range map[string]string{artifact: "dist/app-amd64", filepath.Join(arts, filepath.Base(sc["PAVED_SUPPLY_CHAIN_BUNDLE_PATH"])): "attestation.sigstore.json"} {
		if b, err := os.ReadFile(src); err != nil || os.WriteFile(filepath.Join(hand, dst), b, 0o644) != nil {
			t.Fatal(err)
		}
	}
	local := map[string][]string{
		"paved":  {"--trusted-root", stk.TrustedRootPath, "--cert-oidc-issuer", stk.GitLabIssuer},
		"cosign": {"--trusted-root", stk.TrustedRootPath, "--use-signed-timestamps", "--insecure-ignore-sct"},
	}
	for _, prefix := range []string{"paved verify dist/app-amd64 --bundle attestation.sigstore.json", "cosign verify-blob-attestation --bundle attestation.sigstore.json"} {
		args := docCommand(t, "docs/gitlab.md", prefix)
		for i, a := range args {
			a = strings.ReplaceAll(a, "my-group/my-project", glProject)
			if a == "https://gitlab.com" {
				a = stk.GitLabIssuer
			}
			args[i] = strings.Trim(a, "'")
		}
		bin := paved
		if args[0] == "cosign" {
			bin = tool(t, "cosign")
		}
		if v := execIn(t, hand, nil, bin, append(args[1:], local[args[0]]...)...); v.code != 0 {
			t.Errorf("docs/gitlab.md's %q rejects what the component signed: %s", prefix, v)
		}
	}
	assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, filepath.Join(dir, ".gitlab-ci-local", "artifacts"))
}

const separatePipeline = `stages: [build, secure, check]
include:
  - component: $CI_SERVER_FQDN/paved-dev/paved/attest@v1
    inputs:
      stage: secure
      needs: [build]
      paved: $PAVED_BIN
      subject-path: dist/*
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
      signing-config: $PAVED_STACK_SIGNING_CONFIG
  - component: $CI_SERVER_FQDN/paved-dev/paved/sbom@v1
    inputs:
      stage: secure
      needs: [build]
      paved: $PAVED_BIN
      output-name: demo
      attest: true
      subject-path: dist/*
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
      signing-config: $PAVED_STACK_SIGNING_CONFIG
  - component: $CI_SERVER_FQDN/paved-dev/paved/policy@v1
    inputs:
      stage: check
      needs: [build, paved-sbom]
      paved: $PAVED_BIN
      sbom: demo.cdx.json
      policy: policy.yml
      osv-db: osv
      mode: warn
      vsa: true
      subject-path: dist/*
      trusted-root: $PAVED_STACK_TRUSTED_ROOT
      signing-config: $PAVED_STACK_SIGNING_CONFIG
build:
  stage: build
  script:
    - mkdir -p dist && printf 'app for amd64\n' > dist/app-amd64
  artifacts:
    paths: [dist/]
`

// TestGitLabSeparateComponents runs the attest, sbom and policy components in
// one pipeline, each included through `include: component` at v1.
func TestGitLabSeparateComponents(t *testing.T) {
	home := catalog(t)
	files := map[string]string{".gitlab-ci.yml": separatePipeline, "policy.yml": strictPolicy, "package-lock.json": packageLock}
	osvDir := filepath.Join(repoRoot(t), "shared", "policy", "testdata", "osv")
	entries, _ := os.ReadDir(osvDir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(osvDir, e.Name()))
		files["osv/"+e.Name()] = string(b)
	}
	dir := consumer(t, files)
	token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r := runPipeline(t, dir, home, token)
	if r.code != 0 {
		t.Fatalf("pipeline failed: %s", r)
	}
	arts := func(job string) string { return filepath.Join(dir, ".gitlab-ci-local", "artifacts", job) }
	at := dotenv(t, dir, "paved-attest")
	// One subject: the bundle is named after it.
	if at["PAVED_ATTEST_SIGNER_IDENTITY"] != glSAN || filepath.Base(at["PAVED_ATTEST_BUNDLE_PATH"]) != "app-amd64.sigstore.json" {
		t.Errorf("dotenv of paved-attest: %q", at)
	}
	sb := dotenv(t, dir, "paved-sbom")
	if sb["PAVED_SBOM_CYCLONEDX_PATH"] != "demo.cdx.json" || sb["PAVED_SBOM_COMPONENTS"] == "" || sb["PAVED_SBOM_COMPONENTS"] == "0" {
		t.Errorf("dotenv of paved-sbom: %q", sb)
	}
	pol := dotenv(t, dir, "paved-policy")
	// The strict policy denies the vulnerable lodash; warn mode reports and passes.
	if pol["PAVED_POLICY_VERDICT"] != "FAILED" || pol["PAVED_POLICY_DENIED"] == "0" || pol["PAVED_POLICY_BUNDLE_PATH"] == "" {
		t.Errorf("dotenv of paved-policy: %q", pol)
	}
	reports(t, dir, "sbom")
	reports(t, dir, "policy")
	// The denied lodash reaches GitLab's security widgets through the
	// dependency_scanning report the component declares.
	if raw, err := os.ReadFile(filepath.Join(arts("paved-policy"), "paved-policy.gl-dependency-scanning.json")); err != nil ||
		!strings.Contains(string(raw), `"type": "dependency_scanning"`) || !strings.Contains(string(raw), `"name": "lodash"`) {
		t.Errorf("dependency-scanning report of paved-policy (%v):\n%s", err, raw)
	}
	artifact := filepath.Join(dir, "dist", "app-amd64")
	for name, res := range verifiers(t, filepath.Join(arts("paved-attest"), filepath.Base(at["PAVED_ATTEST_BUNDLE_PATH"])), artifact, glSAN, stk.GitLabIssuer, "") {
		if res.code != 0 {
			t.Errorf("%s rejects what the attest component signed: %s", name, res)
		}
	}
	sbomBundles, _ := filepath.Glob(filepath.Join(arts("paved-sbom"), "*.sigstore.json"))
	for _, p := range append(sbomBundles, filepath.Join(arts("paved-policy"), filepath.Base(pol["PAVED_POLICY_BUNDLE_PATH"]))) {
		v := execIn(t, dir, nil, paved, "verify", artifact, "--bundle", p, "--project", glProject,
			"--cert-oidc-issuer", stk.GitLabIssuer, "--trusted-root", stk.TrustedRootPath, "--predicate-type", predicateTypeOf(t, p))
		if v.code != 0 {
			t.Errorf("%s does not verify: %s", p, v)
		}
	}
	assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, filepath.Join(dir, ".gitlab-ci-local", "artifacts"))
}

// TestGitLabComponentInputsRefused: GitLab refuses, before any job runs, a
// component included from the catalog with a value outside an input's
// options or not matching its regex, including an image that is not pinned
// by digest; the same components with valid values are accepted.
func TestGitLabComponentInputsRefused(t *testing.T) {
	home := catalog(t)
	digest := "registry.example/paved@sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		component, input, value, want string
	}{
		{"verify", "format", "xml", "not in the list of allowed options"},
		{"supply-chain", "policy-mode", "block", "not in the list of allowed options"},
		{"attest", "service-timeout", "forever", "does not match required regex"},
		{"sbom", "image", "registry.example/paved:latest", "does not match required regex"},
		{"promote", "image", "registry.example/paved", "does not match required regex"},
		{"supply-chain", "image", digest, ""},
		{"verify", "image", "$MY_PAVED_IMAGE", ""},
		{"policy", "image", "${MY_PAVED_IMAGE}", ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s-%s", i, c.component, c.input), func(t *testing.T) {
			pipeline := "include:\n  - component: $CI_SERVER_FQDN/paved-dev/paved/" + c.component + "@v1\n    inputs:\n      " + c.input + ": \"" + c.value + "\"\n"
			dir := consumer(t, map[string]string{".gitlab-ci.yml": pipeline})
			r := gitlabCILocal(t, dir, home, "--preview")
			if c.want == "" {
				if r.code != 0 {
					t.Fatalf("want the pipeline accepted: %s", r)
				}
				if got := previewJobs(t, r.stdout)["paved-"+c.component].imageName(); got != c.value {
					t.Errorf("the job's image is %v, want the input %s", got, c.value)
				}
				return
			}
			if r.code == 0 || !strings.Contains(r.stdout+r.stderr, c.want) {
				t.Fatalf("want the pipeline refused with %q: %s", c.want, r)
			}
		})
	}
}

// TestGitLabComponentDefaults: every component included with no inputs at all
// is valid, runs in the image of the PAVED_IMAGE variable, and declares
// id_tokens exactly when its command signs.
func TestGitLabComponentDefaults(t *testing.T) {
	home := catalog(t)
	signs := map[string]bool{"attest": true, "sbom": true, "policy": true, "promote": true, "supply-chain": true, "verify": false}
	var b strings.Builder
	b.WriteString("include:\n")
	for name := range signs {
		b.WriteString("  - component: $CI_SERVER_FQDN/paved-dev/paved/" + name + "@v1\n")
	}
	dir := consumer(t, map[string]string{".gitlab-ci.yml": b.String()})
	r := gitlabCILocal(t, dir, home, "--preview")
	if r.code != 0 {
		t.Fatalf("components with their defaults must be valid: %s", r)
	}
	jobs := previewJobs(t, r.stdout)
	for name, s := range signs {
		j, ok := jobs["paved-"+name]
		if !ok {
			t.Errorf("no paved-%s job in the preview", name)
			continue
		}
		if j.imageName() != "$PAVED_IMAGE" {
			t.Errorf("paved-%s image %v, want $PAVED_IMAGE", name, j.imageName())
		}
		if _, ok := j.IDTokens["SIGSTORE_ID_TOKEN"]; ok != s {
			t.Errorf("paved-%s id_tokens %v, want SIGSTORE_ID_TOKEN: %v", name, j.IDTokens, s)
		}
	}
}

// TestGitLabPipelineExecutionPolicyExample validates the pipeline execution
// policy of docs/gitlab: the policy file's shape, and the CI configuration it
// injects, previewed by gitlab-ci-local merged into a project pipeline (with
// the reserved policy stages GitLab adds) and resolved from the catalog.
func TestGitLabPipelineExecutionPolicyExample(t *testing.T) {
	home := catalog(t)
	docs := filepath.Join(repoRoot(t), "docs", "gitlab")
	raw, err := os.ReadFile(filepath.Join(docs, "pipeline-execution-policy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var pol struct {
		Policies []struct {
			Name     string `yaml:"name"`
			Enabled  bool   `yaml:"enabled"`
			Strategy string `yaml:"pipeline_config_strategy"`
			Content  struct {
				Include []struct {
					Project string `yaml:"project"`
					File    string `yaml:"file"`
					Ref     string `yaml:"ref"`
				} `yaml:"include"`
			} `yaml:"content"`
		} `yaml:"pipeline_execution_policy"`
	}
	if err := yaml.Unmarshal(raw, &pol); err != nil {
		t.Fatal(err)
	}
	if len(pol.Policies) == 0 || len(pol.Policies) > 5 {
		t.Fatalf("%d policies, want 1 to 5 under pipeline_execution_policy", len(pol.Policies))
	}
	p := pol.Policies[0]
	if p.Name == "" || !p.Enabled || p.Strategy != "inject_policy" || len(p.Content.Include) != 1 || p.Content.Include[0].Project == "" {
		t.Fatalf("policy %+v: want a named, enabled inject_policy policy including one file of the policy project", p)
	}
	injected, err := os.ReadFile(filepath.Join(docs, filepath.Base(p.Content.Include[0].File)))
	if err != nil {
		t.Fatalf("the policy includes %s, which docs/gitlab does not hold: %v", p.Content.Include[0].File, err)
	}
	project := "stages: [.pipeline-policy-pre, build, test, deploy, .pipeline-policy-post]\n" +
		"include:\n  - local: policy/" + filepath.Base(p.Content.Include[0].File) + "\n" +
		"build:\n  stage: build\n  script: [echo build]\n"
	dir := consumer(t, map[string]string{".gitlab-ci.yml": project, "policy/" + filepath.Base(p.Content.Include[0].File): string(injected)})
	r := gitlabCILocal(t, dir, home, "--preview")
	if r.code != 0 {
		t.Fatalf("the injected configuration is not valid: %s", r)
	}
	var paved []string
	for name, j := range previewJobs(t, r.stdout) {
		paved = append(paved, name)
		if j.Stage != ".pipeline-policy-pre" {
			t.Errorf("%s runs in %q, want .pipeline-policy-pre (before the project's jobs)", name, j.Stage)
		}
		// Injected configuration gates; it does not sign (docs/gitlab.md,
		// compliance walkthrough): no SBOM attestation, no VSA.
		for _, k := range []string{"PAVED_ATTEST", "PAVED_VSA"} {
			if v, ok := j.Variables[k]; ok && v != false && v != "false" {
				t.Errorf("%s sets %s=%v in injected configuration, want false", name, k, v)
			}
		}
	}
	if len(paved) < 2 {
		t.Fatalf("want the SBOM and policy gate jobs in the preview, got %v:\n%s", paved, r.stdout)
	}
	// Every component reference in the docs names a template that exists.
	md, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "gitlab.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`paved-dev/paved/([a-z-]+)@`).FindAllStringSubmatch(string(md)+string(injected), -1) {
		if _, err := os.Stat(filepath.Join(repoRoot(t), "templates", m[1]+".yml")); err != nil {
			t.Errorf("docs name the component %s, which does not exist", m[1])
		}
	}
}

// TestPavedImage does what the image job of .github/workflows/release.yml
// does, on a real registry on loopback: build the components' image without a
// Docker daemon (tools/paved-image) and push it, SBOM it from the registry,
// attach the SBOM and provenance attestations to it, signed as release.yml of
// paved-dev/paved; then docs/gitlab.md's command to verify the image, run as
// written, accepts it (and the SBOM attestation verifies too).
func TestPavedImage(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatalf("/bin/busybox is missing: run tools/install.sh busybox (make test does): %v", err)
	}
	ws := t.TempDir()
	repo := startRegistry(t) + "/paved-dev/paved"
	build := execIn(t, repoRoot(t), []string{"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOTOOLCHAIN=local"},
		"go", "run", "./tools/paved-image", "-out", filepath.Join(ws, "image-layout"), "-version", "v9.9.9", "-push", repo+":v9.9.9", "-insecure")
	if build.code != 0 {
		t.Fatalf("paved-image: %s", build)
	}
	digest := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(build.stdout)
	if digest == "" {
		t.Fatalf("paved-image printed %q, want the manifest digest", build.stdout)
	}
	ref := repo + "@" + digest

	token := releaseToken(t)
	signing := []string{"--identity-token-file", writeToken(t, token), "--trusted-root", stk.TrustedRootPath, "--signing-config", stk.SigningConfigPath}
	sb := execIn(t, ws, nil, paved, "sbom", ref, "--source-type", "registry", "--format", "cyclonedx-json", "--output-name", "paved-image")
	if sb.code != 0 {
		t.Fatalf("paved sbom of the image: %s", sb)
	}
	cdx, err := os.ReadFile(filepath.Join(ws, "paved-image.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The SBOM sees what the image ships: busybox and paved's Go modules.
	for _, want := range []string{"busybox", "github.com/paved-dev/paved", "sigstore-go"} {
		if !strings.Contains(string(cdx), want) {
			t.Errorf("the image's CycloneDX SBOM does not mention %s", want)
		}
	}
	for _, args := range [][]string{
		{"--predicate-type", "https://cyclonedx.org/bom", "--predicate-path", "paved-image.cdx.json", "--bundle-path", "paved-image.cdx.sigstore.json"},
		{"--bundle-path", "paved-image.provenance.sigstore.json"},
	} {
		at := execIn(t, ws, nil, paved, append(append([]string{"attest", "--subject-digest", ref, "--bundles-jsonl", "none", "--push-to-registry", "--registry-image", ref}, args...), signing...)...)
		if at.code != 0 {
			t.Fatalf("paved attest %v: %s", args, at)
		}
		assertNoSecrets(t, []string{token}, []string{at.stdout, at.stderr})
	}

	args := docCommand(t, "docs/gitlab.md", "paved verify --repo paved-dev/paved")
	if last := len(args) - 1; args[last] != "oci://IMAGE@sha256:<digest>" {
		t.Fatalf("docs/gitlab.md's verify command ends in %q, want oci://IMAGE@sha256:<digest>", args[last])
	} else {
		args[last] = "oci://" + ref
	}
	args = args[2:]
	// The local stack stands in for public-good Sigstore and GitHub's issuer.
	local := []string{"--trusted-root", stk.TrustedRootPath, "--cert-oidc-issuer", stk.GitHubIssuer}
	for _, extra := range [][]string{nil, {"--predicate-type", "https://cyclonedx.org/bom"}} {
		v := execIn(t, ws, nil, paved, append(append(append([]string{"verify"}, args...), local...), extra...)...)
		if v.code != 0 || !strings.Contains(v.stdout, "verified: true") {
			t.Errorf("docs/gitlab.md's verify command %v rejects the release's image: %s", extra, v)
		}
	}
	// Signed by another workflow of the same repository: refused.
	other := execIn(t, ws, nil, paved, append([]string{"verify", "--repo", "paved-dev/paved", "--signer-workflow", "paved-dev/paved/.github/workflows/build.yml", "oci://" + ref}, local...)...)
	if other.code != 1 {
		t.Errorf("an image signed by release.yml passed a policy for build.yml: %s", other)
	}
}
