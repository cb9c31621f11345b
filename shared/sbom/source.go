package sbom

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	stereofile "github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	"github.com/anchore/syft/syft/source/filesource"
	"github.com/anchore/syft/syft/source/stereoscopesource"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/workspace"
)

// opened is a syft source and what must be cleaned up after cataloging.
type opened struct {
	src     source.Source
	meta    Source
	cleanup []func() error
}

func (o *opened) close() {
	if o.src != nil {
		_ = o.src.Close()
	}
	for i := len(o.cleanup) - 1; i >= 0; i-- {
		_ = o.cleanup[i]()
	}
}

// openSource resolves input to a syft source of the requested or detected type.
func openSource(ctx context.Context, input string, opts Options) (*opened, error) {
	if strings.TrimSpace(input) == "" {
		return nil, fail.Configf("no source: name a directory, file, OCI layout, docker-archive tarball or image reference (the source input)")
	}
	typ := opts.Type
	if typ == "" {
		typ = Auto
	}
	if !validType(typ) {
		return nil, fail.Configf("unknown source type %q: want one of %s", typ, typeList())
	}
	if scheme, daemon, rest := ParseScheme(input); scheme != "" && (typ == Auto || typ == scheme) {
		if _, err := os.Stat(input); err != nil {
			if scheme == Registry {
				return openImage(ctx, rest, Registry, opts)
			}
			return daemonSource(ctx, rest, []string{daemon}, opts)
		}
	}
	switch typ {
	case Auto:
		var err error
		if typ, err = detect(input); err != nil {
			return nil, err
		}
		if typ == Registry {
			return imageFromDaemonOrRegistry(ctx, input, opts)
		}
	case Daemon:
		daemons := opts.Daemons
		if len(daemons) == 0 {
			return nil, fail.Configf("source type daemon: no Docker or containerd daemon socket found (DOCKER_HOST, /var/run/docker.sock, CONTAINERD_ADDRESS, /run/containerd/containerd.sock): start one, or use source-type registry")
		}
		return daemonSource(ctx, input, daemons, opts)
	}
	if typ != Registry {
		st, err := os.Stat(input)
		if err != nil {
			return nil, fail.Configf("source %s: %w (check the path, relative to the working directory)", input, fail.PathCause(err))
		}
		if !st.IsDir() && !st.Mode().IsRegular() {
			return nil, fail.Configf("source %s is neither a directory nor a regular file (a FIFO or device would block the scan)", input)
		}
		if wantDir := typ == Dir || typ == OCILayout; wantDir != st.IsDir() {
			kind := "a file"
			if wantDir {
				kind = "a directory"
			}
			return nil, fail.Configf("source %s is not %s, as source type %s needs", input, kind, typ)
		}
	}
	switch typ {
	case Dir:
		cfg := directorysource.Config{Path: input}
		cfg.Exclude.Paths = append(cfg.Exclude.Paths, opts.Exclude...)
		if opts.ConfineTo != "" {
			excl, err := escapingLinks(input, opts.ConfineTo)
			if err != nil {
				return nil, err
			}
			cfg.Exclude.Paths = append(cfg.Exclude.Paths, excl...)
			if n := len(excl); n > 0 {
				fmt.Fprintf(opts.progress(), "sbom: left out %d symlink(s) that lead outside %s\n", n, opts.ConfineTo)
			}
		}
		src, err := directorysource.New(cfg)
		if err != nil {
			return nil, fail.Configf("opening directory %s: %w", input, err)
		}
		return &opened{src: src, meta: Source{Type: Dir, Input: input, Name: baseName(input)}}, nil
	case File:
		sum, err := fileDigest(input)
		if err != nil {
			return nil, fail.Configf("reading %s: %w", input, err)
		}
		src, err := filesource.New(filesource.Config{Path: input, DigestAlgorithms: nil, Exclude: source.ExcludeConfig{Paths: opts.Exclude}})
		if err != nil {
			return nil, fail.Configf("opening file %s: %w (is it a readable file or an intact archive?)", input, err)
		}
		return &opened{src: src, meta: Source{Type: File, Input: input, Name: filepath.Base(input), Digest: sum}}, nil
	default:
		return openImage(ctx, input, typ, opts)
	}
}

// escapingLinks lists, as syft exclusion patterns, the symlinks under dir
// that lead outside root: their targets resolve outside it (or not at all),
// or they lead to a directory outside dir that holds such a link (syft
// follows links into other directories and indexes those too).
func escapingLinks(dir, root string) ([]string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err == nil {
		realRoot, err = filepath.Abs(realRoot)
	}
	if err != nil {
		return nil, fail.Configf("source %s: %w", root, fail.PathCause(err))
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err == nil {
		realDir, err = filepath.Abs(realDir)
	}
	if err != nil {
		return nil, fail.Configf("source %s: %w", dir, fail.PathCause(err))
	}
	l := &linkCheck{root: realRoot, verdict: map[string]bool{}}
	var out []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if !l.leaves(p, realDir) {
			return nil
		}
		if rel, err := filepath.Rel(dir, p); err == nil {
			out = append(out, "./"+globEscape(filepath.ToSlash(rel)))
		}
		return nil
	})
	return out, err
}

// linkCheck decides whether symlinks lead outside root, remembering the
// directories it has looked into.
type linkCheck struct {
	root    string
	verdict map[string]bool
}

// leaves reports whether the symlink link leads outside the root, directly or
// through links inside a directory outside within that it points to.
func (l *linkCheck) leaves(link, within string) bool {
	target, err := filepath.EvalSymlinks(link)
	if err == nil {
		target, err = filepath.Abs(target)
	}
	if err != nil || !workspace.Within(l.root, target) {
		return true
	}
	if workspace.Within(within, target) {
		return false // indexed anyway, and its own links are checked there
	}
	st, err := os.Stat(target)
	if err != nil || !st.IsDir() {
		return false
	}
	if v, seen := l.verdict[target]; seen {
		return v
	}
	l.verdict[target] = false // a cycle adds nothing
	leaks := false
	_ = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if l.leaves(p, target) {
			leaks = true
			return fs.SkipAll
		}
		return nil
	})
	l.verdict[target] = leaks
	return leaks
}

// globEscape quotes the metacharacters of a doublestar pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*?[]{}`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func validType(t SourceType) bool {
	for _, v := range SourceTypes {
		if v == t {
			return true
		}
	}
	return false
}

func typeList() string {
	var s []string
	for _, v := range SourceTypes {
		s = append(s, string(v))
	}
	return strings.Join(s, ", ")
}

// detect picks the source type of input for Auto.
func detect(input string) (SourceType, error) {
	st, err := os.Stat(input)
	if err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return "", fail.Configf("source %s is neither a directory nor a regular file (a FIFO or device would block the scan)", input)
	}
	if err == nil {
		if st.IsDir() {
			if isOCILayout(input) {
				return OCILayout, nil
			}
			return Dir, nil
		}
		if isDockerArchive(input) {
			return DockerArchive, nil
		}
		return File, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fail.Configf("source %s: %w", input, fail.PathCause(err))
	}
	// A missing path must not turn into a pull from a default registry, so only
	// a reference that names its registry host counts as an image.
	if ref, perr := name.ParseReference(input, name.StrictValidation); perr == nil && namesRegistry(input, ref) {
		return Registry, nil
	}
	return "", fail.Configf("source %s does not exist; give an existing directory or file, or an image reference that includes its registry host (or set source-type to registry)", input)
}

func namesRegistry(input string, ref name.Reference) bool {
	first, _, ok := strings.Cut(input, "/")
	if !ok {
		return false
	}
	return (strings.ContainsAny(first, ".:") || first == "localhost") && ref.Context().RegistryStr() == first
}

func isOCILayout(dir string) bool {
	_, err1 := os.Stat(filepath.Join(dir, "oci-layout"))
	_, err2 := os.Stat(filepath.Join(dir, "index.json"))
	return err1 == nil && err2 == nil
}

// isDockerArchive reports whether path is a tar holding a docker save
// manifest.json, reading at most maxProbeEntries headers.
func isDockerArchive(path string) bool {
	const maxProbeEntries = 10000
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for range maxProbeEntries {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if filepath.Clean(h.Name) == "manifest.json" {
			return true
		}
	}
	return false
}

func baseName(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return filepath.Base(p)
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fail.PathCause(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// openImage loads the image with go-containerregistry, then hands it to
// stereoscope, which unpacks its layers for syft.
func openImage(ctx context.Context, input string, typ SourceType, opts Options) (*opened, error) {
	tmp := stereofile.NewTempDirGenerator("paved-sbom")
	o := &opened{cleanup: []func() error{tmp.Cleanup}}
	img, meta, extra, err := loadImage(ctx, input, typ, opts)
	if err != nil {
		o.close()
		return nil, err
	}
	dir, err := tmp.NewDirectory("image")
	if err != nil {
		o.close()
		return nil, fmt.Errorf("creating a directory for image layers: %w", err)
	}
	if raw, err := img.RawManifest(); err == nil {
		extra = append(extra, image.WithManifest(raw))
	}
	simg := image.New(img, tmp, dir, extra...)
	o.cleanup = append(o.cleanup, simg.Cleanup)
	if err := simg.Read(ctx); err != nil {
		o.close()
		return nil, classifyImageErr(fmt.Sprintf("reading the layers of %s %s", typ, input), err)
	}
	ref := input
	if typ != Registry {
		ref = meta.Name
	}
	o.src = stereoscopesource.New(simg, stereoscopesource.ImageConfig{Reference: ref, Exclude: source.ExcludeConfig{Paths: opts.Exclude}})
	o.meta = meta
	return o, nil
}

func loadImage(ctx context.Context, input string, typ SourceType, opts Options) (v1.Image, Source, []image.AdditionalMetadata, error) {
	meta := Source{Type: typ, Input: input}
	switch typ {
	case OCILayout:
		img, refName, err := layoutImage(input, opts.Platform)
		if err != nil {
			return nil, meta, nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, meta, nil, fail.Configf("OCI layout %s: computing the image digest: %w", input, err)
		}
		meta.Name, meta.Digest = refName, d.String()
		return img, meta, []image.AdditionalMetadata{image.WithManifestDigest(d.String())}, nil
	case DockerArchive:
		sum, err := fileDigest(input)
		if err != nil {
			return nil, meta, nil, fail.Configf("reading %s: %w", input, err)
		}
		img, err := tarball.ImageFromPath(input, nil)
		if err != nil {
			return nil, meta, nil, fail.Configf("docker-archive %s is not a readable docker save tarball holding one image: %w", input, err)
		}
		// Reading the manifest and config checks the archive before layers are unpacked.
		if _, err := img.ConfigFile(); err != nil {
			return nil, meta, nil, fail.Configf("docker-archive %s: reading the image config: %w", input, err)
		}
		var extra []image.AdditionalMetadata
		if m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(input) }); err == nil && len(m) == 1 {
			extra = append(extra, image.WithTags(m[0].RepoTags...))
		}
		meta.Name, meta.Digest = filepath.Base(input), sum
		return img, meta, extra, nil
	case Registry:
		return registryImage(ctx, input, opts)
	}
	return nil, meta, nil, fail.Configf("source type %s is not an image", typ)
}

// layoutImage selects the image of an OCI layout: its only image, or the one
// for platform.
func layoutImage(dir, platform string) (v1.Image, string, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", fail.Configf("OCI layout %s is unreadable: %w", dir, err)
	}
	want, err := parsePlatform(platform)
	if err != nil {
		return nil, "", err
	}
	type cand struct {
		desc v1.Descriptor
		idx  v1.ImageIndex
	}
	var all []cand
	var walk func(ix v1.ImageIndex, depth int) error
	walk = func(ix v1.ImageIndex, depth int) error {
		if depth > 4 {
			return fmt.Errorf("image indexes nested more than 4 deep")
		}
		m, err := ix.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range m.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := ix.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := walk(child, depth+1); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				if d.Platform != nil && d.Platform.OS == "unknown" {
					continue // build attestations, not runnable images
				}
				all = append(all, cand{d, ix})
			}
		}
		return nil
	}
	if err := walk(idx, 0); err != nil {
		return nil, "", fail.Configf("OCI layout %s: reading its index: %w", dir, err)
	}
	var picked []cand
	for _, c := range all {
		if want == nil || (c.desc.Platform != nil && c.desc.Platform.Satisfies(*want)) {
			picked = append(picked, c)
		}
	}
	if want == nil && len(all) > 1 {
		return nil, "", fail.Configf("OCI layout %s holds %d images: choose one with the platform input (os/arch)", dir, len(all))
	}
	if len(picked) == 0 {
		return nil, "", fail.Configf("OCI layout %s holds no image for platform %q", dir, platform)
	}
	c := picked[0]
	img, err := c.idx.Image(c.desc.Digest)
	if err != nil {
		return nil, "", fail.Configf("OCI layout %s: opening image %s: %w", dir, c.desc.Digest, err)
	}
	refName := c.desc.Annotations["org.opencontainers.image.ref.name"]
	if refName == "" || !strings.ContainsAny(refName, "/:") {
		refName = baseName(dir)
	}
	return img, refName, nil
}

func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fail.Configf("platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	return p, nil
}

// registryImage pulls the manifest of a registry image; layers are fetched
// when stereoscope reads them.
func registryImage(ctx context.Context, input string, opts Options) (v1.Image, Source, []image.AdditionalMetadata, error) {
	meta := Source{Type: Registry, Input: input}
	ref, err := name.ParseReference(input)
	if err != nil {
		return nil, meta, nil, fail.Configf("image reference %q is invalid: %w", input, err)
	}
	c := opts.Credentials
	if (c.Username == "") != (c.Password == "") {
		return nil, meta, nil, fail.Configf("registry credentials need both registry-username and registry-password (or neither, to use the Docker config)")
	}
	ro := []remote.Option{remote.WithContext(ctx)}
	switch {
	case c.Username != "":
		ro = append(ro, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password})))
	case c.Keychain != nil:
		ro = append(ro, remote.WithAuthFromKeychain(c.Keychain))
	default:
		ro = append(ro, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if opts.Transport != nil {
		ro = append(ro, remote.WithTransport(opts.Transport))
	}
	plat, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, meta, nil, err
	}
	if plat == nil {
		plat = &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	ro = append(ro, remote.WithPlatform(*plat))
	img, err := remote.Image(ref, ro...)
	if err != nil {
		return nil, meta, nil, classifyImageErr("pulling "+input, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, meta, nil, classifyImageErr("pulling "+input, err)
	}
	meta.Name = ref.Context().Name()
	meta.Digest = d.String()
	repoDigest := ref.Context().Name() + "@" + d.String()
	extra := []image.AdditionalMetadata{image.WithRepoDigests(repoDigest), image.WithManifestDigest(d.String())}
	if t, ok := ref.(name.Tag); ok {
		extra = append(extra, image.WithTags(t.String()))
	}
	return img, meta, extra, nil
}

// classifyImageErr maps registry answers to the error classes: refused access
// and missing images are configuration, the rest may pass on a retry.
func classifyImageErr(what string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fail.Configf("%s: access denied (HTTP %d): set registry-username and registry-password, or log in to the registry so the Docker config holds credentials: %w", what, te.StatusCode, err)
		case http.StatusNotFound:
			return fail.Configf("%s: no such image (HTTP 404): check the reference: %w", what, err)
		}
		if te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests {
			return fail.Transientf("%s: %w", what, err)
		}
		return fail.Configf("%s: %w", what, err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fail.Transientf("%s: %w", what, err)
	}
	return fail.Configf("%s: %w", what, err)
}
