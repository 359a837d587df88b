package lambda

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Settings Sluice cannot honour are refused with 501 on create and update (never
// stored and ignored), and nothing is created; the empty forms tools send to mean
// "none" are accepted.
func TestUnsupportedSettingsRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	zipData := makeZip(t, map[string]string{"index.js": "exports.handler=async e=>e;"})
	base := func(name string) *awslambda.CreateFunctionInput {
		return &awslambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeNodejs22x,
			Handler: aws.String("index.handler"), Role: aws.String(testRole), Code: &types.FunctionCode{ZipFile: zipData}}
	}
	refused := map[string]func(*awslambda.CreateFunctionInput){
		"VpcConfig": func(in *awslambda.CreateFunctionInput) {
			in.VpcConfig = &types.VpcConfig{SubnetIds: []string{"subnet-1"}, SecurityGroupIds: []string{"sg-1"}}
		},
		"DeadLetterConfig": func(in *awslambda.CreateFunctionInput) {
			in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String("arn:aws:sqs:us-east-1:123456789012:dlq")}
		},
		"KMSKeyArn": func(in *awslambda.CreateFunctionInput) {
			in.KMSKeyArn = aws.String("arn:aws:kms:us-east-1:123456789012:key/1")
		},
		"CodeSigningConfigArn": func(in *awslambda.CreateFunctionInput) {
			in.CodeSigningConfigArn = aws.String("arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-1")
		},
		"FileSystemConfigs": func(in *awslambda.CreateFunctionInput) {
			in.FileSystemConfigs = []types.FileSystemConfig{{Arn: aws.String("arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1"), LocalMountPath: aws.String("/mnt/x")}}
		},
		"SnapStart": func(in *awslambda.CreateFunctionInput) {
			in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnPublishedVersions}
		},
		"ExecutionEnvironmentMemoryGiBPerVCpu": func(in *awslambda.CreateFunctionInput) {
			in.CapacityProviderConfig = &types.CapacityProviderConfig{LambdaManagedInstancesCapacityProviderConfig: &types.LambdaManagedInstancesCapacityProviderConfig{
				CapacityProviderArn:                  aws.String("arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp1"),
				ExecutionEnvironmentMemoryGiBPerVCpu: aws.Float64(4)}}
		},
	}
	for setting, mod := range refused {
		in := base("f-" + setting)
		mod(in)
		_, err := e.client.CreateFunction(ctx, in)
		wantAPIError(t, err, "NotImplementedException", "^"+setting+" ")
		if _, err := e.client.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: in.FunctionName}); err == nil {
			t.Errorf("%s: the refused function was created", setting)
		}
	}
	// "None" forms are accepted, on create and on update.
	in := base("plain")
	in.VpcConfig = &types.VpcConfig{SubnetIds: []string{}, SecurityGroupIds: []string{}}
	in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String("")}
	in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnNone}
	if _, err := e.client.CreateFunction(ctx, in); err != nil {
		t.Fatalf("empty settings refused: %v", err)
	}
	_, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("plain"),
		VpcConfig: &types.VpcConfig{SubnetIds: []string{"subnet-1"}}})
	wantAPIError(t, err, "NotImplementedException", "^VpcConfig ")
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("plain"),
		Description: aws.String("d"), VpcConfig: &types.VpcConfig{}}); err != nil {
		t.Fatalf("update with an empty VpcConfig: %v", err)
	}
}
