package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// httpAuthorizerSrc is a Python Lambda authorizer for HTTP APIs with two handlers:
// simple (payload 2.0, enableSimpleResponses) and policy (IAM policy responses, for
// payload 1.0 and 2.0). The token comes from the "authorization" header; the event's
// shape is returned in the context ("seen") so the test can check what the
// authorizer was sent, without writing files.
const httpAuthorizerSrc = `
def seen(event):
    keys = ["version", "type", "routeArn", "methodArn", "identitySource", "authorizationToken", "routeKey", "rawPath"]
    s = {k: event[k] for k in keys if k in event}
    s["hasBody"] = "body" in event
    return s

def token(event):
    h = event.get("headers") or {}
    return h.get("authorization") or h.get("Authorization") or ""

def simple(event, context):
    t = token(event)
    if t.startswith("allow"):
        return {"isAuthorized": True, "context": {"user": t, "n": 7, "ok": True, "seen": seen(event)}}
    if t == "boom":
        raise Exception("boom")
    if t == "junk":
        return {"principalId": "x"}
    return {"isAuthorized": False, "context": {"user": t}}

def policy(event, context):
    t = token(event)
    arn = event.get("routeArn") or event.get("methodArn")
    effect = "Allow" if t.startswith("allow") else "Deny"
    if t.startswith("narrow"):
        effect, arn = "Allow", arn.split("/")[0] + "/*/GET/only"
    return {
        "principalId": "p-" + t,
        "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]},
        "context": {"user": t, "seen": seen(event)},
    }
`

// HTTP API Lambda REQUEST authorizers: payload 2.0 with simple responses and
// caching keyed by the identity sources, payload 1.0 and 2.0 with IAM policies, the
// 401/403/500 answers AWS gives, and the authorizer's context in the integration's
// requestContext.authorizer (under "lambda" for payload 2.0 integrations, flat for 1.0).
func TestHTTPAPILambdaAuthorizer(t *testing.T) {
	s := startSluice(t, startOpts{})
	zipPath := t.TempDir() + "/auth.zip"
	writeFile(t, zipPath, string(zipBytes(t, map[string]zipEntry{"auth.py": {[]byte(httpAuthorizerSrc), 0o644}})))
	simpleFn := s.createFunction("http-auth-simple", "python3.12", "auth.simple", zipPath)
	policyFn := s.createFunction("http-auth-policy", "python3.12", "auth.policy", zipPath)
	gw := s.nodeGW(t, "gw")

	apiID := str(s.awsJSON("apigatewayv2", "create-api", "--name", "authz", "--protocol-type", "HTTP")["ApiId"])
	integ2 := str(s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", gw, "--payload-format-version", "2.0")["IntegrationId"])
	integ1 := str(s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", gw, "--payload-format-version", "1.0")["IntegrationId"])

	// Control plane: AWS's validation, then three authorizers.
	fnArg := []string{"--authorizer-type", "REQUEST", "--authorizer-uri", fnURI(str(simpleFn["FunctionArn"])),
		"--identity-source", "$request.header.Authorization"}
	for _, bad := range [][]string{
		fnArg, // no payload version
		append(fnArg[:len(fnArg):len(fnArg)], "--authorizer-payload-format-version", "1.0", "--enable-simple-responses"),
		append(fnArg[:len(fnArg):len(fnArg)], "--authorizer-payload-format-version", "2.0", "--authorizer-result-ttl-in-seconds", "3601"),
		{"--authorizer-type", "REQUEST", "--authorizer-uri", fnURI(str(simpleFn["FunctionArn"])), "--authorizer-payload-format-version", "2.0",
			"--identity-source", "method.request.header.x"},
		{"--authorizer-type", "JWT", "--identity-source", "$request.header.Authorization"}, // no jwt configuration
	} {
		args := append([]string{"apigatewayv2", "create-authorizer", "--api-id", apiID, "--name", "bad"}, bad...)
		if _, stderr, err := s.awsRaw(args...); err == nil || !strings.Contains(stderr, "BadRequestException") {
			t.Fatalf("create-authorizer %v: %v %s", bad, err, stderr)
		}
	}
	simple := s.awsJSON("apigatewayv2", "create-authorizer", "--api-id", apiID, "--name", "simple", "--authorizer-type", "REQUEST",
		"--authorizer-uri", fnURI(str(simpleFn["FunctionArn"])), "--authorizer-payload-format-version", "2.0",
		"--enable-simple-responses", "--identity-source", "$request.header.Authorization", "--authorizer-result-ttl-in-seconds", "300")
	simpleID := str(simple["AuthorizerId"])
	if simple["EnableSimpleResponses"] != true || simple["AuthorizerResultTtlInSeconds"] != float64(300) || simpleID == "" {
		t.Fatalf("create-authorizer = %v", simple)
	}
	pol2 := str(s.awsJSON("apigatewayv2", "create-authorizer", "--api-id", apiID, "--name", "pol2", "--authorizer-type", "REQUEST",
		"--authorizer-uri", fnURI(str(policyFn["FunctionArn"])), "--authorizer-payload-format-version", "2.0",
		"--identity-source", "$request.header.Authorization", "$request.querystring.q")["AuthorizerId"])
	pol1 := str(s.awsJSON("apigatewayv2", "create-authorizer", "--api-id", apiID, "--name", "pol1", "--authorizer-type", "REQUEST",
		"--authorizer-uri", fnURI(str(policyFn["FunctionArn"])), "--authorizer-payload-format-version", "1.0",
		"--identity-source", "$request.header.Authorization")["AuthorizerId"])
	if got := s.awsJSON("apigatewayv2", "get-authorizers", "--api-id", apiID); len(got["Items"].([]any)) != 3 {
		t.Fatalf("get-authorizers = %v", got)
	}

	route := func(key, integ, auth string) {
		s.aws("apigatewayv2", "create-route", "--api-id", apiID, "--route-key", key, "--target", "integrations/"+integ,
			"--authorization-type", "CUSTOM", "--authorizer-id", auth)
	}
	route("GET /simple/{x}", integ2, simpleID)
	route("GET /pol2", integ2, pol2)
	route("GET /pol1", integ1, pol1)
	route("GET /only", integ2, pol1)
	s.aws("apigatewayv2", "create-stage", "--api-id", apiID, "--stage-name", "$default", "--auto-deploy")
	s.allowInvoke("gw", apiID)

	// The gateway may not invoke the authorizers yet: 500.
	r := s.awaitStatus(t, 500, "GET", apiID, "/simple/a", "", "Authorization", "allow-1")
	if r.Status != 500 || string(r.Body) != `{"message":"Internal Server Error"}` {
		t.Fatalf("authorizer without permission: %d %s", r.Status, r.Body)
	}
	// As on AWS, the permission's source is the authorizer's ARN.
	for _, fn := range []string{"http-auth-simple", "http-auth-policy"} {
		s.aws("lambda", "add-permission", "--function-name", fn, "--statement-id", "apigw-auth", "--action", "lambda:InvokeFunction",
			"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/authorizers/*")
	}

	// A missing identity source: 401 without an invocation.
	before := s.invocations(t, "http-auth-simple")
	for _, p := range []string{"/simple/a", "/pol2?q=1", "/pol1"} {
		r := s.call(t, "GET", apiID, p, "")
		if r.Status != 401 || string(r.Body) != `{"message":"Unauthorized"}` {
			t.Fatalf("%s without identity: %d %s", p, r.Status, r.Body)
		}
	}
	if r := s.call(t, "GET", apiID, "/pol2", "", "Authorization", "allow-2"); r.Status != 401 {
		t.Fatalf("pol2 without its query identity source: %d %s", r.Status, r.Body)
	}
	if n := s.invocations(t, "http-auth-simple"); n != before {
		t.Fatalf("missing identity invoked the authorizer %d times", n-before)
	}

	// Simple response, allowed: the context reaches the 2.0 integration under "lambda".
	type event struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	r = s.call(t, "GET", apiID, "/simple/a", "", "Authorization", "allow-1")
	var ev event
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("simple allow: %d %s", r.Status, r.Body)
	}
	lambdaCtx, _ := ev.RequestContext.Authorizer["lambda"].(map[string]any)
	if lambdaCtx["user"] != "allow-1" || lambdaCtx["n"] != float64(7) || lambdaCtx["ok"] != true {
		t.Fatalf("requestContext.authorizer = %v", ev.RequestContext.Authorizer)
	}
	seen, _ := lambdaCtx["seen"].(map[string]any)
	wantARN := "arn:aws:execute-api:us-east-1:123456789012:" + apiID + "/$default/GET/simple/a"
	if seen["version"] != "2.0" || seen["type"] != "REQUEST" || seen["routeArn"] != wantARN || seen["routeKey"] != "GET /simple/{x}" ||
		seen["rawPath"] != "/simple/a" || seen["hasBody"] != false {
		t.Fatalf("authorizer event (2.0) = %v", seen)
	}
	if ids, _ := seen["identitySource"].([]any); len(ids) != 1 || ids[0] != "allow-1" {
		t.Fatalf("identitySource = %v", seen["identitySource"])
	}
	// Cached by identity value for the TTL: another route, same token, no invocation.
	n1 := s.invocations(t, "http-auth-simple")
	if r := s.call(t, "GET", apiID, "/simple/b", "", "Authorization", "allow-1"); r.Status != 200 {
		t.Fatalf("cached allow: %d %s", r.Status, r.Body)
	}
	if n := s.invocations(t, "http-auth-simple"); n != n1 {
		t.Fatalf("cached decision invoked the authorizer %d more times", n-n1)
	}
	// A different value is a different cache entry.
	if r := s.call(t, "GET", apiID, "/simple/b", "", "Authorization", "allow-2"); r.Status != 200 {
		t.Fatalf("second token: %d %s", r.Status, r.Body)
	}
	if n := s.invocations(t, "http-auth-simple"); n != n1+1 {
		t.Fatalf("new token: %d invocations, want 1", n-n1)
	}
	// isAuthorized false: 403 Forbidden; a crash or an output without isAuthorized: 500.
	for tok, want := range map[string]struct {
		status int
		body   string
	}{
		"nope": {403, `{"message":"Forbidden"}`},
		"boom": {500, `{"message":"Internal Server Error"}`},
		"junk": {500, `{"message":"Internal Server Error"}`},
	} {
		r := s.call(t, "GET", apiID, "/simple/a", "", "Authorization", tok)
		if r.Status != want.status || string(r.Body) != want.body {
			t.Fatalf("token %s: %d %s, want %d %s", tok, r.Status, r.Body, want.status, want.body)
		}
	}

	// IAM policy responses, payload 2.0: two identity sources.
	r = s.call(t, "GET", apiID, "/pol2?q=zz", "", "Authorization", "allow-3")
	ev = event{}
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("pol2 allow: %d %s", r.Status, r.Body)
	}
	lambdaCtx, _ = ev.RequestContext.Authorizer["lambda"].(map[string]any)
	seen, _ = lambdaCtx["seen"].(map[string]any)
	if ids, _ := seen["identitySource"].([]any); len(ids) != 2 || ids[0] != "allow-3" || ids[1] != "zz" {
		t.Fatalf("identitySource = %v", seen)
	}
	if r := s.call(t, "GET", apiID, "/pol2?q=zz", "", "Authorization", "deny-3"); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
		t.Fatalf("pol2 deny: %d %s", r.Status, r.Body)
	}

	// Payload 1.0 authorizer in front of a 1.0 integration: methodArn, identitySource
	// and authorizationToken as strings; the context flat in requestContext.authorizer.
	r = s.call(t, "GET", apiID, "/pol1", "", "Authorization", "allow-4")
	ev = event{}
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("pol1 allow: %d %s", r.Status, r.Body)
	}
	a := ev.RequestContext.Authorizer
	seen, _ = a["seen"].(map[string]any)
	if a["user"] != "allow-4" || a["principalId"] != "p-allow-4" || seen["version"] != "1.0" ||
		seen["methodArn"] != "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/$default/GET/pol1" ||
		seen["identitySource"] != "allow-4" || seen["authorizationToken"] != "allow-4" {
		t.Fatalf("payload 1.0 authorizer context = %v", a)
	}
	// A policy allowing only GET /only: allowed there, 403 on /pol1 (the policy is
	// evaluated against each request's route ARN).
	if r := s.call(t, "GET", apiID, "/only", "", "Authorization", "narrow-5"); r.Status != 200 {
		t.Fatalf("narrow policy on /only: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/pol1", "", "Authorization", "narrow-5"); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
		t.Fatalf("narrow policy on /pol1: %d %s", r.Status, r.Body)
	}

	// An authorizer a route uses cannot be deleted.
	if _, stderr, err := s.awsRaw("apigatewayv2", "delete-authorizer", "--api-id", apiID, "--authorizer-id", pol1); err == nil ||
		!strings.Contains(stderr, "ConflictException") {
		t.Fatalf("delete-authorizer in use: %v %s", err, stderr)
	}
}

// HTTP API route throttling: a route's routeSettings, else the stage's
// defaultRouteSettings, as token buckets; over the burst is 429 {"message":"Too Many
// Requests"}. The rates are tiny so nothing refills during the test.
func TestHTTPAPIRouteThrottling(t *testing.T) {
	s := startSluice(t, startOpts{})
	gw := s.nodeGW(t, "gw")
	apiID := str(s.awsJSON("apigatewayv2", "create-api", "--name", "throttle", "--protocol-type", "HTTP")["ApiId"])
	integ := str(s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", gw, "--payload-format-version", "2.0")["IntegrationId"])
	for _, key := range []string{"GET /tight", "GET /loose", "GET /loose2", "GET /free"} {
		s.aws("apigatewayv2", "create-route", "--api-id", apiID, "--route-key", key, "--target", "integrations/"+integ)
	}
	s.aws("apigatewayv2", "create-stage", "--api-id", apiID, "--stage-name", "$default", "--auto-deploy",
		"--default-route-settings", "ThrottlingBurstLimit=3,ThrottlingRateLimit=0.001",
		"--route-settings", `{"GET /tight":{"ThrottlingBurstLimit":1,"ThrottlingRateLimit":0.001},"GET /free":{"ThrottlingBurstLimit":1000,"ThrottlingRateLimit":1000}}`)
	s.allowInvoke("gw", apiID)
	s.awaitStatus(t, 200, "GET", apiID, "/free", "")

	count := func(path string, n int) (ok, throttled int) {
		for range n {
			r := s.call(t, "GET", apiID, path, "")
			switch {
			case r.Status == 200:
				ok++
			case r.Status == 429 && string(r.Body) == `{"message":"Too Many Requests"}`:
				throttled++
			default:
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
		}
		return ok, throttled
	}
	if ok, th := count("/tight", 4); ok != 1 || th != 3 {
		t.Fatalf("/tight (burst 1): %d ok, %d throttled", ok, th)
	}
	if ok, th := count("/loose", 5); ok != 3 || th != 2 {
		t.Fatalf("/loose (default burst 3): %d ok, %d throttled", ok, th)
	}
	// The default limits each route on its own.
	if ok, th := count("/loose2", 4); ok != 3 || th != 1 {
		t.Fatalf("/loose2 (default burst 3): %d ok, %d throttled", ok, th)
	}
	if ok, th := count("/free", 10); ok != 10 || th != 0 {
		t.Fatalf("/free: %d ok, %d throttled", ok, th)
	}
}
