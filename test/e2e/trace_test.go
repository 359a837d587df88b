package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// X-Amzn-Trace-Id as API Gateway handles it: a client's trace header is
// propagated (REST answers it back), a request without one gets a new root, and the
// function sees the same root in _X_AMZN_TRACE_ID with a Parent and Sampled=0, as
// Lambda hands it over. A malformed header is replaced, not passed on.
func TestTraceIDPropagation(t *testing.T) {
	s := startSluice(t, startOpts{})
	arn := s.nodeGW(t, "gw")
	rest := newRESTAPI(t, s, "traced")
	rest.lambdaProxy(rest.resource(rest.root, "{proxy+}"), "ANY", fnURI(arn))
	s.allowInvoke("gw", rest.id)
	rest.deploy("v1")
	httpAPI := newHTTPAPI(t, s, "traced-http")
	httpAPI.route("ANY /{proxy+}", httpAPI.lambda(arn, "2.0"))
	s.allowInvoke("gw", httpAPI.id)
	s.aws("apigatewayv2", "create-stage", "--api-id", httpAPI.id, "--stage-name", "$default", "--auto-deploy")

	const root = "Root=1-5759e988-bd862e3fe1be46a994272793"
	fnTrace := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)

	r := s.awaitStatus(t, 200, "GET", rest.id, "/v1/trace", "", "X-Amzn-Trace-Id", root)
	if got := r.Header.Get("X-Amzn-Trace-Id"); got != root {
		t.Fatalf("REST answered X-Amzn-Trace-Id %q, want the client's %q", got, root)
	}
	if body := string(r.Body); !strings.HasPrefix(body, root+";Parent=") || !fnTrace.MatchString(body) {
		t.Fatalf("REST function saw _X_AMZN_TRACE_ID %q", body)
	}

	r = s.awaitStatus(t, 200, "GET", rest.id, "/v1/trace", "")
	gen := r.Header.Get("X-Amzn-Trace-Id")
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(gen) || !strings.HasPrefix(string(r.Body), gen+";") {
		t.Fatalf("generated trace %q, function saw %q", gen, r.Body)
	}

	r = s.awaitStatus(t, 200, "GET", httpAPI.id, "/trace", "", "X-Amzn-Trace-Id", root+";Parent=53995c3f42cd8ad8;Sampled=1")
	if string(r.Body) != root+";Parent=53995c3f42cd8ad8;Sampled=1" {
		t.Fatalf("HTTP API function saw _X_AMZN_TRACE_ID %q", r.Body)
	}

	r = s.awaitStatus(t, 200, "GET", rest.id, "/v1/trace", "", "X-Amzn-Trace-Id", "Root=not-a-trace")
	if got := r.Header.Get("X-Amzn-Trace-Id"); strings.Contains(got, "not-a-trace") || !fnTrace.MatchString(string(r.Body)) {
		t.Fatalf("malformed trace header: answered %q, function saw %q", got, r.Body)
	}
}
