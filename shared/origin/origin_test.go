package origin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/paved-dev/paved/shared/origin"
)

// recorder is a server that records the headers it receives.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	w.Write([]byte("ok"))
}

var credentials = map[string]string{
	"Authorization": "Bearer s3cret", "JOB-TOKEN": "glcbt-s3cret", "PRIVATE-TOKEN": "glpat-s3cret",
	"Cookie": "session=s3cret", "X-Api-Key": "s3cret",
}

func TestCredentialsStayOnTheirOrigin(t *testing.T) {
	other := &recorder{}
	attacker := httptest.NewServer(other) // 127.0.0.1, another port: another origin
	defer attacker.Close()
	same := &recorder{}
	mux := http.NewServeMux()
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, attacker.URL+"/x", http.StatusFound) })
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/final", http.StatusFound) })
	mux.Handle("/final", same)
	api := httptest.NewServer(mux)
	defer api.Close()

	clients := map[string]*http.Client{
		"Client":        origin.Client(nil),
		"Guard only":    {Transport: origin.Guard(nil)},
		"CheckRedirect": {CheckRedirect: origin.CheckRedirect},
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			other.headers, same.headers = nil, nil
			for _, path := range []string{"/away", "/here"} {
				req, _ := http.NewRequest(http.MethodGet, api.URL+path, nil)
				for k, v := range credentials {
					req.Header.Set(k, v)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if len(other.headers) != 1 || len(same.headers) != 1 {
				t.Fatalf("redirects not followed: %d, %d", len(other.headers), len(same.headers))
			}
			for k := range credentials {
				if v := other.headers[0].Get(k); v != "" {
					t.Errorf("%s reached another origin: %q", k, v)
				}
				if v := same.headers[0].Get(k); v != credentials[k] {
					t.Errorf("%s was dropped on a same-origin redirect: %q", k, v)
				}
			}
		})
	}
}

func TestSame(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://gitlab.example/api", "https://GITLAB.example:443/x", true},
		{"https://gitlab.example/api", "http://gitlab.example/api", false},
		{"http://127.0.0.1:1/", "http://127.0.0.1:2/", false},
		{"https://gitlab.example/", "https://cdn.gitlab.example/", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := origin.Same(a, b); got != tc.want {
			t.Errorf("Same(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
