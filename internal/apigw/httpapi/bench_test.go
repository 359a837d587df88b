package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCreateRouteAutoDeploy measures CreateRoute on an API with an
// auto-deploy stage and 50 routes (growing by one per iteration): validation, the route write and a full
// snapshot of the API, committed in one bbolt transaction.
func BenchmarkCreateRouteAutoDeploy(b *testing.B) {
	st := newTestStore(b)
	svc := New(Options{Store: st})
	call := func(method, path, body string) map[string]any {
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		if rec.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return m
	}
	api := call("POST", "/v2/apis", `{"name":"bench","protocolType":"HTTP"}`)["apiId"].(string)
	integ := call("POST", "/v2/apis/"+api+"/integrations",
		`{"integrationType":"AWS_PROXY","integrationUri":"`+testFnARN+`","payloadFormatVersion":"2.0"}`)["integrationId"].(string)
	call("POST", "/v2/apis/"+api+"/stages", `{"stageName":"$default","autoDeploy":true}`)
	route := func(i int) {
		call("POST", "/v2/apis/"+api+"/routes",
			fmt.Sprintf(`{"routeKey":"GET /r%d","target":"integrations/%s"}`, i, integ))
	}
	for i := range 50 {
		route(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		route(1000 + i)
	}
}
