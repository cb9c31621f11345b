package e2e

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestGitLabComponentJobInputs includes components from the catalog with the
// job inputs GitLab users expect and checks what gitlab-ci-local resolves:
// job-prefix and job-suffix name the job, tags and allow-failure reach it,
// the policy component caches its data directory under cache-key, a rules
// input replaces the default rule while the disabled switch still comes
// first, and a component whose PAVED_<COMPONENT>_DISABLED variable is "true"
// (here sbom, as GitLab's SAST_DISABLED turns SAST off) is left out of the
// pipeline that --list would run, while the others are in it.
func TestGitLabComponentJobInputs(t *testing.T) {
	home := catalog(t)
	pipeline := `variables:
  PAVED_SBOM_DISABLED: "true"
include:
  - component: $CI_SERVER_FQDN/paved-dev/paved/policy@v1
    inputs:
      job-prefix: release
      job-suffix: -deps
      tags: [paved, linux]
      allow-failure: true
      cache-key: deps-$CI_DEFAULT_BRANCH
      policy: policy.yml
  - component: $CI_SERVER_FQDN/paved-dev/paved/sbom@v1
  - component: $CI_SERVER_FQDN/paved-dev/paved/attest@v1
    inputs:
      rules:
        - if: $CI_COMMIT_TAG
  - component: $CI_SERVER_FQDN/paved-dev/paved/verify@v1
    inputs:
      rules:
        - if: $CI_COMMIT_BRANCH
          when: manual
`
	dir := consumer(t, map[string]string{".gitlab-ci.yml": pipeline})
	r := gitlabCILocal(t, dir, home, "--preview")
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local --preview: %s", r)
	}
	var doc map[string]struct {
		Tags         []string         `yaml:"tags"`
		AllowFailure bool             `yaml:"allow_failure"`
		Rules        []map[string]any `yaml:"rules"`
		Cache        []cacheEntry     `yaml:"cache"`
	}
	// GitLab flattens the rules input into the job's rules; gitlab-ci-local
	// may keep it nested, so the preview is read leniently below.
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("preview is not YAML: %v", err)
	}
	if _, ok := raw["release-policy-deps"]; !ok {
		t.Fatalf("no job release-policy-deps (job-prefix release, job-suffix -deps) in the preview:\n%s", r.stdout)
	}
	if _, ok := raw["paved-policy"]; ok {
		t.Errorf("the default job name paved-policy is still there beside release-policy-deps")
	}
	_ = yaml.Unmarshal([]byte(r.stdout), &doc)
	pol := doc["release-policy-deps"]
	if !slices.Equal(pol.Tags, []string{"paved", "linux"}) || !pol.AllowFailure {
		t.Errorf("release-policy-deps tags %v allow_failure %v, want [paved linux] and true", pol.Tags, pol.AllowFailure)
	}
	// gitlab-ci-local writes cache as a list of one, as GitLab accepts it.
	if len(pol.Cache) != 1 || pol.Cache[0].Key != "deps-$CI_DEFAULT_BRANCH" || !slices.Equal(pol.Cache[0].Paths, []string{".paved-cache"}) || pol.Cache[0].When != "always" {
		t.Errorf("release-policy-deps cache %+v, want key deps-$CI_DEFAULT_BRANCH, paths [.paved-cache], when always", pol.Cache)
	}
	if at := doc["paved-attest"]; len(at.Tags) != 0 || at.AllowFailure {
		t.Errorf("paved-attest with the defaults: tags %v allow_failure %v, want none and false", at.Tags, at.AllowFailure)
	}

	r = gitlabCILocal(t, dir, home, "--list")
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local --list: %s", r)
	}
	jobs := listedJobs(r.stdout)
	if slices.Contains(jobs, "paved-sbom") {
		t.Errorf("PAVED_SBOM_DISABLED=true: paved-sbom is still in the pipeline %q", jobs)
	}
	if !slices.Contains(jobs, "release-policy-deps") {
		t.Errorf("release-policy-deps is not in the pipeline %q", jobs)
	}
	if slices.Contains(jobs, "paved-attest") {
		t.Errorf("attest with rules [if: $CI_COMMIT_TAG] runs on a branch pipeline: %q", jobs)
	}
	if !slices.Contains(jobs, "paved-verify") || !strings.Contains(lineOf(r.stdout, "paved-verify"), "manual") {
		t.Errorf("verify with rules [if: $CI_COMMIT_BRANCH, when: manual]: want a manual job, got %q", lineOf(r.stdout, "paved-verify"))
	}
	if !strings.Contains(lineOf(r.stdout, "release-policy-deps"), "true") {
		t.Errorf("release-policy-deps is not listed as allowed to fail: %q", lineOf(r.stdout, "release-policy-deps"))
	}

	// The switch wins over a rules input that would run the job.
	pipeline = `variables:
  PAVED_ATTEST_DISABLED: "1"
include:
  - component: $CI_SERVER_FQDN/paved-dev/paved/attest@v1
    inputs:
      rules:
        - when: always
`
	dir = consumer(t, map[string]string{".gitlab-ci.yml": pipeline + "other:\n  script: [\"true\"]\n"})
	r = gitlabCILocal(t, dir, home, "--list")
	if r.code != 0 || slices.Contains(listedJobs(r.stdout), "paved-attest") || !slices.Contains(listedJobs(r.stdout), "other") {
		t.Errorf("PAVED_ATTEST_DISABLED=1 with rules [when: always]: want paved-attest left out: %s", r)
	}
}

type cacheEntry struct {
	Key   string   `yaml:"key"`
	Paths []string `yaml:"paths"`
	When  string   `yaml:"when"`
}

// lineOf is the line of gitlab-ci-local --list that lists job.
func lineOf(list, job string) string {
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == job {
			return line
		}
	}
	return ""
}
