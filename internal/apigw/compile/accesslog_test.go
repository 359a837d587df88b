package compile

import (
	"reflect"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

func TestParseAccessLogFormat(t *testing.T) {
	got := parseAccessLogFormat(`{"id":"$context.requestId","ip":"$context.identity.sourceIp"} $context.status.$context. $$context.x-y`)
	want := []AccessLogPart{
		{Text: `{"id":"`}, {Var: "requestId"}, {Text: `","ip":"`}, {Var: "identity.sourceIp"}, {Text: `"} `},
		{Var: "status"}, {Text: ".$context."}, {Text: " $"}, {Var: "x"}, {Text: "-y"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parts\n got %#v\nwant %#v", got, want)
	}
}

func TestCompileAccessLog(t *testing.T) {
	al := compileAccessLog("a1", "v1", &model.AccessLogSettings{Format: "$context.requestId\n", DestinationArn: "arn:aws:logs:us-east-1:123456789012:log-group:/api/access:*"})
	if al == nil || al.Group != "/api/access" || al.Stream != "a1_v1" || len(al.Parts) != 1 || al.Parts[0].Var != "requestId" {
		t.Fatalf("compiled %+v", al)
	}
	for _, off := range []*model.AccessLogSettings{nil, {Format: "$context.requestId"}, {DestinationArn: "arn:aws:logs:us-east-1:1:log-group:g"},
		{Format: "x", DestinationArn: "arn:aws:s3:::bucket"}} {
		if al := compileAccessLog("a1", "v1", off); al != nil {
			t.Fatalf("%+v compiled to %+v", off, al)
		}
	}
	if err := model.ValidateAccessLogFormat("a\nb"); err == nil {
		t.Fatal("a two-line format passed")
	}
	if err := model.ValidateAccessLogFormat("a b\n"); err != nil {
		t.Fatal(err)
	}
}
