package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runtimesScript drives today's runtime list with boto3: python3.14 and nodejs24.x
// run on the host's interpreters, java21 (no runtime client here) creates in State
// Failed and refuses invokes, and runtimes past AWS's create block or outside the
// enum are refused with AWS's messages.
const runtimesScript = `
import json, sys
import boto3, botocore
endpoint, py_zip, node_zip = sys.argv[1], sys.argv[2], sys.argv[3]
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="AKIDRUNTIMES", aws_secret_access_key="secret")
role = "arn:aws:iam::123456789012:role/lambda-role"
def code(p):
    with open(p, "rb") as f:
        return {"ZipFile": f.read()}
def err(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    return None
out = {}
py = lam.create_function(FunctionName="py314", Runtime="python3.14", Handler="app.handler", Role=role, Code=code(py_zip))
out["py_state"] = py["State"]
out["py"] = json.loads(lam.invoke(FunctionName="py314", Payload=b'{"name":"3.14"}')["Payload"].read())
node = lam.create_function(FunctionName="node24", Runtime="nodejs24.x", Handler="index.handler", Role=role, Code=code(node_zip))
out["node_state"] = node["State"]
out["node"] = json.loads(lam.invoke(FunctionName="node24", Payload=b'{"path":"/email/ping"}')["Payload"].read())
java = lam.create_function(FunctionName="java21", Runtime="java21", Handler="example.Handler::handleRequest", Role=role, Code=code(py_zip))
got = lam.get_function_configuration(FunctionName="java21")
out["java"] = {k: got.get(k) for k in ("State", "StateReasonCode", "StateReason")}
out["java_invoke"] = err(lambda: lam.invoke(FunctionName="java21", Payload=b"{}"))
out["blocked"] = err(lambda: lam.create_function(FunctionName="node20", Runtime="nodejs20.x", Handler="index.handler", Role=role, Code=code(node_zip)))
out["unknown"] = err(lambda: lam.create_function(FunctionName="j99", Runtime="java99", Handler="x", Role=role, Code=code(node_zip)))
print(json.dumps(out))
`

func TestRuntimesBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 not installed")
	}
	s := startSluice(t, startOpts{})
	cmd := exec.Command("python3", "-c", runtimesScript, s.URL, dirZip(t, "python-hello"), emailZip(t))
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	raw, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("boto3 script: %v\n%s", err, stderr)
	}
	type apiErr struct {
		Code, Message string
		Status        int
	}
	var got struct {
		PyState   string `json:"py_state"`
		Py        map[string]any
		NodeState string `json:"node_state"`
		Node      map[string]any
		Java      struct{ State, StateReasonCode, StateReason string }
		JavaInv   *apiErr `json:"java_invoke"`
		Blocked   *apiErr
		Unknown   *apiErr
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("output %q: %v", raw, err)
	}
	if got.PyState != "Active" || got.Py["hello"] != "3.14" || got.Py["function"] != "py314" {
		t.Errorf("python3.14: %s %v", got.PyState, got.Py)
	}
	if got.NodeState != "Active" || got.Node["statusCode"] != float64(200) {
		t.Errorf("nodejs24.x: %s %v", got.NodeState, got.Node)
	}
	if got.Java.State != "Failed" || got.Java.StateReasonCode != "InvalidRuntime" || !strings.Contains(got.Java.StateReason, "java21") {
		t.Errorf("java21 configuration: %+v", got.Java)
	}
	if got.JavaInv == nil || got.JavaInv.Status != 409 || got.JavaInv.Code != "ResourceConflictException" ||
		got.JavaInv.Message != "The operation cannot be performed at this time. The function is currently in the following state: Failed" {
		t.Errorf("invoke java21: %+v", got.JavaInv)
	}
	if got.Blocked == nil || got.Blocked.Code != "InvalidParameterValueException" || got.Blocked.Message !=
		"The runtime parameter of nodejs20.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions." {
		t.Errorf("create nodejs20.x: %+v", got.Blocked)
	}
	if got.Unknown == nil || got.Unknown.Code != "InvalidParameterValueException" ||
		!strings.HasPrefix(got.Unknown.Message, "Value java99 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [") ||
		!strings.Contains(got.Unknown.Message, "python3.14") || !strings.HasSuffix(got.Unknown.Message, "] or be a valid ARN") {
		t.Errorf("create java99: %+v", got.Unknown)
	}
}
