// Package oidc is a real OpenID Connect issuer for tests: it serves discovery
// and a JWKS on 127.0.0.1, mints RS256 ID tokens shaped like the ones GitHub
// Actions and GitLab CI issue, and plays GitHub's ID-token request endpoint.
package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// DiscoveryPath is where the OpenID Provider configuration is served.
	DiscoveryPath = "/.well-known/openid-configuration"
	// JWKSPath is where the issuer's public signing keys are served.
	JWKSPath = "/.well-known/jwks"
	// GitHubTokenPath plays GitHub's ACTIONS_ID_TOKEN_REQUEST_URL endpoint.
	GitHubTokenPath = "/github/token"

	// GitHubTokenTTL is the lifetime of tokens handed out by the GitHub token
	// request endpoint; each request mints a fresh token, as GitHub does.
	GitHubTokenTTL = 10 * time.Minute

	maxRequestBytes = 64 << 10
)

// Issuer is a running OIDC issuer. Its methods are safe for concurrent use.
type Issuer struct {
	url      string
	key      *rsa.PrivateKey
	keyID    string
	signer   jose.Signer
	server   *http.Server
	handler  http.Handler
	done     chan struct{}
	stopCtx  func() bool
	closeErr error
	once     sync.Once

	mu       sync.Mutex
	requests map[string]map[string]any // GitHub request token -> claim set
}

// Start generates a fresh RSA signing key and serves the issuer on a free
// port of 127.0.0.1. The issuer URL is exactly http://127.0.0.1:PORT. The
// issuer stops when Close is called or when ctx is done.
func Start(ctx context.Context) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating issuer key: %w", err)
	}
	keyID, err := thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), keyID),
	)
	if err != nil {
		return nil, fmt.Errorf("creating token signer: %w", err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the OIDC issuer: %w", err)
	}

	iss := &Issuer{
		url:      "http://" + ln.Addr().String(),
		key:      key,
		keyID:    keyID,
		signer:   signer,
		done:     make(chan struct{}),
		requests: make(map[string]map[string]any),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, iss.serveDiscovery)
	mux.HandleFunc("GET "+JWKSPath, iss.serveJWKS)
	mux.HandleFunc("GET "+GitHubTokenPath, iss.serveGitHubToken)
	iss.handler = http.MaxBytesHandler(mux, maxRequestBytes)
	iss.server = &http.Server{
		Handler:           iss.handler,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    maxRequestBytes,
	}
	go func() {
		defer close(iss.done)
		_ = iss.server.Serve(ln)
	}()
	iss.stopCtx = context.AfterFunc(ctx, func() { _ = iss.Close() })
	return iss, nil
}

// URL returns the issuer URL, the value of the iss claim.
func (i *Issuer) URL() string { return i.url }

// Handler returns the issuer's HTTP handler, for serving the same issuer on
// another listener (for example one inside a private network namespace that
// reaches the same address). Its documents always name URL().
func (i *Issuer) Handler() http.Handler { return i.handler }

// Close stops the server. It is safe to call more than once.
func (i *Issuer) Close() error {
	i.once.Do(func() {
		if i.stopCtx != nil {
			i.stopCtx()
		}
		i.closeErr = i.server.Close()
		<-i.done
	})
	return i.closeErr
}

// Mint signs an RS256 JWT carrying iss, aud, iat, nbf, exp and jti, plus the
// given claims; a claim in claims overrides the default of the same name.
func (i *Issuer) Mint(claims map[string]any, audience string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("minting token: ttl must be positive, got %v", ttl)
	}
	now := time.Now()
	all := map[string]any{
		"iss": i.url,
		"aud": audience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"jti": rand.Text(),
	}
	maps.Copy(all, claims)
	token, err := jwt.Signed(i.signer).Claims(all).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return token, nil
}

// GitHubRequest registers a fresh random request token bound to the claim
// set of GitHubClaims(repo) and returns the pair GitHub Actions exposes as
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. Like
// GitHub's, the URL already carries a query, so clients append
// "&audience=...".
func (i *Issuer) GitHubRequest(repo string) (requestURL, requestToken string) {
	return i.GitHubRequestFor(GitHubClaims(repo))
}

// GitHubRequestFor is GitHubRequest for a claim set of the caller's, such as
// a job of a reusable workflow (GitHubReusableClaims).
func (i *Issuer) GitHubRequestFor(claims map[string]any) (requestURL, requestToken string) {
	token := rand.Text()
	i.mu.Lock()
	i.requests[token] = claims
	i.mu.Unlock()
	return i.url + GitHubTokenPath + "?api-version=2.0", token
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.url + JWKSPath,
		"authorization_endpoint":                i.url + "/authorize",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf"},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &i.key.PublicKey,
		KeyID:     i.keyID,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

func (i *Issuer) serveGitHubToken(w http.ResponseWriter, r *http.Request) {
	claims, ok := i.lookupRequestToken(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="github-oidc"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "bad or missing bearer token"})
		return
	}
	audience := r.URL.Query().Get("audience")
	if audience == "" {
		// GitHub's default audience is the URL of the repository owner.
		owner, _ := claims["repository_owner"].(string)
		audience = "https://github.com/" + owner
	}
	token, err := i.Mint(claims, audience, GitHubTokenTTL)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": token})
}

func (i *Issuer) lookupRequestToken(header string) (map[string]any, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	// Compare in constant time so the endpoint behaves like a real secret check.
	for known, claims := range i.requests {
		if subtle.ConstantTimeCompare([]byte(known), []byte(token)) == 1 {
			return maps.Clone(claims), true
		}
	}
	return nil, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func thumbprint(pub *rsa.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("computing key id: %w", err)
	}
	return hex.EncodeToString(tp[:8]), nil
}

// ErrUnauthorized is returned by FetchGitHubToken when the endpoint refuses
// the request token.
var ErrUnauthorized = errors.New("request token refused")

// FetchGitHubToken performs the request a GitHub Actions client makes with
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN and returns
// the ID token. client may be nil for http.DefaultClient.
func FetchGitHubToken(ctx context.Context, client *http.Client, requestURL, requestToken, audience string) (string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("parsing token request URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("building token request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+requestToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting ID token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Value string `json:"value"`
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxRequestBytes))
	if resp.StatusCode == http.StatusUnauthorized {
		return "", fmt.Errorf("requesting ID token: %w (HTTP %d)", ErrUnauthorized, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting ID token: HTTP %d", resp.StatusCode)
	}
	if err := dec.Decode(&body); err != nil {
		return "", fmt.Errorf("decoding ID token response: %w", err)
	}
	if body.Value == "" {
		return "", errors.New("decoding ID token response: empty value")
	}
	return body.Value, nil
}
