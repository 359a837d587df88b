package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// invokeEnv invokes a gofn function with {"mode":"env"} and returns the
// environment it saw.
func invokeEnv(t *testing.T, c *lambda.Client, name string) map[string]string {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"mode":"env"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke %s: %v %s", name, err, payloadOf(out))
	}
	var env map[string]string
	if err := json.Unmarshal(out.Payload, &env); err != nil {
		t.Fatalf("env payload %s: %v", out.Payload, err)
	}
	return env
}

// A function sees the environment Lambda defines for it, plus its own variables;
// reserved keys cannot be set, TZ can.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
func TestFunctionEnvironment(t *testing.T) {
	s := startSluice(t, startOpts{})
	c := lambdaClient(s)
	ctx := context.Background()
	s.createFunction("envfn", "provided.al2023", "bootstrap", goFunctionZip(t),
		"--memory-size", "256", "--environment", `{"Variables":{"GREETING":"hello","EMPTY":""}}`)
	env := invokeEnv(t, c, "envfn")

	exact := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"TZ":                              ":UTC",
		"AWS_ENDPOINT_URL":                s.URL,
		"GREETING":                        "hello",
		"EMPTY":                           "",
	}
	for k, want := range exact {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, want)
		}
	}
	patterns := map[string]string{
		"AWS_LAMBDA_LOG_STREAM_NAME": `^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`,
		"AWS_LAMBDA_RUNTIME_API":     `^127\.0\.0\.1:\d+$`,
		"AWS_ACCESS_KEY_ID":          `.`,
		"AWS_SECRET_ACCESS_KEY":      `.`,
		"LAMBDA_TASK_ROOT":           `^/`,
	}
	for k, p := range patterns {
		if !regexp.MustCompile(p).MatchString(env[k]) {
			t.Errorf("%s = %q, want it to match %s", k, env[k], p)
		}
	}
	if _, err := os.Stat(filepath.Join(env["LAMBDA_TASK_ROOT"], "bootstrap")); err != nil {
		t.Errorf("LAMBDA_TASK_ROOT %q does not hold the function's code: %v", env["LAMBDA_TASK_ROOT"], err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// TZ is not reserved: a function may set its own time zone.
	_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("envfn"),
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "bye", "TZ": "Europe/Paris"}}})
	if err != nil {
		t.Fatal(err)
	}
	env = invokeEnv(t, c, "envfn")
	if env["GREETING"] != "bye" || env["TZ"] != "Europe/Paris" {
		t.Fatalf("after update: GREETING=%q TZ=%q", env["GREETING"], env["TZ"])
	}
	if _, ok := env["EMPTY"]; ok {
		t.Fatal("EMPTY survived an update that replaced the variables")
	}

	// Reserved keys are refused with AWS's error.
	for _, key := range []string{"AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_ACCESS_KEY_ID", "LAMBDA_TASK_ROOT"} {
		_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("envfn"),
			Environment: &types.Environment{Variables: map[string]string{key: "x"}}})
		var ae smithy.APIError
		want := "Lambda was unable to configure your environment variables because the environment variables you have provided " +
			"contains reserved keys that are currently not supported for modification. Reserved keys used in this request: " + key
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValueException" || ae.ErrorMessage() != want {
			t.Fatalf("reserved key %s: %v", key, err)
		}
	}
}

// A function calls Sluice's own Lambda API with boto3 and no configuration in
// code: the endpoint and credentials Sluice injects work in open and verify mode.
func TestFunctionCallsSluice(t *testing.T) {
	cases := []struct {
		name        string
		opts        startOpts
		key, secret string
	}{
		{"open", startOpts{}, "AKIDSLUICETEST", "sluice-test-secret"},
		{"verify", startOpts{args: []string{"--auth-mode", "verify"}, env: rootEnv()}, rootKeyID, rootSecret},
	}
	pyZip, err := os.ReadFile(dirZip(t, "python-selfcall"))
	if err != nil {
		t.Fatal(err)
	}
	goZip, err := os.ReadFile(goFunctionZip(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startSluice(t, c.opts)
			cfg := s.sdkConfig()
			cfg.Credentials = credentials.NewStaticCredentialsProvider(c.key, c.secret, "")
			lc := lambda.NewFromConfig(cfg)
			ctx := context.Background()
			for _, fn := range []*lambda.CreateFunctionInput{
				{FunctionName: aws.String("selfcall"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
					Code: &types.FunctionCode{ZipFile: pyZip}, Timeout: aws.Int32(30)},
				{FunctionName: aws.String("other"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
					Code: &types.FunctionCode{ZipFile: goZip}},
			} {
				fn.Role = aws.String(testRole)
				if _, err := lc.CreateFunction(ctx, fn); err != nil {
					t.Fatalf("CreateFunction %s: %v", aws.ToString(fn.FunctionName), err)
				}
			}
			out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("selfcall"), Payload: []byte(`{}`)})
			if err != nil || out.FunctionError != nil {
				t.Fatalf("invoke selfcall: %v %s", err, payloadOf(out))
			}
			var got struct {
				Names    []string `json:"names"`
				Self     string   `json:"self"`
				Endpoint string   `json:"endpoint"`
				Key      string   `json:"key"`
				Secret   string   `json:"secret"`
				Token    string   `json:"token"`
			}
			if err := json.Unmarshal(out.Payload, &got); err != nil {
				t.Fatalf("payload %s: %v", out.Payload, err)
			}
			if len(got.Names) != 2 || got.Names[0] != "other" || got.Names[1] != "selfcall" ||
				got.Self != "arn:aws:lambda:us-east-1:123456789012:function:selfcall" || got.Endpoint != s.URL {
				t.Fatalf("selfcall returned %s", out.Payload)
			}
			// Functions get temporary credentials of their own, never the root key.
			if got.Key == rootKeyID || got.Secret == rootSecret || !strings.HasPrefix(got.Key, "ASIA") || got.Token == "" {
				t.Fatalf("function credentials: key %q, token set %v: want temporary credentials", got.Key, got.Token != "")
			}
			// A leaked key and secret are useless without the session token, and a
			// token does not move to another key.
			for name, tok := range map[string]string{"no token": "", "bad token": got.Token + "x"} {
				leaked := s.sdkConfig()
				leaked.Credentials = credentials.NewStaticCredentialsProvider(got.Key, got.Secret, tok)
				_, err := lambda.NewFromConfig(leaked).ListFunctions(ctx, &lambda.ListFunctionsInput{})
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
					t.Fatalf("%s: ListFunctions with the function's key = %v, want UnrecognizedClientException", name, err)
				}
			}
		})
	}
}
