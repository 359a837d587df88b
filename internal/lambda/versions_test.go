package lambda

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestVersionsAndAliases(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	created := e.create("va", func(in *awslambda.CreateFunctionInput) { in.Publish = true })
	if aws.ToString(created.Version) != "1" || aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:va:1" {
		t.Fatalf("CreateFunction Publish = %s %s", aws.ToString(created.Version), aws.ToString(created.FunctionArn))
	}
	// Nothing changed: PublishVersion returns version 1 again.
	again, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("va")})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Fatalf("PublishVersion unchanged: %v %s", err, aws.ToString(again.Version))
	}
	_, err = e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("va"), CodeSha256: aws.String("abc")})
	wantAPIError(t, err, "InvalidParameterValueException", `^CodeSHA256 \(abc\) is different from current CodeSHA256 in \$LATEST`)
	_, err = e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("va"), RevisionId: aws.String("stale")})
	wantAPIError(t, err, "PreconditionFailedException", `Revision Id`)

	upd, err := e.client.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("va"),
		ZipFile: makeZip(t, map[string]string{"index.js": "v2"}), Publish: true})
	if err != nil || aws.ToString(upd.Version) != "2" {
		t.Fatalf("UpdateFunctionCode Publish: %v %s", err, aws.ToString(upd.Version))
	}
	e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("va"), Timeout: aws.Int32(9)})
	v3, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("va"), Description: aws.String("third")})
	if err != nil || aws.ToString(v3.Version) != "3" || aws.ToString(v3.Description) != "third" || aws.ToInt32(v3.Timeout) != 9 {
		t.Fatalf("PublishVersion 3: %v %+v", err, v3)
	}

	// Versions list $LATEST first, then numerically, across pages.
	var versions []string
	p := awslambda.NewListVersionsByFunctionPaginator(e.client, &awslambda.ListVersionsByFunctionInput{FunctionName: aws.String("va"), MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			versions = append(versions, aws.ToString(v.Version)+"="+aws.ToString(v.FunctionArn))
		}
	}
	want := []string{"$LATEST=arn:aws:lambda:us-east-1:123456789012:function:va:$LATEST", "1=arn:aws:lambda:us-east-1:123456789012:function:va:1",
		"2=arn:aws:lambda:us-east-1:123456789012:function:va:2", "3=arn:aws:lambda:us-east-1:123456789012:function:va:3"}
	if fmt.Sprint(versions) != fmt.Sprint(want) {
		t.Fatalf("versions = %v", versions)
	}

	// Aliases.
	alias, err := e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("va"), Name: aws.String("live"),
		FunctionVersion: aws.String("1"), Description: aws.String("prod")})
	if err != nil || aws.ToString(alias.AliasArn) != "arn:aws:lambda:us-east-1:123456789012:function:va:live" || aws.ToString(alias.RevisionId) == "" {
		t.Fatalf("CreateAlias: %v %+v", err, alias)
	}
	_, err = e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("va"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	wantAPIError(t, err, "ResourceConflictException", `^Alias already exists: arn:aws:lambda:us-east-1:123456789012:function:va:live$`)
	_, err = e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("va"), Name: aws.String("x"), FunctionVersion: aws.String("42")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Function not found: arn:aws:lambda:us-east-1:123456789012:function:va:42$`)
	_, err = e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("va"), Name: aws.String("12"), FunctionVersion: aws.String("1")})
	wantAPIError(t, err, "ValidationException", `at 'name'`)
	e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("va"), Name: aws.String("beta"), FunctionVersion: aws.String("2")})

	// Invoking through the alias runs its version.
	for q, wantVersion := range map[string]string{"live": "1", "beta": "2", "3": "3", "$LATEST": "$LATEST"} {
		out, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("va"), Qualifier: aws.String(q)})
		if err != nil || aws.ToString(out.ExecutedVersion) != wantVersion {
			t.Fatalf("invoke %s: %v %v", q, err, out)
		}
		calls := e.runner.Calls()
		last := calls[len(calls)-1]
		if last.Spec.Version != wantVersion || last.Inv.InvokedFunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:va:"+q {
			t.Fatalf("invoke %s ran %+v %s", q, last.Spec, last.Inv.InvokedFunctionARN)
		}
	}
	out, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:va:live")})
	if err != nil || aws.ToString(out.ExecutedVersion) != "1" {
		t.Fatalf("invoke by qualified ARN: %v", err)
	}

	got, err := e.client.GetAlias(ctx, &awslambda.GetAliasInput{FunctionName: aws.String("va"), Name: aws.String("live")})
	if err != nil || aws.ToString(got.FunctionVersion) != "1" || aws.ToString(got.Description) != "prod" {
		t.Fatalf("GetAlias: %v %+v", err, got)
	}
	_, err = e.client.GetAlias(ctx, &awslambda.GetAliasInput{FunctionName: aws.String("va"), Name: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Cannot find alias arn: arn:aws:lambda:us-east-1:123456789012:function:va:nope$`)
	_, err = e.client.UpdateAlias(ctx, &awslambda.UpdateAliasInput{FunctionName: aws.String("va"), Name: aws.String("live"), RevisionId: aws.String("stale")})
	wantAPIError(t, err, "PreconditionFailedException", `GetAlias`)
	updated, err := e.client.UpdateAlias(ctx, &awslambda.UpdateAliasInput{FunctionName: aws.String("va"), Name: aws.String("live"),
		FunctionVersion: aws.String("2"), RevisionId: got.RevisionId,
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"3": 0.5}}})
	if err != nil || aws.ToString(updated.FunctionVersion) != "2" || updated.RoutingConfig.AdditionalVersionWeights["3"] != 0.5 {
		t.Fatalf("UpdateAlias: %v %+v", err, updated)
	}
	// Weighted routing sends invocations to both versions.
	seen := map[string]int{}
	for range 200 {
		out, err := e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("va:live")})
		if err != nil {
			t.Fatal(err)
		}
		seen[aws.ToString(out.ExecutedVersion)]++
	}
	if seen["2"] == 0 || seen["3"] == 0 || seen["2"]+seen["3"] != 200 {
		t.Fatalf("weighted routing: %v", seen)
	}
	// GetFunction through an alias shows the version it points to.
	gf, err := e.client.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("va"), Qualifier: aws.String("beta")})
	if err != nil || aws.ToString(gf.Version) != "2" {
		t.Fatalf("GetFunctionConfiguration alias: %v %+v", err, gf)
	}

	list, err := e.client.ListAliases(ctx, &awslambda.ListAliasesInput{FunctionName: aws.String("va")})
	if err != nil || len(list.Aliases) != 2 || aws.ToString(list.Aliases[0].Name) != "beta" {
		t.Fatalf("ListAliases: %v %+v", err, list)
	}
	list, err = e.client.ListAliases(ctx, &awslambda.ListAliasesInput{FunctionName: aws.String("va"), FunctionVersion: aws.String("2"), MaxItems: aws.Int32(1)})
	if err != nil || len(list.Aliases) != 1 || list.NextMarker == nil {
		t.Fatalf("ListAliases page: %v %+v", err, list)
	}

	// A version an alias uses cannot be deleted; $LATEST never by qualifier.
	_, err = e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("va"), Qualifier: aws.String("2")})
	wantAPIError(t, err, "ResourceConflictException", `^Unable to delete version because the following aliases reference it: \[beta, live\]$`)
	_, err = e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("va"), Qualifier: aws.String("$LATEST")})
	wantAPIError(t, err, "InvalidParameterValueException", `^\$LATEST version cannot be deleted without deleting the function\.$`)
	if _, err := e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("va"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("va"), Qualifier: aws.String("1")})
	wantAPIError(t, err, "ResourceNotFoundException", `function:va:1$`)
	_, err = e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("va"), Qualifier: aws.String("1")})
	wantAPIError(t, err, "ResourceNotFoundException", `function:va:1$`)
	if _, err := e.client.DeleteAlias(ctx, &awslambda.DeleteAliasInput{FunctionName: aws.String("va"), Name: aws.String("beta")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteAlias(ctx, &awslambda.DeleteAliasInput{FunctionName: aws.String("va"), Name: aws.String("beta")})
	wantAPIError(t, err, "ResourceNotFoundException", `Cannot find alias`)
	// Version numbers are never reused.
	e.client.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("va"), Timeout: aws.Int32(11)})
	v4, err := e.client.PublishVersion(ctx, &awslambda.PublishVersionInput{FunctionName: aws.String("va")})
	if err != nil || aws.ToString(v4.Version) != "4" {
		t.Fatalf("PublishVersion after delete: %v %s", err, aws.ToString(v4.Version))
	}
	// Deleting the function removes versions and aliases.
	if _, err := e.client.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("va")}); err != nil {
		t.Fatal(err)
	}
	if kvs, _ := e.store.List(ctx, "/lambda/"); len(kvs) != 0 {
		t.Fatalf("left behind: %v", kvs)
	}
	_, err = e.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("va:live")})
	wantAPIError(t, err, "ResourceNotFoundException", `Function not found`)
}
