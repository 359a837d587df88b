package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const testCapacityProviderARN = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp1"

func lmiConfig(arn string, concurrency *int32) *types.CapacityProviderConfig {
	return &types.CapacityProviderConfig{LambdaManagedInstancesCapacityProviderConfig: &types.LambdaManagedInstancesCapacityProviderConfig{
		CapacityProviderArn: aws.String(arn), PerExecutionEnvironmentMaxConcurrency: concurrency}}
}

func lmiFunctionInput(t *testing.T, name string, rt types.Runtime, cp *types.CapacityProviderConfig) *awslambda.CreateFunctionInput {
	return &awslambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: rt, Handler: aws.String("bootstrap"),
		Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: makeZip(t, map[string]string{"bootstrap": "#!/bin/sh\n"})},
		CapacityProviderConfig: cp}
}

// A function on a capacity provider: CapacityProviderConfig is stored and returned
// as given; it runs published versions only (unqualified: $LATEST.PUBLISHED, none
// yet: NoPublishedVersionException; $LATEST refused); PublishTo LATEST_PUBLISHED
// (re)publishes $LATEST.PUBLISHED; the pool gets PerExecutionEnvironmentMaxConcurrency
// as the instance's concurrency, for the runtimes whose client polls concurrently.
func TestManagedInstancesFunction(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.client.CreateCapacityProvider(ctx, newCapacityProviderInput("cp1")); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.CreateFunction(ctx, lmiFunctionInput(t, "lmi", types.RuntimeProvidedal2023, lmiConfig(testCapacityProviderARN, aws.Int32(16))))
	if err != nil {
		t.Fatal(err)
	}
	lmi := out.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig
	if aws.ToString(lmi.CapacityProviderArn) != testCapacityProviderARN || aws.ToInt32(lmi.PerExecutionEnvironmentMaxConcurrency) != 16 ||
		lmi.ExecutionEnvironmentMemoryGiBPerVCpu != nil {
		t.Fatalf("CreateFunction CapacityProviderConfig = %+v", lmi)
	}
	got, err := e.client.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("lmi")})
	if err != nil || aws.ToInt32(got.CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.PerExecutionEnvironmentMaxConcurrency) != 16 {
		t.Fatalf("GetFunctionConfiguration: %v %+v", err, got)
	}

	invoke := func(name string) (*awslambda.InvokeOutput, error) {
		return e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
	}
	_, err = invoke("lmi")
	wantAPIError(t, err, "NoPublishedVersionException", "has no published version")
	_, err = invoke("lmi:$LATEST")
	wantAPIError(t, err, "InvalidParameterValueException", `\$LATEST of a Lambda Managed Instances function`)

	v1, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("lmi")})
	if err != nil || aws.ToString(v1.Version) != "1" || v1.CapacityProviderConfig == nil {
		t.Fatalf("PublishVersion: %v %+v", err, v1)
	}
	if res, err := invoke("lmi:1"); err != nil || aws.ToString(res.ExecutedVersion) != "1" {
		t.Fatalf("invoke version 1: %v %+v", err, res)
	}
	calls := e.runner.Calls()
	if last := calls[len(calls)-1].Spec; last.MaxConcurrency != 16 || last.Version != "1" {
		t.Fatalf("spec of version 1: MaxConcurrency %d, Version %s", last.MaxConcurrency, last.Version)
	}

	lp, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("lmi"), PublishTo: types.FunctionVersionLatestPublishedLatestPublished})
	if err != nil || aws.ToString(lp.Version) != "$LATEST.PUBLISHED" || !strings.HasSuffix(aws.ToString(lp.FunctionArn), ":function:lmi:$LATEST.PUBLISHED") {
		t.Fatalf("PublishVersion PublishTo LATEST_PUBLISHED: %v %+v", err, lp)
	}
	again, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("lmi"), PublishTo: types.FunctionVersionLatestPublishedLatestPublished})
	if err != nil || aws.ToString(again.RevisionId) != aws.ToString(lp.RevisionId) {
		t.Fatalf("republishing an unchanged $LATEST.PUBLISHED: %v %+v", err, again)
	}
	for _, name := range []string{"lmi", "lmi:$LATEST.PUBLISHED"} {
		res, err := invoke(name)
		if err != nil || aws.ToString(res.ExecutedVersion) != "$LATEST.PUBLISHED" {
			t.Fatalf("invoke %s: %v %+v", name, err, res)
		}
	}
	gotLP, err := e.client.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("lmi"), Qualifier: aws.String("$LATEST.PUBLISHED")})
	if err != nil || aws.ToString(gotLP.Version) != "$LATEST.PUBLISHED" {
		t.Fatalf("GetFunctionConfiguration $LATEST.PUBLISHED: %v %+v", err, gotLP)
	}

	// Settings change in place; $LATEST.PUBLISHED follows when republished.
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("lmi"),
		CapacityProviderConfig: lmiConfig(testCapacityProviderARN, aws.Int32(4))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("lmi"), PublishTo: types.FunctionVersionLatestPublishedLatestPublished}); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke("lmi"); err != nil {
		t.Fatal(err)
	}
	calls = e.runner.Calls()
	if last := calls[len(calls)-1].Spec; last.MaxConcurrency != 4 || last.Version != "$LATEST.PUBLISHED" {
		t.Fatalf("spec after the update: MaxConcurrency %d, Version %s", last.MaxConcurrency, last.Version)
	}
	versions, err := e.client.ListVersionsByFunction(ctx, &awslambda.ListVersionsByFunctionInput{FunctionName: aws.String("lmi")})
	if err != nil || len(versions.Versions) != 3 || aws.ToString(versions.Versions[1].Version) != "$LATEST.PUBLISHED" {
		t.Fatalf("ListVersionsByFunction: %v %+v", err, versions)
	}

	_, err = e.client.DeleteCapacityProvider(ctx, &awslambda.DeleteCapacityProviderInput{CapacityProviderName: aws.String("cp1")})
	wantAPIError(t, err, "ResourceConflictException", "in use")

	// Without PerExecutionEnvironmentMaxConcurrency: AWS's OS-only runtime default,
	// 8 per vCPU; Node.js's, 64 per vCPU. Python's Sluice client polls one at a
	// time.
	for _, c := range []struct {
		name string
		rt   types.Runtime
		want int
	}{{"lmi-default", types.RuntimeProvidedal2023, 8 * goruntime.GOMAXPROCS(0)}, {"lmi-node", types.RuntimeNodejs22x, 64 * goruntime.GOMAXPROCS(0)},
		{"lmi-python", types.RuntimePython313, 0}} {
		in := lmiFunctionInput(t, c.name, c.rt, lmiConfig(testCapacityProviderARN, nil))
		in.Publish = true
		in.PublishTo = types.FunctionVersionLatestPublishedLatestPublished
		fn, err := e.client.CreateFunction(ctx, in)
		if err != nil || aws.ToString(fn.Version) != "$LATEST.PUBLISHED" {
			t.Fatalf("create %s with PublishTo: %v %+v", c.name, err, fn)
		}
		if _, err := invoke(c.name); err != nil {
			t.Fatal(err)
		}
		calls := e.runner.Calls()
		if got := calls[len(calls)-1].Spec.MaxConcurrency; got != c.want {
			t.Errorf("%s: MaxConcurrency %d, want %d", c.name, got, c.want)
		}
	}
}

// postJSON sends a raw request, for inputs the SDK would refuse client-side.
func postJSON(t *testing.T, e *env, method, path, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e2 struct {
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	_ = json.Unmarshal(b, &e2)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), e2.Message + e2.Msg
}

// Bad CapacityProviderConfig values get AWS's errors, and nothing is created.
func TestManagedInstancesValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.client.CreateCapacityProvider(ctx, newCapacityProviderInput("cp1")); err != nil {
		t.Fatal(err)
	}
	const at = "capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig"
	zip64 := base64.StdEncoding.EncodeToString(makeZip(t, map[string]string{"bootstrap": "#!/bin/sh\n"}))
	for _, c := range []struct {
		name, runtime, config string
		status                int
		code, msg             string
	}{
		{"no-lmi", "provided.al2023", `{}`, 400, "ValidationException",
			"1 validation error detected: Value null at '" + at + "' failed to satisfy constraint: Member must not be null"},
		{"no-arn", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{}}`, 400, "ValidationException",
			"Value null at '" + at + ".capacityProviderArn' failed to satisfy constraint: Member must not be null"},
		{"bad-arn", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"cp1"}}`, 400, "ValidationException",
			"Value 'cp1' at '" + at + ".capacityProviderArn' failed to satisfy constraint: Member must satisfy regular expression pattern: " + capacityProviderArnPattern},
		{"zero", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"` + testCapacityProviderARN + `","PerExecutionEnvironmentMaxConcurrency":0}}`,
			400, "ValidationException", "Value '0' at '" + at + ".perExecutionEnvironmentMaxConcurrency' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"too-many", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"` + testCapacityProviderARN + `","PerExecutionEnvironmentMaxConcurrency":1601}}`,
			400, "ValidationException", "Value '1601' at '" + at + ".perExecutionEnvironmentMaxConcurrency' failed to satisfy constraint: Member must have value less than or equal to 1600"},
		{"ratio-low", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"` + testCapacityProviderARN + `","ExecutionEnvironmentMemoryGiBPerVCpu":1.5}}`,
			400, "ValidationException", "Value '1.5' at '" + at + ".executionEnvironmentMemoryGiBPerVCpu' failed to satisfy constraint: Member must have value greater than or equal to 2.0"},
		{"ratio-3", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"` + testCapacityProviderARN + `","ExecutionEnvironmentMemoryGiBPerVCpu":3}}`,
			400, "InvalidParameterValueException", "ExecutionEnvironmentMemoryGiBPerVCpu must be 2.0, 4.0 or 8.0"},
		{"ratio-8", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"` + testCapacityProviderARN + `","ExecutionEnvironmentMemoryGiBPerVCpu":8}}`,
			501, "NotImplementedException", "ExecutionEnvironmentMemoryGiBPerVCpu is not implemented in Sluice"},
		{"missing-provider", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"arn:aws:lambda:us-east-1:123456789012:capacity-provider:nope"}}`,
			404, "ResourceNotFoundException", "Capacity provider not found: arn:aws:lambda:us-east-1:123456789012:capacity-provider:nope"},
		{"other-account", "provided.al2023", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"arn:aws:lambda:us-east-1:999999999999:capacity-provider:cp1"}}`,
			404, "ResourceNotFoundException", "Capacity provider not found"},
		{"old-python", "python3.12", `{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"` + testCapacityProviderARN + `"}}`,
			400, "InvalidParameterValueException", "Runtime python3.12 is not supported for Lambda Managed Instances"},
	} {
		body := `{"FunctionName":"f-` + c.name + `","Runtime":"` + c.runtime + `","Handler":"app.handler","Role":"` + testRole +
			`","Code":{"ZipFile":"` + zip64 + `"},"CapacityProviderConfig":` + c.config + `}`
		status, code, msg := postJSON(t, e, http.MethodPost, "/2015-03-31/functions", body)
		if status != c.status || code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %d %s %q, want %d %s containing %q", c.name, status, code, msg, c.status, c.code, c.msg)
		}
		if _, err := e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("f-" + c.name)}); err == nil {
			t.Errorf("%s: the refused function was created", c.name)
		}
	}

	// A Lambda (default) function: no $LATEST.PUBLISHED, no capacity provider later.
	zipData := makeZip(t, map[string]string{"bootstrap": "#!/bin/sh\n"})
	if _, err := e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("plain"), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("plain"), PublishTo: types.FunctionVersionLatestPublishedLatestPublished})
	wantAPIError(t, err, "InvalidParameterValueException", "^PublishTo LATEST_PUBLISHED is only supported for functions with a CapacityProviderConfig")
	status, code, msg := postJSON(t, e, http.MethodPost, "/2015-03-31/functions/plain/versions", `{"PublishTo":"SOMEWHERE"}`)
	if status != 400 || code != "ValidationException" || !strings.Contains(msg, "Value 'SOMEWHERE' at 'publishTo' failed to satisfy constraint: Member must satisfy enum value set: [LATEST_PUBLISHED]") {
		t.Errorf("PublishTo SOMEWHERE: %d %s %q", status, code, msg)
	}
	_, err = e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("plain"),
		CapacityProviderConfig: lmiConfig(testCapacityProviderARN, nil)})
	wantAPIError(t, err, "InvalidParameterValueException", "^CapacityProviderConfig cannot be added")
}

// An alias can point at $LATEST.PUBLISHED; the version cannot be deleted while it
// does, and once deleted an unqualified invoke has no published version again.
func TestManagedInstancesAliasAndDelete(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.client.CreateCapacityProvider(ctx, newCapacityProviderInput("cp1")); err != nil {
		t.Fatal(err)
	}
	in := lmiFunctionInput(t, "lmi", types.RuntimeProvidedal2023, lmiConfig(testCapacityProviderARN, aws.Int32(2)))
	in.Publish, in.PublishTo = true, types.FunctionVersionLatestPublishedLatestPublished
	if _, err := e.client.CreateFunction(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("lmi"), Qualifier: aws.String("$LATEST.PUBLISHED"),
		StatementId: aws.String("apigw"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	pol, err := e.client.GetPolicy(ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("lmi"), Qualifier: aws.String("$LATEST.PUBLISHED")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `function:lmi:$LATEST.PUBLISHED"`) {
		t.Fatalf("GetPolicy $LATEST.PUBLISHED: %v %+v", err, pol)
	}
	if _, err := e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("lmi"), Name: aws.String("live"),
		FunctionVersion: aws.String("$LATEST.PUBLISHED")}); err != nil {
		t.Fatal(err)
	}
	res, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("lmi:live"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(res.ExecutedVersion) != "$LATEST.PUBLISHED" {
		t.Fatalf("invoke through the alias: %v %+v", err, res)
	}
	del := &awslambda.DeleteFunctionInput{FunctionName: aws.String("lmi"), Qualifier: aws.String("$LATEST.PUBLISHED")}
	_, err = e.client.DeleteFunction(ctx, del)
	wantAPIError(t, err, "ResourceConflictException", `aliases reference it: \[live\]`)
	if _, err := e.client.DeleteAlias(ctx, &awslambda.DeleteAliasInput{FunctionName: aws.String("lmi"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteFunction(ctx, del); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("lmi"), Payload: []byte(`{}`)})
	wantAPIError(t, err, "NoPublishedVersionException", "has no published version")
	_, err = e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("lmi"), Name: aws.String("again"),
		FunctionVersion: aws.String("$LATEST.PUBLISHED")})
	wantAPIError(t, err, "ResourceNotFoundException", `function:lmi:\$LATEST.PUBLISHED`)
}

// FunctionScalingConfig is refused with 501 naming the operation, after the
// function is found.
func TestFunctionScalingConfigRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	_, err := e.client.GetFunctionScalingConfig(ctx, &awslambda.GetFunctionScalingConfigInput{FunctionName: aws.String("nope"), Qualifier: aws.String("1")})
	wantAPIError(t, err, "ResourceNotFoundException", "nope")
	if _, err := e.client.CreateFunction(ctx, lmiFunctionInput(t, "plain", types.RuntimeProvidedal2023, nil)); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutFunctionScalingConfig(ctx, &awslambda.PutFunctionScalingConfigInput{FunctionName: aws.String("plain"), Qualifier: aws.String("1"),
		FunctionScalingConfig: &types.FunctionScalingConfig{MinExecutionEnvironments: aws.Int32(3)}})
	wantAPIError(t, err, "NotImplementedException", "^PutFunctionScalingConfig ")
	_, err = e.client.GetFunctionScalingConfig(ctx, &awslambda.GetFunctionScalingConfigInput{FunctionName: aws.String("plain"), Qualifier: aws.String("1")})
	wantAPIError(t, err, "NotImplementedException", "^GetFunctionScalingConfig ")
}
