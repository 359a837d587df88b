package server

import (
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// services are the handlers the dispatcher routes to. A nil handler means the
// capability is not built; its requests get an AWS-shaped 501.
type services struct {
	dataPlane      http.Handler                // execute-api requests, served as API Gateway does
	isDataPlane    func(r *http.Request) bool // picks data-plane requests by Host or path
	authenticate   func(r *http.Request) (*http.Request, error)
	lambda         http.Handler
	restAPI        http.Handler
	httpAPI        http.Handler
	logs           http.Handler // /_sluice/logs/
	maxHeaderBytes int
}

// dispatcher is the one handler of the shared listener.
type dispatcher struct{ s services }

func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d.s.isDataPlane != nil && d.s.isDataPlane(r) {
		// The gateway sets the headers API Gateway sets (x-amzn-RequestId,
		// apigw-requestid, ...) itself.
		d.s.dataPlane.ServeHTTP(w, r)
		return
	}
	id := awsproto.NewRequestID()
	w.Header()["X-Amzn-Requestid"] = []string{id}
	r = r.WithContext(awsproto.WithRequestID(r.Context(), id))

	path := r.URL.Path
	switch {
	case path == "/_sluice/health":
		awsproto.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case strings.HasPrefix(path, "/_sluice/logs/"):
		serveOrUnbuilt(w, r, d.s.logs, "Function logs", awsproto.StyleAPIGateway)
		return
	case strings.HasPrefix(path, "/_sluice/lambda/"):
		// Code downloads (GetFunction's Code.Location) are capability URLs, like
		// S3 presigned URLs: the content hash in the path is the secret.
		serveOrUnbuilt(w, r, d.s.lambda, "Lambda", awsproto.StyleLambda)
		return
	}

	service := serviceFor(r)
	style := awsproto.StyleAPIGateway
	if service == "lambda" {
		style = awsproto.StyleLambda
	}
	if d.s.authenticate != nil {
		var err error
		if r, err = d.s.authenticate(r); err != nil {
			awsproto.WriteError(w, style, err)
			return
		}
	}
	switch service {
	case "lambda":
		serveOrUnbuilt(w, r, d.s.lambda, "Lambda", style)
	case "apigateway":
		if strings.HasPrefix(path, "/v2/") {
			serveOrUnbuilt(w, r, d.s.httpAPI, "API Gateway V2", style)
		} else {
			serveOrUnbuilt(w, r, d.s.restAPI, "API Gateway", style)
		}
	default:
		awsproto.WriteError(w, style, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"Sluice does not implement the service or operation for %s %s", r.Method, path))
	}
}

// serviceFor names the AWS service a control-plane request is for: the signing
// service of its SigV4 credential scope, else the one its path belongs to.
func serviceFor(r *http.Request) string {
	if svc := scopeService(r); svc != "" {
		// apigatewayv2 signs as "apigateway"; execute-api is the data plane's.
		return svc
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/2015-03-31/"), strings.HasPrefix(p, "/2016-08-19/"),
		strings.HasPrefix(p, "/2017-10-31/"), strings.HasPrefix(p, "/2019-09-30/"),
		strings.HasPrefix(p, "/2018-10-31/"), strings.HasPrefix(p, "/2020-06-30/"):
		return "lambda"
	case strings.HasPrefix(p, "/v2/"), strings.HasPrefix(p, "/restapis"), strings.HasPrefix(p, "/apikeys"),
		strings.HasPrefix(p, "/usageplans"), strings.HasPrefix(p, "/domainnames"), strings.HasPrefix(p, "/account"),
		strings.HasPrefix(p, "/tags/"), strings.HasPrefix(p, "/clientcertificates"), strings.HasPrefix(p, "/vpclinks"):
		return "apigateway"
	}
	return ""
}

// scopeService reads the service name out of the credential scope
// (AKID/yyyymmdd/region/service/aws4_request) of the Authorization header or the
// X-Amz-Credential query parameter.
func scopeService(r *http.Request) string {
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		i := strings.Index(auth, "Credential=")
		if i < 0 {
			return ""
		}
		cred = auth[i+len("Credential="):]
		if j := strings.IndexAny(cred, ", "); j >= 0 {
			cred = cred[:j]
		}
	} else if r.URL.RawQuery != "" {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}
	return parts[3]
}

func serveOrUnbuilt(w http.ResponseWriter, r *http.Request, h http.Handler, name string, style awsproto.ErrorStyle) {
	if h == nil {
		awsproto.WriteError(w, style, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
			"%s is not available in this Sluice build yet", name))
		return
	}
	h.ServeHTTP(w, r)
}
