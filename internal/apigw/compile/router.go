package compile

import (
	"net/url"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// Route is one servable (method, path) of a stage: a REST API resource method or an
// HTTP API route, with everything its integration needs precomputed.
type Route struct {
	// Key is the HTTP API route key ("GET /pets/{id}", "$default"); for REST APIs it
	// is "{METHOD} {resourcePath}".
	Key string
	// Method is the HTTP method, "ANY", or "" for the $default route.
	Method string
	// Path is the resource path or route path ("/email/{proxy+}"); "$default" for
	// the $default route.
	Path          string
	ResourceID    string
	OperationName string
	Integration   *Integration
	// AuthorizationType and AuthorizerID let access control slot in between route
	// match and integration.
	AuthorizationType string
	AuthorizerID      string
	APIKeyRequired    bool
	// RestMethod / HTTPRoute are the frozen definitions the route came from.
	RestMethod *model.Method
	HTTPRoute  *model.Route

	paramNames []string // one per path segment; "" for literal segments
	arnPrefix  string   // arn:aws:execute-api:{region}:{account}:{api}/{stage}/
	arnPath    string   // "/email/{proxy+}" → "email/{proxy+}"
	arnByVerb  map[string]string
}

// commonVerbs get a precomputed execute-api ARN on ANY routes.
var commonVerbs = [...]string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}

func (r *Route) precomputeARNs() {
	r.arnByVerb = make(map[string]string, len(commonVerbs))
	if r.Method == "" { // $default route: arn:...:{api}/{stage}/$default
		r.arnByVerb[""] = r.arnPrefix + DefaultStageName
		return
	}
	if r.Method != "ANY" {
		r.arnByVerb[r.Method] = r.arnPrefix + r.Method + "/" + r.arnPath
		return
	}
	for _, v := range commonVerbs {
		r.arnByVerb[v] = r.arnPrefix + v + "/" + r.arnPath
	}
}

// SourceARN is the execute-api ARN API Gateway presents as SourceArn when it invokes a
// function for this route with the given request method:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{resourcePath without
// the leading slash}; for an HTTP API's $default route it ends in "/$default". (See
// "Grant API Gateway permission to invoke a Lambda function" in the developer guide.)
func (r *Route) SourceARN(method string) string {
	if r.Method == "" {
		return r.arnByVerb[""]
	}
	if a, ok := r.arnByVerb[method]; ok {
		return a
	}
	return r.arnPrefix + method + "/" + r.arnPath
}

// MethodARN is the execute-api ARN of one request to this route, the resource that
// policies are evaluated against: arn:aws:execute-api:{region}:{account}:{apiId}/
// {stage}/{METHOD}/{request path without the leading slash}. Unlike SourceARN it
// carries the path as requested ("GET/pets/42"), as in an authorizer's methodArn.
func (r *Route) MethodARN(method, path string) string {
	return r.arnPrefix + method + "/" + strings.TrimPrefix(path, "/")
}

// Match is the outcome of routing one request.
type Match struct {
	Route *Route
	// PathParams are the URL-decoded path parameters, nil when the route has none.
	PathParams map[string]string
	// MethodMissing is set (REST only) when a resource matched the path but has no
	// method for the request's method nor ANY.
	MethodMissing bool
}

// Router finds the route of a request in one stage.
type Router struct {
	kind         Kind
	root         *node
	defaultRoute *Route
}

type node struct {
	literal map[string]*node
	param   *node // {name}
	greedy  *node // {name+}: matches one or more remaining segments
	methods map[string]*Route
}

func (n *node) child(seg string) *node {
	switch {
	case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}"):
		if n.greedy == nil {
			n.greedy = &node{}
		}
		return n.greedy
	case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
		if n.param == nil {
			n.param = &node{}
		}
		return n.param
	}
	if n.literal == nil {
		n.literal = map[string]*node{}
	}
	c := n.literal[seg]
	if c == nil {
		c = &node{}
		n.literal[seg] = c
	}
	return c
}

// add inserts route under its path. It reports false when the path is malformed (a
// greedy segment that is not the last one).
func (rt *Router) add(route *Route) bool {
	segs := splitTemplate(route.Path)
	n := rt.root
	route.paramNames = make([]string, len(segs))
	for i, seg := range segs {
		if strings.HasSuffix(seg, "+}") && i != len(segs)-1 {
			return false
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			route.paramNames[i] = strings.TrimSuffix(strings.TrimSuffix(seg[1:], "}"), "+")
		}
		n = n.child(seg)
	}
	if n.methods == nil {
		n.methods = map[string]*Route{}
	}
	n.methods[route.Method] = route
	return true
}

func splitTemplate(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Match routes a request. escapedPath is the request path after the stage prefix, as
// sent (percent-encoding intact, so an encoded "/" stays inside its segment); path
// parameters come back decoded.
//
// REST APIs (see "Set up a proxy integration with a proxy resource"): the resource is
// chosen by path alone, literal path parts before {param} before {proxy+}; then the
// method, an explicit method before ANY. A path no resource matches, or a resource
// without the method, is answered 403 Missing Authentication Token.
//
// HTTP APIs (see "Working with routes for HTTP APIs"): the most specific route whose
// method (or ANY) fits wins, full matches before path variables before greedy path
// variables, then $default.
func (rt *Router) Match(method, escapedPath string) Match {
	if rt == nil {
		return Match{}
	}
	segs := splitRequest(escapedPath)
	var capBuf [8]string // path variables of a typical route, without a heap slice
	m := matcher{kind: rt.kind, method: method}
	n, caps := rt.root.match(segs, 0, &m, capBuf[:0])
	if n == nil {
		if rt.defaultRoute != nil {
			return Match{Route: rt.defaultRoute}
		}
		return Match{}
	}
	route := n.methods[method]
	if route == nil {
		route = n.methods["ANY"]
	}
	if route == nil {
		return Match{MethodMissing: true}
	}
	return Match{Route: route, PathParams: route.params(caps)}
}

func (r *Route) params(caps []string) map[string]string {
	if len(caps) == 0 {
		return nil
	}
	m := make(map[string]string, len(caps))
	ci := 0
	for _, name := range r.paramNames {
		if name == "" {
			continue
		}
		if ci < len(caps) {
			m[name] = caps[ci]
			ci++
		}
	}
	return m
}

// matcher is what a node must have to end one Match.
type matcher struct {
	kind   Kind
	method string
}

// accept reports whether the walk may end at n: REST resources match by path alone
// (any method); HTTP API routes need the request's method or ANY.
func (m *matcher) accept(n *node) bool {
	if m.kind == REST {
		return len(n.methods) > 0
	}
	if n.methods == nil {
		return false
	}
	if _, ok := n.methods[m.method]; ok {
		return true
	}
	_, ok := n.methods["ANY"]
	return ok
}

// match walks the trie depth first, literal before param before greedy, backtracking
// when a branch leads to nothing acceptable. caps collects the decoded values of the
// variable segments on the way; it is passed and returned by value (not kept in the
// matcher) so that Match can keep its backing array on the stack.
func (n *node) match(segs []string, i int, m *matcher, caps []string) (*node, []string) {
	if i == len(segs) {
		if m.accept(n) {
			return n, caps
		}
		return nil, caps
	}
	seg := segs[i]
	if c := n.literal[unescape(seg)]; c != nil {
		if found, out := c.match(segs, i+1, m, caps); found != nil {
			return found, out
		}
	}
	if n.param != nil && seg != "" {
		if found, out := n.param.match(segs, i+1, m, append(caps, unescape(seg))); found != nil {
			return found, out
		}
	}
	if n.greedy != nil && m.accept(n.greedy) {
		if v := unescape(strings.Join(segs[i:], "/")); v != "" {
			return n.greedy, append(caps, v)
		}
	}
	return nil, caps
}

// splitRequest splits a request path into segments; one trailing slash is ignored, as
// API Gateway does.
func splitRequest(p string) []string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// restRouter builds the route table of a REST API deployment.
func (b *builder) restRouter(s *Stage, snap *model.RestSnapshot) *Router {
	rt := &Router{kind: REST, root: &node{}}
	prefix := b.arnPrefix(s.API.ID, s.Name)
	for _, res := range snap.Resources {
		if res == nil {
			continue
		}
		for verb, m := range res.ResourceMethods {
			if m == nil {
				continue
			}
			verb = strings.ToUpper(verb)
			route := &Route{
				Key:               verb + " " + res.Path,
				Method:            verb,
				Path:              res.Path,
				ResourceID:        res.ID,
				OperationName:     m.OperationName,
				AuthorizationType: m.AuthorizationType,
				AuthorizerID:      m.AuthorizerID,
				APIKeyRequired:    m.APIKeyRequired,
				RestMethod:        m,
				arnPrefix:         prefix,
				arnPath:           strings.TrimPrefix(res.Path, "/"),
			}
			route.Integration = b.restIntegration(s, m.MethodIntegration)
			route.precomputeARNs()
			if !rt.add(route) {
				b.log.Warn("apigw compile: skipping resource with malformed path", "api", s.API.ID, "path", res.Path)
			}
		}
	}
	return rt
}

// httpRouter builds the route table of an HTTP API deployment.
func (b *builder) httpRouter(s *Stage, snap *model.HTTPSnapshot) *Router {
	rt := &Router{kind: HTTP, root: &node{}}
	prefix := b.arnPrefix(s.API.ID, s.Name)
	for _, r := range snap.Routes {
		if r == nil {
			continue
		}
		route := &Route{
			Key:               r.RouteKey,
			OperationName:     r.OperationName,
			AuthorizationType: r.AuthorizationType,
			AuthorizerID:      r.AuthorizerID,
			APIKeyRequired:    r.APIKeyRequired,
			HTTPRoute:         r,
			arnPrefix:         prefix,
		}
		if id, ok := strings.CutPrefix(r.Target, "integrations/"); ok {
			route.Integration = b.httpIntegration(s, snap.Integrations[id])
		} else {
			route.Integration = &Integration{Err: "route has no integration target"}
		}
		if r.RouteKey == "$default" {
			route.Path = "$default"
			route.precomputeARNs()
			rt.defaultRoute = route
			continue
		}
		verb, path, ok := strings.Cut(r.RouteKey, " ")
		if !ok || !strings.HasPrefix(path, "/") {
			b.log.Warn("apigw compile: skipping route with malformed key", "api", s.API.ID, "routeKey", r.RouteKey)
			continue
		}
		route.Method = strings.ToUpper(verb)
		route.Path = path
		route.arnPath = strings.TrimPrefix(path, "/")
		route.precomputeARNs()
		if !rt.add(route) {
			b.log.Warn("apigw compile: skipping route with malformed path", "api", s.API.ID, "routeKey", r.RouteKey)
		}
	}
	return rt
}
