package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// crashSlowFunctions is how many functions the crash tests' templates create one
// after another: enough that the stack is still in progress when the test has
// seen the first few complete and kills the node.
const crashSlowFunctions = 60

// crashTemplate is a template of a function Fn answering version, and, with
// slow, crashSlowFunctions more functions created after it.
func crashTemplate(version string, slow bool) string {
	fn := func(body string) map[string]any {
		return map[string]any{"Runtime": "nodejs22.x", "Handler": "index.handler", "Role": "arn:aws:iam::123456789012:role/r",
			"Code": map[string]any{"ZipFile": "exports.handler = async () => " + body + ";\n"}}
	}
	res := map[string]any{"Fn": map[string]any{"Type": "AWS::Lambda::Function", "Properties": fn(`"` + version + `"`)}}
	if slow {
		for i := range crashSlowFunctions {
			res[fmt.Sprintf("Slow%02d", i)] = map[string]any{"Type": "AWS::Lambda::Function", "DependsOn": "Fn",
				"Properties": fn(fmt.Sprintf("%d", i))}
		}
	}
	b, _ := json.Marshal(map[string]any{"Resources": res})
	return string(b)
}

// killWhen polls the stack's resources and kills sluice -9 once done says the
// operation is far enough along; it fails the test if the stack finished first.
func killWhen(t *testing.T, s *instance, stack string, done func(map[string]cfntypes.ResourceStatus) bool) {
	t.Helper()
	cf := cloudformation.NewFromConfig(s.sdkConfig())
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stack)})
		if err != nil {
			t.Fatalf("describe-stack-resources: %v", err)
		}
		status := map[string]cfntypes.ResourceStatus{}
		for _, r := range out.StackResources {
			status[aws.ToString(r.LogicalResourceId)] = r.ResourceStatus
		}
		if done(status) {
			s.kill9()
			t.Logf("killed with %d of %d resources complete", completeCount(status, cfntypes.ResourceStatusCreateComplete)+
				completeCount(status, cfntypes.ResourceStatusUpdateComplete), len(status))
			// The stack must still have been in progress: otherwise nothing was
			// interrupted and the test proves nothing.
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("stack %s never reached the point to kill at", stack)
}

// settledStack polls until the stack (a name, or an id) is no longer
// *_IN_PROGRESS and returns it.
func settledStack(t *testing.T, s *instance, stack string) cfntypes.Stack {
	t.Helper()
	cf := cloudformation.NewFromConfig(s.sdkConfig())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := cf.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		if err != nil {
			t.Fatalf("describe-stacks: %v", err)
		}
		st := out.Stacks[0]
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack %s still %s after 2 minutes", stack, st.StackStatus)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stackEventReasons lists the stack's events, oldest first, as "logical status reason".
func stackEventReasons(t *testing.T, s *instance, stack string) []string {
	t.Helper()
	evs, _ := s.awsJSON("cloudformation", "describe-stack-events", "--stack-name", stack)["StackEvents"].([]any)
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		m := evs[i].(map[string]any)
		out = append(out, strings.TrimSpace(str(m["LogicalResourceId"])+" "+str(m["ResourceStatus"])+" "+str(m["ResourceStatusReason"])))
	}
	return out
}

func hasEvent(events []string, prefix, contains string) bool {
	for _, e := range events {
		if strings.HasPrefix(e, prefix) && strings.Contains(e, contains) {
			return true
		}
	}
	return false
}

func functionNames(t *testing.T, s *instance) []string {
	t.Helper()
	pages := lambda.NewListFunctionsPaginator(lambda.NewFromConfig(s.sdkConfig()), &lambda.ListFunctionsInput{})
	var names []string
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list-functions: %v", err)
		}
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	return names
}

func completeCount(status map[string]cfntypes.ResourceStatus, want cfntypes.ResourceStatus) int {
	n := 0
	for _, st := range status {
		if st == want {
			n++
		}
	}
	return n
}

// A node killed -9 while it creates a stack rolls the create back when it
// starts again: ROLLBACK_COMPLETE, the reason naming the interruption, every
// function it had made deleted. The stack is then deleted and created again, as
// CloudFormation requires of a ROLLBACK_COMPLETE stack.
func TestCloudFormationCrashDuringCreate(t *testing.T) {
	s := startSluice(t, startOpts{})
	tmpl := crashTemplate("v1", true)
	// Through the SDK, not the CLI: polling starts as soon as the call returns.
	cf := cloudformation.NewFromConfig(s.sdkConfig())
	if _, err := cf.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("crashy"),
		TemplateBody: aws.String(tmpl)}); err != nil {
		t.Fatal(err)
	}
	killWhen(t, s, "crashy", func(st map[string]cfntypes.ResourceStatus) bool {
		if completeCount(st, cfntypes.ResourceStatusCreateComplete) == len(st) && len(st) == crashSlowFunctions+1 {
			t.Fatal("the stack was created before the kill")
		}
		return completeCount(st, cfntypes.ResourceStatusCreateComplete) >= 3
	})
	s.start()

	st := settledStack(t, s, "crashy")
	events := stackEventReasons(t, s, "crashy")
	if st.StackStatus != cfntypes.StackStatusRollbackComplete {
		t.Fatalf("status %s, events:\n%s", st.StackStatus, strings.Join(events, "\n"))
	}
	if !hasEvent(events, "crashy ROLLBACK_IN_PROGRESS", "Stack operation interrupted: Sluice node ") {
		t.Fatalf("no ROLLBACK_IN_PROGRESS naming the interruption:\n%s", strings.Join(events, "\n"))
	}
	if names := functionNames(t, s); len(names) != 0 {
		t.Fatalf("functions left after the rollback: %v", names)
	}
	// An update of a ROLLBACK_COMPLETE stack is refused, as on AWS; delete and
	// create again.
	if _, stderr, err := s.awsRaw("cloudformation", "update-stack", "--stack-name", "crashy", "--template-body", tmpl); err == nil ||
		!strings.Contains(stderr, "is in ROLLBACK_COMPLETE state and can not be updated") {
		t.Fatalf("update of a ROLLBACK_COMPLETE stack: %v %s", err, stderr)
	}
	// Polled by stack id, which still answers once the stack is deleted (the
	// CLI's waiters poll every 30 seconds).
	s.aws("cloudformation", "delete-stack", "--stack-name", "crashy")
	if st := settledStack(t, s, aws.ToString(st.StackId)); st.StackStatus != cfntypes.StackStatusDeleteComplete {
		t.Fatalf("delete: %s", st.StackStatus)
	}
	s.aws("cloudformation", "create-stack", "--stack-name", "crashy", "--template-body", tmpl)
	if st := settledStack(t, s, "crashy"); st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("create again: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if names := functionNames(t, s); len(names) != crashSlowFunctions+1 {
		t.Fatalf("%d functions after the new create, want %d", len(names), crashSlowFunctions+1)
	}
}

// invokeFn invokes the stack's function Fn and returns its answer.
func invokeFn(t *testing.T, s *instance, stack string) string {
	t.Helper()
	res := s.awsJSON("cloudformation", "describe-stack-resource", "--stack-name", stack, "--logical-resource-id", "Fn")
	name := str(res["StackResourceDetail"].(map[string]any)["PhysicalResourceId"])
	out, err := lambda.NewFromConfig(s.sdkConfig()).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("invoke %s: %s %s", name, aws.ToString(out.FunctionError), out.Payload)
	}
	return string(out.Payload)
}

// A node killed -9 while it updates a stack rolls the update back when it
// starts again: UPDATE_ROLLBACK_COMPLETE, the function updated back to the old
// code (it answers v1 again), the functions the update added deleted, the old
// template kept; a later update goes through.
func TestCloudFormationCrashDuringUpdate(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.aws("cloudformation", "create-stack", "--stack-name", "crashy", "--template-body", crashTemplate("v1", false))
	if st := settledStack(t, s, "crashy"); st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("create: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if got := invokeFn(t, s, "crashy"); got != `"v1"` {
		t.Fatalf("v1 answers %s", got)
	}

	cf := cloudformation.NewFromConfig(s.sdkConfig())
	if _, err := cf.UpdateStack(context.Background(), &cloudformation.UpdateStackInput{StackName: aws.String("crashy"),
		TemplateBody: aws.String(crashTemplate("v2", true))}); err != nil {
		t.Fatal(err)
	}
	killWhen(t, s, "crashy", func(st map[string]cfntypes.ResourceStatus) bool {
		if st["Fn"] == cfntypes.ResourceStatusUpdateComplete && completeCount(st, cfntypes.ResourceStatusCreateComplete) == crashSlowFunctions {
			t.Fatal("the stack was updated before the kill")
		}
		return st["Fn"] == cfntypes.ResourceStatusUpdateComplete && completeCount(st, cfntypes.ResourceStatusCreateComplete) >= 2
	})
	s.start()

	st := settledStack(t, s, "crashy")
	events := stackEventReasons(t, s, "crashy")
	if st.StackStatus != cfntypes.StackStatusUpdateRollbackComplete {
		t.Fatalf("status %s, events:\n%s", st.StackStatus, strings.Join(events, "\n"))
	}
	if !hasEvent(events, "crashy UPDATE_ROLLBACK_IN_PROGRESS", "Stack operation interrupted: Sluice node ") {
		t.Fatalf("no UPDATE_ROLLBACK_IN_PROGRESS naming the interruption:\n%s", strings.Join(events, "\n"))
	}
	if got := invokeFn(t, s, "crashy"); got != `"v1"` {
		t.Fatalf("after the rollback the function answers %s, want the old version", got)
	}
	if names := functionNames(t, s); len(names) != 1 {
		t.Fatalf("functions after the rollback: %v, want Fn alone", names)
	}
	tmpl := s.awsJSON("cloudformation", "get-template", "--stack-name", "crashy")
	if body, _ := json.Marshal(tmpl["TemplateBody"]); strings.Contains(string(body), "v2") || strings.Contains(string(body), "Slow00") {
		t.Fatalf("template after the rollback: %s", body)
	}

	s.aws("cloudformation", "update-stack", "--stack-name", "crashy", "--template-body", crashTemplate("v2", false))
	if st := settledStack(t, s, "crashy"); st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update again: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if got := invokeFn(t, s, "crashy"); got != `"v2"` {
		t.Fatalf("after a new update the function answers %s", got)
	}
}
