package lambda

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// maxControlBody bounds control-plane request bodies. AWS: "Request must be smaller
// than 69905067 bytes for the CreateFunction operation" (50 MB of zip, base64).
const maxControlBody = 69905067

// call is one parsed API request.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	function string // {FunctionName} path parameter, unescaped
	sub      string // {Name} / {StatementId} / {Resource} path parameter (the last one bound)
	params   map[string]string
}

// param is the path parameter bound to {name}.
func (c *call) param(name string) string { return c.params[name] }

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// decode reads the JSON body into v. An empty body is an empty object.
func (c *call) decode(op string, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxControlBody+1))
	if err != nil {
		return badContent("Could not read request body: %v", err)
	}
	if len(body) > maxControlBody {
		return tooLarge("Request must be smaller than %d bytes for the %s operation", maxControlBody, op)
	}
	if err := awsproto.DecodeJSON(body, v); err != nil {
		var de *awsproto.DecodeError
		if errors.As(err, &de) {
			// Lambda's wording, in JSON terms, never Go's ("Go struct field
			// createFunctionInput.FunctionName of type string").
			return badContent("Could not parse request body into json: %s", de)
		}
		return err
	}
	return nil
}

func (c *call) json(status int, v any) { awsproto.WriteJSON(c.w, status, v) }

// noContent ends a call whose work returned err: the error, or AWS's 204 No Content
// (deletes and puts that answer no body).
func (c *call) noContent(err error) error {
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// ServeHTTP routes a Lambda API request by its path and method, as botocore's
// lambda service model lays them out.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		writeError(w, badContent("Could not parse request path: %v", err))
		return
	}
	c := &call{w: w, r: r}
	h := matchRoute(r.Method, segs, c)
	if h == nil {
		writeError(w, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"Sluice does not implement the Lambda operation for %s %s", r.Method, r.URL.Path))
		return
	}
	if err := h(s, c); err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return // the client went away
		}
		var throttled *throttledError
		if _, public := awsproto.Public(err); !public && !errors.As(err, &throttled) {
			// The detail is for the operator; the client gets ServiceException.
			s.log.Error("lambda: request failed", "method", r.Method, "path", r.URL.Path,
				"requestId", awsproto.RequestID(r.Context()), "err", err)
			err = awsproto.InternalFailure(awsproto.StyleLambda)
		}
		writeError(w, err)
	}
}

func splitPath(escaped string) ([]string, error) {
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return nil, nil
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}

// route is one Lambda operation: its method and path as botocore's lambda service
// model lays them out. A path segment in braces matches any one segment;
// {FunctionName} binds call.function and any other name binds call.sub.
type route struct {
	method string
	path   []string
	handle func(*Service, *call) error
}

func newRoute(method, path string, handle func(*Service, *call) error) route {
	return route{method: method, path: strings.Split(strings.Trim(path, "/"), "/"), handle: handle}
}

// routes is every operation Sluice serves; it is never written after init.
var routes = []route{
	newRoute(http.MethodGet, "/_sluice/lambda/code/{sha}", serveCodeRoute),
	newRoute(http.MethodHead, "/_sluice/lambda/code/{sha}", serveCodeRoute),

	newRoute(http.MethodPost, "/2025-11-30/capacity-providers", (*Service).createCapacityProvider),
	newRoute(http.MethodGet, "/2025-11-30/capacity-providers", (*Service).listCapacityProviders),
	newRoute(http.MethodGet, "/2025-11-30/capacity-providers/{CapacityProviderName}", (*Service).getCapacityProvider),
	newRoute(http.MethodPut, "/2025-11-30/capacity-providers/{CapacityProviderName}", (*Service).updateCapacityProvider),
	newRoute(http.MethodDelete, "/2025-11-30/capacity-providers/{CapacityProviderName}", (*Service).deleteCapacityProvider),
	newRoute(http.MethodGet, "/2025-11-30/functions/{FunctionName}/function-scaling-config", (*Service).functionScalingConfig),
	newRoute(http.MethodPut, "/2025-11-30/functions/{FunctionName}/function-scaling-config", (*Service).functionScalingConfig),

	newRoute(http.MethodGet, "/2016-08-19/account-settings", (*Service).getAccountSettings),

	newRoute(http.MethodGet, "/2017-03-31/tags/{Resource}", (*Service).listTags),
	newRoute(http.MethodPost, "/2017-03-31/tags/{Resource}", (*Service).tagResource),
	newRoute(http.MethodDelete, "/2017-03-31/tags/{Resource}", (*Service).untagResource),

	newRoute(http.MethodPut, "/2017-10-31/functions/{FunctionName}/concurrency", (*Service).putFunctionConcurrency),
	newRoute(http.MethodDelete, "/2017-10-31/functions/{FunctionName}/concurrency", (*Service).deleteFunctionConcurrency),
	newRoute(http.MethodGet, "/2019-09-30/functions/{FunctionName}/concurrency", (*Service).getFunctionConcurrency),

	newRoute(http.MethodGet, "/2015-03-31/functions", (*Service).listFunctions),
	newRoute(http.MethodPost, "/2015-03-31/functions", (*Service).createFunction),
	newRoute(http.MethodGet, "/2015-03-31/functions/{FunctionName}", (*Service).getFunction),
	newRoute(http.MethodDelete, "/2015-03-31/functions/{FunctionName}", (*Service).deleteFunction),
	newRoute(http.MethodGet, "/2015-03-31/functions/{FunctionName}/configuration", (*Service).getFunctionConfiguration),
	newRoute(http.MethodPut, "/2015-03-31/functions/{FunctionName}/configuration", (*Service).updateFunctionConfiguration),
	newRoute(http.MethodPut, "/2015-03-31/functions/{FunctionName}/code", (*Service).updateFunctionCode),
	newRoute(http.MethodGet, "/2015-03-31/functions/{FunctionName}/versions", (*Service).listVersionsByFunction),
	newRoute(http.MethodPost, "/2015-03-31/functions/{FunctionName}/versions", (*Service).publishVersion),
	newRoute(http.MethodGet, "/2015-03-31/functions/{FunctionName}/aliases", (*Service).listAliases),
	newRoute(http.MethodPost, "/2015-03-31/functions/{FunctionName}/aliases", (*Service).createAlias),
	newRoute(http.MethodGet, "/2015-03-31/functions/{FunctionName}/aliases/{Name}", (*Service).getAlias),
	newRoute(http.MethodPut, "/2015-03-31/functions/{FunctionName}/aliases/{Name}", (*Service).updateAlias),
	newRoute(http.MethodDelete, "/2015-03-31/functions/{FunctionName}/aliases/{Name}", (*Service).deleteAlias),
	newRoute(http.MethodGet, "/2015-03-31/functions/{FunctionName}/policy", (*Service).getPolicy),
	newRoute(http.MethodPost, "/2015-03-31/functions/{FunctionName}/policy", (*Service).addPermission),
	newRoute(http.MethodDelete, "/2015-03-31/functions/{FunctionName}/policy/{StatementId}", (*Service).removePermission),
	newRoute(http.MethodPost, "/2015-03-31/functions/{FunctionName}/invocations", (*Service).invokeHTTP),

	newRoute(http.MethodPut, "/2019-09-25/functions/{FunctionName}/event-invoke-config", (*Service).putFunctionEventInvokeConfig),
	newRoute(http.MethodPost, "/2019-09-25/functions/{FunctionName}/event-invoke-config", (*Service).updateFunctionEventInvokeConfig),
	newRoute(http.MethodGet, "/2019-09-25/functions/{FunctionName}/event-invoke-config", (*Service).getFunctionEventInvokeConfig),
	newRoute(http.MethodDelete, "/2019-09-25/functions/{FunctionName}/event-invoke-config", (*Service).deleteFunctionEventInvokeConfig),
	newRoute(http.MethodGet, "/2019-09-25/functions/{FunctionName}/event-invoke-config/list", (*Service).listFunctionEventInvokeConfigs),

	newRoute(http.MethodGet, "/2018-10-31/layers", (*Service).layersRoot),
	newRoute(http.MethodGet, "/2018-10-31/layers/{LayerName}/versions", (*Service).listLayerVersions),
	newRoute(http.MethodPost, "/2018-10-31/layers/{LayerName}/versions", (*Service).publishLayerVersion),
	newRoute(http.MethodGet, "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}", (*Service).getLayerVersion),
	newRoute(http.MethodDelete, "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}", (*Service).deleteLayerVersion),
	newRoute(http.MethodGet, "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy", (*Service).getLayerVersionPolicy),
	newRoute(http.MethodPost, "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy", (*Service).addLayerVersionPermission),
	newRoute(http.MethodDelete, "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}", (*Service).removeLayerVersionPermission),

	newRoute(http.MethodPost, "/2021-11-15/functions/{FunctionName}/response-streaming-invocations", (*Service).invokeWithResponseStream),

	newRoute(http.MethodPost, "/2021-10-31/functions/{FunctionName}/url", (*Service).createFunctionURLConfig),
	newRoute(http.MethodGet, "/2021-10-31/functions/{FunctionName}/url", (*Service).getFunctionURLConfig),
	newRoute(http.MethodPut, "/2021-10-31/functions/{FunctionName}/url", (*Service).updateFunctionURLConfig),
	newRoute(http.MethodDelete, "/2021-10-31/functions/{FunctionName}/url", (*Service).deleteFunctionURLConfig),
	newRoute(http.MethodGet, "/2021-10-31/functions/{FunctionName}/urls", (*Service).listFunctionURLConfigs),
}

func serveCodeRoute(s *Service, c *call) error { return s.serveCode(c, c.sub) }

// matchRoute finds the operation for method and the unescaped path segments and
// binds its path parameters into c; nil when there is none.
func matchRoute(method string, segs []string, c *call) func(*Service, *call) error {
	for _, rt := range routes {
		if rt.method != method || len(rt.path) != len(segs) || !rt.matches(segs) {
			continue
		}
		for i, p := range rt.path {
			switch {
			case p == "{FunctionName}":
				c.function = segs[i]
			case strings.HasPrefix(p, "{"):
				c.sub = segs[i]
				if c.params == nil {
					c.params = map[string]string{}
				}
				c.params[strings.Trim(p, "{}")] = segs[i]
			}
		}
		return rt.handle
	}
	return nil
}

func (rt route) matches(segs []string) bool {
	for i, p := range rt.path {
		if !strings.HasPrefix(p, "{") && p != segs[i] {
			return false
		}
	}
	return true
}
