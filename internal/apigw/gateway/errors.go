package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/compile"
)

// failure is an error the gateway itself answers; each API kind has its own dialect
// for it.
type failure int

const (
	failNoAPI            failure = iota + 1 // unknown API or stage, disabled endpoint
	failNoRoute                             // no route / resource / method
	failInternal                            // configuration error, permission denied, invoke failed
	failBadResponse                         // function error or malformed Lambda proxy response
	failTimeout                             // integration timeout
	failTooLarge                            // request body over 10 MB
	failUnsupportedMedia                    // no mapping template applies and passthrough is refused
	failUpstream                            // HTTP integration unreachable
	failTemplates                           // a mapping template would need Velocity
	failBadRequestBody                      // request body could not be read
	failUnauthorized                        // authorizer: missing/invalid identity, or "Unauthorized"
	failAuthorizerConfig                    // authorizer: failed, bad output, no permission
	failForbidden                           // HTTP API authorizer refused; REST: INVALID_API_KEY
	failMissingToken                        // AWS_IAM: no signature at all
	failThrottled                           // over a rate limit
	failQuotaExceeded                       // over a usage plan quota
)

// restError is how a REST API answers a failure: the gateway response type it goes
// through, its status, the message for $context.error.message, the x-amzn-ErrorType,
// and (when AWS's answer is not the default template's output) the literal body AWS
// sends while the user has not customized the response type.
type restError struct {
	responseType string
	status       int
	message      string
	errorType    string
	literal      string
}

// restErrors are REST API failures as API Gateway answers them. The literal bodies with
// a space after the colon are the ones AWS sends for Lambda and integration failures
// (e.g. {"message": "Internal server error"} for a malformed Lambda proxy response,
// {"message": "Endpoint request timed out"} for an integration timeout).
var restErrors = map[failure]restError{
	failNoAPI:            {"", http.StatusForbidden, "Forbidden", "ForbiddenException", ""},
	failNoRoute:          {"MISSING_AUTHENTICATION_TOKEN", http.StatusForbidden, "Missing Authentication Token", "MissingAuthenticationTokenException", ""},
	failInternal:         {"API_CONFIGURATION_ERROR", http.StatusInternalServerError, "Internal server error", "InternalServerErrorException", `{"message": "Internal server error"}`},
	failBadResponse:      {"DEFAULT_5XX", http.StatusBadGateway, "Internal server error", "InternalServerErrorException", `{"message": "Internal server error"}`},
	failTimeout:          {"INTEGRATION_TIMEOUT", http.StatusGatewayTimeout, "Endpoint request timed out", "", `{"message": "Endpoint request timed out"}`},
	failTooLarge:         {"REQUEST_TOO_LARGE", http.StatusRequestEntityTooLarge, "Request Too Long", "RequestTooLongException", ""},
	failUnsupportedMedia: {"UNSUPPORTED_MEDIA_TYPE", http.StatusUnsupportedMediaType, "Unsupported Media Type", "UnsupportedMediaTypeException", `{"message": "Unsupported Media Type"}`},
	failUpstream:         {"INTEGRATION_FAILURE", http.StatusInternalServerError, "Internal server error", "InternalServerErrorException", `{"message": "Internal server error"}`},
	failTemplates:        {"API_CONFIGURATION_ERROR", http.StatusInternalServerError, templatesUnsupported, "InternalServerErrorException", ""},
	failBadRequestBody:   {"BAD_REQUEST_BODY", http.StatusBadRequest, "Invalid request body", "BadRequestException", ""},
	// Authorizer failures: 401 {"message":"Unauthorized"}, and for a function that
	// fails or answers nonsense 500 {"message": null} (AuthorizerConfigurationException).
	failUnauthorized:     {"UNAUTHORIZED", http.StatusUnauthorized, "Unauthorized", "UnauthorizedException", ""},
	failAuthorizerConfig: {"AUTHORIZER_CONFIGURATION_ERROR", http.StatusInternalServerError, "null", "AuthorizerConfigurationException", `{"message": null}`},
	failForbidden:        {"INVALID_API_KEY", http.StatusForbidden, "Forbidden", "ForbiddenException", ""},
	failMissingToken:     {"MISSING_AUTHENTICATION_TOKEN", http.StatusForbidden, "Missing Authentication Token", "MissingAuthenticationTokenException", ""},
	failThrottled:        {"THROTTLED", http.StatusTooManyRequests, "Too Many Requests", "TooManyRequestsException", ""},
	failQuotaExceeded:    {"QUOTA_EXCEEDED", http.StatusTooManyRequests, "Limit Exceeded", "LimitExceededException", ""},
}

// templatesUnsupported is the message of a request or response that needs a Velocity
// mapping template: Sluice says so instead of answering something AWS would not.
const templatesUnsupported = "Mapping templates are not supported by Sluice yet"

// httpErrors are HTTP API failures; HTTP APIs have no gateway responses and answer
// {"message":"Not Found"} (404), {"message":"Internal Server Error"} (500) and, for an
// integration timeout, {"message":"Service Unavailable"} (503).
var httpErrors = map[failure]struct {
	status int
	body   string
}{
	failNoAPI:          {http.StatusNotFound, `{"message":"Not Found"}`},
	failNoRoute:        {http.StatusNotFound, `{"message":"Not Found"}`},
	failInternal:       {http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
	failBadResponse:    {http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
	failTimeout:        {http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`},
	failTooLarge:       {http.StatusRequestEntityTooLarge, `{"message":"Request Entity Too Large"}`},
	failUpstream:       {http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
	failTemplates:      {http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
	failBadRequestBody: {http.StatusBadRequest, `{"message":"Bad Request"}`},
	// Authorizers and throttling: see "Troubleshooting HTTP API Lambda authorizers"
	// and "Throttle requests to your HTTP APIs".
	failUnauthorized:     {http.StatusUnauthorized, `{"message":"Unauthorized"}`},
	failAuthorizerConfig: {http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
	failForbidden:        {http.StatusForbidden, `{"message":"Forbidden"}`},
	failMissingToken:     {http.StatusForbidden, `{"message":"Forbidden"}`},
	failThrottled:        {http.StatusTooManyRequests, `{"message":"Too Many Requests"}`},
	failQuotaExceeded:    {http.StatusTooManyRequests, `{"message":"Too Many Requests"}`},
}

// fail answers a failure in the dialect of the API kind; cause (optional) is logged.
func (g *Gateway) fail(x *exchange, f failure, cause error) {
	x.failure = cause
	if cause != nil {
		apiID, stage, route := x.names()
		// A client that hung up is not the gateway's failure: keep it out of warnings.
		level := slog.LevelWarn
		if x.r.Context().Err() != nil {
			level = slog.LevelDebug
		}
		g.log.Log(x.r.Context(), level, "apigw: request failed", "api", apiID, "stage", stage, "route", route,
			"requestId", x.requestID, "err", cause)
	}
	h := x.w.Header()
	if x.kind == compile.HTTP {
		e, ok := httpErrors[f]
		if !ok {
			e = httpErrors[failInternal]
		}
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(e.body))}
		x.writeHeader(e.status)
		_, _ = io.WriteString(x.w, e.body)
		return
	}
	e, ok := restErrors[f]
	if !ok {
		e = restErrors[failInternal]
	}
	g.writeGatewayResponse(x, e)
}

// writeGatewayResponse answers a REST API failure through the stage's gateway response
// for its type (see "Gateway responses in API Gateway"): the user's status, headers and
// application/json template if they put one, else AWS's default.
func (g *Gateway) writeGatewayResponse(x *exchange, e restError) {
	h := x.w.Header()
	status := e.status
	body := ""
	var gr *compile.GatewayResponse
	if x.stage != nil && e.responseType != "" {
		gr = x.stage.GatewayResponses[e.responseType]
	}
	switch {
	case gr != nil && gr.Customized:
		if gr.StatusCode > 0 {
			status = gr.StatusCode
		}
		body = renderGatewayTemplate(gr.Template, e, x)
		for k, v := range gr.ResponseParameters {
			name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
			if !ok {
				continue
			}
			if val, ok := restMappingValue(x, v); ok {
				h[http.CanonicalHeaderKey(name)] = []string{val}
			}
		}
	case e.literal != "":
		body = e.literal
	default:
		body = `{"message":` + jsonQuote(e.message) + `}`
	}
	h["Content-Type"] = []string{"application/json"}
	if e.errorType != "" {
		h["X-Amzn-Errortype"] = []string{e.errorType}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	x.writeHeader(status)
	_, _ = io.WriteString(x.w, body)
}

// renderGatewayTemplate substitutes the few $context variables a gateway response
// template commonly uses; the rest of Velocity is a later capability.
func renderGatewayTemplate(t string, e restError, x *exchange) string {
	if !strings.Contains(t, "$") {
		return t
	}
	return strings.NewReplacer(
		"$context.error.messageString", jsonQuote(e.message),
		"$context.error.message", e.message,
		"$context.error.responseType", e.responseType,
		"$context.requestId", x.requestID,
		"$context.extendedRequestId", x.extendedID,
	).Replace(t)
}

// requestValue resolves a REST mapping expression that refers to the method request.
func requestValue(x *exchange, v string) (string, bool) {
	switch {
	case strings.HasPrefix(v, "method.request.header."):
		val := x.r.Header.Get(strings.TrimPrefix(v, "method.request.header."))
		return val, val != ""
	case strings.HasPrefix(v, "method.request.querystring."):
		q := x.r.URL.Query()
		name := strings.TrimPrefix(v, "method.request.querystring.")
		vals, ok := q[name]
		if !ok || len(vals) == 0 {
			return "", false
		}
		return vals[len(vals)-1], true
	case strings.HasPrefix(v, "method.request.path."):
		val, ok := x.params[strings.TrimPrefix(v, "method.request.path.")]
		return val, ok
	case strings.HasPrefix(v, "stageVariables."):
		if x.stage == nil {
			return "", false
		}
		val, ok := x.stage.Variables[strings.TrimPrefix(v, "stageVariables.")]
		return val, ok
	case v == "context.requestId":
		return x.requestID, true
	}
	return "", false
}
