// Package e2e runs the paved binary end to end against a real local Sigstore
// stack (Fulcio, timestamp authority, Rekor v2 and an OIDC issuer on loopback),
// and checks its bundles with independent verifiers: cosign and gh.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/test/stack"
)

var (
	stk   *stack.Stack
	paved string // the paved binary under test
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "paved-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	paved = filepath.Join(dir, "paved")
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", paved, ".")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building paved: %v\n%s", err, out)
		return 1
	}
	// The stack lives as long as ctx does: cancelling it stops the servers, so
	// it must not be a start-up deadline (Start bounds its own waits).
	stk, err = stack.Start(ctx, stack.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the local Sigstore stack: %v\n", err)
		return 1
	}
	defer stk.Close()
	return m.Run()
}

// result is one finished process.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// execIn runs a program with exactly the given environment (plus PATH and HOME),
// bounded by a timeout.
func execIn(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("running %s: %v", name, err)
		}
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// tool finds an independent verifier built by tools/install.sh.
func tool(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("PAVED_TOOLS_BIN"), filepath.Join(os.Getenv("HOME"), ".cache", "paved-tools", "bin")} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: run tools/install.sh (make test does)", name)
	return ""
}

var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+`)

// assertNoSecrets fails if any secret, or anything shaped like a JWT, appears in
// the texts or in any file under the directories. GitHub's ::add-mask:: command
// lines are the one place a token must appear: they tell the runner what to hide.
func assertNoSecrets(t *testing.T, secrets []string, texts []string, dirs ...string) {
	t.Helper()
	check := func(where, s string) {
		var kept []string
		for _, line := range strings.Split(s, "\n") {
			if !strings.HasPrefix(line, "::add-mask::") {
				kept = append(kept, line)
			}
		}
		s = strings.Join(kept, "\n")
		for _, sec := range secrets {
			if sec != "" && strings.Contains(s, sec) {
				t.Errorf("a secret appears in %s", where)
			}
		}
		if m := jwtRE.FindString(s); m != "" {
			t.Errorf("a JWT appears in %s", where)
		}
	}
	for i, s := range texts {
		check(fmt.Sprintf("output %d", i), s)
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil {
				check(p, string(b))
			}
			return nil
		})
	}
}
