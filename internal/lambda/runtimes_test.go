package lambda

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

func TestCheckRuntime(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t.Add(12 * time.Hour) }
	blocked := "The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
	for _, tt := range []struct {
		runtime string
		op      runtimeOp
		now     string
		want    string // "" ok, "enum", or the blocked message's runtime
	}{
		{"python3.14", forCreate, "2026-12-02", ""},
		{"nodejs24.x", forCreate, "2026-12-02", ""},
		{"provided.al2023", forCreate, "2026-12-02", ""},
		{"ruby3.4", forCreate, "2026-12-02", ""},
		{"java25", forCreate, "2026-12-02", ""},
		// nodejs20.x: create blocked from 2026-08-31, update from 2026-09-30.
		{"nodejs20.x", forCreate, "2026-08-30", ""},
		{"nodejs20.x", forCreate, "2026-08-31", "nodejs20.x"},
		{"nodejs20.x", forUpdate, "2026-09-29", ""},
		{"nodejs20.x", forUpdate, "2026-09-30", "nodejs20.x"},
		// python3.10: create blocked 2026-11-30, updates allowed until 2027-01-15.
		{"python3.10", forCreate, "2026-12-02", "python3.10"},
		{"python3.10", forUpdate, "2026-12-02", ""},
		{"nodejs12.x", forCreate, "2026-12-02", "nodejs12.x"},
		{"go1.x", forUpdate, "2026-12-02", "go1.x"},
		{"java99", forCreate, "2026-12-02", "enum"},
		{"", forCreate, "2026-12-02", "enum"},
	} {
		err := checkRuntime(tt.runtime, tt.op, day(tt.now))
		var msg string
		var aerr *awsproto.Error
		if errors.As(err, &aerr) {
			msg = aerr.Message
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkRuntime(%q, %v, %s) = %v, want nil", tt.runtime, tt.op, tt.now, err)
		case tt.want == "enum":
			if !strings.HasPrefix(msg, "Value "+tt.runtime+" at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [") ||
				!strings.HasSuffix(msg, "] or be a valid ARN") || strings.Contains(msg, "nodejs20.x") || !strings.Contains(msg, "python3.14") {
				t.Errorf("checkRuntime(%q) = %q, want the enum message without blocked runtimes", tt.runtime, msg)
			}
		case tt.want != "" && tt.want != "enum" && msg != strings.Replace(blocked, "%s", tt.want, 1):
			t.Errorf("checkRuntime(%q, %v, %s) = %q, want the deprecation message", tt.runtime, tt.op, tt.now, msg)
		}
	}
}

type noRuby struct{}

func (noRuby) RuntimeAvailable(rt string) error {
	if strings.HasPrefix(rt, "ruby") {
		return errors.New(`the interpreter "ruby" is not on PATH`)
	}
	return nil
}

// A function whose runtime this node cannot run is created, in State Failed with
// StateReasonCode InvalidRuntime, and Invoke answers ResourceConflictException.
func TestUnavailableRuntimeCreatesFailedFunction(t *testing.T) {
	e := newEnv(t, envOpts{runtimes: noRuby{}})
	ctx := context.Background()
	out, err := e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("rb"), Runtime: types.RuntimeRuby34, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::123456789012:role/r"),
		Code: &types.FunctionCode{ZipFile: makeZip(t, map[string]string{"app.rb": "x"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.StateFailed || out.StateReasonCode != types.StateReasonCodeInvalidRuntime ||
		!strings.Contains(aws.ToString(out.StateReason), `"ruby" is not on PATH`) {
		t.Fatalf("state = %s / %s / %q, want Failed / InvalidRuntime / naming ruby", out.State, out.StateReasonCode, aws.ToString(out.StateReason))
	}
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("rb")})
	wantAPIError(t, err, "ResourceConflictException", `^The operation cannot be performed at this time\. The function is currently in the following state: Failed$`)
	if n := len(e.runner.Calls()); n != 0 {
		t.Fatalf("runner called %d times for a Failed function", n)
	}
	// Moving the function to a runtime the node has makes it Active again.
	cfg, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("rb"), Runtime: types.RuntimePython314, Handler: aws.String("app.handler")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State != types.StateActive || cfg.StateReasonCode != "" {
		t.Fatalf("after update: %s / %s", cfg.State, cfg.StateReasonCode)
	}
	if _, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("rb")}); err != nil {
		t.Fatal(err)
	}
}

func TestDeprecatedRuntimeBlocks(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	create := func(name string, rt types.Runtime) error {
		_, err := e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: rt, Handler: aws.String("index.handler"),
			Role: aws.String("arn:aws:iam::123456789012:role/r"),
			Code: &types.FunctionCode{ZipFile: makeZip(t, map[string]string{"index.js": "x"})},
		})
		return err
	}
	wantAPIError(t, create("old", types.RuntimeNodejs20x), "InvalidParameterValueException",
		`^The runtime parameter of nodejs20\.x is no longer supported for creating or updating AWS Lambda functions\. We recommend you use a supported runtime while creating or updating functions\.$`)
	if err := create("fn", types.RuntimeNodejs22x); err != nil {
		t.Fatal(err)
	}
	// A function cannot move onto a runtime whose create block has passed.
	_, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("fn"), Runtime: types.RuntimePython310})
	wantAPIError(t, err, "InvalidParameterValueException", `^The runtime parameter of python3\.10 is no longer supported`)
}
