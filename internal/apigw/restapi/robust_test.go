package restapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputNeverFailsInternally sends malformed bodies, wrong member types and
// hostile ids to every served operation: each must answer a 4xx in AWS's error
// shape, never a 5xx (or a panic, which would fail the test server).
func TestBadInputNeverFailsInternally(t *testing.T) {
	e := newTestEnv(t)
	bodies := []string{``, `{`, `[]`, `null`, `{"name":5,"pathPart":[],"type":{},"patchOperations":"x","tags":3}`,
		`{"patchOperations":[{"op":"replace"},{"op":"add","path":"/"},{"op":"remove","path":"//~1~0/x/y/z/w"}]}`}
	served := New(Options{}).handlers()
	for _, op := range operations {
		if served[op.name] == nil {
			continue
		}
		// A fresh API per operation, so that an earlier delete does not turn the
		// later calls into plain 404s.
		api, root := e.createAPI(t, "robust")
		e.mockMethod(t, api, root, "GET")
		ids := map[string]string{"restApiId": api, "resourceId": root, "parentId": root, "httpMethod": "GET", "statusCode": "200"}
		for _, hostile := range []bool{false, true} {
			path := op.path
			if i := strings.Index(path, "?"); i >= 0 {
				path = path[:i]
			}
			for label, v := range ids {
				if hostile {
					v = "%2F..%2Fapis%2F" + api
				}
				path = strings.ReplaceAll(path, "{"+label+"}", v)
			}
			for _, label := range []string{"deploymentId", "stageName", "responseType", "requestValidatorId", "modelName", "resourceArn"} {
				path = strings.ReplaceAll(path, "{"+label+"}", "x%2Fy")
			}
			for _, body := range bodies {
				req, _ := http.NewRequest(op.method, e.url+path, strings.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", op.name, path, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Errorf("%s %s body %q: %d %s", op.name, path, body, resp.StatusCode, b)
				}
				if resp.StatusCode >= 400 && (resp.Header.Get("X-Amzn-ErrorType") == "" || !strings.HasPrefix(string(b), `{"message":`)) {
					t.Errorf("%s %s: error without AWS shape: %d %s", op.name, path, resp.StatusCode, b)
				}
			}
		}
	}
}
