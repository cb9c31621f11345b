package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/test/oidc"
)

// attestAs runs paved attest in a workspace with a token and returns the bundle path.
func attestAs(t *testing.T, ws, token string) string {
	t.Helper()
	r := attestWithToken(t, ws, token, stk.SigningConfigPath)
	if r.code != 0 {
		t.Fatalf("attest: %s", r)
	}
	return filepath.Join(ws, "out.sigstore.json")
}

// TestVerifyGateOnLocalStack: bundles Paved made as a GitHub job, as a GitLab job
// and with cosign pass the gate under the right policy and are refused under a
// wrong one, including self-hosted runners when those are denied.
func TestVerifyGateOnLocalStack(t *testing.T) {
	ws := workspace(t)
	ghTok, _ := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	ghBundle := attestAs(t, ws, ghTok)
	ws2 := workspace(t)
	glTok, _ := stk.MintGitLabToken(glProject, 10*time.Minute)
	glBundle := attestAs(t, ws2, glTok)
	selfHosted := oidc.GitHubClaims(ghRepo)
	selfHosted["runner_environment"] = "self-hosted"
	shTok, err := stk.GitHubOIDC().Mint(selfHosted, "sigstore", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ws3 := workspace(t)
	shBundle := attestAs(t, ws3, shTok)

	// cosign signs provenance for the same artifact with the same identity; its
	// builder is the signing workflow, as the certificate says (a predicate that
	// names another builder is refused: TestAttackForgedProvenancePredicateRefused).
	ws4 := workspace(t)
	pred := filepath.Join(ws4, "pred.json")
	os.WriteFile(pred, []byte(`{"buildDefinition":{"buildType":"https://example.com/b"},"runDetails":{"builder":{"id":"`+ghSAN+`"}}}`), 0o644)
	cosTok, _ := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	cosBundle := filepath.Join(ws4, "cosign.sigstore.json")
	if r := execIn(t, ws4, nil, tool(t, "cosign"), "attest-blob", "--yes", "--identity-token", cosTok,
		"--signing-config", stk.SigningConfigPath, "--trusted-root", stk.TrustedRootPath, "--predicate", pred,
		"--type", "slsaprovenance1", "--bundle", cosBundle, filepath.Join(ws4, "dist", "app-linux-amd64")); r.code != 0 {
		t.Fatalf("cosign attest-blob: %s", r)
	}

	art := func(ws string) string { return filepath.Join(ws, "dist", "app-linux-amd64") }
	gh := []string{"--cert-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath}
	gl := []string{"--cert-oidc-issuer", stk.GitLabIssuer, "--trusted-root", stk.TrustedRootPath}
	cases := []struct {
		name   string
		art    string
		bundle string
		flags  []string
		want   int
		msg    string
	}{
		{"github owner", art(ws), ghBundle, append([]string{"--owner", "paved-dev"}, gh...), 0, ""},
		{"github repo, ref, hosted runner", art(ws), ghBundle, append([]string{"--repo", ghRepo, "--source-ref", "refs/heads/main", "--deny-self-hosted-runners"}, gh...), 0, ""},
		{"github signer workflow", art(ws), ghBundle, append([]string{"--owner", "paved-dev", "--signer-workflow", ghRepo + "/.github/workflows/build.yml"}, gh...), 0, ""},
		{"github wrong owner", art(ws), ghBundle, append([]string{"--owner", "evil"}, gh...), 1, "https://github.com/evil"},
		{"github wrong ref", art(ws), ghBundle, append([]string{"--repo", ghRepo, "--source-ref", "refs/tags/v1"}, gh...), 1, "refs/tags/v1"},
		{"self-hosted allowed", art(ws3), shBundle, append([]string{"--repo", ghRepo}, gh...), 0, ""},
		{"self-hosted denied", art(ws3), shBundle, append([]string{"--repo", ghRepo, "--deny-self-hosted-runners"}, gh...), 1, "self-hosted"},
		{"gitlab project", art(ws2), glBundle, append([]string{"--project", glProject, "--source-ref", "refs/heads/main"}, gl...), 0, ""},
		{"gitlab namespace and config", art(ws2), glBundle, append([]string{"--namespace", "paved-dev", "--ci-config-ref-uri", "gitlab.com/paved-dev/demo//.gitlab-ci.yml@refs/heads/main"}, gl...), 0, ""},
		{"gitlab wrong project", art(ws2), glBundle, append([]string{"--project", "paved-dev/other"}, gl...), 1, "paved-dev/other"},
		{"gitlab bundle under a github policy", art(ws2), glBundle, append([]string{"--owner", "paved-dev"}, gh...), 1, "not an expected identity"},
		{"cosign bundle", art(ws4), cosBundle, append([]string{"--repo", ghRepo}, gh...), 0, ""},
		{"cosign bundle, other artifact", art(ws), cosBundle, append([]string{"--repo", ghRepo}, gh...), 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := execIn(t, "", nil, paved, append([]string{"verify", c.art, "--bundle", c.bundle}, c.flags...)...)
			if r.code != c.want || !strings.Contains(r.stderr, c.msg) {
				t.Fatalf("want exit %d mentioning %q: %s", c.want, c.msg, r)
			}
		})
	}
}

// TestVerifyRejectsTampering changes every part of a bundle in turn; paved
// verify must refuse each with exit 1 and say what failed.
func TestVerifyRejectsTampering(t *testing.T) {
	ws := workspace(t)
	tok, _ := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	bundle := attestAs(t, ws, tok)
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, at int) string {
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			at += len(d)
		}
		d[at] ^= 0x01
		return base64.StdEncoding.EncodeToString(d)
	}
	edit := func(s string, from, to string) string {
		d, _ := base64.StdEncoding.DecodeString(s)
		if !strings.Contains(string(d), from) {
			t.Fatalf("%q not found in %q", from, d)
		}
		return base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(d), from, to, 1)))
	}
	tle := func(b map[string]any) map[string]any {
		return b["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	}
	amd64 := "app-linux-amd64"
	cases := []struct {
		name string
		edit func(b map[string]any)
		msg  string
	}{
		{"payload", func(b map[string]any) {
			e := b["dsseEnvelope"].(map[string]any)
			e["payload"] = edit(e["payload"].(string), "refs/heads/main", "refs/heads/mainx")
		}, "signature does not match the signed statement"},
		{"subject", func(b map[string]any) {
			e := b["dsseEnvelope"].(map[string]any)
			e["payload"] = edit(e["payload"].(string), `"name":"`+amd64+`"`, `"name":"`+amd64+`x"`)
		}, "signature does not match the signed statement"},
		{"signature", func(b map[string]any) {
			s := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
			s["sig"] = flip(s["sig"].(string), -2)
		}, "signature does not match"},
		{"certificate", func(b map[string]any) {
			c := b["verificationMaterial"].(map[string]any)["certificate"].(map[string]any)
			c["rawBytes"] = flip(c["rawBytes"].(string), -5)
		}, "certificate does not chain"},
		{"log entry body", func(b map[string]any) {
			e := tle(b)
			e["canonicalizedBody"] = edit(e["canonicalizedBody"].(string), `"content":"`, `"content":"AAAA`)
		}, "transparency log entry"},
		{"inclusion proof", func(b map[string]any) {
			// The entry's index places its leaf in the tree the proof is for.
			e := tle(b)
			e["logIndex"] = "1000000"
			e["inclusionProof"].(map[string]any)["logIndex"] = "1000000"
		}, "inclusion"},
		{"checkpoint", func(b map[string]any) {
			// The second line of a checkpoint is the tree size.
			cp := tle(b)["inclusionProof"].(map[string]any)["checkpoint"].(map[string]any)
			lines := strings.SplitN(cp["envelope"].(string), "\n", 3)
			lines[1] += "0"
			cp["envelope"] = strings.Join(lines, "\n")
		}, "checkpoint"},
		{"timestamp", func(b map[string]any) {
			ts := b["verificationMaterial"].(map[string]any)["timestampVerificationData"].(map[string]any)["rfc3161Timestamps"].([]any)[0].(map[string]any)
			ts["signedTimestamp"] = flip(ts["signedTimestamp"].(string), -10)
		}, "timestamp"},
		{"no timestamp", func(b map[string]any) {
			delete(b["verificationMaterial"].(map[string]any), "timestampVerificationData")
		}, "timestamp"},
		{"no log entry", func(b map[string]any) {
			delete(b["verificationMaterial"].(map[string]any), "tlogEntries")
		}, "log"},
		{"media type", func(b map[string]any) {
			b["mediaType"] = "application/vnd.dev.sigstore.bundle.v9+json"
		}, "bundle"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b map[string]any
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			c.edit(b)
			out, _ := json.Marshal(b)
			p := filepath.Join(t.TempDir(), "tampered.sigstore.json")
			if err := os.WriteFile(p, out, 0o644); err != nil {
				t.Fatal(err)
			}
			r := execIn(t, ws, nil, paved, "verify", filepath.Join("dist", amd64), "--bundle", p, "--repo", ghRepo,
				"--cert-oidc-issuer", stk.GitHubIssuer, "--trusted-root", stk.TrustedRootPath)
			if r.code != 1 {
				t.Fatalf("tampered %s: want exit 1: %s", c.name, r)
			}
			if !strings.Contains(strings.ToLower(r.stderr), c.msg) {
				t.Errorf("tampered %s: the error does not name %q: %s", c.name, c.msg, r.stderr)
			}
		})
	}
}

// TestVerifySeveralRoots verifies, in one call, a real GitHub attestation under
// the public-good root and a local-stack attestation under the local root, with
// a policy file accepting both signers.
func TestVerifySeveralRoots(t *testing.T) {
	ws := workspace(t)
	tok, _ := stk.MintGitHubToken(ghRepo, 10*time.Minute)
	local := attestAs(t, ws, tok)
	root := repoRoot(t)
	public := filepath.Join(root, "testdata", "trust", "public-good-trusted_root.json")
	policy := "version: 1\ntrusted-roots: [" + public + ", " + stk.TrustedRootPath + "]\nidentities:\n" +
		"  - owner: malancas\n    signer-repo: github/artifact-attestations-workflows\n" +
		"  - repo: " + ghRepo + "\n    cert-oidc-issuer: " + stk.GitHubIssuer + "\n"
	pp := filepath.Join(ws, "policy.yml")
	os.WriteFile(pp, []byte(policy), 0o644)
	pb := filepath.Join(root, "testdata", "public-bundles")
	r := execIn(t, ws, nil, paved, "verify", "--policy", pp, "--bundle", local, "--bundle", filepath.Join(pb, "reusable-workflow-attestation.sigstore.json"),
		filepath.Join("dist", "app-linux-amd64"), filepath.Join(pb, "reusable-workflow-artifact"))
	if r.code != 0 || !strings.Contains(r.stdout, "verified: true") {
		t.Fatalf("%s", r)
	}
}
