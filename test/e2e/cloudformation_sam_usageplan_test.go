package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// SAM's CreateUsagePlan SHARED (here from Globals): both APIs' stages are in one
// ServerlessUsagePlan with one ServerlessApiKey, so the key opens both and the
// quota of 3 a day counts the requests to both together.
func TestCloudFormationSAMSharedUsagePlan(t *testing.T) {
	s := startSluice(t, startOpts{})
	b, err := os.ReadFile(filepath.Join("testdata", "cloudformation", "sam-shared-usage-plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.aws("cloudformation", "create-stack", "--stack-name", "shared", "--template-body", string(b),
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	s.waitStack(t, "stack-create-complete", "shared")
	outs := stackOutputs(s.describeStack(t, "shared"))
	first, second := outs["FirstId"], outs["SecondId"]
	plans := s.awsJSON("apigateway", "get-usage-plans")["items"].([]any)
	if len(plans) != 1 || len(plans[0].(map[string]any)["apiStages"].([]any)) != 2 {
		t.Fatalf("usage plans = %v, want one with both APIs' stages", plans)
	}
	key := str(s.awsJSON("apigateway", "get-api-key", "--api-key", outs["KeyId"], "--include-value")["value"])

	if r := s.awaitStatus(t, 403, "GET", first, "/first/one", ""); r.Status != 403 {
		t.Fatalf("first API without a key = %d %s", r.Status, r.Body)
	}
	for i, c := range []struct{ api, path string }{{first, "/first/one"}, {second, "/second/two"}, {first, "/first/one"}} {
		if r := s.call(t, "GET", c.api, c.path, "", "x-api-key", key); r.Status != 200 || r.JSON(t)["path"] == nil {
			t.Fatalf("request %d with the shared key = %d %s", i+1, r.Status, r.Body)
		}
	}
	// The fourth request, to either API, is over the shared quota.
	if r := s.call(t, "GET", second, "/second/two", "", "x-api-key", key); r.Status != 429 || string(r.Body) != `{"message":"Limit Exceeded"}` {
		t.Fatalf("fourth request = %d %s, want 429 Limit Exceeded", r.Status, r.Body)
	}
}
