package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A stack with custom domains: AWS::ApiGateway::DomainName + BasePathMapping put the
// scenario-1 REST API's stage v1 at the root of api.example.test, and
// AWS::ApiGatewayV2::DomainName + ApiMapping put an HTTP API under "v2" on
// http.example.test, both with imported certificates; served over TLS by Host; a
// stack update moves the mapping's key; deleting the stack removes the domains. The
// same written as SAM: Domain on an AWS::Serverless::Api and on an
// AWS::Serverless::HttpApi (its domain name a parameter, as SAM resolves it).
func TestCloudFormationCustomDomains(t *testing.T) {
	plain, tlsAddr := freeAddr(t, "127.0.0.1"), freeAddr(t, "127.0.0.1")
	s := startSluice(t, startOpts{args: []string{"--data-listen", plain, "--tls-listen", tlsAddr}})
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile, chainFile := ca.issue(t, dir, 200, "api.example.test", "http.example.test", "sam.example.test", "samhttp.example.test")
	certArn := str(s.awsJSON("acm", "import-certificate", "--certificate", "fileb://"+certFile,
		"--private-key", "fileb://"+keyFile, "--certificate-chain", "fileb://"+chainFile)["CertificateArn"])
	restID := emailAPI(t, s)
	fnArn := str(s.awsJSON("lambda", "get-function", "--function-name", "email")["Configuration"].(map[string]any)["FunctionArn"])

	tmpl := func(key, restTags, httpTags string) string {
		return `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  RestApiId: {Type: String}
  CertArn: {Type: String}
  FnArn: {Type: String}
Resources:
  RestDomain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: api.example.test
      RegionalCertificateArn: !Ref CertArn
      EndpointConfiguration: {Types: [REGIONAL]}
      SecurityPolicy: TLS_1_2
      Tags: ` + restTags + `
  RestMapping:
    Type: AWS::ApiGateway::BasePathMapping
    Properties:
      DomainName: !Ref RestDomain
      RestApiId: !Ref RestApiId
      Stage: v1
  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: http-dom, ProtocolType: HTTP, Target: !Ref FnArn}
` + invokePermission("HttpPermission", "Http") + `  HttpDomain:
    Type: AWS::ApiGatewayV2::DomainName
    Properties:
      DomainName: http.example.test
      DomainNameConfigurations: [{CertificateArn: !Ref CertArn, EndpointType: REGIONAL, SecurityPolicy: TLS_1_2}]
      Tags: ` + httpTags + `
  HttpMapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    DependsOn: HttpDomain
    Properties:
      DomainName: http.example.test
      ApiId: !Ref Http
      Stage: $default
      ApiMappingKey: ` + key + `
Outputs:
  Regional: {Value: !GetAtt RestDomain.RegionalDomainName}
  HttpRegional: {Value: !GetAtt HttpDomain.RegionalDomainName}
  MappingId: {Value: !Ref HttpMapping}
`
	}
	file := filepath.Join(dir, "domains.yaml")
	deploy := func(key, restTags, httpTags string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(tmpl(key, restTags, httpTags)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, stderr, err := s.awsRaw("cloudformation", "deploy", "--stack-name", "domains", "--template-file", file,
			"--parameter-overrides", "RestApiId="+restID, "CertArn="+certArn, "FnArn="+fnArn); err != nil {
			events, _, _ := s.awsRaw("cloudformation", "describe-stack-events", "--stack-name", "domains",
				"--query", "StackEvents[?ResourceStatusReason!=null].[LogicalResourceId,ResourceStatus,ResourceStatusReason]", "--output", "text")
			t.Fatalf("cloudformation deploy: %v\n%s\n%s\nevents:\n%s", err, out, stderr, events)
		}
	}
	deploy("v2", "[{Key: app, Value: email}, {Key: tier, Value: edge}]", "{app: email}")
	outs := stackOutputs(s.describeStack(t, "domains"))
	if outs["Regional"] == "" || outs["HttpRegional"] == "" || outs["MappingId"] == "" {
		t.Fatalf("outputs = %v", outs)
	}
	dn := s.awsJSON("apigateway", "get-domain-name", "--domain-name", "api.example.test")
	if dn["regionalCertificateArn"] != certArn || dn["securityPolicy"] != "TLS_1_2" {
		t.Fatalf("get-domain-name = %v", dn)
	}

	var r apiResponse
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "api.example.test", "/email/send", ca.pool)
		return r.Status == 200
	})
	if m := r.JSON(t); r.Status != 200 || m["path"] != "/email/send" || m["sent"] != true {
		t.Fatalf("https://api.example.test/email/send = %d %s", r.Status, r.Body)
	}
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "http.example.test", "/v2/email/ping", ca.pool)
		return r.Status == 200
	})
	if r.Status != 200 {
		t.Fatalf("https://http.example.test/v2/email/ping = %d %s", r.Status, r.Body)
	}

	domainTags := func() (rest, http string) {
		t.Helper()
		arn := "arn:aws:apigateway:us-east-1::/domainnames/"
		r, _ := json.Marshal(s.awsJSON("apigateway", "get-tags", "--resource-arn", arn+"api.example.test")["tags"])
		h, _ := json.Marshal(s.awsJSON("apigatewayv2", "get-tags", "--resource-arn", arn+"http.example.test")["Tags"])
		return string(r), string(h)
	}
	if r, h := domainTags(); r != `{"app":"email","tier":"edge"}` || h != `{"app":"email"}` {
		t.Fatalf("domain tags = %s and %s", r, h)
	}

	// An update moves the HTTP API's mapping key in place (same mapping id) and
	// changes both domains' tags in place: one removed, one changed, one added.
	deploy("v3", "[{Key: app, Value: mail}]", "{app: mail, team: front}")
	if r, h := domainTags(); r != `{"app":"mail"}` || h != `{"app":"mail","team":"front"}` {
		t.Fatalf("domain tags after the update = %s and %s", r, h)
	}
	if id := stackOutputs(s.describeStack(t, "domains"))["MappingId"]; id != outs["MappingId"] {
		t.Fatalf("mapping id %s → %s, want an in-place update", outs["MappingId"], id)
	}
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "http.example.test", "/v3/email/ping", ca.pool)
		return r.Status == 200
	})
	if r.Status != 200 {
		t.Fatalf("after the update, /v3/email/ping = %d %s", r.Status, r.Body)
	}
	if r, _ = tlsGet(t, tlsAddr, "http.example.test", "/v2/email/ping", ca.pool); r.Status != 404 && r.Status != 403 {
		t.Fatalf("after the update, the old key still serves: %d %s", r.Status, r.Body)
	}

	// SAM's Domain on an AWS::Serverless::Api and an AWS::Serverless::HttpApi: the
	// same scenario, written as SAM.
	samFile := filepath.Join(dir, "sam.yaml")
	samTemplate := `Transform: AWS::Serverless-2016-10-31
Parameters:
  CertArn: {Type: String}
  FnArn: {Type: String}
  HttpDomain: {Type: String, Default: samhttp.example.test}
Resources:
  EmailHttp:
    Type: AWS::Serverless::HttpApi
    Properties:
      Domain: {DomainName: !Ref HttpDomain, CertificateArn: !Ref CertArn, SecurityPolicy: TLS_1_2, BasePath: [/v2]}
` + emailDefinition("sam-email-http", "!Ref FnArn", `payloadFormatVersion: "2.0"`) + invokePermission("EmailHttpPermission", "EmailHttp") + `  EmailApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Domain: {DomainName: sam.example.test, CertificateArn: !Ref CertArn, SecurityPolicy: TLS_1_2}
` + emailDefinition("sam-email", "!Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${FnArn}/invocations", "") + invokePermission("EmailPermission", "EmailApi")
	if err := os.WriteFile(samFile, []byte(samTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := s.awsRaw("cloudformation", "deploy", "--stack-name", "samdomain", "--template-file", samFile,
		"--parameter-overrides", "CertArn="+certArn, "FnArn="+fnArn); err != nil {
		t.Fatalf("cloudformation deploy (SAM): %v\n%s\n%s", err, out, stderr)
	}
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "sam.example.test", "/email/send", ca.pool)
		return r.Status == 200
	})
	if m := r.JSON(t); r.Status != 200 || m["path"] != "/email/send" || m["sent"] != true {
		t.Fatalf("https://sam.example.test/email/send = %d %s", r.Status, r.Body)
	}
	eventually(t, 5*time.Second, func() bool {
		r, _ = tlsGet(t, tlsAddr, "samhttp.example.test", "/v2/email/ping", ca.pool)
		return r.Status == 200
	})
	if r.Status != 200 {
		t.Fatalf("https://samhttp.example.test/v2/email/ping = %d %s", r.Status, r.Body)
	}
	// SAM's names: ApiGatewayDomainNameV2 + sha1("samhttp.example.test")[:10], and
	// {Api}{BasePath}ApiMapping on the auto-deployed $default stage.
	got := map[string]string{}
	for _, x := range s.awsJSON("cloudformation", "describe-stack-resources", "--stack-name", "samdomain")["StackResources"].([]any) {
		res := x.(map[string]any)
		got[str(res["LogicalResourceId"])] = str(res["ResourceType"]) + " " + str(res["PhysicalResourceId"])
	}
	if got["ApiGatewayDomainNameV2f9cea3f1f3"] != "AWS::ApiGatewayV2::DomainName samhttp.example.test" ||
		!strings.HasPrefix(got["EmailHttpv2ApiMapping"], "AWS::ApiGatewayV2::ApiMapping ") {
		t.Fatalf("stack resources = %v", got)
	}
	maps := s.awsJSON("apigatewayv2", "get-api-mappings", "--domain-name", "samhttp.example.test")["Items"].([]any)
	if len(maps) != 1 || maps[0].(map[string]any)["ApiMappingKey"] != "v2" || maps[0].(map[string]any)["Stage"] != "$default" {
		t.Fatalf("get-api-mappings = %v", maps)
	}
	if tags := s.awsJSON("apigatewayv2", "get-domain-name", "--domain-name", "samhttp.example.test")["Tags"]; str(tags.(map[string]any)["httpapi:createdBy"]) != "SAM" {
		t.Fatalf("domain tags = %v", tags)
	}
	s.aws("cloudformation", "delete-stack", "--stack-name", "samdomain")
	s.waitStack(t, "stack-delete-complete", "samdomain")
	if _, stderr, err := s.awsRaw("apigatewayv2", "get-domain-name", "--domain-name", "samhttp.example.test"); err == nil || !strings.Contains(stderr, "NotFoundException") {
		t.Fatalf("SAM HttpApi domain left after delete-stack: %v %s", err, stderr)
	}

	s.aws("cloudformation", "delete-stack", "--stack-name", "domains")
	s.waitStack(t, "stack-delete-complete", "domains")
	if _, stderr, err := s.awsRaw("apigateway", "get-domain-name", "--domain-name", "api.example.test"); err == nil || !strings.Contains(stderr, "NotFoundException") {
		t.Fatalf("domain left after delete-stack: %v %s", err, stderr)
	}
	if _, stderr, err := s.awsRaw("apigatewayv2", "get-domain-name", "--domain-name", "http.example.test"); err == nil || !strings.Contains(stderr, "NotFoundException") {
		t.Fatalf("HTTP domain left after delete-stack: %v %s", err, stderr)
	}
}

// invokePermission is an AWS::Lambda::Permission letting the API api invoke the
// FnArn parameter's function.
func invokePermission(name, api string) string {
	return "  " + name + `:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref FnArn
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${` + api + `}/*
`
}

// emailDefinition is a SAM API's DefinitionBody sending ANY /email/{proxy+} to
// the function at uri (with extra, another integration property, when not "").
func emailDefinition(title, uri, extra string) string {
	body := `      DefinitionBody:
        openapi: "3.0.1"
        info: {title: ` + title + `, version: "1"}
        paths:
          /email/{proxy+}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: ` + uri + "\n"
	if extra != "" {
		body += "                " + extra + "\n"
	}
	return body
}
