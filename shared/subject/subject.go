// Package subject turns what a user names as the artifacts of a build — files,
// globs, checksums files and explicit digests — into named digests, reading each
// file once as a stream.
package subject

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/paved-dev/paved/shared/bounded"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/paved-dev/paved/shared/fail"
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

// Spec names the subjects. At least one field must be set.
type Spec struct {
	// Paths are files or glob patterns; a file subject is named by its base name,
	// as GitHub's attest action names them. Patterns use path/filepath.Match
	// syntax plus "**" for any number of directories; one that matches nothing is
	// an error.
	Paths []string
	// ChecksumsFiles are files in `sha256sum` format: "<hex>  <name>" per line.
	ChecksumsFiles []string
	// Digests are explicit subjects "name@sha256:<hex>".
	Digests []string
}

// Empty reports whether the spec names nothing.
func (s Spec) Empty() bool { return len(s.Paths)+len(s.ChecksumsFiles)+len(s.Digests) == 0 }

// Options configure Resolve. The zero value means defaults.
type Options struct {
	// Root confines every path: when set, files outside it (after following
	// symlinks) are refused. CI front doors set it to the workspace.
	Root string
	// Workers is how many files are digested at once (default: number of CPUs).
	Workers int
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Resolve returns the subjects of spec, sorted by name, without duplicates.
func Resolve(ctx context.Context, spec Spec, opts Options) ([]Subject, error) {
	if spec.Empty() {
		return nil, fail.Configf("no subjects: name at least one file, glob, checksums file or name@sha256:<hex> digest")
	}
	var root *os.Root
	if opts.Root != "" {
		r, err := os.OpenRoot(opts.Root)
		if err != nil {
			return nil, fail.Configf("opening workspace %s: %w", opts.Root, err)
		}
		defer r.Close()
		root = r
	}
	var out []Subject
	for _, d := range spec.Digests {
		s, err := parseDigest(d)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	for _, f := range spec.ChecksumsFiles {
		subs, err := readChecksums(root, f)
		if err != nil {
			return nil, err
		}
		out = append(out, subs...)
	}
	var files []string
	for _, p := range spec.Paths {
		m, err := expand(p)
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	digested, err := digestFiles(ctx, root, files, opts.Workers)
	if err != nil {
		return nil, err
	}
	out = append(out, digested...)
	return dedupe(out)
}

func parseDigest(d string) (Subject, error) {
	at := strings.LastIndex(d, "@")
	if at <= 0 {
		return Subject{}, fail.Configf("subject digest %q: want name@sha256:<64 hex digits>", d)
	}
	name, dig := d[:at], d[at+1:]
	alg, hexv, ok := strings.Cut(dig, ":")
	hexv = strings.ToLower(hexv)
	if !ok || alg != "sha256" || !hexRE.MatchString(hexv) {
		return Subject{}, fail.Configf("subject digest %q: want name@sha256:<64 hex digits>", d)
	}
	return Subject{Name: name, Digest: map[string]string{"sha256": hexv}}, nil
}

func open(root *os.Root, path string) (*os.File, error) {
	if root == nil {
		return os.Open(path)
	}
	rel := path
	if filepath.IsAbs(path) {
		r, err := filepath.Rel(root.Name(), path)
		if err != nil {
			return nil, err
		}
		rel = r
	}
	return root.Open(rel)
}

func readChecksums(root *os.Root, path string) ([]Subject, error) {
	f, err := open(root, path)
	if err != nil {
		return nil, fail.Configf("reading checksums file: %w", err)
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
		name = strings.TrimLeft(strings.TrimSpace(name), "*")
		hexv = strings.ToLower(hexv)
		if !ok || name == "" || !hexRE.MatchString(hexv) {
			return nil, fail.Configf("checksums file %s line %d: want \"<64 hex digits>  <name>\" as written by sha256sum", path, line)
		}
		out = append(out, Subject{Name: name, Digest: map[string]string{"sha256": hexv}})
	}
	if err := sc.Err(); err != nil {
		return nil, fail.Configf("reading checksums file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fail.Configf("checksums file %s lists no artifacts", path)
	}
	return out, nil
}

// expand resolves a path or glob into regular files.
func expand(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[") {
		st, err := os.Stat(pattern)
		if err != nil {
			return nil, fail.Configf("subject %s: %w", pattern, fail.PathCause(err))
		}
		if st.IsDir() {
			return nil, fail.Configf("subject %s is a directory: name files or a glob such as %s/*", pattern, strings.TrimSuffix(pattern, "/"))
		}
		return []string{pattern}, nil
	}
	var matches []string
	if strings.Contains(pattern, "**") {
		base := pattern[:strings.Index(pattern, "**")]
		base = strings.TrimSuffix(base, "/")
		if base == "" {
			base = "."
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && matchDoubleStar(pattern, p) {
				matches = append(matches, p)
			}
			return nil
		})
		if err != nil {
			return nil, fail.Configf("subject pattern %s: %w", pattern, fail.PathCause(err))
		}
	} else {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fail.Configf("subject pattern %s: %w", pattern, err)
		}
		for _, p := range m {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				matches = append(matches, p)
			}
		}
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

// matchDoubleStar matches p against a pattern where "**" spans directories.
func matchDoubleStar(pattern, p string) bool {
	pp := strings.Split(filepath.ToSlash(pattern), "/")
	ps := strings.Split(filepath.ToSlash(p), "/")
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(pp) {
			return j == len(ps)
		}
		if pp[i] == "**" {
			for k := j; k <= len(ps); k++ {
				if match(i+1, k) {
					return true
				}
			}
			return false
		}
		if j == len(ps) {
			return false
		}
		ok, _ := filepath.Match(pp[i], ps[j])
		return ok && match(i+1, j+1)
	}
	return match(0, 0)
}

func digestFiles(ctx context.Context, root *os.Root, files []string, workers int) ([]Subject, error) {
	if len(files) == 0 {
		return nil, nil
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	out := make([]Subject, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers && w < len(files); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for i := range next {
				sum, err := File(ctx, root, files[i], buf)
				if err != nil {
					errs[i] = err
					continue
				}
				out[i] = Subject{Name: filepath.Base(files[i]), Digest: map[string]string{"sha256": sum}, Path: files[i]}
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// File streams one file through SHA-256 and returns the hex digest. buf may be
// nil. With a non-nil root the file must lie inside it.
func File(ctx context.Context, root *os.Root, path string, buf []byte) (string, error) {
	f, err := open(root, path)
	if err != nil {
		if root != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fail.Configf("subject %s: %w (files must be inside the workspace %s)", path, fail.PathCause(err), root.Name())
		}
		return "", fail.Configf("subject %s: %w", path, fail.PathCause(err))
	}
	defer f.Close()
	if buf == nil {
		pb := bufPool.Get().(*[]byte)
		defer bufPool.Put(pb)
		buf = *pb
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, bounded.ContextReader(ctx, f), buf); err != nil {
		return "", fmt.Errorf("digesting %s: %w", path, err)
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
			if prev.SHA256() != s.SHA256() {
				return nil, fail.Configf("subject %s is named twice with different digests (sha256 %s and %s): give the artifacts distinct names", s.Name, prev.SHA256(), s.SHA256())
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
