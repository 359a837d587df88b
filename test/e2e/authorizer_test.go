package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// invocations counts the START lines of a function's log: one per invocation.
func (s *instance) invocations(t *testing.T, fn string) int {
	t.Helper()
	resp, err := http.Get(s.URL + "/_sluice/logs/" + fn)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return strings.Count(b.String(), "START RequestId")
}

// Seed scenario 2: a REST API resource /blocks (GET) guarded by a Python TOKEN
// authorizer on header "token" with an identityValidationExpression, in front of a
// non-proxy Lambda integration whose answer passes through unchanged.
func TestRESTTokenAuthorizer(t *testing.T) {
	s := startSluice(t, startOpts{})
	authFn := s.createFunction("blocks-auth", "python3.12", "auth.handler", dirZip(t, "python-authorizer"))
	src := "def handler(event, context):\n    return {\"blocks\": [1, 2, 3]}\n"
	zipPath := t.TempDir() + "/blocks.zip"
	writeFile(t, zipPath, string(zipBytes(t, map[string]zipEntry{"blocks.py": {[]byte(src), 0o644}})))
	fn := s.createFunction("blocks", "python3.12", "blocks.handler", zipPath)

	api := newRESTAPI(t, s, "blocks")
	auth := s.awsJSON("apigateway", "create-authorizer", "--rest-api-id", api.id, "--name", "token-auth", "--type", "TOKEN",
		"--authorizer-uri", fnURI(str(authFn["FunctionArn"])), "--identity-source", "method.request.header.token",
		"--identity-validation-expression", `^(allow|deny|broad|junk|wrong)-[0-9]{3}$`)
	authID := str(auth["id"])
	if auth["authorizerResultTtlInSeconds"] != float64(300) || auth["type"] != "TOKEN" {
		t.Fatalf("create-authorizer = %v", auth)
	}
	if got := s.awsJSON("apigateway", "get-authorizer", "--rest-api-id", api.id, "--authorizer-id", authID); got["name"] != "token-auth" {
		t.Fatalf("get-authorizer = %v", got)
	}
	blocks := api.resource(api.root, "blocks")
	other := api.resource(api.root, "other")
	for _, rid := range []string{blocks, other} {
		s.aws("apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
			"--authorization-type", "CUSTOM", "--authorizer-id", authID)
		s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
			"--type", "AWS", "--integration-http-method", "POST", "--uri", fnURI(str(fn["FunctionArn"])))
		s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
		s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
			"--status-code", "200", "--selection-pattern", "")
	}
	// Unreachable until deployed.
	if r := s.call(t, "GET", api.id, "/prod/blocks", "", "token", "allow-001"); r.Status != 403 {
		t.Fatalf("before deployment: %d %s", r.Status, r.Body)
	}
	api.deploy("prod")
	s.allowInvoke("blocks", api.id)

	// The gateway may not invoke the authorizer yet: 500 AuthorizerConfigurationException.
	r := s.awaitStatus(t, 500, "GET", api.id, "/prod/blocks", "", "token", "allow-001")
	if r.Status != 500 || string(r.Body) != `{"message": null}` || r.Header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" {
		t.Fatalf("authorizer without permission: %d %s %v", r.Status, r.Body, r.Header)
	}
	s.allowInvoke("blocks-auth", api.id)
	before := s.invocations(t, "blocks-auth")

	// Missing or malformed tokens never reach the authorizer.
	for _, h := range [][]string{nil, {"token", ""}, {"token", "allow-1"}, {"token", "drop table;"}} {
		r := s.call(t, "GET", api.id, "/prod/blocks", "", h...)
		if r.Status != 401 || string(r.Body) != `{"message":"Unauthorized"}` || r.Header.Get("x-amzn-ErrorType") != "UnauthorizedException" {
			t.Fatalf("token %v: %d %s", h, r.Status, r.Body)
		}
	}
	if n := s.invocations(t, "blocks-auth"); n != before {
		t.Fatalf("malformed tokens invoked the authorizer %d times", n-before)
	}

	// A good token gets the integration's answer, passed through.
	r = s.call(t, "GET", api.id, "/prod/blocks", "", "token", "allow-001")
	if r.Status != 200 || strings.ReplaceAll(string(r.Body), " ", "") != `{"blocks":[1,2,3]}` {
		t.Fatalf("good token: %d %s", r.Status, r.Body)
	}
	// Within the TTL the decision is cached: no second invocation.
	if r := s.call(t, "GET", api.id, "/prod/blocks", "", "token", "allow-001"); r.Status != 200 {
		t.Fatalf("cached good token: %d %s", r.Status, r.Body)
	}
	if n := s.invocations(t, "blocks-auth"); n != before+1 {
		t.Fatalf("authorizer invoked %d times for one token within the TTL, want 1", n-before)
	}
	// FlushStageAuthorizersCache drops the decision: the next call invokes the
	// authorizer again.
	s.aws("apigateway", "flush-stage-authorizers-cache", "--rest-api-id", api.id, "--stage-name", "prod")
	if r := s.call(t, "GET", api.id, "/prod/blocks", "", "token", "allow-001"); r.Status != 200 {
		t.Fatalf("good token after flush: %d %s", r.Status, r.Body)
	}
	if n := s.invocations(t, "blocks-auth"); n != before+2 {
		t.Fatalf("authorizer invoked %d times after a cache flush, want 2", n-before)
	}
	before++
	if _, stderr, err := s.awsRaw("apigateway", "flush-stage-authorizers-cache", "--rest-api-id", api.id, "--stage-name", "nope"); err == nil ||
		!strings.Contains(stderr, "NotFoundException") || !strings.Contains(stderr, "Invalid Stage identifier specified") {
		t.Fatalf("flush on a missing stage: %v %s", err, stderr)
	}
	// Cognito user pools are refused (501), never served unchecked.
	if _, stderr, err := s.awsRaw("apigateway", "create-authorizer", "--rest-api-id", api.id, "--name", "pool", "--type", "COGNITO_USER_POOLS",
		"--provider-arns", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_x", "--identity-source", "method.request.header.Authorization"); err == nil ||
		!strings.Contains(stderr, "NotImplementedException") {
		t.Fatalf("create-authorizer COGNITO_USER_POOLS: %v %s", err, stderr)
	}

	// The cached policy allows /blocks only: the same token on /other is refused.
	r = s.call(t, "GET", api.id, "/prod/other", "", "token", "allow-001")
	if r.Status != 403 || string(r.Body) != `{"Message":"User is not authorized to access this resource"}` {
		t.Fatalf("cached policy on another method: %d %s", r.Status, r.Body)
	}
	// A stage-wide policy covers both.
	for _, p := range []string{"/prod/blocks", "/prod/other"} {
		if r := s.call(t, "GET", api.id, p, "", "token", "broad-002"); r.Status != 200 {
			t.Fatalf("broad token on %s: %d %s", p, r.Status, r.Body)
		}
	}

	// A wrong token: the authorizer fails with "Unauthorized", 401.
	r = s.call(t, "GET", api.id, "/prod/blocks", "", "token", "wrong-003")
	if r.Status != 401 || string(r.Body) != `{"message":"Unauthorized"}` {
		t.Fatalf("wrong token: %d %s", r.Status, r.Body)
	}
	// An explicit Deny: 403.
	r = s.call(t, "GET", api.id, "/prod/blocks", "", "token", "deny-004")
	if r.Status != 403 || string(r.Body) != `{"Message":"User is not authorized to access this resource with an explicit deny"}` ||
		r.Header.Get("x-amzn-ErrorType") != "AccessDeniedException" {
		t.Fatalf("deny token: %d %s", r.Status, r.Body)
	}
	// An output without a policy: 500.
	r = s.call(t, "GET", api.id, "/prod/blocks", "", "token", "junk-005")
	if r.Status != 500 || string(r.Body) != `{"message": null}` {
		t.Fatalf("junk output: %d %s", r.Status, r.Body)
	}

	// The authorizer's context reaches a proxy integration.
	proxied := api.resource(api.root, "ctx")
	arn := s.nodeGW(t, "gw")
	s.aws("apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", proxied, "--http-method", "GET",
		"--authorization-type", "CUSTOM", "--authorizer-id", authID)
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", proxied, "--http-method", "GET",
		"--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", fnURI(arn))
	s.allowInvoke("gw", api.id)
	api.deploy("prod")
	r = s.awaitStatus(t, 200, "GET", api.id, "/prod/ctx", "", "token", "allow-006")
	var ev struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &ev) != nil {
		t.Fatalf("proxy with authorizer: %d %s", r.Status, r.Body)
	}
	a := ev.RequestContext.Authorizer
	if a["principalId"] != "user-006" || a["tier"] != "gold" || a["n"] != float64(7) || a["ok"] != true {
		t.Fatalf("requestContext.authorizer = %v", a)
	}

	// TestInvokeAuthorizer runs the stored authorizer against a simulated request:
	// clientStatus 0 with the returned policy, 401 for a token the validation
	// expression refuses (without invoking) or the function refuses.
	ti := s.awsJSON("apigateway", "test-invoke-authorizer", "--rest-api-id", api.id, "--authorizer-id", authID, "--headers", "token=allow-777")
	wantPolicy := `{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:` + api.id + `/ESTestInvoke-stage/GET/"}]}`
	if ti["clientStatus"] != float64(0) || ti["principalId"] != "user-777" || ti["policy"] != wantPolicy ||
		!strings.Contains(str(ti["log"]), "Successfully completed authorizer execution") {
		t.Fatalf("test-invoke-authorizer allow = %v", ti)
	}
	for token, want := range map[string]float64{"drop table;": 401, "wrong-778": 401, "junk-779": 500} {
		ti := s.awsJSON("apigateway", "test-invoke-authorizer", "--rest-api-id", api.id, "--authorizer-id", authID, "--headers", `{"token":"`+token+`"}`)
		if ti["clientStatus"] != want || ti["policy"] != nil {
			t.Fatalf("test-invoke-authorizer %q = %v", token, ti)
		}
	}

	// An authorizer a method uses cannot be deleted.
	if _, stderr, err := s.awsRaw("apigateway", "delete-authorizer", "--rest-api-id", api.id, "--authorizer-id", authID); err == nil ||
		!strings.Contains(stderr, "ConflictException") {
		t.Fatalf("delete-authorizer in use: %v %s", err, stderr)
	}
}
