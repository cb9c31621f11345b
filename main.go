// Command paved makes supply-chain security the default in CI: it attests build
// artifacts keylessly, and verifies them. It picks the front door for the CI it
// runs in (GitHub Actions, GitLab CI/CD or a plain shell) and runs one command.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/paved-dev/paved/actions/gha"
	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/logtext"
)

//go:generate go run ./test/cmd/paved-gen

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is one invocation with every line Paved prints neutralised on its way
// to the log (see package logtext): only Paved's own emitters reach it raw.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	out := logtext.New(stdout, logtext.Options{Terminal: isTerminal(stdout)})
	errw := logtext.New(stderr, logtext.Options{Terminal: isTerminal(stderr)})
	code := command.Main(ctx, door(getenv, out, errw), args, getenv, out, errw)
	out.Flush()
	errw.Flush()
	return code
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func door(getenv func(string) string, stdout, stderr io.Writer) command.Door {
	switch {
	case gha.Detect(getenv):
		return gha.New(gha.Options{Getenv: getenv, Stdout: stdout, Stderr: stderr})
	case glci.Detect(getenv):
		return glci.New(glci.Options{Getenv: getenv, Stdout: stdout, Stderr: stderr})
	default:
		return &command.Local{Stdout: stdout, Stderr: stderr, Getenv: getenv}
	}
}
