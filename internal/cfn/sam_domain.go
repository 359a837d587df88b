package cfn

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// addSAMRestDomain translates AWS::Serverless::Api's Domain as SAM does: an
// AWS::ApiGateway::DomainName named ApiGatewayDomainName<sha1(domain)[:10]> (SAM's
// LogicalIdGenerator over the domain name) and one AWS::ApiGateway::BasePathMapping
// per BasePath, {Api}{path without non-alphanumerics}BasePathMapping, or
// {Api}BasePathMapping at the root when there is none. Route53 records are not
// emulated, so a Route53 block is refused by name.
func addSAMRestDomain(t *template, api *samRestAPI, stageID string, condition string) string {
	v, ok := api.props["Domain"]
	if !ok {
		return ""
	}
	d, ok := v.(map[string]any)
	if !ok {
		return samAPIError(api.id, "Type of property 'Domain' is invalid.")
	}
	for _, k := range sortedKeys(d) {
		switch k {
		case "DomainName", "CertificateArn", "EndpointConfiguration", "BasePath", "SecurityPolicy", "NormalizeBasePath":
		case "Route53", "MutualTlsAuthentication", "OwnershipVerificationCertificateArn":
			return samAPIError(api.id, "Sluice's SAM transform does not implement property 'Domain.%s' yet.", k)
		default:
			return samAPIError(api.id, "Domain has invalid property '%s'.", k)
		}
	}
	name, ok := d["DomainName"].(string)
	if !ok || name == "" {
		return samAPIError(api.id, "Custom Domains only works if both DomainName and CertificateArn are provided.")
	}
	cert, ok := d["CertificateArn"]
	if !ok {
		return samAPIError(api.id, "Custom Domains only works if both DomainName and CertificateArn are provided.")
	}
	endpoint := "REGIONAL"
	if e, ok := d["EndpointConfiguration"].(string); ok {
		endpoint = e
	}
	props := map[string]any{"DomainName": name, "EndpointConfiguration": map[string]any{"Types": []any{endpoint}}}
	if endpoint == "REGIONAL" {
		props["RegionalCertificateArn"] = cert
	} else {
		props["CertificateArn"] = cert
	}
	if sp, ok := d["SecurityPolicy"]; ok {
		props["SecurityPolicy"] = sp
	}
	sum := sha1.Sum([]byte(name))
	domainID := "ApiGatewayDomainName" + hex.EncodeToString(sum[:])[:10]
	t.Resources[domainID] = &resourceDef{Type: "AWS::ApiGateway::DomainName", Properties: props, Condition: condition}

	var paths []string
	switch bp := d["BasePath"].(type) {
	case nil:
	case string:
		paths = []string{bp}
	case []any:
		for _, x := range bp {
			s, ok := x.(string)
			if !ok {
				return samAPIError(api.id, "Type of property 'Domain.BasePath' is invalid.")
			}
			paths = append(paths, s)
		}
	default:
		return samAPIError(api.id, "Type of property 'Domain.BasePath' is invalid.")
	}
	mapping := func(id, basePath string) {
		mp := map[string]any{"DomainName": map[string]any{"Ref": domainID}, "RestApiId": map[string]any{"Ref": api.id},
			"Stage": map[string]any{"Ref": stageID}}
		if basePath != "" {
			mp["BasePath"] = basePath
		}
		t.Resources[id] = &resourceDef{Type: "AWS::ApiGateway::BasePathMapping", Properties: mp, Condition: condition}
	}
	if len(paths) == 0 {
		mapping(api.id+"BasePathMapping", "")
	}
	for _, p := range paths {
		trimmed := strings.Trim(p, "/")
		mapping(api.id+nonAlnum.ReplaceAllString(trimmed, "")+"BasePathMapping", trimmed)
	}
	return ""
}
