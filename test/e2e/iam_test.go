package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// iamCreds is an access key pair (and session token for AssumeRole credentials).
type iamCreds struct{ id, secret, token string }

// signedCall builds an execute-api request to apiID signed by c with aws-sdk-go-v2's
// signer for service and region at signTime; presign signs the query instead of
// the headers.
func (s *instance) signedCall(t *testing.T, method, apiID, path, body string, c iamCreds, service, region string, signTime time.Time, presign bool) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = apiID + ".execute-api.localhost:" + s.Addr[strings.LastIndex(s.Addr, ":")+1:]
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret, SessionToken: c.token}
	signer := v4.NewSigner()
	if presign {
		u, _, err := signer.PresignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, signTime)
		if err != nil {
			t.Fatal(err)
		}
		r2, _ := http.NewRequest(method, u, strings.NewReader(body))
		r2.URL.Host = s.Addr
		r2.Host = req.Host
		return r2
	}
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, signTime); err != nil {
		t.Fatal(err)
	}
	return req
}

func (s *instance) createKeys(t *testing.T, user string) iamCreds {
	t.Helper()
	s.aws("iam", "create-user", "--user-name", user)
	out := s.awsJSON("iam", "create-access-key", "--user-name", user)
	k, _ := out["AccessKey"].(map[string]any)
	return iamCreds{id: str(k["AccessKeyId"]), secret: str(k["SecretAccessKey"])}
}

// Seed scenario 3's SigV4 part, with the IAM and STS subset driven by the AWS CLI: a
// user whose policy allows execute-api:Invoke on the method gets through an AWS_IAM
// method, header- or query-signed; a user without a policy, an unsigned request, a
// tampered body, another service's or region's signature, an expired one, an unknown
// or inactive key are refused; AssumeRole credentials work with their session token.
func TestIAMAndSigV4OnMethods(t *testing.T) {
	s := startSluice(t, startOpts{})
	api := newRESTAPI(t, s, "iam")
	rid := api.resource(api.root, "iam")
	for _, verb := range []string{"GET", "POST"} {
		s.aws("apigateway", "put-method", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb, "--authorization-type", "AWS_IAM")
		s.aws("apigateway", "put-integration", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb,
			"--type", "MOCK", "--request-templates", `{"application/json":"{\"statusCode\": 200}"}`)
		s.aws("apigateway", "put-method-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb, "--status-code", "200")
		s.aws("apigateway", "put-integration-response", "--rest-api-id", api.id, "--resource-id", rid, "--http-method", verb,
			"--status-code", "200", "--response-templates", `{"application/json":"{\"signed\":true}"}`)
	}
	api.deploy("prod")

	alice, bob := s.createKeys(t, "alice"), s.createKeys(t, "bob")
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:` + api.id + `/prod/*/iam"}]}`
	s.aws("iam", "put-user-policy", "--user-name", "alice", "--policy-name", "invoke", "--policy-document", allow)
	if got := s.awsJSON("iam", "get-user-policy", "--user-name", "alice", "--policy-name", "invoke"); got["PolicyName"] != "invoke" {
		t.Fatalf("get-user-policy = %v", got)
	}
	if _, stderr, err := s.awsRaw("iam", "create-user", "--user-name", "alice"); err == nil || !strings.Contains(stderr, "EntityAlreadyExists") {
		t.Fatalf("duplicate create-user: %v %s", err, stderr)
	}
	if _, stderr, err := s.awsRaw("iam", "put-user-policy", "--user-name", "bob", "--policy-name", "x", "--policy-document", `{"Statement":[]}`); err == nil ||
		!strings.Contains(stderr, "MalformedPolicyDocument") {
		t.Fatalf("malformed policy: %v %s", err, stderr)
	}
	out, stderr, err := s.awsAs(alice.id, alice.secret, "sts", "get-caller-identity")
	if err != nil || !strings.Contains(string(out), "arn:aws:iam::123456789012:user/alice") {
		t.Fatalf("get-caller-identity as alice: %v %s %s", err, out, stderr)
	}

	now := time.Now()
	ok := func(what string, req *http.Request) {
		t.Helper()
		if r := s.do(t, req); r.Status != 200 || string(r.Body) != `{"signed":true}` {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	refused := func(what string, req *http.Request, status int, want string) {
		t.Helper()
		r := s.do(t, req)
		if r.Status != status || !strings.Contains(string(r.Body), want) {
			t.Fatalf("%s: %d %s, want %d containing %q", what, r.Status, r.Body, status, want)
		}
	}
	var first *http.Request
	eventually(t, 3*time.Second, func() bool {
		first = s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", time.Now(), false)
		return s.do(t, first).Status == 200
	})
	ok("alice, header-signed", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", now, false))
	ok("alice, query-signed", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", now, true))
	ok("alice, POST with body", s.signedCall(t, "POST", api.id, "/prod/iam", `{"a":1}`, alice, "execute-api", "us-east-1", now, false))

	refused("bob without a policy", s.signedCall(t, "GET", api.id, "/prod/iam", "", bob, "execute-api", "us-east-1", now, false), 403,
		`{"Message":"User: arn:aws:iam::123456789012:user/bob is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********9012:`+api.id+`/prod/GET/iam"}`)
	refused("unsigned", mustRequest(t, s, "GET", api.id, "/prod/iam", ""), 403, `{"message":"Missing Authentication Token"}`)
	tampered := s.signedCall(t, "POST", api.id, "/prod/iam", `{"a":1}`, alice, "execute-api", "us-east-1", now, false)
	tampered.Body, tampered.ContentLength = io.NopCloser(bytes.NewReader([]byte(`{"a":2}`))), 7
	refused("body tampered after signing", tampered, 403, "The request signature we calculated does not match")
	refused("signed for lambda", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "lambda", "us-east-1", now, false), 403, "execute-api")
	refused("signed for another region", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "eu-west-1", now, false), 403, "region")
	refused("signed 20 minutes ago", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", now.Add(-20*time.Minute), false), 403, "Signature expired")
	refused("unknown key", s.signedCall(t, "GET", api.id, "/prod/iam", "", iamCreds{"AKIAUNKNOWNUNKNOWN12", "x", ""}, "execute-api", "us-east-1", now, false), 403,
		"The security token included in the request is invalid.")
	refused("wrong secret", s.signedCall(t, "GET", api.id, "/prod/iam", "", iamCreds{alice.id, "wrong", ""}, "execute-api", "us-east-1", now, false), 403,
		"The request signature we calculated does not match")

	// A resource policy Deny for alice wins over her identity policy.
	api.setPolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"execute-api:Invoke","Resource":"execute-api:/prod/POST/*"}]}`)
	api.deploy("prod")
	eventually(t, 3*time.Second, func() bool {
		return s.do(t, s.signedCall(t, "POST", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", time.Now(), false)).Status == 403
	})
	refused("alice denied by the resource policy", s.signedCall(t, "POST", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", time.Now(), false), 403, "with an explicit deny")
	ok("alice GET still allowed", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", time.Now(), false))

	// AssumeRole: temporary credentials, usable only with their session token.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"}]}`
	s.aws("iam", "create-role", "--role-name", "invoker", "--assume-role-policy-document", trust)
	pol := s.awsJSON("iam", "create-policy", "--policy-name", "invoke-all", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	polARN := str(pol["Policy"].(map[string]any)["Arn"])
	s.aws("iam", "attach-role-policy", "--role-name", "invoker", "--policy-arn", polARN)
	out, stderr, err = s.awsAs(alice.id, alice.secret, "sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/invoker", "--role-session-name", "s1")
	if err == nil || !strings.Contains(stderr, "AccessDenied") {
		t.Fatalf("alice may not assume the role: %v %s %s", err, out, stderr)
	}
	out, stderr, err = s.awsAs(bob.id, bob.secret, "sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/invoker", "--role-session-name", "s1")
	var assumed struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	if err != nil || json.Unmarshal(out, &assumed) != nil || !strings.HasPrefix(assumed.Credentials.AccessKeyId, "ASIA") {
		t.Fatalf("assume-role as bob: %v %s %s", err, out, stderr)
	}
	session := iamCreds{assumed.Credentials.AccessKeyId, assumed.Credentials.SecretAccessKey, assumed.Credentials.SessionToken}
	eventually(t, 3*time.Second, func() bool {
		return s.do(t, s.signedCall(t, "GET", api.id, "/prod/iam", "", session, "execute-api", "us-east-1", time.Now(), false)).Status == 200
	})
	ok("assumed role", s.signedCall(t, "GET", api.id, "/prod/iam", "", session, "execute-api", "us-east-1", time.Now(), false))
	refused("assumed role without its token", s.signedCall(t, "GET", api.id, "/prod/iam", "",
		iamCreds{session.id, session.secret, ""}, "execute-api", "us-east-1", time.Now(), false), 403, "security token")

	// An inactive key is refused.
	s.aws("iam", "update-access-key", "--user-name", "alice", "--access-key-id", alice.id, "--status", "Inactive")
	eventually(t, 3*time.Second, func() bool {
		return s.do(t, s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", time.Now(), false)).Status == 403
	})
	refused("inactive key", s.signedCall(t, "GET", api.id, "/prod/iam", "", alice, "execute-api", "us-east-1", time.Now(), false), 403,
		"The security token included in the request is invalid.")
	keys := s.awsJSON("iam", "list-access-keys", "--user-name", "alice")
	if md, _ := keys["AccessKeyMetadata"].([]any); len(md) != 1 || md[0].(map[string]any)["Status"] != "Inactive" {
		t.Fatalf("list-access-keys = %v", keys)
	}
	if _, stderr, err := s.awsRaw("iam", "delete-user", "--user-name", "alice"); err == nil || !strings.Contains(stderr, "DeleteConflict") {
		t.Fatalf("delete-user with keys: %v %s", err, stderr)
	}
	if _, stderr, err := s.awsRaw("iam", "get-user", "--user-name", "nobody"); err == nil || !strings.Contains(stderr, "NoSuchEntity") {
		t.Fatalf("get-user nobody: %v %s", err, stderr)
	}
}

func mustRequest(t *testing.T, s *instance, method, apiID, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = apiID + ".execute-api.localhost:" + s.Addr[strings.LastIndex(s.Addr, ":")+1:]
	return req
}
