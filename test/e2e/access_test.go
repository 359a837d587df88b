package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// mockGET puts GET on a new resource /{part} with a MOCK integration answering body.
func (f *restFixture) mockGET(part, body string) {
	f.t.Helper()
	rid := f.resource(f.root, part)
	f.method(rid, "GET")
	f.s.aws("apigateway", "put-integration", "--rest-api-id", f.id, "--resource-id", rid, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	f.s.aws("apigateway", "put-method-response", "--rest-api-id", f.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	f.s.aws("apigateway", "put-integration-response", "--rest-api-id", f.id, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":`+jsonString(body)+`}`)
}

// setPolicy replaces the REST API's resource policy, as `aws apigateway
// update-rest-api` does.
func (f *restFixture) setPolicy(doc string) {
	f.t.Helper()
	ops, _ := json.Marshal([]map[string]string{{"op": "replace", "path": "/policy", "value": doc}})
	f.s.aws("apigateway", "update-rest-api", "--rest-api-id", f.id, "--patch-operations", string(ops))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A REST API's resource policy is enforced on the data plane once deployed: an
// explicit Deny and a SourceIp allow-list that leaves the caller out are refused with
// API Gateway's 403 ACCESS_DENIED bodies, an allow-list that includes the caller is
// served, and aws:SourceVpce is absent for a request that came through no private
// endpoint.
func TestRESTResourcePolicy(t *testing.T) {
	s := startSluice(t, startOpts{})
	const policyFmt = `{"Version":"2012-10-17","Statement":[%s]}`
	stmt := func(effect, cond string) string {
		st := `{"Effect":"` + effect + `","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"`
		if cond != "" {
			st += `,"Condition":` + cond
		}
		return st + "}"
	}
	deny := strings.Replace(policyFmt, "%s", stmt("Allow", "")+","+
		`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/GET/secret"}`, 1)
	api := newRESTAPI(t, s, "guarded", "--policy", deny)
	api.mockGET("open", `{"door":"open"}`)
	api.mockGET("secret", `{"door":"secret"}`)
	api.deploy("prod")

	arn := func(path string) string {
		return "arn:aws:execute-api:us-east-1:********9012:" + api.id + "/prod/GET/" + path
	}
	if r := s.awaitStatus(t, 200, "GET", api.id, "/prod/open", ""); r.Status != 200 || string(r.Body) != `{"door":"open"}` {
		t.Fatalf("allowed method: %d %s", r.Status, r.Body)
	}
	r := s.call(t, "GET", api.id, "/prod/secret", "")
	want := `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: ` + arn("secret") + ` with an explicit deny"}`
	if r.Status != http.StatusForbidden || string(r.Body) != want {
		t.Fatalf("explicit deny: %d %s\nwant 403 %s", r.Status, r.Body, want)
	}
	if got := r.Header.Get("x-amzn-ErrorType"); got != "AccessDeniedException" {
		t.Fatalf("x-amzn-ErrorType = %q", got)
	}

	// A policy change takes effect on the next deployment, not before.
	ipOnly := strings.Replace(policyFmt, "%s", stmt("Allow", `{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}`), 1)
	api.setPolicy(ipOnly)
	if r := s.call(t, "GET", api.id, "/prod/open", ""); r.Status != 200 {
		t.Fatalf("undeployed policy change already served: %d %s", r.Status, r.Body)
	}
	api.deploy("prod")
	r = s.awaitStatus(t, 403, "GET", api.id, "/prod/open", "")
	want = `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: ` + arn("open") + `"}`
	if r.Status != http.StatusForbidden || string(r.Body) != want {
		t.Fatalf("SourceIp outside the allow-list: %d %s\nwant 403 %s", r.Status, r.Body, want)
	}

	// The caller (127.0.0.1) is inside this allow-list, and a Deny on everyone else
	// (NotIpAddress) does not touch it.
	loopback := strings.Replace(policyFmt, "%s", stmt("Allow", `{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`)+","+
		stmt("Deny", `{"NotIpAddress":{"aws:SourceIp":["127.0.0.1/32","::1"]}}`), 1)
	api.setPolicy(loopback)
	api.deploy("prod")
	if r := s.awaitStatus(t, 200, "GET", api.id, "/prod/open", ""); r.Status != 200 {
		t.Fatalf("SourceIp inside the allow-list: %d %s", r.Status, r.Body)
	}

	// Only requests through private endpoint vpce-1 are allowed: a request through
	// none has no aws:SourceVpce and is refused.
	vpce := strings.Replace(policyFmt, "%s", stmt("Allow", `{"StringEquals":{"aws:SourceVpce":"vpce-1"}}`), 1)
	api.setPolicy(vpce)
	api.deploy("prod")
	if r := s.awaitStatus(t, 403, "GET", api.id, "/prod/open", ""); r.Status != 403 || !strings.Contains(string(r.Body), "is not authorized") {
		t.Fatalf("no private endpoint: %d %s", r.Status, r.Body)
	}

	// A customized ACCESS_DENIED gateway response applies to policy refusals.
	s.aws("apigateway", "put-gateway-response", "--rest-api-id", api.id, "--response-type", "ACCESS_DENIED",
		"--status-code", "401", "--response-templates", `{"application/json":"{\"denied\":$context.error.messageString}"}`)
	api.deploy("prod")
	r = s.awaitStatus(t, 401, "GET", api.id, "/prod/open", "")
	want = `{"denied":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: ` + arn("open") + `"}`
	if r.Status != 401 || string(r.Body) != want {
		t.Fatalf("customized ACCESS_DENIED: %d %s\nwant %s", r.Status, r.Body, want)
	}
}

// aws:SourceIp behind a load balancer: with --trusted-proxies, X-Forwarded-For from a
// trusted peer names the client the resource policy sees; from an untrusted peer (or
// without the flag) it is ignored, so a forged header cannot pass an IP allow-list.
func TestRESTResourcePolicyTrustedProxy(t *testing.T) {
	allowList := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke",` +
		`"Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}}]}`
	for _, tc := range []struct {
		name   string
		args   []string
		xff    string
		status int
	}{
		{"trusted proxy, allowed client", []string{"--trusted-proxies", "127.0.0.0/8"}, "203.0.113.7", 200},
		{"trusted proxy, other client", []string{"--trusted-proxies", "127.0.0.0/8"}, "198.51.100.1", 403},
		{"trusted proxy, forged left entry", []string{"--trusted-proxies", "127.0.0.0/8"}, "203.0.113.7, 198.51.100.1", 403},
		{"no trusted proxies", nil, "203.0.113.7", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSluice(t, startOpts{args: tc.args})
			api := newRESTAPI(t, s, "lb", "--policy", allowList)
			api.mockGET("x", `{"ok":true}`)
			api.deploy("prod")
			var r apiResponse
			// Until the deployment is served the answer is {"message":"Forbidden"};
			// then it is 200 or the policy's refusal.
			eventually(t, 10*time.Second, func() bool {
				r = s.call(t, "GET", api.id, "/prod/x", "", "X-Forwarded-For", tc.xff)
				return r.Status == 200 || strings.Contains(string(r.Body), "is not authorized to perform: execute-api:Invoke")
			})
			if r.Status != tc.status || (tc.status == 403 && !strings.Contains(string(r.Body), "User: anonymous is not authorized")) {
				t.Fatalf("X-Forwarded-For %q: %d %s, want %d", tc.xff, r.Status, r.Body, tc.status)
			}
		})
	}
}
