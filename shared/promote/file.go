package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/paved-dev/paved/shared/bounded"

	"github.com/paved-dev/paved/shared/fail"
)

// File is a release file whose bytes were checked against an attested digest,
// held in a private copy so that what is uploaded is exactly what was checked.
type File struct {
	*os.File
	// Digest is "sha256:HEX" of the bytes.
	Digest string
	// Size in bytes.
	Size int64
}

// Close closes and removes the private copy.
func (f *File) Close() error {
	err := f.File.Close()
	if rerr := os.Remove(f.File.Name()); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	return err
}

// FileOptions tune OpenAttested. The zero value means defaults.
type FileOptions struct {
	// TempDir holds the private copy (default os.TempDir()).
	TempDir string
	// MaxSize bounds the file (default 8 GiB).
	MaxSize int64
	// Open opens path (default: os.Open, refusing anything but a regular
	// file; a Workspace's Open confines it too).
	Open func(path string) (*os.File, error)
}

// OpenAttested copies path into a private temporary file while hashing it and
// returns that copy, rewound, when its SHA-256 is one of attested ("sha256:HEX",
// the subjects of verified attestations). A rebuilt file — any other bytes — is
// refused, so an upload reading the returned File sends the attested bytes even
// if path changes meanwhile. The caller closes the File, which removes the copy.
func OpenAttested(ctx context.Context, path string, attested []string, o FileOptions) (*File, error) {
	if len(attested) == 0 {
		return nil, fail.Verificationf("no attested digest for %s: verify its attestations first", path)
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 8 << 30
	}
	open := o.Open
	if open == nil {
		open = bounded.OpenRegular
	}
	in, err := open(path)
	if err != nil {
		return nil, fail.Configf("release file: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(o.TempDir, "paved-promote-*")
	if err != nil {
		return nil, fail.Configf("creating the private copy of %s: %w", path, err)
	}
	f := &File{File: tmp}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), bounded.ContextReader(ctx, io.LimitReader(in, o.MaxSize+1)))
	if err != nil {
		return nil, fail.Configf("reading %s: %w", path, err)
	}
	if n > o.MaxSize {
		return nil, fail.Configf("%s is larger than %d bytes", path, o.MaxSize)
	}
	f.Digest, f.Size = "sha256:"+hex.EncodeToString(h.Sum(nil)), n
	match := false
	for _, d := range attested {
		if strings.EqualFold(strings.TrimSpace(d), f.Digest) {
			match = true
		}
	}
	if !match {
		return nil, fail.Verificationf("%s has digest %s, which no verified attestation names (attested: %s): the file was rebuilt or altered after it was attested; promote the attested bytes",
			path, f.Digest, strings.Join(attested, ", "))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding the private copy: %w", err)
	}
	ok = true
	return f, nil
}
