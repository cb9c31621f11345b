package glci

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/store"
)

var (
	_ command.StoreProvider   = (*Door)(nil)
	_ command.FetcherProvider = (*Door)(nil)
)

// StoreTargets implements command.StoreProvider: with gitlab-package set, the
// project's generic package registry, written with the job token
// (CI_JOB_TOKEN) at CI_API_V4_URL, and linked from the release of CI_COMMIT_TAG.
func (d *Door) StoreTargets(pkg command.GitLabPackage) ([]store.Writer, error) {
	if pkg.Name == "" {
		return nil, nil
	}
	t, err := glstore.New(d.packageOptions(pkg))
	if err != nil {
		return nil, err
	}
	return []store.Writer{t}, nil
}

// BundleFetcher implements command.FetcherProvider for --bundle-from gitlab:
// the bundles that StoreTargets wrote to the generic package gitlab-package
// (at gitlab-package-version, by default this pipeline's tag or commit SHA),
// read with the job token.
func (d *Door) BundleFetcher(source string, pkg command.GitLabPackage) (string, store.Fetcher, error) {
	if source != "gitlab" {
		return "", nil, fail.Configf("--bundle-from %s is not a GitLab source; use gitlab", source)
	}
	if pkg.Name == "" {
		return "", nil, fail.Configf("--bundle-from gitlab needs --gitlab-package: the package name paved attest stored the bundles under (its gitlab-package input)")
	}
	t, err := glstore.New(d.packageOptions(pkg))
	if err != nil {
		return "", nil, err
	}
	return "GitLab package " + strings.TrimSuffix(t.URL(""), "/"), t, nil
}

// packageOptions names the generic package pkg of this job's project at its
// version (default: CI_COMMIT_TAG, else CI_COMMIT_SHA), written and read with
// the job token (CI_JOB_TOKEN) at CI_API_V4_URL.
func (d *Door) packageOptions(pkg command.GitLabPackage) glstore.Options {
	version := pkg.Version
	if version == "" {
		version = d.getenv("CI_COMMIT_TAG")
	}
	if version == "" {
		version = d.getenv("CI_COMMIT_SHA")
	}
	return glstore.Options{
		APIURL:   d.getenv("CI_API_V4_URL"),
		Project:  d.getenv("CI_PROJECT_ID"),
		JobToken: d.jobToken(),
		Package:  pkg.Name,
		Version:  version,
		Tag:      d.getenv("CI_COMMIT_TAG"),
	}
}

var _ command.RegistryKeychain = (*Door)(nil)

// RegistryKeychain implements command.RegistryKeychain: the project's GitLab
// container registry (CI_REGISTRY) with the job's CI_REGISTRY_USER and
// CI_REGISTRY_PASSWORD, which every job has, so that no docker login is
// needed to scan, attest or promote the project's own images.
func (d *Door) RegistryKeychain() authn.Keychain {
	pw := d.getenv("CI_REGISTRY_PASSWORD")
	d.Mask(pw)
	return command.HostKeychain{Host: d.getenv("CI_REGISTRY"), Username: d.getenv("CI_REGISTRY_USER"), Password: pw}
}

// jobToken is CI_JOB_TOKEN, registered for redaction before any use: GitLab
// masks it in the job log, but a copy echoed by another server must not show.
func (d *Door) jobToken() string {
	t := d.getenv("CI_JOB_TOKEN")
	d.Mask(t)
	return t
}
