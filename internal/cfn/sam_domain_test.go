package cfn

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSAMRestAPIDomain: Domain becomes SAM's ApiGatewayDomainName<hash> and one
// base path mapping per BasePath (or one at the root), referencing the stage.
func TestSAMRestAPIDomain(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	for _, c := range []struct {
		basePath string
		want     map[string]string // mapping logical id → BasePath
	}{
		{"", map[string]string{"MyApiBasePathMapping": ""}},
		// NormalizeBasePath (the default) keeps a path's alphanumerics, as
		// tests/translator/output/api_with_custom_base_path.json does.
		{"BasePath: [/v1, /admin/x]", map[string]string{"MyApiv1BasePathMapping": "v1", "MyApiadminxBasePathMapping": "adminx"}},
		{"NormalizeBasePath: false, BasePath: [/foo-too]", map[string]string{"MyApifootooBasePathMapping": "/foo-too"}},
	} {
		body := "Transform: AWS::Serverless-2016-10-31\nResources:\n  MyApi:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: v1\n" +
			"      Domain: {DomainName: api.example.com, CertificateArn: arn:aws:acm:us-east-1:123456789012:certificate/x, SecurityPolicy: TLS_1_2"
		if c.basePath != "" {
			body += ", " + c.basePath
		}
		body += "}\n"
		p, _, err := s.prepare(planInput{body: body, stackName: "st", stackID: "arn:x/st/1"})
		if err != nil {
			t.Fatal(err)
		}
		// SAM's LogicalIdGenerator: sha1("api.example.com")[:10].
		dn := p.tmpl.Resources["ApiGatewayDomainName1bc412bb08"]
		if dn == nil || dn.Type != "AWS::ApiGateway::DomainName" || dn.Properties["RegionalCertificateArn"] != "arn:aws:acm:us-east-1:123456789012:certificate/x" ||
			dn.Properties["SecurityPolicy"] != "TLS_1_2" {
			t.Fatalf("domain resource = %+v (resources %v)", dn, sortedKeys(anyMap(p.tmpl.Resources)))
		}
		for id, base := range c.want {
			m := p.tmpl.Resources[id]
			if m == nil || m.Type != "AWS::ApiGateway::BasePathMapping" {
				t.Fatalf("%s missing: %v", id, sortedKeys(anyMap(p.tmpl.Resources)))
			}
			if got, _ := m.Properties["BasePath"].(string); got != base {
				t.Errorf("%s BasePath = %q, want %q", id, got, base)
			}
			if st, _ := m.Properties["Stage"].(map[string]any); st["Ref"] != "MyApiv1Stage" {
				t.Errorf("%s Stage = %v", id, m.Properties["Stage"])
			}
		}
	}
}

// TestSAMHTTPAPIDomain: HttpApi's Domain becomes what SAM's translator writes
// for tests/translator/input/api_with_basic_custom_domain_http.yaml (less its
// Route53 and mutual TLS blocks): ApiGatewayDomainNameV2<sha1 of the domain
// name, its parameter ref resolved> and one ApiMapping per BasePath keyed by
// the path without its slashes, or one at the root; the mappings reference the
// stage.
func TestSAMHTTPAPIDomain(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	const head = "Transform: AWS::Serverless-2016-10-31\nParameters:\n  MyDomainName: {Type: String, Default: sam-example.com}\n" +
		"  MyDomainCert: {Type: String, Default: 'arn:aws:acm:us-east-1:123455353535:certificate/6c911401-620d-4d41-b89e-366c238bb2f3'}\n" +
		"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://b/k\n" +
		"      Events: {Basic: {Type: HttpApi, Properties: {Path: /basic, Method: post, ApiId: !Ref MyApi}}}\n" +
		"  MyApi:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n"
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, c := range []struct {
		name, props string
		params      map[string]string
		want        map[string]string // logical id → its properties as JSON
	}{
		{"SAM's api_with_basic_custom_domain_http", "      StageName: Prod\n      Domain: {DomainName: !Ref MyDomainName, CertificateArn: !Ref MyDomainCert, " +
			"EndpointConfiguration: REGIONAL, SecurityPolicy: TLS_1_2, BasePath: [/basic, /begin-here]}\n", nil, map[string]string{
			"ApiGatewayDomainNameV22dbf35af54": `{"DomainName":"sam-example.com","DomainNameConfigurations":[{"CertificateArn":"arn:aws:acm:us-east-1:123455353535:certificate/6c911401-620d-4d41-b89e-366c238bb2f3","EndpointType":"REGIONAL","SecurityPolicy":"TLS_1_2"}],"Tags":{"httpapi:createdBy":"SAM"}}`,
			"MyApibasicApiMapping":             `{"ApiId":{"Ref":"MyApi"},"ApiMappingKey":"basic","DomainName":{"Ref":"ApiGatewayDomainNameV22dbf35af54"},"Stage":{"Ref":"MyApiProdStage"}}`,
			"MyApibeginhereApiMapping":         `{"ApiId":{"Ref":"MyApi"},"ApiMappingKey":"begin-here","DomainName":{"Ref":"ApiGatewayDomainNameV22dbf35af54"},"Stage":{"Ref":"MyApiProdStage"}}`,
		}},
		{"the $default stage at the root; a passed value and AWS::Region substituted in Fn::Sub, which stays (hashed as JSON)", "      Domain: {DomainName: !Sub 'api.${AWS::Region}.${Zone}', CertificateArn: c}\n",
			map[string]string{"Zone": "example.com"}, map[string]string{
				"ApiGatewayDomainNameV2c309e67060": `{"DomainName":{"Fn::Sub":"api.us-east-1.example.com"},"DomainNameConfigurations":[{"CertificateArn":"c","EndpointType":"REGIONAL"}],"Tags":{"httpapi:createdBy":"SAM"}}`,
				"MyApiApiMapping":                  `{"ApiId":{"Ref":"MyApi"},"DomainName":{"Ref":"ApiGatewayDomainNameV2c309e67060"},"Stage":{"Ref":"MyApiApiGatewayDefaultStage"}}`,
			}},
		{"a reference SAM cannot resolve is hashed as JSON", "      Domain: {DomainName: !Sub '${AWS::StackName}.example.com', CertificateArn: c, BasePath: v1}\n", nil, map[string]string{
			"ApiGatewayDomainNameV27e62150db6": `{"DomainName":{"Fn::Sub":"${AWS::StackName}.example.com"},"DomainNameConfigurations":[{"CertificateArn":"c","EndpointType":"REGIONAL"}],"Tags":{"httpapi:createdBy":"SAM"}}`,
			"MyApiv1ApiMapping":                `{"ApiId":{"Ref":"MyApi"},"ApiMappingKey":"v1","DomainName":{"Ref":"ApiGatewayDomainNameV27e62150db6"},"Stage":{"Ref":"MyApiApiGatewayDefaultStage"}}`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := head + c.props
			if c.params != nil {
				body = strings.Replace(body, "Parameters:\n", "Parameters:\n  Zone: {Type: String}\n", 1)
			}
			p, _, err := s.prepare(planInput{body: body, params: c.params, stackName: "st", stackID: "arn:x/st/1"})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for id, r := range p.tmpl.Resources {
				if strings.Contains(r.Type, "DomainName") || strings.Contains(r.Type, "Mapping") {
					n++
					if c.want[id] == "" {
						t.Errorf("unexpected %s %s", r.Type, id)
					}
				}
			}
			for id, want := range c.want {
				r := p.tmpl.Resources[id]
				if r == nil {
					t.Fatalf("%s missing: %v", id, sortedKeys(anyMap(p.tmpl.Resources)))
				}
				if got := js(r.Properties); got != want {
					t.Errorf("%s = %s\nwant %s", id, got, want)
				}
			}
			if n != len(c.want) {
				t.Errorf("%d domain resources, want %d", n, len(c.want))
			}
		})
	}
}

// TestSAMDomainErrors: SAM's texts for a Domain it rejects, and Sluice's for
// the blocks it does not implement.
func TestSAMDomainErrors(t *testing.T) {
	s := &Service{region: "us-east-1", account: "123456789012"}
	fn := "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://b/k\n"
	httpAPI := fn + "      Events: {E: {Type: HttpApi, Properties: {ApiId: !Ref A}}}\n  A:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Domain: "
	restAPI := fn + "      Events: {E: {Type: Api, Properties: {RestApiId: !Ref A, Path: /x, Method: get}}}\n" +
		"  A:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: s\n      Domain: "
	for _, tc := range []struct{ body, want string }{
		{httpAPI + "x.example.com", "Type of property 'Domain' is invalid."},
		{httpAPI + "{DomainName: x}", "Custom Domains only works if both DomainName and CertificateArn are provided."},
		{httpAPI + "{CertificateArn: c}", "Custom Domains only works if both DomainName and CertificateArn are provided."},
		{httpAPI + "{DomainName: x, CertificateArn: c, EndpointConfiguration: EDGE}", "EndpointConfiguration for Custom Domains must be one of ['REGIONAL']."},
		{httpAPI + "{DomainName: x, CertificateArn: c, BasePath: [v1, 2]}", "Basepath must be a string."},
		{httpAPI + "{DomainName: x, CertificateArn: c, BasePath: [v1.0]}", "Invalid Basepath name provided."},
		{httpAPI + "{DomainName: x, CertificateArn: c, BasePath: {a: b}}", "Type of property 'Domain.BasePath' is invalid."},
		{httpAPI + "{DomainName: x, CertificateArn: c, Route53: {HostedZoneId: Z}}", "Sluice's SAM transform does not implement property 'Domain.Route53' yet."},
		{httpAPI + "{DomainName: x, CertificateArn: c, MutualTlsAuthentication: {TruststoreUri: s3://b/k}}",
			"Sluice's SAM transform does not implement property 'Domain.MutualTlsAuthentication' yet."},
		{httpAPI + "{DomainName: x, CertificateArn: c, OwnershipVerificationCertificateArn: o}",
			"Sluice's SAM transform does not implement property 'Domain.OwnershipVerificationCertificateArn' yet."},
		{httpAPI + "{DomainName: x, CertificateArn: c, NormalizeBasePath: false}", "Domain has invalid property 'NormalizeBasePath'."},
		{restAPI + "{DomainName: x}", "Property 'Domain.CertificateArn' is required."},
		{restAPI + "{CertificateArn: c}", "Property 'Domain.DomainName' is required."},
		{restAPI + "{DomainName: x, CertificateArn: c, EndpointConfiguration: LOCAL}",
			"EndpointConfiguration for Custom Domains must be one of ['EDGE', 'REGIONAL', 'PRIVATE']."},
		{restAPI + "{DomainName: x, CertificateArn: c, EndpointConfiguration: {Types: [EDGE]}}",
			"EndpointConfiguration for Custom Domains must be one of ['EDGE', 'REGIONAL', 'PRIVATE']."},
		{restAPI + "{DomainName: x, CertificateArn: c, EndpointConfiguration: PRIVATE}",
			"Sluice's SAM transform does not implement a PRIVATE 'Domain.EndpointConfiguration' yet."},
		{restAPI + "{DomainName: x, CertificateArn: c, BasePath: [v1, 2]}", "Property 'Domain.BasePath[1]' should be a string."},
		{restAPI + "{DomainName: x, CertificateArn: c, Route53: {HostedZoneId: Z}}", "Sluice's SAM transform does not implement property 'Domain.Route53' yet."},
		{restAPI + "{DomainName: x, CertificateArn: c, IpAddressType: dualstack}", "Sluice's SAM transform does not implement property 'Domain.IpAddressType' yet."},
		{restAPI + "{DomainName: x, CertificateArn: c, Nope: 1}", "Domain has invalid property 'Nope'."},
	} {
		_, _, err := s.prepare(planInput{body: tc.body + "\n", stackName: "st", stackID: "arn:x/st/1"})
		if want := "Resource with id [A] is invalid. " + tc.want; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\nerr = %v\nwant %q", tc.body[strings.Index(tc.body, "Domain: "):], err, want)
		}
	}
}

// TestSAMLogicalIDHash: LogicalIdGenerator's hash, checked against Python's
// hashlib.sha1(json.dumps(v, separators=(",", ":"), sort_keys=True)).
func TestSAMLogicalIDHash(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{"sam-example.com", "2dbf35af54"},
		{map[string]any{"Ref": "MyRegionalDomainName"}, "1b946f6d8f"},              // http_api_with_custom_domains_regional_ownership_verification.json
		{map[string]any{"Fn::Join": []any{"", []any{"<a&b>", "é"}}}, "7d61d9fe46"}, // json.dumps gives {"Fn::Join":["",["<a&b>","\u00e9"]]},
	} {
		if got := samLogicalIDHash(c.v); got != c.want {
			t.Errorf("samLogicalIDHash(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}
