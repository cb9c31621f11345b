package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/shared/atomicfile"
	"github.com/paved-dev/paved/shared/bounded"

	"github.com/paved-dev/paved/shared/fail"
)

// maxJSONLines bounds a JSON Lines file of bundles.
const maxJSONLines = 256 << 20

// File writes the bundle to one file, e.g. ARTIFACT.sigstore.json.
type File struct {
	// Path is the file to write.
	Path string
}

var _ Writer = (*File)(nil)

// Name implements Writer.
func (f *File) Name() string { return "file " + f.Path }

// Put implements Writer: the file is replaced atomically unless it already
// holds the same bundle.
func (f *File) Put(_ context.Context, b Bundle) (Receipt, error) {
	r := Receipt{Target: f.Name(), Locations: []string{f.Path}}
	if cur, err := bounded.ReadFile(f.Path, maxBundle); err == nil && b.SameAs(cur) {
		r.Existed = true
		return r, nil
	}
	if err := atomicfile.WriteFile(f.Path, b.JSON, 0o644); err != nil {
		return Receipt{}, fail.Configf("writing %s: %w", f.Path, err)
	}
	cur, err := bounded.ReadFile(f.Path, maxBundle)
	if err != nil || !bytes.Equal(cur, b.JSON) {
		return Receipt{}, fail.Configf("reading back %s: the file does not hold the bundle written", f.Path)
	}
	return r, nil
}

// JSONLines appends each bundle as one line of a JSON Lines file, the format
// of `gh attestation download` and of bundle lists verifiers take.
type JSONLines struct {
	// Path is the file; it is created when missing.
	Path string
}

var _ Writer = (*JSONLines)(nil)

// Name implements Writer.
func (j *JSONLines) Name() string { return "JSON Lines " + j.Path }

// Put implements Writer: a bundle already in the file is not added again, and
// the file is rewritten atomically so readers never see half a line.
func (j *JSONLines) Put(_ context.Context, b Bundle) (Receipt, error) {
	r := Receipt{Target: j.Name(), Locations: []string{j.Path}}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b.JSON); err != nil {
		return Receipt{}, fmt.Errorf("bundle is not JSON: %w", err)
	}
	lines, err := readLines(j.Path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Receipt{}, fail.Configf("reading %s: %w", j.Path, err)
	}
	for _, l := range lines {
		if b.SameAs(l) {
			r.Existed = true
			return r, nil
		}
	}
	var out bytes.Buffer
	for _, l := range lines {
		out.Write(l)
		out.WriteByte('\n')
	}
	out.Write(compact.Bytes())
	out.WriteByte('\n')
	if err := atomicfile.WriteFile(j.Path, out.Bytes(), 0o644); err != nil {
		return Receipt{}, fail.Configf("writing %s: %w", j.Path, err)
	}
	back, err := readLines(j.Path)
	if err != nil {
		return Receipt{}, fail.Configf("reading back %s: %w", j.Path, err)
	}
	for _, l := range back {
		if b.SameAs(l) {
			return r, nil
		}
	}
	return Receipt{}, fail.Configf("reading back %s: the bundle written is not in it", j.Path)
}

// Files fetches bundles from files and directories: *.json files holding one
// bundle, *.jsonl files holding one per line, and directories holding either
// (not recursively).
type Files struct {
	Paths []string
}

var _ Fetcher = (*Files)(nil)

// Fetch implements Fetcher: the bundles whose statement has the digest as a
// subject. Files that are not bundles are skipped; unreadable paths are errors.
func (f *Files) Fetch(_ context.Context, digest string) ([][]byte, error) {
	var out [][]byte
	seen := map[string]bool{}
	add := func(data []byte) {
		b, err := Parse(data)
		if err == nil && b.About(digest) && !seen[b.key] {
			seen[b.key] = true
			out = append(out, data)
		}
	}
	for _, p := range f.Paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fail.Configf("bundle path: %w", err)
		}
		files := []string{p}
		if st.IsDir() {
			files = nil
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, fail.Configf("bundle directory: %w", err)
			}
			for _, e := range entries {
				if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".jsonl")) {
					files = append(files, filepath.Join(p, n))
				}
			}
		}
		for _, file := range files {
			if strings.HasSuffix(file, ".jsonl") {
				lines, err := readLines(file)
				if err != nil {
					return nil, fail.Configf("reading %s: %w", file, err)
				}
				for _, l := range lines {
					add(l)
				}
				continue
			}
			data, err := bounded.ReadFile(file, maxBundle)
			if err != nil {
				return nil, fail.Configf("reading %s: %w", file, err)
			}
			add(bytes.TrimSpace(data))
		}
	}
	return out, nil
}

// readLines returns the non-blank lines of a JSON Lines file.
func readLines(path string) ([][]byte, error) {
	data, err := bounded.ReadFile(path, maxJSONLines)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxBundle)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			lines = append(lines, append([]byte(nil), l...))
		}
	}
	return lines, sc.Err()
}
