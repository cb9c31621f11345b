package githubapi_test

import (
	"testing"

	"github.com/paved-dev/paved/shared/githubapi"
)

func TestResolve(t *testing.T) {
	job := githubapi.Endpoints{ServerURL: "https://ghes.example", APIURL: "https://ghes.example/api/v3", Token: "job-token"}
	for _, tc := range []struct {
		name    string
		set, ci githubapi.Endpoints
		want    githubapi.Endpoints
	}{
		{"outside CI: the public service", githubapi.Endpoints{}, githubapi.Endpoints{},
			githubapi.Endpoints{ServerURL: "https://github.com", APIURL: "https://api.github.com"}},
		{"the job's instance and token", githubapi.Endpoints{}, job, job},
		{"explicit token and API URL win", githubapi.Endpoints{APIURL: "https://proxy.example/", Token: "mine"}, job,
			githubapi.Endpoints{ServerURL: "https://ghes.example", APIURL: "https://proxy.example", Token: "mine"}},
		{"another server: its API, not the job's", githubapi.Endpoints{ServerURL: "https://github.com"}, job,
			githubapi.Endpoints{ServerURL: "https://github.com", APIURL: "https://api.github.com", Token: "job-token"}},
		{"the job's server named again", githubapi.Endpoints{ServerURL: "https://ghes.example/"}, job, job},
		{"GHE.com subdomain", githubapi.Endpoints{ServerURL: "https://acme.ghe.com"}, githubapi.Endpoints{},
			githubapi.Endpoints{ServerURL: "https://acme.ghe.com", APIURL: "https://api.acme.ghe.com"}},
		{"job without an API URL", githubapi.Endpoints{}, githubapi.Endpoints{ServerURL: "https://ghes.example"},
			githubapi.Endpoints{ServerURL: "https://ghes.example", APIURL: "https://ghes.example/api/v3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := githubapi.Resolve(tc.set, tc.ci); got != tc.want {
				t.Fatalf("Resolve(%+v, %+v) = %+v, want %+v", tc.set, tc.ci, got, tc.want)
			}
		})
	}
}

func TestAPIFromServer(t *testing.T) {
	for server, want := range map[string]string{
		"https://github.com":    "https://api.github.com",
		"https://GitHub.com/":   "https://api.github.com",
		"https://acme.ghe.com":  "https://api.acme.ghe.com",
		"https://ghes.example/": "https://ghes.example/api/v3",
		"http://127.0.0.1:8080": "http://127.0.0.1:8080/api/v3",
		"not a url":             "https://api.github.com",
	} {
		if got := githubapi.APIFromServer(server); got != want {
			t.Errorf("APIFromServer(%q) = %q, want %q", server, got, want)
		}
	}
}
