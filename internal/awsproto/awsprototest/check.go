// Package awsprototest holds the checks the services' fuzz targets share: every
// answer to hostile input is AWS-shaped, never a 500 or Go's own wording.
package awsprototest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
