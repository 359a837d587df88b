package cfn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// caller issues AWS API requests to Sluice's own control plane, in process: the
// same requests the AWS CLI would send, signed with the node's credentials, served
// by the same handler the listener uses. Validation and error texts therefore stay
// in the services; the engine only maps CloudFormation properties to API calls.
type caller struct {
	handler http.Handler
	creds   aws.Credentials
	region  string
	signer  *v4.Signer
}

// apiError is a failed in-process call, as the service answered it.
type apiError struct {
	Service   string // AWS's service name in resource reasons ("Lambda", "Iam", "S3", "ApiGatewayV2")
	Status    int
	Code      string
	Message   string
	RequestID string
}

// Error is the text CloudFormation puts in ResourceStatusReason for a failed
// handler call.
func (e *apiError) Error() string {
	return fmt.Sprintf("Resource handler returned message: %q (Service: %s, Status Code: %d, Request ID: %s)",
		e.Message, e.Service, e.Status, e.RequestID)
}

type callResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// request is one in-process call: service is the SigV4 signing name.
type request struct {
	service, display string
	method, path     string
	query            url.Values
	contentType      string
	body             []byte
	header           map[string]string
}

func (c *caller) do(ctx context.Context, rq request) (*callResult, error) {
	u := "http://localhost" + rq.path
	if len(rq.query) > 0 {
		u += "?" + rq.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, u, bytes.NewReader(rq.body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.method, rq.path, err)
	}
	req.Host = "localhost"
	req.ContentLength = int64(len(rq.body))
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(rq.body)
	hash := hex.EncodeToString(sum[:])
	if rq.service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, rq.service, c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign %s %s: %w", rq.method, rq.path, err)
	}
	req.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	res := &callResult{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if res.Status >= 300 {
		return res, errorOf(rq.display, res)
	}
	return res, nil
}

// json sends v as a JSON body and decodes a JSON answer into out (if non-nil).
func (c *caller) json(ctx context.Context, service, display, method, path string, v, out any) error {
	var body []byte
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = b
	}
	res, err := c.do(ctx, request{service: service, display: display, method: method, path: path, contentType: "application/json", body: body})
	if err != nil {
		return err
	}
	if out != nil && len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// query sends a Query-protocol action (IAM) and decodes the XML answer into out.
func (c *caller) query(ctx context.Context, service, display, version string, params url.Values, out any) error {
	params.Set("Version", version)
	res, err := c.do(ctx, request{service: service, display: display, method: http.MethodPost, path: "/",
		contentType: "application/x-www-form-urlencoded; charset=utf-8", body: []byte(params.Encode())})
	if err != nil {
		return err
	}
	if out != nil {
		if err := xml.Unmarshal(res.Body, out); err != nil {
			return fmt.Errorf("decode %s: %w", params.Get("Action"), err)
		}
	}
	return nil
}

// errorOf reads the service's error out of any of AWS's dialects: JSON with
// message/Message and __type or X-Amzn-ErrorType, or XML with Code and Message.
func errorOf(service string, res *callResult) *apiError {
	e := &apiError{Service: service, Status: res.Status, RequestID: res.Header.Get("X-Amzn-Requestid")}
	if e.RequestID == "" {
		e.RequestID = res.Header.Get("X-Amz-Request-Id")
	}
	body := bytes.TrimSpace(res.Body)
	if bytes.HasPrefix(body, []byte("<")) {
		var x struct {
			Code      string `xml:"Code"`
			Message   string `xml:"Message"`
			RequestID string `xml:"RequestId"`
			Error     struct {
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
		}
		_ = xml.Unmarshal(body, &x)
		e.Code, e.Message = x.Code, x.Message
		if e.Code == "" {
			e.Code, e.Message = x.Error.Code, x.Error.Message
		}
		if e.RequestID == "" {
			e.RequestID = x.RequestID
		}
	} else {
		var j struct {
			Message  string `json:"message"`
			Message2 string `json:"Message"`
			Type     string `json:"__type"`
		}
		_ = json.Unmarshal(body, &j)
		e.Message = j.Message
		if e.Message == "" {
			e.Message = j.Message2
		}
		e.Code = res.Header.Get("X-Amzn-Errortype")
		if e.Code == "" {
			e.Code = j.Type
		}
		if i := strings.IndexByte(e.Code, ':'); i >= 0 {
			e.Code = e.Code[:i]
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(http.StatusText(res.Status))
	}
	return e
}
