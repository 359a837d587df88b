package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// controlCall sends one signed control-plane request with a raw JSON body, the way
// a hand-written client or a fuzzer would, and decodes AWS's error answer.
func (s *instance) controlCall(t *testing.T, method, path, service, body string) (apiResponse, awsError) {
	t.Helper()
	req := signedRequest(t, method, s.URL+path, service, "AKIDSLUICETEST", "sluice-test-secret", []byte(body), nil, time.Now())
	resp := s.do(t, req)
	var m map[string]any
	_ = json.Unmarshal(resp.Body, &m)
	msg, _ := m["message"].(string)
	if msg == "" {
		msg, _ = m["Message"].(string)
	}
	return resp, awsError{Status: resp.Status, Type: resp.Header.Get("X-Amzn-ErrorType"), Message: msg}
}

// Bad input gets AWS's error code and wording, bounded in size, and never Go's
// own text (struct and type names).
func TestInputValidation(t *testing.T) {
	s := startSluice(t, startOpts{})
	huge := strings.Repeat("a", 1<<20)
	api := s.awsJSON("apigateway", "create-rest-api", "--name", "v")
	apiID, rootID := api["id"].(string), ""
	res := s.awsJSON("apigateway", "get-resources", "--rest-api-id", apiID)
	rootID = res["items"].([]any)[0].(map[string]any)["id"].(string)
	httpAPI := s.awsJSON("apigatewayv2", "create-api", "--name", "h", "--protocol-type", "HTTP")
	httpID := httpAPI["ApiId"].(string)
	const pathPartMsg = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."

	tests := []struct {
		name, method, path, service, body string
		status                            int
		code                              string
		msg                               string // exact when it has no "*", else a prefix before the "*"
	}{
		{"rest api name of 1 MB", "POST", "/restapis", "apigateway", `{"name":"` + huge + `"}`,
			400, "BadRequestException", "Invalid REST API name specified"},
		{"rest api name with NUL", "POST", "/restapis", "apigateway", `{"name":"a\u0000b"}`,
			400, "BadRequestException", "Invalid REST API name specified"},
		{"path part ..", "POST", "/restapis/" + apiID + "/resources/" + rootID, "apigateway", `{"pathPart":".."}`,
			400, "BadRequestException", pathPartMsg},
		{"path part of 100 KB", "POST", "/restapis/" + apiID + "/resources/" + rootID, "apigateway",
			`{"pathPart":"` + strings.Repeat("p", 100<<10) + `"}`,
			400, "BadRequestException", "Resource's path part must be at most 1024 characters long."},
		{"rest api wrong type", "POST", "/restapis", "apigateway", `{"name":["x"]}`,
			400, "SerializationException", "Cannot deserialize value of type `string` from array value (through reference chain: name)"},
		{"http api integration MOCK", "POST", "/v2/apis/" + httpID + "/integrations", "apigateway", `{"integrationType":"MOCK"}`,
			400, "BadRequestException", "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)"},
		{"http api integration HTTP", "POST", "/v2/apis/" + httpID + "/integrations", "apigateway",
			`{"integrationType":"HTTP","integrationUri":"http://example.com","integrationMethod":"GET"}`,
			400, "BadRequestException", "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)"},
		{"http api bad json", "POST", "/v2/apis", "apigateway", `{"name":`,
			400, "BadRequestException", "Could not parse request body into json: Unexpected end-of-input*"},
		{"http api name with NUL", "POST", "/v2/apis", "apigateway", `{"name":"a\u0000","protocolType":"HTTP"}`,
			400, "BadRequestException", "Invalid API name specified*"},
		{"lambda function name of wrong type", "POST", "/2015-03-31/functions", "lambda", `{"FunctionName":5}`,
			400, "InvalidRequestContentException",
			"Could not parse request body into json: Cannot deserialize value of type `string` from number value (through reference chain: FunctionName)"},
		{"lambda syntax error", "POST", "/2015-03-31/functions", "lambda", `{"FunctionName":x}`,
			400, "InvalidRequestContentException",
			"Could not parse request body into json: Unexpected character ('x' (code 120)) at [line: 1, column: 17]"},
		{"lambda function name of 1 MB", "POST", "/2015-03-31/functions", "lambda", `{"FunctionName":"` + huge + `"}`,
			400, "ValidationException",
			"1 validation error detected: Value '" + strings.Repeat("a", 256) + "...' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140"},
		{"lambda get of a 1 MB name", "GET", "/2015-03-31/functions/" + strings.Repeat("b", 200) + "/configuration", "lambda", "",
			400, "ValidationException",
			"1 validation error detected: Value '" + strings.Repeat("b", 200) + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 170"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := s.controlCall(t, tt.method, tt.path, tt.service, tt.body)
			if got.Status != tt.status || got.Type != tt.code {
				t.Fatalf("got %d %s %q, want %d %s", got.Status, got.Type, got.Message, tt.status, tt.code)
			}
			if prefix, ok := strings.CutSuffix(tt.msg, "*"); ok {
				if !strings.HasPrefix(got.Message, prefix) {
					t.Fatalf("message %q, want prefix %q", got.Message, prefix)
				}
			} else if got.Message != tt.msg {
				t.Fatalf("message %q\nwant    %q", got.Message, tt.msg)
			}
			for _, goText := range []string{"Go struct", "Input.", "json: cannot", "of type string"} {
				if strings.Contains(string(resp.Body), goText) {
					t.Fatalf("Go's wording %q reached the client: %s", goText, resp.Body)
				}
			}
			if len(resp.Body) > 8<<10 {
				t.Fatalf("error body is %d bytes", len(resp.Body))
			}
		})
	}
}
