package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r apiResponse) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	return m
}

// call sends a request to an API on the data plane, addressed by Host
// ({apiId}.execute-api.localhost), the way a client of the deployed API does.
func (s *instance) call(t *testing.T, method, apiID, path string, body string, headers ...string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = apiID + ".execute-api.localhost:" + s.Addr[strings.LastIndex(s.Addr, ":")+1:]
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return s.do(t, req)
}

// callPath sends a request using the path form /restapis/{apiId}/{stage}/_user_request_/...
func (s *instance) callPath(t *testing.T, method, apiID, stage, path string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+"/restapis/"+apiID+"/"+stage+"/_user_request_"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, req)
}

func (s *instance) do(t *testing.T, req *http.Request) apiResponse {
	t.Helper()
	return doWith(t, &http.Client{Timeout: 60 * time.Second}, req)
}

// doWith sends req with client and reads the whole answer.
func doWith(t *testing.T, client *http.Client, req *http.Request) apiResponse {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResponse{resp.StatusCode, resp.Header, b}
}

// eventually retries f until it returns true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fnURI(fnArn string) string {
	return "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnArn + "/invocations"
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// awaitStatus calls the API until it answers want (deployments reach the data plane
// through a store watch, a few milliseconds after the control plane answers) and
// returns the last response.
func (s *instance) awaitStatus(t *testing.T, want int, method, apiID, path, body string, headers ...string) apiResponse {
	t.Helper()
	var r apiResponse
	eventually(t, 3*time.Second, func() bool {
		r = s.call(t, method, apiID, path, body, headers...)
		return r.Status == want
	})
	return r
}
