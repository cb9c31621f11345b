// Package bounded reads files and streams with a size limit, so that input
// from CI users and network services can never exhaust memory.
package bounded

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"unicode/utf8"
)

// ErrTooLarge is wrapped by errors for input over its limit.
var ErrTooLarge = fmt.Errorf("input too large")

// Read reads all of r, failing when it holds more than limit bytes.
func Read(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return data, nil
}

// ReadFile reads a regular file, failing when it is larger than limit bytes.
// A FIFO, device or socket is refused, never opened blocking: it could hang
// the job or never end.
func ReadFile(path string, limit int64) ([]byte, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: name a file", path)
	}
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := Read(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// OpenRegular opens a regular file for reading without ever blocking on a
// FIFO or device: it opens non-blocking and refuses what is not a regular
// file once open (so a swap after a Stat cannot slip one in).
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file: name a file", path)
	}
	return f, nil
}

// Prefix returns the longest prefix of s of at most n bytes that ends on a
// rune boundary, so that cutting text for a log, an error or a JSON output
// never leaves invalid UTF-8.
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ContextReader returns a reader that stops with ctx's error once ctx is done,
// so that a long copy (a large artifact, a slow pipe) ends when the job is
// cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx: ctx, r: r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
