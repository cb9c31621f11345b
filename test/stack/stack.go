// Package stack runs a real, local Sigstore stack for tests: two OIDC
// issuers shaped like GitHub Actions and GitLab CI, Fulcio, a timestamp
// authority and a Rekor v2 log, all reachable only through 127.0.0.1, plus
// the trusted_root.json and signing_config.json that describe them.
package stack

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/paved-dev/paved/test/oidc"
)

const (
	// Audience is the aud Fulcio accepts (its client-id for both issuers).
	Audience = "sigstore"

	// EnvToolsBin names the directory holding the server binaries when
	// Options.BinDir is empty.
	EnvToolsBin = "PAVED_TOOLS_BIN"
	// EnvHostNetworkUnsafe set to 1 turns on Options.HostNetworkUnsafe.
	EnvHostNetworkUnsafe = "PAVED_STACK_HOST_NETWORK_UNSAFE"

	// rekorOrigin is Rekor's --hostname: its checkpoint origin, which
	// verifiers derive from the host of the log's baseUrl.
	rekorOrigin = "127.0.0.1"

	startTimeout = 30 * time.Second
	pollInterval = 25 * time.Millisecond
)

// Binaries the stack runs, as tools/install.sh names them.
const (
	FulcioBinary          = "fulcio"
	TimestampServerBinary = "timestamp-server"
	RekorServerBinary     = "rekor-server"
)

// ErrMissingBinary is returned by Start when a server binary is not in
// Options.BinDir.
var ErrMissingBinary = errors.New("server binary missing")

// Options configures Start. The zero value means defaults.
type Options struct {
	// BinDir holds the fulcio, timestamp-server and rekor-server binaries.
	// Default: $PAVED_TOOLS_BIN, else $HOME/.cache/paved-tools/bin, where
	// tools/install.sh builds them.
	BinDir string
	// Dir is the state directory (configs, keys, Rekor's tiles, trust
	// material); it is created if missing and kept by Close. Default: a new
	// temporary directory that Close removes.
	Dir string
	// Log receives the servers' output, each line prefixed with the server's
	// name. Default: discarded; the last output of a server that fails to
	// start is still part of Start's error.
	Log io.Writer
	// HostNetworkUnsafe runs the servers in the caller's network namespace
	// instead of a private one. Only then can Start work without root (or
	// CAP_SYS_ADMIN), but the timestamp server's metrics listener (fixed at
	// :2112) and Fulcio's (":port") then listen on all interfaces, and only
	// one stack per host can run at a time because of port 2112.
	// Default: false, or true when $PAVED_STACK_HOST_NETWORK_UNSAFE is 1.
	HostNetworkUnsafe bool
}

// Stack is a running local Sigstore stack. URLs are http://127.0.0.1:PORT.
type Stack struct {
	// FulcioURL is Fulcio's base URL.
	FulcioURL string
	// TSAURL is the full timestamping endpoint (…/api/v1/timestamp).
	TSAURL string
	// RekorURL is the Rekor v2 base URL, the log's baseUrl in the trusted
	// root; its host is the checkpoint origin.
	RekorURL string
	// GitHubIssuer is the URL of the issuer Fulcio treats as GitHub Actions.
	GitHubIssuer string
	// GitLabIssuer is the URL of the issuer Fulcio treats as GitLab CI.
	GitLabIssuer string
	// Dir is the state directory.
	Dir string
	// TrustedRootPath is trusted_root.json (Fulcio, TSA and Rekor keys).
	TrustedRootPath string
	// TrustedRootJSONLPath is the same trusted root on a single line, the
	// JSON Lines form gh attestation verify --custom-trusted-root reads.
	TrustedRootJSONLPath string
	// SigningConfigPath is signing_config.json (v0.2) naming the services.
	SigningConfigPath string

	tsaBaseURL string
	github     *oidc.Issuer
	gitlab     *oidc.Issuer
	ns         *netns
	client     *http.Client
	procs      []*proc
	forwarders []*forwarder
	servers    []*http.Server
	removeDir  bool
	stopCtx    func() bool
	closeOnce  sync.Once
	closeErr   error
}

// Start runs the stack and returns once every server answers and the trust
// material is written. Close stops it; so does cancelling ctx. Start fails
// with ErrMissingBinary (run tools/install.sh) if a binary is missing.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, name := range []string{FulcioBinary, TimestampServerBinary, RekorServerBinary} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, name)); err != nil {
			return nil, fmt.Errorf("%w: %s not found in %s: run tools/install.sh (or set %s)", ErrMissingBinary, name, opts.BinDir, EnvToolsBin)
		}
	}

	s := &Stack{client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if err := s.makeDir(opts.Dir); err != nil {
		return nil, err
	}

	if !opts.HostNetworkUnsafe {
		if s.ns, err = newNetns(); err != nil {
			return nil, fmt.Errorf("creating the stack's private network namespace (needs root or CAP_SYS_ADMIN): %w; "+
				"run as root, or set Options.HostNetworkUnsafe / %s=1 to accept servers listening on all interfaces", err, EnvHostNetworkUnsafe)
		}
	}

	if s.github, err = oidc.Start(ctx); err != nil {
		return nil, err
	}
	if s.gitlab, err = oidc.Start(ctx); err != nil {
		return nil, err
	}
	s.GitHubIssuer, s.GitLabIssuer = s.github.URL(), s.gitlab.URL()
	if s.ns != nil {
		// Fulcio, inside the namespace, reaches the issuers at the same URLs.
		for _, iss := range []*oidc.Issuer{s.github, s.gitlab} {
			if err := s.serveInNetns(iss); err != nil {
				return nil, err
			}
		}
	}

	// Ports are allocated on the caller's loopback. Exposed ones stay held
	// (as forwarder listeners) when there is a namespace; the rest only name
	// ports inside the namespace, or are released just before the servers
	// bind them in host mode.
	exposed, err := s.allocate(3)
	if err != nil {
		return nil, err
	}
	internal, err := s.allocate(4)
	if err != nil {
		return nil, err
	}
	fulcioPort, tsaPort, rekorPort := port(exposed[0]), port(exposed[1]), port(exposed[2])
	fulcioGRPC, fulcioMetrics, rekorGRPC, rekorMetrics := port(internal[0]), port(internal[1]), port(internal[2]), port(internal[3])
	closeAll(internal)

	s.FulcioURL = "http://127.0.0.1:" + fulcioPort
	s.tsaBaseURL = "http://127.0.0.1:" + tsaPort
	s.TSAURL = s.tsaBaseURL + "/api/v1/timestamp"
	s.RekorURL = "http://127.0.0.1:" + rekorPort

	// Trust material is valid from a minute ago: some verifiers compare
	// against their own clock, and the log key is new.
	validFrom := time.Now().Add(-time.Minute).Truncate(time.Second)
	rekorPub, err := s.prepareFiles()
	if err != nil {
		return nil, err
	}

	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(s.Dir, "home"),
		"TMPDIR=" + filepath.Join(s.Dir, "tmp"),
	}
	bin := func(name string) string { return filepath.Join(opts.BinDir, name) }
	s.procs = []*proc{
		newProc("fulcio", bin(FulcioBinary), []string{
			"serve",
			"--ca=ephemeralca",
			"--ct-log-url=",
			"--config-path=" + filepath.Join(s.Dir, "fulcio", "config.json"),
			"--host=127.0.0.1", "--port=" + fulcioPort,
			"--grpc-host=127.0.0.1", "--grpc-port=" + fulcioGRPC,
			"--metrics-port=" + fulcioMetrics,
			// Abstract sockets are shared across a network namespace; a
			// unique name lets stacks coexist in host mode.
			"--legacy-unix-domain-socket=@paved-stack-fulcio-" + rand.Text(),
			"--log_type=prod",
		}, env, s.Dir, opts.Log),
		newProc("timestamp-server", bin(TimestampServerBinary), []string{
			"serve",
			"--host=127.0.0.1", "--port=" + tsaPort,
			"--timestamp-signer=memory",
			"--disable-ntp-monitoring",
			"--log-type=prod",
		}, env, s.Dir, opts.Log),
		newProc("rekor-server", bin(RekorServerBinary), []string{
			"serve",
			"--http-address=127.0.0.1", "--http-port=" + rekorPort,
			"--grpc-address=127.0.0.1", "--grpc-port=" + rekorGRPC,
			"--http-metrics-port=" + rekorMetrics,
			"--hostname=" + rekorOrigin,
			"--storage-dir=" + filepath.Join(s.Dir, "rekor", "storage"),
			"--signer-filepath=" + filepath.Join(s.Dir, "rekor", "signer.pem"),
			"--checkpoint-interval=100ms",
			"--batch-max-age=50ms",
		}, env, s.Dir, opts.Log),
	}

	if s.ns != nil {
		for _, ln := range exposed {
			s.forwarders = append(s.forwarders, newForwarder(ln, "127.0.0.1:"+port(ln), s.ns.dial))
		}
	} else {
		closeAll(exposed)
	}
	for _, p := range s.procs {
		if err := p.start(s.inNetwork); err != nil {
			return nil, err
		}
	}
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })

	if err := s.waitReady(ctx, rekorPub); err != nil {
		return nil, err
	}
	if err := s.writeTrustMaterial(ctx, rekorPub, validFrom); err != nil {
		return nil, err
	}
	return s, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.BinDir == "" {
		o.BinDir = os.Getenv(EnvToolsBin)
	}
	if o.BinDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return o, fmt.Errorf("finding the tools directory: %w; set Options.BinDir or %s", err, EnvToolsBin)
		}
		o.BinDir = filepath.Join(home, ".cache", "paved-tools", "bin")
	}
	if !o.HostNetworkUnsafe && os.Getenv(EnvHostNetworkUnsafe) == "1" {
		o.HostNetworkUnsafe = true
	}
	return o, nil
}

func (s *Stack) makeDir(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "paved-stack-")
		if err != nil {
			return fmt.Errorf("creating state directory: %w", err)
		}
		s.removeDir = true
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	s.Dir = abs
	// Each start generates a new log key, so a log left by an earlier run of
	// the same Dir could never verify: start from an empty one.
	if err := os.RemoveAll(filepath.Join(abs, "rekor", "storage")); err != nil {
		return fmt.Errorf("clearing old Rekor storage: %w", err)
	}
	for _, sub := range []string{"", "home", "tmp", "fulcio", "rekor", "rekor/storage"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o700); err != nil {
			return fmt.Errorf("creating state directory: %w", err)
		}
	}
	s.TrustedRootPath = filepath.Join(abs, "trusted_root.json")
	s.TrustedRootJSONLPath = filepath.Join(abs, "trusted_root.jsonl")
	s.SigningConfigPath = filepath.Join(abs, "signing_config.json")
	return nil
}

// prepareFiles writes Fulcio's config and a fresh Rekor signing key.
func (s *Stack) prepareFiles() (ed25519.PublicKey, error) {
	if err := writeFulcioConfig(filepath.Join(s.Dir, "fulcio", "config.json"), s.GitHubIssuer, s.GitLabIssuer); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating Rekor key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding Rekor key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(s.Dir, "rekor", "signer.pem"), keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing Rekor key: %w", err)
	}
	return pub, nil
}

// inNetwork runs fn where the servers live: inside the namespace, or
// directly in host mode.
func (s *Stack) inNetwork(fn func() error) error {
	if s.ns == nil {
		return fn()
	}
	return s.ns.run(fn)
}

func (s *Stack) serveInNetns(iss *oidc.Issuer) error {
	addr := iss.URL()[len("http://"):]
	ln, err := s.ns.listen(addr)
	if err != nil {
		return fmt.Errorf("serving the issuer inside the namespace: %w", err)
	}
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (s *Stack) allocate(n int) ([]net.Listener, error) {
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("allocating a loopback port: %w", err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func port(ln net.Listener) string {
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// waitReady polls each server (bounded by startTimeout) until it serves the
// endpoint the trust material comes from; a server that exits fails fast
// with its last output.
func (s *Stack) waitReady(ctx context.Context, rekorPub ed25519.PublicKey) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	checks := []struct {
		p     *proc
		check func(context.Context) error
	}{
		{s.procs[0], func(ctx context.Context) error {
			_, err := get(ctx, s.client, s.FulcioURL+"/api/v2/trustBundle")
			return err
		}},
		{s.procs[1], func(ctx context.Context) error {
			_, err := get(ctx, s.client, s.tsaBaseURL+"/api/v1/timestamp/certchain")
			return err
		}},
		{s.procs[2], func(ctx context.Context) error { return s.checkRekorCheckpoint(ctx, rekorPub) }},
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = pollUntil(ctx, c.p, c.check) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func pollUntil(ctx context.Context, p *proc, check func(context.Context) error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("waiting for %s: %w", p.name, p.failure())
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)\n%s", p.name, errTimeout, last, p.out.String())
		case <-t.C:
		}
	}
}

// Close stops every server (SIGTERM, then SIGKILL), the forwarders and the
// issuers, and removes the state directory if Start created it. It is safe
// to call more than once and concurrently.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		var errs []error
		var wg sync.WaitGroup
		perr := make([]error, len(s.procs))
		for i, p := range s.procs {
			wg.Go(func() { perr[i] = p.stop() })
		}
		wg.Wait()
		errs = append(errs, perr...)
		for _, f := range s.forwarders {
			f.close()
		}
		for _, srv := range s.servers {
			_ = srv.Close()
		}
		for _, iss := range []*oidc.Issuer{s.github, s.gitlab} {
			if iss != nil {
				_ = iss.Close()
			}
		}
		if s.ns != nil {
			errs = append(errs, s.ns.close())
		}
		if s.removeDir && s.Dir != "" {
			errs = append(errs, os.RemoveAll(s.Dir))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// GitHubOIDC returns the GitHub Actions-shaped issuer, for minting tokens
// with custom claims.
func (s *Stack) GitHubOIDC() *oidc.Issuer { return s.github }

// GitLabOIDC returns the GitLab CI-shaped issuer, for minting tokens with
// custom claims.
func (s *Stack) GitLabOIDC() *oidc.Issuer { return s.gitlab }

// MintGitHubToken returns a token Fulcio accepts as a GitHub Actions run of
// .github/workflows/build.yml on main of repo ("OWNER/REPO"), with the
// claims of oidc.GitHubClaims.
func (s *Stack) MintGitHubToken(repo string, ttl time.Duration) (string, error) {
	return s.github.Mint(oidc.GitHubClaims(repo), Audience, ttl)
}

// MintGitLabToken returns a token Fulcio accepts as a GitLab CI pipeline on
// main of projectPath ("GROUP/PROJECT"), with the claims of
// oidc.GitLabClaims.
func (s *Stack) MintGitLabToken(projectPath string, ttl time.Duration) (string, error) {
	return s.gitlab.Mint(oidc.GitLabClaims(projectPath), Audience, ttl)
}

// GitHubTokenRequest returns the ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN pair of a GitHub Actions run of repo.
func (s *Stack) GitHubTokenRequest(repo string) (requestURL, requestToken string) {
	return s.github.GitHubRequest(repo)
}

// HostNetwork reports whether the servers run in the caller's network
// namespace (Options.HostNetworkUnsafe) rather than a private one.
func (s *Stack) HostNetwork() bool { return s.ns == nil }
