package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/policy"
)

// authorizerTimeout bounds one authorizer invocation: API Gateway gives a Lambda
// authorizer up to the integration maximum, 29 seconds, before failing the request.
const authorizerTimeout = 29 * time.Second

// Messages of the authorizer's refusals (see "How do I troubleshoot HTTP 403 Forbidden
// errors when using a Lambda authorizer with an API Gateway REST API?").
const (
	msgExplicitDeny = "User is not authorized to access this resource with an explicit deny"
	msgImplicitDeny = "User is not authorized to access this resource"
)

// authorizeLambda runs the route's Lambda authorizer (or answers from its cache) and
// decides the request; it answers the request itself when the answer is no.
//
//   - a missing identity source, or a TOKEN that does not match the validation
//     expression, is 401 {"message":"Unauthorized"} without invoking anything;
//   - the function failing with "Unauthorized" is 401; any other failure, an output
//     that is not a valid authorizer response, or a missing permission to invoke the
//     function is 500 {"message": null} (AuthorizerConfigurationException);
//   - the returned policy is evaluated for execute-api:Invoke on this request's
//     method ARN: an explicit Deny, or no Allow, is 403.
func (g *Gateway) authorizeLambda(x *exchange) bool {
	a := x.stage.Authorizers[x.route.AuthorizerID]
	switch {
	case a == nil:
		g.fail(x, failAuthorizerConfig, fmt.Errorf("authorizer %q is not in the deployment", x.route.AuthorizerID))
		return false
	case a.ConfigErr != "":
		g.fail(x, failAuthorizerConfig, errors.New(a.ConfigErr))
		return false
	}
	key, ok := identityKey(x, a)
	if !ok {
		g.fail(x, failUnauthorized, nil)
		return false
	}
	methodARN := x.route.MethodARN(x.r.Method, x.stagePath)
	res, cached := a.Cached(key, x.now)
	if !cached {
		var ok bool
		if res, ok = g.invokeAuthorizer(x, a, key, methodARN); !ok {
			return false
		}
		a.Remember(key, res, x.now)
	}
	switch res.Decide(methodARN, &x.access) {
	case policy.Allow:
	case policy.Deny:
		g.refuse(x, msgExplicitDeny)
		return false
	default:
		g.refuse(x, msgImplicitDeny)
		return false
	}
	x.authorizer = res
	return true
}

// refuse answers an authorizer's 403: through the ACCESS_DENIED gateway response
// (REST, body {"Message":...} as AWS sends it) or HTTP APIs' {"message":"Forbidden"}.
func (g *Gateway) refuse(x *exchange, msg string) {
	if x.kind == compile.HTTP {
		g.fail(x, failForbidden, nil)
		return
	}
	g.denyAccess(x, msg)
}

// identityKey reads the authorizer's identity sources; the values, joined, are the
// cache key. It is false when a source is missing or empty, or a TOKEN does not match
// the validation expression.
func identityKey(x *exchange, a *access.LambdaAuthorizer) (string, bool) {
	if len(a.Sources) == 1 {
		v, ok := identityValue(x, a.Sources[0])
		if !ok || (a.Validation != nil && !a.Validation.MatchString(v)) {
			return "", false
		}
		return v, true
	}
	var b strings.Builder
	for i, src := range a.Sources {
		v, ok := identityValue(x, src)
		if !ok {
			return "", false
		}
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(v)
	}
	return b.String(), true
}

func identityValue(x *exchange, src access.IdentitySource) (string, bool) {
	var v string
	switch src.Kind {
	case access.SourceHeader:
		v = strings.Join(x.r.Header.Values(src.Name), ",")
	case access.SourceQuery:
		if vals := queryParams(x.r.URL.RawQuery)[src.Name]; len(vals) > 0 {
			v = vals[len(vals)-1]
		}
	case access.SourceStageVariable:
		v = x.stage.Variables[src.Name]
	case access.SourceContext:
		v, _ = contextValue(x, src.Name)
	}
	return v, v != ""
}

// invokeAuthorizer invokes the authorizer function with AWS's event and parses its
// output.
func (g *Gateway) invokeAuthorizer(x *exchange, a *access.LambdaAuthorizer, token, methodARN string) (*access.Result, bool) {
	if g.invoker == nil {
		g.fail(x, failAuthorizerConfig, errors.New("no Lambda invoker configured"))
		return nil, false
	}
	payload, err := authorizerEvent(x, a, token, methodARN, g.account)
	if err != nil {
		g.fail(x, failAuthorizerConfig, err)
		return nil, false
	}
	ctx, cancel := context.WithTimeout(x.r.Context(), authorizerTimeout)
	defer cancel()
	// With authorizerCredentials API Gateway would invoke as that role; Sluice still
	// requires the function's resource policy to let API Gateway invoke it, which is
	// stricter, never looser.
	resp, err := g.invoker.Invoke(ctx, &invoke.Request{
		Function:      a.FunctionARN,
		Payload:       payload,
		Principal:     principal,
		SourceARN:     a.SourceARN,
		SourceAccount: g.account,
	})
	if err != nil {
		var ae *awsproto.Error
		if errors.As(err, &ae) && ae.Code == "AccessDeniedException" {
			err = fmt.Errorf("invalid permissions on Lambda function %s: %w", a.FunctionARN, err)
		}
		g.fail(x, failAuthorizerConfig, fmt.Errorf("authorizer %s: %w", a.ID, err))
		return nil, false
	}
	if resp.FunctionError != "" {
		if functionErrorMessage(resp.Payload) == "Unauthorized" {
			g.fail(x, failUnauthorized, nil)
			return nil, false
		}
		g.fail(x, failAuthorizerConfig, fmt.Errorf("authorizer %s failed: %s", a.ID, truncate(resp.Payload, 256)))
		return nil, false
	}
	res, err := a.ParseResult(resp.Payload)
	if err != nil {
		g.fail(x, failAuthorizerConfig, fmt.Errorf("authorizer %s: %w", a.ID, err))
		return nil, false
	}
	return res, true
}

// functionErrorMessage is the errorMessage of a function error payload.
func functionErrorMessage(payload []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(payload, &e)
	return e.ErrorMessage
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// authorizerEvent builds the authorizer function's input, as AWS sends it: a REST
// TOKEN authorizer gets {"type":"TOKEN","authorizationToken":...,"methodArn":...}
// (events.APIGatewayCustomAuthorizerRequest), a REQUEST authorizer the request's
// headers, query string, path parameters, stage variables and context
// (events.APIGatewayCustomAuthorizerRequestTypeRequest).
func authorizerEvent(x *exchange, a *access.LambdaAuthorizer, token, methodARN, account string) ([]byte, error) {
	if a.Type == "TOKEN" {
		return json.Marshal(events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: token, MethodArn: methodARN})
	}
	if a.HTTP {
		return httpAuthorizerEvent(x, a, methodARN, account)
	}
	p := proxyEventV1(x, account)
	rc := &p.RequestContext
	return json.Marshal(events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       methodARN,
		Resource:                        p.Resource,
		Path:                            p.Path,
		HTTPMethod:                      p.HTTPMethod,
		Headers:                         p.Headers,
		MultiValueHeaders:               p.MultiValueHeaders,
		QueryStringParameters:           p.QueryStringParameters,
		MultiValueQueryStringParameters: p.MultiValueQueryStringParameters,
		PathParameters:                  p.PathParameters,
		StageVariables:                  p.StageVariables,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: rc.Path, AccountID: rc.AccountID, ResourceID: rc.ResourceID, Stage: rc.Stage, RequestID: rc.RequestID,
			Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: rc.Identity.SourceIP},
			ResourcePath: rc.ResourcePath, HTTPMethod: rc.HTTPMethod, APIID: rc.APIID,
		},
	})
}

// authorizerContext is requestContext.authorizer of a REST proxy event: the
// authorizer's context plus principalId (and integrationLatency, which Sluice reports
// as 0 for a cached decision).
func authorizerContext(res *access.Result) map[string]any {
	m := make(map[string]any, len(res.Context)+2)
	for k, v := range res.Context {
		m[k] = v
	}
	m["principalId"] = res.PrincipalID
	m["integrationLatency"] = 0
	return m
}

// contextString renders an authorizer context value for $context.authorizer.key.
func contextString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(bytes.TrimSpace(b))
}

// authorizerEventV2 is events.APIGatewayV2CustomAuthorizerV2Request as AWS sends it:
// cookies, query string, path parameters and stage variables are left out when
// empty, as in payload 2.0 integration events, and there is no authentication block
// without a client certificate.
type authorizerEventV2 struct {
	events.APIGatewayV2CustomAuthorizerV2Request
	Cookies               []string          `json:"cookies,omitempty"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	StageVariables        map[string]string `json:"stageVariables,omitempty"`
	RequestContext        requestContextV2  `json:"requestContext"`
}

type requestContextV2 struct {
	events.APIGatewayV2HTTPRequestContext
	Authentication *struct{} `json:"authentication,omitempty"`
}

// httpAuthorizerEvent is an HTTP API Lambda authorizer's input (see "Control access to
// HTTP APIs with AWS Lambda authorizers", payload format): version 1.0 is the REST
// REQUEST event plus version, identitySource and authorizationToken (the identity
// values comma-joined; events.APIGatewayV2CustomAuthorizerV1Request); version 2.0 has
// routeArn, identitySource as a list and the 2.0 request fields
// (events.APIGatewayV2CustomAuthorizerV2Request). Neither carries the body.
func httpAuthorizerEvent(x *exchange, a *access.LambdaAuthorizer, routeARN, account string) ([]byte, error) {
	values := make([]string, 0, len(a.Sources))
	for _, src := range a.Sources {
		v, _ := identityValue(x, src)
		values = append(values, v)
	}
	if a.PayloadVersion == "1.0" {
		p := proxyEventV1(x, account)
		rc := &p.RequestContext
		joined := strings.Join(values, ",")
		return json.Marshal(events.APIGatewayV2CustomAuthorizerV1Request{
			Version: "1.0", Type: "REQUEST", MethodArn: routeARN, IdentitySource: joined, AuthorizationToken: joined,
			Resource: p.Resource, Path: p.Path, HTTPMethod: p.HTTPMethod, Headers: p.Headers,
			QueryStringParameters: p.QueryStringParameters, PathParameters: p.PathParameters, StageVariables: p.StageVariables,
			RequestContext: events.APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext{
				Path: rc.Path, AccountID: rc.AccountID, ResourceID: rc.ResourceID, Stage: rc.Stage, RequestID: rc.RequestID,
				Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: rc.Identity.SourceIP},
				ResourcePath: rc.ResourcePath, HTTPMethod: rc.HTTPMethod, APIID: rc.APIID,
			},
		})
	}
	p := proxyEventV2(x, account)
	return json.Marshal(authorizerEventV2{
		APIGatewayV2CustomAuthorizerV2Request: events.APIGatewayV2CustomAuthorizerV2Request{
			Version: "2.0", Type: "REQUEST", RouteArn: routeARN, IdentitySource: values, RouteKey: p.RouteKey,
			RawPath: p.RawPath, RawQueryString: p.RawQueryString, Headers: p.Headers,
		},
		Cookies: p.Cookies, QueryStringParameters: p.QueryStringParameters, PathParameters: p.PathParameters,
		StageVariables: p.StageVariables,
		RequestContext: requestContextV2{APIGatewayV2HTTPRequestContext: p.RequestContext},
	})
}

// httpAuthorizerDescription is requestContext.authorizer of a payload 2.0 event after
// an authorizer allowed the request: a Lambda authorizer's context under "lambda", a
// JWT authorizer's claims and matched scopes under "jwt".
func httpAuthorizerDescription(x *exchange) *events.APIGatewayV2HTTPRequestContextAuthorizerDescription {
	if x.jwt != nil {
		return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: x.jwt}
	}
	if x.authorizer == nil {
		return nil
	}
	ctx := x.authorizer.Context
	if ctx == nil {
		ctx = map[string]any{}
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: ctx}
}
