package retry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/retry"
)

func noSleep(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }

var slept []time.Duration

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		fault    func(w http.ResponseWriter)
		wantCode int
		wantErr  string
		wantHits int32
	}{
		{"5xx then success", 2, func(w http.ResponseWriter) { w.WriteHeader(503) }, 200, "", 3},
		{"429 with Retry-After", 1, func(w http.ResponseWriter) { w.Header().Set("Retry-After", "2"); w.WriteHeader(429) }, 200, "", 2},
		{"dropped connection then success", 1, func(w http.ResponseWriter) {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}, 200, "", 2},
		{"5xx forever", 100, func(w http.ResponseWriter) { w.WriteHeader(500) }, 500, "", 4},
		{"drops forever", 100, func(w http.ResponseWriter) {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}, 0, "gave up after 4 tries", 4},
		{"4xx is final", 100, func(w http.ResponseWriter) { w.WriteHeader(400) }, 400, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if string(body) != "payload" {
					t.Errorf("try %d got body %q, want the replayed payload", hits.Load()+1, body)
				}
				if int(hits.Add(1)) <= tc.failures {
					tc.fault(w)
					return
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			slept = nil
			client := &http.Client{Transport: retry.New(retry.Options{Sleep: noSleep})}
			req, _ := http.NewRequest("POST", srv.URL+"/x?token=secret", strings.NewReader("payload"))
			resp, err := client.Do(req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				var ex *retry.ExhaustedError
				if !errors.As(err, &ex) {
					t.Fatalf("error is not an ExhaustedError: %T", err)
				}
				if strings.Contains(ex.Error(), "secret") {
					t.Fatalf("error leaks the query string: %v", ex)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.wantCode {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantCode)
				}
			}
			if hits.Load() != tc.wantHits {
				t.Fatalf("%d tries, want %d", hits.Load(), tc.wantHits)
			}
			if tc.name == "429 with Retry-After" && (len(slept) != 1 || slept[0] != 2*time.Second) {
				t.Fatalf("slept %v, want [2s] from Retry-After", slept)
			}
			if tc.name == "5xx forever" && (len(slept) != 3 || slept[2] != 2*time.Second) {
				t.Fatalf("slept %v, want exponential backoff 500ms, 1s, 2s", slept)
			}
		})
	}
}

func TestPerTryTimeout(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Transport: retry.New(retry.Options{PerTry: 100 * time.Millisecond, Sleep: noSleep})}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" || hits.Load() != 2 {
		t.Fatalf("body %q after %d tries, want ok after 2", body, hits.Load())
	}
}
