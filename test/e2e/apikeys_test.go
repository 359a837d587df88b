package e2e

import (
	"strings"
	"testing"
	"time"
)

// Seed scenario 3's API key part: a method that requires an API key admits only an
// enabled key in a usage plan of the stage; the plan's throttle and quota apply, and
// the quota survives a restart.
func TestRESTAPIKeysAndUsagePlans(t *testing.T) {
	s := startSluice(t, startOpts{})
	api := newRESTAPI(t, s, "keyed")
	rid := api.resource(api.root, "keyed")
	api.method(rid, "GET", "--api-key-required")
	s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
	s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
	s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
		"--status-code", "200", "--response-templates", `{"application/json":"{\"ok\":true}"}`)
	api.deploy("prod")

	forbidden := func(what string, headers ...string) {
		t.Helper()
		r := s.call(t, "GET", api.id, "/prod/keyed", "", headers...)
		if r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	if r := s.awaitStatus(t, 403, "GET", api.id, "/prod/keyed", ""); string(r.Body) != `{"message":"Forbidden"}` {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
	forbidden("unknown key", "x-api-key", "not-a-key-at-all-0123456789")

	throttled := s.awsJSON("apigateway", "create-api-key", "--name", "throttled", "--enabled")
	quota := s.awsJSON("apigateway", "create-api-key", "--name", "quota", "--enabled", "--value", "quota-key-0123456789abcdef")
	tv, qv := str(throttled["value"]), str(quota["value"])
	if len(tv) != 40 || qv != "quota-key-0123456789abcdef" {
		t.Fatalf("create-api-key values %q %q", tv, qv)
	}
	if got := s.awsJSON("apigateway", "get-api-key", "--api-key", str(quota["id"])); got["value"] != nil {
		t.Fatalf("get-api-key without --include-value shows the value: %v", got)
	}
	forbidden("key in no plan", "x-api-key", tv)

	planA := s.awsJSON("apigateway", "create-usage-plan", "--name", "a", "--api-stages", "apiId="+api.id+",stage=prod",
		"--throttle", "burstLimit=2,rateLimit=0.001")
	planB := s.awsJSON("apigateway", "create-usage-plan", "--name", "b", "--api-stages", "apiId="+api.id+",stage=prod",
		"--quota", "limit=3,period=DAY")
	s.aws("apigateway", "create-usage-plan-key", "--usage-plan-id", str(planA["id"]), "--key-id", str(throttled["id"]), "--key-type", "API_KEY")
	s.aws("apigateway", "create-usage-plan-key", "--usage-plan-id", str(planB["id"]), "--key-id", str(quota["id"]), "--key-type", "API_KEY")

	// Throttle: a burst of two, then 429 Too Many Requests (the bucket refills at one
	// request per 1000 s).
	if r := s.awaitStatus(t, 200, "GET", api.id, "/prod/keyed", "", "x-api-key", tv); r.Status != 200 || string(r.Body) != `{"ok":true}` {
		t.Fatalf("throttled key, first: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", api.id, "/prod/keyed", "", "x-api-key", tv); r.Status != 200 {
		t.Fatalf("throttled key, second: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", api.id, "/prod/keyed", "", "x-api-key", tv); r.Status != 429 || string(r.Body) != `{"message":"Too Many Requests"}` {
		t.Fatalf("throttled key over its burst: %d %s", r.Status, r.Body)
	}

	// Quota: three a day, then 429 Limit Exceeded.
	for i := 0; i < 3; i++ {
		if r := s.call(t, "GET", api.id, "/prod/keyed", "", "x-api-key", qv); r.Status != 200 {
			t.Fatalf("quota key, request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if r := s.call(t, "GET", api.id, "/prod/keyed", "", "x-api-key", qv); r.Status != 429 || string(r.Body) != `{"message":"Limit Exceeded"}` {
		t.Fatalf("quota key over its quota: %d %s", r.Status, r.Body)
	}
	usage := s.awsJSON("apigateway", "get-usage", "--usage-plan-id", str(planB["id"]), "--start-date", todayUTC(), "--end-date", todayUTC())
	items, _ := usage["items"].(map[string]any)
	series, _ := items[str(quota["id"])].([]any)
	if len(series) != 1 {
		t.Fatalf("get-usage = %v", usage)
	}
	if day, _ := series[0].([]any); len(day) != 2 || day[0] != float64(3) || day[1] != float64(0) {
		t.Fatalf("get-usage day = %v", series[0])
	}

	// Quotas are durable: a restart does not reset them.
	s.restart()
	if r := s.awaitStatus(t, 429, "GET", api.id, "/prod/keyed", "", "x-api-key", qv); r.Status != 429 {
		t.Fatalf("quota after restart: %d %s", r.Status, r.Body)
	}

	// UpdateUsage grants the spent quota key one more request today.
	upd := s.awsJSON("apigateway", "update-usage", "--usage-plan-id", str(planB["id"]), "--key-id", str(quota["id"]),
		"--patch-operations", "op=replace,path=/remaining,value=1")
	if day := upd["items"].(map[string]any)[str(quota["id"])].([]any)[0].([]any); day[0] != float64(3) || day[1] != float64(1) {
		t.Fatalf("update-usage = %v", upd)
	}
	if r := s.call(t, "GET", api.id, "/prod/keyed", "", "x-api-key", qv); r.Status != 200 {
		t.Fatalf("quota key after update-usage: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", api.id, "/prod/keyed", "", "x-api-key", qv); r.Status != 429 || string(r.Body) != `{"message":"Limit Exceeded"}` {
		t.Fatalf("quota key after its extension: %d %s", r.Status, r.Body)
	}

	// ImportApiKeys from AWS's CSV key file: the imported key joins plan A; a bad
	// row is a warning, and with --fail-on-warnings nothing is imported.
	csv := t.TempDir() + "/keys.csv"
	writeFile(t, csv, "Name,Key,Description,Enabled,UsagePlanIds\n"+
		"imported,imported-key-0123456789abcdef,from a file,TRUE,"+str(planA["id"])+"\n"+
		"bad,short,,TRUE,\n")
	imp := s.awsJSON("apigateway", "import-api-keys", "--body", "fileb://"+csv, "--format", "csv")
	ids, _ := imp["ids"].([]any)
	warnings, _ := imp["warnings"].([]any)
	if len(ids) != 1 || len(warnings) != 1 || warnings[0] != "Line 3: API Key value must be between 20 and 128 characters" {
		t.Fatalf("import-api-keys = %v", imp)
	}
	if r := s.awaitStatus(t, 200, "GET", api.id, "/prod/keyed", "", "x-api-key", "imported-key-0123456789abcdef"); r.Status != 200 {
		t.Fatalf("imported key: %d %s", r.Status, r.Body)
	}
	if _, stderr, err := s.awsRaw("apigateway", "import-api-keys", "--body", "fileb://"+csv, "--format", "csv", "--fail-on-warnings"); err == nil ||
		!strings.Contains(stderr, "BadRequestException") || !strings.Contains(stderr, "Line 3: API Key value must be between 20 and 128 characters") {
		t.Fatalf("import-api-keys --fail-on-warnings: %v %s", err, stderr)
	}

	// A disabled key is refused.
	s.aws("apigateway", "update-api-key", "--api-key", str(throttled["id"]), "--patch-operations", "op=replace,path=/enabled,value=false")
	if r := s.awaitStatus(t, 403, "GET", api.id, "/prod/keyed", "", "x-api-key", tv); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
		t.Fatalf("disabled key: %d %s", r.Status, r.Body)
	}
}

func todayUTC() string { return time.Now().UTC().Format(time.DateOnly) }
