package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/policy"
)

func TestPermissionsAPI(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.create("pf")
	_, err := e.client.GetPolicy(ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("pf")})
	wantAPIError(t, err, "ResourceNotFoundException", `^The resource you requested does not exist\.$`)

	added, err := e.client.AddPermission(ctx, &awslambda.AddPermissionInput{
		FunctionName: aws.String("pf"), StatementId: aws.String("apigw"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String("arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/blocks"),
		SourceAccount: aws.String("123456789012"),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatement := `{"Sid":"apigw","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction",` +
		`"Resource":"arn:aws:lambda:us-east-1:123456789012:function:pf","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/blocks"},` +
		`"StringEquals":{"AWS:SourceAccount":"123456789012"}}}`
	if aws.ToString(added.Statement) != wantStatement {
		t.Fatalf("Statement =\n%s\nwant\n%s", aws.ToString(added.Statement), wantStatement)
	}
	_, err = e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("apigw"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")})
	wantAPIError(t, err, "ResourceConflictException", `^The statement id \(apigw\) provided already exists\. Please specify a new statement id, or remove the existing statement\.$`)
	_, err = e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("acct"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("210987654321")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("bad"),
		Action: aws.String("invoke"), Principal: aws.String("s3.amazonaws.com")})
	wantAPIError(t, err, "ValidationException", `at 'action'`)
	_, err = e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("x"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"), Qualifier: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", `Cannot find alias`)
	_, err = e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("x"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"), RevisionId: aws.String("stale")})
	wantAPIError(t, err, "PreconditionFailedException", `Revision Id`)

	pol, err := e.client.GetPolicy(ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("pf")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version, Id string
		Statement   []map[string]any
	}
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2012-10-17" || doc.Id != "default" || len(doc.Statement) != 2 ||
		doc.Statement[1]["Principal"].(map[string]any)["AWS"] != "arn:aws:iam::210987654321:root" {
		t.Fatalf("policy = %s", aws.ToString(pol.Policy))
	}
	cfg, _ := e.client.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("pf")})
	if aws.ToString(pol.RevisionId) != aws.ToString(cfg.RevisionId) {
		t.Fatalf("policy RevisionId %s, function %s", aws.ToString(pol.RevisionId), aws.ToString(cfg.RevisionId))
	}

	_, err = e.client.RemovePermission(ctx, &awslambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", `^Statement nope is not found in resource policy\.$`)
	for _, sid := range []string{"acct", "apigw"} {
		if _, err := e.client.RemovePermission(ctx, &awslambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String(sid)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.client.GetPolicy(ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("pf")})
	wantAPIError(t, err, "ResourceNotFoundException", `^The resource you requested does not exist\.$`)
	_, err = e.client.RemovePermission(ctx, &awslambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("apigw")})
	wantAPIError(t, err, "ResourceNotFoundException", `No policy`)
}

// The gateway's path: Invoke with a principal checks the resource policy.
func TestInvokerPolicy(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	e.create("guarded", func(in *awslambda.CreateFunctionInput) { in.Publish = true })
	e.client.CreateAlias(ctx, &awslambda.CreateAliasInput{FunctionName: aws.String("guarded"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	const api = "arn:aws:execute-api:us-east-1:123456789012:abc123"
	req := func(fn, sourceARN string) *invoke.Request {
		return &invoke.Request{Function: fn, Payload: []byte(`{"k":1}`), Principal: "apigateway.amazonaws.com",
			SourceARN: sourceARN, SourceAccount: "123456789012"}
	}
	denied := func(r *invoke.Request) {
		t.Helper()
		_, err := e.svc.Invoke(ctx, r)
		var ae *awsproto.Error
		if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "AccessDeniedException" {
			t.Fatalf("Invoke(%s, %s) = %v, want AccessDeniedException", r.Function, r.SourceARN, err)
		}
	}
	allowed := func(r *invoke.Request, version string) {
		t.Helper()
		resp, err := e.svc.Invoke(ctx, r)
		if err != nil || string(resp.Payload) != `{"k":1}` || resp.ExecutedVersion != version {
			t.Fatalf("Invoke(%s, %s) = %v %+v", r.Function, r.SourceARN, err, resp)
		}
	}
	denied(req("guarded", api+"/prod/GET/blocks"))

	e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("guarded"), StatementId: aws.String("gw"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String(api + "/*/GET/blocks")})
	allowed(req("guarded", api+"/prod/GET/blocks"), "$LATEST")
	allowed(req("arn:aws:lambda:us-east-1:123456789012:function:guarded", api+"/dev/GET/blocks"), "$LATEST")
	denied(req("guarded", api+"/prod/POST/blocks"))
	denied(req("guarded", "arn:aws:execute-api:us-east-1:123456789012:other/prod/GET/blocks"))
	denied(req("guarded", ""))
	r := req("guarded", api+"/prod/GET/blocks")
	r.Principal = "s3.amazonaws.com"
	denied(r)
	// The function's policy does not cover its alias; the alias's own does.
	denied(req("guarded:live", api+"/prod/GET/blocks"))
	e.client.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("guarded"), StatementId: aws.String("gw-live"), Qualifier: aws.String("live"),
		Action: aws.String("lambda:*"), Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String(api + "/*"), SourceAccount: aws.String("123456789012")})
	allowed(req("guarded:live", api+"/prod/GET/blocks"), "1")
	r = req("guarded", api+"/prod/GET/blocks")
	r.Qualifier = "live"
	allowed(r, "1")
	r = req("guarded:live", api+"/prod/GET/blocks")
	r.SourceAccount = "999999999999"
	denied(r)

	// No principal: the caller is the function's owner, no policy check.
	resp, err := e.svc.Invoke(ctx, &invoke.Request{Function: "guarded", Payload: []byte(`{}`)})
	if err != nil || resp.ExecutedVersion != "$LATEST" {
		t.Fatalf("owner invoke: %v", err)
	}
	_, err = e.svc.Invoke(ctx, &invoke.Request{Function: "missing"})
	var ae *awsproto.Error
	if !errors.As(err, &ae) || ae.Code != "ResourceNotFoundException" {
		t.Fatalf("missing: %v", err)
	}
}

func TestPolicyMatching(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:123456789012:function:f"
	st := func(mod func(*statement)) *policyDocument {
		s := statement{Sid: "s", Effect: "Allow", Principal: principal{Service: stringList{"apigateway.amazonaws.com"}},
			Action: stringList{"lambda:InvokeFunction"}, Resource: stringList{fn}}
		if mod != nil {
			mod(&s)
		}
		return &policyDocument{Version: "2012-10-17", Id: "default", Statement: []statement{s}}
	}
	base := invokeRequest{Principal: "apigateway.amazonaws.com", SourceARN: "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/x",
		SourceAccount: "123456789012", Resource: fn}
	arnLikeCond := func(v string) func(*statement) {
		return func(s *statement) { s.Condition = map[string]map[string]stringList{"ArnLike": {"AWS:SourceArn": {v}}} }
	}
	cases := []struct {
		name string
		doc  *policyDocument
		req  invokeRequest
		want bool
	}{
		{"plain allow", st(nil), base, true},
		{"no policy", nil, base, false},
		{"other principal", st(nil), invokeRequest{Principal: "s3.amazonaws.com", Resource: fn}, false},
		{"any principal", st(func(s *statement) { s.Principal = principal{Any: true} }), base, true},
		{"principal list", st(func(s *statement) {
			s.Principal = principal{Service: stringList{"s3.amazonaws.com", "apigateway.amazonaws.com"}}
		}), base, true},
		{"lambda:*", st(func(s *statement) { s.Action = stringList{"lambda:*"} }), base, true},
		{"*", st(func(s *statement) { s.Action = stringList{"*"} }), base, true},
		{"action case", st(func(s *statement) { s.Action = stringList{"Lambda:invokefunction"} }), base, true},
		{"other action", st(func(s *statement) { s.Action = stringList{"lambda:GetFunction"} }), base, false},
		{"resource wildcard", st(func(s *statement) { s.Resource = stringList{fn + "*"} }), base, true},
		{"other resource", st(func(s *statement) { s.Resource = stringList{fn + "x"} }), base, false},
		{"qualified resource", st(nil), invokeRequest{Principal: base.Principal, Resource: fn + ":live"}, false},
		{"arnlike star", st(arnLikeCond("arn:aws:execute-api:us-east-1:123456789012:api1/*")), base, true},
		{"arnlike question", st(arnLikeCond("arn:aws:execute-api:us-east-1:123456789012:api?/prod/GET/x")), base, true},
		{"arnlike method", st(arnLikeCond("arn:aws:execute-api:us-east-1:123456789012:api1/*/POST/x")), base, false},
		{"arnlike region star", st(arnLikeCond("arn:aws:execute-api:*:123456789012:api1/*")), base, true},
		{"arnlike no cross-part star", st(arnLikeCond("arn:aws:execute-api:us-east-1:*")), base, false},
		{"arnlike missing source", st(arnLikeCond("arn:aws:execute-api:*:*:*")), invokeRequest{Principal: base.Principal, Resource: fn}, false},
		{"source account", st(func(s *statement) {
			s.Condition = map[string]map[string]stringList{"StringEquals": {"AWS:SourceAccount": {"123456789012"}}}
		}), base, true},
		{"source account mismatch", st(func(s *statement) {
			s.Condition = map[string]map[string]stringList{"StringEquals": {"AWS:SourceAccount": {"000000000000"}}}
		}), base, false},
		{"unknown operator fails closed", st(func(s *statement) {
			s.Condition = map[string]map[string]stringList{"DateGreaterThan": {"AWS:SourceArn": {"x"}}}
		}), base, false},
		{"unknown key fails closed", st(func(s *statement) {
			s.Condition = map[string]map[string]stringList{"StringEquals": {"aws:PrincipalOrgID": {"o-1"}}}
		}), base, false},
		{"deny wins", &policyDocument{Statement: append(st(nil).Statement, st(func(s *statement) { s.Effect = "Deny"; s.Sid = "d" }).Statement...)}, base, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := allowsInvoke([]*policy.Document{compilePolicy(c.doc)}, &c.req); got != c.want {
				t.Fatalf("allowsInvoke = %v, want %v", got, c.want)
			}
		})
	}
	// Stored policies round-trip through AWS's JSON.
	raw := `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":["lambda:InvokeFunction"],"Resource":"` + fn + `"}]}`
	var doc policyDocument
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || !doc.Statement[0].Principal.Any || !allowsInvoke([]*policy.Document{compilePolicy(&doc)}, &base) {
		t.Fatalf("decode: %v %+v", err, doc)
	}
}
