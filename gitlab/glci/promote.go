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
	return glstore.NewFiles(d.packageOptions(command.GitLabPackage{Name: pkg, Version: version}))
}
