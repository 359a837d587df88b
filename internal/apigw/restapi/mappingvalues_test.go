package restapi

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// Integration response parameter values must be mapping expressions: AWS refuses a
// bare value such as mocked (a static value is written 'mocked').
func TestIntegrationResponseParameterValues(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	api, root := e.createAPI(t, "values")
	e.mockMethod(t, api, root, "GET")
	cases := []struct {
		value string
		ok    bool
	}{
		{"'mocked'", true},
		{"'*'", true},
		{"integration.response.header.X-Up", true},
		{"integration.response.body", true},
		{"integration.response.body.errorMessage", true},
		{"stageVariables.v", true},
		{"context.requestId", true},
		{"method.request.header.Origin", true},
		{"mocked", false},
		{"*", false},
		{`"*"`, false},
		{"'", false},
		{"", false},
		{"integration.response.header.", false},
	}
	for _, c := range cases {
		_, err := e.client.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
			RestApiId: aws.String(api), ResourceId: aws.String(root), HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
			ResponseParameters: map[string]string{"method.response.header.X-Value": c.value}})
		if c.ok {
			if err != nil {
				t.Errorf("value %q refused: %v", c.value, err)
			}
			continue
		}
		wantAPIError(t, err, "BadRequestException", 400,
			"Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: "+c.value+"]")
	}
}
