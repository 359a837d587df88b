package cfn

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSAMS3Event(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	body := `
Transform: AWS::Serverless-2016-10-31
Resources:
  B: {Type: AWS::S3::Bucket}
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://b/k
      Events:
        Up:
          Type: S3
          Properties:
            Bucket: !Ref B
            Events: [s3:ObjectCreated:*, s3:ObjectRemoved:*]
            Filter: {S3Key: {Rules: [{Name: prefix, Value: "a&b/"}]}}
`
	p, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
	if err != nil {
		t.Fatal(err)
	}
	b := p.tmpl.Resources["B"]
	js, _ := json.Marshal(b.Properties)
	want := `{"NotificationConfiguration":{"LambdaConfigurations":[` +
		`{"Event":"s3:ObjectCreated:*","Filter":{"S3Key":{"Rules":[{"Name":"prefix","Value":"a\u0026b/"}]}},"Function":{"Fn::GetAtt":["F","Arn"]}},` +
		`{"Event":"s3:ObjectRemoved:*","Filter":{"S3Key":{"Rules":[{"Name":"prefix","Value":"a\u0026b/"}]}},"Function":{"Fn::GetAtt":["F","Arn"]}}]}}`
	if string(js) != want || strings.Join(b.DependsOn, ",") != "FUpPermission" {
		t.Fatalf("bucket = %s depends on %v", js, b.DependsOn)
	}
	perm, _ := json.Marshal(p.tmpl.Resources["FUpPermission"].Properties)
	if string(perm) != `{"Action":"lambda:InvokeFunction","FunctionName":{"Ref":"F"},"Principal":"s3.amazonaws.com","SourceAccount":{"Ref":"AWS::AccountId"}}` {
		t.Fatalf("permission = %s", perm)
	}

	var m map[string]any
	_ = json.Unmarshal(js, &m)
	m["NotificationConfiguration"].(map[string]any)["LambdaConfigurations"].([]any)[0].(map[string]any)["Function"] = "arn:fn"
	m["NotificationConfiguration"].(map[string]any)["LambdaConfigurations"] = m["NotificationConfiguration"].(map[string]any)["LambdaConfigurations"].([]any)[:1]
	doc, err := bucketNotification(props{logicalID: "B", m: m})
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CloudFunctionConfiguration><CloudFunction>arn:fn</CloudFunction>`+
		`<Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>a&amp;b/</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration></NotificationConfiguration>` {
		t.Fatalf("xml = %s", doc)
	}
	_, err = bucketNotification(props{logicalID: "B", m: map[string]any{"NotificationConfiguration": map[string]any{"QueueConfigurations": []any{}}}})
	if err == nil || err.Error() != "Sluice does not support property NotificationConfiguration.QueueConfigurations of resource B yet" {
		t.Fatalf("queue configurations: %v", err)
	}
}

func TestBucketCors(t *testing.T) {
	p := props{logicalID: "B", m: map[string]any{"CorsConfiguration": map[string]any{"CorsRules": []any{
		map[string]any{"Id": "up", "AllowedOrigins": []any{"*"}, "AllowedMethods": []any{"PUT", "POST"}, "AllowedHeaders": []any{"*"},
			"ExposedHeaders": []any{"ETag"}, "MaxAge": 300.0},
	}}}}
	doc, err := bucketCors(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><ID>up</ID><AllowedHeader>*</AllowedHeader>` +
		`<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedOrigin>*</AllowedOrigin><ExposeHeader>ETag</ExposeHeader>` +
		`<MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>`
	if string(doc) != want {
		t.Errorf("cors =\n%s\nwant\n%s", doc, want)
	}
	p.m["CorsConfiguration"] = map[string]any{"CorsRules": []any{map[string]any{"AllowedOrigins": []any{"*"}}}}
	if _, err := bucketCors(p); err == nil || !strings.Contains(err.Error(), "AllowedMethods") {
		t.Errorf("missing AllowedMethods: %v", err)
	}
	if doc, err := bucketCors(props{logicalID: "B", m: map[string]any{}}); doc != nil || err != nil {
		t.Errorf("no CorsConfiguration = %s, %v", doc, err)
	}
}
