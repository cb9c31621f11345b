package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jwt is an unsigned-looking token with the claims; Paved reads them before
// any certificate authority sees the token, which is what these tests cover.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	claims["aud"] = "sigstore"
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	claims["iss"] = "https://token.actions.githubusercontent.com"
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(p) + "." + enc([]byte("signature"))
}

// publicLogRun runs paved attest in dir with public-good Sigstore's trusted
// root and signing config given as files (so no network is needed to load
// them) and the environment env.
func publicLogRun(t *testing.T, dir string, env map[string]string, extra ...string) (int, string) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "app"), []byte("app"), 0o644)
	// The trust files inside the workspace, where a CI door confines paths.
	os.MkdirAll(filepath.Join(dir, "trust"), 0o755)
	for _, f := range []string{"public-good-trusted_root.json", "public-good-signing_config.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "trust", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "trust", f), b, 0o644)
	}
	getenv := func(k string) string { return env[k] }
	var stdout, stderr bytes.Buffer
	args := append([]string{"attest", "--trusted-root", filepath.Join(dir, "trust", "public-good-trusted_root.json"),
		"--signing-config", filepath.Join(dir, "trust", "public-good-signing_config.json"), "--service-timeout", "1ms",
		"--bundle-path", filepath.Join(dir, "app.sigstore.json"), filepath.Join(dir, "app")}, extra...)
	code := run(context.Background(), args, getenv, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

func assertPublicLogRefused(t *testing.T, dir string, code int, out string) {
	t.Helper()
	if code != 2 || !strings.Contains(out, "allow-public-log: true") || !strings.Contains(out, "private Sigstore instance") ||
		!strings.Contains(out, "https://rekor.sigstore.dev") {
		t.Fatalf("exit %d, output %q; want 2 naming both choices (a private instance, allow-public-log)", code, out)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("files left behind: %v", ents)
	}
}

// TestAttackPrivateRepoToPublicLogRefused: a private repository's identity
// token (GitHub's repository_visibility claim) must not reach public-good
// Fulcio and Rekor, whose public logs would publish the repository's name,
// commit and workflow; the refusal names both ways out.
func TestAttackPrivateRepoToPublicLogRefused(t *testing.T) {
	for _, vis := range []string{"private", "internal", "Private"} {
		t.Run(vis, func(t *testing.T) {
			dir := t.TempDir()
			token := jwt(t, map[string]any{"repository": "acme/secret", "repository_visibility": vis})
			code, out := publicLogRun(t, dir, nil, "--identity-token", token)
			assertPublicLogRefused(t, dir, code, out)
			if strings.Contains(out, token) {
				t.Fatal("the token was printed")
			}
		})
	}
	t.Run("public repository goes on to sign", func(t *testing.T) {
		dir := t.TempDir()
		token := jwt(t, map[string]any{"repository": "acme/open", "repository_visibility": "public"})
		_, out := publicLogRun(t, dir, nil, "--identity-token", token)
		if strings.Contains(out, "allow-public-log") {
			t.Fatalf("a public repository was refused: %s", out)
		}
	})
	t.Run("opt in goes on to sign", func(t *testing.T) {
		dir := t.TempDir()
		token := jwt(t, map[string]any{"repository": "acme/secret", "repository_visibility": "private"})
		_, out := publicLogRun(t, dir, nil, "--identity-token", token, "--allow-public-log")
		if strings.Contains(out, "allow-public-log") {
			t.Fatalf("the opt-in was ignored: %s", out)
		}
	})
}

// TestAttackPrivateRepoToPublicLogRefusedInGitHubActions: in a GitHub
// Actions job the event payload says the repository is private; a token
// without the visibility claim does not make it public, and a job that
// cannot tell is treated as private.
func TestAttackPrivateRepoToPublicLogRefusedInGitHubActions(t *testing.T) {
	for name, payload := range map[string]string{
		"visibility":       `{"repository":{"full_name":"acme/secret","visibility":"internal","private":false}}`,
		"private flag":     `{"repository":{"full_name":"acme/secret","private":true}}`,
		"unknown":          `{"action":"opened"}`,
		"payload conflict": `{"repository":{"visibility":"public","private":true}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			event := filepath.Join(t.TempDir(), "event.json")
			os.WriteFile(event, []byte(payload), 0o644)
			out := filepath.Join(t.TempDir(), "out")
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/secret", "GITHUB_EVENT_PATH": event,
				"GITHUB_OUTPUT": out, "GITHUB_WORKSPACE": dir}
			code, text := publicLogRun(t, dir, env, "--identity-token", jwt(t, map[string]any{"repository": "acme/secret"}))
			assertPublicLogRefused(t, dir, code, text)
		})
	}
}

// TestAttackPrivateRepoToPublicLogRefusedInGitLab: CI_PROJECT_VISIBILITY
// private or internal (or missing) refuses public-good Sigstore.
func TestAttackPrivateRepoToPublicLogRefusedInGitLab(t *testing.T) {
	for _, vis := range []string{"private", "internal", ""} {
		t.Run("visibility "+vis, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/secret", "CI_PROJECT_VISIBILITY": vis,
				"CI_PROJECT_DIR": dir, "PAVED_DOTENV": filepath.Join(t.TempDir(), "paved.env"),
				"SIGSTORE_ID_TOKEN": jwt(t, map[string]any{"project_path": "acme/secret"})}
			code, out := publicLogRun(t, dir, env)
			assertPublicLogRefused(t, dir, code, out)
		})
	}
}
