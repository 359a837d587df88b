package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRuntimeAPI: whatever a function process sends to its Runtime API (method,
// path, error-type header, body) is answered, never a panic or a hang, and an
// invocation it settles gets a payload that is JSON or the bytes it posted.
// Seeds live in testdata/fuzz/FuzzRuntimeAPI.
func FuzzRuntimeAPI(f *testing.F) {
	for _, s := range []struct{ method, path, errType, body string }{
		{"POST", "/2018-06-01/runtime/invocation/req-1/response", "", `{"statusCode":200}`},
		{"POST", "/2018-06-01/runtime/invocation/req-1/error", "Runtime.Custom", `not json`},
		{"POST", "/2018-06-01/runtime/invocation/req-1/error", "", `{"errorMessage":"m","errorType":"T","stackTrace":[]}`},
		{"POST", "/2018-06-01/runtime/init/error", "Runtime.Init", ``},
		{"GET", "/2018-06-01/runtime/invocation/next", "", ``},
		{"POST", "/2018-06-01/runtime/invocation/other/response", "", `x`},
		{"POST", "/2018-06-01/runtime/invocation/req-1/response/extra", "", ``},
		{"PUT", "/2018-06-01/runtime/invocation/%2F/error", "\x00", `{`},
	} {
		f.Add(s.method, s.path, s.errType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, errType string, body []byte) {
		if _, err := url.ParseRequestURI(path); err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		for i := 0; i < len(method); i++ {
			if method[i] < 'A' || method[i] > 'Z' {
				return // not a method a client can send
			}
		}
		if method == "" {
			return
		}
		for _, initDone := range []bool{true, false} {
			c := newInvocation(&Invocation{RequestID: "req-1", Payload: []byte(`{}`)}, &FunctionSpec{})
			close(c.started)
			inst := &instance{work: make(chan *invocation, 1), exited: make(chan struct{}), cur: c, initDone: initDone}
			req := httptest.NewRequest(method, path, bytes.NewReader(body))
			if errType != "" && !strings.ContainsAny(errType, "\r\n\x00") {
				req.Header.Set(hdrErrorType, errType)
			}
			// /next long-polls; a client that has gone away must not hold it.
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			rec := httptest.NewRecorder()
			inst.ServeHTTP(rec, req.WithContext(ctx))
			if rec.Code < 100 || rec.Code > 599 {
				t.Fatalf("status %d", rec.Code)
			}
			if rec.Code != http.StatusAccepted {
				continue
			}
			select {
			case o := <-c.done:
				if o.kind != outSuccess && !json.Valid(o.payload) {
					t.Fatalf("%s %s settled with a non-JSON error payload %q", method, path, o.payload)
				}
				if o.kind == outSuccess && !bytes.Equal(o.payload, body) {
					t.Fatalf("response payload %q, posted %q", o.payload, body)
				}
			default:
				if strings.HasSuffix(path, "/response") || strings.HasSuffix(path, "/error") {
					t.Fatalf("%s %s: 202 without settling the invocation", method, path)
				}
			}
		}
	})
}
