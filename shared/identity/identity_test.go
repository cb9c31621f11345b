package identity_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/fail"
	"github.com/paved-dev/paved/shared/identity"
)

func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func TestCheck(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := map[string]any{"iss": "https://token.actions.githubusercontent.com", "aud": "sigstore", "exp": float64(now.Unix() + 300), "sub": "repo:o/r"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"good", jwt(t, good), ""},
		{"audience list", jwt(t, with("aud", []any{"other", "sigstore"})), ""},
		{"wrong audience", jwt(t, with("aud", "api://AzureADTokenExchange")), `audience "api://AzureADTokenExchange", want "sigstore"`},
		{"expired", jwt(t, with("exp", float64(now.Unix()-1))), "expired at"},
		{"no issuer", jwt(t, with("iss", nil)), "no issuer"},
		{"not a jwt", "not-a-token", "not a JWT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := identity.Check(tc.token, "sigstore", now, "FIX-HINT")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Subject != "repo:o/r" {
					t.Fatalf("subject %q", c.Subject)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "FIX-HINT") {
				t.Fatalf("error %v, want %q and the fix", err, tc.want)
			}
			if fail.ClassOf(err) != fail.Config {
				t.Fatalf("class %v, want configuration error", fail.ClassOf(err))
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Fatal("error contains the token")
			}
		})
	}
}
