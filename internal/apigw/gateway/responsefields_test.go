package gateway

import (
	"testing"
)

// Each payload format reads only its own response fields: multiValueHeaders exist in
// format 1.0 only, cookies in format 2.0 only ("Lambda function response for format
// 2.0" lists statusCode, headers, body, isBase64Encoded and cookies).
func TestProxyResponseFieldsPerFormat(t *testing.T) {
	const result = `{"statusCode":200,"headers":{"X-One":"1"},"multiValueHeaders":{"X-Multi":["a","b"]},"cookies":["c=1"],"body":"ok"}`
	cases := []struct {
		version     string
		wantMulti   bool
		wantCookies bool
	}{
		{"1.0", true, false},
		{"2.0", false, true},
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			e := newEnv(t)
			e.inv.respond = payload(result)
			e.deployHTTP("$default", nil, lambdaIntegration2(c.version), "GET /r")
			r := e.call("GET", "h1", "/r", "")
			wantResponse(t, r, 200, "ok")
			if r.Header.Get("X-One") != "1" {
				t.Errorf("headers not applied: %v", r.Header)
			}
			if got := len(r.Header.Values("X-Multi")) > 0; got != c.wantMulti {
				t.Errorf("X-Multi = %v, want present %v", r.Header.Values("X-Multi"), c.wantMulti)
			}
			if got := len(r.Header.Values("Set-Cookie")) > 0; got != c.wantCookies {
				t.Errorf("Set-Cookie = %v, want present %v", r.Header.Values("Set-Cookie"), c.wantCookies)
			}
		})
	}
}
