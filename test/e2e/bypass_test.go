package e2e

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// bypassCase is one attempt to get through a protected method with credentials that
// AWS refuses. want is the exact body; wantRE, when set, matches a body that carries
// timestamps.
type bypassCase struct {
	kind, name string
	req        func() *http.Request
	status     int
	want       string
	wantRE     *regexp.Regexp
}

// Every way an API Gateway method is protected, attacked with forged, missing,
// expired, replayed-and-altered, wrong-region and wrong-service credentials (where
// the kind of credential has such a variant): none is let through, and each refusal
// is the status and body AWS answers with ("How do I troubleshoot HTTP 403 errors
// from API Gateway?", "Troubleshoot signature mismatch errors with IAM
// authentication for API Gateway", the gateway response defaults). A positive
// control per kind proves the method is reachable with good credentials, so the
// refusals are the protection's and not a broken fixture's.
//
// A TOKEN authorizer's token and an API key sign nothing, so "altered body" has no
// meaning for them; their replay variant is a credential carried to a method or stage
// it was not granted for.
func TestAccessBypassRefused(t *testing.T) {
	s := startSluice(t, startOpts{})
	authFn := s.createFunction("bp-auth", "python3.12", "auth.handler", dirZip(t, "python-authorizer"))

	// REST: one method per protection, MOCK integrations answering {"in":true}.
	api := newRESTAPI(t, s, "bypass")
	mock := func(part string, putMethod ...string) {
		rid := api.resource(api.root, part)
		for _, verb := range []string{"GET", "POST"} {
			s.aws(append([]string{"apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb}, putMethod...)...)
			s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb,
				"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
			s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb, "--status-code", "200")
			s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb,
				"--status-code", "200", "--response-templates", `{"application/json":"{\"in\":true}"}`)
		}
	}
	auth := s.awsJSON("apigateway", "create-authorizer", "--rest-api-id", api.id, "--name", "bp-token", "--type", "TOKEN",
		"--authorizer-uri", fnURI(str(authFn["FunctionArn"])), "--identity-source", "method.request.header.token",
		"--identity-validation-expression", `^(allow|deny|broad|junk|wrong)-[0-9]{3}$`)
	mock("iam", "--authorization-type", "AWS_IAM")
	mock("token", "--authorization-type", "CUSTOM", "--authorizer-id", str(auth["id"]))
	mock("other", "--authorization-type", "CUSTOM", "--authorizer-id", str(auth["id"]))
	mock("keyed", "--authorization-type", "NONE", "--api-key-required")
	mock("walled", "--authorization-type", "NONE")
	// The resource policy admits the authorizer and key methods to anyone and
	// /walled only from 203.0.113.0/24; /iam is left to the identity policy.
	api.setPolicy(`{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*/*/token","execute-api:/*/*/other","execute-api:/*/*/keyed"]},` +
		`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/*/walled","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`)
	api.deploy("prod")
	api.deploy("beta")
	s.allowInvoke("bp-auth", api.id)

	// HTTP API: an AWS_IAM route in front of an HTTP upstream.
	up := newUpstream(t)
	h := newHTTPAPI(t, s, "bypass-http")
	target := h.integration("--integration-type", "HTTP_PROXY", "--integration-method", "ANY", "--integration-uri", up.srv.URL+"/iam",
		"--payload-format-version", "1.0")
	for _, key := range []string{"GET /iam", "POST /iam"} {
		s.aws("apigatewayv2", "create-route", "--api-id", h.id, "--route-key", key, "--target", target, "--authorization-type", "AWS_IAM")
	}
	s.aws("apigatewayv2", "create-stage", "--api-id", h.id, "--stage-name", "$default", "--auto-deploy")

	// Credentials: alice may invoke anything; her key, with a wrong secret, forges.
	alice := s.createKeys(t, "alice")
	s.aws("iam", "put-user-policy", "--user-name", "alice", "--policy-name", "invoke", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	key := s.awsJSON("apigateway", "create-api-key", "--name", "bp", "--enabled", "--value", "bypass-key-0123456789abcdef")
	off := s.awsJSON("apigateway", "create-api-key", "--name", "bp-off", "--value", "bypass-off-0123456789abcdef")
	plan := s.awsJSON("apigateway", "create-usage-plan", "--name", "bp", "--api-stages", "apiId="+api.id+",stage=prod")
	for _, k := range []map[string]any{key, off} {
		s.aws("apigateway", "create-usage-plan-key", "--usage-plan-id", str(plan["id"]), "--key-id", str(k["id"]), "--key-type", "API_KEY")
	}

	rest := func(method, path, body string, headers ...string) func() *http.Request {
		return func() *http.Request {
			req := mustRequest(t, s, method, api.id, path, body)
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			return req
		}
	}
	signed := func(apiID, method, path, body string, c iamCreds, service, region string, at time.Duration) func() *http.Request {
		return func() *http.Request {
			return s.signedCall(t, method, apiID, path, body, c, service, region, time.Now().Add(at), false)
		}
	}
	// altered signs one request and sends another: the body or the query changed
	// after signing, a replay an eavesdropper could attempt within the 5 minutes.
	altered := func(apiID, signedPath, sentPath, signedBody, sentBody string) func() *http.Request {
		return func() *http.Request {
			req := s.signedCall(t, "POST", apiID, signedPath, signedBody, alice, "execute-api", "us-east-1", time.Now(), false)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader([]byte(sentBody))), int64(len(sentBody))
			if sentPath != signedPath {
				_, q, _ := strings.Cut(sentPath, "?")
				req.URL.RawQuery = q
			}
			return req
		}
	}
	withToken := func(f func() *http.Request, token string) func() *http.Request {
		return func() *http.Request {
			req := f()
			req.Header.Set("X-Amz-Security-Token", token)
			return req
		}
	}
	forgedHeader := func(apiID, path string) func() *http.Request {
		return func() *http.Request {
			req := s.signedCall(t, "GET", apiID, path, "", alice, "execute-api", "us-east-1", time.Now(), false)
			auth := req.Header.Get("Authorization")
			req.Header.Set("Authorization", auth[:strings.LastIndex(auth, "=")+1]+strings.Repeat("0", 64))
			return req
		}
	}

	const (
		missingToken = `{"message":"Missing Authentication Token"}`
		badToken     = `{"message":"The security token included in the request is invalid."}`
		mismatch     = `{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}`
		forbidden    = `{"message":"Forbidden"}`
		unauthorized = `{"message":"Unauthorized"}`
	)
	expired := regexp.MustCompile(`^\{"message":"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)"\}$`)
	walledDenied := `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********9012:` + api.id + `/prod/GET/walled"}`
	stranger := iamCreds{"AKIAUNKNOWNUNKNOWN12", "secret", ""}
	forger := iamCreds{alice.id, "not-alices-secret", ""}

	var cases []bypassCase
	// SigV4 on a REST method and on an HTTP API route: the same attacks; the REST
	// API explains each refusal, the HTTP API answers {"message":"Forbidden"}.
	for _, target := range []struct {
		kind, apiID, path string
		rest              bool
	}{{"REST AWS_IAM", api.id, "/prod/iam", true}, {"HTTP AWS_IAM", h.id, "/iam", false}} {
		msg := func(restBody string) string {
			if target.rest {
				return restBody
			}
			return forbidden
		}
		var expiredRE *regexp.Regexp
		if target.rest {
			expiredRE = expired
		}
		cases = append(cases,
			bypassCase{target.kind, "missing signature", func() *http.Request { return mustRequest(t, s, "GET", target.apiID, target.path, "") }, 403, msg(missingToken), nil},
			bypassCase{target.kind, "forged: unknown key", signed(target.apiID, "GET", target.path, "", stranger, "execute-api", "us-east-1", 0), 403, msg(badToken), nil},
			bypassCase{target.kind, "forged: wrong secret", signed(target.apiID, "GET", target.path, "", forger, "execute-api", "us-east-1", 0), 403, msg(mismatch), nil},
			bypassCase{target.kind, "forged: signature bytes", forgedHeader(target.apiID, target.path), 403, msg(mismatch), nil},
			// STS validates every X-Amz-Security-Token; alice's long-term key got none.
			bypassCase{target.kind, "forged: session token on a long-term key",
				withToken(signed(target.apiID, "GET", target.path, "", alice, "execute-api", "us-east-1", 0), "FwoGZXIvYXdzEforged"), 403, msg(badToken), nil},
			// API Gateway's window is 5 minutes: 6 minutes old is expired.
			bypassCase{target.kind, "expired: signed 6 minutes ago", signed(target.apiID, "GET", target.path, "", alice, "execute-api", "us-east-1", -6*time.Minute), 403, msg(""), expiredRE},
			bypassCase{target.kind, "replayed with an altered body", altered(target.apiID, target.path, target.path, `{"amount":1}`, `{"amount":1000}`), 403, msg(mismatch), nil},
			bypassCase{target.kind, "replayed with an altered query", altered(target.apiID, target.path+"?to=alice", target.path+"?to=mallory", "", ""), 403, msg(mismatch), nil},
			bypassCase{target.kind, "wrong region", signed(target.apiID, "GET", target.path, "", alice, "execute-api", "eu-west-1", 0), 403,
				msg(`{"message":"Credential should be scoped to a valid region, not 'eu-west-1'. "}`), nil},
			bypassCase{target.kind, "wrong service", signed(target.apiID, "GET", target.path, "", alice, "lambda", "us-east-1", 0), 403,
				msg(`{"message":"Credential should be scoped to correct service: 'execute-api'. "}`), nil},
		)
	}
	cases = append(cases,
		// TOKEN authorizer.
		bypassCase{"TOKEN authorizer", "missing token", rest("GET", "/prod/token", ""), 401, unauthorized, nil},
		bypassCase{"TOKEN authorizer", "forged token", rest("GET", "/prod/token", "", "token", "wrong-123"), 401, unauthorized, nil},
		bypassCase{"TOKEN authorizer", "malformed token", rest("GET", "/prod/token", "", "token", "allow-1' OR '1'='1"), 401, unauthorized, nil},
		bypassCase{"TOKEN authorizer", "token in the query string", rest("GET", "/prod/token?token=allow-001", ""), 401, unauthorized, nil},
		bypassCase{"TOKEN authorizer", "a SigV4 signature instead of the token", signed(api.id, "GET", "/prod/token", "", alice, "execute-api", "us-east-1", 0), 401, unauthorized, nil},
		bypassCase{"TOKEN authorizer", "denied token", rest("GET", "/prod/token", "", "token", "deny-124"), 403,
			`{"Message":"User is not authorized to access this resource with an explicit deny"}`, nil},
		// allow-001's cached policy covers GET /token only (the positive control
		// below cached it).
		bypassCase{"TOKEN authorizer", "replayed on another method from the cache", rest("GET", "/prod/other", "", "token", "allow-001"), 403,
			`{"Message":"User is not authorized to access this resource"}`, nil},
		// API keys.
		bypassCase{"apiKeyRequired", "missing key", rest("GET", "/prod/keyed", ""), 403, forbidden, nil},
		bypassCase{"apiKeyRequired", "forged key", rest("GET", "/prod/keyed", "", "x-api-key", "bypass-key-0123456789abcdeF"), 403, forbidden, nil},
		bypassCase{"apiKeyRequired", "disabled key", rest("GET", "/prod/keyed", "", "x-api-key", "bypass-off-0123456789abcdef"), 403, forbidden, nil},
		bypassCase{"apiKeyRequired", "replayed on a stage outside its plan", rest("GET", "/beta/keyed", "", "x-api-key", "bypass-key-0123456789abcdef"), 403, forbidden, nil},
		bypassCase{"apiKeyRequired", "key in the query string", rest("GET", "/prod/keyed?x-api-key=bypass-key-0123456789abcdef", ""), 403, forbidden, nil},
		bypassCase{"apiKeyRequired", "a SigV4 signature instead of the key", signed(api.id, "GET", "/prod/keyed", "", alice, "execute-api", "us-east-1", 0), 403, forbidden, nil},
		// Resource policy: the caller (127.0.0.1) is outside the allowed network, and
		// forwarding headers from an untrusted peer do not change aws:SourceIp.
		bypassCase{"resource policy", "caller outside the allowed network", rest("GET", "/prod/walled", ""), 403, walledDenied, nil},
		bypassCase{"resource policy", "forged X-Forwarded-For", rest("GET", "/prod/walled", "", "X-Forwarded-For", "203.0.113.7"), 403, walledDenied, nil},
		bypassCase{"resource policy", "forged Forwarded", rest("GET", "/prod/walled", "", "Forwarded", "for=203.0.113.7"), 403, walledDenied, nil},
		bypassCase{"resource policy", "forged X-Real-IP", rest("GET", "/prod/walled", "", "X-Real-IP", "203.0.113.7"), 403, walledDenied, nil},
		bypassCase{"resource policy", "a valid IAM signature on a NONE method", signed(api.id, "GET", "/prod/walled", "", alice, "execute-api", "us-east-1", 0), 403, walledDenied, nil},
	)

	// Positive controls, once everything is compiled and deployed.
	controls := []struct {
		what string
		req  func() *http.Request
		want int
	}{
		{"REST AWS_IAM as alice", signed(api.id, "POST", "/prod/iam", `{"amount":1}`, alice, "execute-api", "us-east-1", 0), 200},
		{"HTTP AWS_IAM as alice", signed(h.id, "POST", "/iam", `{"amount":1}`, alice, "execute-api", "us-east-1", 0), 201},
		{"TOKEN allow-001", rest("GET", "/prod/token", "", "token", "allow-001"), 200},
		{"API key", rest("GET", "/prod/keyed", "", "x-api-key", "bypass-key-0123456789abcdef"), 200},
	}
	for _, c := range controls {
		if !eventually(t, 10*time.Second, func() bool { return s.do(t, c.req()).Status == c.want }) {
			r := s.do(t, c.req())
			t.Fatalf("positive control %s: %d %s, want %d", c.what, r.Status, r.Body, c.want)
		}
	}

	for _, c := range cases {
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			r := s.do(t, c.req())
			switch {
			case r.Status != c.status:
				t.Errorf("status %d, want %d (body %s)", r.Status, c.status, r.Body)
			case c.wantRE != nil && !c.wantRE.Match(r.Body):
				t.Errorf("body %s, want one matching %s", r.Body, c.wantRE)
			case c.wantRE == nil && string(r.Body) != c.want:
				t.Errorf("body %s, want %s", r.Body, c.want)
			}
		})
	}
	// The refused attempts never reached an integration: the upstream saw only the
	// positive controls.
	up.mu.Lock()
	defer up.mu.Unlock()
	for i, req := range up.reqs {
		if b := up.body[i]; req.Method != "POST" || b != `{"amount":1}` {
			t.Errorf("upstream saw %s %s %q", req.Method, req.URL, b)
		}
	}
}
