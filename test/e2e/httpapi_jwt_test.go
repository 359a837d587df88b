package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// oidcIssuer is an OpenID provider run by the test: its discovery document and JWKS,
// and the private keys to sign tokens with.
type oidcIssuer struct {
	srv *httptest.Server
	mu  sync.Mutex
	pub jwk.Set
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	o := &oidcIssuer{pub: jwk.NewSet()}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": o.srv.URL, "jwks_uri": o.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		_ = json.NewEncoder(w).Encode(o.pub)
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *oidcIssuer) key(t *testing.T, kid string, alg jwa.SignatureAlgorithm, publish bool) jwk.Key {
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
		o.publish(priv)
	}
	return priv
}

func (o *oidcIssuer) publish(priv jwk.Key) {
	pub, _ := priv.PublicKey()
	o.mu.Lock()
	_ = o.pub.AddKey(pub)
	o.mu.Unlock()
}

func (o *oidcIssuer) token(t *testing.T, key jwk.Key, change map[string]any) string {
	t.Helper()
	now := time.Now().Unix()
	c := map[string]any{"iss": o.srv.URL, "aud": "api://orders", "sub": "alice", "exp": now + 3600, "iat": now - 10,
		"scope": "orders:read profile"}
	for k, v := range change {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	payload, _ := json.Marshal(c)
	alg, _ := key.Algorithm()
	tok, err := jws.Sign(payload, jws.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// HTTP API JWT authorizers against a JWKS served by the test: RS256 and ES256 tokens,
// the 401s AWS gives for a missing, expired, wrong-audience, wrong-issuer or
// unknown-key token (with its www-authenticate challenge), 403 for a missing route
// scope, key rotation, and the claims in requestContext.authorizer.jwt (2.0) or
// requestContext.authorizer (1.0).
func TestHTTPAPIJWTAuthorizer(t *testing.T) {
	s := startSluice(t, startOpts{})
	o := newOIDCIssuer(t)
	rs := o.key(t, "rs-1", jwa.RS256(), true)
	es := o.key(t, "es-1", jwa.ES256(), true)
	later := o.key(t, "rs-2", jwa.RS256(), false)
	gw := s.nodeGW(t, "gw")

	apiID := str(s.awsJSON("apigatewayv2", "create-api", "--name", "jwt", "--protocol-type", "HTTP")["ApiId"])
	integ2 := str(s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", gw, "--payload-format-version", "2.0")["IntegrationId"])
	integ1 := str(s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", gw, "--payload-format-version", "1.0")["IntegrationId"])
	auth := s.awsJSON("apigatewayv2", "create-authorizer", "--api-id", apiID, "--name", "oidc", "--authorizer-type", "JWT",
		"--identity-source", "$request.header.Authorization",
		"--jwt-configuration", "Audience=api://orders,api://other,Issuer="+o.srv.URL)
	authID := str(auth["AuthorizerId"])
	if jc, _ := auth["JwtConfiguration"].(map[string]any); jc["Issuer"] != o.srv.URL || authID == "" {
		t.Fatalf("create-authorizer = %v", auth)
	}
	for _, rt := range []struct{ key, integ, scopes string }{
		{"GET /orders", integ2, ""}, {"GET /orders/mine", integ2, "orders:read"}, {"POST /orders", integ2, "orders:write"},
		{"GET /v1", integ1, ""},
	} {
		args := []string{"apigatewayv2", "create-route", "--api-id", apiID, "--route-key", rt.key, "--target", "integrations/" + rt.integ,
			"--authorization-type", "JWT", "--authorizer-id", authID}
		if rt.scopes != "" {
			args = append(args, "--authorization-scopes", rt.scopes)
		}
		s.aws(args...)
	}
	s.aws("apigatewayv2", "create-stage", "--api-id", apiID, "--stage-name", "$default", "--auto-deploy")
	s.allowInvoke("gw", apiID)

	type event struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	r := s.awaitStatus(t, 200, "GET", apiID, "/orders", "", "Authorization", o.token(t, rs, nil))
	var ev event
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("RS256 token: %d %s", r.Status, r.Body)
	}
	jwtDesc, _ := ev.RequestContext.Authorizer["jwt"].(map[string]any)
	claims, _ := jwtDesc["claims"].(map[string]any)
	if claims["sub"] != "alice" || claims["aud"] != "api://orders" || claims["iss"] != o.srv.URL {
		t.Fatalf("requestContext.authorizer = %v", ev.RequestContext.Authorizer)
	}
	if _, ok := claims["exp"].(string); !ok {
		t.Fatalf("claims are strings on AWS: exp = %#v", claims["exp"])
	}
	// ES256, and the "Bearer " prefix.
	if r := s.call(t, "GET", apiID, "/orders", "", "Authorization", "Bearer "+o.token(t, es, nil)); r.Status != 200 {
		t.Fatalf("ES256 bearer token: %d %s", r.Status, r.Body)
	}

	// Refusals: 401 {"message":"Unauthorized"}, with the challenge for bad tokens.
	if r := s.call(t, "GET", apiID, "/orders", ""); r.Status != 401 || string(r.Body) != `{"message":"Unauthorized"}` {
		t.Fatalf("no token: %d %s", r.Status, r.Body)
	}
	forged := o.token(t, rs, nil)
	forged = forged[:len(forged)-6] + "AAAAAA"
	for name, tc := range map[string]struct{ tok, desc string }{
		"expired":   {o.token(t, rs, map[string]any{"exp": time.Now().Unix() - 60}), "the token has expired"},
		"audience":  {o.token(t, es, map[string]any{"aud": "api://nope"}), "the token does not have a valid audience"},
		"issuer":    {o.token(t, rs, map[string]any{"iss": "https://login.example.com"}), "the token does not have a valid issuer"},
		"kid":       {o.token(t, later, nil), "the token has an unknown key id"},
		"signature": {forged, "the token does not have a valid signature"},
		"garbage":   {"not-a-jwt", "the token is not a valid JWT"},
	} {
		r := s.call(t, "GET", apiID, "/orders", "", "Authorization", tc.tok)
		want := `Bearer scope="" error="invalid_token" error_description="` + tc.desc + `"`
		if r.Status != 401 || string(r.Body) != `{"message":"Unauthorized"}` || r.Header.Get("www-authenticate") != want {
			t.Fatalf("%s: %d %s www-authenticate=%q", name, r.Status, r.Body, r.Header.Get("www-authenticate"))
		}
	}

	// Scopes: orders:read is in the token, orders:write is not.
	r = s.call(t, "GET", apiID, "/orders/mine", "", "Authorization", o.token(t, rs, nil))
	ev = event{}
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("scoped route: %d %s", r.Status, r.Body)
	}
	jwtDesc, _ = ev.RequestContext.Authorizer["jwt"].(map[string]any)
	if sc, _ := jwtDesc["scopes"].([]any); len(sc) != 1 || sc[0] != "orders:read" {
		t.Fatalf("scopes = %v", jwtDesc)
	}
	r = s.call(t, "POST", apiID, "/orders", "{}", "Authorization", o.token(t, rs, nil))
	if r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` ||
		!strings.Contains(r.Header.Get("www-authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("missing scope: %d %s %q", r.Status, r.Body, r.Header.Get("www-authenticate"))
	}
	// An scp claim works as well.
	if r := s.call(t, "POST", apiID, "/orders", "{}", "Authorization",
		o.token(t, rs, map[string]any{"scope": nil, "scp": []string{"orders:write"}})); r.Status != 200 {
		t.Fatalf("scp claim: %d %s", r.Status, r.Body)
	}

	// Payload 1.0: claims and scopes without the "jwt" level.
	r = s.call(t, "GET", apiID, "/v1", "", "Authorization", o.token(t, rs, map[string]any{"sub": "bob"}))
	ev = event{}
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("payload 1.0 route: %d %s", r.Status, r.Body)
	}
	if c, _ := ev.RequestContext.Authorizer["claims"].(map[string]any); c["sub"] != "bob" {
		t.Fatalf("payload 1.0 requestContext.authorizer = %v", ev.RequestContext.Authorizer)
	}

	// Key rotation: once the issuer publishes rs-2, its tokens are accepted (the
	// unknown kid makes the gateway fetch the JWKS again).
	o.publish(later)
	if r := s.call(t, "GET", apiID, "/orders", "", "Authorization", o.token(t, later, nil)); r.Status != 200 {
		t.Fatalf("rotated key: %d %s", r.Status, r.Body)
	}
}
