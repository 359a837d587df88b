package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/cfn"
	"github.com/sluice-dev/sluice/internal/console"
	"github.com/sluice-dev/sluice/internal/listen"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// services are the handlers the dispatcher routes to. A nil handler means the
// capability is not built; its requests get an AWS-shaped 501.
type services struct {
	// functionURLs serves Lambda function URLs ({url-id}.lambda-url.* Hosts and the
	// /_sluice/lambda-url/ path form), which set their own headers.
	functionURLs  http.HandlerFunc
	isFunctionURL func(r *http.Request) bool
	dataPlane     http.Handler               // execute-api requests, served as API Gateway does
	isDataPlane   func(r *http.Request) bool // picks data-plane requests by Host or path
	authenticate  func(r *http.Request) (*http.Request, error)
	// controlHostAllowed, when set (open mode), refuses control-plane requests
	// whose Host is not a loopback or configured name.
	controlHostAllowed func(host string) bool
	// authenticateLogs guards /_sluice/logs/; nil leaves it open (open mode).
	authenticateLogs func(r *http.Request) (*http.Request, error)
	lambda           http.Handler
	restAPI          http.Handler
	httpAPI          http.Handler
	acm              http.Handler // CertificateManager.* (JSON 1.1)
	logs             http.Handler // /_sluice/logs/
	iam, sts         http.Handler // Query protocol, XML
	// s3 serves requests isS3 claims (signed for s3, S3 hosts, existing buckets);
	// it answers in S3's REST-XML dialect and authenticates itself.
	s3             http.Handler
	isS3           func(r *http.Request) bool
	cloudWatchLogs http.Handler // the CloudWatch Logs API (JSON 1.1)
	cloudFormation http.Handler // Query protocol, XML
	// ready reports whether this node can serve: it is not draining and its
	// store answers.
	ready func(ctx context.Context) error
	// cluster serves /_sluice/cluster: the registered nodes.
	cluster http.HandlerFunc
	// console serves the read-only web console under console.Path; it checks
	// its own credentials (Basic auth with the root key, or none in open mode).
	console http.Handler
}

// s3MaxRequestBody is the body cap of S3 requests: a 5 GiB PutObject or UploadPart
// with its aws-chunked framing.
const s3MaxRequestBody = 5<<30 + 64<<20

// errDraining is the readiness answer of a node shutting down.
var errDraining = errors.New("node is draining (shutting down)")

// readyTimeout bounds /_sluice/ready's store probe.
const readyTimeout = 2 * time.Second

// dispatcher is the one handler of the shared listener.
type dispatcher struct{ s services }

func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d.s.isFunctionURL != nil && d.s.isFunctionURL(r) {
		d.s.functionURLs(w, r)
		return
	}
	if d.s.isDataPlane != nil && d.s.isDataPlane(r) {
		// The gateway sets the headers API Gateway sets (x-amzn-RequestId,
		// apigw-requestid, ...) itself.
		d.s.dataPlane.ServeHTTP(w, r)
		return
	}
	// Health and readiness come before S3's claim, which may read the store:
	// they must answer without it.
	switch r.URL.Path {
	case "/_sluice/health":
		// Liveness: the process serves requests.
		awsproto.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	case "/_sluice/ready":
		// Readiness, for load balancers: the store answers within readyTimeout
		// (on etcd, a node cut off from the cluster is taken out of rotation).
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if d.s.ready != nil {
			if err := d.s.ready(ctx); errors.Is(err, errDraining) {
				awsproto.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining", "reason": err.Error()})
				return
			} else if err != nil {
				awsproto.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store: " + err.Error()})
				return
			}
		}
		awsproto.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	if d.s.isS3 != nil && d.s.isS3(r) {
		// S3 takes objects of up to 5 GiB in one PUT (aws-chunked framing adds
		// under 1%); it checks the sizes itself, against Content-Length and
		// x-amz-decoded-content-length.
		listen.SetBodyLimit(w, r, s3MaxRequestBody)
		d.s.s3.ServeHTTP(w, r)
		return
	}
	id := awsproto.NewRequestID()
	w.Header()["X-Amzn-Requestid"] = []string{id}
	r = r.WithContext(awsproto.WithRequestID(r.Context(), id))
	if d.s.controlHostAllowed != nil && !d.s.controlHostAllowed(r.Host) {
		awsproto.WriteError(w, awsproto.StyleAPIGateway, awsproto.Errorf(http.StatusForbidden, "AccessDeniedException",
			"Host %q is not accepted by this Sluice control plane in open auth mode (DNS rebinding protection): "+
				"use a loopback address or localhost, or --public-endpoint with this name", r.Host))
		return
	}

	path := r.URL.Path
	switch {
	case path == console.Path || strings.HasPrefix(path, console.Path+"/"):
		// Only the control-plane listener reaches this dispatcher; data-only,
		// TLS and private listeners serve the data plane alone.
		serveOrUnbuilt(w, r, d.s.console, "Web console", awsproto.StyleAPIGateway)
		return
	case path == "/_sluice/cluster":
		// Node addresses are for operators: signed like the logs in verify mode.
		if d.s.authenticateLogs != nil {
			var err error
			if r, err = d.s.authenticateLogs(r); err != nil {
				awsproto.WriteError(w, awsproto.StyleAPIGateway, err)
				return
			}
		}
		if d.s.cluster == nil {
			serveOrUnbuilt(w, r, nil, "Cluster status", awsproto.StyleAPIGateway)
			return
		}
		d.s.cluster(w, r)
		return
	case strings.HasPrefix(path, "/_sluice/logs/"):
		// Function logs may hold secrets: in verify mode they need a signature like
		// any control-plane call (`sluice logs` signs with the AWS_* credentials).
		if d.s.authenticateLogs != nil {
			var err error
			if r, err = d.s.authenticateLogs(r); err != nil {
				awsproto.WriteError(w, awsproto.StyleAPIGateway, err)
				return
			}
		}
		serveOrUnbuilt(w, r, d.s.logs, "Function logs", awsproto.StyleAPIGateway)
		return
	case strings.HasPrefix(path, "/_sluice/lambda/"):
		// Code downloads (GetFunction's Code.Location) are presigned URLs, like
		// AWS's S3 ones; the lambda service verifies their signature.
		serveOrUnbuilt(w, r, d.s.lambda, "Lambda", awsproto.StyleLambda)
		return
	}

	service := serviceFor(r)
	style := awsproto.StyleAPIGateway
	switch service {
	case "lambda":
		style = awsproto.StyleLambda
	case "apigateway", "acm", "iam", "sts", "logs", "cloudformation":
	default:
		awsproto.WriteError(w, style, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"Sluice does not implement the service or operation for %s %s", r.Method, path))
		return
	}
	if d.s.authenticate != nil {
		var err error
		if r, err = d.s.authenticate(r); err != nil {
			// Authentication is answered by AWS's front door before any service
			// sees the request, in one shape for the REST-JSON services:
			// {"message":"Missing Authentication Token"} (Lambda included).
			// CloudFormation's clients only read its Query-protocol XML errors.
			if service == "cloudformation" {
				awsproto.WriteQueryXMLError(w, r, cfn.Namespace, queryAuthError(err))
				return
			}
			awsproto.WriteError(w, awsproto.StyleAPIGateway, err)
			return
		}
	}
	switch service {
	case "iam":
		serveOrUnbuilt(w, r, d.s.iam, "IAM", style)
	case "sts":
		serveOrUnbuilt(w, r, d.s.sts, "STS", style)
	case "lambda":
		serveOrUnbuilt(w, r, d.s.lambda, "Lambda", style)
	case "acm":
		serveOrUnbuilt(w, r, d.s.acm, "ACM", style)
	case "logs":
		serveOrUnbuilt(w, r, d.s.cloudWatchLogs, "CloudWatch Logs", style)
	case "cloudformation":
		serveOrUnbuilt(w, r, d.s.cloudFormation, "CloudFormation", style)
	case "apigateway":
		if strings.HasPrefix(path, "/v2/") {
			serveOrUnbuilt(w, r, d.s.httpAPI, "API Gateway V2", style)
		} else {
			serveOrUnbuilt(w, r, d.s.restAPI, "API Gateway", style)
		}
	}
}

// queryAuthError renames an authentication error for the Query-protocol services,
// whose front door uses IAM's codes (SignatureDoesNotMatch, InvalidClientTokenId,
// MissingAuthenticationToken, IncompleteSignature) rather than the JSON services'
// *Exception names.
func queryAuthError(err error) error {
	ae, ok := awsproto.Public(err)
	if !ok {
		return err
	}
	code := ae.Code
	switch code {
	case sigv4.CodeInvalidSignature:
		code = "SignatureDoesNotMatch"
	case sigv4.CodeUnrecognizedClient:
		code = "InvalidClientTokenId"
	default:
		code = strings.TrimSuffix(code, "Exception")
	}
	return awsproto.Errorf(ae.Status, code, "%s", ae.Message)
}

// serviceFor names the AWS service a control-plane request is for: the signing
// service of its SigV4 credential scope, else the one its path belongs to.
func serviceFor(r *http.Request) string {
	if scope, ok := sigv4.ParseScope(r); ok {
		// apigatewayv2 signs as "apigateway" too; its paths start with /v2/.
		return scope.Service
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "CertificateManager.") {
		return "acm"
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.") {
		return "logs"
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/2015-03-31/"), strings.HasPrefix(p, "/2016-08-19/"),
		strings.HasPrefix(p, "/2017-10-31/"), strings.HasPrefix(p, "/2019-09-30/"),
		strings.HasPrefix(p, "/2018-10-31/"), strings.HasPrefix(p, "/2020-06-30/"),
		strings.HasPrefix(p, "/2019-09-25/"), strings.HasPrefix(p, "/2021-10-31/"), strings.HasPrefix(p, "/2021-11-15/"):
		return "lambda"
	case strings.HasPrefix(p, "/v2/"), strings.HasPrefix(p, "/restapis"), strings.HasPrefix(p, "/apikeys"),
		strings.HasPrefix(p, "/usageplans"), strings.HasPrefix(p, "/domainnames"), strings.HasPrefix(p, "/account"),
		strings.HasPrefix(p, "/tags/"), strings.HasPrefix(p, "/clientcertificates"), strings.HasPrefix(p, "/vpclinks"):
		return "apigateway"
	}
	return ""
}

func serveOrUnbuilt(w http.ResponseWriter, r *http.Request, h http.Handler, name string, style awsproto.ErrorStyle) {
	if h == nil {
		awsproto.WriteError(w, style, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
			"%s is not available in this Sluice build yet", name))
		return
	}
	h.ServeHTTP(w, r)
}

// allowedHosts is the open-mode Host check: loopback addresses, localhost and
// *.localhost (RFC 6761 reserves them for loopback), and the hosts of the public
// endpoint and the execute-api domain. The port is not checked: the request reached
// this listener, whatever port the client names.
func allowedHosts(cfg Config, publicEndpoint string) func(host string) bool {
	extra := map[string]bool{}
	if u, err := url.Parse(publicEndpoint); err == nil && u.Hostname() != "" {
		extra[strings.ToLower(u.Hostname())] = true
	}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" {
		extra[strings.ToLower(h)] = true
	}
	apiDomain := strings.ToLower(cfg.ExecuteAPIDomain)
	return func(host string) bool {
		h := host
		if sh, _, err := net.SplitHostPort(host); err == nil {
			h = sh
		}
		h = strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
		switch {
		case h == "localhost", strings.HasSuffix(h, ".localhost"), extra[h]:
			return true
		case apiDomain != "" && (h == apiDomain || strings.HasSuffix(h, "."+apiDomain)):
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
}
