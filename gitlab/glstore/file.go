package glstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/promote"
)

// Files uploads promoted release files to the project's generic package
// registry, through the same client, job token and error handling as the
// bundles, and proves each upload by downloading it again.
type Files struct {
	g *GitLab
}

var (
	_ promote.Uploader = (*Files)(nil)
	_ promote.Checker  = (*Files)(nil)
)

// NewFiles returns the generic package o.Package@o.Version as a release-file
// destination. With o.Tag (a tag pipeline), every promoted file is also linked
// from that tag's release, as a package link.
func NewFiles(o Options) (*Files, error) {
	g, err := New(o)
	if err != nil {
		return nil, err
	}
	return &Files{g: g}, nil
}

// Name implements promote.Uploader.
func (f *Files) Name() string {
	return fmt.Sprintf("GitLab generic package %s@%s of project %s", f.g.o.Package, f.g.o.Version, f.g.o.Project)
}

// Check implements promote.Checker: in a tag pipeline, the tag's release
// exists and the job can see it, before anything is signed or uploaded.
func (f *Files) Check(ctx context.Context) error {
	if f.g.o.Tag == "" {
		return nil
	}
	_, _, err := f.g.c.ReleaseLinks.ListReleaseLinks(f.g.o.Project, f.g.o.Tag, &gitlab.ListReleaseLinksOptions{}, gitlab.WithContext(ctx))
	if status(err) == http.StatusNotFound || status(err) == http.StatusForbidden {
		return f.g.noRelease(f.Name(), err)
	}
	if err != nil {
		return f.g.apiError("reading the release of "+f.g.o.Tag, err)
	}
	return nil
}

// linked links a promoted file from the tag's release, in a tag pipeline.
func (f *Files) linked(ctx context.Context, up promote.Uploaded, name string) (promote.Uploaded, error) {
	if f.g.o.Tag != "" {
		if err := f.g.link(ctx, up.URL, name, gitlab.PackageLinkType); err != nil {
			return promote.Uploaded{}, err
		}
	}
	return up, nil
}

// Upload implements promote.Uploader: a file already in the package under
// name with the same digest is left alone, a different one is refused (GitLab
// would keep both and serve the newest, silently replacing the release file);
// otherwise the file is published and downloaded again to compare digests.
func (f *Files) Upload(ctx context.Context, name string, file *promote.File) (promote.Uploaded, error) {
	if err := promote.CheckFileName(name); err != nil {
		return promote.Uploaded{}, err
	}
	url := f.g.URL(name)
	cur, err := f.digest(ctx, name, file.Size)
	switch {
	case errors.Is(err, errTooLarge):
		return promote.Uploaded{}, fail.Verificationf("%s already holds a different %s (larger than the attested %d bytes): refusing to replace a release file; promote under a new version, or delete that package file deliberately first", f.Name(), name, file.Size)
	case err != nil:
		return promote.Uploaded{}, err
	case cur == file.Digest:
		return f.linked(ctx, promote.Uploaded{URL: url, Digest: cur, Existed: true}, name)
	case cur != "":
		return promote.Uploaded{}, fail.Verificationf("%s already holds a different %s (%s, not the attested %s): refusing to replace a release file; promote under a new version, or delete that package file deliberately first", f.Name(), name, cur, file.Digest)
	}
	sel := gitlab.SelectPackageFile
	pf, _, err := f.g.c.GenericPackages.PublishPackageFile(f.g.o.Project, f.g.o.Package, f.g.o.Version, name,
		sizedReader{file.Body()}, &gitlab.PublishPackageFileOptions{Select: &sel}, gitlab.WithContext(ctx))
	if err != nil {
		return promote.Uploaded{}, f.g.apiError("uploading "+name+" to the package registry", err)
	}
	if pf != nil && pf.FileSHA256 != "" && "sha256:"+strings.ToLower(pf.FileSHA256) != file.Digest {
		return promote.Uploaded{}, fail.Verificationf("GitLab reports sha256 %s for the uploaded %s, not the attested %s: the bytes were altered on the way; delete that package file and promote again", pf.FileSHA256, name, file.Digest)
	}
	back, err := f.digest(ctx, name, file.Size)
	switch {
	case errors.Is(err, errTooLarge):
		back = "more than the attested size"
	case err != nil:
		return promote.Uploaded{}, fmt.Errorf("reading back %s: %w", name, err)
	case back == "":
		return promote.Uploaded{}, fail.Transientf("reading back %s from %s: GitLab accepted the upload but does not serve the file", name, f.Name())
	}
	if back != file.Digest {
		return promote.Uploaded{}, fail.Verificationf("%s read back from %s has digest %s, not the attested %s: the package holds different bytes; delete that package file and promote again", name, f.Name(), back, file.Digest)
	}
	return f.linked(ctx, promote.Uploaded{URL: url, Digest: back}, name)
}

var errTooLarge = errors.New("package file larger than expected")

// digest streams a package file through SHA-256 without holding it in
// memory: "" when there is no such file, errTooLarge beyond limit bytes.
func (f *Files) digest(ctx context.Context, name string, limit int64) (string, error) {
	path, err := f.g.c.GenericPackages.FormatPackageURL(f.g.o.Project, f.g.o.Package, f.g.o.Version, name)
	if err != nil {
		return "", fail.Configf("package file name %q: %v", name, err)
	}
	req, err := f.g.c.NewRequest(http.MethodGet, path, nil, []gitlab.RequestOptionFunc{gitlab.WithContext(ctx)})
	if err != nil {
		return "", fail.Configf("GitLab request: %v", redact(err, f.g.o.JobToken))
	}
	h := &boundedHash{h: sha256.New(), left: limit}
	_, err = f.g.c.Do(req, h)
	switch {
	case status(err) == http.StatusNotFound:
		return "", nil
	case errors.Is(err, errTooLarge):
		return "", errTooLarge
	case err != nil:
		return "", f.g.apiError("downloading "+name+" from the package registry", err)
	}
	return "sha256:" + hex.EncodeToString(h.h.Sum(nil)), nil
}

// boundedHash hashes what is written to it and fails beyond left bytes.
type boundedHash struct {
	h    hash.Hash
	left int64
}

func (b *boundedHash) Write(p []byte) (int, error) {
	if int64(len(p)) > b.left {
		return 0, errTooLarge
	}
	b.left -= int64(len(p))
	return b.h.Write(p)
}

// sizedReader gives the HTTP client the length of the body (it reads Len),
// so the upload carries a Content-Length and can be replayed by seeking.
type sizedReader struct{ *io.SectionReader }

func (s sizedReader) Len() int { return int(s.Size()) }
