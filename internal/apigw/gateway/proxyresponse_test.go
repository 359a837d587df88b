package gateway

import (
	"testing"
)

// Lambda proxy responses are read in one pass; these pin what that pass accepts and
// rejects for each payload format ("Output format of a Lambda function for proxy
// integration", "Lambda function response for format 2.0").
func TestParseProxyResponse(t *testing.T) {
	cases := []struct {
		name    string
		version string
		payload string
		wantErr bool
		status  int
		body    string
	}{
		{"v1 document", "1.0", `{"statusCode":201,"body":"x"}`, false, 201, "x"},
		{"v1 string status", "1.0", `{"statusCode":"404"}`, false, 404, ""},
		{"v1 trailing whitespace", "1.0", "{\"statusCode\":200}\n \t", false, 200, ""},
		{"v1 trailing data", "1.0", `{"statusCode":200} {}`, true, 0, ""},
		{"v1 no statusCode", "1.0", `{"body":"x"}`, true, 0, ""},
		{"v1 null statusCode", "1.0", `{"statusCode":null}`, true, 0, ""},
		{"v1 bad headers", "1.0", `{"statusCode":200,"headers":5}`, true, 0, ""},
		{"v1 empty", "1.0", ``, true, 0, ""},
		{"v1 not an object", "1.0", `"hello"`, true, 0, ""},
		{"v2 document", "2.0", `{"statusCode":202,"body":"y"}`, false, 202, "y"},
		{"v2 object without statusCode is the body", "2.0", `{"a":1}`, false, 200, `{"a":1}`},
		{"v2 object with non-response fields is the body", "2.0", `{"headers":5,"body":[1]}`, false, 200, `{"headers":5,"body":[1]}`},
		{"v2 statusCode with bad headers", "2.0", `{"statusCode":200,"headers":5}`, true, 0, ""},
		{"v2 bad statusCode", "2.0", `{"statusCode":"abc"}`, true, 0, ""},
		{"v2 string", "2.0", `"Hello from Lambda!"`, false, 200, "Hello from Lambda!"},
		{"v2 number", "2.0", ` 42 `, false, 200, "42"},
		{"v2 invalid object", "2.0", `{"statusCode":200`, true, 0, ""},
		{"v2 trailing data", "2.0", `{"statusCode":200} x`, true, 0, ""},
		{"v2 invalid", "2.0", `hello`, true, 0, ""},
		{"v2 empty", "2.0", ``, true, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parse := parseProxyResponseV1
			if c.version == "2.0" {
				parse = parseProxyResponseV2
			}
			out, err := parse([]byte(c.payload))
			if c.wantErr {
				if err == nil {
					t.Fatalf("parsed %q as %+v, want an error", c.payload, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", c.payload, err)
			}
			if out.status != c.status || out.rawBody != c.body {
				t.Errorf("got status %d body %q, want %d %q", out.status, out.rawBody, c.status, c.body)
			}
			if c.version == "2.0" && c.payload[0] != '{' || c.name == "v2 object without statusCode is the body" {
				if ct := out.headers["Content-Type"]; len(ct) != 1 || ct[0] != "application/json" {
					t.Errorf("Content-Type = %v, want application/json", ct)
				}
			}
		})
	}
}
