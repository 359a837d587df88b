package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const helloJS = `exports.handler = async (event) => ({
  statusCode: 200,
  headers: {"content-type": "application/json"},
  body: JSON.stringify({greeting: process.env.GREETING, stage: process.env.STAGE, name: event.pathParameters && event.pathParameters.name}),
});
`

// uploadCode zips files and puts the zip at s3://bucket/key with the AWS CLI.
func (s *instance) uploadCode(t *testing.T, bucket, key string, files map[string]string) {
	t.Helper()
	entries := map[string]zipEntry{}
	for name, body := range files {
		entries[name] = zipEntry{data: []byte(body), mode: 0o644}
	}
	zip := filepath.Join(t.TempDir(), "code.zip")
	if err := os.WriteFile(zip, zipBytes(t, entries), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.awsRaw("s3api", "head-bucket", "--bucket", bucket); err != nil {
		s.aws("s3api", "create-bucket", "--bucket", bucket)
	}
	s.aws("s3", "cp", zip, "s3://"+bucket+"/"+key)
}

func stackOutputs(st map[string]any) map[string]string {
	out := map[string]string{}
	outs, _ := st["Outputs"].([]any)
	for _, o := range outs {
		m, _ := o.(map[string]any)
		out[str(m["OutputKey"])] = str(m["OutputValue"])
	}
	return out
}

// waitStack runs `aws cloudformation wait <waiter>` and, when it fails, fails the
// test with the stack's events.
func (s *instance) waitStack(t *testing.T, waiter, name string) {
	t.Helper()
	if _, stderr, err := s.awsRaw("cloudformation", "wait", waiter, "--stack-name", name); err != nil {
		out, _, _ := s.awsRaw("cloudformation", "describe-stack-events", "--stack-name", name, "--output", "text",
			"--query", "StackEvents[].[LogicalResourceId,ResourceStatus,ResourceStatusReason]")
		t.Fatalf("wait %s %s: %v %s\nevents:\n%s", waiter, name, err, stderr, out)
	}
}

func (s *instance) describeStack(t *testing.T, name string) map[string]any {
	t.Helper()
	stacks, _ := s.awsJSON("cloudformation", "describe-stacks", "--stack-name", name)["Stacks"].([]any)
	if len(stacks) != 1 {
		t.Fatalf("describe-stacks %s = %v", name, stacks)
	}
	return stacks[0].(map[string]any)
}

// A SAM template with a function behind an HTTP API deploys with
// create-stack + wait, serves, and is deleted with everything it created.
func TestCloudFormationSAMHTTPAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.uploadCode(t, "code", "hello.zip", map[string]string{"index.js": helloJS})
	tmpl := "file://" + filepath.Join("testdata", "cloudformation", "sam-httpapi.yaml")

	// Without the capabilities the transform and the generated role need,
	// CreateStack is refused as on AWS.
	_, stderr, err := s.awsRaw("cloudformation", "create-stack", "--stack-name", "hello-app", "--template-body", tmpl)
	if err == nil || !strings.Contains(stderr, "InsufficientCapabilitiesException") ||
		!strings.Contains(stderr, "Requires capabilities : [CAPABILITY_AUTO_EXPAND, CAPABILITY_IAM]") {
		t.Fatalf("create-stack without capabilities: err=%v stderr=%s", err, stderr)
	}
	created := s.awsJSON("cloudformation", "create-stack", "--stack-name", "hello-app", "--template-body", tmpl,
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--parameters", "ParameterKey=Greeting,ParameterValue=hello")
	stackID := str(created["StackId"])
	if !strings.HasPrefix(stackID, "arn:aws:cloudformation:us-east-1:123456789012:stack/hello-app/") {
		t.Fatalf("StackId = %q", stackID)
	}
	_, stderr, err = s.awsRaw("cloudformation", "create-stack", "--stack-name", "hello-app", "--template-body", tmpl,
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
	if err == nil || !strings.Contains(stderr, "AlreadyExistsException") || !strings.Contains(stderr, "Stack [hello-app] already exists") {
		t.Fatalf("second create-stack: err=%v stderr=%s", err, stderr)
	}
	s.waitStack(t, "stack-create-complete", "hello-app")
	st := s.describeStack(t, "hello-app")
	if st["StackStatus"] != "CREATE_COMPLETE" || st["StackId"] != stackID {
		t.Fatalf("stack = %v", st)
	}
	outs := stackOutputs(st)
	apiID := outs["ApiId"]
	if apiID == "" || !strings.HasPrefix(outs["ApiUrl"], "http://"+apiID+".execute-api.") || outs["Names"] != "hello,us-east-1" ||
		!strings.HasPrefix(outs["FunctionArn"], "arn:aws:lambda:us-east-1:123456789012:function:hello-app-Hello-") {
		t.Fatalf("outputs = %v", outs)
	}

	r := s.awaitStatus(t, 200, "GET", apiID, "/hello/world", "")
	if got := r.JSON(t); got["greeting"] != "hello" || got["stage"] != "dev" || got["name"] != "world" {
		t.Fatalf("GET /hello/world = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "POST", apiID, "/hello/world", ""); r.Status != 404 {
		t.Fatalf("POST (no route) = %d %s", r.Status, r.Body)
	}

	// The resources SAM generates, under SAM's logical ids.
	res, _ := s.awsJSON("cloudformation", "list-stack-resources", "--stack-name", "hello-app")["StackResourceSummaries"].([]any)
	types := map[string]string{}
	physical := map[string]string{}
	for _, x := range res {
		m := x.(map[string]any)
		types[str(m["LogicalResourceId"])] = str(m["ResourceType"])
		physical[str(m["LogicalResourceId"])] = str(m["PhysicalResourceId"])
		if m["ResourceStatus"] != "CREATE_COMPLETE" {
			t.Fatalf("resource %v", m)
		}
	}
	want := map[string]string{"Hello": "AWS::Lambda::Function", "HelloRole": "AWS::IAM::Role", "HelloGetPermission": "AWS::Lambda::Permission",
		"ServerlessHttpApi": "AWS::ApiGatewayV2::Api", "ServerlessHttpApiApiGatewayDefaultStage": "AWS::ApiGatewayV2::Stage",
		"Inline": "AWS::Lambda::Function"}
	for k, v := range want {
		if types[k] != v {
			t.Fatalf("resources = %v, want %s: %s", types, k, v)
		}
	}
	if physical["ServerlessHttpApi"] != apiID {
		t.Fatalf("ServerlessHttpApi physical id %q, ApiId output %q", physical["ServerlessHttpApi"], apiID)
	}
	cfg := s.awsJSON("lambda", "get-function-configuration", "--function-name", physical["Hello"])
	if cfg["MemorySize"] != float64(128) || cfg["Timeout"] != float64(10) || cfg["Runtime"] != "nodejs22.x" ||
		!strings.Contains(str(cfg["Role"]), ":role/hello-app-HelloRole-") {
		t.Fatalf("function configuration = %v", cfg)
	}
	inline, _ := s.invokeCLI(physical["Inline"], "{}")
	if inline["StatusCode"] != float64(200) {
		t.Fatalf("invoke inline = %v", inline)
	}
	evs, _ := s.awsJSON("cloudformation", "describe-stack-events", "--stack-name", "hello-app")["StackEvents"].([]any)
	if len(evs) == 0 || evs[0].(map[string]any)["ResourceStatus"] != "CREATE_COMPLETE" ||
		evs[len(evs)-1].(map[string]any)["ResourceStatusReason"] != "User Initiated" {
		t.Fatalf("events = %v", evs)
	}
	tmplOut := s.awsJSON("cloudformation", "get-template", "--stack-name", "hello-app", "--template-stage", "Processed")
	if body, _ := tmplOut["TemplateBody"].(map[string]any); body == nil || body["Resources"].(map[string]any)["HelloRole"] == nil {
		t.Fatalf("processed template = %v", tmplOut)
	}

	s.aws("cloudformation", "delete-stack", "--stack-name", "hello-app")
	s.waitStack(t, "stack-delete-complete", "hello-app")
	if fns, _ := s.awsJSON("lambda", "list-functions")["Functions"].([]any); len(fns) != 0 {
		t.Fatalf("functions left after delete: %v", fns)
	}
	if apis, _ := s.awsJSON("apigatewayv2", "get-apis")["Items"].([]any); len(apis) != 0 {
		t.Fatalf("APIs left after delete: %v", apis)
	}
	_, stderr, err = s.awsRaw("cloudformation", "describe-stacks", "--stack-name", "hello-app")
	if err == nil || !strings.Contains(stderr, "ValidationError") || !strings.Contains(stderr, "Stack with id hello-app does not exist") {
		t.Fatalf("describe-stacks after delete: err=%v stderr=%s", err, stderr)
	}
	if st := s.describeStack(t, stackID); st["StackStatus"] != "DELETE_COMPLETE" {
		t.Fatalf("describe by id after delete = %v", st)
	}
}

// A resource that fails rolls the stack back: what was created is deleted and the
// failed resource's reason is the service's own error.
func TestCloudFormationRollback(t *testing.T) {
	s := startSluice(t, startOpts{})
	tmpl := `{
  "Resources": {
    "Bucket": {"Type": "AWS::S3::Bucket"},
    "Fn": {"Type": "AWS::Lambda::Function", "DependsOn": "Bucket", "Properties": {
      "Runtime": "nodejs22.x", "Handler": "index.handler", "Role": "arn:aws:iam::123456789012:role/r",
      "Code": {"S3Bucket": {"Ref": "Bucket"}, "S3Key": "missing.zip"}}}
  }
}`
	s.aws("cloudformation", "create-stack", "--stack-name", "broken", "--template-body", tmpl)
	_, _, err := s.awsRaw("cloudformation", "wait", "stack-create-complete", "--stack-name", "broken")
	if err == nil {
		t.Fatal("wait stack-create-complete succeeded for a failing stack")
	}
	st := s.describeStack(t, "broken")
	if st["StackStatus"] != "ROLLBACK_COMPLETE" ||
		st["StackStatusReason"] != nil && !strings.Contains(str(st["StackStatusReason"]), "") {
		t.Fatalf("stack = %v", st)
	}
	evs, _ := s.awsJSON("cloudformation", "describe-stack-events", "--stack-name", "broken")["StackEvents"].([]any)
	var failed, rollback string
	for _, x := range evs {
		m := x.(map[string]any)
		if m["LogicalResourceId"] == "Fn" && m["ResourceStatus"] == "CREATE_FAILED" {
			failed = str(m["ResourceStatusReason"])
		}
		if m["LogicalResourceId"] == "broken" && m["ResourceStatus"] == "ROLLBACK_IN_PROGRESS" {
			rollback = str(m["ResourceStatusReason"])
		}
	}
	if !strings.Contains(failed, "Resource handler returned message:") || !strings.Contains(failed, "Service: Lambda, Status Code: 400") {
		t.Fatalf("CREATE_FAILED reason = %q", failed)
	}
	if rollback != "The following resource(s) failed to create: [Fn]. Rollback requested by user." {
		t.Fatalf("ROLLBACK_IN_PROGRESS reason = %q", rollback)
	}
	if b, _ := s.awsJSON("s3api", "list-buckets")["Buckets"].([]any); len(b) != 0 {
		t.Fatalf("buckets left after rollback: %v", b)
	}

	// Unsupported resource types fail validation, naming each one.
	_, stderr, err := s.awsRaw("cloudformation", "create-stack", "--stack-name", "other", "--template-body",
		`{"Resources":{"T":{"Type":"AWS::DynamoDB::Table"},"Q":{"Type":"AWS::SQS::Queue"},"B":{"Type":"AWS::S3::Bucket"}}}`)
	if err == nil || !strings.Contains(stderr, "ValidationError") ||
		!strings.Contains(stderr, "Template format error: Unrecognized resource types: [AWS::DynamoDB::Table, AWS::SQS::Queue]") {
		t.Fatalf("unsupported types: err=%v stderr=%s", err, stderr)
	}
	_, stderr, err = s.awsRaw("cloudformation", "validate-template", "--template-body",
		`{"Resources":{"B":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":{"Ref":"Nope"}}}}}`)
	if err == nil || !strings.Contains(stderr, "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template") {
		t.Fatalf("validate-template: err=%v stderr=%s", err, stderr)
	}
}
