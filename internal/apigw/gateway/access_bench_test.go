package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/compile/compiletest"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/invoke"
	"github.com/sluice-dev/sluice/internal/policy"
	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

const benchAuthorizerFn = "arn:aws:lambda:us-east-1:123456789012:function:auth"

// authorizerInvoker answers the authorizer function with an Allow policy for every
// method and every other function with a canned proxy response, doing no work.
type authorizerInvoker struct {
	calls chan struct{} // one value per authorizer invocation (buffered, dropped when full)
}

var (
	benchProxyResponse = &invoke.Response{Payload: []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}"}`)}
	benchAllowPolicy   = &invoke.Response{Payload: []byte(`{"principalId":"user","policyDocument":{"Version":"2012-10-17",` +
		`"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:api1/*"}]},` +
		`"context":{"tier":"gold"}}`)}
)

func (a authorizerInvoker) Invoke(_ context.Context, r *invoke.Request) (*invoke.Response, error) {
	if r.Function == benchAuthorizerFn {
		select {
		case a.calls <- struct{}{}:
		default:
		}
		return benchAllowPolicy, nil
	}
	return benchProxyResponse, nil
}

// benchIAM authenticates AWS_IAM requests as the server does: aws-sdk-go-v2's
// signature verified by Sluice's SigV4 verifier, then the caller's identity policy.
type benchIAM struct {
	v      *sigv4.Verifier
	policy *policy.Document
}

func (b benchIAM) AuthenticateInvoke(r *http.Request) (*access.Caller, error) {
	id, err := b.v.Verify(r)
	if err != nil {
		return nil, err
	}
	return &access.Caller{AccessKeyID: id.AccessKeyID, Account: testAccount, ARN: "arn:aws:iam::123456789012:user/alice",
		UserID: "AIDAALICE", Name: "alice", Policies: []*policy.Document{b.policy}}, nil
}

// BenchmarkAccessControl is the gateway's cost per REST request (payload 1.0, a
// canned Lambda answer) for each way a method is protected, against an unprotected
// method in the same run: a TOKEN authorizer whose decision is cached (the
// authorizer runs once, then every request is a cache hit and a policy
// evaluation), an AWS_IAM method (SigV4 verification of a header-signed POST with
// a body, then the caller's identity policy), and apiKeyRequired with a usage plan
// (key lookup, plan throttle, and the daily quota counted in the store).
func BenchmarkAccessControl(b *testing.B) {
	st := memstore.New()
	ttl := 300
	open := compiletest.Resource("r1", "/open", map[string]*model.Integration{"POST": proxyIntegration()})
	token := compiletest.Resource("r2", "/token", map[string]*model.Integration{"POST": proxyIntegration()})
	token.ResourceMethods["POST"].AuthorizationType = "CUSTOM"
	token.ResourceMethods["POST"].AuthorizerID = "a1"
	signed := compiletest.Resource("r3", "/iam", map[string]*model.Integration{"POST": proxyIntegration()})
	signed.ResourceMethods["POST"].AuthorizationType = "AWS_IAM"
	keyed := compiletest.Resource("r4", "/keyed", map[string]*model.Integration{"POST": proxyIntegration()})
	keyed.ResourceMethods["POST"].APIKeyRequired = true
	compiletest.RestDeploy(b, st, model.RestSnapshot{
		API:       model.RestAPI{ID: "api1"},
		Resources: []*model.Resource{open, token, signed, keyed},
		Authorizers: map[string]*model.Authorizer{"a1": {ID: "a1", Name: "tok", Type: "TOKEN",
			AuthorizerURI:  compiletest.LambdaURI(testRegion, benchAuthorizerFn),
			IdentitySource: "method.request.header.Authorization", IdentityValidationExpression: `^Bearer [a-z0-9]+$`,
			AuthorizerResultTTLInSeconds: &ttl}},
	}, "d1", model.Stage{StageName: "v1"})
	const apiKey = "bench-key-0123456789abcdefghij"
	compiletest.Put(b, st, model.APIKeyPrefix+"k1", model.APIKey{ID: "k1", Value: apiKey, Name: "bench", Enabled: true})
	compiletest.Put(b, st, model.UsagePlanPrefix+"p1", model.UsagePlan{ID: "p1", Name: "bench",
		APIStages: []model.UsagePlanStage{{APIID: "api1", Stage: "v1"}},
		Throttle:  &model.ThrottleSettings{RateLimit: 1e9, BurstLimit: 1 << 30},
		Quota:     &model.QuotaSettings{Limit: 1 << 30, Period: "DAY"}})
	compiletest.Put(b, st, model.UsagePlanKeyPrefix+"p1/k1", model.UsagePlanKey{ID: "k1", Type: "API_KEY", Name: "bench"})

	allow, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`),
		policy.Options{Kind: policy.Identity})
	if err != nil {
		b.Fatal(err)
	}
	const keyID, secret = "AKIABENCHBENCHBENCH1", "bench-secret"
	verifier := sigv4.NewVerifier(sigv4.Options{Mode: sigv4.ModeVerify, Credentials: sigv4.StaticCredentials{keyID: secret},
		MaxSkew: 5 * time.Minute, MaxBodyBytes: 10 << 20, IncompleteSignatureStatus: http.StatusForbidden})
	authorizerCalls := make(chan struct{}, 1<<20)
	g := New(Options{Store: st, Invoker: authorizerInvoker{authorizerCalls}, Region: testRegion, AccountID: testAccount,
		Debounce: time.Millisecond, AccountRateLimit: 1e9, AccountBurstLimit: 1e9, IAM: benchIAM{verifier, allow}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.Start(ctx); err != nil {
		b.Fatal(err)
	}

	const host, body = "api1.execute-api.localhost:4566", `{"to":"a@example.com","subject":"hello"}`
	// One signature, replayed: the verifier does the same work for each request as
	// for a freshly signed one (there is no replay cache), and signing is the
	// client's cost, not the gateway's.
	sum := sha256.Sum256([]byte(body))
	signedReq := httptest.NewRequest("POST", "http://"+host+"/v1/iam", strings.NewReader(body))
	signedReq.Header.Set("Content-Type", "application/json")
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, signedReq,
		hex.EncodeToString(sum[:]), "execute-api", testRegion, time.Now()); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, path string, headers http.Header) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("POST", "http://"+host+path, strings.NewReader(body))
				for k, v := range headers {
					req.Header[k] = v
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "bench/1.0")
				w := &discardWriter{h: http.Header{}}
				g.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("%s: status %d", path, w.code)
				}
			}
		})
	}
	b.Run("unprotected", func(b *testing.B) { run(b, "/v1/open", nil) })
	b.Run("token-authorizer-cached", func(b *testing.B) {
		run(b, "/v1/token", http.Header{"Authorization": {"Bearer abc123"}})
		if n := len(authorizerCalls); n != 1 {
			b.Fatalf("the authorizer ran %d times; its decision should have been cached after the first", n)
		}
	})
	b.Run("aws-iam-sigv4", func(b *testing.B) {
		run(b, "/v1/iam", http.Header{"Authorization": signedReq.Header["Authorization"], "X-Amz-Date": signedReq.Header["X-Amz-Date"]})
	})
	b.Run("api-key-usage-plan", func(b *testing.B) { run(b, "/v1/keyed", http.Header{"X-Api-Key": {apiKey}}) })
}
