package command_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paved-dev/paved/shared/command"
)

func pavedRunEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	door := &command.Local{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	code := command.Main(context.Background(), door, args, door.Getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// ghBase is gh's spelling of a verification of a real GitHub artifact
// attestation, offline: gh attestation verify ARTIFACT -b BUNDLE -o OWNER.
func ghBase(t *testing.T) []string {
	t.Helper()
	return []string{"verify", pub("reusable-workflow-artifact"), "-b", pub("reusable-workflow-attestation.sigstore.json"),
		"--custom-trusted-root", compactRoot(t), "-o", "malancas", "--signer-repo", "github/artifact-attestations-workflows"}
}

// compactRoot writes the public-good trusted root on one line, the JSON
// Lines form gh's --custom-trusted-root reads.
func compactRoot(t *testing.T, extra ...[]byte) string {
	t.Helper()
	data, err := os.ReadFile(publicRoot)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(v)
	var lines []byte
	for _, e := range extra {
		lines = append(append(lines, e...), '\n')
	}
	lines = append(append(lines, line...), '\n')
	p := filepath.Join(t.TempDir(), "trusted_root.jsonl")
	if err := os.WriteFile(p, lines, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVerifyGHSpellings runs paved verify with gh attestation verify's flags
// on a bundle gh verifies; each must mean what it means to gh.
func TestVerifyGHSpellings(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout string
		stderr string
	}{
		{"gh's spelling", nil, 0, "", ""},
		{"repo short", []string{"--owner=", "-R", "malancas/attest-demo"}, 0, "", ""},
		{"wrong repo short", []string{"--owner=", "-R", "malancas/other"}, 1, "", "malancas/other"},
		{"cert identity regex short", []string{"--signer-repo=", "-i", "^https://github.com/github/artifact-attestations-workflows/"}, 0, "", ""},
		{"digest sha256", []string{"-d", "sha256"}, 0, "", ""},
		{"digest sha512 the bundle does not name", []string{"--digest-alg", "sha512"}, 1, "", "no attestation names sha512:"},
		{"digest md5", []string{"-d", "md5"}, 2, "", "want one of sha256, sha512"},
		{"jq without a JSON format", []string{"-q", ".[0]"}, 2, "", "--format gh-json"},
		{"jq on gh-json", []string{"--format", "gh-json", "-q", ".[0].verificationResult.statement.predicateType"}, 0, "https://slsa.dev/provenance/v1\n", ""},
		{"jq on paved's report", []string{"--format", "json", "--jq", ".artifacts[0].signer.sourceRepository"}, 0, "https://github.com/malancas/attest-demo\n", ""},
		{"jq that does not parse", []string{"--format", "gh-json", "--jq", ".[0"}, 2, "", "--jq"},
		{"limit zero", []string{"-L", "0"}, 2, "", "--limit"},
		{"limit over 1000", []string{"--limit", "1001"}, 2, "", "--limit"},
		{"no public good with a custom root", []string{"--no-public-good"}, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := pavedRun(t, append(ghBase(t), tc.args...)...)
			if code != tc.want || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d mentioning %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, tc.stderr, stdout, stderr)
			}
			if tc.stdout != "" && stdout != tc.stdout {
				t.Fatalf("stdout %q, want %q", stdout, tc.stdout)
			}
		})
	}
	t.Run("no public good by default", func(t *testing.T) {
		code, _, stderr := pavedRun(t, "verify", pub("reusable-workflow-artifact"), "-b", pub("reusable-workflow-attestation.sigstore.json"),
			"-o", "malancas", "--signer-repo", "github/artifact-attestations-workflows", "--no-public-good")
		if code != 2 || !strings.Contains(stderr, "--trusted-root FILE") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("bundle from oci for a file", func(t *testing.T) {
		code, _, stderr := pavedRun(t, "verify", pub("reusable-workflow-artifact"), "--bundle-from-oci", "--trusted-root", publicRoot, "-o", "malancas")
		if code != 2 || !strings.Contains(stderr, "oci://") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

// TestVerifyCustomTrustedRootJSONLines: gh attestation trusted-root writes one
// root per line; the root that signed may be any of them.
func TestVerifyCustomTrustedRootJSONLines(t *testing.T) {
	stranger := []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	args := ghBase(t)
	for i, a := range args {
		if a == "--custom-trusted-root" {
			args[i+1] = compactRoot(t, stranger)
		}
	}
	code, _, stderr := pavedRun(t, append(args, "--output", "markdown")...)
	if code != 0 || !strings.Contains(stderr, "jsonl#2") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestVerifyGHJSONMatchesGH compares --format gh-json with what gh attestation
// verify --format json printed for the same bundle and artifact
// (testdata/gh/reusable-workflow-verify.json, from gh 2.x). verifiedIdentity
// is each tool's own policy, so only its presence is compared.
func TestVerifyGHJSONMatchesGH(t *testing.T) {
	code, stdout, stderr := pavedRun(t, append(ghBase(t), "--format", "gh-json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got, want []map[string]map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("gh-json is not an array of objects: %v\n%s", err, stdout)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gh", "reusable-workflow-verify.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, gh printed %d", len(got), len(want))
	}
	for i := range want {
		for _, r := range []map[string]map[string]any{got[i], want[i]} {
			if r["verificationResult"]["verifiedIdentity"] == nil {
				t.Fatalf("entry %d lacks verifiedIdentity: %v", i, r["verificationResult"])
			}
			delete(r["verificationResult"], "verifiedIdentity")
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.MarshalIndent(got[i], "", " ")
			w, _ := json.MarshalIndent(want[i], "", " ")
			t.Fatalf("entry %d differs from gh's\ngot:\n%s\nwant:\n%s", i, g, w)
		}
	}
	t.Run("nothing on failure", func(t *testing.T) {
		code, stdout, _ := pavedRun(t, append(ghBase(t), "--format", "gh-json", "--source-ref", "refs/heads/other")...)
		if code != 1 || stdout != "" {
			t.Fatalf("exit %d, stdout %q: gh prints nothing when verification fails", code, stdout)
		}
	})
}

// TestVerifyExclusiveFlags: what gh refuses together is a usage error naming
// both flags, whichever source set them, before anything is read.
func TestVerifyExclusiveFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		msg  string
	}{
		{"owner and repo", []string{"--owner", "a", "--repo", "a/b"}, nil, "--owner and --repo cannot be used together"},
		{"short owner and repo", []string{"-o", "a", "-R", "a/b"}, nil, "--owner and --repo"},
		{"repo flag and owner variable", []string{"--repo", "a/b"}, map[string]string{"PAVED_OWNER": "a"}, "--owner and --repo"},
		{"identity and regex", []string{"--owner", "a", "--cert-identity", "x", "-i", "y"}, nil, "--cert-identity and --cert-identity-regex"},
		{"signer repo and workflow", []string{"--owner", "a", "--signer-repo", "a/b", "--signer-workflow", "a/b/.github/workflows/c.yml"}, nil, "--signer-repo and --signer-workflow"},
		{"bundle and bundle from oci", []string{"--owner", "a", "-b", "x.json", "--bundle-from-oci"}, nil, "--bundle and --bundle-from-oci"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := pavedRunEnv(t, tc.env, append([]string{"verify", "artifact-that-does-not-exist"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.msg) || stdout != "" {
				t.Fatalf("exit %d, want 2 saying %q\nstdout:\n%s\nstderr:\n%s", code, tc.msg, stdout, stderr)
			}
		})
	}
	t.Run("a switch set to false is not set", func(t *testing.T) {
		code, _, stderr := pavedRun(t, append(ghBase(t), "--bundle-from-oci=false")...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

// TestVerifyUnknownFlagSuggests: a mistyped flag names the nearest one, gh's
// spellings included; a flag like none gets no guess.
func TestVerifyUnknownFlagSuggests(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"--reop", "did you mean --repo?"},
		{"--ownr", "did you mean --owner?"},
		{"--custom-trusted-rot", "did you mean --custom-trusted-root?"},
		{"--singer-workflow", "did you mean --signer-workflow?"},
		{"--predicate", "did you mean --predicate-type?"},
		{"--bundle-from-ocl", "did you mean --bundle-from-oci?"},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			code, _, stderr := pavedRun(t, "verify", tc.flag, "x", "a")
			if code != 2 || !strings.Contains(stderr, "unknown flag "+tc.flag+": "+tc.want) {
				t.Fatalf("exit %d: %s", code, stderr)
			}
		})
	}
	code, _, stderr := pavedRun(t, "verify", "--xyzzy", "a")
	if code != 2 || strings.Contains(stderr, "did you mean") || !strings.Contains(stderr, "unknown flag --xyzzy") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestVerifyLimitBoundsFetchedBundles: -L N reads only the first N bundles the
// attestations API lists for an artifact, as gh's --limit does.
func TestVerifyLimitBoundsFetchedBundles(t *testing.T) {
	var listed []json.RawMessage
	for _, b := range []string{"custom-issuer.sigstore.json", "reusable-workflow-attestation.sigstore.json"} {
		data, err := os.ReadFile(pub(b))
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, data)
	}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !strings.HasPrefix(r.URL.Path, "/repos/malancas/attest-demo/attestations/sha256:") {
			http.NotFound(w, r)
			return
		}
		var out []map[string]json.RawMessage
		for _, b := range listed {
			out = append(out, map[string]json.RawMessage{"bundle": b})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"attestations": out})
	}))
	defer srv.Close()
	args := []string{"verify", pub("reusable-workflow-artifact"), "--bundle-from", "github", "--github-api-url", srv.URL,
		"-R", "malancas/attest-demo", "--signer-repo", "github/artifact-attestations-workflows", "--custom-trusted-root", publicRoot}
	if code, _, stderr := pavedRun(t, args...); code != 0 {
		t.Fatalf("without a limit, the second listed bundle verifies: exit %d: %s", code, stderr)
	}
	code, _, stderr := pavedRun(t, append(args, "-L", "1")...)
	if code != 1 || !strings.Contains(stderr, "no attestation names") {
		t.Fatalf("-L 1 must read only the first listed bundle, which is about another artifact: exit %d: %s", code, stderr)
	}
	if calls.Load() == 0 {
		t.Fatal("the attestations API was not asked")
	}
}

// TestFlagSpellingsUnique: an alias or shorthand that another flag of the
// command already uses would silently bind to the wrong input.
func TestFlagSpellingsUnique(t *testing.T) {
	for _, cmd := range command.All() {
		seen := map[string]string{"help": "help", "h": "help"}
		for _, in := range cmd.Inputs {
			for _, s := range append([]string{in.Name, in.Short}, in.Aliases...) {
				if s == "" {
					continue
				}
				if prev, ok := seen[s]; ok {
					t.Errorf("paved %s: %q names both --%s and --%s", cmd.Name, s, prev, in.Name)
				}
				seen[s] = in.Name
			}
		}
	}
}

// TestVerifyGHJSONListsEveryAttestation: gh attestation verify --format json
// lists every attestation that verifies an artifact, not only the first; two
// bundles of sigstore-js 2.1.0 (v0.3 and v0.1 of the bundle format) both verify it.
func TestVerifyGHJSONListsEveryAttestation(t *testing.T) {
	bundles := []string{pub("sigstore-js-2.1.0-bundle.json"), pub("sigstore-js-2.1.0-bundle-v0.1.json")}
	args := []string{"verify", pub("sigstore-js-2.1.0.tgz"), "-b", bundles[0], "-b", bundles[1],
		"--custom-trusted-root", compactRoot(t), "-R", "sigstore/sigstore-js", "--format", "gh-json"}
	code, stdout, stderr := pavedRun(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []struct {
		Attestation struct {
			Bundle struct{ MediaType string }
		}
		VerificationResult struct {
			Statement struct{ PredicateType string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("gh-json printed %q: %v", stdout, err)
	}
	var media []string
	for _, g := range got {
		if g.VerificationResult.Statement.PredicateType != "https://slsa.dev/provenance/v1" {
			t.Errorf("entry without its verification result: %+v", g)
		}
		media = append(media, g.Attestation.Bundle.MediaType)
	}
	for _, b := range bundles {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ MediaType string }
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(media, m.MediaType) {
			t.Errorf("%s is not listed; listed %q", filepath.Base(b), media)
		}
	}
	if len(got) != 2 {
		t.Fatalf("want both attestations, got %d: %s", len(got), stdout)
	}
	// Paved's own report still names the one bundle that admitted the artifact.
	code, stdout, stderr = pavedRun(t, append(args[:len(args)-1], "json", "-q", "[.artifacts[] | .bundle] | length")...)
	if code != 0 || stdout != "1\n" {
		t.Fatalf("--format json: exit %d, %q: %s", code, stdout, stderr)
	}
}

// TestVerifyGHTemplate: -t/--template formats the JSON output with a Go
// template as gh's does, needs a JSON format, and is exclusive with --jq.
func TestVerifyGHTemplate(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout string
		stderr string
	}{
		{"range over gh-json", []string{"--format", "gh-json", "-t", `{{range .}}{{.verificationResult.statement.predicateType}}{{"\n"}}{{end}}`}, 0, "https://slsa.dev/provenance/v1\n", ""},
		{"pluck and join", []string{"--format", "gh-json", "--template", `{{join "," (pluck "predicateType" (pluck "statement" (pluck "verificationResult" .)))}}`}, 0, "https://slsa.dev/provenance/v1", ""},
		{"table", []string{"--format", "json", "-t", `{{range .artifacts}}{{tablerow .signer.sourceRepository (truncate 10 .digest)}}{{end}}`}, 0, "https://github.com/malancas/attest-demo  sha256:...\n", ""},
		{"paved's report", []string{"--format", "json", "-t", `{{.verified}}`}, 0, "true", ""},
		{"timefmt", []string{"--format", "gh-json", "-t", `{{range .}}{{range .verificationResult.verifiedTimestamps}}{{timefmt "2006-01-02" .timestamp}}{{end}}{{end}}`}, 0, "2024-05-24", ""},
		{"without a JSON format", []string{"-t", "{{.}}"}, 2, "", "--format gh-json"},
		{"with --jq", []string{"--format", "gh-json", "-t", "{{.}}", "-q", "."}, 2, "", "cannot be used together"},
		{"does not parse", []string{"--format", "gh-json", "-t", "{{range .}"}, 2, "", "--template"},
		{"refused artifact prints nothing", []string{"--format", "gh-json", "-t", "{{.}}", "--owner=", "-R", "malancas/other"}, 1, "", "malancas/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pavedRun(t, append(ghBase(t), tt.args...)...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d: %s", code, tt.want, stderr)
			}
			if stdout != tt.stdout {
				t.Fatalf("stdout %q, want %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("stderr lacks %q: %s", tt.stderr, stderr)
			}
		})
	}
}
