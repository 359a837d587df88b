package cfn

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/store/memstore"
)

// iamCaller is a caller served by a real IAM service over an in-memory store.
func iamCaller(t *testing.T) *caller {
	t.Helper()
	svc := iam.New(iam.Options{Store: memstore.New(), AccountID: "123456789012"})
	return &caller{handler: svc.IAM(), region: "us-east-1", signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}}
}

func iamCall(t *testing.T, c *caller, params url.Values, out any) {
	t.Helper()
	if err := c.query(t.Context(), "iam", "Iam", iamVersion, params, out); err != nil {
		t.Fatalf("%s: %v", params.Get("Action"), err)
	}
}

// inlinePolicies lists the inline policy names of a role, user or group.
func inlinePolicies(t *testing.T, c *caller, kind, name string) []string {
	t.Helper()
	param := map[string]string{"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
	var out struct {
		Names []string `xml:"ListRolePoliciesResult>PolicyNames>member"`
		User  []string `xml:"ListUserPoliciesResult>PolicyNames>member"`
		Group []string `xml:"ListGroupPoliciesResult>PolicyNames>member"`
	}
	iamCall(t, c, url.Values{"Action": {"List" + kind + "Policies"}, param: {name}}, &out)
	names := slices.Concat(out.Names, out.User, out.Group)
	slices.Sort(names)
	return names
}

func roleDocument(t *testing.T, c *caller, role, policy string) string {
	t.Helper()
	var out struct {
		Doc string `xml:"GetRolePolicyResult>PolicyDocument"`
	}
	iamCall(t, c, url.Values{"Action": {"GetRolePolicy"}, "RoleName": {role}, "PolicyName": {policy}}, &out)
	doc, err := url.QueryUnescape(out.Doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestIAMPolicyLifecycle(t *testing.T) {
	c := iamCaller(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for _, r := range []string{"r1", "r2"} {
		iamCall(t, c, url.Values{"Action": {"CreateRole"}, "RoleName": {r}, "AssumeRolePolicyDocument": {trust}}, nil)
	}
	iamCall(t, c, url.Values{"Action": {"CreateUser"}, "UserName": {"u1"}}, nil)
	iamCall(t, c, url.Values{"Action": {"CreateGroup"}, "GroupName": {"g1"}}, nil)

	call := func(doc string) *resourceCall {
		return &resourceCall{c: c, stackName: "mystack", logicalID: "AppPolicy", region: "us-east-1", account: "123456789012",
			props: mustProps(t, "AppPolicy", doc)}
	}
	v1 := `{"PolicyName":"app","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]},
		"Roles":["r1","r2"],"Users":["u1"]}`
	r := call(v1)
	id, attrs, err := iamPolicy.create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "mysta-AppPo-") || attrs["Id"] != id {
		t.Fatalf("physical id %q attrs %v", id, attrs)
	}
	for _, p := range [][2]string{{"Role", "r1"}, {"Role", "r2"}, {"User", "u1"}} {
		if got := inlinePolicies(t, c, p[0], p[1]); !slices.Equal(got, []string{"app"}) {
			t.Fatalf("%s %s policies = %v", p[0], p[1], got)
		}
	}
	if got := inlinePolicies(t, c, "Group", "g1"); len(got) != 0 {
		t.Fatalf("group g1 policies = %v before it is named", got)
	}
	if doc := roleDocument(t, c, "r1", "app"); !strings.Contains(doc, `"s3:GetObject"`) {
		t.Fatalf("r1 app document = %s", doc)
	}

	// An update: r2 and u1 dropped, g1 added, the document changed (a string now).
	rec := &resourceRecord{LogicalID: "AppPolicy", Type: "AWS::IAM::Policy", PhysicalID: id, Properties: r.props.m, Attrs: attrs}
	v2 := `{"PolicyName":"app","PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"*\"}]}",
		"Roles":["r1"],"Groups":["g1"]}`
	r = call(v2)
	if _, err := iamPolicy.update(t.Context(), r, rec); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][3]string{{"Role", "r1", "app"}, {"Role", "r2", ""}, {"User", "u1", ""}, {"Group", "g1", "app"}} {
		got := inlinePolicies(t, c, p[0], p[1])
		if want := strings.Fields(p[2]); !slices.Equal(got, want) {
			t.Fatalf("after update: %s %s policies = %v, want %v", p[0], p[1], got, want)
		}
	}
	if doc := roleDocument(t, c, "r1", "app"); !strings.Contains(doc, `"s3:PutObject"`) {
		t.Fatalf("r1 app document after update = %s", doc)
	}

	// A renamed policy: the new name is put, the old one deleted.
	rec.Properties = r.props.m
	v3 := strings.Replace(v2, `"PolicyName":"app"`, `"PolicyName":"app2"`, 1)
	r = call(v3)
	if _, err := iamPolicy.update(t.Context(), r, rec); err != nil {
		t.Fatal(err)
	}
	if got := inlinePolicies(t, c, "Role", "r1"); !slices.Equal(got, []string{"app2"}) {
		t.Fatalf("after rename: r1 policies = %v", got)
	}
	if got := inlinePolicies(t, c, "Group", "g1"); !slices.Equal(got, []string{"app2"}) {
		t.Fatalf("after rename: g1 policies = %v", got)
	}

	// Delete takes it off every principal; a principal already gone is no error.
	rec.Properties = r.props.m
	iamCall(t, c, url.Values{"Action": {"DeleteGroupPolicy"}, "GroupName": {"g1"}, "PolicyName": {"app2"}}, nil)
	if err := iamPolicy.delete(t.Context(), r, rec); err != nil {
		t.Fatal(err)
	}
	if got := inlinePolicies(t, c, "Role", "r1"); len(got) != 0 {
		t.Fatalf("after delete: r1 policies = %v", got)
	}

	// A role that does not exist fails the resource with IAM's answer.
	_, _, err = iamPolicy.create(t.Context(), call(`{"PolicyName":"p","PolicyDocument":{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]},"Roles":["nope"]}`))
	if err == nil || !strings.Contains(err.Error(), "The role with name nope cannot be found.") {
		t.Fatalf("missing role: %v", err)
	}
}

func TestIAMPolicyPropertyErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"PolicyName":"p","PolicyDocument":{}}`, "At least one of [Groups,Roles,Users] must be non-empty."},
		{`{"PolicyName":"p","PolicyDocument":{},"Roles":[],"Users":[]}`, "At least one of [Groups,Roles,Users] must be non-empty."},
		{`{"PolicyDocument":{},"Roles":["r"]}`, "Properties validation failed for resource P with message: #: required key [PolicyName] not found"},
		{`{"PolicyName":"p","Roles":["r"]}`, "Properties validation failed for resource P with message: #: required key [PolicyDocument] not found"},
		{`{"PolicyName":"p","PolicyDocument":[1],"Roles":["r"]}`, "Properties validation failed for resource P with message: #/PolicyDocument: expected type: JSONObject, found: JSONArray"},
		{`{"PolicyName":"p","PolicyDocument":{},"Roles":"r"}`, "Properties validation failed for resource P with message: #/Roles: expected type: JSONArray, found: String"},
		{`{"PolicyName":"p","PolicyDocument":{},"Roles":["r"],"Path":"/"}`, "Properties validation failed for resource P with message: #: extraneous key [Path] is not permitted"},
	} {
		_, err := inlinePolicyInput(mustProps(t, "P", tc.doc))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v\nwant %s", tc.doc, err, tc.want)
		}
	}
}

func TestIAMPolicyCapability(t *testing.T) {
	s := New(Options{Region: "us-east-1", AccountID: "123456789012"})
	body := `{"Resources":{"Role":{"Type":"AWS::IAM::Role","Properties":{"AssumeRolePolicyDocument":{}}},
		"Pol":{"Type":"AWS::IAM::Policy","Properties":{"PolicyName":"p","PolicyDocument":{},"Roles":[{"Ref":"Role"}]}}}}`
	p, _, err := s.prepare(planInput{body: body, stackName: "s", stackID: stackARN("us-east-1", "123456789012", "s")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.capabilities, []string{"CAPABILITY_IAM"}) {
		t.Fatalf("capabilities = %v", p.capabilities)
	}
	err = p.checkCapabilities(nil)
	if err == nil || !strings.Contains(err.Error(), "Requires capabilities : [CAPABILITY_IAM]") {
		t.Fatalf("no capabilities: %v", err)
	}
	if got, want := capabilitiesReason(p.iamTypes()), "The following resource(s) require capabilities: [AWS::IAM::Policy, AWS::IAM::Role]"; got != want {
		t.Fatalf("reason = %q, want %q", got, want)
	}
	// A policy alone needs CAPABILITY_IAM too.
	body = `{"Resources":{"Pol":{"Type":"AWS::IAM::Policy","Properties":{"PolicyName":"p","PolicyDocument":{},"Users":["u"]}}}}`
	p, _, err = s.prepare(planInput{body: body, stackName: "s", stackID: stackARN("us-east-1", "123456789012", "s")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.capabilities, []string{"CAPABILITY_IAM"}) {
		t.Fatalf("policy alone: capabilities = %v", p.capabilities)
	}
}
