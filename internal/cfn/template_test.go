package cfn

import (
	"strings"
	"testing"
)

const shortFormsYAML = `
Parameters:
  Env: {Type: String, Default: dev}
  Names: {Type: CommaDelimitedList, Default: "a, b,c"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Mappings:
  M: {dev: {Size: 128}}
Resources:
  B:
    Type: AWS::S3::Bucket
  R:
    Type: AWS::S3::Bucket
    DependsOn: B
    Properties:
      BucketName: !Sub "${AWS::StackName}-${B}-${!Literal}-${Env}"
Outputs:
  Arn: {Value: !GetAtt B.Arn}
  Joined: {Value: !Join ["|", [!Select [1, !Ref Names], !Select [0, !Split ["-", "x-y"]]]]}
  If: {Value: !If [IsProd, big, !FindInMap [M, !Ref Env, Size]]}
  Not: {Value: !If [NotProd, yes, no]}
  B64: {Value: !Base64 hi}
`

func TestIntrinsics(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	p, ev, err := s.prepare(planInput{body: shortFormsYAML, stackName: "st", stackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/st/x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.order, ",") != "B,R" {
		t.Fatalf("order = %v", p.order)
	}
	ev.resources["B"] = &resourceState{PhysicalID: "bucket-b", Attrs: bucketAttrs("bucket-b", "us-east-1")}
	props, err := ev.resolve(p.tmpl.Resources["R"].Properties)
	if err != nil {
		t.Fatal(err)
	}
	if got := props.(map[string]any)["BucketName"]; got != "st-bucket-b-${Literal}-dev" {
		t.Fatalf("Fn::Sub = %v", got)
	}
	o := &op{s: s, rec: &stackRecord{}, ev: ev}
	outs, err := o.outputs(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Arn": "arn:aws:s3:::bucket-b", "Joined": "b|x", "If": "128", "Not": "yes", "B64": "aGk="}
	for _, out := range outs {
		if want[out.Key] != out.Value {
			t.Errorf("output %s = %q, want %q", out.Key, out.Value, want[out.Key])
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	for _, tc := range []struct{ name, body, want string }{
		{"unknown types", `{"Resources":{"A":{"Type":"AWS::SQS::Queue"},"B":{"Type":"AWS::DynamoDB::Table"}}}`,
			"Template format error: Unrecognized resource types: [AWS::DynamoDB::Table, AWS::SQS::Queue]"},
		{"unresolved ref", `{"Resources":{"A":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":{"Ref":"X"}}}}}`,
			"Template format error: Unresolved resource dependencies [X] in the Resources block of the template"},
		{"cycle", `{"Resources":{"A":{"Type":"AWS::S3::Bucket","DependsOn":"B"},"B":{"Type":"AWS::S3::Bucket","DependsOn":"A"}}}`,
			"Template format error: Circular dependency between resources: [A, B]"},
		{"bad getatt", `{"Resources":{"A":{"Type":"AWS::S3::Bucket"}},"Outputs":{"O":{"Value":{"Fn::GetAtt":["A","Nope"]}}}}`,
			"Template error: resource A does not support attribute type Nope in Fn::GetAtt"},
		{"missing param", `{"Parameters":{"P":{"Type":"String"}},"Resources":{"A":{"Type":"AWS::S3::Bucket"}}}`,
			"Parameters: [P] must have values"},
		{"no resources", `{"Resources":{}}`, "Template format error: At least one Resources member must be defined."},
		{"bad yaml", "Resources: [\n", "Template format error: YAML not well-formed."},
		{"sam local CodeUri", "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ./src, Handler: a.b, Runtime: nodejs22.x}\n",
			"Resource with id [F] is invalid. 'CodeUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter."},
		{"sam unsupported event", "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://b/k\n      Events: {E: {Type: SQS}}\n",
			"Event with id [E] is invalid. Sluice's SAM transform does not implement event type 'SQS' yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.prepare(planInput{body: tc.body, stackName: "st", stackID: "arn:x/st/1"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPhysicalName(t *testing.T) {
	n := physicalName(strings.Repeat("s", 100), strings.Repeat("L", 100), 64, false)
	if len(n) > 64 {
		t.Fatalf("%q is %d long", n, len(n))
	}
	if b := physicalName("My-Stack", "Bucket", 63, true); b != strings.ToLower(b) || !strings.HasPrefix(b, "my-stack-bucket-") {
		t.Fatalf("bucket name %q", b)
	}
}
