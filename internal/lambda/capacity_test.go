package lambda

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func newCapacityProviderInput(name string) *awslambda.CreateCapacityProviderInput {
	return &awslambda.CreateCapacityProviderInput{
		CapacityProviderName: aws.String(name),
		VpcConfig:            &types.CapacityProviderVpcConfig{SubnetIds: []string{"subnet-1"}, SecurityGroupIds: []string{"sg-1"}},
		PermissionsConfig: &types.CapacityProviderPermissionsConfig{
			CapacityProviderOperatorRoleArn: aws.String("arn:aws:iam::123456789012:role/operator")},
	}
}

// The capacity provider control plane through aws-sdk-go-v2: create (Active),
// get by name and ARN, list, update, duplicate and missing names, the settings
// Sluice cannot honour refused with 501 naming the member.
func TestCapacityProviderCRUD(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	out, err := e.client.CreateCapacityProvider(ctx, newCapacityProviderInput("cp1"))
	if err != nil {
		t.Fatal(err)
	}
	cp := out.CapacityProvider
	const arn = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp1"
	if aws.ToString(cp.CapacityProviderArn) != arn || cp.State != types.CapacityProviderStateActive ||
		cp.VpcConfig.SubnetIds[0] != "subnet-1" || aws.ToString(cp.PermissionsConfig.CapacityProviderOperatorRoleArn) == "" ||
		cp.CapacityProviderScalingConfig.ScalingMode != types.CapacityProviderScalingModeAuto {
		t.Fatalf("created %+v", cp)
	}
	_, err = e.client.CreateCapacityProvider(ctx, newCapacityProviderInput("cp1"))
	wantAPIError(t, err, "ResourceConflictException", "already exists")

	for _, ref := range []string{"cp1", arn} {
		got, err := e.client.GetCapacityProvider(ctx, &awslambda.GetCapacityProviderInput{CapacityProviderName: aws.String(ref)})
		if err != nil || aws.ToString(got.CapacityProvider.CapacityProviderArn) != arn {
			t.Fatalf("get %s: %v %+v", ref, err, got)
		}
	}
	_, err = e.client.GetCapacityProvider(ctx, &awslambda.GetCapacityProviderInput{CapacityProviderName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "nope")

	if _, err := e.client.CreateCapacityProvider(ctx, newCapacityProviderInput("cp2")); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.ListCapacityProviders(ctx, &awslambda.ListCapacityProvidersInput{MaxItems: aws.Int32(1)})
	if err != nil || len(list.CapacityProviders) != 1 || list.NextMarker == nil {
		t.Fatalf("list page 1: %v %+v", err, list)
	}
	list2, err := e.client.ListCapacityProviders(ctx, &awslambda.ListCapacityProvidersInput{Marker: list.NextMarker})
	if err != nil || len(list2.CapacityProviders) != 1 || aws.ToString(list2.CapacityProviders[0].CapacityProviderArn) == arn {
		t.Fatalf("list page 2: %v %+v", err, list2)
	}

	up, err := e.client.UpdateCapacityProvider(ctx, &awslambda.UpdateCapacityProviderInput{CapacityProviderName: aws.String("cp1"),
		PropagateTags: &types.PropagateTags{Mode: types.PropagateTagsModeNone}})
	if err != nil || up.CapacityProvider.PropagateTags == nil || up.CapacityProvider.PropagateTags.Mode != types.PropagateTagsModeNone {
		t.Fatalf("update: %v %+v", err, up)
	}
	_, err = e.client.UpdateCapacityProvider(ctx, &awslambda.UpdateCapacityProviderInput{CapacityProviderName: aws.String("cp1"),
		CapacityProviderScalingConfig: &types.CapacityProviderScalingConfig{MaxVCpuCount: aws.Int32(8)}})
	wantAPIError(t, err, "NotImplementedException", "^CapacityProviderScalingConfig.MaxVCpuCount ")

	refused := map[string]func(*awslambda.CreateCapacityProviderInput){
		"InstanceRequirements.AllowedInstanceTypes": func(in *awslambda.CreateCapacityProviderInput) {
			in.InstanceRequirements = &types.InstanceRequirements{AllowedInstanceTypes: []string{"m7a.large"}}
		},
		"CapacityProviderScalingConfig.ScalingMode": func(in *awslambda.CreateCapacityProviderInput) {
			in.CapacityProviderScalingConfig = &types.CapacityProviderScalingConfig{ScalingMode: types.CapacityProviderScalingModeManual}
		},
		"KmsKeyArn": func(in *awslambda.CreateCapacityProviderInput) {
			in.KmsKeyArn = aws.String("arn:aws:kms:us-east-1:123456789012:key/1")
		},
		"PropagateTags": func(in *awslambda.CreateCapacityProviderInput) {
			in.PropagateTags = &types.PropagateTags{Mode: types.PropagateTagsModeExplicit, ExplicitTags: map[string]string{"a": "b"}}
		},
		"TelemetryConfig": func(in *awslambda.CreateCapacityProviderInput) {
			in.TelemetryConfig = &types.CapacityProviderTelemetryConfig{LoggingConfig: &types.CapacityProviderLoggingConfig{LogGroup: aws.String("g")}}
		},
	}
	for field, mod := range refused {
		in := newCapacityProviderInput("refused")
		mod(in)
		_, err := e.client.CreateCapacityProvider(ctx, in)
		wantAPIError(t, err, "NotImplementedException", "^"+field+" ")
	}
	if _, err := e.client.GetCapacityProvider(ctx, &awslambda.GetCapacityProviderInput{CapacityProviderName: aws.String("refused")}); err == nil {
		t.Fatal("a refused capacity provider was stored")
	}

	del, err := e.client.DeleteCapacityProvider(ctx, &awslambda.DeleteCapacityProviderInput{CapacityProviderName: aws.String("cp2")})
	if err != nil || del.CapacityProvider.State != types.CapacityProviderStateDeleting {
		t.Fatalf("delete: %v %+v", err, del)
	}
	_, err = e.client.DeleteCapacityProvider(ctx, &awslambda.DeleteCapacityProviderInput{CapacityProviderName: aws.String("cp2")})
	wantAPIError(t, err, "ResourceNotFoundException", "cp2")
}
