package cfn

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"
)

// SAM's Domain property, on AWS::Serverless::Api (api_generator.py
// _construct_api_domain) and AWS::Serverless::HttpApi (apiv2_generator.py
// _construct_api_domain). Both generators read the block alike: its parameter
// refs resolved, DomainName and CertificateArn required, the domain resource
// named after LogicalIdGenerator("", DomainName) and one mapping per BasePath
// (or one at the root). They differ in the resources written, which a
// samDomainKind holds. Route53 records are not emulated (Sluice serves no DNS),
// and mutual TLS is not implemented, so those blocks are refused by name.

// samDomainKind is what one generator writes for a Domain.
type samDomainKind struct {
	domainType    string   // the domain resource type
	domainPrefix  string   // the domain resource's logical id before the hash
	mappingType   string   // the mapping resource type
	mappingSuffix string   // a mapping's logical id is {Api}{path}{mappingSuffix}
	apiKey        string   // the mapping property naming the API
	pathKey       string   // the mapping property holding the base path
	known         []string // the Domain properties Sluice's transform implements
	refused       []string // SAM's other Domain properties, refused by name
	// missing is SAM's error for an absent DomainName or CertificateArn.
	missing func(key string) string
	// domainProps are the domain resource's properties.
	domainProps func(d *samDomain) (map[string]any, string)
	// basePaths are the mappings' logical id infixes and base path values;
	// none means one mapping at the root.
	basePaths func(d *samDomain) ([]samBasePath, string)
}

type samBasePath struct{ idPart, value string }

// samDomain is a Domain block read for one API.
type samDomain struct {
	apiID string
	props map[string]any // the block, parameter refs resolved
}

// samRestDomain: an AWS::ApiGateway::DomainName (RegionalCertificateArn for a
// REGIONAL endpoint, CertificateArn for EDGE) and AWS::ApiGateway::BasePathMapping
// resources, {Api}{alphanumerics of the path}BasePathMapping.
var samRestDomain = &samDomainKind{
	domainType: "AWS::ApiGateway::DomainName", domainPrefix: "ApiGatewayDomainName", mappingType: "AWS::ApiGateway::BasePathMapping", mappingSuffix: "BasePathMapping",
	apiKey: "RestApiId", pathKey: "BasePath",
	known: []string{"DomainName", "CertificateArn", "EndpointConfiguration", "BasePath", "SecurityPolicy", "NormalizeBasePath"},
	// Policy and AccessAssociation belong to private domains; IpAddressType and
	// EndpointAccessMode are not implemented by Sluice's domain names.
	refused: []string{"Route53", "MutualTlsAuthentication", "OwnershipVerificationCertificateArn", "Policy", "AccessAssociation",
		"IpAddressType", "EndpointAccessMode"},
	// sam_expect(...).to_not_be_none()
	missing: func(key string) string { return fmt.Sprintf("Property 'Domain.%s' is required.", key) },
	domainProps: func(d *samDomain) (map[string]any, string) {
		endpoint := d.props["EndpointConfiguration"]
		switch endpoint {
		case nil:
			endpoint = "REGIONAL"
		case "EDGE", "REGIONAL":
		case "PRIVATE":
			// SAM writes an AWS::ApiGateway::DomainNameV2 for private domains.
			return nil, samResourceError(d.apiID, "Sluice's SAM transform does not implement a PRIVATE 'Domain.EndpointConfiguration' yet.")
		default:
			return nil, samResourceError(d.apiID, "EndpointConfiguration for Custom Domains must be one of ['EDGE', 'REGIONAL', 'PRIVATE'].")
		}
		props := map[string]any{"DomainName": d.props["DomainName"], "EndpointConfiguration": map[string]any{"Types": []any{endpoint}}}
		if endpoint == "REGIONAL" {
			props["RegionalCertificateArn"] = d.props["CertificateArn"]
		} else {
			props["CertificateArn"] = d.props["CertificateArn"]
		}
		d.copyIfSet(props, "SecurityPolicy")
		return props, ""
	},
	basePaths: func(d *samDomain) ([]samBasePath, string) {
		paths, msg := d.basePathList(func(i int) string {
			return samResourceError(d.apiID, "Property 'Domain.BasePath[%d]' should be a string.", i)
		})
		normalize := true
		if n, ok := d.props["NormalizeBasePath"].(bool); ok {
			normalize = n
		}
		var out []samBasePath
		for _, p := range paths {
			// "a base path may only contain letters, numbers, and one of
			// $-_.+!*'()": NormalizeBasePath (the default) keeps the
			// alphanumerics, which also name the mapping.
			alnum := nonAlnum.ReplaceAllString(p, "")
			value := p
			if normalize {
				value = alnum
			}
			out = append(out, samBasePath{alnum, value})
		}
		return out, msg
	},
}

// samHTTPDomain: an AWS::ApiGatewayV2::DomainName with one REGIONAL
// configuration, tagged httpapi:createdBy as SAM tags what HttpApi generates,
// and AWS::ApiGatewayV2::ApiMapping resources, {Api}{path without -_/}ApiMapping
// keyed by the path without its outer slashes.
var samHTTPDomain = &samDomainKind{
	domainType: "AWS::ApiGatewayV2::DomainName", domainPrefix: "ApiGatewayDomainNameV2", mappingType: "AWS::ApiGatewayV2::ApiMapping", mappingSuffix: "ApiMapping",
	apiKey: "ApiId", pathKey: "ApiMappingKey",
	known:   []string{"DomainName", "CertificateArn", "EndpointConfiguration", "BasePath", "SecurityPolicy"},
	refused: []string{"Route53", "MutualTlsAuthentication", "OwnershipVerificationCertificateArn"},
	missing: func(string) string {
		return "Custom Domains only works if both DomainName and CertificateArn are provided."
	},
	domainProps: func(d *samDomain) (map[string]any, string) {
		endpoint := d.props["EndpointConfiguration"]
		if endpoint == nil {
			endpoint = "REGIONAL"
		} else if endpoint != "REGIONAL" {
			return nil, samResourceError(d.apiID, "EndpointConfiguration for Custom Domains must be one of ['REGIONAL'].")
		}
		cfg := map[string]any{"CertificateArn": d.props["CertificateArn"], "EndpointType": endpoint}
		d.copyIfSet(cfg, "SecurityPolicy")
		return map[string]any{"DomainName": d.props["DomainName"], "DomainNameConfigurations": []any{cfg},
			"Tags": map[string]any{"httpapi:createdBy": "SAM"}}, ""
	},
	basePaths: func(d *samDomain) ([]samBasePath, string) {
		paths, msg := d.basePathList(func(int) string { return samResourceError(d.apiID, "Basepath must be a string.") })
		var out []samBasePath
		for _, p := range paths {
			if samInvalidBasePath.MatchString(p) {
				return nil, samResourceError(d.apiID, "Invalid Basepath name provided.")
			}
			out = append(out, samBasePath{samBasePathSeparators.ReplaceAllString(p, ""), strings.Trim(p, "/")})
		}
		return out, msg
	},
}

var (
	samInvalidBasePath    = regexp.MustCompile(`[^0-9a-zA-Z/\-_]+`)
	samBasePathSeparators = regexp.MustCompile(`[\-_/]+`)
)

// addSAMDomain writes an API's Domain, if it has one, with the resources of
// kind; the mappings reference stageID, and every resource carries the API's
// Condition (SAM's passthrough attributes).
func addSAMDomain(t *template, kind *samDomainKind, apiID string, apiProps map[string]any, stageID, condition string) string {
	v, ok := apiProps["Domain"]
	if !ok {
		return ""
	}
	m, ok := v.(map[string]any)
	if !ok {
		return samResourceError(apiID, "Type of property 'Domain' is invalid.")
	}
	d := &samDomain{apiID: apiID, props: m}
	for _, k := range sortedKeys(m) {
		switch {
		case contains(kind.refused, k):
			return samResourceError(apiID, "Sluice's SAM transform does not implement property 'Domain.%s' yet.", k)
		case !contains(kind.known, k):
			return samResourceError(apiID, "Domain has invalid property '%s'.", k)
		}
	}
	for _, k := range []string{"DomainName", "CertificateArn"} {
		if m[k] == nil {
			return samResourceError(apiID, "%s", kind.missing(k))
		}
	}
	props, msg := kind.domainProps(d)
	if msg != "" {
		return msg
	}
	paths, msg := kind.basePaths(d)
	if msg != "" {
		return msg
	}
	domainID := kind.domainPrefix + samLogicalIDHash(m["DomainName"])
	t.Resources[domainID] = &resourceDef{Type: kind.domainType, Properties: props, Condition: condition}
	mapping := func(id, basePath string, root bool) {
		mp := map[string]any{"DomainName": map[string]any{"Ref": domainID}, kind.apiKey: map[string]any{"Ref": apiID},
			"Stage": map[string]any{"Ref": stageID}}
		if !root {
			mp[kind.pathKey] = basePath
		}
		t.Resources[id] = &resourceDef{Type: kind.mappingType, Properties: mp, Condition: condition}
	}
	if len(paths) == 0 {
		mapping(apiID+kind.mappingSuffix, "", true)
	}
	for _, p := range paths {
		mapping(apiID+p.idPart+kind.mappingSuffix, p.value, false)
	}
	return ""
}

func (d *samDomain) copyIfSet(to map[string]any, key string) {
	if v, ok := d.props[key]; ok && v != nil && v != "" {
		to[key] = v
	}
}

// basePathList is BasePath as a list: a string is one path, an empty value
// none. notString is the error for a list item that is not a string.
func (d *samDomain) basePathList(notString func(i int) string) ([]string, string) {
	switch bp := d.props["BasePath"].(type) {
	case nil:
		return nil, ""
	case string:
		if bp == "" {
			return nil, ""
		}
		return []string{bp}, ""
	case []any:
		paths := make([]string, 0, len(bp))
		for i, x := range bp {
			s, ok := x.(string)
			if !ok {
				return nil, notString(i)
			}
			paths = append(paths, s)
		}
		return paths, ""
	default:
		return nil, samResourceError(d.apiID, "Type of property 'Domain.BasePath' is invalid.")
	}
}

// samLogicalIDHash is SAM's LogicalIdGenerator("", v).get_hash(): the first ten
// hex digits of the SHA-1 of v, a string as it is and anything else (an
// intrinsic) as Python's json.dumps(v, separators=(",", ":"), sort_keys=True).
func samLogicalIDHash(v any) string {
	s, ok := v.(string)
	if !ok {
		s = pythonJSON(v)
	}
	if s == "" {
		return ""
	}
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])[:10]
}

// pythonJSON is json.dumps's compact, key-sorted output: Go's encoder sorts map
// keys too; Python escapes no HTML characters and every non-ASCII one.
func pythonJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	var out strings.Builder
	for _, r := range strings.TrimSuffix(buf.String(), "\n") {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.String()
}

// resolveSAMParameterRefs is SAM's IntrinsicsResolver.resolve_parameter_refs,
// which the generators apply to Domain: {"Ref": P} becomes P's value and ${P} in
// an Fn::Sub string is substituted, for the parameters in params; every other
// reference is left for CloudFormation. v is not modified.
func resolveSAMParameterRefs(v any, params map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if name, ok := x["Ref"].(string); ok {
				if val, ok := params[name]; ok {
					return val
				}
				return x
			}
			switch sub := x["Fn::Sub"].(type) {
			case string:
				return map[string]any{"Fn::Sub": substituteSAMParams(sub, params)}
			case []any:
				if len(sub) == 0 {
					break
				}
				if s, ok := sub[0].(string); ok {
					out := append([]any{substituteSAMParams(s, params)}, resolveSAMParameterRefs(sub[1:], params).([]any)...)
					return map[string]any{"Fn::Sub": out}
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = resolveSAMParameterRefs(e, params)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveSAMParameterRefs(e, params)
		}
		return out
	}
	return v
}

// samSubRef is SAM's pattern for a ${reference} inside an Fn::Sub string.
var samSubRef = regexp.MustCompile(`\$\{([A-Za-z0-9.]+|AWS::[A-Z][A-Za-z]*)\}`)

func substituteSAMParams(s string, params map[string]string) string {
	return samSubRef.ReplaceAllStringFunc(s, func(ref string) string {
		if val, ok := params[ref[2:len(ref)-1]]; ok {
			return val
		}
		return ref
	})
}

// resolveSAMDomainParams resolves the parameter refs in an API's Domain.
func resolveSAMDomainParams(apiProps map[string]any, params map[string]string) {
	if d, ok := apiProps["Domain"]; ok {
		apiProps["Domain"] = resolveSAMParameterRefs(d, params)
	}
}
