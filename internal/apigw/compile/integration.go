package compile

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// Integration types.
const (
	TypeAWSProxy  = "AWS_PROXY"
	TypeAWS       = "AWS"
	TypeHTTPProxy = "HTTP_PROXY"
	TypeHTTP      = "HTTP"
	TypeMock      = "MOCK"
)

// Integration is a route's backend, ready to call.
type Integration struct {
	Type string
	// PassPath sends the request's own path to URI (which then has none): an HTTP
	// API private integration forwards the path to the load balancer as sent.
	PassPath bool
	// PayloadFormatVersion is "1.0" or "2.0" for Lambda proxy integrations (always
	// "1.0" on REST APIs).
	PayloadFormatVersion string
	// FunctionARN is the function a Lambda integration invokes, stage variables
	// substituted.
	FunctionARN string
	// URI is an HTTP integration's endpoint URL, stage variables substituted; it may
	// still hold {name} path placeholders filled per request.
	URI string
	// HTTPMethod is the method sent upstream ("" or "ANY": the request's method).
	HTTPMethod string
	// Timeout bounds the integration call: timeoutInMillis, else AWS's default (29 s for
	// REST APIs, 30 s for HTTP APIs).
	Timeout time.Duration
	// RequestParameters are REST integration request parameter mappings
	// ("integration.request.path.id" → "method.request.path.id") or HTTP API parameter
	// mappings ("overwrite:header.x" → "$request.header.y").
	RequestParameters map[string]string
	// ResponseParameters are HTTP API response parameter mappings by status code.
	ResponseParameters  map[string]map[string]string
	RequestTemplates    map[string]string
	PassthroughBehavior string
	// Responses are the REST integration responses with a selection pattern, in
	// status-code order; DefaultResponse is the one without (nil if none).
	Responses       []*IntegrationResponse
	DefaultResponse *IntegrationResponse
	// Err is set when the integration cannot be served as stored (no Lambda function
	// ARN in its URI, say); requests to it get a 500, as AWS answers a configuration
	// error.
	Err string
}

// IntegrationResponse is a compiled REST integration response.
type IntegrationResponse struct {
	StatusCode int
	// Pattern is the selection pattern, anchored: AWS matches it against the whole
	// Lambda errorMessage or the whole HTTP status code.
	Pattern            *regexp.Regexp
	ResponseParameters map[string]string
	ResponseTemplates  map[string]string
}

// SelectResponse picks the integration response for a backend outcome: the first one
// whose selection pattern matches subject, else the default one; nil if neither.
func (in *Integration) SelectResponse(subject string, tryPatterns bool) *IntegrationResponse {
	if tryPatterns {
		for _, r := range in.Responses {
			if r.Pattern.MatchString(subject) {
				return r
			}
		}
	}
	return in.DefaultResponse
}

var stageVarRef = regexp.MustCompile(`\$\{stageVariables\.([A-Za-z0-9_.:/?#&=,-]+)\}`)

// substituteStageVariables replaces ${stageVariables.name} with the stage's value ("" if
// unset), as API Gateway does in integration URIs.
func substituteStageVariables(s string, vars map[string]string) string {
	if !strings.Contains(s, "${stageVariables.") {
		return s
	}
	return stageVarRef.ReplaceAllStringFunc(s, func(m string) string {
		return vars[stageVarRef.FindStringSubmatch(m)[1]]
	})
}

// functionARNFromURI extracts the function ARN from a Lambda integration URI,
// arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations;
// HTTP APIs also accept the function ARN itself.
func functionARNFromURI(uri string) (string, bool) {
	if strings.HasPrefix(uri, "arn:") && strings.Contains(uri, ":lambda:") && !strings.Contains(uri, ":apigateway:") {
		return uri, true
	}
	_, rest, ok := strings.Cut(uri, "/functions/")
	if !ok {
		return "", false
	}
	fn, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || fn == "" {
		return "", false
	}
	return fn, true
}

func timeout(ms int, def time.Duration) time.Duration {
	if ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return def
}

func (b *builder) restIntegration(s *Stage, in *model.Integration) *Integration {
	if in == nil {
		return &Integration{Err: "method has no integration"}
	}
	out := &Integration{
		Type:                 strings.ToUpper(in.Type),
		PayloadFormatVersion: "1.0",
		HTTPMethod:           in.HTTPMethod,
		Timeout:              timeout(in.TimeoutInMillis, 29*time.Second),
		RequestParameters:    in.RequestParameters,
		RequestTemplates:     in.RequestTemplates,
		PassthroughBehavior:  in.PassthroughBehavior,
	}
	uri := substituteStageVariables(in.URI, s.Variables)
	switch out.Type {
	case TypeAWSProxy, TypeAWS:
		fn, ok := functionARNFromURI(uri)
		if !ok {
			out.Err = "integration URI names no Lambda function: " + uri
		}
		out.FunctionARN = fn
	case TypeHTTP, TypeHTTPProxy:
		out.URI = uri
		if uri == "" {
			out.Err = "HTTP integration has no URI"
		}
	case TypeMock:
	default:
		out.Err = "unsupported integration type " + in.Type
	}
	codes := make([]string, 0, len(in.IntegrationResponses))
	for code := range in.IntegrationResponses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		ir := in.IntegrationResponses[code]
		if ir == nil {
			continue
		}
		status, err := strconv.Atoi(ir.StatusCode)
		if err != nil {
			status, _ = strconv.Atoi(code)
		}
		c := &IntegrationResponse{StatusCode: status, ResponseParameters: ir.ResponseParameters, ResponseTemplates: ir.ResponseTemplates}
		if ir.SelectionPattern == "" {
			out.DefaultResponse = c
			continue
		}
		re, err := regexp.Compile(`^(?:` + ir.SelectionPattern + `)$`)
		if err != nil {
			b.log.Warn("apigw compile: skipping integration response with invalid selection pattern",
				"api", s.API.ID, "pattern", ir.SelectionPattern, "err", err)
			continue
		}
		c.Pattern = re
		out.Responses = append(out.Responses, c)
	}
	return out
}

func (b *builder) httpIntegration(s *Stage, in *model.Integration2) *Integration {
	if in == nil {
		return &Integration{Err: "route target names a missing integration"}
	}
	out := &Integration{
		Type:                 strings.ToUpper(in.IntegrationType),
		PayloadFormatVersion: in.PayloadFormatVersion,
		HTTPMethod:           in.IntegrationMethod,
		Timeout:              timeout(in.TimeoutInMillis, 30*time.Second),
		RequestParameters:    in.RequestParameters,
		ResponseParameters:   in.ResponseParameters,
	}
	uri := substituteStageVariables(in.IntegrationURI, s.Variables)
	switch out.Type {
	case TypeAWSProxy:
		if out.PayloadFormatVersion == "" {
			out.PayloadFormatVersion = "2.0"
		}
		fn, ok := functionARNFromURI(uri)
		if !ok {
			out.Err = "integration URI names no Lambda function: " + uri
		}
		out.FunctionARN = fn
	case TypeHTTPProxy:
		out.URI = uri
		if uri == "" {
			out.Err = "HTTP integration has no URI"
		}
		if strings.EqualFold(in.ConnectionType, "VPC_LINK") && strings.HasPrefix(uri, "arn:") {
			// A private integration names a load balancer listener or Cloud Map
			// service; the operator says where it is.
			target, ok := b.opts.VPCLinkTargets[uri]
			if !ok {
				out.Err = "private integration target " + uri + " has no --vpc-link-target address"
			}
			out.URI, out.PassPath = "http://"+target, true
		}
	default:
		out.Err = "unsupported integration type " + in.IntegrationType
	}
	return out
}
