package identity_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/shared/identity"
)

func fuzzJWT(payload string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

// FuzzParseUnverified feeds arbitrary OIDC tokens to the claims reader:
// nothing panics, the typed claims agree with the raw ones, and a token
// rebuilt from the raw claims reads as the same claims.
func FuzzParseUnverified(f *testing.F) {
	f.Add(fuzzJWT(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/heads/main","aud":"sigstore","exp":1900000000}`))
	f.Add(fuzzJWT(`{"iss":"https://gitlab.com","sub":"project_path:g/p:ref_type:branch:ref:main","aud":["sigstore","other"],"exp":1.7e9,"namespace_path":"g"}`))
	f.Add("a.b")
	f.Add(fuzzJWT(`{"aud":[1,"x",null],"exp":"soon"}`))
	now := time.Unix(1800000000, 0)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := identity.ParseUnverified(token)
		identity.Check(token, "sigstore", now, "fix")
		if err != nil {
			return
		}
		if c.Raw == nil {
			t.Fatal("claims without raw claims")
		}
		if iss, _ := c.Raw["iss"].(string); iss != c.Issuer {
			t.Fatalf("issuer %q, raw %q", c.Issuer, iss)
		}
		payload, err := json.Marshal(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		again, err := identity.ParseUnverified(fuzzJWT(string(payload)))
		if err != nil {
			t.Fatalf("rebuilt token refused: %v", err)
		}
		if again.Issuer != c.Issuer || again.Subject != c.Subject || !slices.Equal(again.Audience, c.Audience) || !again.Expiry.Equal(c.Expiry) {
			t.Fatalf("claims %+v read back as %+v", c, again)
		}
		if strings.Count(token, ".") != 2 {
			t.Fatalf("accepted %q, which is not three parts", token)
		}
	})
}
