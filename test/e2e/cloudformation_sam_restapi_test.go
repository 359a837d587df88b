package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SAM Api events: the implicit ServerlessRestApi (stage Prod) and an
// AWS::Serverless::Api with a TOKEN authorizer as default, API keys through a
// PER_API usage plan and CORS; an update that changes the API redeploys it under
// the same id.
func TestCloudFormationSAMRestAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	b, err := os.ReadFile(filepath.Join("testdata", "cloudformation", "sam-restapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := string(b)
	s.aws("cloudformation", "create-stack", "--stack-name", "samrest", "--template-body", tmpl,
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-create-complete", "samrest")
	outs := stackOutputs(s.describeStack(t, "samrest"))
	implicit, apiID := outs["ImplicitId"], outs["ApiId"]

	res, _ := s.awsJSON("cloudformation", "list-stack-resources", "--stack-name", "samrest")["StackResourceSummaries"].([]any)
	physical := map[string]string{}
	for _, x := range res {
		m := x.(map[string]any)
		physical[str(m["LogicalResourceId"])] = str(m["PhysicalResourceId"])
	}
	for _, id := range []string{"ServerlessRestApi", "ServerlessRestApiProdStage", "HelloImplicitPermissionProd", "MyApi", "MyApidevStage",
		"HelloGuardedPermissiondev", "HelloOpenPermissiondev", "MyApiTokenAuthorizerPermission", "MyApiUsagePlan", "MyApiApiKey", "MyApiUsagePlanKey"} {
		if physical[id] == "" {
			t.Fatalf("resources = %v, missing %s", physical, id)
		}
	}

	if r := s.awaitStatus(t, 200, "GET", implicit, "/Prod/hello/world", ""); r.JSON(t)["name"] != "world" {
		t.Fatalf("implicit API = %d %s", r.Status, r.Body)
	}
	if r := s.awaitStatus(t, 200, "GET", apiID, "/dev/open", ""); r.JSON(t)["path"] != "/open" {
		t.Fatalf("open = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/dev/guarded", ""); r.Status != 401 {
		t.Fatalf("guarded without token = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/dev/guarded", "", "X-Token", "allow"); r.Status != 403 {
		t.Fatalf("guarded without key = %d %s", r.Status, r.Body)
	}
	key := s.awsJSON("apigateway", "get-api-key", "--api-key", physical["MyApiApiKey"], "--include-value")
	// SAM lists the authorizer and the key as two security requirements; API
	// Gateway enforces both, so the key alone does not pass the authorizer.
	if r := s.call(t, "GET", apiID, "/dev/guarded", "", "x-api-key", str(key["value"])); r.Status != 401 {
		t.Fatalf("guarded with key, without token = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/dev/guarded", "", "X-Token", "deny", "x-api-key", str(key["value"])); r.Status != 403 {
		t.Fatalf("guarded with key and a denied token = %d %s", r.Status, r.Body)
	}
	r := s.call(t, "GET", apiID, "/dev/guarded", "", "X-Token", "allow", "x-api-key", str(key["value"]))
	if r.Status != 200 || r.JSON(t)["principal"] != "user-allow" {
		t.Fatalf("guarded with token and key = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "OPTIONS", apiID, "/dev/guarded", ""); r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight = %d %v %s", r.Status, r.Header, r.Body)
	}

	// Changing an event's path changes the body: a new deployment, the same API.
	s.aws("cloudformation", "update-stack", "--stack-name", "samrest", "--template-body", strings.ReplaceAll(tmpl, "Path: /open", "Path: /opened"),
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-update-complete", "samrest")
	if got := stackOutputs(s.describeStack(t, "samrest")); got["ApiId"] != apiID || got["ImplicitId"] != implicit {
		t.Fatalf("outputs after update = %v, before %v", got, outs)
	}
	if r := s.awaitStatus(t, 200, "GET", apiID, "/dev/opened", ""); r.Status != 200 {
		t.Fatalf("opened after update = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/dev/open", ""); r.Status != 403 {
		t.Fatalf("old path after update = %d %s", r.Status, r.Body)
	}
	if deps, _ := s.awsJSON("apigateway", "get-deployments", "--rest-api-id", apiID)["items"].([]any); len(deps) != 1 {
		t.Fatalf("deployments after update = %v", deps)
	}

	s.aws("cloudformation", "delete-stack", "--stack-name", "samrest")
	s.waitStack(t, "stack-delete-complete", "samrest")
	for _, list := range [][]string{{"get-rest-apis"}, {"get-api-keys"}, {"get-usage-plans"}} {
		if items, _ := s.awsJSON(append([]string{"apigateway"}, list...)...)["items"].([]any); len(items) != 0 {
			t.Fatalf("%s after delete: %v", list[0], items)
		}
	}
}
