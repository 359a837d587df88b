package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"gopkg.in/yaml.v3"
)

// StackAPI is what deploy needs of CloudFormation.
type StackAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	ListStackResources(ctx context.Context, in *cloudformation.ListStackResourcesInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
	DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
}

// HTTPAPIs is what deploy needs of API Gateway V2 (the URLs it prints).
type HTTPAPIs interface {
	GetApi(ctx context.Context, in *apigatewayv2.GetApiInput, optFns ...func(*apigatewayv2.Options)) (*apigatewayv2.GetApiOutput, error)
}

// RestAPIs is what deploy needs of API Gateway (REST APIs' stages, for their URLs).
type RestAPIs interface {
	GetStages(ctx context.Context, in *apigateway.GetStagesInput, optFns ...func(*apigateway.Options)) (*apigateway.GetStagesOutput, error)
}

// Options say what to deploy.
type Options struct {
	Template   string            // path of template.yaml
	StackName  string            //
	Parameters map[string]string // --parameter-overrides
	Bucket     string            // where code zips go
	// Capabilities granted to the change set; default CAPABILITY_IAM,
	// CAPABILITY_NAMED_IAM and CAPABILITY_AUTO_EXPAND.
	Capabilities []string
	Poll         time.Duration // default 500ms
}

// Clients are the SDK clients deploy calls.
type Clients struct {
	Stacks  StackAPI
	Objects ObjectAPI
	APIs    HTTPAPIs
	// RestAPIs and Endpoint (Sluice's URL) give each REST API stage's URL, in
	// the path form every client reaches: {Endpoint}/restapis/{id}/{stage}/_user_request_/.
	RestAPIs RestAPIs
	Endpoint string
}

// maxTemplateBody is CloudFormation's TemplateBody limit; larger templates go
// through S3 (TemplateURL).
const maxTemplateBody = 51200

// ErrFailed is returned when the stack operation ended in a failed or rolled-back
// status (the events say why).
var ErrFailed = errors.New("stack operation failed")

// Deploy packages the template's code, then creates or updates the stack with a
// change set, printing events, outputs and HTTP API URLs to w. A template that
// changes nothing changes nothing and succeeds.
func Deploy(ctx context.Context, c Clients, o Options, w io.Writer) error {
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if len(o.Capabilities) == 0 {
		o.Capabilities = []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}
	}
	body, err := os.ReadFile(o.Template)
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	pk, err := packageTemplate(ctx, c.Objects, body, filepath.Dir(o.Template), o.Bucket, o.StackName+"/", logf)
	if err != nil {
		return err
	}
	stack, err := describe(ctx, c.Stacks, o.StackName)
	if err != nil {
		return err
	}
	if stack != nil && stack.StackStatus == types.StackStatusRollbackComplete {
		// CloudFormation updates no stack whose first create was rolled back
		// ("... is in ROLLBACK_COMPLETE state and can not be updated."): say what to do.
		return fmt.Errorf("stack %s is in ROLLBACK_COMPLETE state (its first create failed and was rolled back; "+
			"its events say why) and can not be updated: delete it with `sluice deploy --stack-name %s --delete`, then deploy again",
			o.StackName, o.StackName)
	}
	csType := types.ChangeSetTypeUpdate
	if stack == nil || stack.StackStatus == types.StackStatusReviewInProgress {
		csType = types.ChangeSetTypeCreate
	}
	in := &cloudformation.CreateChangeSetInput{
		StackName:     aws.String(o.StackName),
		ChangeSetName: aws.String(fmt.Sprintf("sluice-deploy-%d", time.Now().UnixNano())),
		ChangeSetType: csType,
		Capabilities:  capabilities(o.Capabilities),
		Description:   aws.String("Created by sluice deploy"),
		Parameters:    parameters(body, o.Parameters, stack),
	}
	if len(pk.body) > maxTemplateBody {
		key := o.StackName + "/template-" + fmt.Sprint(time.Now().UnixNano()) + ".yaml"
		if _, err := upload(ctx, c.Objects, o.Bucket, key, pk.body); err != nil {
			return fmt.Errorf("upload template: %w", err)
		}
		in.TemplateURL = aws.String("https://s3.amazonaws.com/" + o.Bucket + "/" + key)
	} else {
		in.TemplateBody = aws.String(string(pk.body))
	}
	cs, err := c.Stacks.CreateChangeSet(ctx, in)
	if err != nil {
		return apiError(err)
	}
	logf("Waiting for change set %s to be created...\n", aws.ToString(in.ChangeSetName))
	desc, err := waitChangeSet(ctx, c.Stacks, cs.Id, o.Poll)
	if err != nil {
		return err
	}
	if desc.Status == types.ChangeSetStatusFailed {
		reason := aws.ToString(desc.StatusReason)
		if strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed") {
			_, _ = c.Stacks.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: cs.Id})
			logf("No changes to deploy. Stack %s is up to date\n", o.StackName)
			return printResult(ctx, c, o.StackName, w)
		}
		return fmt.Errorf("change set failed: %s", reason)
	}
	for _, ch := range desc.Changes {
		rc := ch.ResourceChange
		if rc == nil {
			continue
		}
		extra := ""
		if rc.Replacement == types.ReplacementTrue {
			extra = " (replacement)"
		}
		logf("  %-8s %-40s %s%s\n", rc.Action, aws.ToString(rc.LogicalResourceId), aws.ToString(rc.ResourceType), extra)
	}
	seen, err := eventIDs(ctx, c.Stacks, aws.ToString(cs.StackId))
	if err != nil {
		return err
	}
	if _, err := c.Stacks.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id}); err != nil {
		return apiError(err)
	}
	status, err := follow(ctx, c.Stacks, aws.ToString(cs.StackId), seen, o.Poll, w)
	if err != nil {
		return err
	}
	if status != types.StackStatusCreateComplete && status != types.StackStatusUpdateComplete {
		return fmt.Errorf("%w: stack %s is %s", ErrFailed, o.StackName, status)
	}
	logf("Stack %s is %s\n", o.StackName, status)
	return printResult(ctx, c, o.StackName, w)
}

// Delete deletes the stack and what it created, printing its events.
func Delete(ctx context.Context, c Clients, stackName string, poll time.Duration, w io.Writer) error {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	stack, err := describe(ctx, c.Stacks, stackName)
	if err != nil {
		return err
	}
	if stack == nil {
		fmt.Fprintf(w, "Stack %s does not exist: nothing to delete\n", stackName)
		return nil
	}
	seen, err := eventIDs(ctx, c.Stacks, aws.ToString(stack.StackId))
	if err != nil {
		return err
	}
	if _, err := c.Stacks.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: stack.StackId}); err != nil {
		return apiError(err)
	}
	status, err := follow(ctx, c.Stacks, aws.ToString(stack.StackId), seen, poll, w)
	if err != nil {
		return err
	}
	if status != types.StackStatusDeleteComplete {
		return fmt.Errorf("%w: stack %s is %s", ErrFailed, stackName, status)
	}
	fmt.Fprintf(w, "Stack %s deleted\n", stackName)
	return nil
}

func capabilities(l []string) []types.Capability {
	out := make([]types.Capability, 0, len(l))
	for _, c := range l {
		out = append(out, types.Capability(c))
	}
	return out
}

// parameters passes the overrides; on an update, the template's other parameters
// the stack already has keep their values (UsePreviousValue), as `aws
// cloudformation deploy` does.
func parameters(body []byte, overrides map[string]string, stack *types.Stack) []types.Parameter {
	var out []types.Parameter
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(overrides[k])})
	}
	if stack == nil || stack.StackStatus == types.StackStatusReviewInProgress {
		return out
	}
	var t struct {
		Parameters map[string]yaml.Node `yaml:"Parameters"`
	}
	_ = yaml.Unmarshal(body, &t)
	had := map[string]bool{}
	for _, p := range stack.Parameters {
		had[aws.ToString(p.ParameterKey)] = true
	}
	var prev []string
	for k := range t.Parameters {
		if _, ok := overrides[k]; !ok && had[k] {
			prev = append(prev, k)
		}
	}
	sort.Strings(prev)
	for _, k := range prev {
		out = append(out, types.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
	}
	return out
}

// describe returns the stack, or nil when there is none.
func describe(ctx context.Context, api StackAPI, name string) (*types.Stack, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return nil, nil
		}
		return nil, apiError(err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

func waitChangeSet(ctx context.Context, api StackAPI, id *string, poll time.Duration) (*cloudformation.DescribeChangeSetOutput, error) {
	for {
		out, err := api.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: id})
		if err != nil {
			return nil, apiError(err)
		}
		switch out.Status {
		case types.ChangeSetStatusCreateComplete, types.ChangeSetStatusFailed:
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// eventIDs are the stack's events so far: follow prints only the ones after them
// (by id, so no clock is compared with the server's).
func eventIDs(ctx context.Context, api StackAPI, stackID string) (map[string]bool, error) {
	evs, err := api.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stackID)})
	if err != nil {
		return nil, apiError(err)
	}
	seen := map[string]bool{}
	for _, e := range evs.StackEvents {
		seen[aws.ToString(e.EventId)] = true
	}
	return seen, nil
}

// follow prints the stack's events not in seen, oldest first, until the stack
// reaches a status that is not in progress, and returns that status.
func follow(ctx context.Context, api StackAPI, stackID string, seen map[string]bool, poll time.Duration, w io.Writer) (types.StackStatus, error) {
	for {
		evs, err := api.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stackID)})
		if err != nil {
			return "", apiError(err)
		}
		var last *types.StackEvent
		for i := len(evs.StackEvents) - 1; i >= 0; i-- {
			e := evs.StackEvents[i]
			if seen[aws.ToString(e.EventId)] || e.Timestamp == nil {
				continue
			}
			seen[aws.ToString(e.EventId)] = true
			reason := aws.ToString(e.ResourceStatusReason)
			if reason != "" {
				reason = "  " + reason
			}
			fmt.Fprintf(w, "%s  %-36s %-40s %s%s\n", e.Timestamp.Local().Format("15:04:05"), e.ResourceStatus,
				aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), reason)
			if aws.ToString(e.LogicalResourceId) == aws.ToString(e.StackName) && aws.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" {
				ev := e
				last = &ev
			}
		}
		if last != nil && !strings.HasSuffix(string(last.ResourceStatus), "_IN_PROGRESS") {
			return types.StackStatus(last.ResourceStatus), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(poll):
		}
	}
}

// printResult prints the stack's outputs, the URL of each of its HTTP APIs and of
// each stage of its REST APIs.
func printResult(ctx context.Context, c Clients, stackName string, w io.Writer) error {
	stack, err := describe(ctx, c.Stacks, stackName)
	if err != nil || stack == nil {
		return err
	}
	if len(stack.Outputs) > 0 {
		fmt.Fprintln(w, "Outputs:")
		for _, o := range stack.Outputs {
			fmt.Fprintf(w, "  %s = %s\n", aws.ToString(o.OutputKey), aws.ToString(o.OutputValue))
		}
	}
	res, err := c.Stacks.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: stack.StackId})
	if err != nil {
		return apiError(err)
	}
	var printed bool
	for _, r := range res.StackResourceSummaries {
		if aws.ToString(r.ResourceType) != "AWS::ApiGatewayV2::Api" || c.APIs == nil {
			continue
		}
		api, err := c.APIs.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: r.PhysicalResourceId})
		if err != nil {
			return apiError(err)
		}
		if !printed {
			fmt.Fprintln(w, "APIs:")
			printed = true
		}
		fmt.Fprintf(w, "  %s (%s) %s\n", aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId), aws.ToString(api.ApiEndpoint))
	}
	for _, r := range res.StackResourceSummaries {
		if aws.ToString(r.ResourceType) != "AWS::ApiGateway::RestApi" || c.RestAPIs == nil || c.Endpoint == "" {
			continue
		}
		stages, err := c.RestAPIs.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: r.PhysicalResourceId})
		if err != nil {
			return apiError(err)
		}
		names := make([]string, 0, len(stages.Item))
		for _, st := range stages.Item {
			names = append(names, aws.ToString(st.StageName))
		}
		sort.Strings(names)
		for _, stage := range names {
			if !printed {
				fmt.Fprintln(w, "APIs:")
				printed = true
			}
			fmt.Fprintf(w, "  %s (%s) %s/restapis/%s/%s/_user_request_/\n", aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId),
				strings.TrimSuffix(c.Endpoint, "/"), aws.ToString(r.PhysicalResourceId), stage)
		}
	}
	return nil
}

// apiError is an AWS error as the AWS CLI prints it, "Code: message".
func apiError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}
