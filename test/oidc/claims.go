package oidc

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// GitHubClaims returns the claims GitHub Actions puts in an ID token for a
// push to main of repo ("OWNER/REPO") running .github/workflows/build.yml on
// a GitHub-hosted runner, without the registered claims (iss, aud, iat, nbf,
// exp, jti) that Mint adds. Every value is a string, as in GitHub's tokens;
// IDs and the commit SHA are derived from repo, so they are stable.
//
// It covers every claim Fulcio's github-workflow templates read: the
// certificate SAN becomes https://github.com/OWNER/REPO/.github/workflows/build.yml@refs/heads/main.
func GitHubClaims(repo string) map[string]any {
	owner, _, _ := strings.Cut(repo, "/")
	sha := fakeCommit("github:" + repo)
	workflowRef := repo + "/.github/workflows/build.yml@refs/heads/main"
	return map[string]any{
		"sub":                   "repo:" + repo + ":ref:refs/heads/main",
		"repository":            repo,
		"repository_owner":      owner,
		"repository_owner_id":   fakeID("github-owner:" + owner),
		"repository_id":         fakeID("github-repo:" + repo),
		"repository_visibility": "public",
		"actor":                 owner,
		"actor_id":              fakeID("github-owner:" + owner),
		"workflow":              "build",
		"workflow_ref":          workflowRef,
		"workflow_sha":          sha,
		"job_workflow_ref":      workflowRef,
		"job_workflow_sha":      sha,
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"ref_protected":         "true",
		"sha":                   sha,
		"run_id":                fakeID("github-run:" + repo),
		"run_number":            "42",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"event_name":            "push",
		"head_ref":              "",
		"base_ref":              "",
	}
}

// GitHubReusableClaims returns the claims of a job of the reusable workflow
// reusable ("OWNER/REPO/.github/workflows/NAME.yml@REF") called from
// .github/workflows/build.yml on main of repo: as on GitHub, workflow_ref
// names the caller and job_workflow_ref the reusable workflow, which Fulcio
// makes the certificate's identity.
func GitHubReusableClaims(repo, reusable string) map[string]any {
	c := GitHubClaims(repo)
	c["job_workflow_ref"] = reusable
	c["job_workflow_sha"] = fakeCommit("github:" + reusable)
	return c
}

// GitLabClaims returns the claims GitLab CI (gitlab.com) puts in an ID token
// for a push pipeline on the protected branch main of projectPath
// ("GROUP/PROJECT", subgroups allowed) on a GitLab-hosted runner, without the
// registered claims that Mint adds. As in GitLab's tokens, runner_id is a
// number and the other values are strings; IDs and the commit SHA are derived
// from projectPath.
//
// It covers every claim Fulcio's gitlab-pipeline templates read: the
// certificate SAN becomes https://gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@refs/heads/main.
func GitLabClaims(projectPath string) map[string]any {
	namespace := projectPath
	if i := strings.LastIndex(projectPath, "/"); i >= 0 {
		namespace = projectPath[:i]
	}
	sha := fakeCommit("gitlab:" + projectPath)
	return map[string]any{
		"sub":                "project_path:" + projectPath + ":ref_type:branch:ref:main",
		"namespace_id":       fakeID("gitlab-namespace:" + namespace),
		"namespace_path":     namespace,
		"project_id":         fakeID("gitlab-project:" + projectPath),
		"project_path":       projectPath,
		"user_id":            fakeID("gitlab-user:" + namespace),
		"user_login":         "paved-ci",
		"user_email":         "paved-ci@example.com",
		"user_access_level":  "maintainer",
		"pipeline_id":        fakeID("gitlab-pipeline:" + projectPath),
		"pipeline_source":    "push",
		"job_id":             fakeID("gitlab-job:" + projectPath),
		"ref":                "main",
		"ref_type":           "branch",
		"ref_path":           "refs/heads/main",
		"ref_protected":      "true",
		"runner_id":          12270837,
		"runner_environment": "gitlab-hosted",
		"sha":                sha,
		"project_visibility": "public",
		"ci_config_ref_uri":  "gitlab.com/" + projectPath + "//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha":      sha,
	}
}

// fakeCommit returns a stable 40-hex-digit commit name for seed.
func fakeCommit(seed string) string {
	sum := sha256.Sum256([]byte("commit:" + seed))
	return hex.EncodeToString(sum[:20])
}

// fakeID returns a stable decimal ID in the range real platforms use.
func fakeID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return strconv.FormatUint(10_000_000+binary.BigEndian.Uint64(sum[:8])%900_000_000, 10)
}
