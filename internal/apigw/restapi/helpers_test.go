package restapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
	"github.com/sluice-dev/sluice/internal/store/boltstore"
	"github.com/sluice-dev/sluice/internal/store/storetest"
)

const testAccount = "123456789012"

type testEnv struct {
	client *apigateway.Client
	store  testStore
	url    string
}

// testStore is the bbolt store the service under test writes, with a helper to
// list keys for assertions.
type testStore struct{ store.Store }

func (s testStore) keys(prefix string) []string {
	kvs, err := s.List(context.Background(), prefix)
	if err != nil {
		panic(err)
	}
	var out []string
	for _, kv := range kvs {
		out = append(out, kv.Key)
	}
	return out
}

// newTestEnv serves a Service over HTTP and returns aws-sdk-go-v2's apigateway
// client pointed at it, as a user's tooling would be.
func newTestEnv(t *testing.T, configure ...func(*Options)) *testEnv {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := Options{Store: storetest.WriteLimited(st, model.MaxWritesPerUpdate), Region: "us-east-1", AccountID: testAccount}
	for _, c := range configure {
		c(&opts)
	}
	svc := New(opts)
	srv := httptest.NewServer(awsproto.RequestIDMiddleware(svc))
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
		}),
		RetryMaxAttempts: 1,
	}
	client := apigateway.NewFromConfig(cfg, func(o *apigateway.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &testEnv{client: client, store: testStore{st}, url: srv.URL}
}

// wantAPIError asserts err is the AWS error (code, HTTP status, message) expected.
func wantAPIError(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", code, msg)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an API error %s", err, code)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Errorf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("got HTTP %d, want %d", re.HTTPStatusCode(), status)
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// createAPI creates a REST API and returns its id and root resource id.
func (e *testEnv) createAPI(t *testing.T, name string) (string, string) {
	t.Helper()
	out, err := e.client.CreateRestApi(context.Background(), &apigateway.CreateRestApiInput{Name: aws.String(name)})
	mustNoErr(t, err)
	return *out.Id, *out.RootResourceId
}

func (e *testEnv) createResource(t *testing.T, api, parent, part string) string {
	t.Helper()
	out, err := e.client.CreateResource(context.Background(), &apigateway.CreateResourceInput{
		RestApiId: aws.String(api), ParentId: aws.String(parent), PathPart: aws.String(part)})
	mustNoErr(t, err)
	return *out.Id
}

// mockMethod puts method verb with a MOCK integration on a resource.
func (e *testEnv) mockMethod(t *testing.T, api, res, verb string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(api), ResourceId: aws.String(res),
		HttpMethod: aws.String(verb), AuthorizationType: aws.String("NONE")})
	mustNoErr(t, err)
	_, err = e.client.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(api), ResourceId: aws.String(res),
		HttpMethod: aws.String(verb), Type: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}})
	mustNoErr(t, err)
}

func patch(op types.Op, path, value string) types.PatchOperation {
	p := types.PatchOperation{Op: op, Path: aws.String(path)}
	if value != "" || op != types.OpRemove {
		p.Value = aws.String(value)
	}
	return p
}
