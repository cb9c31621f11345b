package command_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/verify"
)

const reusableSAN = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d"

// signerOnlyCase runs paved verify on the real reusable-workflow attestation
// with the given identity flags (or policy file) and asserts a configuration
// error naming the fix, with no report and no kit written.
func signerOnlyCase(t *testing.T, flags []string, policy, fix string) {
	t.Helper()
	dir := t.TempDir()
	report, kit := filepath.Join(dir, "report.json"), filepath.Join(dir, "kit")
	args := []string{"verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
		"--trusted-root", publicRoot, "--report-path", report, "--kit", kit}
	if policy != "" {
		p := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(p, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--policy", p)
	}
	code, stdout, stderr := pavedRun(t, append(args, flags...)...)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (configuration error)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, fix) {
		t.Errorf("the error does not name the fix %q:\n%s", fix, stderr)
	}
	for _, p := range []string{report, kit} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written although the policy was refused", p)
		}
	}
	if strings.Contains(stdout, "verified") {
		t.Errorf("stdout claims a verification: %s", stdout)
	}
}

// TestAttackSignerWithoutSourceRefused: a rule that names only the signing
// (reusable) workflow accepts any repository that calls it. The fixture was
// built by malancas/attest-demo through GitHub's shared attestation workflow;
// a gate meant for another repository, written with only the signer, must be
// refused as misconfigured rather than accept it.
func TestAttackSignerWithoutSourceRefused(t *testing.T) {
	tests := []struct {
		name   string
		flags  []string
		policy string
		fix    string
	}{
		{"signer repo flag", []string{"--signer-repo", "github/artifact-attestations-workflows"}, "", "add --owner OWNER or --repo OWNER/REPO"},
		{"signer workflow flag", []string{"--signer-workflow", "github/artifact-attestations-workflows/.github/workflows/attest.yml"}, "", "add --owner OWNER or --repo OWNER/REPO"},
		{"signer workflow with digests", []string{"--signer-workflow", "github/artifact-attestations-workflows/.github/workflows/attest.yml",
			"--signer-digest", "09b495c3f12c7881b3cc17209a327792065c1a1d", "--source-ref", "refs/heads/main"}, "", "add --owner OWNER or --repo OWNER/REPO"},
		{"policy file signer only", nil, "version: 1\nidentities:\n  - name: shared workflow\n    signer-repo: github/artifact-attestations-workflows\n", "owner: or repo: in a policy file"},
		{"policy file, second rule signer only", nil, "version: 1\nidentities:\n  - repo: malancas/attest-demo\n  - signer-workflow: github/artifact-attestations-workflows/.github/workflows/attest.yml\n", "identities[1]"},
		{"gitlab ci-config-ref-uri flag", []string{"--ci-config-ref-uri", "gitlab.com/shared/pipelines//build.yml@refs/heads/main"}, "", "add --project GROUP/PROJECT or --namespace GROUP"},
		{"gitlab policy file ci-config-ref-uri only", nil, "version: 1\nidentities:\n  - ci-config-ref-uri: gitlab.com/shared/pipelines//build.yml@refs/heads/main\n", "project: or namespace: in a policy file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { signerOnlyCase(t, tc.flags, tc.policy, tc.fix) })
	}
}

// TestAttackCIBuildMatchedBySignerOnlyIdentityRefused: a certificate identity
// of a CI workflow or pipeline (with GitHub's or GitLab's issuer) is the
// signer only; without an owner, repo, project or namespace it matches builds
// of any repository that runs that workflow.
func TestAttackCIBuildMatchedBySignerOnlyIdentityRefused(t *testing.T) {
	const fix = "add --owner OWNER or --repo OWNER/REPO (GitHub), or --project GROUP/PROJECT or --namespace GROUP (GitLab)"
	tests := []struct {
		name   string
		flags  []string
		policy string
	}{
		{"github cert identity", []string{"--cert-identity", reusableSAN, "--cert-oidc-issuer", verify.GitHubIssuer}, ""},
		{"github cert identity regex", []string{"--cert-identity-regex", `^https://github\.com/github/artifact-attestations-workflows/`, "--cert-oidc-issuer", verify.GitHubIssuer}, ""},
		{"github identity, other issuer", []string{"--cert-identity", reusableSAN, "--cert-oidc-issuer", "https://token.actions.githubusercontent.com/hammer-time"}, ""},
		{"github policy file", nil, "version: 1\nidentities:\n  - cert-identity: " + reusableSAN + "\n    cert-oidc-issuer: " + verify.GitHubIssuer + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { signerOnlyCase(t, tc.flags, tc.policy, fix) })
	}
	t.Run("with a source constraint it verifies", func(t *testing.T) {
		code, _, stderr := pavedRun(t, "verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
			"--trusted-root", publicRoot, "--repo", "malancas/attest-demo", "--cert-identity", reusableSAN, "--cert-oidc-issuer", verify.GitHubIssuer)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("a non-CI identity needs none", func(t *testing.T) {
		r := verify.Rule{CertIdentity: "release@example.com", CertOIDCIssuer: "https://accounts.google.com"}
		if _, err := r.Identity(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAttackGitLabPipelineMatchedBySignerOnlyIdentityRefused: GitLab's
// certificate identity is the pipeline definition (ci_config_ref_uri), which
// a shared definition in another project makes the same for every project
// that runs it; alone, or as ci-config-ref-uri alone, it is refused.
func TestAttackGitLabPipelineMatchedBySignerOnlyIdentityRefused(t *testing.T) {
	const fix = "add --owner OWNER or --repo OWNER/REPO (GitHub), or --project GROUP/PROJECT or --namespace GROUP (GitLab)"
	shared := "https://gitlab.com/shared/pipelines//build.yml@refs/heads/main"
	tests := []struct {
		name   string
		flags  []string
		policy string
		fix    string
	}{
		{"cert identity", []string{"--cert-identity", shared, "--cert-oidc-issuer", "https://gitlab.com"}, "", fix},
		{"cert identity, self-managed issuer", []string{"--cert-identity", "https://git.example.com/shared/pipelines//build.yml@refs/heads/main", "--cert-oidc-issuer", "https://git.example.com"}, "", fix},
		{"cert identity regex", []string{"--cert-identity-regex", `^https://gitlab\.com/shared/pipelines//`, "--cert-oidc-issuer", "https://gitlab.com"}, "", fix},
		{"policy file cert identity", nil, "version: 1\nidentities:\n  - cert-identity: " + shared + "\n    cert-oidc-issuer: https://gitlab.com\n", fix},
		{"ci-config-ref-uri", []string{"--ci-config-ref-uri", "gitlab.com/shared/pipelines//build.yml@refs/heads/main", "--gitlab-url", "https://gitlab.com"}, "", "add --project GROUP/PROJECT or --namespace GROUP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { signerOnlyCase(t, tc.flags, tc.policy, tc.fix) })
	}
	r := verify.Rule{Project: "g/p", CIConfigRefURI: "gitlab.com/shared/pipelines//build.yml@refs/heads/main"}
	if _, err := r.Identity(); err != nil {
		t.Fatalf("with a project it is accepted: %v", err)
	}
}

// TestSignerRuleVerifies: the rule step summaries suggest for a CI signer
// carries the source and verifies the signer's own attestation.
func TestSignerRuleVerifies(t *testing.T) {
	r := verify.SignerRule(reusableSAN, verify.GitHubIssuer, "https://github.com/malancas/attest-demo")
	if r.Repo != "malancas/attest-demo" {
		t.Fatalf("rule %+v has no source repository", r)
	}
	code, _, stderr := pavedRun(t, append([]string{"verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
		"--trusted-root", publicRoot}, r.Args()...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	other := verify.SignerRule(reusableSAN, verify.GitHubIssuer, "https://github.com/someone/else")
	if code, _, _ := pavedRun(t, append([]string{"verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
		"--trusted-root", publicRoot}, other.Args()...)...); code != 1 {
		t.Fatalf("another source repository: exit %d, want 1", code)
	}
	gl := verify.SignerRule("https://gitlab.example.com/g/p//.gitlab-ci.yml@refs/heads/main", "https://gitlab.example.com", "https://gitlab.example.com/g/p")
	if gl.Project != "g/p" || gl.GitLabURL != "https://gitlab.example.com" {
		t.Fatalf("gitlab rule %+v", gl)
	}
	if _, err := gl.Identity(); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyBundleSHA512Subjects: npm provenance names the package by SHA-512
// only; verify-bundle must digest the file in the algorithms the statement
// uses, as paved verify does, and still refuse another file.
func TestVerifyBundleSHA512Subjects(t *testing.T) {
	const san = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	args := func(file string) []string {
		return []string{"verify-bundle", "--bundle", pub("sigstore-js-2.1.0-bundle.json"), "--certificate-identity", san,
			"--certificate-oidc-issuer", verify.GitHubIssuer, "--trusted-root", publicRoot, file}
	}
	code, stdout, stderr := pavedRun(t, args(pub("sigstore-js-2.1.0.tgz"))...)
	if code != 0 {
		t.Fatalf("the npm package does not verify: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := pavedRun(t, args(pub("reusable-workflow-artifact"))...); code != 1 {
		t.Fatalf("another file: exit %d, want 1: %s", code, stderr)
	}
}

// floodBundle is a small, well-formed bundle whose message signature names
// the artifact with digest sum but whose signature is worthless.
func floodBundle(sum [32]byte) string {
	return `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"flood"}},` +
		`"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"` + base64.StdEncoding.EncodeToString(sum[:]) + `"},"signature":"AAAA"}}`
}

// TestAttackBundleFloodBounded: a JSON Lines file of more bundles than the
// budget is refused before any is verified, and many bundles naming one
// artifact are tried only up to the per-artifact bound, with a short failure
// list, instead of being verified and listed one by one.
func TestAttackBundleFloodBounded(t *testing.T) {
	dir := t.TempDir()
	art := filepath.Join(dir, "app")
	if err := os.WriteFile(art, []byte("app"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := floodBundle(sha256.Sum256([]byte("app"))) + "\n"
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat(line, n)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policy := []string{"--repo", "malancas/attest-demo", "--trusted-root", publicRoot}
	t.Run("more bundles than the budget", func(t *testing.T) {
		report := filepath.Join(dir, "report.json")
		code, _, stderr := pavedRun(t, append([]string{"verify", art, "--bundle", write("flood.jsonl", verify.DefaultMaxBundles+1), "--report-path", report}, policy...)...)
		if code != 2 || !strings.Contains(stderr, "exceed 10000 bundles in all") {
			t.Fatalf("exit %d, want 2 naming the bound: %s", code, stderr)
		}
		if _, err := os.Stat(report); err == nil {
			t.Error("a report was written for refused inputs")
		}
	})
	t.Run("more candidates than the per-artifact bound", func(t *testing.T) {
		report := filepath.Join(dir, "many.json")
		code, _, stderr := pavedRun(t, append([]string{"verify", art, "--bundle", write("many.jsonl", verify.DefaultMaxCandidates+44), "--report-path", report}, policy...)...)
		if code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, stderr)
		}
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Artifacts []struct{ Failures []verify.Failure }
		}
		if err := json.Unmarshal(data, &rep); err != nil || len(rep.Artifacts) != 1 {
			t.Fatalf("report %s: %v", data, err)
		}
		fs := rep.Artifacts[0].Failures
		if len(fs) != verify.DefaultMaxFailures+2 {
			t.Fatalf("%d failures listed, want %d listed, a count of the rest and the untried", len(fs), verify.DefaultMaxFailures)
		}
		if !strings.Contains(fs[len(fs)-2].Reason, fmt.Sprintf("and %d more", verify.DefaultMaxCandidates-verify.DefaultMaxFailures)) ||
			!strings.Contains(fs[len(fs)-1].Reason, "44 more bundle(s) name") {
			t.Fatalf("the list does not count what it left out: %+v", fs[len(fs)-2:])
		}
	})
}

// TestAttackBundleBytesFloodBounded: bundle files that together exceed the
// byte budget are refused from their sizes, before they are read (the files
// here are sparse: reading them would take seconds and hundreds of MiB).
func TestAttackBundleBytesFloodBounded(t *testing.T) {
	dir := t.TempDir()
	flood := filepath.Join(dir, "bundles")
	if err := os.Mkdir(flood, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.jsonl", "b.jsonl", "c.jsonl"} {
		f, err := os.Create(filepath.Join(flood, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(100 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	report := filepath.Join(dir, "report.json")
	start := time.Now()
	code, _, stderr := pavedRun(t, "verify", pub("reusable-workflow-artifact"), "--bundle", pub("reusable-workflow-attestation.sigstore.json"),
		"--bundle", flood, "--repo", "malancas/attest-demo", "--trusted-root", publicRoot, "--report-path", report)
	if code != 2 || !strings.Contains(stderr, "exceed 256 MiB in all") || !strings.Contains(stderr, "c.jsonl") {
		t.Fatalf("exit %d, want 2 naming the bound and the file past it: %s", code, stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %s: the files were read", d)
	}
	if _, err := os.Stat(report); err == nil {
		t.Error("a report was written for refused inputs")
	}
}
