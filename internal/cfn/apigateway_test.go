package cfn

import (
	"encoding/json"
	"strings"
	"testing"
)

func mustProps(t *testing.T, id, doc string) props {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return props{logicalID: id, m: m}
}

func TestMethodInput(t *testing.T) {
	p := mustProps(t, "M", `{"RestApiId":"api","ResourceId":"res","HttpMethod":"get","ApiKeyRequired":"true",
		"RequestParameters":{"method.request.header.x":"true"},
		"Integration":{"Type":"AWS_PROXY","IntegrationHttpMethod":"POST","Uri":"arn:u","TimeoutInMillis":"5000",
			"IntegrationResponses":[{"StatusCode":"200","SelectionPattern":""}]},
		"MethodResponses":[{"StatusCode":"200","ResponseParameters":{"method.response.header.a":false}}]}`)
	mc, id, err := methodInput(p)
	if err != nil {
		t.Fatal(err)
	}
	if id != "api|res|GET" || mc.base != "/restapis/api/resources/res/methods/GET" {
		t.Fatalf("id %q base %q", id, mc.base)
	}
	got, _ := json.Marshal(map[string]any{"m": mc.method, "i": mc.integration, "r": mc.responses, "ir": mc.intResps})
	want := `{"i":{"httpMethod":"POST","timeoutInMillis":5000,"type":"AWS_PROXY","uri":"arn:u"},` +
		`"ir":{"200":{"selectionPattern":""}},"m":{"apiKeyRequired":true,"authorizationType":"NONE",` +
		`"requestParameters":{"method.request.header.x":true}},"r":{"200":{"responseParameters":{"method.response.header.a":false}}}}`
	if string(got) != want {
		t.Fatalf("calls = %s\nwant    %s", got, want)
	}
}

func TestApiGatewayPropertyErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"RestApiId":"a","ResourceId":"r","HttpMethod":"GET","Integration":{"Type":"MOCK","Bogus":1}}`,
			"Properties validation failed for resource M with message: #/Integration: extraneous key [Bogus] is not permitted"},
		{`{"RestApiId":"a","ResourceId":"r","HttpMethod":"GET","Integration":{"Type":"MOCK","TimeoutInMillis":"x"}}`,
			"Properties validation failed for resource M with message: #/Integration/TimeoutInMillis: expected type: Integer, found: String"},
		{`{"RestApiId":"a","ResourceId":"r","HttpMethod":"GET","MethodResponses":[{"ResponseModels":{}}]}`,
			"Properties validation failed for resource M with message: #/MethodResponses/0: required key [StatusCode] not found"},
		{`{"RestApiId":"a","ResourceId":"r"}`,
			"Properties validation failed for resource M with message: #: required key [HttpMethod] not found"},
	} {
		_, _, err := methodInput(mustProps(t, "M", tc.doc))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v\nwant %s", tc.doc, err, tc.want)
		}
	}
	r := &resourceCall{logicalID: "D", props: mustProps(t, "D", `{"RestApiId":"a","StageName":"s","StageDescription":{"MethodSettings":[]}}`)}
	_, _, err := restDeployment.create(t.Context(), r)
	if err == nil || err.Error() != "Sluice does not support property StageDescription.MethodSettings of resource D yet" {
		t.Fatalf("StageDescription.MethodSettings: %v", err)
	}
	r = &resourceCall{logicalID: "A", props: mustProps(t, "A", `{"Name":"a","BodyS3Location":{"Bucket":"b"}}`)}
	if _, _, err := restAPI.create(t.Context(), r); err == nil || !strings.Contains(err.Error(), "Sluice does not support property BodyS3Location of resource A yet") {
		t.Fatalf("BodyS3Location: %v", err)
	}
}

func TestStageSettingOps(t *testing.T) {
	had, err := stageSettings(mustProps(t, "S", `{"MethodSettings":[{"ResourcePath":"/*","HttpMethod":"*","MetricsEnabled":true,"ThrottlingRateLimit":5},
		{"ResourcePath":"/~1pets","HttpMethod":"get","LoggingLevel":"INFO"}],"AccessLogSetting":{"DestinationArn":"arn:d","Format":"$context.requestId"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want, err := stageSettings(mustProps(t, "S", `{"MethodSettings":[{"ResourcePath":"/*","HttpMethod":"*","MetricsEnabled":true,"ThrottlingRateLimit":10}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(settingOps(had, want))
	exp := `[{"op":"remove","path":"/accessLogSettings"},{"op":"remove","path":"/~1pets/GET"},` +
		`{"op":"replace","path":"/*/*/throttling/rateLimit","value":"10"}]`
	if string(got) != exp {
		t.Fatalf("ops = %s\nwant  %s", got, exp)
	}
	got, _ = json.Marshal(settingOps(nil, had))
	exp = `[{"op":"replace","path":"/*/*/metrics/enabled","value":"true"},{"op":"replace","path":"/*/*/throttling/rateLimit","value":"5"},` +
		`{"op":"replace","path":"/accessLogSettings/destinationArn","value":"arn:d"},{"op":"replace","path":"/accessLogSettings/format","value":"$context.requestId"},` +
		`{"op":"replace","path":"/~1pets/GET/logging/loglevel","value":"INFO"}]`
	if string(got) != exp {
		t.Fatalf("create ops = %s\nwant         %s", got, exp)
	}
}
