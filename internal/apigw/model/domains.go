package model

import "time"

// Custom domain names are one namespace shared by the apigateway (v1) and
// apigatewayv2 APIs, as on AWS: a domain created with either is listed by both, and
// its REST base path mappings and v2 API mappings are the same records seen through
// two shapes. They live outside Prefix: a domain change recompiles the routing table
// of internal/domains, not the API snapshot.
const (
	DomainPrefix        = "/domains/names/"    // + domainName        → DomainName
	DomainMappingPrefix = "/domains/mappings/" // + domainName/id     → DomainMapping
)

// DomainName is a custom domain name.
type DomainName struct {
	Name string `json:"name"`
	// CertificateArn is the ACM certificate served for the name (the regional
	// certificate of a REGIONAL domain, the edge one of an EDGE domain).
	CertificateArn string `json:"certificateArn"`
	// EndpointType is REGIONAL or EDGE.
	EndpointType string `json:"endpointType"`
	// SecurityPolicy is TLS_1_0 or TLS_1_2: the lowest TLS version its handshake accepts.
	SecurityPolicy string            `json:"securityPolicy"`
	Tags           map[string]string `json:"tags,omitempty"`
	Created        time.Time         `json:"created"`
	// HostedZone is the Route 53 zone id AWS reports for the endpoint type.
	HostedZone string `json:"hostedZone,omitempty"`
}

// DomainMapping maps a base path of a domain (the v1 basePath, the v2
// ApiMappingKey; "" is the root) to an API's stage.
type DomainMapping struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
	// Key is the base path without slashes at either end: "" (root), "email",
	// "v1/email".
	Key   string `json:"key"`
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
}

// VPC links. Sluice has no VPC to provision into: a link is AVAILABLE as soon as
// it exists, and an integration through it reaches its URI (REST) or the address
// the operator mapped its target ARN to (--vpc-link-target, HTTP APIs).
const (
	RestVPCLinkPrefix = "/vpclinks/v1/" // + id → RestVPCLink
	HTTPVPCLinkPrefix = "/vpclinks/v2/" // + id → HTTPVPCLink
)

// RestVPCLink is an apigateway (v1) VPC link, in AWS's JSON names.
type RestVPCLink struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	TargetArns    []string          `json:"targetArns"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"statusMessage"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// HTTPVPCLink is an apigatewayv2 VPC link, in AWS's JSON names.
type HTTPVPCLink struct {
	VpcLinkID            string            `json:"vpcLinkId"`
	Name                 string            `json:"name"`
	SecurityGroupIDs     []string          `json:"securityGroupIds"`
	SubnetIDs            []string          `json:"subnetIds"`
	CreatedDate          time.Time         `json:"createdDate"`
	VpcLinkStatus        string            `json:"vpcLinkStatus"`
	VpcLinkStatusMessage string            `json:"vpcLinkStatusMessage"`
	VpcLinkVersion       string            `json:"vpcLinkVersion"`
	Tags                 map[string]string `json:"tags,omitempty"`
}
