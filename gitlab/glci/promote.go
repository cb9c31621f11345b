package glci

import (
	"github.com/paved-dev/paved/gitlab/glstore"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/promote"
)

var _ command.FileUploaderProvider = (*Door)(nil)

// FileUploader implements command.FileUploaderProvider: the project's
// generic package pkg@version, written with the job token (CI_JOB_TOKEN) at
// CI_API_V4_URL; version defaults to CI_COMMIT_TAG, else CI_COMMIT_SHA.
func (d *Door) FileUploader(pkg, version string) (promote.Uploader, error) {
	if version == "" {
		version = d.getenv("CI_COMMIT_TAG")
	}
	if version == "" {
		version = d.getenv("CI_COMMIT_SHA")
	}
	return glstore.NewFiles(glstore.Options{
		APIURL:   d.getenv("CI_API_V4_URL"),
		Project:  d.getenv("CI_PROJECT_ID"),
		JobToken: d.getenv("CI_JOB_TOKEN"),
		Package:  pkg,
		Version:  version,
	})
}
