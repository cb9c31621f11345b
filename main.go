// Command paved makes supply-chain security the default in CI: it attests build
// artifacts keylessly, and verifies them. It picks the front door for the CI it
// runs in (GitHub Actions, GitLab CI/CD or a plain shell) and runs one command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/paved-dev/paved/actions/gha"
	"github.com/paved-dev/paved/gitlab/glci"
	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/logtext"
)

//go:generate go run ./tools/paved-gen

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go onSignals(sigs, cancel, os.Stderr, os.Exit)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// onSignals cancels the run on the first SIGINT or SIGTERM, so that it stops
// cleanly, and ends the process with exit code 130 on the second, in case
// something does not stop (a blocked read, a slow server).
func onSignals(sigs <-chan os.Signal, cancel context.CancelFunc, stderr io.Writer, exit func(int)) {
	if _, ok := <-sigs; !ok {
		return
	}
	cancel()
	if _, ok := <-sigs; !ok {
		return
	}
	fmt.Fprintln(stderr, "paved: second signal: stopping now")
	exit(130)
}

// run is one invocation with every line Paved prints neutralised on its way
// to the log (see package logtext): only Paved's own emitters reach it raw.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	colours := logtext.Colours(getenv)
	outTTY, errTTY := logtext.IsTerminal(stdout), logtext.IsTerminal(stderr)
	out := logtext.New(stdout, logtext.Options{Terminal: outTTY, Colour: outTTY && colours})
	errw := logtext.New(stderr, logtext.Options{Terminal: errTTY, Colour: errTTY && colours})
	code := command.Main(ctx, door(getenv, out, errw), args, getenv, out, errw)
	out.Flush()
	errw.Flush()
	return code
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
