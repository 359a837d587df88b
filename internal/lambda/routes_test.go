package lambda

import (
	"net/http"
	"reflect"
	"runtime"
	"testing"
)

func funcName(f func(*Service, *call) error) string {
	if f == nil {
		return "no operation"
	}
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}

func TestMatchRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         func(*Service, *call) error // nil: no operation
		function     string
		sub          string
	}{
		{"GET", "/2015-03-31/functions/", (*Service).listFunctions, "", ""},
		{"POST", "/2015-03-31/functions", (*Service).createFunction, "", ""},
		{"GET", "/2015-03-31/functions/f", (*Service).getFunction, "f", ""},
		{"GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/configuration", (*Service).getFunctionConfiguration, "arn:aws:lambda:us-east-1:1:function:f", ""},
		{"PUT", "/2015-03-31/functions/f/aliases/live", (*Service).updateAlias, "f", "live"},
		{"DELETE", "/2015-03-31/functions/f/policy/sid%2F1", (*Service).removePermission, "f", "sid/1"},
		{"POST", "/2015-03-31/functions/f/invocations", (*Service).invokeHTTP, "f", ""},
		{"GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af", (*Service).listTags, "", "arn:aws:lambda:us-east-1:1:function:f"},
		{"GET", "/2019-09-30/functions/f/concurrency", (*Service).getFunctionConcurrency, "f", ""},
		{"PUT", "/2017-10-31/functions/f/concurrency", (*Service).putFunctionConcurrency, "f", ""},
		{"GET", "/2016-08-19/account-settings", (*Service).getAccountSettings, "", ""},
		{"HEAD", "/_sluice/lambda/code/abc", serveCodeRoute, "", "abc"},
		{"PATCH", "/2015-03-31/functions/f", nil, "", ""},
		{"GET", "/2015-03-31/functions/f/code", nil, "", ""},
		{"GET", "/2019-09-30/functions/f/concurrency/x", nil, "", ""},
		{"GET", "/2015-03-31/layers", nil, "", ""},
		{"GET", "/", nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, "http://x"+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			segs, err := splitPath(r.URL.EscapedPath())
			if err != nil {
				t.Fatal(err)
			}
			c := &call{}
			got := matchRoute(tc.method, segs, c)
			if funcName(got) != funcName(tc.want) {
				t.Fatalf("matched %s, want %s", funcName(got), funcName(tc.want))
			}
			if got != nil && (c.function != tc.function || c.sub != tc.sub) {
				t.Fatalf("bound function %q sub %q, want %q %q", c.function, c.sub, tc.function, tc.sub)
			}
		})
	}
}
