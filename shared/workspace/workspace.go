// Package workspace resolves the paths a CI job names — files, globs, policy
// and bundle files — once, relative to the job's working directory, and
// confines every one of them to the workspace root through os.Root, so that a
// path, a glob or a symlink can neither leave the workspace nor name one file
// while another is opened.
package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/paved-dev/paved/shared/bounded"
	"github.com/paved-dev/paved/shared/fail"
)

// Workspace is the directory tree a job's input paths must stay in.
type Workspace struct {
	root *os.Root
	// abs is the root's absolute path, symlinks resolved; given is the same
	// before resolving symlinks; shown is the root as the front door named it.
	abs, given, shown string
	// wd is the working directory relative to the root ("." at the root;
	// ".." first when the job runs outside the workspace).
	wd string
}

// Open opens the workspace rooted at root for a job running in the working
// directory wd (absolute). An empty root confines nothing: paths are still
// resolved relative to wd, through the filesystem root.
func Open(root, wd string) (*Workspace, error) {
	shown := root
	if root == "" {
		root = string(filepath.Separator)
	}
	given, err := filepath.Abs(root)
	abs := given
	if err == nil {
		abs, err = filepath.EvalSymlinks(given)
	}
	if err != nil {
		return nil, fail.Configf("workspace %s: %w", root, fail.PathCause(err))
	}
	if real, err := filepath.EvalSymlinks(wd); err == nil {
		wd = real
	}
	rel, err := filepath.Rel(abs, wd)
	if err != nil {
		return nil, fail.Configf("working directory %s: %w", wd, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fail.Configf("opening workspace %s: %w", root, fail.PathCause(err))
	}
	return &Workspace{root: r, abs: abs, given: given, shown: shown, wd: filepath.ToSlash(rel)}, nil
}

// Current opens the workspace root for the process's working directory.
func Current(root string) (*Workspace, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fail.Configf("reading the working directory: %w", err)
	}
	return Open(root, wd)
}

// Close releases the root.
func (w *Workspace) Close() error { return w.root.Close() }

// Confined reports whether the workspace limits paths (a CI front door set it).
func (w *Workspace) Confined() bool { return w.shown != "" }

// OutsideError refuses a path that leaves the workspace. Its message is the
// same whether or not the path exists, so it reveals nothing outside.
type OutsideError struct {
	Path, Root string
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("%s is outside the workspace %s: name a path inside it, relative to the working directory", e.Path, e.Root)
}

// NotRegularError refuses a FIFO, device, socket or directory where a file is
// read: opening one could block the job or read without end.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	kind := "not a regular file"
	switch {
	case e.Mode.IsDir():
		kind = "a directory"
	case e.Mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case e.Mode&fs.ModeDevice != 0:
		kind = "a device"
	case e.Mode&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Sprintf("%s is %s, not a regular file: name a file", e.Path, kind)
}

func (w *Workspace) outside(p string) error {
	root := w.shown
	if root == "" {
		root = w.abs
	}
	return fail.As(fail.Config, &OutsideError{Path: p, Root: root})
}

// Rel resolves p (absolute, or relative to the working directory) to a path
// relative to the workspace root, lexically; it refuses paths that leave it.
// Symlinks are confined later, when the path is opened through the root.
func (w *Workspace) Rel(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return "", fail.Configf("empty or invalid path %q", p)
	}
	var rel string
	if filepath.IsAbs(p) {
		// An absolute path may name the workspace as the front door does,
		// before its symlinks are resolved.
		r, err := filepath.Rel(w.abs, filepath.Clean(p))
		if g, gerr := filepath.Rel(w.given, filepath.Clean(p)); gerr == nil && (err != nil || escapes(r)) && !escapes(g) {
			r, err = g, nil
		}
		if err != nil {
			return "", w.outside(p)
		}
		rel = filepath.ToSlash(r)
	} else {
		rel = path.Join(w.wd, filepath.ToSlash(p))
	}
	if escapes(rel) {
		return "", w.outside(p)
	}
	return rel, nil
}

func escapes(rel string) bool {
	rel = filepath.ToSlash(rel)
	return rel == ".." || strings.HasPrefix(rel, "../")
}

// Within reports whether the path p is dir or lies below it, lexically: both
// are taken as given (resolve symlinks first where they matter). It is the one
// "is this path inside that directory" test of the project.
func Within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && !escapes(rel)
}

// Confine refuses a path that leaves the workspace, with an *OutsideError:
// lexically, then with symlinks resolved when the path exists. A path that
// does not exist yet (an output to create) passes on the lexical check.
func (w *Workspace) Confine(p string) error {
	if _, err := w.Rel(p); err != nil {
		return err
	}
	var out *OutsideError
	if _, err := w.Stat(p); errors.As(err, &out) {
		return err
	}
	return nil
}

// Display is how a root-relative path reads from the working directory.
func (w *Workspace) Display(rel string) string {
	r, err := filepath.Rel(filepath.FromSlash(w.wd), filepath.FromSlash(rel))
	if err != nil {
		return rel
	}
	return r
}

// Abs is the absolute path of a root-relative path, for tools that need one
// (the path itself is not confined: open files through the Workspace).
func (w *Workspace) Abs(rel string) string { return filepath.Join(w.abs, filepath.FromSlash(rel)) }

// classify turns the root's errors into the workspace's: an escape through a
// symlink reads exactly like a path outside.
func (w *Workspace) classify(p string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "path escapes from parent") || errors.Is(err, syscall.EXDEV) {
		return w.outside(p)
	}
	return fail.Configf("%s: %w", p, fail.PathCause(err))
}

// Stat returns the file information of p, symlinks followed inside the root.
func (w *Workspace) Stat(p string) (fs.FileInfo, error) {
	rel, err := w.Rel(p)
	if err != nil {
		return nil, err
	}
	st, err := w.root.Stat(rel)
	return st, w.classify(p, err)
}

// Open opens the regular file p for reading. It never blocks on a FIFO or a
// device: those are refused, checked before and after a non-blocking open.
func (w *Workspace) Open(p string) (*os.File, error) {
	rel, err := w.Rel(p)
	if err != nil {
		return nil, err
	}
	return w.openRel(p, rel)
}

func (w *Workspace) openRel(p, rel string) (*os.File, error) {
	st, err := w.root.Stat(rel)
	if err != nil {
		return nil, w.classify(p, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fail.As(fail.Config, &NotRegularError{Path: p, Mode: st.Mode()})
	}
	f, err := w.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, w.classify(p, err)
	}
	// The file may have been swapped for a FIFO between Stat and OpenFile.
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, w.classify(p, err)
		}
		return nil, fail.As(fail.Config, &NotRegularError{Path: p, Mode: st.Mode()})
	}
	return f, nil
}

// ReadDir lists the directory p.
func (w *Workspace) ReadDir(p string) ([]fs.DirEntry, error) {
	rel, err := w.Rel(p)
	if err != nil {
		return nil, err
	}
	es, err := fs.ReadDir(w.root.FS(), rel)
	return es, w.classify(p, err)
}

// ReadFile reads the regular file p, failing when it is larger than limit.
func (w *Workspace) ReadFile(p string, limit int64) ([]byte, error) {
	f, err := w.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := bounded.Read(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return data, nil
}

// Entry is one regular file found inside the workspace.
type Entry struct {
	// Path is relative to the working directory, as the user would name it.
	Path string
	// Rel is relative to the workspace root.
	Rel string
}

// OpenEntry opens a file found by Glob or Files.
func (w *Workspace) OpenEntry(e Entry) (*os.File, error) { return w.openRel(e.Path, e.Rel) }

// IsPattern reports whether p holds glob metacharacters.
func IsPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

// Glob returns the regular files matching pattern (path/filepath.Match syntax
// plus "**" for any number of directories), relative to the working
// directory. The part of the pattern before its first metacharacter must lie
// inside the workspace: it is checked before anything is read. Symlinks are
// followed only inside the workspace; FIFOs, devices and symlinks that leave
// are not matched.
func (w *Workspace) Glob(pattern string) ([]Entry, error) {
	parts := strings.Split(filepath.ToSlash(pattern), "/")
	i := 0
	for i < len(parts) && !IsPattern(parts[i]) {
		i++
	}
	base := strings.Join(parts[:i], "/")
	if base == "" && filepath.IsAbs(pattern) {
		base = "/"
	}
	if base == "" {
		base = "."
	}
	relBase, err := w.Rel(filepath.FromSlash(base))
	if err != nil {
		return nil, err
	}
	rest := parts[i:]
	if len(rest) == 0 {
		return nil, fail.Configf("pattern %s has no wildcard", pattern)
	}
	full := append(strings.Split(relBase, "/"), rest...)
	if relBase == "." {
		full = rest
	}
	deep := false
	for _, r := range rest {
		if r == "**" {
			deep = true
		} else if strings.Contains(r, "**") {
			return nil, fail.Configf("pattern %s: ** must be a whole path element, as in dist/**/*.tar.gz", pattern)
		}
	}
	maxDepth := len(rest)
	fsys := w.root.FS()
	var out []Entry
	visited := 0
	err = fs.WalkDir(fsys, relBase, func(p string, d fs.DirEntry, err error) error {
		if visited++; visited > MaxWalk {
			return errTooMany
		}
		if err != nil {
			if p == relBase {
				return err
			}
			return nil // an unreadable directory inside the workspace matches nothing
		}
		depth := 0
		if p != relBase {
			depth = strings.Count(strings.TrimPrefix(p, relBase+"/"), "/") + 1
			if relBase == "." {
				depth = strings.Count(p, "/") + 1
			}
		}
		if d.IsDir() {
			if !deep && depth >= maxDepth {
				return fs.SkipDir
			}
			return nil
		}
		if !match(full, strings.Split(p, "/")) {
			return nil
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := w.root.Stat(p)
			if err != nil {
				return nil
			}
			mode = st.Mode()
		}
		if mode.IsRegular() {
			out = append(out, Entry{Path: w.Display(p), Rel: p})
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		return nil, fail.Configf("pattern %s looks at more than %d files and directories: name the directory that holds the artifacts", pattern, MaxWalk)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, w.classify(pattern, err)
	}
	return out, nil
}

// MaxWalk bounds the entries one glob looks at.
const MaxWalk = 1_000_000

var errTooMany = errors.New("too many entries")

// match matches path elements against pattern elements where "**" spans any
// number of them; memoised, so that many "**" cannot make it exponential.
func match(pp, ps []string) bool {
	memo := make(map[[2]int]bool)
	var m func(i, j int) bool
	m = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(pp):
			ok = j == len(ps)
		case pp[i] == "**":
			for k := j; k <= len(ps) && !ok; k++ {
				ok = m(i+1, k)
			}
		case j < len(ps):
			ok, _ = path.Match(pp[i], ps[j])
			ok = ok && m(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return m(0, 0)
}
