package stack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/paved-dev/paved/test/oidc"
)

func startStack(t *testing.T) *Stack {
	s, _ := startStackWithLog(t)
	return s
}

// startStackWithLog also returns everything the servers print.
func startStackWithLog(t *testing.T) (*Stack, *lockedBuffer) {
	t.Helper()
	begin := time.Now()
	logs := &lockedBuffer{}
	s, err := Start(t.Context(), Options{Log: io.MultiWriter(testLog{t}, logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stack started in %v (host network: %v)", time.Since(begin).Round(time.Millisecond), s.HostNetwork())
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, logs
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLog sends server output to the test log only with -v, when it helps.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	if testing.Verbose() {
		l.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

func TestStack(t *testing.T) {
	s, logs := startStackWithLog(t)

	// Sign and verify the way a consumer of the trust files would: load
	// them from disk and pick services through the signing config.
	tr, err := root.NewTrustedRootFromPath(s.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := root.NewSigningConfigFromPath(s.SigningConfigPath)
	if err != nil {
		t.Fatal(err)
	}

	githubRepo, gitlabProject := "paved-dev/demo", "paved-group/sub/demo"

	t.Run("github", func(t *testing.T) {
		requestURL, requestToken := s.GitHubTokenRequest(githubRepo)
		token, err := oidc.FetchGitHubToken(t.Context(), nil, requestURL, requestToken, Audience)
		if err != nil {
			t.Fatal(err)
		}
		claims := oidc.GitHubClaims(githubRepo)
		b := signStatement(t, s, tr, sc, token)
		cert := verifyBundle(t, tr, b, s.GitHubIssuer,
			"https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main")
		checkExtensions(t, cert, certificate.Extensions{
			Issuer:                              s.GitHubIssuer,
			GithubWorkflowTrigger:               "push",
			GithubWorkflowSHA:                   claims["sha"].(string),
			GithubWorkflowName:                  "build",
			GithubWorkflowRepository:            githubRepo,
			GithubWorkflowRef:                   "refs/heads/main",
			BuildSignerURI:                      "https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main",
			BuildSignerDigest:                   claims["job_workflow_sha"].(string),
			RunnerEnvironment:                   "github-hosted",
			SourceRepositoryURI:                 "https://github.com/paved-dev/demo",
			SourceRepositoryDigest:              claims["sha"].(string),
			SourceRepositoryRef:                 "refs/heads/main",
			SourceRepositoryIdentifier:          claims["repository_id"].(string),
			SourceRepositoryOwnerURI:            "https://github.com/paved-dev",
			SourceRepositoryOwnerIdentifier:     claims["repository_owner_id"].(string),
			BuildConfigURI:                      "https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main",
			BuildConfigDigest:                   claims["workflow_sha"].(string),
			BuildTrigger:                        "push",
			RunInvocationURI:                    "https://github.com/paved-dev/demo/actions/runs/" + claims["run_id"].(string) + "/attempts/1",
			SourceRepositoryVisibilityAtSigning: "public",
		})
	})

	t.Run("gitlab", func(t *testing.T) {
		token, err := s.MintGitLabToken(gitlabProject, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		claims := oidc.GitLabClaims(gitlabProject)
		b := signStatement(t, s, tr, sc, token)
		san := "https://gitlab.com/paved-group/sub/demo//.gitlab-ci.yml@refs/heads/main"
		cert := verifyBundle(t, tr, b, s.GitLabIssuer, san)
		checkExtensions(t, cert, certificate.Extensions{
			Issuer:                              s.GitLabIssuer,
			BuildSignerURI:                      san,
			BuildSignerDigest:                   claims["ci_config_sha"].(string),
			RunnerEnvironment:                   "gitlab-hosted",
			SourceRepositoryURI:                 "https://gitlab.com/paved-group/sub/demo",
			SourceRepositoryDigest:              claims["sha"].(string),
			SourceRepositoryRef:                 "refs/heads/main",
			SourceRepositoryIdentifier:          claims["project_id"].(string),
			SourceRepositoryOwnerURI:            "https://gitlab.com/paved-group/sub",
			SourceRepositoryOwnerIdentifier:     claims["namespace_id"].(string),
			BuildConfigURI:                      san,
			BuildConfigDigest:                   claims["ci_config_sha"].(string),
			BuildTrigger:                        "push",
			RunInvocationURI:                    "https://gitlab.com/paved-group/sub/demo/-/jobs/" + claims["job_id"].(string),
			SourceRepositoryVisibilityAtSigning: "public",
		})
	})

	t.Run("fulcio refuses", func(t *testing.T) {
		claims := oidc.GitHubClaims(githubRepo)
		incomplete := oidc.GitLabClaims(gitlabProject)
		delete(incomplete, "ci_config_ref_uri")
		// Fulcio answers all of these with the same 400; its log says why.
		tests := []struct {
			name   string
			mint   func() (string, error)
			reason string
		}{
			{"wrong audience", func() (string, error) { return s.GitHubOIDC().Mint(claims, "not-sigstore", time.Minute) },
				`expected audience \"sigstore\" got [\"not-sigstore\"]`},
			{"expired", func() (string, error) {
				return s.GitHubOIDC().Mint(withClaim(claims, "exp", time.Now().Add(-time.Minute).Unix()), Audience, time.Minute)
			}, "token is expired"},
			{"unknown issuer", func() (string, error) {
				other, err := oidc.Start(t.Context())
				if err != nil {
					return "", err
				}
				t.Cleanup(func() { _ = other.Close() })
				return other.Mint(claims, Audience, time.Minute)
			}, "failed to match issuer URL"},
			{"claim a template needs is missing", func() (string, error) { return s.GitLabOIDC().Mint(incomplete, Audience, time.Minute) },
				`map has no entry for key \"ci_config_ref_uri\"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				token, err := tt.mint()
				if err != nil {
					t.Fatal(err)
				}
				kp, err := sign.NewEphemeralKeypair(nil)
				if err != nil {
					t.Fatal(err)
				}
				fulcio := sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL, Timeout: 10 * time.Second})
				_, err = fulcio.GetCertificate(t.Context(), kp, &sign.CertificateProviderOptions{IDToken: token})
				if err == nil {
					t.Fatal("Fulcio issued a certificate")
				}
				if !strings.Contains(err.Error(), "Fulcio returned 400") {
					t.Fatalf("want a 400 refusal, got %v", err)
				}
				// The log reaches us through a pipe, a little after the response.
				deadline := time.Now().Add(5 * time.Second)
				for !strings.Contains(logs.String(), tt.reason) {
					if time.Now().After(deadline) {
						t.Fatalf("Fulcio's log does not give the reason %q", tt.reason)
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
	})

	t.Run("verification rejects another identity", func(t *testing.T) {
		token, err := s.MintGitHubToken("someone/else", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		b := signStatement(t, s, tr, sc, token)
		v, err := verify.NewVerifier(tr, verify.WithSignedTimestamps(1), verify.WithTransparencyLog(1))
		if err != nil {
			t.Fatal(err)
		}
		id, err := verify.NewShortCertificateIdentity(s.GitHubIssuer, "", "https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", subjectDigest[:]), verify.WithCertificateIdentity(id))); err == nil {
			t.Fatal("bundle for someone/else verified as paved-dev/demo")
		}
	})

	t.Run("trust files", func(t *testing.T) { checkTrustFiles(t, s) })

	t.Run("loopback only", func(t *testing.T) { checkLoopbackOnly(t, s) })
}

func withClaim(claims map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(claims)+1)
	for ck, cv := range claims {
		out[ck] = cv
	}
	out[k] = v
	return out
}

var subjectDigest = sha256.Sum256([]byte("paved local stack artifact\n"))

func statement() []byte {
	b, err := json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": []map[string]any{{
			"name":   "artifact.txt",
			"digest": map[string]string{"sha256": hex.EncodeToString(subjectDigest[:])},
		}},
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate":     map[string]any{"buildDefinition": map[string]any{"buildType": "https://paved.dev/test"}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func signStatement(t *testing.T, s *Stack, tr *root.TrustedRoot, sc *root.SigningConfig, token string) *bundle.Bundle {
	t.Helper()
	now := time.Now()
	fulcioSvc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		t.Fatal(err)
	}
	rekorSvcs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
	if err != nil {
		t.Fatal(err)
	}
	tsaSvcs, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
	if err != nil {
		t.Fatal(err)
	}
	if fulcioSvc.URL != s.FulcioURL || len(rekorSvcs) != 1 || rekorSvcs[0].URL != s.RekorURL || rekorSvcs[0].MajorAPIVersion != 2 ||
		len(tsaSvcs) != 1 || tsaSvcs[0].URL != s.TSAURL {
		t.Fatalf("signing config selects %v, %v, %v", fulcioSvc, rekorSvcs, tsaSvcs)
	}

	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcioSvc.URL, Timeout: 10 * time.Second}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: tsaSvcs[0].URL, Timeout: 10 * time.Second})},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: rekorSvcs[0].URL, Version: rekorSvcs[0].MajorAPIVersion, Timeout: 10 * time.Second})},
		TrustedRoot:                tr,
		Context:                    t.Context(),
	}
	begin := time.Now()
	pb, err := sign.Bundle(&sign.DSSEData{Data: statement(), PayloadType: "application/vnd.in-toto+json"}, kp, opts)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	t.Logf("signed in %v", time.Since(begin).Round(time.Millisecond))
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	checkRekorV2Entry(t, tr, pb)
	return b
}

// checkRekorV2Entry makes sure the bundle's log entry came from the local
// Rekor v2 under the log ID the trusted root names.
func checkRekorV2Entry(t *testing.T, tr *root.TrustedRoot, pb *protobundle.Bundle) {
	t.Helper()
	entries := pb.GetVerificationMaterial().GetTlogEntries()
	if len(entries) != 1 {
		t.Fatalf("%d tlog entries, want 1", len(entries))
	}
	e := entries[0]
	if e.GetKindVersion().GetKind() != "hashedrekord" || e.GetKindVersion().GetVersion() != "0.0.2" {
		t.Errorf("entry kind %v, want hashedrekord 0.0.2 (Rekor v2)", e.GetKindVersion())
	}
	if _, ok := tr.RekorLogs()[hex.EncodeToString(e.GetLogId().GetKeyId())]; !ok {
		t.Errorf("entry log ID %x is not in the trusted root", e.GetLogId().GetKeyId())
	}
	if e.GetInclusionProof().GetCheckpoint().GetEnvelope() == "" {
		t.Error("entry has no checkpoint")
	}
}

func verifyBundle(t *testing.T, tr *root.TrustedRoot, b *bundle.Bundle, issuer, san string) certificate.Summary {
	t.Helper()
	v, err := verify.NewVerifier(tr, verify.WithSignedTimestamps(1), verify.WithTransparencyLog(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", subjectDigest[:]), verify.WithCertificateIdentity(id)))
	if err != nil {
		t.Fatalf("verifying: %v", err)
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		t.Fatal("verification result has no certificate summary")
	}
	if len(res.VerifiedTimestamps) != 1 || res.VerifiedTimestamps[0].Type != "TimestampAuthority" {
		t.Errorf("verified timestamps %+v, want one from the TSA", res.VerifiedTimestamps)
	}
	return *res.Signature.Certificate
}

func checkExtensions(t *testing.T, got certificate.Summary, want certificate.Extensions) {
	t.Helper()
	if got.Extensions != want {
		t.Errorf("certificate extensions:\n got %+v\nwant %+v", got.Extensions, want)
	}
}

func checkTrustFiles(t *testing.T, s *Stack) {
	jsonl, err := os.ReadFile(s.TrustedRootJSONLPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(jsonl), "\n"); n != 1 || !strings.HasSuffix(string(jsonl), "\n") {
		t.Errorf("%s has %d newlines, want exactly one line", s.TrustedRootJSONLPath, n)
	}
	if _, err := root.NewTrustedRootFromJSON(jsonl); err != nil {
		t.Errorf("JSON Lines trusted root does not parse: %v", err)
	}

	var trDoc struct {
		MediaType string `json:"mediaType"`
		Tlogs     []struct {
			BaseURL string `json:"baseUrl"`
		} `json:"tlogs"`
		CertificateAuthorities []json.RawMessage `json:"certificateAuthorities"`
		TimestampAuthorities   []json.RawMessage `json:"timestampAuthorities"`
	}
	readJSON(t, s.TrustedRootPath, &trDoc)
	if trDoc.MediaType != "application/vnd.dev.sigstore.trustedroot+json;version=0.1" {
		t.Errorf("trusted root media type %q", trDoc.MediaType)
	}
	if len(trDoc.Tlogs) != 1 || trDoc.Tlogs[0].BaseURL != s.RekorURL || len(trDoc.CertificateAuthorities) != 1 || len(trDoc.TimestampAuthorities) != 1 {
		t.Errorf("trusted root content: %+v", trDoc)
	}

	var scDoc struct {
		MediaType string `json:"mediaType"`
		CAURLs    []struct {
			URL      string `json:"url"`
			ValidFor struct {
				Start time.Time `json:"start"`
			} `json:"validFor"`
		} `json:"caUrls"`
		OIDCURLs []struct {
			URL string `json:"url"`
		} `json:"oidcUrls"`
		RekorURLs []struct {
			URL             string `json:"url"`
			MajorAPIVersion int    `json:"majorApiVersion"`
		} `json:"rekorTlogUrls"`
		TSAURLs []struct {
			URL string `json:"url"`
		} `json:"tsaUrls"`
	}
	readJSON(t, s.SigningConfigPath, &scDoc)
	if scDoc.MediaType != "application/vnd.dev.sigstore.signingconfig.v0.2+json" {
		t.Errorf("signing config media type %q", scDoc.MediaType)
	}
	if len(scDoc.CAURLs) != 1 || scDoc.CAURLs[0].URL != s.FulcioURL || !scDoc.CAURLs[0].ValidFor.Start.Before(time.Now()) {
		t.Errorf("signing config caUrls %+v", scDoc.CAURLs)
	}
	if len(scDoc.OIDCURLs) != 2 || scDoc.OIDCURLs[0].URL != s.GitHubIssuer || scDoc.OIDCURLs[1].URL != s.GitLabIssuer {
		t.Errorf("signing config oidcUrls %+v", scDoc.OIDCURLs)
	}
	if len(scDoc.RekorURLs) != 1 || scDoc.RekorURLs[0].URL != s.RekorURL || scDoc.RekorURLs[0].MajorAPIVersion != 2 {
		t.Errorf("signing config rekorTlogUrls %+v", scDoc.RekorURLs)
	}
	if len(scDoc.TSAURLs) != 1 || scDoc.TSAURLs[0].URL != s.TSAURL || !strings.HasSuffix(s.TSAURL, "/api/v1/timestamp") {
		t.Errorf("signing config tsaUrls %+v", scDoc.TSAURLs)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkLoopbackOnly asserts that nothing the stack runs can be reached
// beyond loopback: in the caller's namespace, every port the stack exposes
// listens on 127.0.0.1 only and no server owns a socket there; in the
// servers' namespace, wildcard listeners (the TSA's :2112, Fulcio's metrics)
// exist but the namespace has no interface besides lo.
func checkLoopbackOnly(t *testing.T, s *Stack) {
	if s.HostNetwork() {
		t.Skip("HostNetworkUnsafe: the TSA's :2112 and Fulcio's metrics port listen on all interfaces by design")
	}
	exposed := map[int]bool{}
	for _, u := range []string{s.FulcioURL, s.TSAURL, s.RekorURL, s.GitHubIssuer, s.GitLabIssuer} {
		exposed[urlPort(t, u)] = true
	}

	self := listeningSockets(t, "/proc/self/net")
	var serverInodes = map[string]string{}
	for _, p := range s.procs {
		for _, ino := range socketInodes(t, p.pid()) {
			serverInodes[ino] = p.name
		}
	}
	seen := map[int]bool{}
	for _, l := range self {
		if name, ok := serverInodes[l.inode]; ok {
			t.Errorf("%s listens on %v in the caller's network namespace", name, l.addr)
		}
		if !exposed[l.addr.Port] {
			continue
		}
		if !l.addr.IP.IsLoopback() {
			t.Errorf("port %d listens on %v, beyond loopback", l.addr.Port, l.addr.IP)
		}
		seen[l.addr.Port] = true
	}
	for p := range exposed {
		if !seen[p] {
			t.Errorf("exposed port %d is not listening on loopback", p)
		}
	}

	for _, p := range s.procs {
		dir := fmt.Sprintf("/proc/%d/net", p.pid())
		ifaces := interfaces(t, dir)
		if !slices.Equal(ifaces, []string{"lo"}) {
			t.Errorf("%s's network namespace has interfaces %v, want only lo", p.name, ifaces)
		}
		mine := map[string]bool{}
		for _, ino := range socketInodes(t, p.pid()) {
			mine[ino] = true
		}
		var wild []string
		for _, l := range listeningSockets(t, dir) {
			if mine[l.inode] && !l.addr.IP.IsLoopback() {
				wild = append(wild, l.addr.String())
			}
		}
		t.Logf("%s: wildcard listeners %v, confined to a lo-only namespace", p.name, wild)
		// Proves this looks where the servers really listen.
		if p.name == "timestamp-server" && !slices.Contains(wild, "[::]:2112") && !slices.Contains(wild, "0.0.0.0:2112") {
			t.Errorf("timestamp-server's :2112 listener not found in its namespace (found %v)", wild)
		}
	}
}

func urlPort(t *testing.T, u string) int {
	t.Helper()
	i := strings.LastIndex(u, ":")
	rest := u[i+1:]
	if j := strings.Index(rest, "/"); j >= 0 {
		rest = rest[:j]
	}
	p, err := strconv.Atoi(rest)
	if err != nil {
		t.Fatalf("port of %q: %v", u, err)
	}
	return p
}

type listener struct {
	addr  *net.TCPAddr
	inode string
}

// listeningSockets parses tcp and tcp6 of a /proc/.../net directory.
func listeningSockets(t *testing.T, dir string) []listener {
	t.Helper()
	var out []listener
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // TCP_LISTEN
				continue
			}
			out = append(out, listener{addr: parseProcAddr(t, fields[1]), inode: fields[9]})
		}
		f.Close()
	}
	return out
}

// parseProcAddr decodes "0100007F:1F90" (IPv4) or a 32-digit IPv6 form;
// the kernel prints each 32-bit word in host (little-endian) order.
func parseProcAddr(t *testing.T, s string) *net.TCPAddr {
	t.Helper()
	hexIP, hexPort, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(hexIP)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	p, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	return &net.TCPAddr{IP: net.IP(raw), Port: int(p)}
}

func socketInodes(t *testing.T, pid int) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(target, "socket:["); ok {
			out = append(out, strings.TrimSuffix(ino, "]"))
		}
	}
	return out
}

func interfaces(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[2:] {
		if name, _, ok := strings.Cut(line, ":"); ok {
			out = append(out, strings.TrimSpace(name))
		}
	}
	slices.Sort(out)
	return out
}

func TestStartMissingBinary(t *testing.T) {
	_, err := Start(t.Context(), Options{BinDir: t.TempDir()})
	if !errors.Is(err, ErrMissingBinary) || !strings.Contains(err.Error(), "tools/install.sh") {
		t.Fatalf("err = %v, want ErrMissingBinary naming tools/install.sh", err)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	s := startStack(t)
	pids := make([]int, 0, len(s.procs))
	for _, p := range s.procs {
		pids = append(pids, p.pid())
	}
	dir := s.Dir
	begin := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %v", time.Since(begin).Round(time.Millisecond))
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("pid %d still exists after Close", pid)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary state directory %s survived Close: %v", dir, err)
	}
	if _, err := s.client.Get(s.FulcioURL + "/healthz"); err == nil {
		t.Error("Fulcio URL still answers after Close")
	}
}

func TestContextCancelStopsEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pids []int
	for _, p := range s.procs {
		pids = append(pids, p.pid())
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still running after its context was cancelled", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestSideBySide starts two stacks at once, as parallel test packages do:
// each has its own port 2112 in its own namespace.
func TestSideBySide(t *testing.T) {
	if os.Getenv(EnvHostNetworkUnsafe) == "1" {
		t.Skip("in host network mode only one stack can hold port 2112")
	}
	var wg sync.WaitGroup
	stacks := make([]*Stack, 2)
	errs := make([]error, 2)
	for i := range stacks {
		wg.Go(func() { stacks[i], errs[i] = Start(t.Context(), Options{}) })
	}
	wg.Wait()
	for i, s := range stacks {
		if s != nil {
			defer s.Close()
		}
		if errs[i] != nil {
			t.Errorf("stack %d: %v", i, errs[i])
		}
	}
}
