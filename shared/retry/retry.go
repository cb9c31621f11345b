// Package retry provides an HTTP transport that retries transient failures of
// Sigstore services (connection errors, timeouts, 429 and 5xx) with bounded,
// exponential backoff.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Options configure a Transport. The zero value means defaults.
type Options struct {
	// Attempts is the total number of tries per request (default 4).
	Attempts int
	// BaseDelay is the wait before the second try; it doubles each time (default 500ms).
	BaseDelay time.Duration
	// MaxDelay caps a single wait, including one asked for by Retry-After (default 8s).
	MaxDelay time.Duration
	// PerTry bounds one try, from sending the request to reading the headers (default 30s).
	PerTry time.Duration
	// Next is the transport that sends requests (default http.DefaultTransport).
	Next http.RoundTripper
	// Sleep waits between tries; tests may replace it (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Transport is an http.RoundTripper that retries transient failures.
type Transport struct{ o Options }

var _ http.RoundTripper = (*Transport)(nil)

// Over returns a retrying transport that sends through next (nil:
// http.DefaultTransport), with o's bounds; o.Next is ignored.
func Over(next http.RoundTripper, o Options) *Transport {
	o.Next = next
	return New(o)
}

// New returns a retrying transport.
func New(o Options) *Transport {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 500 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 8 * time.Second
	}
	if o.PerTry <= 0 {
		o.PerTry = 30 * time.Second
	}
	if o.Next == nil {
		o.Next = http.DefaultTransport
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	return &Transport{o: o}
}

// Sleep waits for d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RoundTrip sends req, retrying transient failures. Request bodies are replayed
// through req.GetBody, which http.NewRequest sets for in-memory bodies.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var lastErr error
	delay := t.o.BaseDelay
	for attempt := 1; ; attempt++ {
		r := req.Clone(ctx)
		if req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		resp, err := t.try(r)
		wait := delay
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = fmt.Errorf("%s %s: %w", req.Method, redact(req), err)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			if ra := retryAfter(resp.Header.Get("Retry-After")); ra > 0 {
				wait = ra
			}
			lastErr = fmt.Errorf("%s %s: HTTP %d", req.Method, redact(req), resp.StatusCode)
			if attempt >= t.o.Attempts || (req.Body != nil && req.GetBody == nil) {
				return resp, nil // let the caller read the last answer
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		default:
			return resp, nil
		}
		if attempt >= t.o.Attempts || (req.Body != nil && req.GetBody == nil) {
			return nil, &ExhaustedError{Attempts: attempt, Last: lastErr}
		}
		if wait > t.o.MaxDelay {
			wait = t.o.MaxDelay
		}
		if err := t.o.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		delay *= 2
	}
}

// try sends one request with the per-try deadline covering the response headers.
// The body stays readable after try returns; the deadline is released when the
// body is closed.
func (t *Transport) try(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.o.PerTry)
	resp, err := t.o.Next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer within %s", t.o.PerTry)
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// ExhaustedError reports that every try failed.
type ExhaustedError struct {
	Attempts int
	Last     error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d tries: %v", e.Attempts, e.Last)
}

func (e *ExhaustedError) Unwrap() error { return e.Last }

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// redact drops query strings and credentials from the URL shown in errors.
func redact(r *http.Request) string {
	u := *r.URL
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
