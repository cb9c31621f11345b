package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	ghRepo    = "paved-dev/demo"
	ghSAN     = "https://github.com/paved-dev/demo/.github/workflows/build.yml@refs/heads/main"
	glProject = "paved-dev/demo"
	glSAN     = "https://gitlab.com/paved-dev/demo//.gitlab-ci.yml@refs/heads/main"
)

// workspace makes a job workspace holding two build artifacts.
func workspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"app-linux-amd64": "binary for amd64\n", "app-linux-arm64": "binary for arm64\n"} {
		if err := os.WriteFile(filepath.Join(ws, "dist", name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// statement decodes the in-toto statement inside a bundle.
func statement(t *testing.T, bundlePath string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		MediaType    string `json:"mediaType"`
		DsseEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Fatalf("bundle media type %q, want v0.3", b.MediaType)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func get(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// verifiers runs paved, cosign and gh (when owner is set) on one bundle and
// artifact with the given identity, and returns each exit code.
func verifiers(t *testing.T, bundle, artifact, san, issuer, owner string) map[string]result {
	t.Helper()
	out := map[string]result{}
	out["paved"] = execIn(t, "", nil, paved, "verify-bundle", "--bundle", bundle,
		"--certificate-identity", san, "--certificate-oidc-issuer", issuer, "--trusted-root", stk.TrustedRootPath, artifact)
	out["cosign"] = execIn(t, "", nil, tool(t, "cosign"), "verify-blob-attestation", "--bundle", bundle,
		"--trusted-root", stk.TrustedRootPath, "--certificate-identity", san, "--certificate-oidc-issuer", issuer,
		"--type", "slsaprovenance1", "--use-signed-timestamps",
		// The local stack runs Fulcio without a certificate transparency log.
		"--insecure-ignore-sct", artifact)
	if owner != "" {
		out["gh"] = execIn(t, "", []string{"GH_NO_UPDATE_NOTIFIER=1", "GH_TOKEN="}, tool(t, "gh"), "attestation", "verify", artifact,
			"--bundle", bundle, "--custom-trusted-root", stk.TrustedRootJSONLPath, "--owner", owner,
			"--cert-oidc-issuer", issuer)
	}
	return out
}

// githubStep is the environment GitHub Actions gives a step of a run of
// ghRepo that may request an ID token (reqURL, reqToken), with ws as the
// workspace, ghOut as GITHUB_OUTPUT, summary as GITHUB_STEP_SUMMARY ("" for
// none) and the local stack's trust material as the trusted-root and
// signing-config inputs; extra adds or sets the step's own variables.
func githubStep(ws, ghOut, summary, reqURL, reqToken string, extra ...string) []string {
	env := []string{
		"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "GITHUB_OUTPUT=" + ghOut,
		"GITHUB_REPOSITORY=" + ghRepo, "GITHUB_SERVER_URL=https://github.com",
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + reqToken,
		"INPUT_TRUSTED_ROOT=" + stk.TrustedRootPath, "INPUT_SIGNING_CONFIG=" + stk.SigningConfigPath,
	}
	if summary != "" {
		env = append(env, "GITHUB_STEP_SUMMARY="+summary)
	}
	return append(env, extra...)
}

func TestAttestGitHubJob(t *testing.T) {
	ws := workspace(t)
	reqURL, reqToken := stk.GitHubTokenRequest(ghRepo)
	ghOut := filepath.Join(t.TempDir(), "github_output")
	summary := filepath.Join(t.TempDir(), "step_summary")
	env := githubStep(ws, ghOut, summary, reqURL, reqToken, "GITHUB_RUN_ID=4242", "INPUT_SUBJECT_PATH=dist/*")
	r := execIn(t, ws, env, paved, "attest")
	if r.code != 0 {
		t.Fatalf("paved attest failed: %s", r)
	}
	bundle := filepath.Join(ws, "attestation.sigstore.json")
	outputs, _ := os.ReadFile(ghOut)
	if !strings.Contains(string(outputs), "bundle-path<<ghadelimiter_") || !strings.Contains(string(outputs), "\n"+bundle+"\n") {
		t.Fatalf("GITHUB_OUTPUT lacks bundle-path:\n%s", outputs)
	}
	if !strings.Contains(string(outputs), "signer-identity<<") || !strings.Contains(string(outputs), ghSAN) {
		t.Fatalf("GITHUB_OUTPUT lacks the signer identity:\n%s", outputs)
	}
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(sum), "gh attestation verify dist/app-linux-amd64 --bundle attestation.sigstore.json --owner paved-dev") {
		t.Fatalf("step summary lacks the gh command for the file the job built:\n%s", sum)
	}
	// The summary's paved and cosign commands, run as written in the
	// workspace, accept the bundle (gh's needs GitHub's trust root).
	ran := 0
	for _, line := range strings.Split(string(sum), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != "paved" && f[0] != "cosign") {
			continue
		}
		bin := paved
		if f[0] == "cosign" {
			bin = tool(t, "cosign")
		}
		ran++
		if v := execIn(t, ws, nil, bin, f[1:]...); v.code != 0 {
			t.Errorf("the summary's command %q fails: %s", line, v)
		}
	}
	if ran != 2 {
		t.Errorf("ran %d commands from the summary, want paved's and cosign's:\n%s", ran, sum)
	}
	if !strings.Contains(r.stdout, "::add-mask::") {
		t.Fatalf("the identity token was not masked:\n%s", r.stdout)
	}

	st := statement(t, bundle)
	if get(st, "predicateType") != "https://slsa.dev/provenance/v1" {
		t.Fatalf("predicate type %v", get(st, "predicateType"))
	}
	subjects, _ := st["subject"].([]any)
	if len(subjects) != 2 || get(subjects[0], "name") != "app-linux-amd64" {
		t.Fatalf("subjects %v", subjects)
	}
	pred := st["predicate"]
	checks := map[string]any{
		"buildType":           get(pred, "buildDefinition", "buildType"),
		"workflow.path":       get(pred, "buildDefinition", "externalParameters", "workflow", "path"),
		"workflow.ref":        get(pred, "buildDefinition", "externalParameters", "workflow", "ref"),
		"workflow.repository": get(pred, "buildDefinition", "externalParameters", "workflow", "repository"),
		"event_name":          get(pred, "buildDefinition", "internalParameters", "github", "event_name"),
		"runner":              get(pred, "buildDefinition", "internalParameters", "github", "runner_environment"),
		"builder":             get(pred, "runDetails", "builder", "id"),
	}
	want := map[string]any{
		"buildType": "https://actions.github.io/buildtypes/workflow/v1", "workflow.path": ".github/workflows/build.yml",
		"workflow.ref": "refs/heads/main", "workflow.repository": "https://github.com/paved-dev/demo",
		"event_name": "push", "runner": "github-hosted", "builder": ghSAN,
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("provenance %s = %v, want %v", k, checks[k], w)
		}
	}
	deps, _ := get(pred, "buildDefinition", "resolvedDependencies").([]any)
	if len(deps) != 1 || !strings.HasPrefix(get(deps[0], "uri").(string), "git+https://github.com/paved-dev/demo@refs/heads/main") || len(get(deps[0], "digest", "gitCommit").(string)) != 40 {
		t.Errorf("resolved dependencies %v", deps)
	}
	if inv, _ := get(pred, "runDetails", "metadata", "invocationId").(string); !strings.Contains(inv, "/actions/runs/") || !strings.Contains(inv, "/attempts/") {
		t.Errorf("invocation id %q, want the run URL with its attempt", inv)
	}

	artifact := filepath.Join(ws, "dist", "app-linux-amd64")
	for name, res := range verifiers(t, bundle, artifact, ghSAN, stk.GitHubIssuer, "paved-dev") {
		if res.code != 0 {
			t.Errorf("%s rejects the bundle: %s", name, res)
		}
	}
	t.Run("rejections", func(t *testing.T) { rejections(t, ws, bundle, artifact, ghSAN, stk.GitHubIssuer, "paved-dev") })
	assertNoSecrets(t, []string{reqToken}, []string{r.stdout, r.stderr}, ws, filepath.Dir(ghOut), filepath.Dir(summary))
}

func TestAttestGitLabJob(t *testing.T) {
	ws := workspace(t)
	token, err := stk.MintGitLabToken(glProject, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sums := "" // a checksums file as a release job would write it
	for _, n := range []string{"app-linux-amd64", "app-linux-arm64"} {
		r := execIn(t, filepath.Join(ws, "dist"), nil, "sha256sum", n)
		sums += r.stdout
	}
	if err := os.WriteFile(filepath.Join(ws, "SHA256SUMS"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"GITLAB_CI=true", "CI_PROJECT_DIR=" + ws, "CI_SERVER_URL=https://gitlab.com", "CI_PROJECT_PATH=" + glProject,
		"CI_PIPELINE_ID=777", "CI_JOB_ID=9001", "CI_JOB_NAME=paved-attest", "CI_RUNNER_ID=12", "CI_RUNNER_DESCRIPTION=shared-runner",
		"SIGSTORE_ID_TOKEN=" + token,
		"PAVED_SUBJECT_CHECKSUMS=SHA256SUMS", "PAVED_BUNDLE_PATH=release.sigstore.json", "PAVED_DOTENV=paved.env",
		"PAVED_TRUSTED_ROOT=" + stk.TrustedRootPath, "PAVED_SIGNING_CONFIG=" + stk.SigningConfigPath,
	}
	r := execIn(t, ws, env, paved, "attest")
	if r.code != 0 {
		t.Fatalf("paved attest failed: %s", r)
	}
	dotenv, err := os.ReadFile(filepath.Join(ws, "paved.env"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dotenv), "PAVED_ATTEST_BUNDLE_PATH="+filepath.Join(ws, "release.sigstore.json")+"\n") || !strings.Contains(string(dotenv), "PAVED_ATTEST_SIGNER_IDENTITY="+glSAN+"\n") {
		t.Fatalf("dotenv report:\n%s", dotenv)
	}
	bundle := filepath.Join(ws, "release.sigstore.json")
	pred := statement(t, bundle)["predicate"]
	want := map[string]any{
		"buildType":   "https://github.com/paved-dev/paved/blob/main/docs/buildtypes/gitlab-ci-v1.md",
		"config":      "gitlab.com/paved-dev/demo//.gitlab-ci.yml@refs/heads/main",
		"project":     "paved-dev/demo",
		"pipeline_id": "777",
		"job_id":      "9001",
		"runner":      "gitlab-hosted",
		"builder":     glSAN,
	}
	got := map[string]any{
		"buildType":   get(pred, "buildDefinition", "buildType"),
		"config":      get(pred, "buildDefinition", "externalParameters", "ci_config_ref_uri"),
		"project":     get(pred, "buildDefinition", "externalParameters", "project"),
		"pipeline_id": get(pred, "buildDefinition", "internalParameters", "gitlab", "pipeline_id"),
		"job_id":      get(pred, "buildDefinition", "internalParameters", "gitlab", "job_id"),
		"runner":      get(pred, "buildDefinition", "internalParameters", "gitlab", "runner_environment"),
		"builder":     get(pred, "runDetails", "builder", "id"),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("provenance %s = %v, want %v", k, got[k], w)
		}
	}
	artifact := filepath.Join(ws, "dist", "app-linux-arm64")
	for name, res := range verifiers(t, bundle, artifact, glSAN, stk.GitLabIssuer, "") {
		if res.code != 0 {
			t.Errorf("%s rejects the bundle: %s", name, res)
		}
	}
	t.Run("rejections", func(t *testing.T) { rejections(t, ws, bundle, artifact, glSAN, stk.GitLabIssuer, "") })
	assertNoSecrets(t, []string{token}, []string{r.stdout, r.stderr}, ws)
}

// rejections checks that paved, cosign and gh all refuse a wrong identity, a
// wrong artifact and tampered bundles.
func rejections(t *testing.T, ws, bundle, artifact, san, issuer, owner string) {
	other := filepath.Join(ws, "other")
	if err := os.WriteFile(other, []byte("rebuilt, not the attested bytes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(name string, edit func(b map[string]any)) string {
		var b map[string]any
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		edit(b)
		out, _ := json.Marshal(b)
		p := filepath.Join(t.TempDir(), name+".sigstore.json")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	payload := tamper("payload", func(b map[string]any) {
		env := b["dsseEnvelope"].(map[string]any)
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		p = []byte(strings.Replace(string(p), "refs/heads/main", "refs/heads/evil", 1))
		env["payload"] = base64.StdEncoding.EncodeToString(p)
	})
	sig := tamper("signature", func(b map[string]any) {
		s := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
		d, _ := base64.StdEncoding.DecodeString(s["sig"].(string))
		d[len(d)-3] ^= 0xff
		s["sig"] = base64.StdEncoding.EncodeToString(d)
	})
	cases := []struct {
		name, bundle, artifact, san string
	}{
		{"wrong identity", bundle, artifact, strings.Replace(san, "paved-dev/demo", "paved-dev/other", 1)},
		{"wrong artifact", bundle, other, san},
		{"tampered payload", payload, artifact, san},
		{"tampered signature", sig, artifact, san},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := owner
			if c.name == "wrong identity" && owner != "" {
				o = "someone-else"
			}
			for name, res := range verifiers(t, c.bundle, c.artifact, c.san, issuer, o) {
				if res.code == 0 {
					t.Errorf("%s accepts it: %s", name, res)
				}
			}
		})
	}
}
