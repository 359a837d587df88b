package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"golang.org/x/time/rate"
)

// JWTAuthorizer is a compiled HTTP API JWT authorizer (see "Control access to HTTP
// APIs with JWT authorizers"): the token comes from one identity source, its
// signature is checked against the issuer's JWKS, and iss, aud (or client_id), exp,
// nbf and iat are validated; routes may require scopes.
type JWTAuthorizer struct {
	ID       string
	Name     string
	Issuer   string
	Audience []string
	Source   IdentitySource
	// ConfigErr is set when the stored authorizer cannot run; its routes fail with 500.
	ConfigErr string
}

// JWTClaims is what a valid token says: its claims rendered as strings, as
// requestContext.authorizer.jwt.claims carries them, and its scopes (scope or scp).
type JWTClaims struct {
	Claims map[string]string
	Scopes []string
}

// JWTError is why a token was refused; Description is the error_description of the
// www-authenticate challenge API Gateway sends with its 401.
type JWTError struct{ Description string }

func (e *JWTError) Error() string { return e.Description }

func jwtErr(format string, args ...any) *JWTError {
	return &JWTError{Description: fmt.Sprintf(format, args...)}
}

// jwksFreshFor is how long fetched keys are used before they are fetched again: API
// Gateway caches an issuer's public keys for two hours.
const jwksFreshFor = 2 * time.Hour

// maxJWKSBytes bounds a discovery document or key set.
const maxJWKSBytes = 1 << 20

// KeySets fetches and caches issuers' JSON Web Key Sets, found through
// {issuer}/.well-known/openid-configuration's jwks_uri. Keys are refreshed when they
// are older than two hours, or when a token names a key id the set does not have
// (key rotation); such refreshes are rate limited per issuer, so a flood of tokens
// with made-up key ids cannot turn into a flood of requests to the issuer. It is safe
// for concurrent use; no lock is held across a fetch.
type KeySets struct {
	client *http.Client

	mu      sync.Mutex // guards issuers
	issuers map[string]*issuerKeys
}

type issuerKeys struct {
	mu        sync.Mutex // guards the fields below
	set       jwk.Set
	fetchedAt time.Time
	inflight  chan struct{} // closed when the running fetch ends; nil when none runs
	lastErr   error
	refresh   *rate.Limiter // unknown-kid refreshes
}

// NewKeySets returns a cache that fetches with client (nil: a client with a 10 s
// timeout).
func NewKeySets(client *http.Client) *KeySets {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &KeySets{client: client, issuers: map[string]*issuerKeys{}}
}

func (k *KeySets) issuer(iss string) *issuerKeys {
	k.mu.Lock()
	defer k.mu.Unlock()
	ik := k.issuers[iss]
	if ik == nil {
		// Three refreshes at once, then one per ten seconds.
		ik = &issuerKeys{refresh: rate.NewLimiter(rate.Every(10*time.Second), 3)}
		k.issuers[iss] = ik
	}
	return ik
}

// key returns the issuer's key with id kid, fetching the key set when there is none
// yet, when it is stale, or (rate limited) when it lacks kid.
func (k *KeySets) key(ctx context.Context, iss, kid string, now time.Time) (jwk.Key, error) {
	ik := k.issuer(iss)
	set, fresh := ik.snapshot(now)
	if fresh {
		if key, ok := set.LookupKeyID(kid); ok {
			return key, nil
		}
		if !ik.refresh.AllowN(now, 1) {
			return nil, jwtErr("the token has an unknown key id")
		}
	}
	// No set yet, a stale one, or one without kid: fetch, or join the running fetch.
	select {
	case <-k.startFetch(ik, iss, now):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	set, _ = ik.snapshot(now)
	if set == nil {
		return nil, ik.err()
	}
	if key, ok := set.LookupKeyID(kid); ok {
		return key, nil
	}
	return nil, jwtErr("the token has an unknown key id")
}

// snapshot returns the cached set (a stale one too) and whether it is fresh.
func (ik *issuerKeys) snapshot(now time.Time) (jwk.Set, bool) {
	ik.mu.Lock()
	defer ik.mu.Unlock()
	return ik.set, ik.set != nil && now.Sub(ik.fetchedAt) < jwksFreshFor
}

func (ik *issuerKeys) err() error {
	ik.mu.Lock()
	defer ik.mu.Unlock()
	if ik.lastErr == nil {
		return errors.New("no keys")
	}
	return ik.lastErr
}

// startFetch starts fetching iss's key set unless a fetch already runs, and returns
// the channel closed when it ends. The set counts as fetched at now, the clock of the
// request that needed it.
func (k *KeySets) startFetch(ik *issuerKeys, iss string, now time.Time) chan struct{} {
	ik.mu.Lock()
	if ik.inflight != nil {
		ch := ik.inflight
		ik.mu.Unlock()
		return ch
	}
	ch := make(chan struct{})
	ik.inflight = ch
	ik.mu.Unlock()
	go func() {
		// The fetch is bounded by the client's timeout, not by one request's context:
		// other requests wait for it too.
		set, err := k.fetch(context.Background(), iss)
		ik.mu.Lock()
		if err == nil {
			ik.set, ik.fetchedAt = set, now
		}
		ik.lastErr = err
		ik.inflight = nil
		ik.mu.Unlock()
		close(ch)
	}()
	return ch
}

// fetch reads the issuer's discovery document and then its key set, keeping only
// public RSA and EC keys (API Gateway verifies asymmetric signatures only).
func (k *KeySets) fetch(ctx context.Context, iss string) (jwk.Set, error) {
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	body, err := k.get(ctx, strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &disc); err != nil || disc.JWKSURI == "" {
		return nil, fmt.Errorf("openid-configuration of %s has no jwks_uri", iss)
	}
	body, err = k.get(ctx, disc.JWKSURI)
	if err != nil {
		return nil, err
	}
	raw, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("jwks of %s: %w", iss, err)
	}
	set := jwk.NewSet()
	for i := range raw.Len() {
		key, _ := raw.Key(i)
		if kt := key.KeyType(); kt != jwa.RSA() && kt != jwa.EC() {
			continue
		}
		pub, err := key.PublicKey()
		if err != nil {
			continue
		}
		_ = set.AddKey(pub)
	}
	return set, nil
}

func (k *KeySets) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", url, maxJWKSBytes)
	}
	return body, nil
}

// allowedAlgs are the signature algorithms accepted per key type.
var allowedAlgs = map[string][]string{
	"RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
	"EC":  {"ES256", "ES384", "ES512"},
}

// Verify checks token for a, in API Gateway's order: the signature with the
// issuer's key named by kid, then iss, aud or client_id, exp, nbf and iat. A
// "Bearer " prefix is accepted and removed.
func (k *KeySets) Verify(ctx context.Context, a *JWTAuthorizer, token string, now time.Time) (*JWTClaims, error) {
	token = strings.TrimSpace(token)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	msg, err := jws.ParseString(token)
	if err != nil || len(msg.Signatures()) != 1 || strings.Count(token, ".") != 2 {
		return nil, jwtErr("the token is not a valid JWT")
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	kid, ok := hdr.KeyID()
	if !ok || kid == "" {
		return nil, jwtErr("the token has no key id")
	}
	alg, ok := hdr.Algorithm()
	if !ok {
		return nil, jwtErr("the token has no algorithm")
	}
	key, err := k.key(ctx, a.Issuer, kid, now)
	if err != nil {
		var je *JWTError
		if errors.As(err, &je) {
			return nil, je
		}
		return nil, fmt.Errorf("keys of issuer %s: %w", a.Issuer, err)
	}
	if !slices.Contains(allowedAlgs[key.KeyType().String()], alg.String()) {
		return nil, jwtErr("the token's algorithm is not supported")
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return nil, jwtErr("the token does not have a valid signature")
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(alg, key))
	if err != nil {
		return nil, jwtErr("the token does not have a valid signature")
	}
	return validateClaims(a, payload, now)
}

func validateClaims(a *JWTAuthorizer, payload []byte, now time.Time) (*JWTClaims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, jwtErr("the token is not a valid JWT")
	}
	if iss, _ := claims["iss"].(string); iss != a.Issuer {
		return nil, jwtErr("the token does not have a valid issuer")
	}
	if !audienceMatches(claims, a.Audience) {
		return nil, jwtErr("the token does not have a valid audience")
	}
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return nil, jwtErr("the token has no expiration")
	}
	if !now.Before(exp) {
		return nil, jwtErr("the token has expired")
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Before(nbf) {
		return nil, jwtErr("the token is not valid yet")
	}
	if iat, ok := numericDate(claims["iat"]); ok && now.Before(iat) {
		return nil, jwtErr("the token was issued in the future")
	}
	out := &JWTClaims{Claims: make(map[string]string, len(claims))}
	for name, v := range claims {
		out.Claims[name] = claimString(v)
	}
	switch s := claims["scope"].(type) {
	case string:
		out.Scopes = strings.Fields(s)
	}
	if out.Scopes == nil {
		switch s := claims["scp"].(type) {
		case string:
			out.Scopes = strings.Fields(s)
		case []any:
			for _, v := range s {
				if str, ok := v.(string); ok {
					out.Scopes = append(out.Scopes, str)
				}
			}
		}
	}
	return out, nil
}

// audienceMatches: "The aud or client_id claim must match one of the audience entries
// configured for the authorizer."
func audienceMatches(claims map[string]any, want []string) bool {
	switch aud := claims["aud"].(type) {
	case string:
		if slices.Contains(want, aud) {
			return true
		}
	case []any:
		for _, v := range aud {
			if s, ok := v.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	cid, ok := claims["client_id"].(string)
	return ok && slices.Contains(want, cid)
}

func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// claimString renders a claim as API Gateway passes it to integrations: strings as
// they are, numbers as written, anything else as JSON.
func claimString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// HasScope reports whether the token carries at least one of the route's scopes
// ("the token must include at least one of the route's authorizationScopes"), and
// returns the matching ones.
func (c *JWTClaims) HasScope(required []string) ([]string, bool) {
	var matched []string
	for _, s := range c.Scopes {
		if slices.Contains(required, s) {
			matched = append(matched, s)
		}
	}
	return matched, len(matched) > 0
}
