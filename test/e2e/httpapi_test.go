package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Quick create gives a working $default API at once; the function sees payload 2.0.
func TestHTTPAPIQuickCreate(t *testing.T) {
	s := startSluice(t, startOpts{})
	fn := s.createFunction("qc", "provided.al2023", "bootstrap", goFunctionZip(t))
	api := s.awsJSON("apigatewayv2", "create-api", "--name", "qc", "--protocol-type", "HTTP", "--target", str(fn["FunctionArn"]))
	apiID := str(api["ApiId"])
	if apiID == "" {
		t.Fatalf("create-api = %v", api)
	}
	s.aws("lambda", "add-permission", "--function-name", "qc", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")
	r := s.awaitStatus(t, 200, "GET", apiID, "/anything/here?a=1&a=2", "", "Cookie", "c1=v1; c2=v2")
	if r.Status != 200 {
		t.Fatalf("quick-create API: %d %s", r.Status, r.Body)
	}
	ev := r.JSON(t)
	rc, _ := ev["requestContext"].(map[string]any)
	if ev["version"] != "2.0" || ev["routeKey"] != "$default" || ev["rawPath"] != "/anything/here" ||
		ev["rawQueryString"] != "a=1&a=2" || rc["stage"] != "$default" {
		t.Fatalf("payload 2.0 event = %s", r.Body)
	}
	if qs, _ := ev["queryStringParameters"].(map[string]any); qs["a"] != "1,2" {
		t.Fatalf("queryStringParameters = %v", ev["queryStringParameters"])
	}
	if c, _ := ev["cookies"].([]any); len(c) != 2 || c[0] != "c1=v1" {
		t.Fatalf("cookies = %v", ev["cookies"])
	}
}

// Seed scenario 5's route on stage dev (AutoDeploy off): reachable only after
// create-deployment; plus an ANY /{proxy+} route and AWS's 404 for no route.
func TestHTTPAPIScenario5Routes(t *testing.T) {
	s := startSluice(t, startOpts{})
	fn := s.createFunction("img", "provided.al2023", "bootstrap", goFunctionZip(t))
	api := s.awsJSON("apigatewayv2", "create-api", "--name", "images", "--protocol-type", "HTTP")
	apiID := str(api["ApiId"])
	integ := s.awsJSON("apigatewayv2", "create-integration", "--api-id", apiID, "--integration-type", "AWS_PROXY",
		"--integration-uri", str(fn["FunctionArn"]), "--payload-format-version", "2.0")
	target := "integrations/" + str(integ["IntegrationId"])
	s.aws("apigatewayv2", "create-route", "--api-id", apiID, "--route-key", "GET /image/presigned-uri", "--target", target)
	s.aws("apigatewayv2", "create-stage", "--api-id", apiID, "--stage-name", "dev")
	s.aws("lambda", "add-permission", "--function-name", "img", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")

	if r := s.call(t, "GET", apiID, "/dev/image/presigned-uri", ""); r.Status != 404 {
		t.Fatalf("before deployment: %d %s", r.Status, r.Body)
	}
	s.aws("apigatewayv2", "create-deployment", "--api-id", apiID, "--stage-name", "dev")
	r := s.awaitStatus(t, 200, "GET", apiID, "/dev/image/presigned-uri", "")
	if r.Status != 200 {
		t.Fatalf("after deployment: %d %s", r.Status, r.Body)
	}
	if ev := r.JSON(t); ev["routeKey"] != "GET /image/presigned-uri" {
		t.Fatalf("event = %s", r.Body)
	}
	if r := s.call(t, "GET", apiID, "/dev/other", ""); r.Status != 404 || string(r.Body) != `{"message":"Not Found"}` {
		t.Fatalf("no route: %d %s", r.Status, r.Body)
	}

	// ANY /{proxy+} on an auto-deployed $default stage.
	s.aws("apigatewayv2", "create-route", "--api-id", apiID, "--route-key", "ANY /{proxy+}", "--target", target)
	s.aws("apigatewayv2", "create-stage", "--api-id", apiID, "--stage-name", "$default", "--auto-deploy")
	ok := eventually(t, 2*time.Second, func() bool {
		r = s.call(t, "DELETE", apiID, "/a/b/c", "")
		return r.Status == 200
	})
	if !ok {
		t.Fatalf("ANY /{proxy+}: %d %s", r.Status, r.Body)
	}
	if pp, _ := r.JSON(t)["pathParameters"].(map[string]any); pp["proxy"] != "a/b/c" {
		t.Fatalf("pathParameters = %s", r.Body)
	}
}

// CORS preflight is answered from CorsConfiguration without invoking the function,
// checked the way a browser does, with curl.
func TestHTTPAPICORSPreflight(t *testing.T) {
	s := startSluice(t, startOpts{})
	fn := s.createFunction("cors", "provided.al2023", "bootstrap", goFunctionZip(t))
	api := s.awsJSON("apigatewayv2", "create-api", "--name", "cors", "--protocol-type", "HTTP", "--target", str(fn["FunctionArn"]),
		"--cors-configuration", "AllowOrigins=https://app.example.com,AllowMethods=GET,POST,AllowHeaders=content-type,x-token,MaxAge=600,ExposeHeaders=x-trace")
	apiID := str(api["ApiId"])
	port := s.Addr[strings.LastIndex(s.Addr, ":")+1:]
	host := apiID + ".execute-api.localhost:" + port
	out, err := exec.Command("curl", "-s", "-i", "-X", "OPTIONS", "-H", "Host: "+host,
		"-H", "Origin: https://app.example.com", "-H", "Access-Control-Request-Method: POST",
		"-H", "Access-Control-Request-Headers: content-type", s.URL+"/items").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v %s", err, out)
	}
	resp := strings.ToLower(string(out))
	for _, want := range []string{"http/1.1 204", "access-control-allow-origin: https://app.example.com",
		"access-control-allow-methods:", "access-control-max-age: 600"} {
		if !strings.Contains(resp, want) {
			t.Fatalf("preflight response lacks %q:\n%s", want, out)
		}
	}
	// Disallowed origin: no CORS headers.
	out, _ = exec.Command("curl", "-s", "-i", "-X", "OPTIONS", "-H", "Host: "+host,
		"-H", "Origin: https://evil.example.com", "-H", "Access-Control-Request-Method: POST", s.URL+"/items").CombinedOutput()
	if strings.Contains(strings.ToLower(string(out)), "access-control-allow-origin") {
		t.Fatalf("disallowed origin got CORS headers:\n%s", out)
	}
}
