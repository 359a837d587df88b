package gateway

import (
	"io"
	"net/http"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// HTTP API response parameter values may reference the integration response's
// headers, context variables and stage variables, alone or inside static text
// ("Transform API requests and responses for HTTP APIs").
func TestHTTPAPIResponseMappingValues(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", "up-value")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "created")
	})
	e := newEnv(t)
	in := &model.Integration2{IntegrationID: "p", IntegrationType: "HTTP_PROXY", IntegrationMethod: "ANY", IntegrationURI: up.URL,
		ResponseParameters: map[string]map[string]string{"201": {
			"overwrite:header.X-Static":  "static",
			"overwrite:header.X-Header":  "$response.header.X-Up",
			"overwrite:header.X-Braces":  "from-${response.header.X-Up}",
			"overwrite:header.X-Stage":   "stage-$context.stage",
			"overwrite:header.X-Request": "$context.requestId",
			"append:header.X-Route":      "${context.routeKey}!",
		}},
	}
	e.deployHTTP("$default", nil, in, "GET /m")
	r := e.call("GET", "h1", "/m", "")
	wantResponse(t, r, 201, "created")
	want := map[string]string{
		"X-Static": "static", "X-Header": "up-value", "X-Braces": "from-up-value", "X-Stage": "stage-$default",
		"X-Request": r.Header.Get("Apigw-Requestid"), "X-Route": "GET /m!",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v || got == "" {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
