package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

const testRole = "arn:aws:iam::123456789012:role/lambda-role"

// createFunction creates a function with the AWS CLI and returns its configuration.
func (s *instance) createFunction(name, runtime, handler, zipPath string, extra ...string) map[string]any {
	s.t.Helper()
	args := append([]string{"lambda", "create-function", "--function-name", name, "--runtime", runtime,
		"--handler", handler, "--role", testRole, "--zip-file", "fileb://" + zipPath}, extra...)
	return s.awsJSON(args...)
}

// invokeCLI invokes a function with the AWS CLI and returns the CLI's output and the
// payload the function returned.
func (s *instance) invokeCLI(name, payload string, extra ...string) (map[string]any, []byte) {
	s.t.Helper()
	out := filepath.Join(s.t.TempDir(), "out.json")
	args := append([]string{"lambda", "invoke", "--function-name", name,
		"--payload", payload}, extra...)
	args = append(args, out)
	meta := s.awsJSON(args...)
	data, _ := os.ReadFile(out)
	return meta, data
}

// Every runtime is created, invoked, updated, published, aliased and deleted with
// the AWS CLI.
func TestLambdaLifecycleCLI(t *testing.T) {
	s := startSluice(t, startOpts{})
	cases := []struct {
		name, runtime, handler, zip string
		payload                     string
		check                       func(t *testing.T, out []byte)
	}{
		{"go-fn", "provided.al2023", "bootstrap", goFunctionZip(t), `{"hello":"go"}`, func(t *testing.T, out []byte) {
			if string(out) != `{"hello":"go"}` {
				t.Fatalf("go echo = %s", out)
			}
		}},
		{"py-fn", "python3.12", "app.handler", dirZip(t, "python-hello"), `{"name":"sluice"}`, func(t *testing.T, out []byte) {
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil || m["hello"] != "sluice" || m["function"] != "py-fn" || m["region"] != "us-east-1" {
				t.Fatalf("python result = %s (%v)", out, err)
			}
		}},
		{"node-fn", "nodejs22.x", "index.handler", emailZip(t), `{"path":"/email/ping"}`, func(t *testing.T, out []byte) {
			if !strings.Contains(string(out), `\"pong\":true`) || !strings.Contains(string(out), `"statusCode":200`) {
				t.Fatalf("node result = %s", out)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.runtime, func(t *testing.T) {
			cfg := s.createFunction(c.name, c.runtime, c.handler, c.zip, "--timeout", "10")
			if cfg["FunctionArn"] != "arn:aws:lambda:us-east-1:123456789012:function:"+c.name || cfg["State"] != "Active" ||
				cfg["Version"] != "$LATEST" || cfg["PackageType"] != "Zip" {
				t.Fatalf("create-function = %v", cfg)
			}
			zipData, _ := os.ReadFile(c.zip)
			if cfg["CodeSha256"] != sha256b64(zipData) {
				t.Fatalf("CodeSha256 = %v", cfg["CodeSha256"])
			}
			meta, out := s.invokeCLI(c.name, c.payload)
			if meta["StatusCode"] != float64(200) || meta["FunctionError"] != nil {
				t.Fatalf("invoke meta = %v, out %s", meta, out)
			}
			c.check(t, out)

			v1 := s.awsJSON("lambda", "publish-version", "--function-name", c.name)
			if v1["Version"] != "1" {
				t.Fatalf("publish-version = %v", v1)
			}
			alias := s.awsJSON("lambda", "create-alias", "--function-name", c.name, "--name", "live", "--function-version", "1")
			if alias["AliasArn"] != "arn:aws:lambda:us-east-1:123456789012:function:"+c.name+":live" {
				t.Fatalf("create-alias = %v", alias)
			}
			meta, out = s.invokeCLI(c.name, c.payload, "--qualifier", "live")
			if meta["ExecutedVersion"] != "1" {
				t.Fatalf("invoke alias meta = %v", meta)
			}
			c.check(t, out)
			got := s.awsJSON("lambda", "get-function", "--function-name", c.name)
			if got["Configuration"].(map[string]any)["FunctionName"] != c.name {
				t.Fatalf("get-function = %v", got)
			}
			s.aws("lambda", "delete-function", "--function-name", c.name)
			_, stderr, err := s.awsRaw("lambda", "get-function", "--function-name", c.name)
			if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
				t.Fatalf("get after delete: %v %s", err, stderr)
			}
		})
	}
}

// Updated code takes effect on the next invoke: no warm instance serves old code.
func TestLambdaUpdateCodeTakesEffect(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	write := func(msg string) string {
		p := filepath.Join(dir, msg+".zip")
		src := fmt.Sprintf("exports.handler = async () => (%q);\n", msg)
		os.WriteFile(p, zipBytes(t, map[string]zipEntry{"index.js": {[]byte(src), 0o644}}), 0o644)
		return p
	}
	s.createFunction("upd", "nodejs22.x", "index.handler", write("one"))
	if _, out := s.invokeCLI("upd", `{}`); string(out) != `"one"` {
		t.Fatalf("first = %s", out)
	}
	s.aws("lambda", "update-function-code", "--function-name", "upd", "--zip-file", "fileb://"+write("two"))
	if _, out := s.invokeCLI("upd", `{}`); string(out) != `"two"` {
		t.Fatalf("after update = %s", out)
	}
	s.aws("lambda", "update-function-configuration", "--function-name", "upd", "--environment", "Variables={A=b}")
	if _, out := s.invokeCLI("upd", `{}`); string(out) != `"two"` {
		t.Fatalf("after config update = %s", out)
	}
}

func lambdaClient(s *instance) *lambda.Client { return lambda.NewFromConfig(s.sdkConfig()) }

func sdkCreateGo(t *testing.T, c *lambda.Client, name string, timeout int32) {
	t.Helper()
	zipData, err := os.ReadFile(goFunctionZip(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData}, Timeout: aws.Int32(timeout),
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// 32 concurrent invokes all succeed and reuse instances; timeouts, crashes, init
// errors and oversized responses give AWS's errors and leave the function working.
func TestLambdaConcurrencyAndErrorsSDK(t *testing.T) {
	s := startSluice(t, startOpts{})
	c := lambdaClient(s)
	ctx := context.Background()
	sdkCreateGo(t, c, "conc", 2)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for round := 0; round < 2; round++ {
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				payload := fmt.Sprintf(`{"mode":"sleep","ms":50,"i":%d}`, i)
				out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("conc"), Payload: []byte(payload)})
				if err != nil {
					errs <- err
					return
				}
				if out.FunctionError != nil || string(out.Payload) != payload {
					errs <- fmt.Errorf("invoke %d: %v %s", i, aws.ToString(out.FunctionError), out.Payload)
				}
			}(i)
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	check := func(name, payload, wantType, wantMsg string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)})
		if err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		if aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("%s: FunctionError = %q payload %s", payload, aws.ToString(out.FunctionError), out.Payload)
		}
		var e struct{ ErrorType, ErrorMessage string }
		json.Unmarshal(out.Payload, &e)
		if (wantType != "" && e.ErrorType != wantType) || !strings.Contains(e.ErrorMessage, wantMsg) {
			t.Fatalf("%s: error payload %s, want type %q message containing %q", payload, out.Payload, wantType, wantMsg)
		}
		ok, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"after":1}`)})
		if err != nil || ok.FunctionError != nil || string(ok.Payload) != `{"after":1}` {
			t.Fatalf("after %s: %v %v %s", payload, err, ok.FunctionError, ok.Payload)
		}
	}
	check("conc", `{"mode":"sleep","ms":3000}`, "", "Task timed out after 2.00 seconds")
	check("conc", `{"mode":"exit"}`, "Runtime.ExitError", "Runtime exited with error: exit status 3")
	check("conc", `{"mode":"error"}`, "errorString", "something went wrong")

	// Init error: a Node handler that does not exist.
	zipPath := emailZip(t)
	s.createFunction("badinit", "nodejs22.x", "missing.handler", zipPath)
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("badinit"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.ImportModuleError") {
		t.Fatalf("init error: %v %s", err, out.Payload)
	}
	s.aws("lambda", "update-function-configuration", "--function-name", "badinit", "--handler", "index.handler")
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("badinit"), Payload: []byte(`{"path":"/email/send"}`)})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), "sent") {
		t.Fatalf("after fixing handler: %v %s", err, out.Payload)
	}

	// Oversized request payload: 6 MB sync limit.
	big := bytes.Repeat([]byte("a"), 6*1024*1024+100)
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("conc"), Payload: append(append([]byte(`"`), big...), '"')})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "RequestTooLargeException" {
		t.Fatalf("oversized payload: %v", err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("missing function: %v", err)
	}
}

// Event invocations are queued durably, answered 202, and retried twice on error.
func TestLambdaAsyncAndDryRun(t *testing.T) {
	s := startSluice(t, startOpts{args: []string{"--async-retry-delay", "200ms"}})
	c := lambdaClient(s)
	ctx := context.Background()
	sdkCreateGo(t, c, "async", 5)
	var attempts atomic.Int32
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, attempts.Add(1))
	}))
	defer counter.Close()
	payload := fmt.Sprintf(`{"mode":"count","url":%q,"failures":2}`, counter.URL)
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeEvent, Payload: []byte(payload)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("async invoke: %v %+v", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for attempts.Load() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("async attempts = %d, want 3 (1 + 2 retries)", attempts.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	dry, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || dry.StatusCode != 204 {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	big := bytes.Repeat([]byte("a"), 1024*1024+10) // over the 1 MB async limit
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeEvent, Payload: append(append([]byte(`"`), big...), '"')})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "RequestTooLargeException" {
		t.Fatalf("oversized async payload: %v", err)
	}
}

// LogType Tail returns the end of the invocation's log, base64, with the REPORT line.
func TestLambdaLogTail(t *testing.T) {
	s := startSluice(t, startOpts{})
	c := lambdaClient(s)
	sdkCreateGo(t, c, "logs", 5)
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("logs"), LogType: types.LogTypeTail,
		Payload: []byte(`{"mode":"log","lines":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"START RequestId:", "log line 2", "END RequestId:", "REPORT RequestId:", "Init Duration:"} {
		if !strings.Contains(string(logs), want) {
			t.Fatalf("log tail lacks %q:\n%s", want, logs)
		}
	}
}
