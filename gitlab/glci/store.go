package glci

import (
	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/store"
)

var _ command.StoreProvider = (*Door)(nil)

// StoreTargets implements command.StoreProvider: with gitlab-package set, the
// project's generic package registry, written with the job token
// (CI_JOB_TOKEN) at CI_API_V4_URL, and linked from the release of CI_COMMIT_TAG.
func (d *Door) StoreTargets(v command.Values) ([]store.Writer, error) {
	pkg := v.String("gitlab-package")
	if pkg == "" {
		return nil, nil
	}
	version := v.String("gitlab-package-version")
	if version == "" {
		version = d.getenv("CI_COMMIT_TAG")
	}
	if version == "" {
		version = d.getenv("CI_COMMIT_SHA")
	}
	t, err := glstore.New(glstore.Options{
		APIURL:   d.getenv("CI_API_V4_URL"),
		Project:  d.getenv("CI_PROJECT_ID"),
		JobToken: d.getenv("CI_JOB_TOKEN"),
		Package:  pkg,
		Version:  version,
		Tag:      d.getenv("CI_COMMIT_TAG"),
	})
	if err != nil {
		return nil, err
	}
	return []store.Writer{t}, nil
}
