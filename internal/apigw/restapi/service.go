// Package restapi is the control plane of API Gateway REST APIs (apigateway v1): the
// REST-JSON operations the AWS CLI, boto3 and aws-sdk-go-v2's apigateway client call
// under /restapis (APIs, resources, methods, integrations, deployments, stages,
// gateway responses, request validators, models) and /tags. It validates requests as
// AWS does, writes model records to the store, and freezes an API's live definitions
// into a model.RestSnapshot when a deployment is created.
//
// Operations of the apigateway API that Sluice does not serve yet (authorizers, API
// keys, usage plans, domain names, ...) answer 501 NotImplementedException naming the
// operation; paths that are no apigateway operation at all answer 404
// UnknownOperationException, the shape the server's dispatcher uses for unknown paths.
package restapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/sluice-dev/sluice/internal/apigw/access"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/domainnames"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/store"
)

// Options configures a Service.
type Options struct {
	Store     store.Store
	Region    string // e.g. "us-east-1"; used in ARNs and Lambda integration URIs
	AccountID string // 12 digits; used in ARNs and AWS's "Invalid API identifier" messages
	// Certificates checks custom domains' ACM certificates; nil refuses every
	// domain name.
	Certificates domainnames.Certificates
	Logger       *slog.Logger
	// Gateway is this node's data plane, told to recompile when an operation must
	// take effect before it returns (FlushStageAuthorizersCache); nil in tests that
	// serve no data plane.
	Gateway Gateway
	// Invoker runs Lambda functions for TestInvokeAuthorizer; nil answers it 501.
	Invoker invoke.Invoker
	// Counters, when the data plane counts quotas outside the store (Redis), is
	// where GetUsage reads them; nil reads the store's counters.
	Counters access.Counters
}

// Gateway is the data plane as the control plane drives it.
type Gateway interface {
	// Reload recompiles the store's APIs and serves the result before returning.
	Reload(ctx context.Context) error
}

// Service serves the apigateway (v1) control plane. It is safe for concurrent use:
// every mutation runs in one store transaction.
type Service struct {
	store   store.Store
	region  string
	account string
	log     *slog.Logger
	certs   domainnames.Certificates
	gateway Gateway
	invoker invoke.Invoker
	// counters are the data plane's quota counters when they live outside the store.
	counters access.Counters
	routes   []route
}

// maxBodyBytes bounds a control-plane request body. AWS's own limit for a REST API
// definition import is 6 MB (PutRestApi/ImportRestApi), far above any JSON operation.
const maxBodyBytes = 10 << 20

// New builds a Service.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, region: opts.Region, account: opts.AccountID, log: opts.Logger, certs: opts.Certificates, gateway: opts.Gateway, invoker: opts.Invoker,
		counters: opts.Counters}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	s.routes = s.buildRoutes()
	return s
}

// request is one parsed control-plane call.
type request struct {
	http   *http.Request
	params map[string]string // path labels, unescaped
	query  url.Values
	body   []byte
}

// decode unmarshals the JSON body into v. An empty body decodes as {}. A body that is
// not JSON, or has a member of the wrong type, is refused as AWS's coral front end
// refuses it: 400 SerializationException.
func (r *request) decode(v any) error {
	err := awsproto.DecodeJSON(r.body, v)
	var de *awsproto.DecodeError
	if errors.As(err, &de) {
		// API Gateway answers a body that does not fit its input with
		// SerializationException; the detail is in JSON terms, never Go's.
		return awsproto.BadRequest("SerializationException", "%s", de.Error())
	}
	return err
}

// handlerFunc serves one operation; it returns the HTTP status and the value to
// write as JSON (nil for no body), or an error (an *awsproto.Error for AWS errors).
type handlerFunc func(ctx context.Context, req *request) (int, any, error)

// ServeHTTP routes a control-plane request to its operation.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		s.writeError(w, r, unknownOperation(r))
		return
	}
	rt, params, _ := s.match(r.Method, segs, r.URL.Query())
	if rt == nil {
		s.writeError(w, r, unknownOperation(r))
		return
	}
	if rt.handler == nil {
		// A real apigateway operation Sluice does not serve yet. 501 with AWS's
		// error shape keeps SDK clients' error handling working.
		s.writeError(w, r, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
			"%s is not implemented in Sluice yet", rt.op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		s.writeError(w, r, awsproto.BadRequest("BadRequestException", "could not read request body: %v", err))
		return
	}
	if len(body) > maxBodyBytes {
		s.writeError(w, r, awsproto.Errorf(http.StatusRequestEntityTooLarge, "LimitExceededException", "Request body is too large"))
		return
	}
	req := &request{http: r, params: params, query: r.URL.Query(), body: body}
	status, out, err := rt.handler(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	if raw, ok := out.(rawBody); ok {
		// GetExport answers with the document itself, not a JSON structure.
		raw.write(w, status)
		return
	}
	awsproto.WriteJSON(w, status, out)
}

func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *awsproto.Error
	if !errors.As(err, &ae) {
		// A store or encoding failure: details go to the log, not to the client.
		s.log.Error("apigateway control plane", "method", r.Method, "path", r.URL.Path,
			"requestId", awsproto.RequestID(r.Context()), "err", err)
		ae = awsproto.InternalFailure(awsproto.StyleAPIGateway)
	}
	awsproto.WriteError(w, awsproto.StyleAPIGateway, ae)
}

func unknownOperation(r *http.Request) error {
	return awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
		"Sluice does not implement the service or operation for %s %s", r.Method, r.URL.Path)
}

// splitPath splits an escaped URL path into unescaped segments, so that a label
// holding an escaped slash (a tag resource ARN, a resource path) stays one segment.
func splitPath(escaped string) ([]string, bool) {
	escaped = strings.TrimSuffix(strings.TrimPrefix(escaped, "/"), "/")
	if escaped == "" {
		return nil, true
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

// internalErr wraps an unexpected (store, encoding) failure with the operation's
// context; it is answered as a 500.
func internalErr(what string, err error) error {
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		return ae
	}
	return fmt.Errorf("%s: %w", what, err)
}
