package e2e

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// settledStack polls the stack until no operation is in progress (a certificate's
// ACME validation keeps it CREATE_IN_PROGRESS for a while) and returns the stack.
func (s *instance) settledStack(t *testing.T, name string) map[string]any {
	t.Helper()
	var st map[string]any
	if !eventually(t, 3*time.Minute, func() bool {
		st = s.describeStack(t, name)
		return !strings.HasSuffix(str(st["StackStatus"]), "_IN_PROGRESS")
	}) {
		t.Fatalf("stack %s still in progress: %v", name, st)
	}
	return st
}

// resourceReason is the reason of the first event of a resource in status.
func (s *instance) resourceReason(t *testing.T, stack, logicalID, status string) string {
	t.Helper()
	evs, _ := s.awsJSON("cloudformation", "describe-stack-events", "--stack-name", stack)["StackEvents"].([]any)
	for _, x := range evs {
		m := obj(x)
		if m["LogicalResourceId"] == logicalID && m["ResourceStatus"] == status {
			return str(m["ResourceStatusReason"])
		}
	}
	return ""
}

func policyStatementActions(t *testing.T, doc any) string {
	t.Helper()
	b, _ := json.Marshal(obj(doc)["Statement"])
	return string(b)
}

// An AWS::IAM::Policy puts its inline policy on the stack's role and on a user
// and a group made outside the stack (get-role-policy shows it); it needs
// CAPABILITY_IAM; an update that renames it, changes its document and swaps the
// user for the group moves it in place; delete-stack takes it off everything.
func TestCloudFormationIAMPolicy(t *testing.T) {
	s := startSluice(t, startOpts{})
	s.aws("iam", "create-user", "--user-name", "deployer")
	s.aws("iam", "create-group", "--group-name", "ops")

	tmpl := func(name, action, principals string) string {
		return `Resources:
  FnRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  AppPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: ` + name + `
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: ` + action + `, Resource: "*"}]
      Roles: [!Ref FnRole]
` + principals + `Outputs:
  PolicyRef: {Value: !Ref AppPolicy}
  PolicyId: {Value: !GetAtt AppPolicy.Id}
  RoleName: {Value: !Ref FnRole}
`
	}
	v1 := tmpl("app", "s3:GetObject", "      Users: [deployer]\n")

	// IAM resources need the capability acknowledged, the policy too.
	sum := s.awsJSON("cloudformation", "validate-template", "--template-body", v1)
	if reason := str(sum["CapabilitiesReason"]); reason != "The following resource(s) require capabilities: [AWS::IAM::Policy, AWS::IAM::Role]" {
		t.Fatalf("validate-template = %v", sum)
	}
	if _, stderr, err := s.awsRaw("cloudformation", "create-stack", "--stack-name", "iam", "--template-body", v1); err == nil ||
		!strings.Contains(stderr, "InsufficientCapabilitiesException") || !strings.Contains(stderr, "Requires capabilities : [CAPABILITY_IAM]") {
		t.Fatalf("create-stack without CAPABILITY_IAM: %v %s", err, stderr)
	}
	s.aws("cloudformation", "create-stack", "--stack-name", "iam", "--template-body", v1, "--capabilities", "CAPABILITY_IAM")
	s.waitStack(t, "stack-create-complete", "iam")
	outs := stackOutputs(s.describeStack(t, "iam"))
	role := outs["RoleName"]
	if outs["PolicyRef"] == "" || outs["PolicyRef"] != outs["PolicyId"] || !strings.HasPrefix(outs["PolicyRef"], "iam-AppPo") {
		t.Fatalf("outputs = %v", outs)
	}
	got := s.awsJSON("iam", "get-role-policy", "--role-name", role, "--policy-name", "app")
	if got["RoleName"] != role || got["PolicyName"] != "app" ||
		policyStatementActions(t, got["PolicyDocument"]) != `[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}]` {
		t.Fatalf("get-role-policy = %v", got)
	}
	if got := s.awsJSON("iam", "get-user-policy", "--user-name", "deployer", "--policy-name", "app"); got["PolicyName"] != "app" {
		t.Fatalf("get-user-policy = %v", got)
	}

	// Update: renamed, a new document, the group instead of the user.
	v2 := tmpl("app-v2", "s3:PutObject", "      Groups: [ops]\n")
	s.aws("cloudformation", "update-stack", "--stack-name", "iam", "--template-body", v2, "--capabilities", "CAPABILITY_IAM")
	s.waitStack(t, "stack-update-complete", "iam")
	if ref := stackOutputs(s.describeStack(t, "iam"))["PolicyRef"]; ref != outs["PolicyRef"] {
		t.Fatalf("policy id %s → %s, want an in-place update", outs["PolicyRef"], ref)
	}
	got = s.awsJSON("iam", "get-role-policy", "--role-name", role, "--policy-name", "app-v2")
	if policyStatementActions(t, got["PolicyDocument"]) != `[{"Action":"s3:PutObject","Effect":"Allow","Resource":"*"}]` {
		t.Fatalf("get-role-policy after the update = %v", got)
	}
	if _, stderr, err := s.awsRaw("iam", "get-role-policy", "--role-name", role, "--policy-name", "app"); err == nil || !strings.Contains(stderr, "NoSuchEntity") {
		t.Fatalf("the old policy name is still on the role: %v %s", err, stderr)
	}
	if names, _ := s.awsJSON("iam", "list-user-policies", "--user-name", "deployer")["PolicyNames"].([]any); len(names) != 0 {
		t.Fatalf("user policies after the update = %v", names)
	}
	if got := s.awsJSON("iam", "get-group-policy", "--group-name", "ops", "--policy-name", "app-v2"); got["PolicyName"] != "app-v2" {
		t.Fatalf("get-group-policy = %v", got)
	}

	s.aws("cloudformation", "delete-stack", "--stack-name", "iam")
	s.waitStack(t, "stack-delete-complete", "iam")
	if names, _ := s.awsJSON("iam", "list-group-policies", "--group-name", "ops")["PolicyNames"].([]any); len(names) != 0 {
		t.Fatalf("group policies after delete-stack = %v", names)
	}
	if _, stderr, err := s.awsRaw("iam", "get-role", "--role-name", role); err == nil || !strings.Contains(stderr, "NoSuchEntity") {
		t.Fatalf("role left after delete-stack: %v %s", err, stderr)
	}

	// A policy on nobody fails with CloudFormation's reason, and rolls back.
	none := `Resources:
  Lonely:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: p
      PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}
`
	s.aws("cloudformation", "create-stack", "--stack-name", "lonely", "--template-body", none, "--capabilities", "CAPABILITY_IAM")
	if st := s.settledStack(t, "lonely"); st["StackStatus"] != "ROLLBACK_COMPLETE" {
		t.Fatalf("lonely stack = %v", st)
	}
	if reason := s.resourceReason(t, "lonely", "Lonely", "CREATE_FAILED"); reason != "At least one of [Groups,Roles,Users] must be non-empty." {
		t.Fatalf("CREATE_FAILED reason = %q", reason)
	}
}

// An AWS::CertificateManager::Certificate is requested from Sluice's ACM, issued
// by pebble (ACME) against Sluice's own listeners, and CREATE_COMPLETE only then;
// an AWS::ApiGatewayV2::DomainName serves an HTTP API with it over TLS. A Tags
// change updates it in place; a new SubjectAlternativeNames replaces it (the
// domain moves to the new certificate, the old one is deleted); delete-stack
// removes both. A KeyAlgorithm Sluice cannot honour fails the resource by name.
func TestCloudFormationCertificate(t *testing.T) {
	plain, tlsAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	_, httpPort, _ := net.SplitHostPort(plain)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	p := startPebble(t, httpPort, tlsPort)
	s := startSluice(t, startOpts{args: []string{"--data-listen", plain, "--tls-listen", tlsAddr,
		"--acme-directory", p.Directory, "--acme-ca-root", p.RootFile, "--acme-email", "ops@example.test"}})

	tmpl := func(sans, tags string) string {
		return `Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs22.x
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/cert-fn
      Code:
        ZipFile: |
          exports.handler = async (event) => ({statusCode: 200, body: JSON.stringify({path: event.rawPath})});
  Cert:
    Type: AWS::CertificateManager::Certificate
    Properties:
      DomainName: cert.example.test
      SubjectAlternativeNames: ` + sans + `
      ValidationMethod: DNS
      DomainValidationOptions: [{DomainName: cert.example.test}]
      Tags: ` + tags + `
  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: cert-http, ProtocolType: HTTP, Target: !GetAtt Fn.Arn}
  HttpPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref Fn
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Http}/*
  Domain:
    Type: AWS::ApiGatewayV2::DomainName
    Properties:
      DomainName: cert.example.test
      DomainNameConfigurations: [{CertificateArn: !Ref Cert, EndpointType: REGIONAL}]
  Mapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    Properties:
      DomainName: !Ref Domain
      ApiId: !Ref Http
      Stage: $default
      ApiMappingKey: v2
Outputs:
  CertArn: {Value: !Ref Cert}
`
	}
	v1 := tmpl("[cert.example.test]", "[{Key: app, Value: email}]")
	s.aws("cloudformation", "create-stack", "--stack-name", "certs", "--template-body", v1)
	st := s.settledStack(t, "certs")
	if st["StackStatus"] != "CREATE_COMPLETE" {
		out, _, _ := s.awsRaw("cloudformation", "describe-stack-events", "--stack-name", "certs", "--output", "text",
			"--query", "StackEvents[].[LogicalResourceId,ResourceStatus,ResourceStatusReason]")
		t.Fatalf("stack = %v\nevents:\n%s", st, out)
	}
	arn := stackOutputs(st)["CertArn"]
	desc := obj(s.awsJSON("acm", "describe-certificate", "--certificate-arn", arn)["Certificate"])
	if desc["Status"] != "ISSUED" || desc["Type"] != "AMAZON_ISSUED" || !strings.Contains(str(desc["Issuer"]), "Pebble") {
		t.Fatalf("describe-certificate = %v", desc)
	}
	dn := s.awsJSON("apigatewayv2", "get-domain-name", "--domain-name", "cert.example.test")
	if cfgs, _ := dn["DomainNameConfigurations"].([]any); len(cfgs) != 1 || obj(cfgs[0])["CertificateArn"] != arn {
		t.Fatalf("get-domain-name = %v", dn)
	}
	roots, _ := p.issuingRoots(t)
	serves := func(want string) {
		t.Helper()
		var r apiResponse
		names := ""
		eventually(t, 10*time.Second, func() bool {
			res, conn := tlsGet(t, tlsAddr, "cert.example.test", "/v2/ping", roots)
			r = res
			if conn != nil && len(conn.PeerCertificates) > 0 {
				names = strings.Join(conn.PeerCertificates[0].DNSNames, ",")
			}
			return r.Status == 200 && names == want
		})
		if r.Status != 200 || names != want {
			t.Fatalf("https://cert.example.test/v2/ping = %d %s, served for %q, want %q", r.Status, r.Body, names, want)
		}
	}
	serves("cert.example.test")

	tagsOf := func(arn string) map[string]string {
		t.Helper()
		m := map[string]string{}
		tags, _ := s.awsJSON("acm", "list-tags-for-certificate", "--certificate-arn", arn)["Tags"].([]any)
		for _, x := range tags {
			m[str(obj(x)["Key"])] = str(obj(x)["Value"])
		}
		return m
	}

	// Tags update in place: same certificate.
	v2 := tmpl("[cert.example.test]", "[{Key: app, Value: mail}, {Key: owner, Value: ops}]")
	s.aws("cloudformation", "update-stack", "--stack-name", "certs", "--template-body", v2)
	s.waitStack(t, "stack-update-complete", "certs")
	if got := stackOutputs(s.describeStack(t, "certs"))["CertArn"]; got != arn {
		t.Fatalf("a Tags change replaced the certificate: %s → %s", arn, got)
	}
	if tags := tagsOf(arn); len(tags) != 2 || tags["app"] != "mail" || tags["owner"] != "ops" {
		t.Fatalf("tags after the update = %v", tags)
	}

	// A new name replaces it: the domain moves to the new certificate and the old
	// one is deleted.
	v3 := tmpl("[cert.example.test, www.cert.example.test]", "[{Key: app, Value: mail}, {Key: owner, Value: ops}]")
	s.aws("cloudformation", "update-stack", "--stack-name", "certs", "--template-body", v3)
	if st := s.settledStack(t, "certs"); st["StackStatus"] != "UPDATE_COMPLETE" {
		t.Fatalf("stack after the SAN change = %v", st)
	}
	newArn := stackOutputs(s.describeStack(t, "certs"))["CertArn"]
	if newArn == arn || newArn == "" {
		t.Fatalf("a SubjectAlternativeNames change kept the certificate %s", arn)
	}
	if desc := obj(s.awsJSON("acm", "describe-certificate", "--certificate-arn", newArn)["Certificate"]); desc["Status"] != "ISSUED" {
		t.Fatalf("new certificate = %v", desc)
	}
	if _, stderr, err := s.awsRaw("acm", "describe-certificate", "--certificate-arn", arn); err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("the replaced certificate is left: %v %s", err, stderr)
	}
	serves("cert.example.test,www.cert.example.test")

	s.aws("cloudformation", "delete-stack", "--stack-name", "certs")
	s.waitStack(t, "stack-delete-complete", "certs")
	if _, stderr, err := s.awsRaw("acm", "describe-certificate", "--certificate-arn", newArn); err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("certificate left after delete-stack: %v %s", err, stderr)
	}
	if _, stderr, err := s.awsRaw("apigatewayv2", "get-domain-name", "--domain-name", "cert.example.test"); err == nil || !strings.Contains(stderr, "NotFoundException") {
		t.Fatalf("domain left after delete-stack: %v %s", err, stderr)
	}

	// What Sluice cannot honour fails the resource by name, and rolls back.
	rsa := `Resources:
  Cert:
    Type: AWS::CertificateManager::Certificate
    Properties: {DomainName: rsa.example.test, KeyAlgorithm: RSA_2048}
`
	s.aws("cloudformation", "create-stack", "--stack-name", "rsa", "--template-body", rsa)
	if st := s.settledStack(t, "rsa"); st["StackStatus"] != "ROLLBACK_COMPLETE" {
		t.Fatalf("rsa stack = %v", st)
	}
	if reason := s.resourceReason(t, "rsa", "Cert", "CREATE_FAILED"); !strings.HasPrefix(reason, "Sluice does not support property KeyAlgorithm of resource Cert yet") {
		t.Fatalf("CREATE_FAILED reason = %q", reason)
	}
	if certs, _ := s.awsJSON("acm", "list-certificates", "--includes", "keyTypes=EC_prime256v1,RSA_2048")["CertificateSummaryList"].([]any); len(certs) != 0 {
		t.Fatalf("certificates left: %v", certs)
	}
}
