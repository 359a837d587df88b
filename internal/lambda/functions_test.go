package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

const testRole = "arn:aws:iam::123456789012:role/lambda-role"

func (e *env) create(name string, mod ...func(*awslambda.CreateFunctionInput)) *awslambda.CreateFunctionOutput {
	e.t.Helper()
	in := &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimeNodejs22x, Handler: aws.String("index.handler"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: makeZip(e.t, map[string]string{"index.js": "exports.handler=async e=>e;"})},
	}
	for _, m := range mod {
		m(in)
	}
	out, err := e.client.CreateFunction(context.Background(), in)
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return out
}

// wantAPIError asserts err is the AWS error code with a message matching re.
func wantAPIError(t *testing.T, err error, code, msgRE string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !regexp.MustCompile(msgRE).MatchString(ae.ErrorMessage()) {
		t.Fatalf("error = %s %q, want %s matching %q", ae.ErrorCode(), ae.ErrorMessage(), code, msgRE)
	}
}

func TestCreateGetListDelete(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	zipData := makeZip(t, map[string]string{"index.js": "exports.handler=async()=>1;"})
	out, err := e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("my-fn"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData}, Description: aws.String("d"),
		Environment: &types.Environment{Variables: map[string]string{"A": "b"}}, Timeout: aws.Int32(10),
		MemorySize: aws.Int32(256), Architectures: []types.Architecture{types.ArchitectureArm64},
		Tags: map[string]string{"team": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zipData)
	if aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:my-fn" ||
		aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) || out.CodeSize != int64(len(zipData)) ||
		aws.ToString(out.Version) != "$LATEST" || out.State != types.StateActive || out.LastUpdateStatus != types.LastUpdateStatusSuccessful ||
		out.PackageType != types.PackageTypeZip || aws.ToInt32(out.Timeout) != 10 || aws.ToInt32(out.MemorySize) != 256 ||
		out.Architectures[0] != types.ArchitectureArm64 || out.Environment.Variables["A"] != "b" ||
		out.TracingConfig.Mode != types.TracingModePassThrough || aws.ToInt32(out.EphemeralStorage.Size) != 512 ||
		out.SnapStart.ApplyOn != types.SnapStartApplyOnNone || out.LoggingConfig.LogFormat != types.LogFormatText ||
		aws.ToString(out.LoggingConfig.LogGroup) != "/aws/lambda/my-fn" || aws.ToString(out.RevisionId) == "" ||
		out.RuntimeVersionConfig == nil {
		t.Fatalf("CreateFunction = %+v", out)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(aws.ToString(out.LastModified)) {
		t.Fatalf("LastModified = %s", aws.ToString(out.LastModified))
	}

	// Every name form resolves.
	for _, name := range []string{"my-fn", "123456789012:function:my-fn", "arn:aws:lambda:us-east-1:123456789012:function:my-fn"} {
		got, err := e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetFunction(%s): %v", name, err)
		}
		if aws.ToString(got.Configuration.CodeSha256) != aws.ToString(out.CodeSha256) || got.Tags["team"] != "x" ||
			aws.ToString(got.Code.RepositoryType) != "S3" {
			t.Fatalf("GetFunction = %+v", got)
		}
		// The code location serves the zip.
		resp, err := http.Get(aws.ToString(got.Code.Location))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != string(zipData) {
			t.Fatalf("code download: %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	// The location is a presigned URL: the content hash alone (which
	// GetFunction shows to anyone who may call it) does not download the code, and
	// the signature does not carry over to another path or a changed expiry.
	got, _ := e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("my-fn")})
	loc := aws.ToString(got.Code.Location)
	if !strings.Contains(loc, "X-Amz-Signature=") || !strings.Contains(loc, "X-Amz-Expires=600") {
		t.Fatalf("Code.Location %q is not a presigned URL valid 10 minutes", loc)
	}
	bare, _, _ := strings.Cut(loc, "?")
	for name, u := range map[string]string{
		"unsigned":        bare,
		"expiry changed":  strings.Replace(loc, "X-Amz-Expires=600", "X-Amz-Expires=604800", 1),
		"other resource":  otherCode(loc),
		"signature wrong": loc[:len(loc)-4] + "0000",
	} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s code URL: %d %s, want 403", name, resp.StatusCode, body)
		}
	}
	cfg, err := e.client.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("my-fn")})
	if err != nil || aws.ToString(cfg.Handler) != "app.handler" {
		t.Fatalf("GetFunctionConfiguration: %v %+v", err, cfg)
	}

	_, err = e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("my-fn"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData},
	})
	wantAPIError(t, err, "ResourceConflictException", `^Function already exist: my-fn$`)

	if _, err := e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("my-fn")}); err != nil {
		t.Fatal(err)
	}
	e.runner.mu.Lock()
	drained := append([]string(nil), e.runner.drained...)
	e.runner.mu.Unlock()
	if len(drained) != 1 || drained[0] != "my-fn" {
		t.Fatalf("instances drained after DeleteFunction: %v, want [my-fn]", drained)
	}
	_, err = e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("my-fn")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: arn:aws:lambda:us-east-1:123456789012:function:my-fn$`)
	_, err = e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("my-fn")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: `)
	_, err = e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:999999999999:function:my-fn")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: `)
}

// otherCode points a signed code URL at another content hash.
func otherCode(loc string) string {
	i := strings.Index(loc, "/code/") + len("/code/")
	return loc[:i] + strings.Repeat("0", 64) + loc[i+64:]
}

func TestCreateFunctionValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	good := makeZip(t, map[string]string{"index.js": "x"})
	cases := []struct {
		name    string
		mod     func(*awslambda.CreateFunctionInput)
		code    string
		message string
	}{
		{"bad zip", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = []byte("not a zip") },
			"InvalidParameterValueException", `^Could not unzip uploaded file\. Please check your file, then try to upload again\.$`},
		// Refused at create time, not at the first invoke (the review found these
		// accepted and failing later with a 500).
		{"empty zip", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = makeZip(t, map[string]string{}) },
			"InvalidParameterValueException", `^Uploaded file must be a non-empty zip$`},
		{"unsafe zip", func(in *awslambda.CreateFunctionInput) {
			in.Code.ZipFile = makeZip(t, map[string]string{"../evil": "x"})
		},
			"InvalidParameterValueException", `^Could not unzip uploaded file\. Please check your file, then try to upload again\.$`},
		{"runtime", func(in *awslambda.CreateFunctionInput) { in.Runtime = "java99" },
			"InvalidParameterValueException", `^Value java99 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: \[python3\.9, .*nodejs24\.x, python3\.14, java25, dotnet10, ruby4\.0\] or be a valid ARN$`},
		{"role", func(in *awslambda.CreateFunctionInput) { in.Role = aws.String("my-role") },
			"ValidationException", `^1 validation error detected: Value 'my-role' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:`},
		{"timeout", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) },
			"ValidationException", `at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900$`},
		{"timeout zero", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(0) },
			"ValidationException", `at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1$`},
		{"memory", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(64) },
			"ValidationException", `Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128$`},
		{"memory max", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10241) },
			"ValidationException", `at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240$`},
		{"image", func(in *awslambda.CreateFunctionInput) {
			in.PackageType = types.PackageTypeImage
		}, "InvalidParameterValueException", `Image`},
		{"name", func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String("bad name") },
			"ValidationException", `Value 'bad name' at 'functionName' failed to satisfy constraint`},
		{"no handler", func(in *awslambda.CreateFunctionInput) { in.Handler = nil },
			"InvalidParameterValueException", `^Runtime and Handler are mandatory parameters for functions created with deployment packages\.$`},
		{"reserved env", func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}
		}, "InvalidParameterValueException", `reserved keys .* AWS_REGION$`},
		{"env too big", func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 5000)}}
		}, "InvalidParameterValueException", `exceeded the 4KB limit`},
		{"s3 code", func(in *awslambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k")}
		}, "InvalidParameterValueException", `ZipFile`},
		{"architecture", func(in *awslambda.CreateFunctionInput) { in.Architectures = []types.Architecture{"sparc"} },
			"ValidationException", `architectures`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &awslambda.CreateFunctionInput{
				FunctionName: aws.String("v-fn"), Runtime: types.RuntimeNodejs22x, Handler: aws.String("index.handler"),
				Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: good},
			}
			c.mod(in)
			_, err := e.client.CreateFunction(context.Background(), in)
			wantAPIError(t, err, c.code, c.message)
		})
	}
	// Nothing was created by the failed calls.
	list, err := e.client.ListFunctions(context.Background(), &awslambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Fatalf("ListFunctions after failures: %v %d", err, len(list.Functions))
	}
}

func TestListFunctionsPagination(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	for i := range 7 {
		e.create(fmt.Sprintf("fn-%02d", i))
	}
	if _, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("fn-03")}); err != nil {
		t.Fatal(err)
	}
	var names []string
	p := awslambda.NewListFunctionsPaginator(e.client, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Functions) > 3 {
			t.Fatalf("page of %d", len(out.Functions))
		}
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if pages != 3 || strings.Join(names, ",") != "fn-00,fn-01,fn-02,fn-03,fn-04,fn-05,fn-06" {
		t.Fatalf("pages %d names %v", pages, names)
	}
	all, err := e.client.ListFunctions(ctx, &awslambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll})
	if err != nil || len(all.Functions) != 8 || aws.ToString(all.Functions[4].Version) != "1" || all.NextMarker != nil {
		t.Fatalf("ListFunctions ALL: %v %d", err, len(all.Functions))
	}
	_, err = e.client.ListFunctions(ctx, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(0)})
	wantAPIError(t, err, "ValidationException", `maxItems`)
}

func TestUpdateFunction(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	created := e.create("upd")
	newZip := makeZip(t, map[string]string{"index.js": "v2"})
	code, err := e.client.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("upd"), ZipFile: newZip})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(newZip)
	if aws.ToString(code.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) || aws.ToString(code.RevisionId) == aws.ToString(created.RevisionId) {
		t.Fatalf("UpdateFunctionCode = %+v", code)
	}
	// A stale RevisionId is refused.
	_, err = e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("upd"), RevisionId: created.RevisionId, Timeout: aws.Int32(5)})
	wantAPIError(t, err, "PreconditionFailedException", `^The Revision Id provided does not match the latest Revision Id`)
	cfg, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("upd"), RevisionId: code.RevisionId, Timeout: aws.Int32(5), Handler: aws.String("main.go"),
		Environment: &types.Environment{Variables: map[string]string{"K": "v"}}, Runtime: types.RuntimeProvidedal2023,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(cfg.Timeout) != 5 || aws.ToString(cfg.Handler) != "main.go" || cfg.Environment.Variables["K"] != "v" ||
		cfg.Runtime != types.RuntimeProvidedal2023 || aws.ToString(cfg.CodeSha256) != aws.ToString(code.CodeSha256) {
		t.Fatalf("UpdateFunctionConfiguration = %+v", cfg)
	}
	_, err = e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("upd"), MemorySize: aws.Int32(1)})
	wantAPIError(t, err, "ValidationException", `memorySize`)
	_, err = e.client.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("upd"), ZipFile: []byte("nope")})
	wantAPIError(t, err, "InvalidParameterValueException", `^Could not unzip uploaded file`)
	_, err = e.client.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("missing"), ZipFile: newZip})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing$`)

	// The pool key changes with every code or configuration change.
	keys := map[string]bool{}
	for range 2 {
		if _, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("upd")}); err != nil {
			t.Fatal(err)
		}
		e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("upd"), Description: aws.String(fmt.Sprint(len(keys)))})
	}
	for _, c := range e.runner.Calls() {
		keys[c.Spec.Key] = true
		if c.Spec.Runtime != "provided.al2023" || c.Spec.Timeout.Seconds() != 5 || c.Spec.Environment["K"] != "v" {
			t.Fatalf("spec = %+v", c.Spec)
		}
	}
	if len(keys) != 2 {
		t.Fatalf("spec keys = %v, want 2 distinct", keys)
	}
}

// The wire shape of a configuration, field by field, as AWS sends it.
func TestConfigurationJSONShape(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.create("shape")
	resp, err := http.Get(e.srv.URL + "/2015-03-31/functions/shape/configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"FunctionName", "FunctionArn", "Runtime", "Role", "Handler", "CodeSize", "Description", "Timeout",
		"MemorySize", "LastModified", "CodeSha256", "Version", "TracingConfig", "RevisionId", "State", "LastUpdateStatus",
		"PackageType", "Architectures", "EphemeralStorage", "SnapStart", "RuntimeVersionConfig", "LoggingConfig"} {
		if _, ok := m[k]; !ok {
			t.Errorf("configuration lacks %s: %v", k, m)
		}
	}
	if _, ok := m["Environment"]; ok {
		t.Errorf("Environment present without variables")
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Errorf("no request id")
	}
}
