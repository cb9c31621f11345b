// Package atomicfile writes files so that a reader sees the old file or the
// whole new one, never half of it, and a failed write leaves nothing behind.
package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what fill writes, through a temporary
// file in the same directory that is renamed over path only when fill, the
// close and the chmod to perm all succeed; otherwise the temporary file is
// removed and path is left as it was. It returns the number of bytes written.
// The directory must exist.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".paved-*.tmp")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	cw := &counter{w: f}
	ferr := fill(cw)
	if err := errors.Join(ferr, f.Chmod(perm), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	return cw.n, nil
}

// WriteFile is Write for bytes already in memory.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	_, err := Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
