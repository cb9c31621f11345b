// Package identity provides OIDC identity tokens for keyless signing: one small
// interface over the places a token can come from, and early checks that turn an
// unusable token into an error that names the fix before any service sees it.
package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/paved-dev/paved/shared/fail"
)

// Audience is the audience Sigstore's Fulcio expects in identity tokens.
const Audience = "sigstore"

// Source provides an OIDC identity token.
type Source interface {
	// Describe names the source in messages, e.g. "the GitHub Actions OIDC request".
	Describe() string
	// Token returns a token for the audience.
	Token(ctx context.Context, audience string) (string, error)
}

// Static is a token given explicitly.
type Static struct {
	Value string
	// From says where the value came from, for messages (default "--identity-token").
	From string
}

var _ Source = Static{}

// Describe implements Source.
func (s Static) Describe() string {
	if s.From != "" {
		return s.From
	}
	return "--identity-token"
}

// Token implements Source.
func (s Static) Token(context.Context, string) (string, error) {
	v := strings.TrimSpace(s.Value)
	if v == "" {
		return "", fail.Configf("%s is empty: pass an OIDC identity token", s.Describe())
	}
	return v, nil
}

// File reads a token from a file, as written by CI systems and token helpers.
type File struct {
	Path string
	// ReadFile reads the file (default os.ReadFile).
	ReadFile func(string) ([]byte, error)
}

var _ Source = File{}

// Describe implements Source.
func (f File) Describe() string { return "identity token file " + f.Path }

// Token implements Source.
func (f File) Token(context.Context, string) (string, error) {
	read := f.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(f.Path)
	if err != nil {
		return "", fail.Configf("reading identity token file: %w", err)
	}
	if len(b) > 64<<10 {
		return "", fail.Configf("identity token file %s is larger than 64 KiB: is it really a token?", f.Path)
	}
	return Static{Value: string(b), From: f.Describe()}.Token(context.Background(), "")
}

// Claims are the unverified claims Paved reads to diagnose a token early.
// Fulcio verifies the token; nothing here is trusted for security decisions.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	Expiry   time.Time
	// Raw holds every claim, for building run metadata.
	Raw map[string]any
}

// ErrMalformed means the token is not a JWT.
var ErrMalformed = errors.New("identity token is not a JWT (three base64url parts separated by dots)")

// ParseUnverified decodes the claims of a JWT without verifying its signature.
func ParseUnverified(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fail.As(fail.Config, ErrMalformed)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fail.As(fail.Config, ErrMalformed)
	}
	raw := map[string]any{}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fail.As(fail.Config, ErrMalformed)
	}
	c := &Claims{Raw: raw}
	c.Issuer, _ = raw["iss"].(string)
	c.Subject, _ = raw["sub"].(string)
	switch aud := raw["aud"].(type) {
	case string:
		c.Audience = []string{aud}
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok {
				c.Audience = append(c.Audience, s)
			}
		}
	}
	if exp, ok := raw["exp"].(float64); ok {
		c.Expiry = time.Unix(int64(exp), 0)
	}
	return c, nil
}

// Check diagnoses a token before it is sent to a certificate authority: it must be
// a JWT for the audience that has not expired. fix is appended to every message,
// so the user learns how to obtain a good token on their platform.
func Check(token, audience string, now time.Time, fix string) (*Claims, error) {
	c, err := ParseUnverified(token)
	if err != nil {
		return nil, fail.Configf("%w; %s", err, fix)
	}
	found := false
	for _, a := range c.Audience {
		if a == audience {
			found = true
		}
	}
	if !found {
		return nil, fail.Configf("identity token has audience %q, want %q; %s", strings.Join(c.Audience, ","), audience, fix)
	}
	if !c.Expiry.IsZero() && !now.Before(c.Expiry) {
		return nil, fail.Configf("identity token expired at %s (now %s): request a fresh token right before signing; %s",
			c.Expiry.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), fix)
	}
	if c.Issuer == "" {
		return nil, fail.Configf("identity token has no issuer (iss claim); %s", fix)
	}
	return c, nil
}
