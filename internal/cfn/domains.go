package cfn

import (
	"context"
	"net/http"
	"net/url"
)

// Custom domain names, through Sluice's own API Gateway APIs (the domains they
// create are served by the TLS listener like ones made with the CLI).

// AWS::ApiGateway::DomainName: Ref is the domain name; the attributes are the
// ones CloudFormation documents (RegionalDomainName, RegionalHostedZoneId,
// DistributionDomainName, DistributionHostedZoneId). A changed DomainName
// replaces it ("Update requires: Replacement"); the certificate, TLS policy and
// tags change in place.
var restDomainName = &provisioner{
	attrs:     []string{"RegionalDomainName", "RegionalHostedZoneId", "DistributionDomainName", "DistributionHostedZoneId"},
	replaceOn: []string{"DomainName", "EndpointConfiguration"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(append(fieldNames(restDomainFields), "Tags", "EndpointConfiguration"), []string{"DomainName"}, []string{"MutualTlsAuthentication", "OwnershipVerificationCertificateArn"}); err != nil {
			return "", nil, err
		}
		body, err := p.apiBody(restDomainFields)
		if err != nil {
			return "", nil, err
		}
		if err := p.addTags(body); err != nil {
			return "", nil, err
		}
		if ec, err := endpointConfiguration(p); err != nil {
			return "", nil, err
		} else if ec != nil {
			body["endpointConfiguration"] = ec
		}
		name, _ := p.str("DomainName")
		body["domainName"] = name
		var out map[string]any
		if err := apigw(ctx, r, http.MethodPost, "/domainnames", body, &out); err != nil {
			return "", nil, err
		}
		return name, restDomainAttrs(out), nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		var ops []patchOp
		for _, f := range []struct{ cfn, path string }{{"CertificateArn", "/certificateArn"}, {"RegionalCertificateArn", "/regionalCertificateArn"}, {"SecurityPolicy", "/securityPolicy"}} {
			v, _ := r.props.str(f.cfn)
			if was, _ := stringOf(old.Properties[f.cfn]); v != was && v != "" {
				ops = append(ops, patchOp{Op: "replace", Path: f.path, Value: v})
			}
		}
		if err := syncTags(ctx, r, r.apigwARN("/domainnames/"+old.PhysicalID), oldProps(r, old)); err != nil {
			return nil, err
		}
		if len(ops) == 0 {
			return old.Attrs, nil
		}
		var out map[string]any
		if err := apigw(ctx, r, http.MethodPatch, "/domainnames/"+url.PathEscape(old.PhysicalID), map[string]any{"patchOperations": ops}, &out); err != nil {
			return nil, err
		}
		return restDomainAttrs(out), nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/domainnames/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

var restDomainFields = []field{
	{"DomainName", "domainName", kStr}, {"CertificateArn", "certificateArn", kStr}, {"RegionalCertificateArn", "regionalCertificateArn", kStr},
	{"SecurityPolicy", "securityPolicy", kStr},
}

func restDomainAttrs(out map[string]any) map[string]any {
	a := map[string]any{}
	for _, k := range []string{"RegionalDomainName", "RegionalHostedZoneId", "DistributionDomainName", "DistributionHostedZoneId"} {
		if v, ok := out[lowerFirst(k)]; ok {
			a[k] = v
		}
	}
	return a
}

// AWS::ApiGateway::BasePathMapping: no Ref value CloudFormation documents beyond
// its physical id; a changed DomainName or BasePath replaces it, RestApiId and
// Stage change in place.
var restBasePathMapping = &provisioner{
	replaceOn: []string{"DomainName", "BasePath"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check([]string{"BasePath", "RestApiId", "Stage", "Id"}, []string{"DomainName"}, nil); err != nil {
			return "", nil, err
		}
		body, err := p.apiBody([]field{{"BasePath", "basePath", kStr}, {"RestApiId", "restApiId", kStr}, {"Stage", "stage", kStr}})
		if err != nil {
			return "", nil, err
		}
		domain, _ := p.str("DomainName")
		var out struct {
			BasePath string `json:"basePath"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/domainnames/"+url.PathEscape(domain)+"/basepathmappings", body, &out); err != nil {
			return "", nil, err
		}
		return domain + "/" + out.BasePath, nil, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		var ops []patchOp
		for _, f := range []struct{ cfn, path string }{{"RestApiId", "/restapiId"}, {"Stage", "/stage"}} {
			v, _ := r.props.str(f.cfn)
			if was, _ := stringOf(old.Properties[f.cfn]); v != was {
				ops = append(ops, patchOp{Op: "replace", Path: f.path, Value: v})
			}
		}
		if len(ops) == 0 {
			return old.Attrs, nil
		}
		return old.Attrs, apigw(ctx, r, http.MethodPatch, basePathMappingPath(old), map[string]any{"patchOperations": ops}, nil)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete, path: basePathMappingPath(rec)})
		return err
	},
}

// basePathMappingPath is a mapping's URL; the empty base path is "(none)", as
// API Gateway names it.
func basePathMappingPath(rec *resourceRecord) string {
	domain, _ := stringOf(rec.Properties["DomainName"])
	base, _ := stringOf(rec.Properties["BasePath"])
	if base == "" {
		base = "(none)"
	}
	return "/domainnames/" + url.PathEscape(domain) + "/basepathmappings/" + url.PathEscape(base)
}

// AWS::ApiGatewayV2::DomainName: Ref is the domain name; RegionalDomainName and
// RegionalHostedZoneId come from its first configuration, as CloudFormation
// documents. The configurations and tags (a map, as apigatewayv2 has them)
// change in place.
var httpDomainName = &provisioner{
	attrs:     []string{"RegionalDomainName", "RegionalHostedZoneId", "DomainNameArn"},
	replaceOn: []string{"DomainName"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check([]string{"DomainNameConfigurations", "Tags"}, []string{"DomainName"}, []string{"MutualTlsAuthentication", "RoutingMode"}); err != nil {
			return "", nil, err
		}
		body, err := v2Body(p, []string{"DomainName", "DomainNameConfigurations", "Tags"}, nil)
		if err != nil {
			return "", nil, err
		}
		name, _ := p.str("DomainName")
		var out map[string]any
		if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPost, "/v2/domainnames", body, &out); err != nil {
			return "", nil, err
		}
		return name, httpDomainAttrs(r, name, out), nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check([]string{"DomainNameConfigurations", "Tags"}, []string{"DomainName"}, []string{"MutualTlsAuthentication", "RoutingMode"}); err != nil {
			return nil, err
		}
		body, err := v2Body(p, []string{"DomainNameConfigurations"}, nil)
		if err != nil {
			return nil, err
		}
		var out map[string]any
		if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPatch, "/v2/domainnames/"+url.PathEscape(old.PhysicalID), body, &out); err != nil {
			return nil, err
		}
		if err := syncV2Tags(ctx, r, r.apigwARN("/domainnames/"+old.PhysicalID), oldProps(r, old)); err != nil {
			return nil, err
		}
		return httpDomainAttrs(r, old.PhysicalID, out), nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodDelete,
			path: "/v2/domainnames/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

func httpDomainAttrs(r *resourceCall, name string, out map[string]any) map[string]any {
	a := map[string]any{"DomainNameArn": "arn:aws:apigateway:" + r.region + "::/domainnames/" + name}
	if cfgs, _ := out["domainNameConfigurations"].([]any); len(cfgs) > 0 {
		if c, _ := cfgs[0].(map[string]any); c != nil {
			if v, ok := c["apiGatewayDomainName"]; ok {
				a["RegionalDomainName"] = v
			}
			if v, ok := c["hostedZoneId"]; ok {
				a["RegionalHostedZoneId"] = v
			}
		}
	}
	return a
}

// AWS::ApiGatewayV2::ApiMapping: Ref is the mapping id; a changed DomainName
// replaces it, the rest changes in place.
var httpAPIMapping = &provisioner{
	replaceOn: []string{"DomainName"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check([]string{"ApiMappingKey"}, []string{"DomainName", "ApiId", "Stage"}, nil); err != nil {
			return "", nil, err
		}
		body, err := v2Body(p, []string{"ApiId", "Stage", "ApiMappingKey"}, nil)
		if err != nil {
			return "", nil, err
		}
		domain, _ := p.str("DomainName")
		var out struct {
			ID string `json:"apiMappingId"`
		}
		if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPost, "/v2/domainnames/"+url.PathEscape(domain)+"/apimappings", body, &out); err != nil {
			return "", nil, err
		}
		return out.ID, nil, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check([]string{"ApiMappingKey"}, []string{"DomainName", "ApiId", "Stage"}, nil); err != nil {
			return nil, err
		}
		body, err := v2Body(p, []string{"ApiId", "Stage", "ApiMappingKey"}, nil)
		if err != nil {
			return nil, err
		}
		if _, ok := body["apiMappingKey"]; !ok {
			body["apiMappingKey"] = "" // a removed key maps at the root again
		}
		domain, _ := p.str("DomainName")
		return old.Attrs, r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPatch,
			"/v2/domainnames/"+url.PathEscape(domain)+"/apimappings/"+url.PathEscape(old.PhysicalID), body, nil)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		domain, _ := stringOf(rec.Properties["DomainName"])
		_, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodDelete,
			path: "/v2/domainnames/" + url.PathEscape(domain) + "/apimappings/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// syncV2Tags moves an apigatewayv2 resource's tags (a map property) from the old
// properties' to the new ones': UntagResource (DELETE /v2/tags/{arn}) for the
// keys removed, TagResource (POST /v2/tags/{arn}) for the rest when they changed.
func syncV2Tags(ctx context.Context, r *resourceCall, arn string, old props) error {
	want, err := r.props.tagMap("Tags")
	if err != nil {
		return err
	}
	had, _ := old.tagMap("Tags")
	path := "/v2/tags/" + url.PathEscape(arn)
	if remove := removedTags(had, want); len(remove) > 0 {
		if _, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodDelete, path: path,
			query: url.Values{"tagKeys": remove}}); err != nil {
			return err
		}
	}
	if len(want) > 0 && !jsonEqual(want, had) {
		return r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPost, path, map[string]any{"tags": want}, nil)
	}
	return nil
}
