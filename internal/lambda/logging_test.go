package lambda

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// LoggingConfig: AWS's enums and log group pattern, log levels only with the JSON
// format (AWS's "LogLevel is not supported when LogFormat is set to "Text"" error),
// INFO/INFO defaults when JSON is chosen without levels, levels dropped on Text.
func TestLoggingConfig(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	create := func(name string, lc *types.LoggingConfig) (*awslambda.CreateFunctionOutput, error) {
		return e.client.CreateFunction(ctx, &awslambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
			Role: aws.String("arn:aws:iam::123456789012:role/r"), LoggingConfig: lc,
			Code: &types.FunctionCode{ZipFile: makeZip(t, map[string]string{"app.py": "def handler(e, c): return e"})},
		})
	}
	_, err := create("t1", &types.LoggingConfig{LogFormat: types.LogFormatText, ApplicationLogLevel: types.ApplicationLogLevelDebug})
	wantAPIError(t, err, "InvalidParameterValueException", `^LogLevel is not supported when LogFormat is set to "Text"\. Remove LogLevel from your request or change the LogFormat to "Json" and try again\.$`)
	_, err = create("t2", &types.LoggingConfig{SystemLogLevel: types.SystemLogLevelWarn})
	wantAPIError(t, err, "InvalidParameterValueException", `^LogLevel is not supported`)
	_, err = create("t3", &types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: "LOUD"})
	wantAPIError(t, err, "ValidationException", `^1 validation error detected: Value 'LOUD' at 'loggingConfig\.applicationLogLevel' failed to satisfy constraint: Member must satisfy enum value set: \[TRACE, DEBUG, INFO, WARN, ERROR, FATAL\]$`)
	_, err = create("t4", &types.LoggingConfig{LogFormat: types.LogFormatJson, SystemLogLevel: "ERROR"})
	wantAPIError(t, err, "ValidationException", `at 'loggingConfig\.systemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: \[DEBUG, INFO, WARN\]$`)
	_, err = create("t5", &types.LoggingConfig{LogGroup: aws.String("bad group!")})
	wantAPIError(t, err, "ValidationException", `at 'loggingConfig\.logGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\\\.\\-_/#A-Za-z0-9\]\+$`)

	out, err := create("ok", &types.LoggingConfig{LogFormat: types.LogFormatJson})
	if err != nil {
		t.Fatal(err)
	}
	if lc := out.LoggingConfig; lc.LogFormat != types.LogFormatJson || lc.ApplicationLogLevel != types.ApplicationLogLevelInfo || lc.SystemLogLevel != types.SystemLogLevelInfo {
		t.Fatalf("JSON defaults = %+v", lc)
	}
	up, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("ok"),
		LoggingConfig: &types.LoggingConfig{ApplicationLogLevel: types.ApplicationLogLevelError, LogGroup: aws.String("/custom/group")}})
	if err != nil {
		t.Fatal(err)
	}
	if lc := up.LoggingConfig; lc.ApplicationLogLevel != types.ApplicationLogLevelError || lc.SystemLogLevel != types.SystemLogLevelInfo || aws.ToString(lc.LogGroup) != "/custom/group" {
		t.Fatalf("updated = %+v", lc)
	}
	up, err = e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("ok"),
		LoggingConfig: &types.LoggingConfig{LogFormat: types.LogFormatText}})
	if err != nil {
		t.Fatal(err)
	}
	if lc := up.LoggingConfig; lc.LogFormat != types.LogFormatText || lc.ApplicationLogLevel != "" || lc.SystemLogLevel != "" {
		t.Fatalf("back to Text = %+v", lc)
	}
}
