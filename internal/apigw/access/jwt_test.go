package access

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// issuer is an OpenID issuer served by the test: discovery document, JWKS, and a
// signer for tokens.
type issuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	public  jwk.Set
	fetches int
}

func newIssuer(t *testing.T) *issuer {
	iss := &issuer{public: jwk.NewSet()}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.mu.Lock()
		defer iss.mu.Unlock()
		iss.fetches++
		_ = json.NewEncoder(w).Encode(iss.public)
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

// addKey makes a key, publishes its public half under kid (if publish) and returns
// the private JWK.
func (iss *issuer) addKey(t *testing.T, kid string, alg jwa.SignatureAlgorithm, publish bool) jwk.Key {
	t.Helper()
	var raw any
	var err error
	if alg == jwa.ES256() {
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, kid)
	_ = priv.Set(jwk.AlgorithmKey, alg)
	if publish {
		pub, _ := priv.PublicKey()
		iss.mu.Lock()
		_ = iss.public.AddKey(pub)
		iss.mu.Unlock()
	}
	return priv
}

func sign(t *testing.T, key jwk.Key, claims map[string]any) string {
	t.Helper()
	payload, _ := json.Marshal(claims)
	alg, _ := key.Algorithm()
	tok, err := jws.Sign(payload, jws.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func TestJWTVerify(t *testing.T) {
	iss := newIssuer(t)
	rsKey := iss.addKey(t, "rs1", jwa.RS256(), true)
	esKey := iss.addKey(t, "es1", jwa.ES256(), true)
	unpublished := iss.addKey(t, "later", jwa.RS256(), false)
	a := &JWTAuthorizer{ID: "j", Issuer: iss.srv.URL, Audience: []string{"api://one"}}
	ks := NewKeySets(nil)
	now := time.Unix(1_800_000_000, 0)
	good := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": iss.srv.URL, "aud": "api://one", "sub": "u1", "exp": now.Unix() + 60, "iat": now.Unix() - 5,
			"scope": "read write"}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	ctx := context.Background()
	for name, tok := range map[string]string{
		"RS256":           sign(t, rsKey, good(nil)),
		"ES256":           sign(t, esKey, good(nil)),
		"bearer prefix":   "Bearer " + sign(t, rsKey, good(nil)),
		"aud list":        sign(t, rsKey, good(map[string]any{"aud": []string{"x", "api://one"}})),
		"client_id":       sign(t, rsKey, good(map[string]any{"aud": nil, "client_id": "api://one"})),
		"nbf in the past": sign(t, rsKey, good(map[string]any{"nbf": now.Unix() - 1})),
	} {
		c, err := ks.Verify(ctx, a, tok, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Claims["sub"] != "u1" || c.Claims["exp"] != "1800000060" {
			t.Fatalf("%s: claims = %v", name, c.Claims)
		}
		if m, ok := c.HasScope([]string{"write"}); !ok || len(m) != 1 {
			t.Fatalf("%s: scopes = %v", name, c.Scopes)
		}
	}
	// An HS256 token signed with the RSA key's public modulus as secret (alg confusion),
	// and alg none, are refused.
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"rs1"}`))
	body, _ := json.Marshal(good(nil))
	none := hdr + "." + base64.RawURLEncoding.EncodeToString(body) + "."
	hs, _ := jws.Sign(body, jws.WithKey(jwa.HS256(), []byte("secret"), jws.WithProtectedHeaders(func() jws.Headers {
		h := jws.NewHeaders()
		_ = h.Set(jws.KeyIDKey, "rs1")
		return h
	}())))
	forged := sign(t, rsKey, good(nil))
	forged = forged[:len(forged)-4] + "AAAA"
	for name, tc := range map[string]struct{ tok, want string }{
		"expired":      {sign(t, rsKey, good(map[string]any{"exp": now.Unix() - 1})), "the token has expired"},
		"no exp":       {sign(t, rsKey, good(map[string]any{"exp": nil})), "the token has no expiration"},
		"wrong aud":    {sign(t, rsKey, good(map[string]any{"aud": "api://two"})), "the token does not have a valid audience"},
		"wrong iss":    {sign(t, rsKey, good(map[string]any{"iss": "https://evil.example"})), "the token does not have a valid issuer"},
		"not yet":      {sign(t, rsKey, good(map[string]any{"nbf": now.Unix() + 30})), "the token is not valid yet"},
		"future iat":   {sign(t, rsKey, good(map[string]any{"iat": now.Unix() + 30})), "the token was issued in the future"},
		"unknown kid":  {sign(t, unpublished, good(nil)), "the token has an unknown key id"},
		"bad sig":      {forged, "the token does not have a valid signature"},
		"alg none":     {none, "the token's algorithm is not supported"},
		"hs256":        {string(hs), "the token's algorithm is not supported"},
		"garbage":      {"abc", "the token is not a valid JWT"},
		"empty bearer": {"Bearer ", "the token is not a valid JWT"},
	} {
		_, err := ks.Verify(ctx, a, tc.tok, now)
		je, ok := err.(*JWTError)
		if !ok || je.Description != tc.want {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	// Rotation: once the issuer publishes the key, a token with its kid is accepted
	// after one refresh.
	pub, _ := unpublished.PublicKey()
	iss.mu.Lock()
	_ = iss.public.AddKey(pub)
	iss.mu.Unlock()
	if _, err := ks.Verify(ctx, a, sign(t, unpublished, good(nil)), now); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// Made-up key ids cannot make the gateway fetch without bound.
	iss.mu.Lock()
	before := iss.fetches
	iss.mu.Unlock()
	for range 20 {
		_, _ = ks.Verify(ctx, a, sign(t, iss.addKey(t, "nope", jwa.ES256(), false), good(nil)), now)
	}
	iss.mu.Lock()
	after := iss.fetches
	iss.mu.Unlock()
	if after-before > 3 {
		t.Fatalf("20 unknown kids caused %d fetches", after-before)
	}
}
