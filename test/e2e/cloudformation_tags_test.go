package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// An HTTP API (created, and imported from a Body), its stage and their tags
// through CloudFormation: tags set at creation (ImportApi takes none, so they
// follow by TagResource) and changed by a stack update through TagResource and
// UntagResource, as UpdateApi and UpdateStage take no tags.
func TestCloudFormationHTTPAPITags(t *testing.T) {
	s := startSluice(t, startOpts{})
	file := filepath.Join(t.TempDir(), "tags.yaml")
	deploy := func(apiTags, stageTags string) map[string]string {
		t.Helper()
		body := `Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: tagged, ProtocolType: HTTP, Tags: ` + apiTags + `}
  Imported:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Tags: ` + apiTags + `
      Body:
        openapi: "3.0.1"
        info: {title: imported, version: "1"}
        paths:
          /up:
            get:
              x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://example.com/", payloadFormatVersion: "1.0"}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: prod, Tags: ` + stageTags + `}
Outputs:
  ApiId: {Value: !Ref Api}
  ImportedId: {Value: !Ref Imported}
`
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, stderr, err := s.awsRaw("cloudformation", "deploy", "--stack-name", "tags", "--template-file", file); err != nil {
			t.Fatalf("cloudformation deploy: %v\n%s\n%s", err, out, stderr)
		}
		return stackOutputs(s.describeStack(t, "tags"))
	}
	tags := func(resource string) string {
		t.Helper()
		b, _ := json.Marshal(s.awsJSON("apigatewayv2", "get-tags", "--resource-arn", "arn:aws:apigateway:us-east-1::"+resource)["Tags"])
		return string(b)
	}
	want := func(outs map[string]string, api, stage string) {
		t.Helper()
		for _, c := range []struct{ resource, want string }{
			{"/apis/" + outs["ApiId"], api}, {"/apis/" + outs["ImportedId"], api}, {"/apis/" + outs["ApiId"] + "/stages/prod", stage}} {
			if got := tags(c.resource); got != c.want {
				t.Errorf("tags of %s = %s, want %s", c.resource, got, c.want)
			}
		}
	}
	outs := deploy("{a: '1', b: '2'}", "{s: x}")
	want(outs, `{"a":"1","b":"2"}`, `{"s":"x"}`)
	// One tag changed, one removed, one added; the stage's replaced.
	outs = deploy("{a: '9', c: '3'}", "{t: y}")
	want(outs, `{"a":"9","c":"3"}`, `{"t":"y"}`)
}
