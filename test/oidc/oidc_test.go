package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/paved-dev/paved/test/oidc"
)

func startIssuer(t *testing.T) *oidc.Issuer {
	t.Helper()
	iss, err := oidc.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	return iss
}

// verify checks a token the way Fulcio does: discovery, JWKS, signature,
// issuer, audience and expiry, through an independent OIDC client.
func verify(ctx context.Context, t *testing.T, iss *oidc.Issuer, token, audience string) (map[string]any, error) {
	t.Helper()
	provider, err := gooidc.NewProvider(ctx, iss.URL())
	if err != nil {
		t.Fatalf("discovery of %s: %v", iss.URL(), err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: audience}).Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims, nil
}

func TestIssuerURLIsLoopback(t *testing.T) {
	iss := startIssuer(t)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+$`).MatchString(iss.URL()) {
		t.Fatalf("URL() = %q, want http://127.0.0.1:PORT", iss.URL())
	}
}

func TestMintVerifies(t *testing.T) {
	iss := startIssuer(t)
	tests := []struct {
		name   string
		claims map[string]any
		want   map[string]string
	}{
		{"github", oidc.GitHubClaims("octo-org/octo-repo"), map[string]string{
			"sub":              "repo:octo-org/octo-repo:ref:refs/heads/main",
			"job_workflow_ref": "octo-org/octo-repo/.github/workflows/build.yml@refs/heads/main",
			"iss":              iss.URL(),
		}},
		{"gitlab", oidc.GitLabClaims("group/sub/project"), map[string]string{
			"sub":               "project_path:group/sub/project:ref_type:branch:ref:main",
			"namespace_path":    "group/sub",
			"ci_config_ref_uri": "gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := iss.Mint(tt.claims, "sigstore", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verify(t.Context(), t, iss, token, "sigstore")
			if err != nil {
				t.Fatalf("verifying minted token: %v", err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("claim %s = %v, want %q", k, got[k], v)
				}
			}
			if sha, _ := got["sha"].(string); !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(sha) {
				t.Errorf("sha = %q, want 40 hex digits", sha)
			}
			if _, err := verify(t.Context(), t, iss, token, "someone-else"); err == nil {
				t.Error("token verified for the wrong audience")
			}
		})
	}
}

func TestMintClaimsOverrideDefaults(t *testing.T) {
	iss := startIssuer(t)
	token, err := iss.Mint(map[string]any{"iss": "https://token.actions.githubusercontent.com"}, "sigstore", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t.Context(), t, iss, token, "sigstore"); err == nil || !strings.Contains(err.Error(), "different provider") {
		t.Fatalf("verify with overridden iss: err = %v, want an issuer mismatch", err)
	}
	expired, err := iss.Mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}, "sigstore", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t.Context(), t, iss, expired, "sigstore"); err == nil {
		t.Fatal("expired token verified")
	}
	if _, err := iss.Mint(nil, "sigstore", 0); err == nil {
		t.Fatal("Mint accepted a zero ttl")
	}
}

// TestClaimsCoverFulcioTemplates lists the claims Fulcio v1.8.8's
// config/identity/config.yaml templates read for each CI provider; Fulcio
// refuses a certificate with HTTP 400 when one is missing.
func TestClaimsCoverFulcioTemplates(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		need   []string
	}{
		{"github-workflow", oidc.GitHubClaims("o/r"), []string{
			"event_name", "sha", "workflow", "repository", "ref", "job_workflow_ref",
			"job_workflow_sha", "runner_environment", "repository_id", "repository_owner",
			"repository_owner_id", "workflow_ref", "workflow_sha", "run_id", "run_attempt",
			"repository_visibility",
		}},
		{"gitlab-pipeline", oidc.GitLabClaims("g/p"), []string{
			"ci_config_ref_uri", "ci_config_sha", "runner_environment", "project_path", "sha",
			"ref_type", "ref", "project_id", "namespace_path", "namespace_id", "pipeline_source",
			"job_id", "project_visibility",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.need {
				if _, ok := tt.claims[c]; !ok {
					t.Errorf("claim %q missing", c)
				}
			}
		})
	}
}

func TestGitHubTokenEndpoint(t *testing.T) {
	iss := startIssuer(t)
	requestURL, requestToken := iss.GitHubRequest("octo-org/octo-repo")
	if !strings.Contains(requestURL, "?") {
		t.Fatalf("request URL %q has no query; GitHub clients append &audience=", requestURL)
	}

	t.Run("authorized", func(t *testing.T) {
		token, err := oidc.FetchGitHubToken(t.Context(), nil, requestURL, requestToken, "sigstore")
		if err != nil {
			t.Fatal(err)
		}
		claims, err := verify(t.Context(), t, iss, token, "sigstore")
		if err != nil {
			t.Fatal(err)
		}
		if claims["repository"] != "octo-org/octo-repo" {
			t.Errorf("repository = %v", claims["repository"])
		}
	})

	t.Run("appended audience like actions/core", func(t *testing.T) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, requestURL+"&audience=custom", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "bearer "+requestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})

	for _, tt := range []struct{ name, header string }{
		{"missing", ""},
		{"wrong token", "Bearer " + strings.Repeat("0", len(requestToken))},
		{"wrong scheme", "Basic " + requestToken},
		{"empty bearer", "Bearer "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, requestURL+"&audience=sigstore", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}

	t.Run("FetchGitHubToken reports refusal", func(t *testing.T) {
		_, err := oidc.FetchGitHubToken(t.Context(), nil, requestURL, "nope", "sigstore")
		if !errors.Is(err, oidc.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
	})
}

func TestCloseOnContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	iss, err := oidc.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(iss.URL() + oidc.DiscoveryPath)
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("issuer still serving after its context was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := iss.Close(); err != nil {
		t.Fatal(err)
	}
}
