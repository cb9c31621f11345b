// Command paved-stack runs the local Sigstore stack of package stack until
// interrupted, for driving the actions and templates by hand or from scripts.
// It writes DIR/stack.env (shell KEY=value lines naming the services, the
// trust material and the demo OIDC credentials) and prints "ready".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/paved-dev/paved/test/stack"
)

const tokenTTL = time.Hour

type config struct {
	dir, binDir, githubRepo, gitlabProject string
	untilStdinEOF, verbose, hostNetwork    bool
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "paved-stack:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.untilStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	opts := stack.Options{BinDir: cfg.binDir, Dir: cfg.dir, HostNetworkUnsafe: cfg.hostNetwork}
	if cfg.verbose {
		opts.Log = os.Stderr
	}
	s, err := stack.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "paved-stack:", err)
		return 1
	}
	defer s.Close()
	if err := writeEnv(s, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "paved-stack:", err)
		return 1
	}
	fmt.Println("ready")
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "paved-stack: stopping:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := pflag.NewFlagSet("paved-stack", pflag.ContinueOnError)
	fs.StringVar(&cfg.dir, "dir", "", "state directory; stack.env, trust material and tokens are written here (required)")
	fs.StringVar(&cfg.binDir, "bin-dir", "", "directory with fulcio, timestamp-server, rekor-server (default $"+stack.EnvToolsBin+" or ~/.cache/paved-tools/bin)")
	fs.StringVar(&cfg.githubRepo, "github-repo", "paved-dev/demo", "OWNER/REPO of the GitHub Actions run the token endpoint speaks for")
	fs.StringVar(&cfg.gitlabProject, "gitlab-project", "paved-dev/demo", "GROUP/PROJECT of the GitLab CI pipeline the minted token speaks for")
	fs.BoolVar(&cfg.untilStdinEOF, "until-stdin-eof", false, "also stop when stdin is closed")
	fs.BoolVar(&cfg.verbose, "verbose", false, "copy the servers' output to stderr")
	fs.BoolVar(&cfg.hostNetwork, "host-network-unsafe", false, "run the servers in this network namespace (no root needed; some listen on all interfaces)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.dir == "" {
		return cfg, errors.New("--dir is required")
	}
	return cfg, nil
}

// writeEnv mints the demo GitLab token and writes stack.env; both hold
// credentials, hence 0600.
func writeEnv(s *stack.Stack, cfg config) error {
	token, err := s.MintGitLabToken(cfg.gitlabProject, tokenTTL)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(s.Dir, "gitlab-id-token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		return fmt.Errorf("writing GitLab token: %w", err)
	}
	requestURL, requestToken := s.GitHubTokenRequest(cfg.githubRepo)
	vars := [][2]string{
		{"PAVED_STACK_FULCIO_URL", s.FulcioURL},
		{"PAVED_STACK_TSA_URL", s.TSAURL},
		{"PAVED_STACK_REKOR_URL", s.RekorURL},
		{"PAVED_STACK_GITHUB_ISSUER", s.GitHubIssuer},
		{"PAVED_STACK_GITLAB_ISSUER", s.GitLabIssuer},
		{"PAVED_TRUSTED_ROOT", s.TrustedRootPath},
		{"PAVED_SIGNING_CONFIG", s.SigningConfigPath},
		{"PAVED_STACK_TRUSTED_ROOT_JSONL", s.TrustedRootJSONLPath},
		{"ACTIONS_ID_TOKEN_REQUEST_URL", requestURL},
		{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", requestToken},
		{"PAVED_STACK_GITLAB_TOKEN_FILE", tokenFile},
	}
	var b strings.Builder
	for _, kv := range vars {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "stack.env"), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing stack.env: %w", err)
	}
	return nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,?-]+$`)

// shellQuote leaves plain values bare (so the file also works as a
// docker/GITHUB_ENV-style env file; "?" is safe because assignments are
// not glob-expanded) and single-quotes anything else.
func shellQuote(v string) string {
	if shellSafe.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
