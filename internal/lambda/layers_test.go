package lambda

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func (e *env) publishLayer(name string, files map[string]string) *awslambda.PublishLayerVersionOutput {
	e.t.Helper()
	out, err := e.client.PublishLayerVersion(context.Background(), &awslambda.PublishLayerVersionInput{
		LayerName: aws.String(name), Content: &types.LayerVersionContentInput{ZipFile: makeZip(e.t, files)},
		CompatibleRuntimes: []types.Runtime{types.RuntimePython314}, LicenseInfo: aws.String("MIT"), Description: aws.String("d"),
	})
	if err != nil {
		e.t.Fatalf("PublishLayerVersion %s: %v", name, err)
	}
	return out
}

func TestLayerVersionsAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	v1 := e.publishLayer("libs", map[string]string{"python/a.py": "A = 1"})
	v2 := e.publishLayer("libs", map[string]string{"python/a.py": "A = 2"})
	arn := "arn:aws:lambda:us-east-1:123456789012:layer:libs"
	if aws.ToString(v1.LayerVersionArn) != arn+":1" || v2.Version != 2 || aws.ToString(v2.LayerArn) != arn ||
		aws.ToString(v1.LicenseInfo) != "MIT" || v1.Content == nil || v1.Content.CodeSize == 0 || aws.ToString(v1.Content.Location) == "" {
		t.Fatalf("published %+v / %+v", v1, v2)
	}
	got, err := e.client.GetLayerVersionByArn(ctx, &awslambda.GetLayerVersionByArnInput{Arn: aws.String(arn + ":1")})
	if err != nil || got.Version != 1 || aws.ToString(got.Content.CodeSha256) != aws.ToString(v1.Content.CodeSha256) {
		t.Fatalf("GetLayerVersionByArn = %+v %v", got, err)
	}
	if _, err := e.client.GetLayerVersion(ctx, &awslambda.GetLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(2)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetLayerVersion(ctx, &awslambda.GetLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(9)})
	wantAPIError(t, err, "ResourceNotFoundException", `^The resource you requested does not exist\.$`)
	layers, err := e.client.ListLayers(ctx, &awslambda.ListLayersInput{})
	if err != nil || len(layers.Layers) != 1 || layers.Layers[0].LatestMatchingVersion.Version != 2 {
		t.Fatalf("ListLayers = %+v %v", layers, err)
	}
	if l, _ := e.client.ListLayers(ctx, &awslambda.ListLayersInput{CompatibleRuntime: types.RuntimeNodejs22x}); len(l.Layers) != 0 {
		t.Fatalf("ListLayers(nodejs22.x) = %+v", l.Layers)
	}
	versions, err := e.client.ListLayerVersions(ctx, &awslambda.ListLayerVersionsInput{LayerName: aws.String("libs")})
	if err != nil || len(versions.LayerVersions) != 2 || versions.LayerVersions[0].Version != 2 {
		t.Fatalf("ListLayerVersions = %+v %v", versions, err)
	}

	perm, err := e.client.AddLayerVersionPermission(ctx, &awslambda.AddLayerVersionPermissionInput{LayerName: aws.String("libs"),
		VersionNumber: aws.Int64(1), StatementId: aws.String("all"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("*")})
	if err != nil || !strings.Contains(aws.ToString(perm.Statement), `"Principal":{"AWS":"*"}`) || aws.ToString(perm.RevisionId) == "" {
		t.Fatalf("AddLayerVersionPermission = %+v %v", perm, err)
	}
	pol, err := e.client.GetLayerVersionPolicy(ctx, &awslambda.GetLayerVersionPolicyInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1)})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"all"`) {
		t.Fatalf("GetLayerVersionPolicy = %+v %v", pol, err)
	}
	if _, err := e.client.RemoveLayerVersionPermission(ctx, &awslambda.RemoveLayerVersionPermissionInput{LayerName: aws.String("libs"),
		VersionNumber: aws.Int64(1), StatementId: aws.String("all")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetLayerVersionPolicy(ctx, &awslambda.GetLayerVersionPolicyInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1)})
	wantAPIError(t, err, "ResourceNotFoundException", `^No policy is associated with the given resource\.$`)

	// A function keeps the layer version it named, even after the version is deleted.
	fn := e.create("uses-layer", func(in *awslambda.CreateFunctionInput) {
		in.Runtime = types.RuntimePython314
		in.Layers = []string{arn + ":1"}
	})
	if len(fn.Layers) != 1 || aws.ToString(fn.Layers[0].Arn) != arn+":1" || fn.Layers[0].CodeSize != v1.Content.CodeSize {
		t.Fatalf("function layers = %+v", fn.Layers)
	}
	if _, err := e.client.DeleteLayerVersion(ctx, &awslambda.DeleteLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteLayerVersion(ctx, &awslambda.DeleteLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	if _, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("uses-layer")}); err != nil {
		t.Fatal(err)
	}
	calls := e.runner.Calls()
	if sp := calls[len(calls)-1].Spec; len(sp.Layers) != 1 || !strings.HasSuffix(sp.Layers[0].ZipPath, sp.Layers[0].SHA256Hex) {
		t.Fatalf("spec layers = %+v", sp.Layers)
	}
	// Version numbers are never reused.
	if v3 := e.publishLayer("libs", map[string]string{"x": "y"}); v3.Version != 3 {
		t.Fatalf("next version = %d", v3.Version)
	}

	_, err = e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("uses-layer"),
		Layers: []string{arn + ":7"}})
	wantAPIError(t, err, "InvalidParameterValueException", `^Layer version arn:aws:lambda:us-east-1:123456789012:layer:libs:7 does not exist\.$`)
	six := make([]string, 6)
	for i := range six {
		six[i] = arn + ":2"
	}
	_, err = e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("uses-layer"), Layers: six})
	wantAPIError(t, err, "InvalidParameterValueException", `^Cannot reference more than 5 layers\.$`)
	cfg, err := e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("uses-layer"), Layers: []string{}})
	if err != nil || len(cfg.Layers) != 0 {
		t.Fatalf("removing layers: %+v %v", cfg.Layers, err)
	}
}
