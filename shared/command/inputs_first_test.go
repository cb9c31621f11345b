package command_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paved-dev/paved/shared/command"
	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/trust"
)

// noNetwork is a transport that counts requests and answers none: a command
// that must fail on its local inputs never calls it.
type noNetwork struct{ hits atomic.Int32 }

func (n *noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.hits.Add(1)
	return nil, errors.New("test: no network request was expected, got " + r.URL.String())
}

// runOffline runs one command with every HTTP request (TUF, Fulcio, Rekor,
// storage) going through a transport that fails and counts, and an empty
// TUF cache, as on a machine without network.
func runOffline(t *testing.T, cmd *command.Command, m map[string][]string) (int32, string, error) {
	t.Helper()
	v, err := command.NewValues(cmd, m)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	tr := &noNetwork{}
	env := command.Env{
		Platform:    &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }},
		Transport:   tr,
		TUFCacheDir: t.TempDir(),
	}
	_, err = cmd.Run(context.Background(), env, v)
	return tr.hits.Load(), stderr.String(), err
}

// TestAttestWithoutTokenSaysSoBeforeTUF: offline and without an identity
// token, paved attest says that the token is missing (exit 2) and asks no
// service anything; it used to report a TUF failure first.
func TestAttestWithoutTokenSaysSoBeforeTUF(t *testing.T) {
	dir := t.TempDir()
	artifact := filepath.Join(dir, "app")
	os.WriteFile(artifact, []byte("app"), 0o644)
	hits, _, err := runOffline(t, command.Attest(), map[string][]string{
		"subject-path": {artifact}, "bundle-path": {filepath.Join(dir, "app.sigstore.json")}, "bundles-jsonl": {"none"},
	})
	if err == nil || fail.ClassOf(err).ExitCode() != 2 {
		t.Fatalf("err %v (class %v), want a configuration error (exit 2)", err, fail.ClassOf(err))
	}
	if !strings.Contains(err.Error(), "no OIDC identity token") || !strings.Contains(err.Error(), "SIGSTORE_ID_TOKEN") || strings.Contains(err.Error(), "TUF") {
		t.Errorf("error %q: want the missing token and its fix, not TUF", err)
	}
	if hits != 0 {
		t.Errorf("%d network requests before the missing token was reported", hits)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("files written: %v", names)
	}
}

// TestSupplyChainWithoutSubjectsFailsBeforeSigning: with a token but no
// subjects, paved supply-chain says so (exit 2) before it fetches trust
// material or requests a certificate; an invalid policy is refused as early.
func TestSupplyChainWithoutSubjectsFailsBeforeSigning(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    func(dir string) map[string][]string
		want string
	}{
		{"no subjects", func(dir string) map[string][]string { return map[string][]string{} }, "no subjects"},
		{"invalid policy", func(dir string) map[string][]string {
			os.WriteFile(filepath.Join(dir, "app"), []byte("app"), 0o644)
			os.WriteFile(filepath.Join(dir, "policy.yml"), []byte("version: 7\n"), 0o644)
			return map[string][]string{"subject-path": {filepath.Join(dir, "app")}, "policy": {filepath.Join(dir, "policy.yml")}}
		}, "invalid policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := tc.m(dir)
			m["identity-token-file"] = []string{unsignedToken(t)}
			m["sbom-source"] = []string{dir}
			m["bundle-path"] = []string{filepath.Join(dir, "attestation.sigstore.json")}
			before := listDir(t, dir)
			hits, _, err := runOffline(t, command.SupplyChain(), m)
			if err == nil || fail.ClassOf(err).ExitCode() != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a configuration error (exit 2) saying %q", err, tc.want)
			}
			if hits != 0 {
				t.Errorf("%d network requests (trust root, certificate) before the inputs were checked", hits)
			}
			if after := listDir(t, dir); len(after) != len(before) {
				t.Errorf("files written: %v (before: %v)", after, before)
			}
		})
	}
}

// TestVerifyOfflineFallsBackToEmbeddedRoot: offline and without
// --trusted-root, paved verify checks a real public-good attestation with
// the trusted root embedded in Paved, and says so on the log, with its date.
func TestVerifyOfflineFallsBackToEmbeddedRoot(t *testing.T) {
	cmd := command.Verify()
	v, err := command.NewValues(cmd, map[string][]string{
		"artifact": {pub("reusable-workflow-artifact")}, "bundle": {pub("reusable-workflow-attestation.sigstore.json")},
		"owner": {"malancas"}, "signer-repo": {"github/artifact-attestations-workflows"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	tr := &noNetwork{}
	env := command.Env{Platform: &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}, Transport: tr, TUFCacheDir: t.TempDir()}
	res, err := cmd.Run(context.Background(), env, v)
	if err != nil {
		t.Fatalf("verify offline: %v\n%s", err, stderr.String())
	}
	if tr.hits.Load() == 0 {
		t.Error("TUF was not tried first")
	}
	if !strings.Contains(stderr.String(), "trusted root embedded in Paved at build time (as of "+trust.EmbeddedAsOf()+")") {
		t.Errorf("no note on the log about the embedded root:\n%s", stderr.String())
	}
	if res == nil || len(res.Outputs) == 0 {
		t.Errorf("no result: %+v", res)
	}
}

// TestHelpHasExamplesAndExitCodes: every command's --help ends with the exit
// codes, and the everyday commands show examples that use their own flags.
func TestHelpHasExamplesAndExitCodes(t *testing.T) {
	for _, cmd := range command.All() {
		code, stdout, _ := runPaved(t, cmd.Name, "--help")
		if code != 0 || !strings.Contains(stdout, "Exit codes:\n  0  success") || !strings.Contains(stdout, "  2  usage or configuration error") || !strings.Contains(stdout, "  3  a service") {
			t.Errorf("paved %s --help (exit %d) lacks the exit codes:\n%s", cmd.Name, code, stdout)
		}
		switch cmd.Name {
		case "attest", "verify", "policy", "sbom", "supply-chain":
			if !strings.Contains(stdout, "Examples:\n  paved "+cmd.Name+" ") {
				t.Errorf("paved %s --help has no examples:\n%s", cmd.Name, stdout)
			}
		}
	}
}
