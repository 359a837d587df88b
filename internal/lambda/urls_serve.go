package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/policy"
)

// URLCaller is the verified signer of a request to an AWS_IAM function URL.
type URLCaller struct {
	AccessKeyID string
	AccountID   string
	ARN         string // arn:aws:iam::{account}:root, :user/..., ...
	UserID      string
	// Root is the account's root identity, whose implicit identity policy allows
	// everything in its own account.
	Root bool
	// IdentityAllows, when set, evaluates the caller's identity policies for an
	// action on a resource (the IAM engine provides it).
	IdentityAllows func(action, resource string) bool
}

// URLAuthenticator verifies the SigV4 signature (service "lambda") of a request to
// an AWS_IAM function URL. It must fail closed: only signatures checked against a
// known secret pass.
type URLAuthenticator interface {
	AuthenticateURL(r *http.Request) (*URLCaller, error)
}

// Path form of the URL data plane, for clients that cannot set Host:
// /_sluice/lambda-url/{url-id}/{path}.
const urlPathPrefix = "/_sluice/lambda-url/"

// FunctionURLRequest reports whether r is addressed to a function URL: by Host
// {url-id}.lambda-url.{region}.{domain} (AWS's is ...on.aws) or by the path form.
func FunctionURLRequest(r *http.Request) bool {
	_, _, ok := urlTargetOf(r)
	return ok
}

// urlTargetOf returns the url-id and the path the function sees.
func urlTargetOf(r *http.Request) (id, rawPath string, ok bool) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if first, rest, found := strings.Cut(host, "."); found && strings.HasPrefix(rest, "lambda-url.") && isURLID(first) {
		return first, r.URL.EscapedPath(), true
	}
	if rest, found := strings.CutPrefix(r.URL.EscapedPath(), urlPathPrefix); found {
		id, path, _ := strings.Cut(rest, "/")
		if isURLID(id) {
			return id, "/" + path, true
		}
	}
	return "", "", false
}

func isURLID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(urlIDAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// Function URL limits: the request becomes a synchronous invoke (6 MB payload).
const maxURLBody = maxSyncPayload

// urlError answers as Lambda's function URL front end does: a status and
// {"Message": ...}.
func urlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Message": msg})
	_, _ = w.Write(b)
}

// ServeFunctionURL is the function URL data plane: it finds the URL by its url-id
// (from the in-memory cache, never the store), answers CORS preflights from the URL's
// configuration, authorizes (AWS_IAM: SigV4 and policies; NONE: the resource policy
// must still grant public access), invokes the function with the payload-2.0 event
// Function URLs send, and writes the response as Lambda infers it.
func (s *Service) ServeFunctionURL(w http.ResponseWriter, r *http.Request) {
	requestID := awsproto.NewRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	id, rawPath, ok := urlTargetOf(r)
	if !ok {
		urlError(w, http.StatusNotFound, "Not Found")
		return
	}
	f, qualifier, u := s.cache.functionURL(id)
	if f == nil {
		// An unknown url-id has no DNS name on AWS; the nearest answer is the URL
		// front end's refusal.
		urlError(w, http.StatusForbidden, "Forbidden")
		return
	}
	cfg := u.Config
	if cfg.Cors != nil && isPreflight(r) {
		writePreflight(w, r, cfg.Cors)
		return
	}
	caller, ok := s.authorizeURL(w, r, f, qualifier, &cfg)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxURLBody+1))
	if err != nil {
		urlError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxURLBody {
		urlError(w, http.StatusRequestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	ev := s.urlEvent(r, id, rawPath, requestID, body, caller)
	payload, err := json.Marshal(&ev)
	if err != nil {
		urlError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	ctx := awsproto.WithRequestID(r.Context(), requestID)
	if cfg.InvokeMode == "RESPONSE_STREAM" {
		s.serveStreamingURL(ctx, w, r, f.name, qualifier, payload, cfg.Cors)
		return
	}
	out, err := s.invoke(ctx, invocation{ref: functionRef{Name: f.name, Qualifier: qualifier},
		kind: typeRequestResponse, payload: payload, requestID: requestID})
	if err != nil {
		s.writeURLInvokeError(w, err)
		return
	}
	if out.result.FunctionError != "" {
		// A function error reaches the client as a 502 from the URL front end; the
		// error object stays in the function's logs.
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	resp, err := parseURLResponse(out.result.Payload)
	if err != nil {
		urlError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	resp.write(w, r, cfg.Cors)
}

func (s *Service) writeURLInvokeError(w http.ResponseWriter, err error) {
	var te *throttledError
	var ae *awsproto.Error
	switch {
	case errors.As(err, &te):
		urlError(w, http.StatusTooManyRequests, "Rate Exceeded.")
	case errors.As(err, &ae) && ae.Status == http.StatusConflict:
		// The function is not Active (Failed runtime, ...).
		urlError(w, http.StatusBadGateway, "Internal Server Error")
	case errors.Is(err, context.Canceled):
	default:
		s.log.Error("lambda: function URL invoke failed", "err", err)
		urlError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// authorizeURL applies the URL's AuthType. Either way the function's resource policy
// is in force: AWS_IAM callers need lambda:InvokeFunctionUrl and (for URLs created
// since October 2025) lambda:InvokeFunction from their identity policy or the
// resource policy; NONE needs a public grant of both ("Control access to Lambda
// function URLs"). A refusal is 403 {"Message":"Forbidden"}.
func (s *Service) authorizeURL(w http.ResponseWriter, r *http.Request, f *cachedFunction, qualifier string, cfg *FunctionURLConfig) (*URLCaller, bool) {
	resource := s.qualifiedARN(f.name, qualifier)
	docs := []*policy.Document{f.latest.policy}
	if qualifier != "" {
		if a := f.aliases[qualifier]; a != nil {
			docs = append(docs, a.policy)
		}
	}
	var caller *URLCaller
	allowed := false
	switch cfg.AuthType {
	case "AWS_IAM":
		if s.urlAuth == nil {
			break
		}
		c, err := s.urlAuth.AuthenticateURL(r)
		if err != nil || c == nil {
			break
		}
		caller = c
		allowed = s.callerMayInvokeURL(c, docs, resource)
	case "NONE":
		allowed = urlPolicyAllows(docs, policy.Principal{}, "NONE", "lambda:InvokeFunctionUrl", resource) &&
			urlPolicyAllows(docs, policy.Principal{}, "NONE", "lambda:InvokeFunction", resource)
	}
	if !allowed {
		urlError(w, http.StatusForbidden, "Forbidden")
		return nil, false
	}
	return caller, true
}

func (s *Service) callerMayInvokeURL(c *URLCaller, docs []*policy.Document, resource string) bool {
	for _, action := range []string{"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} {
		ok := c.AccountID == s.account && (c.Root || (c.IdentityAllows != nil && c.IdentityAllows(action, resource)))
		if !ok {
			ok = urlPolicyAllows(docs, policy.Principal{ARN: c.ARN, Account: c.AccountID}, "AWS_IAM", action, resource)
		}
		if !ok {
			return false
		}
	}
	return true
}

// urlPolicyAllows evaluates resource policies with internal/policy for a function
// URL request by caller (an IAM identity, or the zero Principal for an anonymous
// caller) with the URL's auth type, which statements may test with the
// lambda:FunctionUrlAuthType condition key (and lambda:InvokedViaFunctionUrl, which
// is true here). An explicit Deny wins.
func urlPolicyAllows(docs []*policy.Document, caller policy.Principal, authType, action, resource string) bool {
	ctx := urlRequest{authType: authType}
	req := policy.Request{Principal: caller, Action: action, Resource: resource, Context: &ctx}
	out := policy.NotApplicable
	for _, d := range docs {
		out = policy.Combine(out, d.Evaluate(&req))
	}
	return out == policy.Allow
}

// urlRequest answers the condition keys a function URL request carries.
type urlRequest struct {
	authType string
	vals     [1]string
}

// Values implements policy.Context.
func (u *urlRequest) Values(key string) []string {
	switch key {
	case "lambda:functionurlauthtype":
		u.vals[0] = u.authType
	case "lambda:invokedviafunctionurl":
		u.vals[0] = "true"
	default:
		return nil
	}
	return u.vals[:]
}

// urlEvent builds the event Function URLs send: payload format 2.0 as
// events.LambdaFunctionURLRequest has it (lower-case headers with repeated values
// comma-joined, cookies split out of Cookie, comma-joined query parameters, a
// base64 body unless it is text).
func (s *Service) urlEvent(r *http.Request, id, rawPath, requestID string, body []byte, caller *URLCaller) events.LambdaFunctionURLRequest {
	now := time.Now()
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	headers := make(map[string]string, len(r.Header)+5)
	var cookies []string
	for k, vs := range r.Header {
		if k == "Cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
		port = p
	}
	headers["x-forwarded-proto"] = proto
	headers["x-forwarded-port"] = port
	if headers["x-amzn-trace-id"] == "" {
		headers["x-amzn-trace-id"] = "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + strings.ReplaceAll(requestID, "-", "")[:24]
	}
	var qs map[string]string
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		qs = make(map[string]string, len(q))
		for k, vs := range q {
			qs[k] = strings.Join(vs, ",")
		}
	}
	ev := events.LambdaFunctionURLRequest{
		Version:               "2.0",
		RawPath:               rawPath,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: qs,
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    s.account,
			RequestID:    requestID,
			APIID:        id,
			DomainName:   domainOf(r.Host),
			DomainPrefix: id,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      decodedURLPath(rawPath),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if caller != nil {
		ev.RequestContext.Authorizer = &events.LambdaFunctionURLRequestContextAuthorizerDescription{
			IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{
				AccessKey: caller.AccessKeyID, AccountID: caller.AccountID, CallerID: caller.UserID,
				UserARN: caller.ARN, UserID: caller.UserID,
			},
		}
	}
	if len(body) > 0 {
		if urlBodyIsText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

func domainOf(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

func decodedURLPath(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// urlBodyIsText: Function URLs pass text bodies as they are and base64-encode the
// rest, as HTTP APIs do.
func urlBodyIsText(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case contentType == "":
		return true
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded", strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// urlResponse is a function's answer through its URL.
type urlResponse struct {
	status  int
	headers map[string]string
	cookies []string
	body    []byte
}

// parseURLResponse applies "Response payload format" for function URLs (the same
// inference as HTTP API payload 2.0): an object with statusCode is a response
// document; any other valid JSON is the body of a 200 application/json response.
func parseURLResponse(payload []byte) (*urlResponse, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, err
		}
		if _, ok := probe["statusCode"]; ok {
			var doc struct {
				StatusCode      json.RawMessage    `json:"statusCode"`
				Headers         map[string]*string `json:"headers"`
				Cookies         []string           `json:"cookies"`
				Body            *string            `json:"body"`
				IsBase64Encoded bool               `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(trimmed, &doc); err != nil {
				return nil, err
			}
			code, err := statusCodeOf(doc.StatusCode)
			if err != nil {
				return nil, err
			}
			out := &urlResponse{status: code, headers: map[string]string{}, cookies: doc.Cookies}
			for k, v := range doc.Headers {
				if v != nil {
					out.headers[k] = *v
				}
			}
			if doc.Body != nil {
				out.body = []byte(*doc.Body)
				if doc.IsBase64Encoded {
					if out.body, err = base64.StdEncoding.DecodeString(*doc.Body); err != nil {
						return nil, err
					}
				}
			}
			return out, nil
		}
	} else if !json.Valid(trimmed) {
		return nil, errors.New("response is not valid JSON")
	}
	body := trimmed
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, err
		}
		body = []byte(s)
	}
	return &urlResponse{status: http.StatusOK, headers: map[string]string{"content-type": "application/json"}, body: body}, nil
}

func statusCodeOf(raw json.RawMessage) (int, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	code, err := strconv.Atoi(s)
	if err != nil || code < 100 || code > 599 {
		return 0, errors.New("invalid statusCode " + string(raw))
	}
	return code, nil
}

func (u *urlResponse) write(w http.ResponseWriter, r *http.Request, cors *Cors) {
	h := w.Header()
	for k, v := range u.headers {
		if cors != nil && strings.HasPrefix(strings.ToLower(k), "access-control-") {
			// With CORS configured on the URL, Lambda's CORS headers replace the
			// function's.
			continue
		}
		h.Set(k, v)
	}
	for _, c := range u.cookies {
		h.Add("Set-Cookie", c)
	}
	if cors != nil {
		corsHeaders(h, r, cors)
	}
	h.Set("Content-Length", strconv.Itoa(len(u.body)))
	w.WriteHeader(u.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(u.body)
	}
}

func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// originAllowed matches the request's Origin against AllowOrigins ("*" or exact,
// case-insensitive).
func originAllowed(c *Cors, origin string) (string, bool) {
	for _, o := range c.AllowOrigins {
		if o == "*" {
			if c.AllowCredentials {
				return origin, true
			}
			return "*", true
		}
		if strings.EqualFold(o, origin) {
			return origin, true
		}
	}
	return "", false
}

func corsHeaders(h http.Header, r *http.Request, c *Cors) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	allow, ok := originAllowed(c, origin)
	if !ok {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		h.Add("Vary", "Origin")
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
}

// writePreflight answers an OPTIONS preflight from the URL's CORS configuration
// without invoking the function, as Lambda does when Cors is set.
func writePreflight(w http.ResponseWriter, r *http.Request, c *Cors) {
	h := w.Header()
	corsHeaders(h, r, c)
	if h.Get("Access-Control-Allow-Origin") != "" {
		method := r.Header.Get("Access-Control-Request-Method")
		if methodAllowed(c, method) {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
			if len(c.AllowHeaders) > 0 {
				h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
			}
			if c.MaxAge != nil {
				h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
			}
		} else {
			h.Del("Access-Control-Allow-Origin")
		}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func methodAllowed(c *Cors, method string) bool {
	for _, m := range c.AllowMethods {
		if m == "*" || strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}
