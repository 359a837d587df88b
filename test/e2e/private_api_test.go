package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Seed scenario 3: a PRIVATE REST API is reachable only through a private endpoint
// (a --private-listen listener with its vpce id), picked by the
// {apiId}-{vpceId}.execute-api host, the private DNS {apiId}.execute-api host or
// the x-apigw-api-id header. Its resource policy allows execute-api:Invoke only
// from that endpoint (aws:SourceVpce); one method needs an API key under a usage
// plan, another AWS_IAM. API Gateway refuses to deploy a private API without a
// resource policy.
func TestPrivateAPIWithKeysAndSigV4(t *testing.T) {
	const vpce, other = "vpce-0123456789abcdef0", "vpce-0fedcba9876543210"
	privAddr, otherAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--private-listen", privAddr + "=" + vpce, "--private-listen", otherAddr + "=" + other}})

	api := newRESTAPI(t, s, "private", "--endpoint-configuration", "types=PRIVATE,vpcEndpointIds="+vpce)
	mock := func(rid, auth string, extra ...string) {
		s.aws(append([]string{"apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
			"--authorization-type", auth}, extra...)...)
		s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
			"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
		s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET", "--status-code", "200")
		s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", "GET",
			"--status-code", "200", "--response-templates", `{"application/json":"{\"ok\":true}"}`)
	}
	mock(api.resource(api.root, "keyed"), "NONE", "--api-key-required")
	mock(api.resource(api.root, "signed"), "AWS_IAM")

	_, stderr, err := s.awsRaw("apigateway", "create-deployment", "--rest-api-id", api.id, "--stage-name", "prod")
	if err == nil || !strings.Contains(stderr, "BadRequestException") || !strings.Contains(stderr, "Private REST API doesn't have a resource policy attached to it") {
		t.Fatalf("deploying a private API without a policy: %v %s", err, stderr)
	}
	api.setPolicy(`{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},` +
		`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"` + vpce + `"}}}]}`)
	api.deploy("prod")

	key := s.awsJSON("apigateway", "create-api-key", "--name", "k", "--enabled", "--value", "private-key-0123456789abcdef")
	plan := s.awsJSON("apigateway", "create-usage-plan", "--name", "p", "--api-stages", "apiId="+api.id+",stage=prod",
		"--throttle", "rateLimit=100,burstLimit=100")
	s.aws("apigateway", "create-usage-plan-key", "--usage-plan-id", str(plan["id"]), "--key-id", str(key["id"]), "--key-type", "API_KEY")
	const apiKey = "private-key-0123456789abcdef"

	aliasHost := api.id + "-" + vpce + ".execute-api.us-east-1.amazonaws.com"
	dnsHost := api.id + ".execute-api.us-east-1.amazonaws.com"
	ok := `{"ok":true}`

	// Through the private endpoint, by each way of naming the API, with a key.
	if r := awaitHost(t, 200, privAddr, aliasHost, "GET", "/prod/keyed", "x-api-key", apiKey); string(r.Body) != ok {
		t.Fatalf("alias host: %d %s", r.Status, r.Body)
	}
	if r := hostCall(t, privAddr, dnsHost, "GET", "/prod/keyed", "x-api-key", apiKey); r.Status != 200 || string(r.Body) != ok {
		t.Fatalf("private DNS host: %d %s", r.Status, r.Body)
	}
	if r := hostCall(t, privAddr, "gateway.internal", "GET", "/prod/keyed", "x-api-key", apiKey, "x-apigw-api-id", api.id); r.Status != 200 || string(r.Body) != ok {
		t.Fatalf("x-apigw-api-id: %d %s", r.Status, r.Body)
	}
	// Without the key: 403 Forbidden, as for any public API key method.
	if r := hostCall(t, privAddr, dnsHost, "GET", "/prod/keyed"); r.Status != 403 || string(r.Body) != `{"message":"Forbidden"}` {
		t.Fatalf("no api key: %d %s", r.Status, r.Body)
	}
	// The public listener does not serve a PRIVATE API at all.
	if r := hostCall(t, s.Addr, api.id+".execute-api.localhost", "GET", "/prod/keyed", "x-api-key", apiKey); r.Status != 403 {
		t.Fatalf("public listener: %d %s", r.Status, r.Body)
	}
	// Another endpoint: the alias host names an endpoint the API is not associated
	// with (Forbidden), and by private DNS the policy's aws:SourceVpce deny applies.
	if r := hostCall(t, otherAddr, api.id+"-"+other+".execute-api.us-east-1.amazonaws.com", "GET", "/prod/keyed", "x-api-key", apiKey); r.Status != 403 {
		t.Fatalf("other endpoint, alias host: %d %s", r.Status, r.Body)
	}
	arn := "arn:aws:execute-api:us-east-1:********9012:" + api.id + "/prod/GET/keyed"
	if r := hostCall(t, otherAddr, dnsHost, "GET", "/prod/keyed", "x-api-key", apiKey); r.Status != 403 ||
		string(r.Body) != `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: `+arn+` with an explicit deny"}` {
		t.Fatalf("other endpoint, private DNS: %d %s", r.Status, r.Body)
	}

	// AWS_IAM: unsigned is refused; signed with a key whose identity may invoke passes.
	if r := hostCall(t, privAddr, dnsHost, "GET", "/prod/signed"); r.Status != 403 || string(r.Body) != `{"message":"Missing Authentication Token"}` {
		t.Fatalf("unsigned: %d %s", r.Status, r.Body)
	}
	alice := s.createKeys(t, "alice")
	s.aws("iam", "put-user-policy", "--user-name", "alice", "--policy-name", "invoke", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:`+api.id+`/prod/GET/signed"}]}`)
	signed := func() apiResponse {
		req, _ := http.NewRequest("GET", "http://"+privAddr+"/prod/signed", nil)
		req.Host = dnsHost
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: alice.id, SecretAccessKey: alice.secret},
			req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return s.do(t, req)
	}
	var r apiResponse
	eventually(t, 5*time.Second, func() bool { r = signed(); return r.Status == 200 })
	if string(r.Body) != ok {
		t.Fatalf("signed: %d %s", r.Status, r.Body)
	}
}
