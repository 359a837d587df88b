package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const petstoreOAS3 = `openapi: "3.0.1"
info:
  title: PetStore
  version: "1.0"
servers:
  - url: https://example.com/{basePath}
    variables:
      basePath:
        default: prod
paths:
  /pets:
    get:
      operationId: ListPets
      parameters:
        - name: type
          in: query
          schema: {type: string}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Pets"
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: 200
            responseTemplates:
              application/json: '[{"id": 1, "type": "dog"}]'
  /pets/{proxy+}:
    x-amazon-apigateway-any-method:
      parameters:
        - name: proxy
          in: path
          required: true
          schema: {type: string}
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: FNURI
components:
  schemas:
    Pets:
      type: array
      items:
        $ref: "#/components/schemas/Pet"
    Pet:
      type: object
      properties:
        id: {type: integer}
        type: {type: string}
`

// ImportRestApi with an OpenAPI 3 document: a MOCK method and a greedy ANY proxy to
// a Lambda function, deployed and called; GetExport writes it back and importing
// the export gives the same API; unsupported parts are warnings, and fail the
// import under failonwarnings.
func TestOpenAPIImportRestAPI(t *testing.T) {
	s := startSluice(t, startOpts{})
	fn := s.createFunction("oas-fn", "nodejs22.x", "index.handler", dirZip(t, "node-gw"))
	fnArn := str(fn["FunctionArn"])
	dir := t.TempDir()
	docPath := filepath.Join(dir, "petstore.yaml")
	if err := os.WriteFile(docPath, []byte(strings.ReplaceAll(petstoreOAS3, "FNURI", fnURI(fnArn))), 0o644); err != nil {
		t.Fatal(err)
	}
	api := s.awsJSON("apigateway", "import-rest-api", "--body", "fileb://"+docPath, "--fail-on-warnings",
		"--parameters", "endpointConfigurationTypes=REGIONAL")
	apiID := str(api["id"])
	if api["name"] != "PetStore" || api["version"] != "1.0" || apiID == "" {
		t.Fatalf("import-rest-api = %v", api)
	}
	if ec, _ := api["endpointConfiguration"].(map[string]any); ec == nil || ec["types"].([]any)[0] != "REGIONAL" {
		t.Fatalf("endpointConfiguration = %v", api["endpointConfiguration"])
	}
	paths := resourcePaths(t, s, apiID)
	if want := "/ /pets /pets/{proxy+}"; strings.Join(paths, " ") != want {
		t.Fatalf("resources = %v, want %s", paths, want)
	}
	s.aws("lambda", "add-permission", "--function-name", "oas-fn", "--statement-id", "apigw", "--action", "lambda:InvokeFunction",
		"--principal", "apigateway.amazonaws.com", "--source-arn", "arn:aws:execute-api:us-east-1:123456789012:"+apiID+"/*")
	s.aws("apigateway", "create-deployment", "--rest-api-id", apiID, "--stage-name", "prod")

	r := s.awaitStatus(t, 200, "GET", apiID, "/prod/pets", "")
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `[{"id": 1, "type": "dog"}]` {
		t.Fatalf("GET /prod/pets = %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", apiID, "/prod/pets/cats/7", `{"a":1}`)
	if r.Status != 200 {
		t.Fatalf("POST /prod/pets/cats/7 = %d %s", r.Status, r.Body)
	}
	if ev := r.JSON(t); ev["resource"] != "/pets/{proxy+}" || ev["httpMethod"] != "POST" || ev["body"] != `{"a":1}` {
		t.Fatalf("proxy event = %s", r.Body)
	}

	// Export (JSON and YAML) and re-import: the same resources and integrations.
	exportPath := filepath.Join(dir, "export.json")
	s.aws("apigateway", "get-export", "--rest-api-id", apiID, "--stage-name", "prod", "--export-type", "oas30",
		"--parameters", "extensions=integrations", exportPath)
	exported, err := os.ReadFile(exportPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(exported, &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, exported)
	}
	if doc["openapi"] != "3.0.1" || !strings.Contains(string(exported), "x-amazon-apigateway-any-method") ||
		!strings.Contains(string(exported), `"type": "aws_proxy"`) {
		t.Fatalf("export = %s", exported)
	}
	yamlPath := filepath.Join(dir, "export.yaml")
	s.aws("apigateway", "get-export", "--rest-api-id", apiID, "--stage-name", "prod", "--export-type", "swagger",
		"--accepts", "application/yaml", "--parameters", "extensions=apigateway", yamlPath)
	if y, _ := os.ReadFile(yamlPath); !strings.Contains(string(y), "swagger: \"2.0\"") && !strings.Contains(string(y), "swagger: '2.0'") {
		t.Fatalf("swagger yaml export = %s", y)
	}
	for _, p := range []string{exportPath, yamlPath} {
		again := s.awsJSON("apigateway", "import-rest-api", "--body", "fileb://"+p, "--fail-on-warnings")
		if got := resourcePaths(t, s, str(again["id"])); strings.Join(got, " ") != strings.Join(paths, " ") {
			t.Fatalf("re-import of %s: resources = %v, want %v", filepath.Base(p), got, paths)
		}
		integ := s.awsJSON("apigateway", "get-resources", "--rest-api-id", str(again["id"]), "--embed", "methods")
		if b, _ := json.Marshal(integ); !strings.Contains(string(b), fnURI(fnArn)) {
			t.Fatalf("re-import of %s lost the Lambda integration: %s", filepath.Base(p), b)
		}
	}

	// An unsupported extension: a warning, or a refusal under failonwarnings.
	bad := filepath.Join(dir, "bad.yaml")
	withURI := strings.ReplaceAll(petstoreOAS3, "FNURI", fnURI(fnArn))
	os.WriteFile(bad, []byte(strings.Replace(withURI, "paths:\n", "x-amazon-apigateway-made-up: 1\npaths:\n", 1)), 0o644)
	_, stderr, err := s.awsRaw("apigateway", "import-rest-api", "--body", "fileb://"+bad, "--fail-on-warnings")
	if err == nil || !strings.Contains(stderr, "BadRequestException") ||
		!strings.Contains(stderr, "Warnings found during import:") || !strings.Contains(stderr, "x-amazon-apigateway-made-up") {
		t.Fatalf("failonwarnings import: err=%v stderr=%s", err, stderr)
	}
	warned := s.awsJSON("apigateway", "import-rest-api", "--body", "fileb://"+bad)
	if w, _ := warned["warnings"].([]any); len(w) != 1 || !strings.Contains(str(w[0]), "x-amazon-apigateway-made-up") {
		t.Fatalf("warnings = %v", warned["warnings"])
	}

	// A security scheme Sluice cannot enforce is refused, never imported open.
	oauth := filepath.Join(dir, "oauth.yaml")
	os.WriteFile(oauth, []byte(strings.Replace(withURI, "components:\n", "security:\n  - oauth: []\ncomponents:\n  securitySchemes:\n    oauth:\n      type: oauth2\n      flows: {implicit: {authorizationUrl: 'https://x', scopes: {}}}\n", 1)), 0o644)
	_, stderr, err = s.awsRaw("apigateway", "import-rest-api", "--body", "fileb://"+oauth)
	if err == nil || !strings.Contains(stderr, "BadRequestException") || !strings.Contains(stderr, "unprotected") {
		t.Fatalf("oauth import: err=%v stderr=%s", err, stderr)
	}

	// PutRestApi overwrite replaces the resources, keeping the API id.
	small := filepath.Join(dir, "small.json")
	os.WriteFile(small, []byte(`{"openapi":"3.0.1","info":{"title":"Small","version":"2"},"paths":{"/only":{"get":{"responses":{},"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}}}}`), 0o644)
	put := s.awsJSON("apigateway", "put-rest-api", "--rest-api-id", apiID, "--mode", "overwrite", "--body", "fileb://"+small)
	if put["id"] != apiID || put["name"] != "Small" {
		t.Fatalf("put-rest-api = %v", put)
	}
	if got := resourcePaths(t, s, apiID); strings.Join(got, " ") != "/ /only" {
		t.Fatalf("after overwrite: resources = %v", got)
	}
	s.aws("apigateway", "put-rest-api", "--rest-api-id", apiID, "--mode", "merge", "--body", "fileb://"+docPath)
	if got := resourcePaths(t, s, apiID); strings.Join(got, " ") != "/ /only /pets /pets/{proxy+}" {
		t.Fatalf("after merge: resources = %v", got)
	}
}

func resourcePaths(t *testing.T, s *instance, apiID string) []string {
	t.Helper()
	res := s.awsJSON("apigateway", "get-resources", "--rest-api-id", apiID)
	var paths []string
	for _, it := range res["items"].([]any) {
		paths = append(paths, str(it.(map[string]any)["path"]))
	}
	sort.Strings(paths)
	return paths
}
