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

	"github.com/paved-dev/paved/actions/gha"
	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
)

//go:generate go run ./test/cmd/paved-gen

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return command.Main(ctx, door(getenv, stdout, stderr), args, getenv, stdout, stderr)
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
