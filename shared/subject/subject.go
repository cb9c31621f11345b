// Package subject turns what a user names as the artifacts of a build — files,
// globs, checksums files and explicit digests — into named digests, reading each
// file once as a stream.
package subject

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/parallel"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/workspace"
)

// Subject is one artifact: a name and its digests by algorithm ("sha256" → hex).
type Subject struct {
	Name   string
	Digest map[string]string
	// Path is where a subject digested from a file was read, relative to
	// the workspace; empty for subjects given by digest or checksums.
	Path string
}

// SHA256 returns the subject's sha256 digest in hex, or "".
func (s Subject) SHA256() string { return s.Digest["sha256"] }

// DigestString returns the subject's digest as "ALG:HEX": sha256 when the
// subject has one, else sha512 (subjects given by a sha512 checksum or
// digest have only that).
func (s Subject) DigestString() string {
	for _, alg := range Algorithms {
		if h := s.Digest[alg]; h != "" {
			return alg + ":" + h
		}
	}
	return ""
}

// Algorithms are the digest algorithms a subject may be given in, in order
// of preference, with the hex length of each: the two actions/attest and
// the shasum tools accept.
var Algorithms = []string{"sha256", "sha512"}

// hexLen is the length in hex digits of a digest of each algorithm.
var hexLen = map[string]int{"sha256": 64, "sha512": 128}

// ParseDigest reads "ALG:HEX" (sha256 or sha512) and returns the algorithm
// and the lower-case hex, or false.
func ParseDigest(d string) (alg, hexv string, ok bool) {
	alg, hexv, ok = strings.Cut(d, ":")
	hexv = strings.ToLower(hexv)
	if n, known := hexLen[alg]; !ok || !known || len(hexv) != n || !hexRE.MatchString(hexv) {
		return "", "", false
	}
	return alg, hexv, true
}

// Spec names the subjects. At least one field must be set.
type Spec struct {
	// Paths are files or glob patterns; a file subject is named by its base name,
	// as GitHub's attest action names them. Patterns use path/filepath.Match
	// syntax plus "**" for any number of directories; one that matches nothing is
	// an error.
	Paths []string
	// ChecksumsFiles are files in `sha256sum` format: "<hex>  <name>" per line.
	ChecksumsFiles []string
	// Digests are explicit subjects "name@sha256:<hex>" or "name@sha512:<hex>",
	// or, with Name set, a bare "sha256:<hex>" or "sha512:<hex>" as
	// actions/attest takes its subject-digest.
	Digests []string
	// Name names the bare digests of Digests (actions/attest's subject-name).
	// With Paths it replaces the base names of the files, as actions/attest
	// does; it then fits one file only.
	Name string
}

// Empty reports whether the spec names nothing.
func (s Spec) Empty() bool { return len(s.Paths)+len(s.ChecksumsFiles)+len(s.Digests) == 0 }

// Options configure Resolve. The zero value means defaults.
type Options struct {
	// Files resolves and confines every path (default: the working
	// directory, unconfined). CI front doors confine it to the workspace.
	Files *workspace.Workspace
	// Workers is how many files are digested at once (default: number of CPUs).
	Workers int
}

var hexRE = regexp.MustCompile(`^[0-9a-f]+$`)

// Resolve returns the subjects of spec, sorted by name, without duplicates.
func Resolve(ctx context.Context, spec Spec, opts Options) ([]Subject, error) {
	if spec.Empty() {
		return nil, fail.Configf("no subjects: name at least one file, glob, checksums file or name@sha256:<hex> digest")
	}
	ws := opts.Files
	if ws == nil {
		w, err := workspace.Current("")
		if err != nil {
			return nil, err
		}
		defer w.Close()
		ws = w
	}
	if spec.Name != "" {
		if err := CheckName(spec.Name); err != nil {
			return nil, fmt.Errorf("subject-name: %w", err)
		}
	}
	var out []Subject
	bare := 0
	for _, d := range spec.Digests {
		s, err := parseDigest(d, spec.Name)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(d, "@") {
			bare++
		}
		out = append(out, s)
	}
	if spec.Name != "" && bare == 0 && len(spec.Paths) == 0 {
		return nil, fail.Configf("subject-name %q names nothing: it names a subject-digest given as sha256:<hex> (or sha512:<hex>), or the one file of subject-path", spec.Name)
	}
	for _, f := range spec.ChecksumsFiles {
		subs, err := readChecksums(ws, f)
		if err != nil {
			return nil, err
		}
		out = append(out, subs...)
	}
	var files []workspace.Entry
	for _, p := range spec.Paths {
		m, err := expand(ws, p)
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	digested, err := digestFiles(ctx, ws, files, opts.Workers)
	if err != nil {
		return nil, err
	}
	if spec.Name != "" && len(digested) > 0 {
		if len(digested) > 1 {
			return nil, fail.Configf("subject-name %q with a subject-path that matches %d files: one name cannot name several artifacts; drop subject-name to name each by its file name", spec.Name, len(digested))
		}
		digested[0].Name = spec.Name
	}
	out = append(out, digested...)
	for _, s := range out {
		if err := CheckName(s.Name); err != nil {
			return nil, err
		}
	}
	return dedupe(out)
}

// CheckName refuses a subject name that cannot name a bundle file beside
// the artifact: empty, ".", "..", a bare separator, or one whose last element
// is any of those. Names may hold "/" (image repositories, checksums paths):
// bundle paths are derived from the last element only.
func CheckName(name string) error {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "\x00\n\r") {
		return fail.Configf("subject name %q is empty or holds control characters: name the artifact by its file name", name)
	}
	base := path.Base(filepath.ToSlash(name))
	if base == "." || base == ".." || base == "/" || strings.HasSuffix(name, "/") || strings.HasSuffix(name, "\\") {
		return fail.Configf("subject name %q is not a file name: name the artifact by its file name (a bundle path is derived from it)", name)
	}
	return nil
}

// parseDigest reads "name@ALG:HEX", or a bare "ALG:HEX" named name.
func parseDigest(d, name string) (Subject, error) {
	dig := d
	if at := strings.LastIndex(d, "@"); at >= 0 {
		name, dig = d[:at], d[at+1:]
	} else if name == "" {
		if _, _, ok := ParseDigest(d); ok {
			return Subject{}, fail.Configf("subject digest %q has no name: set subject-name (as with actions/attest), or write name@%s", d, d)
		}
	}
	alg, hexv, ok := ParseDigest(dig)
	if !ok || name == "" {
		return Subject{}, fail.Configf("subject digest %q: want name@sha256:<64 hex digits> or name@sha512:<128 hex digits> (or the digest alone with subject-name)", d)
	}
	return Subject{Name: name, Digest: map[string]string{alg: hexv}}, nil
}

func readChecksums(ws *workspace.Workspace, path string) ([]Subject, error) {
	f, err := ws.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading checksums file: %w", err)
	}
	defer f.Close()
	var out []Subject
	sc := bufio.NewScanner(io.LimitReader(f, 64<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		hexv, name, ok := strings.Cut(text, " ")
		name = strings.TrimPrefix(strings.TrimSpace(name), "*")
		hexv = strings.ToLower(hexv)
		// The algorithm is the one whose digests have this length, as
		// sha256sum and sha512sum (and shasum -a 256/512) write them.
		alg := ""
		for a, n := range hexLen {
			if len(hexv) == n {
				alg = a
			}
		}
		if !ok || name == "" || alg == "" || !hexRE.MatchString(hexv) {
			return nil, fail.Configf("checksums file %s line %d: want \"<64 or 128 hex digits>  <name>\" as written by sha256sum or sha512sum", path, line)
		}
		if err := CheckName(name); err != nil {
			return nil, fail.Configf("checksums file %s line %d: %w", path, line, err)
		}
		out = append(out, Subject{Name: name, Digest: map[string]string{alg: hexv}})
	}
	if err := sc.Err(); err != nil {
		return nil, fail.Configf("reading checksums file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fail.Configf("checksums file %s lists no artifacts", path)
	}
	return out, nil
}

// expand resolves a path or glob into regular files inside the workspace.
func expand(ws *workspace.Workspace, pattern string) ([]workspace.Entry, error) {
	if !workspace.IsPattern(pattern) {
		rel, err := ws.Rel(pattern)
		if err != nil {
			return nil, fmt.Errorf("subject: %w", err)
		}
		st, err := ws.Stat(pattern)
		if err != nil {
			return nil, fmt.Errorf("subject: %w", err)
		}
		if st.IsDir() {
			return nil, fail.Configf("subject %s is a directory: name files or a glob such as %s/*", pattern, strings.TrimSuffix(pattern, "/"))
		}
		return []workspace.Entry{{Path: pattern, Rel: rel}}, nil
	}
	matches, err := ws.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("subject pattern: %w", err)
	}
	if len(matches) == 0 {
		return nil, fail.Configf("subject pattern %s matches no files: check the path, relative to %s", pattern, cwd())
	}
	return matches, nil
}

func cwd() string {
	d, err := os.Getwd()
	if err != nil {
		return "the working directory"
	}
	return d
}

func digestFiles(ctx context.Context, ws *workspace.Workspace, files []workspace.Entry, workers int) ([]Subject, error) {
	if len(files) == 0 {
		return nil, nil
	}
	out := make([]Subject, len(files))
	errs := make([]error, len(files))
	buffers := sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
	// Every file is digested even after one fails, so that all bad names are
	// reported at once: errors are recorded by index, not returned.
	if err := parallel.Each(ctx, len(files), workers, func(ctx context.Context, i int) error {
		e := files[i]
		f, err := ws.OpenEntry(e)
		if err != nil {
			errs[i] = fmt.Errorf("subject: %w", err)
			return nil
		}
		defer f.Close()
		buf := buffers.Get().(*[]byte)
		defer buffers.Put(buf)
		sum, err := Digest(ctx, f, e.Path, *buf)
		if err != nil {
			errs[i] = err
			return nil
		}
		out[i] = Subject{Name: filepath.Base(e.Path), Digest: map[string]string{"sha256": sum}, Path: e.Path}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := fail.Join(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// File streams one file through SHA-256 and returns the hex digest. buf may be
// nil. With a non-nil root the file must lie inside it. The file must be a
// regular file: a FIFO or device is refused, never opened blocking.
func File(ctx context.Context, root *os.Root, path string, buf []byte) (string, error) {
	var (
		ws  *workspace.Workspace
		err error
	)
	if root != nil {
		ws, err = workspace.Current(root.Name())
	} else {
		ws, err = workspace.Current("")
	}
	if err != nil {
		return "", err
	}
	defer ws.Close()
	f, err := ws.Open(path)
	if err != nil {
		return "", fmt.Errorf("subject: %w", err)
	}
	defer f.Close()
	return Digest(ctx, f, path, buf)
}

// Digest streams r through SHA-256 and returns the hex digest; name is for
// errors. buf may be nil.
func Digest(ctx context.Context, r io.Reader, name string, buf []byte) (string, error) {
	if buf == nil {
		pb := bufPool.Get().(*[]byte)
		defer bufPool.Put(pb)
		buf = *pb
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, bounded.ContextReader(ctx, r), buf); err != nil {
		return "", fmt.Errorf("digesting %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// bufPool holds copy buffers, so that digesting many small files does not
// allocate a large buffer for each.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func dedupe(in []Subject) ([]Subject, error) {
	byName := map[string]Subject{}
	for _, s := range in {
		if prev, ok := byName[s.Name]; ok {
			if prev.DigestString() != s.DigestString() {
				return nil, fail.Configf("subject %s is named twice with different digests (%s and %s): give the artifacts distinct names", s.Name, prev.DigestString(), s.DigestString())
			}
			continue
		}
		byName[s.Name] = s
	}
	out := make([]Subject, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
