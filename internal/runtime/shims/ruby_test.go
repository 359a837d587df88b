package shims

import (
	"encoding/json"
	"testing"
)

const rubyRuntime = "ruby3.4"

func TestRubyHandlers(t *testing.T) {
	in := installed(t)
	api, p := start(t, in, rubyRuntime, "testdata/ruby", "app.ok")
	api.invoke("r-1", `{"a":1}`)
	got := api.next(t, p)
	var body map[string]any
	if err := json.Unmarshal(got.body, &body); err != nil || got.kind != "response" || body["ok"] != true ||
		body["function"] != "fn" || body["request"] != "r-1" || body["remaining"] != true {
		t.Fatalf("post = %s %s (%v)\nstderr:\n%s", got.kind, got.body, err, p.stderr)
	}

	api2, p2 := start(t, in, rubyRuntime, "testdata/ruby", "app.boom")
	api2.invoke("r-2", `{}`)
	got = api2.next(t, p2)
	var e struct {
		ErrorMessage, ErrorType string
		StackTrace              []string
	}
	if err := json.Unmarshal(got.body, &e); err != nil || got.kind != "error" || e.ErrorType != "Function<ArgumentError>" ||
		e.ErrorMessage != "bad input" || len(e.StackTrace) == 0 || got.header.Get("Lambda-Runtime-Function-Error-Type") != "Function<ArgumentError>" {
		t.Fatalf("error post = %s %s", got.kind, got.body)
	}

	api3, p3 := start(t, in, rubyRuntime, "testdata/ruby", "app.Shop::Orders.handle")
	api3.invoke("r-3", `{}`)
	if got := api3.next(t, p3); got.kind != "response" || string(got.body) != `{"class":"Shop::Orders"}` {
		t.Fatalf("class handler = %s %s\nstderr:\n%s", got.kind, got.body, p3.stderr)
	}

	api4, p4 := start(t, in, rubyRuntime, "testdata/ruby", "missing.handler")
	if got := api4.next(t, p4); got.kind != "init-error" {
		t.Fatalf("missing file = %s %s", got.kind, got.body)
	}
}
