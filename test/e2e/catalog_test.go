package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/gitlab/glstore/glstoretest"
	"github.com/paved-dev/paved/test/oidc"
	"github.com/paved-dev/paved/test/stack"
)

// semverCatalog publishes this working tree's components as a component
// project paved-dev/paved with one commit per version, tagged as Paved's
// release workflow tags a release commit: X.Y.Z for the CI/CD catalog and
// vX.Y.Z for GitHub on the same commit, the moving major tag vX, and a
// release candidate with only its catalog tag. Each version's attest.yml
// starts with "# catalog version X.Y.Z", so that what an include resolved to
// can be read from the file gitlab-ci-local fetched. It returns a HOME whose
// .gitconfig sends both URLs gitlab-ci-local uses for gitlab.com/paved-dev/paved
// (git clone of https://gitlab.com/… and git ls-remote --tags of
// https://gitlab.com:443/…, for ~latest and partial versions) to that project.
func semverCatalog(t *testing.T, versions []string) string {
	t.Helper()
	src := t.TempDir()
	if r := execIn(t, "", nil, "cp", "-r", filepath.Join(repoRoot(t), "templates"), filepath.Join(src, "templates")); r.code != 0 {
		t.Fatal(r)
	}
	attest := componentYAML(t, "attest")
	git := func(args ...string) {
		t.Helper()
		if r := execIn(t, src, nil, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...); r.code != 0 {
			t.Fatalf("git %v: %s", args, r)
		}
	}
	git("init", "-q", "-b", "main")
	for _, v := range versions {
		if err := os.WriteFile(filepath.Join(src, "templates", "attest.yml"), []byte("# catalog version "+v+"\n"+attest), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-qm", "release "+v)
		git("tag", "-a", v, "-m", v)
		if !strings.Contains(v, "-") {
			git("tag", "-a", "v"+v, "-m", "v"+v)
			git("tag", "-f", "v"+strings.SplitN(v, ".", 2)[0])
		}
	}
	bare := filepath.Join(t.TempDir(), "paved.git")
	if r := execIn(t, "", nil, "git", "clone", "-q", "--bare", src, bare); r.code != 0 {
		t.Fatal(r)
	}
	home := t.TempDir()
	gitconfig := "[user]\n\tname = t\n\temail = t@example.com\n" +
		"[url \"file://" + bare + "\"]\n" +
		"\tinsteadOf = https://gitlab.com/paved-dev/paved.git\n" +
		"\tinsteadOf = https://gitlab.com:443/paved-dev/paved.git\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// listedJobs is the job names of gitlab-ci-local --list.
func listedJobs(stdout string) []string {
	var jobs []string
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] != "name" {
			jobs = append(jobs, f[0])
		}
	}
	return jobs
}

// TestCatalogResolvesSemverRefs includes the attest component from a local
// component project with the refs docs/gitlab.md gives users: a full version,
// a major version (`@1`), a minor version, `@~latest` and the moving git tag
// `@v1`; the test fails when the docs offer a ref it does not resolve. gitlab-ci-local
// resolves the partial versions and ~latest from the project's tags
// (git ls-remote --tags), as GitLab resolves them from the catalog's published
// versions: the highest release in the range by semantic-version order (1.10.0
// above 1.2.0), ~latest skipping a release candidate. A version that no tag
// satisfies fails the pipeline before any job runs.
func TestCatalogResolvesSemverRefs(t *testing.T) {
	home := semverCatalog(t, []string{"1.0.0", "1.2.0", "1.2.3", "1.10.0", "2.0.0", "2.1.0-rc.1"})
	// ref is what the include names, fetched the ref gitlab-ci-local fetches
	// (the resolved version), want the version whose component it must be.
	refs := []struct{ ref, suffix, fetched, want string }{
		{"1.2.3", "-exact", "1.2.3", "1.2.3"},
		{"1.2", "-minor", "1.2.3", "1.2.3"},
		{"1", "-major", "1.10.0", "1.10.0"},
		{"~latest", "-latest", "2.0.0", "2.0.0"},
		{"v1", "-git-tag", "v1", "1.10.0"},
	}

	// Every ref docs/gitlab.md offers is one this test resolves.
	md, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "gitlab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(md), "## From the CI/CD catalog\n")
	section, _, _ = strings.Cut(section, "\n### ")
	documented := regexp.MustCompile(`- component: \$CI_SERVER_FQDN/paved-dev/paved/[a-z-]+@([^\s|`+"`"+`]+)`).FindAllStringSubmatch(section, -1)
	if !ok || len(documented) < 4 {
		t.Fatalf("docs/gitlab.md lacks the include lines under \"## From the CI/CD catalog\" (found %d)", len(documented))
	}
	for _, m := range documented {
		if m[1] != "<commit" && !slices.ContainsFunc(refs, func(r struct{ ref, suffix, fetched, want string }) bool { return r.ref == m[1] }) {
			t.Errorf("docs/gitlab.md offers @%s, which this test does not resolve", m[1])
		}
	}

	var ci strings.Builder
	ci.WriteString("include:\n")
	for _, r := range refs {
		ci.WriteString("  - component: $CI_SERVER_FQDN/paved-dev/paved/attest@" + r.ref + "\n    inputs:\n      job-suffix: " + r.suffix + "\n")
	}
	dir := consumer(t, map[string]string{".gitlab-ci.yml": ci.String()})
	r := gitlabCILocal(t, dir, home, "--list")
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local --list: %s", r)
	}
	jobs := listedJobs(r.stdout)
	for _, ref := range refs {
		if !slices.Contains(jobs, "paved-attest"+ref.suffix) {
			t.Errorf("@%s: no job paved-attest%s in %q", ref.ref, ref.suffix, jobs)
		}
		if !strings.Contains(r.stderr, "downloaded paved-dev/paved "+ref.fetched+" templates/attest") {
			t.Errorf("@%s was not resolved to %s:\n%s", ref.ref, ref.fetched, r.stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, ".gitlab-ci-local", "includes", "gitlab.com", "paved-dev", "paved", ref.fetched, "templates", "attest.yml"))
		if err != nil || !strings.HasPrefix(string(b), "# catalog version "+ref.want+"\n") {
			first, _, _ := strings.Cut(string(b), "\n")
			t.Errorf("@%s: the fetched component is %q (%v), want the one of %s", ref.ref, first, err, ref.want)
		}
	}

	for _, ref := range []string{"3", "1.3"} {
		dir := consumer(t, map[string]string{".gitlab-ci.yml": "include:\n  - component: $CI_SERVER_FQDN/paved-dev/paved/attest@" + ref + "\n"})
		r := gitlabCILocal(t, dir, home, "--list")
		if out := r.stdout + r.stderr; !strings.Contains(out, "The reference ("+ref+") is invalid") || slices.Contains(listedJobs(r.stdout), "paved-attest") {
			t.Errorf("@%s (no such release): want the pipeline refused as an invalid reference, got: %s", ref, r)
		}
	}
}

// TestRootPipelineTestsComponentsAndReleasesOnSemverTags runs the component
// project's own .gitlab-ci.yml in gitlab-ci-local on a copy of this project
// (remote gitlab.com/paved-dev/paved): every component under templates/ is
// included from the commit under test ($CI_COMMIT_SHA: read from the working
// tree, not fetched) and gives its paved-NAME job; the catalog-release job runs
// on a tag X.Y.Z only, not on a branch, the GitHub tag vX.Y.Z, the moving
// major tag or a release candidate, and refuses a release image not pinned by
// digest.
func TestRootPipelineTestsComponentsAndReleasesOnSemverTags(t *testing.T) {
	dir, want := componentProject(t)
	home := t.TempDir() // no insteadOf: a fetch from gitlab.com would fail
	for _, tc := range []struct {
		tag     string
		release bool
	}{
		{"", false},
		{"1.2.3", true},
		{"10.0.12", true},
		{"v1.2.3", false},
		{"v1", false},
		{"1.2.3-rc.1", false},
		{"1.2", false},
	} {
		args := []string{"--list"}
		if tc.tag != "" {
			args = append(args, "--variable", "CI_COMMIT_TAG="+tc.tag)
		}
		r := gitlabCILocal(t, dir, home, args...)
		if r.code != 0 {
			t.Fatalf("tag %q: gitlab-ci-local --list: %s", tc.tag, r)
		}
		if strings.Contains(r.stderr, "downloaded") {
			t.Errorf("tag %q: the components were fetched instead of read at $CI_COMMIT_SHA:\n%s", tc.tag, r.stderr)
		}
		jobs := listedJobs(r.stdout)
		for _, j := range want {
			if !slices.Contains(jobs, j) {
				t.Errorf("tag %q: no job %s in %q", tc.tag, j, jobs)
			}
		}
		if got := slices.Contains(jobs, "catalog-release"); got != tc.release {
			t.Errorf("tag %q: catalog-release runs: %v, want %v (jobs %q)", tc.tag, got, tc.release, jobs)
		}
	}

	// The release job runs the release keyword only in an image pinned by
	// digest: unset or by tag, it fails and names the variable.
	for _, tc := range []struct {
		image string
		ok    bool
	}{
		{"", false},
		{"registry.gitlab.com/gitlab-org/cli:latest", false},
		{"registry.gitlab.com/gitlab-org/cli@sha256:" + strings.Repeat("ab", 32), true},
	} {
		r := gitlabCILocal(t, dir, home, "catalog-release", "--shell-executor-no-image", "--force-shell-executor",
			"--variable", "CI_COMMIT_TAG=1.2.3", "--variable", "PAVED_RELEASE_CLI_IMAGE="+tc.image)
		published := strings.Contains(r.stdout, "publishing paved-dev/paved 1.2.3 to the CI/CD catalog")
		refused := strings.Contains(r.stdout, "set the CI/CD variable PAVED_RELEASE_CLI_IMAGE")
		if published != tc.ok || refused == tc.ok || (r.code == 0) != tc.ok {
			t.Errorf("catalog-release with PAVED_RELEASE_CLI_IMAGE=%q: want published=%v: %s", tc.image, tc.ok, r)
		}
	}
}

// componentProject copies the component project's pipeline, its components
// and the files its jobs use into a git repository whose remote is
// gitlab.com/paved-dev/paved, and returns it with the job of every component
// (paved-NAME).
func componentProject(t *testing.T) (string, []string) {
	t.Helper()
	root := repoRoot(t)
	files := map[string]string{}
	for _, f := range []string{".gitlab-ci.yml", "go.mod", "go.sum", "testdata/gitlab-component-policy.yml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	templates, err := filepath.Glob(filepath.Join(root, "templates", "*.yml"))
	if err != nil || len(templates) == 0 {
		t.Fatalf("no components (%v)", err)
	}
	var want []string
	for _, p := range templates {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files["templates/"+filepath.Base(p)] = string(b)
		want = append(want, "paved-"+strings.TrimSuffix(filepath.Base(p), ".yml"))
	}
	dir := gitRepo(t, files)
	if r := execIn(t, dir, nil, "git", "remote", "add", "origin", "https://gitlab.com/paved-dev/paved.git"); r.code != 0 {
		t.Fatal(r)
	}
	return dir, want
}

// TestReleaseTagsForGitHubAndTheCatalog runs .github/release/pin.sh on a copy
// of this source tree: the release commit gets both tags, v9.9.9 for GitHub and
// 9.9.9 for the GitLab CI/CD catalog, on the same commit; a release whose
// catalog tag already exists is refused and leaves no commit or tag behind.
func TestReleaseTagsForGitHubAndTheCatalog(t *testing.T) {
	gitEnv := []string{"GIT_AUTHOR_NAME=release", "GIT_AUTHOR_EMAIL=release@example.com", "GIT_COMMITTER_NAME=release", "GIT_COMMITTER_EMAIL=release@example.com"}
	dist := t.TempDir()
	if err := os.WriteFile(filepath.Join(dist, "paved_linux_amd64"), []byte("a paved binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := execIn(t, dist, nil, "sh", "-c", "sha256sum paved_linux_amd64 > checksums.txt"); r.code != 0 {
		t.Fatal(r)
	}
	catalogTag := strings.TrimPrefix(releaseTag, "v")

	src := sourceCopy(t)
	git := func(args ...string) string {
		t.Helper()
		r := execIn(t, src, gitEnv, "git", args...)
		if r.code != 0 {
			t.Fatalf("git %v: %s", args, r)
		}
		return strings.TrimSpace(r.stdout)
	}
	r := execIn(t, src, gitEnv, "./.github/release/pin.sh", releaseTag, dist)
	if r.code != 0 {
		t.Fatalf("pin.sh: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	release := lines[len(lines)-1]
	for _, tag := range []string{releaseTag, catalogTag} {
		if got := git("rev-parse", tag+"^{commit}"); got != release {
			t.Errorf("tag %s points at %s, want the release commit %s", tag, got, release)
		}
		if kind := git("cat-file", "-t", tag); kind != "tag" {
			t.Errorf("tag %s is a %s, want an annotated tag", tag, kind)
		}
	}

	src = sourceCopy(t)
	source := git("rev-parse", "HEAD")
	git("tag", catalogTag)
	if r := execIn(t, src, gitEnv, "./.github/release/pin.sh", releaseTag, dist); r.code != 2 || !strings.Contains(r.stderr, "tag "+catalogTag+" already exists") {
		t.Errorf("pin.sh with the catalog tag %s taken: want exit 2 naming it: %s", catalogTag, r)
	}
	if head, tags := git("rev-parse", "HEAD"), git("tag", "--list"); head != source || tags != catalogTag {
		t.Errorf("a refused pin.sh left a commit or tag behind: HEAD %s (was %s), tags %q", head, source, tags)
	}
}

// TestRootPipelineRunsOnTheLocalStack runs the component project's own
// pipeline, unchanged, in gitlab-ci-local's shell executor: every component job
// at $CI_COMMIT_SHA, chained as the file chains them (sbom → policy, attest →
// verify → promote), signing as a pipeline of paved-dev/paved at that commit
// against the local Sigstore stack, and promote uploading to a GitLab generic
// packages API on loopback. Only what a runner here cannot have comes from
// gitlab-ci-local's --input (applied to every component): the paved binary
// under test, the stack's trust material and issuer, and offline OSV data.
func TestRootPipelineRunsOnTheLocalStack(t *testing.T) {
	const jobToken = "glcbt-64_e2eCatalogJobToken0123456789ab"
	const projectID = "4343"
	dir, want := componentProject(t)
	if r := execIn(t, "", nil, "cp", "-r", filepath.Join(repoRoot(t), "shared", "policy", "testdata", "osv"), filepath.Join(dir, "osv")); r.code != 0 {
		t.Fatal(r)
	}
	sha := strings.TrimSpace(execIn(t, dir, nil, "git", "rev-parse", "HEAD").stdout)
	claims := oidc.GitLabClaims("paved-dev/paved")
	claims["sha"] = sha
	token, err := stk.GitLabOIDC().Mint(claims, stack.Audience, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	api := glstoretest.New(projectID, jobToken)
	defer api.Close()
	args := append(shellRunner(dir, token), "--concurrency", "1",
		"--variable", "CI_API_V4_URL="+api.URL(),
		"--variable", "CI_PROJECT_ID="+projectID,
		"--variable", "CI_JOB_TOKEN="+jobToken,
		"--input", "paved="+paved,
		"--input", "trusted-root="+stk.TrustedRootPath,
		"--input", "signing-config="+stk.SigningConfigPath,
		"--input", "cert-oidc-issuer="+stk.GitLabIssuer,
		"--input", "osv-db=osv")
	start := time.Now()
	r := gitlabCILocal(t, dir, t.TempDir(), args...)
	t.Logf("gitlab-ci-local took %s", time.Since(start))
	if r.code != 0 {
		t.Fatalf("the component project's pipeline failed: %s", r)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "finished in") {
			t.Log(strings.TrimSpace(l))
		}
		if strings.Contains(l, "could not be reached") {
			t.Errorf("a job reached for a source outside this machine: %s", strings.TrimSpace(l))
		}
	}
	for _, job := range want {
		if !strings.Contains(r.stdout, job+" ") {
			t.Errorf("job %s did not run:\n%s", job, r.stdout)
		}
	}
	if v := dotenv(t, dir, "paved-verify"); v["PAVED_VERIFY_VERIFIED"] != "true" {
		t.Errorf("paved-verify did not verify attest's bundle: %q", v)
	}
	if v := dotenv(t, dir, "paved-policy"); v["PAVED_POLICY_VERDICT"] == "" || v["PAVED_POLICY_BUNDLE_PATH"] == "" {
		t.Errorf("paved-policy wrote no verdict or VSA bundle: %q", v)
	}
	if v := dotenv(t, dir, "paved-supply-chain"); filepath.Base(v["PAVED_SUPPLY_CHAIN_BUNDLE_PATH"]) != "supply-chain.sigstore.json" {
		t.Errorf("paved-supply-chain: bundle %q, want supply-chain.sigstore.json", v["PAVED_SUPPLY_CHAIN_BUNDLE_PATH"])
	}
	files, _, _, badAuth := api.Snapshot()
	var promoted []string
	for k := range files {
		if strings.HasPrefix(k, "paved-component-test/") {
			promoted = append(promoted, k)
		}
	}
	if len(promoted) == 0 || badAuth != 0 {
		t.Errorf("paved-promote uploaded nothing to the package paved-component-test (files %v, %d requests without the job token)", keys(files), badAuth)
	}
	// What the jobs signed names this project at this commit.
	bundle := filepath.Join(dir, ".gitlab-ci-local", "artifacts", "paved-attest", "go.sum.sigstore.json")
	v := execIn(t, dir, nil, paved, "verify", "go.sum", "--bundle", bundle, "--project", "paved-dev/paved", "--source-digest", sha,
		"--trusted-root", stk.TrustedRootPath, "--cert-oidc-issuer", stk.GitLabIssuer)
	if v.code != 0 || !strings.Contains(v.stdout, "verified: true") {
		t.Errorf("attest's bundle does not verify as paved-dev/paved at %s: %s", sha, v)
	}
	assertNoSecrets(t, []string{token, jobToken}, []string{r.stdout, r.stderr})
}
