package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func (s *instance) sluiceDeploy(dir string, args ...string) (string, error) {
	return s.sluiceDeployAs(awsEnv(), dir, args...)
}

func (s *instance) sluiceDeployAs(env []string, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, append([]string{"deploy", "--endpoint-url", s.URL}, args...)...)
	cmd.Env = env
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var apiLine = regexp.MustCompile(`ServerlessHttpApi \(([a-z0-9]+)\) http://`)

// `sluice deploy` zips the local CodeUri folder, uploads it, creates the stack and
// prints its events, outputs and API URL; a redeploy changes nothing; a changed
// handler file gives new code behind the same API; --delete removes it all.
func TestCloudFormationSluiceDeploy(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "cloudformation", "deploy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	writeHandler(t, dir, "v1")

	out, err := s.sluiceDeploy(dir, "--stack-name", "app", "--parameter-overrides", "Greeting=hey")
	if err != nil || !strings.Contains(out, "Stack app is CREATE_COMPLETE") || !strings.Contains(out, "Uploaded ./src") ||
		!strings.Contains(out, "CREATE_COMPLETE                      Hello ") {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	m := apiLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "ApiId = "+m[1]) {
		t.Fatalf("deploy printed no API URL / outputs:\n%s", out)
	}
	apiID := m[1]
	if r := s.awaitStatus(t, 200, "GET", apiID, "/x", ""); string(r.Body) != `{"v1":"hey"}` {
		t.Fatalf("after deploy: %d %s", r.Status, r.Body)
	}

	out, err = s.sluiceDeploy(dir, "--stack-name", "app")
	if err != nil || !strings.Contains(out, "No changes to deploy. Stack app is up to date") || strings.Contains(out, "Uploaded") {
		t.Fatalf("redeploy: %v\n%s", err, out)
	}

	writeHandler(t, dir, "v2")
	out, err = s.sluiceDeploy(dir, "--stack-name", "app")
	if err != nil || !strings.Contains(out, "Stack app is UPDATE_COMPLETE") || !strings.Contains(out, "("+apiID+")") {
		t.Fatalf("deploy after a handler change: %v\n%s", err, out)
	}
	// Greeting kept its value (UsePreviousValue), the code is new.
	if r := s.awaitStatus(t, 200, "GET", apiID, "/x", ""); string(r.Body) != `{"v2":"hey"}` {
		t.Fatalf("after update: %d %s", r.Status, r.Body)
	}

	out, err = s.sluiceDeploy(dir, "--stack-name", "app", "--delete")
	if err != nil || !strings.Contains(out, "Stack app deleted") || !strings.Contains(out, "DELETE_COMPLETE") {
		t.Fatalf("deploy --delete: %v\n%s", err, out)
	}
	if fns, _ := s.awsJSON("lambda", "list-functions")["Functions"].([]any); len(fns) != 0 {
		t.Fatalf("functions left after --delete: %v", fns)
	}

	// A template error names the resource and property at fault.
	bad := strings.Replace(string(tmpl), "Runtime: nodejs22.x", "Runtime: nodejs22.x\n      DeploymentPreference: {Type: AllAtOnce}", 1)
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = s.sluiceDeploy(dir, "--stack-name", "bad", "-t", "bad.yaml")
	if err == nil || !strings.Contains(out, "Resource with id [Hello] is invalid. Sluice's SAM transform does not implement property 'DeploymentPreference' yet.") {
		t.Fatalf("deploy of a bad template: %v\n%s", err, out)
	}

	// A first create that fails rolls back to ROLLBACK_COMPLETE; the next deploy
	// says to delete the stack rather than CloudFormation's bare refusal, and
	// --delete clears the way.
	failing := "Resources:\n  Perm:\n    Type: AWS::Lambda::Permission\n    Properties:\n      FunctionName: no-such-function\n" +
		"      Action: lambda:InvokeFunction\n      Principal: apigateway.amazonaws.com\n"
	if err := os.WriteFile(filepath.Join(dir, "failing.yaml"), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := s.sluiceDeploy(dir, "--stack-name", "failing", "-t", "failing.yaml"); err == nil || !strings.Contains(out, "ROLLBACK_COMPLETE") {
		t.Fatalf("deploy of a failing create: %v\n%s", err, out)
	}
	out, err = s.sluiceDeploy(dir, "--stack-name", "failing", "-t", "failing.yaml")
	if err == nil || !strings.Contains(out, "stack failing is in ROLLBACK_COMPLETE state") ||
		!strings.Contains(out, "sluice deploy --stack-name failing --delete") {
		t.Fatalf("deploy onto ROLLBACK_COMPLETE: %v\n%s", err, out)
	}
	if out, err := s.sluiceDeploy(dir, "--stack-name", "failing", "--delete"); err != nil || !strings.Contains(out, "Stack failing deleted") {
		t.Fatalf("deploy --delete of the rolled-back stack: %v\n%s", err, out)
	}
}

// In verify mode CloudFormation's own calls are signed with the root key and
// pass the same verification as any client's; a wrong secret is refused before
// CloudFormation sees the request.
func TestCloudFormationVerifyMode(t *testing.T) {
	s := startSluice(t, startOpts{args: []string{"--auth-mode", "verify"}, env: rootEnv()})
	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "cloudformation", "deploy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	writeHandler(t, dir, "v1")
	root := append(awsEnv(), "AWS_ACCESS_KEY_ID="+rootKeyID, "AWS_SECRET_ACCESS_KEY="+rootSecret)
	out, err := s.sluiceDeployAs(root, dir, "--stack-name", "app")
	if err != nil || !strings.Contains(out, "Stack app is CREATE_COMPLETE") {
		t.Fatalf("deploy in verify mode: %v\n%s", err, out)
	}
	m := apiLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no API URL:\n%s", out)
	}
	if r := s.awaitStatus(t, 200, "GET", m[1], "/x", ""); string(r.Body) != `{"v1":"hi"}` {
		t.Fatalf("GET: %d %s", r.Status, r.Body)
	}
	_, stderr, err := s.awsAs(rootKeyID, "wrong-secret", "cloudformation", "describe-stacks")
	if err == nil || !strings.Contains(stderr, "(SignatureDoesNotMatch) when calling the DescribeStacks operation: The request signature we calculated") {
		t.Fatalf("wrong secret: %v %s", err, stderr)
	}
	_, stderr, err = s.awsAs("AKIDUNKNOWN", "x", "cloudformation", "describe-stacks")
	if err == nil || !strings.Contains(stderr, "(InvalidClientTokenId)") {
		t.Fatalf("unknown key: %v %s", err, stderr)
	}
}

// AutoPublishAlias: each deploy with new code publishes a version and moves the
// alias, and the API invokes the alias.
func TestCloudFormationAutoPublishAlias(t *testing.T) {
	s := startSluice(t, startOpts{})
	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "cloudformation", "deploy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	withAlias := strings.Replace(string(tmpl), "Runtime: nodejs22.x", "Runtime: nodejs22.x\n      AutoPublishAlias: live", 1)
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(withAlias), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{"v1", "v2"} {
		writeHandler(t, dir, v)
		out, err := s.sluiceDeploy(dir, "--stack-name", "aliased")
		if err != nil || !strings.Contains(out, "Stack aliased is") || !strings.Contains(out, "HelloAliaslive") {
			t.Fatalf("deploy %s: %v\n%s", v, err, out)
		}
		m := apiLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no API URL:\n%s", out)
		}
		if r := s.awaitStatus(t, 200, "GET", m[1], "/x", ""); string(r.Body) != `{"`+v+`":"hi"}` {
			t.Fatalf("deploy %s: GET = %d %s", v, r.Status, r.Body)
		}
		res, _ := s.awsJSON("cloudformation", "describe-stack-resources", "--stack-name", "aliased", "--logical-resource-id", "Hello")["StackResources"].([]any)
		fn := str(res[0].(map[string]any)["PhysicalResourceId"])
		alias := s.awsJSON("lambda", "get-alias", "--function-name", fn, "--name", "live")
		if alias["FunctionVersion"] != fmt.Sprint(i+1) {
			t.Fatalf("deploy %s: alias = %v", v, alias)
		}
	}
}
