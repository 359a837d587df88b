package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// A REST API made of AWS::ApiGateway::* resources (a TOKEN authorizer, an API key
// behind a usage plan, a MOCK method and an imported Body) deploys, serves through
// its stage, updates in place keeping its id, and is deleted with everything it
// created.
func TestCloudFormationRestAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	tmpl := "file://" + filepath.Join("testdata", "cloudformation", "restapi.yaml")
	s.aws("cloudformation", "create-stack", "--stack-name", "rest", "--template-body", tmpl, "--capabilities", "CAPABILITY_IAM")
	s.waitStack(t, "stack-create-complete", "rest")
	outs := stackOutputs(s.describeStack(t, "rest"))
	apiID, imported := outs["ApiId"], outs["ImportedId"]

	api := s.awsJSON("apigateway", "get-rest-api", "--rest-api-id", apiID)
	ec, _ := api["endpointConfiguration"].(map[string]any)
	if api["name"] != "rest-api" || api["description"] != "first" || api["rootResourceId"] != outs["RootId"] ||
		str(ec["types"].([]any)[0]) != "REGIONAL" || str(api["binaryMediaTypes"].([]any)[0]) != "image/png" {
		t.Fatalf("get-rest-api = %v", api)
	}

	r := s.awaitStatus(t, 200, "GET", apiID, "/v1/hello/world", "", "Authorization", "allow")
	if got := r.JSON(t); got["greeting"] != "hi" || got["name"] != "world" || got["principal"] != "user-allow" || got["stageVar"] != "one" {
		t.Fatalf("GET /v1/hello/world = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/v1/hello/world", "", "Authorization", "deny"); r.Status != 403 {
		t.Fatalf("denied token = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/v1/hello/world", ""); r.Status != 401 {
		t.Fatalf("no token = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", apiID, "/v1/keyed", ""); r.Status != 403 {
		t.Fatalf("keyed without a key = %d %s", r.Status, r.Body)
	}
	if r := s.awaitStatus(t, 200, "GET", apiID, "/v1/keyed", "", "x-api-key", "abcdefghijklmnopqrstuvwxyz0123"); r.JSON(t)["keyed"] != true {
		t.Fatalf("keyed with a key = %d %s", r.Status, r.Body)
	}
	if r := s.awaitStatus(t, 200, "GET", imported, "/prod/hi", ""); r.JSON(t)["greeting"] != "hi" {
		t.Fatalf("imported API = %d %s", r.Status, r.Body)
	}

	stage := s.awsJSON("apigateway", "get-stage", "--rest-api-id", apiID, "--stage-name", "v1")
	ms, _ := stage["methodSettings"].(map[string]any)
	all, _ := ms["*/*"].(map[string]any)
	if all["metricsEnabled"] != true || all["throttlingBurstLimit"] != float64(100) || all["throttlingRateLimit"] != float64(50) {
		t.Fatalf("stage = %v", stage)
	}
	plan := s.awsJSON("apigateway", "get-usage-plan", "--usage-plan-id", outs["PlanId"])
	quota, _ := plan["quota"].(map[string]any)
	stages, _ := plan["apiStages"].([]any)
	if plan["name"] != "rest-plan" || quota["limit"] != float64(1000) || quota["period"] != "DAY" || len(stages) != 1 {
		t.Fatalf("usage plan = %v", plan)
	}

	// An update patches what changed in place: same API, new description and
	// stage variable, which the stage serves at once.
	s.aws("cloudformation", "update-stack", "--stack-name", "rest", "--template-body", tmpl, "--capabilities", "CAPABILITY_IAM",
		"--parameters", "ParameterKey=ApiDescription,ParameterValue=second", "ParameterKey=StageVar,ParameterValue=two")
	s.waitStack(t, "stack-update-complete", "rest")
	if got := stackOutputs(s.describeStack(t, "rest")); got["ApiId"] != apiID || got["KeyId"] != outs["KeyId"] {
		t.Fatalf("outputs after update = %v, before %v", got, outs)
	}
	if api := s.awsJSON("apigateway", "get-rest-api", "--rest-api-id", apiID); api["description"] != "second" {
		t.Fatalf("get-rest-api after update = %v", api)
	}
	r = s.call(t, "GET", apiID, "/v1/hello/world", "", "Authorization", "allow")
	if r.Status != 200 || r.JSON(t)["stageVar"] != "two" {
		t.Fatalf("GET after update = %d %s", r.Status, r.Body)
	}

	// A property the API rejects fails the resource with API Gateway's own error.
	_, stderr, err := s.awsRaw("cloudformation", "validate-template", "--template-body",
		`{"Resources":{"A":{"Type":"AWS::ApiGateway::RestApi","Properties":{"Name":"a"}},"D":{"Type":"AWS::ApiGateway::VpcLink"}}}`)
	if err == nil || !strings.Contains(stderr, "Unrecognized resource types: [AWS::ApiGateway::VpcLink]") {
		t.Fatalf("validate-template: err=%v stderr=%s", err, stderr)
	}

	s.aws("cloudformation", "delete-stack", "--stack-name", "rest")
	s.waitStack(t, "stack-delete-complete", "rest")
	for _, list := range [][]string{{"get-rest-apis"}, {"get-api-keys"}, {"get-usage-plans"}} {
		if items, _ := s.awsJSON(append([]string{"apigateway"}, list...)...)["items"].([]any); len(items) != 0 {
			t.Fatalf("%s after delete: %v", list[0], items)
		}
	}
}
