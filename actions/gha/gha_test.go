package gha_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/actions/gha"
	"github.com/paved-dev/paved/shared/command"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// parseOutputs reads GITHUB_OUTPUT the way the runner does: name<<DELIM ... DELIM.
func parseOutputs(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			t.Fatalf("line %q is not a heredoc output", lines[i])
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func TestOutputsUseRandomDelimiters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	d := gha.New(gha.Options{Getenv: env(map[string]string{"GITHUB_OUTPUT": path}), Stdout: io.Discard, Stderr: io.Discard})
	hostile := "line1\nEOF\nghadelimiter_\ninjected<<EOF\nx"
	if err := d.WriteOutputs(nil, map[string]string{"subjects": hostile, "bundle-path": "a.sigstore.json"}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteOutputs(nil, map[string]string{"second": "v"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	got := parseOutputs(t, string(raw))
	if got["subjects"] != hostile || got["bundle-path"] != "a.sigstore.json" || got["second"] != "v" || len(got) != 3 {
		t.Fatalf("outputs parsed back as %q", got)
	}
	first := strings.SplitN(string(raw), "\n", 2)[0]
	if !strings.HasPrefix(first, "bundle-path<<ghadelimiter_") || len(first) < len("bundle-path<<ghadelimiter_")+32 {
		t.Fatalf("delimiter is not random: %q", first)
	}
}

func TestInputsMaskAndToken(t *testing.T) {
	var srvHits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srvHits++
		if r.Header.Get("Authorization") != "Bearer req-token" || r.URL.Query().Get("audience") != "sigstore" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"value":"eyJhbGciOi.eyJzdWIi.sig"}`)
	}))
	defer srv.Close()
	var stdout bytes.Buffer
	d := gha.New(gha.Options{Getenv: env(map[string]string{
		"INPUT_SUBJECT-PATH":             "a\nb",
		"INPUT_PREDICATE_TYPE":           "https://example.com/p",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-token",
	}), Stdout: &stdout, Stderr: io.Discard})
	attest, _ := command.Find("attest")
	if v, ok := d.Input(attest, command.Input{Name: "subject-path"}); !ok || v != "a\nb" {
		t.Fatalf("subject-path = %q", v)
	}
	if v, ok := d.Input(attest, command.Input{Name: "predicate-type"}); !ok || v != "https://example.com/p" {
		t.Fatalf("predicate-type from INPUT_PREDICATE_TYPE = %q", v)
	}
	src := d.Identity()
	if src == nil {
		t.Fatal("no identity source although the job may request a token")
	}
	tok, err := src.Token(context.Background(), "sigstore")
	if err != nil || tok != "eyJhbGciOi.eyJzdWIi.sig" {
		t.Fatalf("token %q, %v", tok, err)
	}
	if !strings.Contains(stdout.String(), "::add-mask::eyJhbGciOi.eyJzdWIi.sig\n") {
		t.Fatalf("token not masked before use: %q", stdout.String())
	}
	if srvHits != 1 {
		t.Fatalf("%d token requests", srvHits)
	}
	noPerm := gha.New(gha.Options{Getenv: env(nil), Stdout: io.Discard, Stderr: io.Discard})
	if noPerm.Identity() != nil || !strings.Contains(noPerm.TokenFix(), "id-token: write") {
		t.Fatal("without the request variables the door must say to add id-token: write")
	}
}

func TestErrorAnnotation(t *testing.T) {
	var stdout bytes.Buffer
	d := gha.New(gha.Options{Getenv: env(nil), Stdout: &stdout, Stderr: io.Discard})
	attest, _ := command.Find("attest")
	d.ReportError(attest, errors.New("subject x: no such file\nsecond line"))
	if got := stdout.String(); got != "::error title=paved attest::subject x: no such file%0Asecond line\n" {
		t.Fatalf("annotation %q", got)
	}
}

func TestAnnotations(t *testing.T) {
	var stdout bytes.Buffer
	d := gha.New(gha.Options{Getenv: env(nil), Stdout: &stdout, Stderr: io.Discard})
	d.Annotate(command.Annotation{Level: command.LevelError, Title: "paved policy: malicious pkg:npm/x@1", Message: "deny: MAL-1"})
	d.Annotate(command.Annotation{Level: command.LevelWarning, Title: "t", Message: "w"})
	want := "::error title=paved policy%3A malicious pkg%3Anpm/x@1::deny: MAL-1\n::warning title=t::w\n" // properties escape ":" as GitHub documents
	if stdout.String() != want {
		t.Fatalf("got %q, want %q", stdout.String(), want)
	}
}

// TestRegistryKeychain: ghcr.io with GITHUB_TOKEN as GITHUB_ACTOR, when the
// workflow put the token in the step's environment.
func TestRegistryKeychain(t *testing.T) {
	d := gha.New(gha.Options{Getenv: env(map[string]string{"GITHUB_ACTOR": "octocat", "GITHUB_TOKEN": "ghs_x"}), Stdout: io.Discard, Stderr: io.Discard})
	kc, ok := d.RegistryKeychain().(command.HostKeychain)
	if !ok || kc.Host != "ghcr.io" || kc.Username != "octocat" || kc.Password != "ghs_x" {
		t.Fatalf("keychain %+v", d.RegistryKeychain())
	}
}

// TestReleaseTag reads the release's tag from a release event's payload only.
func TestReleaseTag(t *testing.T) {
	dir := t.TempDir()
	payload := filepath.Join(dir, "event.json")
	os.WriteFile(payload, []byte(`{"action":"published","release":{"id":1,"tag_name":"v1.2.3","upload_url":"https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}"}}`), 0o644)
	for _, tc := range []struct{ event, path, want string }{
		{"release", payload, "v1.2.3"},
		{"push", payload, ""},
		{"release", filepath.Join(dir, "missing.json"), ""},
		{"release", "", ""},
	} {
		d := gha.New(gha.Options{Getenv: env(map[string]string{"GITHUB_EVENT_NAME": tc.event, "GITHUB_EVENT_PATH": tc.path, "GITHUB_WORKFLOW": "release"}), Stdout: io.Discard, Stderr: io.Discard})
		if got := d.ReleaseTag(); got != tc.want || d.Workflow() != "release" {
			t.Errorf("%s %s: tag %q, want %q", tc.event, tc.path, got, tc.want)
		}
	}
}
