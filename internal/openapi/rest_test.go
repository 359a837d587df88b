package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// securityDoc is a Swagger 2.0 document whose GET /p carries the given security
// list, with a TOKEN authorizer "Token", SigV4 "sigv4", a second authorizer
// "Other", the x-api-key scheme "api_key" and an OAuth scheme API Gateway cannot
// enforce.
func securityDoc(security string) string {
	return `{"swagger":"2.0","info":{"title":"sec","version":"1"},
  "securityDefinitions":{
    "Token":{"type":"apiKey","name":"X-Token","in":"header","x-amazon-apigateway-authtype":"custom",
      "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations"}},
    "Other":{"type":"apiKey","name":"X-Other","in":"header",
      "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:other/invocations"}},
    "sigv4":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"},
    "api_key":{"type":"apiKey","name":"x-api-key","in":"header"},
    "oauth":{"type":"oauth2","flow":"implicit","authorizationUrl":"https://id.example/auth","scopes":{}}},
  "paths":{"/p":{"get":{"security":` + security + `,"responses":{},
    "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}}}}`
}

// TestRestSecurityEveryRequirement pins how API Gateway's REST import reads a
// security list: every requirement object applies (SAM writes an authorizer and the
// API key as two objects and AWS enforces both), and what one method cannot enforce
// fails the import instead of serving the method less protected.
func TestRestSecurityEveryRequirement(t *testing.T) {
	tests := []struct {
		name     string
		security string
		authType string
		authz    string
		key      bool
		problem  string // a substring of the ImportError, "" when the import succeeds
	}{
		{"none", `[]`, "NONE", "", false, ""},
		{"empty object", `[{}]`, "NONE", "", false, ""},
		{"authorizer", `[{"Token":[]}]`, "CUSTOM", "Token", false, ""},
		{"key", `[{"api_key":[]}]`, "NONE", "", true, ""},
		{"authorizer and key in one object", `[{"Token":[],"api_key":[]}]`, "CUSTOM", "Token", true, ""},
		{"authorizer then key (SAM's shape)", `[{"Token":[]},{"api_key":[]}]`, "CUSTOM", "Token", true, ""},
		{"key then authorizer (AWS's export)", `[{"api_key":[]},{"Token":[]}]`, "CUSTOM", "Token", true, ""},
		{"sigv4 then key", `[{"sigv4":[]},{"api_key":[]}]`, "AWS_IAM", "", true, ""},
		{"an empty object does not make the key optional", `[{},{"api_key":[]}]`, "NONE", "", true, ""},
		{"one authorizer twice", `[{"Token":[]},{"Token":[],"api_key":[]}]`, "CUSTOM", "Token", true, ""},
		{"two authorizers", `[{"Token":[]},{"Other":[]}]`, "", "", false, "more than one authorizer (Token, Other)"},
		{"authorizer and sigv4", `[{"Token":[]},{"sigv4":[]}]`, "", "", false, "authorizer Token and AWS_IAM on one method"},
		{"sigv4 and authorizer", `[{"sigv4":[]},{"Token":[]}]`, "", "", false, "authorizer Token and AWS_IAM on one method"},
		{"unenforceable in a later object", `[{"api_key":[]},{"oauth":[]}]`, "", "", false, "security scheme 'oauth' (type oauth2)"},
		{"undefined in a later object", `[{"api_key":[]},{"nope":[]}]`, "", "", false, "security scheme 'nope' is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(securityDoc(tt.security)))
			if err != nil {
				t.Fatal(err)
			}
			def, err := doc.RestAPI(RestOptions{})
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("import error = %v, want one containing %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := restMethod(t, def, "/p", "GET")
			if m.AuthorizationType != tt.authType || m.AuthorizerID != tt.authz || m.APIKeyRequired != tt.key {
				t.Errorf("method = authorizationType %s, authorizer %q, apiKeyRequired %v; want %s, %q, %v",
					m.AuthorizationType, m.AuthorizerID, m.APIKeyRequired, tt.authType, tt.authz, tt.key)
			}
			for _, w := range def.Warnings {
				if strings.Contains(w, "security") {
					t.Errorf("warning about security: %s", w)
				}
			}
		})
	}
}

// TestRestSecurityDocumentLevel: the document's security applies to operations
// without their own, every object of it, and an operation's own list replaces it.
func TestRestSecurityDocumentLevel(t *testing.T) {
	body := strings.Replace(securityDoc(`[{"Token":[]}]`), `"paths":{`,
		`"security":[{"Token":[]},{"api_key":[]}],"paths":{"/q":{"get":{"responses":{}}},`, 1)
	doc, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	def, err := doc.RestAPI(RestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := restMethod(t, def, "/q", "GET"); q.AuthorizerID != "Token" || !q.APIKeyRequired {
		t.Errorf("/q inherits %s %q key=%v, want Token and the key", q.AuthorizationType, q.AuthorizerID, q.APIKeyRequired)
	}
	if p := restMethod(t, def, "/p", "GET"); p.AuthorizerID != "Token" || p.APIKeyRequired {
		t.Errorf("/p = %s %q key=%v, want its own list (Token, no key)", p.AuthorizationType, p.AuthorizerID, p.APIKeyRequired)
	}
}

// TestExportRestSecurityRoundTrip: an exported method that needs an authorizer and
// a key lists them as two requirement objects, and importing the export gives the
// method both again.
func TestExportRestSecurityRoundTrip(t *testing.T) {
	ttl := 300
	snap := &model.RestSnapshot{
		API: model.RestAPI{Name: "sec"},
		Authorizers: map[string]*model.Authorizer{"a1": {ID: "a1", Name: "Token", Type: "TOKEN",
			IdentitySource:               "method.request.header.X-Token",
			AuthorizerURI:                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations",
			AuthorizerResultTTLInSeconds: &ttl}},
		Resources: []*model.Resource{{ID: "r0", Path: "/"}, {ID: "r1", ParentID: "r0", PathPart: "p", Path: "/p",
			ResourceMethods: map[string]*model.Method{"GET": {HTTPMethod: "GET", AuthorizationType: "CUSTOM", AuthorizerID: "a1", APIKeyRequired: true,
				MethodIntegration: &model.Integration{Type: "MOCK"}}}}},
	}
	for _, swagger := range []bool{false, true} {
		out := ExportRest(snap, ExportOptions{Swagger: swagger, APIGateway: true, Host: "x.execute-api.us-east-1.amazonaws.com", Stage: "dev"})
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"security":[{"Token":[]},{"api_key":[]}]`) {
			t.Errorf("swagger=%v export security: %s", swagger, b)
		}
		doc, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		def, err := doc.RestAPI(RestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m := restMethod(t, def, "/p", "GET"); m.AuthorizationType != "CUSTOM" || m.AuthorizerID != "Token" || !m.APIKeyRequired {
			t.Errorf("swagger=%v re-imported method = %s %q key=%v", swagger, m.AuthorizationType, m.AuthorizerID, m.APIKeyRequired)
		}
	}
}

func restMethod(t *testing.T, def *RestDefinition, path, verb string) *model.Method {
	t.Helper()
	for _, r := range def.Resources {
		if r.Path == path && r.Methods[verb] != nil {
			return r.Methods[verb]
		}
	}
	t.Fatalf("no %s %s in %+v", verb, path, def.Resources)
	return nil
}
