package restapi

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// deployedStage creates an API with one MOCK method deployed to stage "prod".
func (e *testEnv) deployedStage(t *testing.T) string {
	t.Helper()
	api, root := e.createAPI(t, "keys")
	e.mockMethod(t, api, root, "GET")
	_, err := e.client.CreateDeployment(context.Background(), &apigateway.CreateDeploymentInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	return api
}

func TestImportAPIKeys(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api := e.deployedStage(t)
	planA, err := e.client.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("a"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("prod")}}})
	mustNoErr(t, err)
	planB, err := e.client.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("b")})
	mustNoErr(t, err)

	// Columns in any order and case, unknown columns ignored, Enabled defaulting to
	// true, several plans in double or single quotes.
	file := "Enabled,name,KEY,Description,usagePlanIds,color\n" +
		"true,first,apikey1234abcdefghij0123456789,An imported key,\"" + *planA.Id + "," + *planB.Id + "\",red\n" +
		"FALSE,second,apikey1234abcdefghij0123456780,,'" + *planB.Id + "',\n" +
		",third,apikey1234abcdefghij0123456781,,,\n" +
		"true,short,tooshort,,,\n" +
		"true,noplan,apikey1234abcdefghij0123456782,,nosuchplan,\n"
	out, err := e.client.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte(file), Format: types.ApiKeysFormatCsv})
	mustNoErr(t, err)
	if len(out.Ids) != 4 {
		t.Fatalf("ids = %v", out.Ids)
	}
	wantWarnings := []string{"Line 5: API Key value must be between 20 and 128 characters", "Line 6: Invalid usage plan id nosuchplan"}
	if !slices.Equal(out.Warnings, wantWarnings) {
		t.Fatalf("warnings = %q, want %q", out.Warnings, wantWarnings)
	}
	keys, err := e.client.GetApiKeys(ctx, &apigateway.GetApiKeysInput{IncludeValues: aws.Bool(true)})
	mustNoErr(t, err)
	byName := map[string]types.ApiKey{}
	for _, k := range keys.Items {
		byName[*k.Name] = k
	}
	if k := byName["first"]; !k.Enabled || aws.ToString(k.Value) != "apikey1234abcdefghij0123456789" || aws.ToString(k.Description) != "An imported key" {
		t.Fatalf("first = %+v", k)
	}
	if byName["second"].Enabled || !byName["third"].Enabled {
		t.Fatalf("enabled: second %v third %v", byName["second"].Enabled, byName["third"].Enabled)
	}
	members := func(plan string) []string {
		out, err := e.client.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(plan)})
		mustNoErr(t, err)
		var names []string
		for _, k := range out.Items {
			names = append(names, *k.Name)
		}
		slices.Sort(names)
		return names
	}
	if got := members(*planA.Id); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("plan a keys = %v", got)
	}
	if got := members(*planB.Id); !slices.Equal(got, []string{"first", "second"}) {
		t.Fatalf("plan b keys = %v", got)
	}

	// The same value again overwrites the key, keeping its id.
	again, err := e.client.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv,
		Body: []byte("key,name,enabled\napikey1234abcdefghij0123456789,renamed,false\n")})
	mustNoErr(t, err)
	if len(again.Ids) != 1 || again.Ids[0] != *byName["first"].Id {
		t.Fatalf("re-import ids = %v, want [%s]", again.Ids, *byName["first"].Id)
	}
	k, err := e.client.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: byName["first"].Id})
	mustNoErr(t, err)
	if *k.Name != "renamed" || k.Enabled {
		t.Fatalf("re-imported key = %+v", k)
	}

	// failonwarnings: any warning imports nothing.
	before := len(e.store.keys("/apigw/v1/apikeys/"))
	_, err = e.client.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv, FailOnWarnings: true,
		Body: []byte("name,key\nok,apikey1234abcdefghij0123456799\nbad,short\n")})
	wantAPIError(t, err, "BadRequestException", 400, "API Key import failed with warnings: Line 3: API Key value must be between 20 and 128 characters")
	if after := len(e.store.keys("/apigw/v1/apikeys/")); after != before {
		t.Fatalf("failonwarnings imported %d keys", after-before)
	}
	_, err = e.client.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv, Body: []byte("name,value\na,b\n")})
	wantAPIError(t, err, "BadRequestException", 400, "Invalid API key file: the header must contain the Name and Key columns")
}

func TestSplitKeyFileLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{`a,b,c`, []string{"a", "b", "c"}},
		{`a,"b,c",d`, []string{"a", "b,c", "d"}},
		{`a,'b,c',d`, []string{"a", "b,c", "d"}},
		{`"say ""hi""",x`, []string{`say "hi"`, "x"}},
		{`it's,fine`, []string{"it's", "fine"}},
		{`,,`, []string{"", "", ""}},
	} {
		if got := splitKeyFileLine(tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("splitKeyFileLine(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestUpdateUsage(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api := e.deployedStage(t)
	plan, err := e.client.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("q"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String("prod")}},
		Quota:     &types.QuotaSettings{Limit: 5, Period: types.QuotaPeriodTypeWeek}})
	mustNoErr(t, err)
	key, err := e.client.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	mustNoErr(t, err)
	_, err = e.client.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: key.Id, KeyType: aws.String("API_KEY")})
	mustNoErr(t, err)

	// The data plane counts five requests: the quota is spent.
	counters := access.StoreCounters{Store: e.store}
	now := time.Now().UTC()
	window := access.QuotaWindow(&model.QuotaSettings{Limit: 5, Period: "WEEK"}, now)
	for i := 0; i < 6; i++ {
		ok, err := counters.Take(ctx, access.CounterName(*plan.Id, *key.Id, window), now.Format(time.DateOnly), 5)
		mustNoErr(t, err)
		if ok != (i < 5) {
			t.Fatalf("take %d = %v", i+1, ok)
		}
	}
	today := now.Format(time.DateOnly)
	usage := func() [][]int64 {
		out, err := e.client.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: aws.String(today), EndDate: aws.String(today)})
		mustNoErr(t, err)
		return out.Items[*key.Id]
	}
	if got := usage(); len(got) != 1 || got[0][0] != 5 || got[0][1] != 0 {
		t.Fatalf("usage before = %v", got)
	}

	out, err := e.client.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: plan.Id, KeyId: key.Id,
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/remaining", "2")}})
	mustNoErr(t, err)
	if got := out.Items[*key.Id]; len(got) != 1 || got[0][0] != 5 || got[0][1] != 2 || *out.StartDate != today {
		t.Fatalf("update-usage = %+v", out)
	}
	if got := usage(); got[0][1] != 2 {
		t.Fatalf("usage after = %v", got)
	}
	// Exactly two more requests are admitted.
	for i := 0; i < 3; i++ {
		ok, err := counters.Take(ctx, access.CounterName(*plan.Id, *key.Id, window), today, 5)
		mustNoErr(t, err)
		if ok != (i < 2) {
			t.Fatalf("take after extension %d = %v", i+1, ok)
		}
	}

	_, err = e.client.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: plan.Id, KeyId: key.Id,
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/used", "2")}})
	if err == nil || !strings.Contains(err.Error(), "BadRequestException") {
		t.Fatalf("path /used: %v", err)
	}
	_, err = e.client.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: plan.Id, KeyId: aws.String("nokey"),
		PatchOperations: []types.PatchOperation{patch(types.OpReplace, "/remaining", "2")}})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Usage Plan Key identifier specified")
}

func TestFlushStageAuthorizersCache(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api := e.deployedStage(t)
	stageRecord := func() store.KV {
		kvs, err := e.store.List(ctx, stageKey(api, "prod"))
		mustNoErr(t, err)
		if len(kvs) != 1 {
			t.Fatalf("stage records: %v", kvs)
		}
		return kvs[0]
	}
	before := stageRecord()
	_, err := e.client.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{RestApiId: aws.String(api), StageName: aws.String("prod")})
	mustNoErr(t, err)
	after := stageRecord()
	// A new revision of the stage record is what makes every node recompile it.
	if after.Revision <= before.Revision || string(after.Value) != string(before.Value) {
		t.Fatalf("stage record: revision %d → %d, value changed %v", before.Revision, after.Revision, string(after.Value) != string(before.Value))
	}
	_, err = e.client.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{RestApiId: aws.String(api), StageName: aws.String("nope")})
	wantAPIError(t, err, "NotFoundException", 404, "Invalid Stage identifier specified")
}

func TestCognitoAuthorizerRefused(t *testing.T) {
	e := newTestEnv(t)
	api, _ := e.createAPI(t, "cognito")
	_, err := e.client.CreateAuthorizer(context.Background(), &apigateway.CreateAuthorizerInput{RestApiId: aws.String(api),
		Name: aws.String("pool"), Type: types.AuthorizerTypeCognitoUserPools,
		ProviderARNs: []string{"arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"}, IdentitySource: aws.String("method.request.header.Authorization")})
	wantAPIError(t, err, "NotImplementedException", 501, "COGNITO_USER_POOLS authorizers are not implemented in Sluice yet")
}
