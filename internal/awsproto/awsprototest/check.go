// Package awsprototest holds the checks the services' fuzz targets share: every
// answer to hostile input is AWS-shaped, never a 500 or Go's own wording.
package awsprototest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// goWording is text only Go's libraries write; a client must never see it.
var goWording = []string{"Go struct", "json: cannot", "json: unknown", "invalid character", "unexpected end of JSON", "runtime error", "goroutine "}

// CheckAnswer fails tb unless rec is a sound AWS answer: no 500 (bad input is the
// caller's fault, never the server's), an error has an X-Amzn-ErrorType and a
// JSON body with a message, and no body carries Go's wording.
func CheckAnswer(tb testing.TB, req string, rec *httptest.ResponseRecorder) {
	tb.Helper()
	body := rec.Body.String()
	if rec.Code == http.StatusInternalServerError || rec.Code < 200 || rec.Code > 599 {
		tb.Fatalf("%s: status %d: %s", req, rec.Code, body)
	}
	for _, w := range goWording {
		if strings.Contains(body, w) {
			tb.Fatalf("%s: Go's wording %q reached the client: %s", req, w, body)
		}
	}
	if rec.Code < 400 {
		return
	}
	if rec.Header().Get("X-Amzn-ErrorType") == "" {
		tb.Fatalf("%s: %d without X-Amzn-ErrorType: %s", req, rec.Code, body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		tb.Fatalf("%s: error body is not JSON: %v: %s", req, err, body)
	}
	if m["message"] == nil && m["Message"] == nil {
		tb.Fatalf("%s: error body has no message: %s", req, body)
	}
}

// Fixture is a service seeded for fuzzing, with the ids of what it was seeded with:
// a request path's placeholders ("{api}") are replaced by them.
type Fixture struct {
	Handler http.Handler
	IDs     map[string]string
}

// Call serves one request; a nil recorder means the path is not a request line a
// server would read. The string describes the request for failure messages.
func (f *Fixture) Call(method, path string, body []byte) (*httptest.ResponseRecorder, string) {
	for k, v := range f.IDs {
		path = strings.ReplaceAll(path, k, v)
	}
	if _, err := url.ParseRequestURI(path); err != nil {
		return nil, ""
	}
	req := httptest.NewRequest(method, "http://localhost"+path, strings.NewReader(string(body)))
	req = req.WithContext(awsproto.WithRequestID(req.Context(), "fuzz"))
	rec := httptest.NewRecorder()
	f.Handler.ServeHTTP(rec, req)
	return rec, method + " " + path
}

// MustCall serves a seeding request, failing tb unless it succeeds; it returns the
// decoded JSON answer.
func (f *Fixture) MustCall(tb testing.TB, method, path, body string) map[string]any {
	tb.Helper()
	rec, desc := f.Call(method, path, []byte(body))
	if rec == nil {
		tb.Fatalf("%s %s: not a request line", method, path)
	}
	if rec.Code >= 300 {
		tb.Fatalf("%s: %d %s", desc, rec.Code, rec.Body)
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return m
}

// CheckRequest serves one fuzzed request and checks its answer with CheckAnswer;
// inputs that are not an HTTP request (bad method token, path) are skipped.
func (f *Fixture) CheckRequest(tb testing.TB, method, path string, body []byte) {
	tb.Helper()
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || !IsMethodToken(method) {
		return
	}
	if rec, desc := f.Call(method, path, body); rec != nil {
		CheckAnswer(tb, desc, rec)
	}
}

// IsMethodToken reports whether m can be an HTTP request method (fuzz inputs
// that cannot are skipped).
func IsMethodToken(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}
