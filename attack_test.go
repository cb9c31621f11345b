package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/shared/logtext/logtexttest"
)

// runAttack runs paved verify in a fresh workspace holding one artifact
// called name, with the platform environment env, and returns stdout, stderr
// and the step summary / dotenv files the run wrote.
func runAttack(t *testing.T, name string, env map[string]string) (stdout, stderr string, files map[string]string) {
	t.Helper()
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, name), []byte("artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile("testdata/public-bundles/reusable-workflow-attestation.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile("testdata/trust/public-good-trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "b.sigstore.json"), bundle, 0o644)
	os.WriteFile(filepath.Join(ws, "root.json"), root, 0o644)
	out := t.TempDir()
	vars := map[string]string{}
	for k, v := range env {
		vars[k] = strings.NewReplacer("$WS", ws, "$OUT", out).Replace(v)
	}
	t.Chdir(ws)
	var o, e bytes.Buffer
	code := run(context.Background(), []string{"verify", name, "--repo", "o/r", "--bundle", "b.sigstore.json", "--trusted-root", "root.json"},
		func(k string) string { return vars[k] }, &o, &e)
	if code != 1 {
		t.Fatalf("exit code %d, want 1 (artifact refused)\nstdout:\n%s\nstderr:\n%s", code, o.String(), e.String())
	}
	files = map[string]string{}
	entries, _ := os.ReadDir(out)
	for _, de := range entries {
		data, _ := os.ReadFile(filepath.Join(out, de.Name()))
		files[de.Name()] = string(data)
	}
	return o.String(), e.String(), files
}

var githubEnv = map[string]string{
	"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "$WS", "GITHUB_STEP_SUMMARY": "$OUT/summary.md", "GITHUB_OUTPUT": "$OUT/output",
}

var gitlabEnv = map[string]string{
	"GITLAB_CI": "true", "CI_PROJECT_DIR": "$WS", "CI_SERVER_URL": "https://gitlab.example", "CI_JOB_ID": "1", "CI_PIPELINE_ID": "1", "PAVED_DOTENV": "$OUT/paved.env",
}

func TestAttackFileNameInjectsWorkflowCommand(t *testing.T) {
	const name = "x\n::add-mask::paved"
	for door, env := range map[string]map[string]string{"github": githubEnv, "local": {}} {
		t.Run(door, func(t *testing.T) {
			stdout, stderr, files := runAttack(t, name, env)
			for _, l := range logtexttest.CommandLines(stdout + stderr) {
				// Paved's own annotation; go-githubactions escapes its data.
				if !strings.HasPrefix(l, "::error title=paved verify::") {
					t.Errorf("a workflow command reached the log: %q", l)
				}
			}
			if !strings.Contains(stdout+stderr+files["summary.md"], `add-mask::paved`) {
				t.Fatalf("the artifact name is not reported at all; the test checks nothing:\n%s%s", stderr, files["summary.md"])
			}
			for _, l := range strings.Split(files["summary.md"], "\n") {
				if strings.Contains(l, "add-mask") && !strings.HasPrefix(l, "| ") {
					t.Errorf("the name broke out of its summary table row: %q", l)
				}
			}
		})
	}
}

var sectionMarker = regexp.MustCompile(`section_(start|end):\d+:[A-Za-z0-9_.-]+\r\x1b\[0K`)

func TestAttackANSIInGitLabLog(t *testing.T) {
	const name = "a\x1b[2J\x1b[31mred\rfake: verified"
	stdout, stderr, files := runAttack(t, name, gitlabEnv)
	log := sectionMarker.ReplaceAllString(stdout+stderr, "")
	log = strings.ReplaceAll(log, "\x1b[0K", "") // around Paved's own markers
	if !strings.Contains(log, "fake: verified") {
		t.Fatalf("the artifact name is not reported; the test checks nothing:\n%s", log)
	}
	if strings.ContainsAny(log, "\x1b\r") {
		t.Errorf("ESC or CR from a file name reached the GitLab log:\n%q", log)
	}
	if strings.ContainsAny(files["paved.env"], "\x1b\r") {
		t.Errorf("ESC or CR reached the dotenv report: %q", files["paved.env"])
	}
}

func TestAttackSectionEndInGitLabLog(t *testing.T) {
	const name = "y\x1b[0Ksection_end:1:paved_summary\r\x1b[0Kall artifacts verified"
	stdout, stderr, _ := runAttack(t, name, gitlabEnv)
	markers := sectionMarker.FindAllString(stdout+stderr, -1)
	if len(markers) != 2 || !strings.HasPrefix(markers[0], "section_start:") || !strings.HasPrefix(markers[1], "section_end:") {
		t.Errorf("want exactly Paved's section_start and section_end, got %q in:\n%q", markers, stdout+stderr)
	}
	if !strings.Contains(stdout+stderr, "all artifacts verified") {
		t.Fatalf("the artifact name is not reported; the test checks nothing")
	}
}

func TestAttackMarkdownInSummaryCell(t *testing.T) {
	const name = "x<img src=x onerror=alert(1)>|[click](https:evil)`|`"
	_, _, files := runAttack(t, name, githubEnv)
	var row string
	for _, l := range strings.Split(files["summary.md"], "\n") {
		if strings.Contains(l, "onerror") {
			row = l
		}
	}
	if row == "" {
		t.Fatalf("no summary row for the artifact:\n%s", files["summary.md"])
	}
	if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(row, -1)); n != 7 {
		t.Errorf("the row has %d cell separators, want 7 (6 columns): %s", n, row)
	}
	if !strings.HasPrefix(row, "| `` x<img") {
		t.Errorf("the name is not one code span (raw HTML and links would render): %s", row)
	}
}

// TestAttackTokenEchoedInErrorBody: the GitHub API answers 401 with the
// token echoed in its message. No door may print it (the GitHub Actions
// runner masks it after ::add-mask::, the other doors have no masking).
func TestAttackTokenEchoedInErrorBody(t *testing.T) {
	const token = "ghp_echoedTokenAttack0123456789abcdef"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message":"Bad credentials %s","errors":["token %s"]}`, r.Header.Get("Authorization"), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer api.Close()
	for door, env := range map[string]map[string]string{"github": githubEnv, "gitlab": gitlabEnv, "local": {}} {
		t.Run(door, func(t *testing.T) {
			ws, out := t.TempDir(), t.TempDir()
			os.WriteFile(filepath.Join(ws, "app.tgz"), []byte("artifact"), 0o644)
			vars := map[string]string{}
			for k, v := range env {
				vars[k] = strings.NewReplacer("$WS", ws, "$OUT", out).Replace(v)
			}
			t.Chdir(ws)
			var o, e bytes.Buffer
			code := run(context.Background(), []string{"verify", "app.tgz", "--repo", "o/r", "--bundle-from", "github", "--github-api-url", api.URL, "--github-token", token, "--trusted-root", filepath.Join(wd(t), "testdata/trust/public-good-trusted_root.json")},
				func(k string) string { return vars[k] }, &o, &e)
			if code == 0 {
				t.Fatalf("verify passed against a 401")
			}
			log := o.String() + e.String()
			if !strings.Contains(log, "Bad credentials") {
				t.Fatalf("GitHub's message is not reported; the test checks nothing:\n%s", log)
			}
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, token) && l != "::add-mask::"+token {
					t.Errorf("the token is printed: %q", l)
				}
			}
			entries, _ := os.ReadDir(out)
			for _, de := range entries {
				data, _ := os.ReadFile(filepath.Join(out, de.Name()))
				if strings.Contains(string(data), token) {
					t.Errorf("the token is in %s", de.Name())
				}
			}
		})
	}
}

var startDir, _ = os.Getwd()

func wd(t *testing.T) string { return startDir }
