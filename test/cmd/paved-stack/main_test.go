package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/test/oidc"
)

// TestMain lets the test binary act as the command, so the tests below can
// run it as a real process.
func TestMain(m *testing.M) {
	if os.Getenv("PAVED_STACK_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:80/api/v1/timestamp", "http://127.0.0.1:80/api/v1/timestamp"},
		{"http://127.0.0.1:80/github/token?api-version=2.0", "http://127.0.0.1:80/github/token?api-version=2.0"},
		{"/tmp/a b", "'/tmp/a b'"},
		{"it's", `'it'\''s'`},
		{"a&b", "'a&b'"},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    config
	}{
		{"defaults", []string{"--dir", "d"}, false, config{dir: "d", githubRepo: "paved-dev/demo", gitlabProject: "paved-dev/demo"}},
		{"all", []string{"--dir=d", "--bin-dir=b", "--github-repo=o/r", "--gitlab-project=g/p", "--until-stdin-eof"}, false,
			config{dir: "d", binDir: "b", githubRepo: "o/r", gitlabProject: "g/p", untilStdinEOF: true}},
		{"no dir", nil, true, config{}},
		{"extra args", []string{"--dir", "d", "x"}, true, config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCommand runs the command as a process: it must print "ready", write a
// stack.env a shell can source, and stop everything when stdin closes.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "--dir", dir, "--until-stdin-eof", "--github-repo", "octo/demo")
	cmd.Env = append(os.Environ(), "PAVED_STACK_RUN_MAIN=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("first stdout line %q (%v), want ready", line, err)
	}

	info, err := os.Stat(filepath.Join(dir, "stack.env"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("stack.env mode %v, want 0600", info.Mode().Perm())
	}
	// Source it the way scripts will, and read the values back.
	sh := exec.CommandContext(ctx, "sh", "-c", "set -a; . ./stack.env; env")
	sh.Dir = dir
	sh.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("sourcing stack.env: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		env[k] = v
	}
	for _, k := range []string{
		"PAVED_STACK_FULCIO_URL", "PAVED_STACK_TSA_URL", "PAVED_STACK_REKOR_URL", "PAVED_STACK_GITHUB_ISSUER",
		"PAVED_STACK_GITLAB_ISSUER", "PAVED_TRUSTED_ROOT", "PAVED_SIGNING_CONFIG", "PAVED_STACK_TRUSTED_ROOT_JSONL",
		"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "PAVED_STACK_GITLAB_TOKEN_FILE",
	} {
		if env[k] == "" {
			t.Errorf("%s is missing from stack.env", k)
		}
	}
	if !strings.HasSuffix(env["PAVED_STACK_TSA_URL"], "/api/v1/timestamp") {
		t.Errorf("PAVED_STACK_TSA_URL = %q", env["PAVED_STACK_TSA_URL"])
	}
	for _, k := range []string{"PAVED_TRUSTED_ROOT", "PAVED_SIGNING_CONFIG", "PAVED_STACK_TRUSTED_ROOT_JSONL"} {
		if _, err := os.Stat(env[k]); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	tokenInfo, err := os.Stat(env["PAVED_STACK_GITLAB_TOKEN_FILE"])
	if err != nil || tokenInfo.Mode().Perm() != 0o600 {
		t.Errorf("GitLab token file: %v, mode %v; want 0600", err, tokenInfo.Mode().Perm())
	}
	idToken, err := oidc.FetchGitHubToken(ctx, nil, env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"], "sigstore")
	if err != nil {
		t.Errorf("GitHub token request with stack.env credentials: %v", err)
	} else if idToken == "" {
		t.Error("empty GitHub ID token")
	}

	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("paved-stack exited with %v after stdin closed", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stack.env")); err != nil {
		t.Errorf("--dir content was removed: %v", err)
	}
	// Every server runs in dir and most name it on their command line.
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		if strings.HasPrefix(cwd, dir) || strings.Contains(string(cmdline), dir) {
			t.Errorf("process %s (%q) outlived paved-stack", p, strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}
