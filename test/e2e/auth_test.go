package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	rootKeyID  = "AKIDSLUICEROOT"
	rootSecret = "sluice-root-secret"

	// AWS's wording for a signature that does not verify (Lambda, API Gateway).
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	// AWS's wording for an access key it does not know.
	msgUnrecognizedClient = "The security token included in the request is invalid."
)

// rootEnv is the environment sluice runs with in verify mode.
func rootEnv() []string {
	return []string{"SLUICE_ROOT_ACCESS_KEY_ID=" + rootKeyID, "SLUICE_ROOT_SECRET_ACCESS_KEY=" + rootSecret}
}

// awsAs runs the AWS CLI against s with the given credentials.
func (s *instance) awsAs(keyID, secret string, args ...string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append([]string{"--endpoint-url", s.URL, "--output", "json"}, args...)...)
	// Later entries win over awsEnv's dummy credentials.
	cmd.Env = append(awsEnv(), "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

// signedRequest builds a request to s signed with SigV4 for service at signTime.
// The signature covers body; sendBody (when not nil) is what is actually sent.
func signedRequest(t *testing.T, method, url, service, keyID, secret string, body, sendBody []byte, signTime time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", signTime); err != nil {
		t.Fatal(err)
	}
	if sendBody != nil {
		req.Body = io.NopCloser(bytes.NewReader(sendBody))
		req.ContentLength = int64(len(sendBody))
	}
	return req
}

// awsError is an AWS JSON error response as a client sees it.
type awsError struct {
	Status  int
	Type    string // X-Amzn-ErrorType
	Message string // Message (Lambda) or message (API Gateway)
	Body    string
}

func sendForError(t *testing.T, s *instance, req *http.Request) awsError {
	t.Helper()
	r := s.do(t, req)
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	msg := str(m["Message"])
	if msg == "" {
		msg = str(m["message"])
	}
	return awsError{Status: r.Status, Type: r.Header.Get("X-Amzn-ErrorType"), Message: msg, Body: string(r.Body)}
}

func (e awsError) check(t *testing.T, what string, status int, typ, msg string) {
	t.Helper()
	if e.Status != status || e.Type != typ || (msg != "" && e.Message != msg) {
		t.Fatalf("%s: got %d %s %q (body %s), want %d %s %q", what, e.Status, e.Type, e.Message, e.Body, status, typ, msg)
	}
}

// In verify mode only the root keys work, and every way a request can fail
// authentication gets the error AWS gives for it.
func TestAuthVerifyMode(t *testing.T) {
	s := startSluice(t, startOpts{args: []string{"--auth-mode", "verify"}, env: rootEnv()})

	// The CLI works with the right keys against all three control planes, and
	// reports AWS's codes and messages otherwise. (Each CLI run takes most of a
	// second, so these run in parallel once the rest of the test is done.)
	cliCases := []struct {
		name, key, secret string
		args              []string
		want              string // stderr; "" for success
	}{
		{"root keys lambda", rootKeyID, rootSecret, []string{"lambda", "list-functions"}, ""},
		{"root keys apigateway", rootKeyID, rootSecret, []string{"apigateway", "get-rest-apis"}, ""},
		{"root keys apigatewayv2", rootKeyID, rootSecret, []string{"apigatewayv2", "get-apis"}, ""},
		{"wrong secret lambda", rootKeyID, "not-the-secret", []string{"lambda", "list-functions"},
			"An error occurred (InvalidSignatureException) when calling the ListFunctions operation: " + msgSignatureMismatch},
		{"wrong secret apigateway", rootKeyID, "not-the-secret", []string{"apigateway", "get-rest-apis"},
			"An error occurred (InvalidSignatureException) when calling the GetRestApis operation: " + msgSignatureMismatch},
		{"unknown key lambda", "AKIDUNKNOWN", rootSecret, []string{"lambda", "list-functions"},
			"An error occurred (UnrecognizedClientException) when calling the ListFunctions operation: " + msgUnrecognizedClient},
		{"unknown key apigatewayv2", "AKIDUNKNOWN", rootSecret, []string{"apigatewayv2", "get-apis"},
			"An error occurred (UnrecognizedClientException) when calling the GetApis operation: " + msgUnrecognizedClient},
	}
	for _, c := range cliCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := s.awsAs(c.key, c.secret, c.args...)
			if c.want == "" {
				if err != nil || !json.Valid(out) {
					t.Fatalf("aws %v with root keys: %v %s %s", c.args, err, out, stderr)
				}
				return
			}
			if err == nil || strings.TrimSpace(stderr) != c.want {
				t.Fatalf("aws %v: err %v, stderr %q\nwant %q", c.args, err, stderr, c.want)
			}
		})
	}

	listURL := s.URL + "/2015-03-31/functions/"
	now := time.Now()
	rawCases := []struct {
		name          string
		req           func() *http.Request
		status        int
		typ, msg, rex string
	}{
		{"unsigned lambda", func() *http.Request { r, _ := http.NewRequest("GET", listURL, nil); return r },
			403, "MissingAuthenticationTokenException", "Missing Authentication Token", ""},
		{"unsigned apigateway", func() *http.Request { r, _ := http.NewRequest("GET", s.URL+"/restapis", nil); return r },
			403, "MissingAuthenticationTokenException", "Missing Authentication Token", ""},
		{"signed with root keys", func() *http.Request {
			return signedRequest(t, "GET", listURL, "lambda", rootKeyID, rootSecret, nil, nil, now)
		}, 200, "", "", ""},
		{"wrong secret", func() *http.Request {
			return signedRequest(t, "GET", listURL, "lambda", rootKeyID, "nope", nil, nil, now)
		}, 403, "InvalidSignatureException", msgSignatureMismatch, ""},
		{"unknown key", func() *http.Request {
			return signedRequest(t, "GET", listURL, "lambda", "AKIDUNKNOWN", rootSecret, nil, nil, now)
		}, 403, "UnrecognizedClientException", msgUnrecognizedClient, ""},
		// AWS allows 15 minutes of clock skew; a request signed 20 minutes ago is
		// "Signature expired: <signed> is now earlier than <now-15m> (<now> - 15 min.)".
		{"signed 20 minutes ago", func() *http.Request {
			return signedRequest(t, "GET", listURL, "lambda", rootKeyID, rootSecret, nil, nil, now.Add(-20*time.Minute))
		}, 403, "InvalidSignatureException", "",
			`^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$`},
		{"body tampered after signing", func() *http.Request {
			body := []byte(`{"FunctionName":"a","Runtime":"provided.al2023","Role":"` + testRole + `","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`)
			tampered := bytes.Replace(body, []byte(`"a"`), []byte(`"b"`), 1)
			return signedRequest(t, "POST", listURL, "lambda", rootKeyID, rootSecret, body, tampered, now)
		}, 403, "InvalidSignatureException", msgSignatureMismatch, ""},
	}
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			e := sendForError(t, s, c.req())
			if c.status == 200 {
				if e.Status != 200 {
					t.Fatalf("got %d %s", e.Status, e.Body)
				}
				return
			}
			e.check(t, c.name, c.status, c.typ, c.msg)
			if c.rex != "" && !regexp.MustCompile(c.rex).MatchString(e.Message) {
				t.Fatalf("message %q does not match %s", e.Message, c.rex)
			}
		})
	}
	// The tampered create did not happen.
	if _, stderr, err := s.awsAs(rootKeyID, rootSecret, "lambda", "get-function", "--function-name", "b"); err == nil ||
		!strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("tampered create took effect: %v %s", err, stderr)
	}

	// Function logs need a signature too; `sluice logs` signs with AWS_* env keys.
	fn := "authlogs"
	if _, stderr, err := s.awsAs(rootKeyID, rootSecret, "lambda", "create-function", "--function-name", fn,
		"--runtime", "provided.al2023", "--handler", "bootstrap", "--role", testRole,
		"--zip-file", "fileb://"+goFunctionZip(t)); err != nil {
		t.Fatalf("create-function: %v %s", err, stderr)
	}
	outFile := filepath.Join(t.TempDir(), "out.json")
	if _, stderr, err := s.awsAs(rootKeyID, rootSecret, "lambda", "invoke", "--function-name", fn,
		"--payload", `{"mode":"log","lines":2}`, outFile); err != nil {
		t.Fatalf("invoke: %v %s", err, stderr)
	}
	// The data plane is not the control plane: a deployed API whose routes have no
	// authorization is called without a signature, as on AWS.
	fnArn := "arn:aws:lambda:us-east-1:123456789012:function:" + fn
	out, stderr, err := s.awsAs(rootKeyID, rootSecret, "apigatewayv2", "create-api", "--name", "open-api",
		"--protocol-type", "HTTP", "--target", fnArn)
	var api map[string]any
	if err != nil || json.Unmarshal(out, &api) != nil || str(api["ApiId"]) == "" {
		t.Fatalf("create-api: %v %s %s", err, out, stderr)
	}
	apiID := str(api["ApiId"])
	if _, stderr, err := s.awsAs(rootKeyID, rootSecret, "lambda", "add-permission", "--function-name", fn,
		"--statement-id", "apigw", "--action", "lambda:InvokeFunction", "--principal", "apigateway.amazonaws.com",
		"--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*"); err != nil {
		t.Fatalf("add-permission: %v %s", err, stderr)
	}
	if resp := s.awaitStatus(t, 200, "GET", apiID, "/unsigned", ""); resp.Status != 200 || resp.JSON(t)["rawPath"] != "/unsigned" {
		t.Fatalf("unsigned data-plane call in verify mode: %d %s", resp.Status, resp.Body)
	}

	r, _ := http.NewRequest("GET", s.URL+"/_sluice/logs/"+fn, nil)
	sendForError(t, s, r).check(t, "unsigned logs", 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	e := sendForError(t, s, signedRequest(t, "GET", s.URL+"/_sluice/logs/"+fn, "lambda", rootKeyID, rootSecret, nil, nil, time.Now()))
	if e.Status != 200 || !strings.Contains(e.Body, "log line 1") {
		t.Fatalf("signed logs: %d %s", e.Status, e.Body)
	}

	logsCases := []struct {
		name     string
		env      []string
		ok       bool
		contains string
	}{
		{"root keys", []string{"AWS_ACCESS_KEY_ID=" + rootKeyID, "AWS_SECRET_ACCESS_KEY=" + rootSecret}, true, "log line 1"},
		// `sluice logs` is a Logs API client: without keys it signs with a
		// placeholder key, which verify mode refuses as AWS refuses an unknown key.
		{"no keys", nil, false, "sluice: logs for authlogs: UnrecognizedClientException: The security token included in the request is invalid."},
		{"wrong secret", []string{"AWS_ACCESS_KEY_ID=" + rootKeyID, "AWS_SECRET_ACCESS_KEY=nope"}, false,
			"sluice: logs for authlogs: InvalidSignatureException: " + msgSignatureMismatch},
	}
	for _, c := range logsCases {
		t.Run("sluice logs "+c.name, func(t *testing.T) {
			cmd := exec.Command(sluiceBin, "logs", fn, "--endpoint-url", s.URL)
			cmd.Env = append(envWithout("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"), c.env...)
			out, err := cmd.CombinedOutput()
			if (err == nil) != c.ok || !strings.Contains(string(out), c.contains) {
				t.Fatalf("sluice logs: err %v, output %q, want ok=%v containing %q", err, out, c.ok, c.contains)
			}
		})
	}
}

// envWithout is os.Environ minus the named variables.
func envWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if k == n {
				drop = true
			}
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return env
}

// Off loopback, verify mode is the default and sluice refuses to start without
// root keys rather than serve an open control plane to the network.
func TestAuthNonLoopbackNeedsRootKeys(t *testing.T) {
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, "serve", "--listen", "0.0.0.0:"+strconv.Itoa(port), "--data-dir", t.TempDir())
	cmd.Env = envWithout("SLUICE_ROOT_ACCESS_KEY_ID", "SLUICE_ROOT_SECRET_ACCESS_KEY", "SLUICE_AUTH_MODE")
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "SLUICE_ROOT_ACCESS_KEY_ID") {
		t.Fatalf("sluice serve --listen 0.0.0.0: err %v (ctx %v), output %q", err, ctx.Err(), out)
	}
	// --auth-mode verify on loopback without keys is refused the same way.
	cmd = exec.CommandContext(ctx, sluiceBin, "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port), "--auth-mode", "verify", "--data-dir", t.TempDir())
	cmd.Env = envWithout("SLUICE_ROOT_ACCESS_KEY_ID", "SLUICE_ROOT_SECRET_ACCESS_KEY", "SLUICE_AUTH_MODE")
	out, err = cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "SLUICE_ROOT_SECRET_ACCESS_KEY") {
		t.Fatalf("sluice serve --auth-mode verify without keys: err %v, output %q", err, out)
	}
}

// In open mode (the loopback default) any access key with a well-formed, current
// signature is accepted, but a malformed Authorization header is still AWS's error.
func TestAuthOpenMode(t *testing.T) {
	s := startSluice(t, startOpts{})
	listURL := s.URL + "/2015-03-31/functions/"
	for _, key := range []string{"AKIDANYTHING", "ASIAOTHERKEY", "test"} {
		e := sendForError(t, s, signedRequest(t, "GET", listURL, "lambda", key, "any-secret", nil, nil, time.Now()))
		if e.Status != 200 {
			t.Fatalf("open mode, key %s: %d %s", key, e.Status, e.Body)
		}
	}
	cases := []struct {
		name      string
		authz     string
		status    int
		typ, msg  string
		withXDate bool
	}{
		{"garbage", "garbage", 400, "IncompleteSignatureException",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a " +
				"'X-Amz-Date' or a 'Date' header. Authorization=garbage", false},
		{"signature not hex", "AWS4-HMAC-SHA256 Credential=AKIDX/" + time.Now().UTC().Format("20060102") +
			"/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=zz", 403, "InvalidSignatureException",
			msgSignatureMismatch, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", listURL, nil)
			r.Header.Set("Authorization", c.authz)
			if c.withXDate {
				r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
			}
			sendForError(t, s, r).check(t, c.name, c.status, c.typ, c.msg)
		})
	}
	// Unsigned requests are refused in open mode too.
	r, _ := http.NewRequest("GET", listURL, nil)
	sendForError(t, s, r).check(t, "unsigned", 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
}

// boto3Script drives sluice with a real boto3 client: create, invoke, list.
const boto3Script = `
import base64, json, sys
import boto3
endpoint, zip_path = sys.argv[1], sys.argv[2]
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="AKIDBOTO3", aws_secret_access_key="boto3-secret")
with open(zip_path, "rb") as f:
    code = f.read()
created = lam.create_function(FunctionName="boto3-fn", Runtime="provided.al2023", Handler="bootstrap",
                              Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": code})
out = lam.invoke(FunctionName="boto3-fn", Payload=b'{"from":"boto3"}', LogType="Tail")
listed = lam.list_functions()
print(json.dumps({
    "arn": created["FunctionArn"],
    "status": out["StatusCode"],
    "payload": out["Payload"].read().decode(),
    "log": base64.b64decode(out["LogResult"]).decode(),
    "names": [f["FunctionName"] for f in listed["Functions"]],
}))
`

func TestAuthOpenModeBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 not installed")
	}
	s := startSluice(t, startOpts{})
	cmd := exec.Command("python3", "-c", boto3Script, s.URL, goFunctionZip(t))
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("boto3 script: %v\n%s", err, stderr)
	}
	var got struct {
		ARN     string
		Status  int
		Payload string
		Log     string
		Names   []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	if got.ARN != "arn:aws:lambda:us-east-1:123456789012:function:boto3-fn" || got.Status != 200 ||
		got.Payload != `{"from":"boto3"}` || !strings.Contains(got.Log, "REPORT RequestId:") ||
		len(got.Names) != 1 || got.Names[0] != "boto3-fn" {
		t.Fatalf("boto3 results = %+v", got)
	}
}

// DNS rebinding: a web page whose name now resolves to 127.0.0.1 reaches the
// open-mode control plane with its own name in Host. It must be refused there (it
// could create functions: code execution), while loopback names keep working and the
// data plane is unaffected.
func TestAuthOpenModeRefusesForeignHost(t *testing.T) {
	s := startSluice(t, startOpts{})
	do := func(host string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/2015-03-31/functions/", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	port := s.URL[strings.LastIndex(s.URL, ":")+1:]
	if code, body := do("attacker.example.com:" + port); code != http.StatusForbidden || !strings.Contains(body, "DNS rebinding") {
		t.Fatalf("foreign Host: %d %s, want 403", code, body)
	}
	for _, h := range []string{"127.0.0.1:" + port, "localhost:" + port, "sluice.localhost:" + port} {
		// Unsigned, so the answer is the usual missing-token 403, not the Host refusal.
		if code, body := do(h); code != http.StatusForbidden || !strings.Contains(body, "Missing Authentication Token") {
			t.Fatalf("Host %s: %d %s, want the missing-token 403", h, code, body)
		}
	}
}
