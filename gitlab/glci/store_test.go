package glci_test

import (
	"io"
	"strings"
	"testing"

	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/fail"
)

func TestStoreTargets(t *testing.T) {
	job := map[string]string{"CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "42", "CI_JOB_TOKEN": "glcbt-secret", "CI_COMMIT_SHA": "0123abcd"}
	door := func(env map[string]string) *glci.Door {
		return glci.New(glci.Options{Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard})
	}
	if ws, err := door(job).StoreTargets(command.GitLabPackage{}); err != nil || len(ws) != 0 {
		t.Fatalf("without gitlab-package: %v, %v", ws, err)
	}
	ws, err := door(job).StoreTargets(command.GitLabPackage{Name: "attestations"})
	if err != nil || len(ws) != 1 || ws[0].Name() != "GitLab package registry" {
		t.Fatalf("with gitlab-package: %v, %v", ws, err)
	}
	delete(job, "CI_JOB_TOKEN")
	_, err = door(job).StoreTargets(command.GitLabPackage{Name: "attestations"})
	if fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "CI_JOB_TOKEN") {
		t.Fatalf("without the job token: %v", err)
	}
}

// TestBundleFetcher: --bundle-from gitlab reads the package named by
// gitlab-package, at the pipeline's tag (else commit SHA) unless
// gitlab-package-version says otherwise; it needs the package name and the job
// token, and only the gitlab source is GitLab's.
func TestBundleFetcher(t *testing.T) {
	job := map[string]string{"CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "42", "CI_JOB_TOKEN": "glcbt-secret", "CI_COMMIT_SHA": "0123abcd"}
	door := func(env map[string]string) *glci.Door {
		return glci.New(glci.Options{Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard})
	}
	for _, c := range []struct {
		env  map[string]string
		in   command.GitLabPackage
		want string
	}{
		{job, command.GitLabPackage{Name: "demo"}, "GitLab package https://gitlab.example.com/api/v4/projects/42/packages/generic/demo/0123abcd"},
		{map[string]string{"CI_API_V4_URL": job["CI_API_V4_URL"], "CI_PROJECT_ID": "42", "CI_JOB_TOKEN": "t", "CI_COMMIT_SHA": "0123abcd", "CI_COMMIT_TAG": "v1.0.0"},
			command.GitLabPackage{Name: "demo"}, "GitLab package https://gitlab.example.com/api/v4/projects/42/packages/generic/demo/v1.0.0"},
		{job, command.GitLabPackage{Name: "demo", Version: "2.0"}, "GitLab package https://gitlab.example.com/api/v4/projects/42/packages/generic/demo/2.0"},
	} {
		name, f, err := door(c.env).BundleFetcher("gitlab", c.in)
		if err != nil || f == nil || name != c.want {
			t.Errorf("%v: %q, %v, want %q", c.in, name, err, c.want)
		}
	}
	if _, _, err := door(job).BundleFetcher("gitlab", command.GitLabPackage{}); fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "--gitlab-package") {
		t.Errorf("without gitlab-package: %v", err)
	}
	noToken := map[string]string{"CI_API_V4_URL": job["CI_API_V4_URL"], "CI_PROJECT_ID": "42", "CI_COMMIT_SHA": "0123abcd"}
	if _, _, err := door(noToken).BundleFetcher("gitlab", command.GitLabPackage{Name: "demo"}); fail.ClassOf(err) != fail.Config || !strings.Contains(err.Error(), "CI_JOB_TOKEN") {
		t.Errorf("without the job token: %v", err)
	}
	if _, _, err := door(job).BundleFetcher("github", command.GitLabPackage{Name: "demo"}); err == nil {
		t.Errorf("the github source is not GitLab's")
	}
}

// TestRegistryKeychain: the job's CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for
// CI_REGISTRY, and for no other registry.
func TestRegistryKeychain(t *testing.T) {
	d := glci.New(glci.Options{Getenv: func(k string) string {
		return map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "glcbt-x"}[k]
	}, Stdout: io.Discard, Stderr: io.Discard})
	kc, ok := d.RegistryKeychain().(command.HostKeychain)
	if !ok || kc.Host != "registry.gitlab.com" || kc.Username != "gitlab-ci-token" || kc.Password != "glcbt-x" {
		t.Fatalf("keychain %+v", d.RegistryKeychain())
	}
}
