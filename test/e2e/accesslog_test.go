package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Stage access logs, set up as the CLI sets them (REST: update-stage patches;
// HTTP: create-stage --access-log-settings), written to the named log group with
// the format's $context variables filled in, read back with the Logs API. A
// multi-line format is refused as API Gateway refuses it.
func TestStageAccessLogs(t *testing.T) {
	s := startSluice(t, startOpts{})
	arn := s.nodeGW(t, "gw")
	format := `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","method":"$context.httpMethod",` +
		`"path":"$context.path","resourcePath":"$context.resourcePath","routeKey":"$context.routeKey","status":"$context.status",` +
		`"len":"$context.responseLength","stage":"$context.stage","ua":"$context.identity.userAgent","nothing":"$context.authorizer.principalId"}`

	rest := newRESTAPI(t, s, "logged")
	rest.lambdaProxy(rest.resource(rest.resource(rest.root, "p"), "{proxy+}"), "ANY", fnURI(arn))
	s.allowInvoke("gw", rest.id)
	rest.deploy("v1")
	if _, stderr, err := s.awsRaw("apigateway", "update-stage", "--rest-api-id", rest.id, "--stage-name", "v1", "--patch-operations",
		`[{"op":"replace","path":"/accessLogSettings/format","value":"a\nb"}]`); err == nil || !strings.Contains(stderr, "Access Log format must be single line") {
		t.Fatalf("multi-line format: %v %s", err, stderr)
	}
	s.aws("apigateway", "update-stage", "--rest-api-id", rest.id, "--stage-name", "v1", "--patch-operations",
		`[{"op":"replace","path":"/accessLogSettings/destinationArn","value":"arn:aws:logs:us-east-1:123456789012:log-group:/apigw/rest-access"},`+
			`{"op":"replace","path":"/accessLogSettings/format","value":`+jsonString(format)+`}]`)

	httpAPI := newHTTPAPI(t, s, "logged-http")
	httpAPI.route("GET /items/{id}", httpAPI.lambda(arn, "2.0"))
	s.allowInvoke("gw", httpAPI.id)
	s.aws("apigatewayv2", "create-stage", "--api-id", httpAPI.id, "--stage-name", "$default", "--auto-deploy",
		"--access-log-settings", `{"DestinationArn":"arn:aws:logs:us-east-1:123456789012:log-group:/apigw/http-access:*","Format":`+jsonString(format)+`}`)

	r := s.awaitStatus(t, 200, "GET", rest.id, "/v1/p/echo", "")
	restID := r.Header.Get("x-amzn-RequestId")
	r2 := s.awaitStatus(t, 200, "GET", httpAPI.id, "/items/42", "")
	httpID := r2.Header.Get("apigw-requestid")

	check := func(group, id string, want map[string]string) {
		t.Helper()
		var rec map[string]string
		ok := eventually(t, 10*time.Second, func() bool {
			out := s.awsJSON("logs", "filter-log-events", "--log-group-name", group)
			events, _ := out["events"].([]any)
			for _, e := range events {
				msg := str(e.(map[string]any)["message"])
				rec = nil
				if json.Unmarshal([]byte(msg), &rec) == nil && rec["requestId"] == id {
					return true
				}
			}
			return false
		})
		if !ok {
			t.Fatalf("%s: no access log line for %s: %s", group, id, s.aws("logs", "filter-log-events", "--log-group-name", group))
		}
		for k, v := range want {
			if rec[k] != v {
				t.Fatalf("%s: %s = %q, want %q (record %v)", group, k, rec[k], v, rec)
			}
		}
		if rec["ip"] != "127.0.0.1" || rec["len"] == "-" || rec["len"] == "0" || rec["ua"] == "-" {
			t.Fatalf("%s: record %v", group, rec)
		}
	}
	check("/apigw/rest-access", restID, map[string]string{"method": "GET", "path": "/v1/p/echo", "resourcePath": "/p/{proxy+}",
		"status": "200", "stage": "v1", "nothing": "-"})
	check("/apigw/http-access", httpID, map[string]string{"method": "GET", "path": "/items/42", "routeKey": "GET /items/{id}",
		"status": "200", "stage": "$default", "nothing": "-"})

	// Turning logging off stops the lines.
	s.aws("apigatewayv2", "delete-access-log-settings", "--api-id", httpAPI.id, "--stage-name", "$default")
	time.Sleep(500 * time.Millisecond)
	r3 := s.awaitStatus(t, 200, "GET", httpAPI.id, "/items/43", "")
	time.Sleep(300 * time.Millisecond)
	if out := s.aws("logs", "filter-log-events", "--log-group-name", "/apigw/http-access"); strings.Contains(string(out), r3.Header.Get("apigw-requestid")) {
		t.Fatalf("a line after delete-access-log-settings: %s", out)
	}
}

// REST execution logs: methodSettings logging/loglevel INFO (with dataTrace) writes
// each request's steps to API-Gateway-Execution-Logs_{apiId}/{stage}; a method set
// to ERROR logs only its failures.
func TestRESTExecutionLogs(t *testing.T) {
	s := startSluice(t, startOpts{})
	arn := s.nodeGW(t, "gw")
	rest := newRESTAPI(t, s, "exec-logged")
	p := rest.resource(rest.root, "p")
	rest.lambdaProxy(rest.resource(p, "{proxy+}"), "ANY", fnURI(arn))
	s.allowInvoke("gw", rest.id)
	rest.deploy("v1")
	s.aws("apigateway", "update-stage", "--rest-api-id", rest.id, "--stage-name", "v1", "--patch-operations",
		"op=replace,path=/*/*/logging/loglevel,value=INFO", "op=replace,path=/*/*/logging/dataTrace,value=true")

	r := s.awaitStatus(t, 200, "GET", rest.id, "/v1/p/echo?q=1", "")
	id := r.Header.Get("x-amzn-RequestId")
	group := "API-Gateway-Execution-Logs_" + rest.id + "/v1"
	var lines []string
	eventually(t, 10*time.Second, func() bool {
		out := s.awsJSON("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", `"`+id+`"`)
		events, _ := out["events"].([]any)
		lines = lines[:0]
		for _, e := range events {
			lines = append(lines, str(e.(map[string]any)["message"]))
		}
		return len(lines) > 0 && strings.HasSuffix(lines[len(lines)-1], "Method completed with status: 200")
	})
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"(" + id + ") Starting execution for request: " + id,
		"(" + id + ") HTTP Method: GET, Resource Path: /p/{proxy+}",
		"(" + id + ") Method request path: {proxy=echo}",
		"(" + id + ") Method request query string: {q=1}",
		"(" + id + ") Received response. Status: 200, Integration latency: ",
		"(" + id + ") Successfully completed execution",
		"(" + id + ") Method completed with status: 200",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("execution log lacks %q:\n%s", want, text)
		}
	}

	// ERROR: a success writes nothing, a function error does.
	s.aws("apigateway", "update-stage", "--rest-api-id", rest.id, "--stage-name", "v1", "--patch-operations",
		"op=replace,path=/*/*/logging/loglevel,value=ERROR")
	time.Sleep(500 * time.Millisecond)
	ok := s.awaitStatus(t, 200, "GET", rest.id, "/v1/p/fine", "").Header.Get("x-amzn-RequestId")
	bad := s.awaitStatus(t, 502, "GET", rest.id, "/v1/p/badstatus", "").Header.Get("x-amzn-RequestId")
	eventually(t, 10*time.Second, func() bool {
		return strings.Contains(string(s.aws("logs", "filter-log-events", "--log-group-name", group)), "("+bad+") Method completed with status: 502")
	})
	if out := string(s.aws("logs", "filter-log-events", "--log-group-name", group)); strings.Contains(out, ok) || !strings.Contains(out, "("+bad+") Execution failed") {
		t.Fatalf("ERROR level: success %s logged or failure %s not explained:\n%s", ok, bad, out)
	}
}
