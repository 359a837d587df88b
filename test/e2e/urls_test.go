package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// curl runs curl and returns the status, headers and body.
func curl(t *testing.T, args ...string) (int, http.Header, []byte) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-s", "-i", "--max-time", "30"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	head, body, _ := bytes.Cut(out, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	var status int
	if f := strings.Fields(lines[0]); len(f) > 1 {
		status = atoi(f[1])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return status, h, body
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// A function URL with AuthType NONE, created and called the way a user does: AWS
// CLI for the configuration and permissions, curl for the requests.
func TestFunctionURLNoneCLIAndCurl(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.createFunction("web", "nodejs22.x", "index.handler", dirZip(t, "node-url"))
	cfg := s.awsJSON("lambda", "create-function-url-config", "--function-name", "web", "--auth-type", "NONE",
		"--cors", `{"AllowOrigins":["https://app.example"],"AllowMethods":["GET","POST"],"AllowHeaders":["content-type"],"MaxAge":300}`)
	url, _ := cfg["FunctionUrl"].(string)
	if !strings.HasPrefix(url, "http://") || !strings.Contains(url, ".lambda-url.us-east-1.localhost:") ||
		cfg["AuthType"] != "NONE" || cfg["InvokeMode"] != "BUFFERED" ||
		cfg["FunctionArn"] != "arn:aws:lambda:us-east-1:123456789012:function:web" {
		t.Fatalf("create-function-url-config = %v", cfg)
	}
	_, stderr, err := s.awsRaw("lambda", "create-function-url-config", "--function-name", "web", "--auth-type", "NONE")
	if err == nil || !strings.Contains(stderr, "ResourceConflictException") {
		t.Fatalf("second create: %v %s", err, stderr)
	}
	urlID := strings.SplitN(strings.TrimPrefix(url, "http://"), ".", 2)[0]

	// Without the public grant AWS requires, NONE is still refused.
	status, _, body := curl(t, url+"hello")
	if status != 403 || string(body) != `{"Message":"Forbidden"}` {
		t.Fatalf("before add-permission: %d %s", status, body)
	}
	s.aws("lambda", "add-permission", "--function-name", "web", "--statement-id", "url", "--action",
		"lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	status, _, _ = curl(t, url+"hello")
	if status != 403 {
		t.Fatalf("with only lambda:InvokeFunctionUrl (URLs since October 2025 need lambda:InvokeFunction too): %d", status)
	}
	s.aws("lambda", "add-permission", "--function-name", "web", "--statement-id", "invoke", "--action",
		"lambda:InvokeFunction", "--principal", "*", "--invoked-via-function-url")

	status, h, body := curl(t, "-X", "POST", "-H", "Content-Type: text/plain", "-H", "Cookie: a=1; b=2",
		"-H", "Origin: https://app.example", "--data", "hi there", url+"my/path?x=1&x=2&y=3")
	if status != 201 || h.Get("X-Fn") != "yes" || h.Get("Set-Cookie") != "session=abc; Path=/" ||
		h.Get("Access-Control-Allow-Origin") != "https://app.example" || h.Get("X-Amzn-Requestid") == "" {
		t.Fatalf("POST: %d %v %s", status, h, body)
	}
	var ev struct {
		Version, RawPath, RawQueryString, Body string
		Cookies                                []string
		Headers                                map[string]string
		QueryStringParameters                  map[string]string
		IsBase64Encoded                        bool
		RequestContext                         struct {
			AccountID, APIID, DomainName, DomainPrefix, RequestID string
			HTTP                                                  struct{ Method, Path, Protocol, SourceIP string }
		}
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("event %s: %v", body, err)
	}
	if ev.Version != "2.0" || ev.RawPath != "/my/path" || ev.RawQueryString != "x=1&x=2&y=3" || ev.Body != "hi there" ||
		ev.IsBase64Encoded || strings.Join(ev.Cookies, "|") != "a=1|b=2" || ev.QueryStringParameters["x"] != "1,2" ||
		ev.Headers["content-type"] != "text/plain" || ev.Headers["cookie"] != "" ||
		ev.RequestContext.APIID != urlID || ev.RequestContext.DomainPrefix != urlID ||
		!strings.HasPrefix(ev.RequestContext.DomainName, urlID+".lambda-url.us-east-1.") ||
		ev.RequestContext.AccountID != "123456789012" || ev.RequestContext.HTTP.Method != "POST" ||
		ev.RequestContext.HTTP.Path != "/my/path" || ev.RequestContext.HTTP.SourceIP != "127.0.0.1" ||
		ev.RequestContext.RequestID != h.Get("X-Amzn-Requestid") {
		t.Fatalf("event = %s", body)
	}
	// Response inference: a plain object is a 200 application/json body.
	status, h, body = curl(t, url+"plain")
	if status != 200 || h.Get("Content-Type") != "application/json" || string(body) != `{"hello":"url"}` {
		t.Fatalf("inferred response: %d %v %s", status, h, body)
	}
	// CORS preflight is answered from the URL's configuration.
	status, h, _ = curl(t, "-X", "OPTIONS", "-H", "Origin: https://app.example", "-H", "Access-Control-Request-Method: POST", url)
	if status != 200 || h.Get("Access-Control-Allow-Methods") != "GET,POST" || h.Get("Access-Control-Max-Age") != "300" {
		t.Fatalf("preflight: %d %v", status, h)
	}
	// The path form, for clients that cannot set Host.
	status, _, body = curl(t, s.URL+"/_sluice/lambda-url/"+urlID+"/plain")
	if status != 200 || string(body) != `{"hello":"url"}` {
		t.Fatalf("path form: %d %s", status, body)
	}

	got := s.awsJSON("lambda", "get-function-url-config", "--function-name", "web")
	if got["FunctionUrl"] != url || got["LastModifiedTime"] == nil {
		t.Fatalf("get-function-url-config = %v", got)
	}
	up := s.awsJSON("lambda", "update-function-url-config", "--function-name", "web", "--auth-type", "AWS_IAM")
	if up["AuthType"] != "AWS_IAM" || up["FunctionUrl"] != url {
		t.Fatalf("update-function-url-config = %v", up)
	}
	list := s.awsJSON("lambda", "list-function-url-configs", "--function-name", "web")
	if items, _ := list["FunctionUrlConfigs"].([]any); len(items) != 1 {
		t.Fatalf("list-function-url-configs = %v", list)
	}
	s.aws("lambda", "delete-function-url-config", "--function-name", "web")
	_, stderr, err = s.awsRaw("lambda", "get-function-url-config", "--function-name", "web")
	if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("get after delete: %v %s", err, stderr)
	}
	if status, _, _ := curl(t, url+"hello"); status != 403 {
		t.Fatalf("deleted URL answered %d", status)
	}
}

// An AWS_IAM function URL needs a SigV4 signature (service lambda) checked against a
// known key: unsigned requests and keys Sluice does not know get 403.
func TestFunctionURLAWSIAM(t *testing.T) {
	s := startSluice(t, startOpts{env: rootEnv()})
	s.createFunction("iam-web", "nodejs22.x", "index.handler", dirZip(t, "node-url"))
	cfg := s.awsJSON("lambda", "create-function-url-config", "--function-name", "iam-web", "--auth-type", "AWS_IAM")
	url := cfg["FunctionUrl"].(string)

	status, _, body := curl(t, url+"plain")
	if status != 403 || string(body) != `{"Message":"Forbidden"}` {
		t.Fatalf("unsigned: %d %s", status, body)
	}
	// Go's resolver does not map *.localhost to loopback as curl does: connect to
	// Sluice's address and name the URL's host in Host (which SigV4 signs).
	host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	send := func(key, secret string) (int, []byte) {
		req, _ := http.NewRequest("GET", s.URL+"/plain", nil)
		req.Host = host
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
			req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, body := send("AKIDNOBODY", "no-secret"); status != 403 {
		t.Fatalf("unknown key: %d %s", status, body)
	}
	if status, body := send(rootKeyID, "wrong-secret"); status != 403 {
		t.Fatalf("bad signature: %d %s", status, body)
	}
	if status, body := send(rootKeyID, rootSecret); status != 200 || string(body) != `{"hello":"url"}` {
		t.Fatalf("root-signed: %d %s", status, body)
	}
}
