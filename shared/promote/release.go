package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/paved-dev/paved/shared/fail"
)

// Uploader puts a checked release file (a File from OpenAttested) at one
// destination and proves the destination holds exactly those bytes.
type Uploader interface {
	// Name names the destination in messages, e.g. "GitHub release OWNER/REPO@TAG".
	Name() string
	// Upload sends f as the file called name, unless the destination already
	// holds the same bytes under that name. A different file under that name is
	// refused (a fail.Verification error), never replaced. After sending, the
	// file is read back and its digest compared with f.Digest.
	Upload(ctx context.Context, name string, f *File) (Uploaded, error)
}

// Checker is implemented by uploaders that can tell, before anything is
// signed or sent, that the destination cannot take the file (a GitHub
// release that does not exist).
type Checker interface {
	Check(ctx context.Context) error
}

// Uploaded is what an Uploader reports after a proved upload.
type Uploaded struct {
	// URL is where the file is downloaded from.
	URL string
	// Digest is "sha256:HEX" of the bytes read back from the destination.
	Digest string
	// Existed is true when the destination already held the same bytes and
	// nothing was sent.
	Existed bool
}

// Body returns a reader of the private copy from its start. Each call returns
// an independent reader, so a retried request can send the bytes again.
func (f *File) Body() *io.SectionReader { return io.NewSectionReader(f.File, 0, f.Size) }

// Destination kinds of release files.
const (
	// GitHubRelease is github-release://OWNER/REPO@TAG: an asset of the
	// release of TAG.
	GitHubRelease = "github-release"
	// GitLabPackage is gitlab-package://NAME[@VERSION]: a file of the
	// project's generic package NAME (version default: the tag, else the commit).
	GitLabPackage = "gitlab-package"
)

// FileDestination is where a release file is promoted to.
type FileDestination struct {
	// Kind is GitHubRelease or GitLabPackage.
	Kind string
	// Repository (OWNER/REPO) and Tag name a GitHub release.
	Repository, Tag string
	// Package and Version name a GitLab generic package; Version "" means the
	// front door's default.
	Package, Version string
}

func (d FileDestination) String() string {
	if d.Kind == GitHubRelease {
		return d.Kind + "://" + d.Repository + "@" + d.Tag
	}
	return strings.TrimSuffix(d.Kind+"://"+d.Package+"@"+d.Version, "@")
}

var (
	repoPart    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	packagePart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	// fileName is what both platforms keep as given: GitHub renames assets
	// with other characters, and GitLab package file names are a path segment.
	fileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
)

// ParseFileDestination reads a release-file destination. ok is false when s
// is not one (an image destination); err reports a malformed one.
func ParseFileDestination(s string) (d FileDestination, ok bool, err error) {
	kind, rest, found := strings.Cut(s, "://")
	if !found || (kind != GitHubRelease && kind != GitLabPackage) {
		return FileDestination{}, false, nil
	}
	d.Kind = kind
	switch kind {
	case GitHubRelease:
		repo, tag, _ := strings.Cut(rest, "@")
		if !repoPart.MatchString(repo) || tag == "" || strings.ContainsAny(tag, " \t\n?#") {
			return FileDestination{}, true, fail.Configf("destination %q: want github-release://OWNER/REPO@TAG (the release of TAG must exist)", s)
		}
		d.Repository, d.Tag = repo, tag
	case GitLabPackage:
		pkg, version, _ := strings.Cut(rest, "@")
		if !packagePart.MatchString(pkg) || (version != "" && !packagePart.MatchString(version)) {
			return FileDestination{}, true, fail.Configf("destination %q: want gitlab-package://NAME[@VERSION] with letters, digits, '.', '_', '-' and '+' (version default: the tag, else the commit SHA)", s)
		}
		d.Package, d.Version = pkg, version
	}
	return d, true, nil
}

// CheckFileName refuses a release file name that a platform would rename or
// read as a path, so that the uploaded name is the name asked for.
func CheckFileName(name string) error {
	if !fileName.MatchString(name) || len(name) > 255 {
		return fail.Configf("release file name %q: use letters, digits, '.', '_', '-' and '+' (rename the file before promoting it)", name)
	}
	return nil
}

// Digest hashes what r yields, at most limit bytes: "sha256:HEX" and the size.
// More than limit bytes is an error, so a destination answering with a
// different, larger file cannot make the reader run unbounded.
func Digest(r io.Reader, limit int64) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, limit+1))
	if err != nil {
		return "", n, err
	}
	if n > limit {
		return "", n, tooLarge(limit)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

// tooLarge is Digest's error when r yields more than the limit.
type tooLarge int64

func (t tooLarge) Error() string { return fmt.Sprintf("more than %d bytes", int64(t)) }
