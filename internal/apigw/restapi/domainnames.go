package restapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/sluice-dev/sluice/internal/apigw/domainnames"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Custom domain names and base path mappings (apigateway v1). The records are
// shared with apigatewayv2 (package domainnames); this file renders v1's shape.

type domainEndpointConfig struct {
	Types []string `json:"types,omitempty"`
}

type createDomainNameInput struct {
	DomainName             string                `json:"domainName"`
	CertificateArn         string                `json:"certificateArn"`
	RegionalCertificateArn string                `json:"regionalCertificateArn"`
	EndpointConfiguration  *domainEndpointConfig `json:"endpointConfiguration"`
	SecurityPolicy         string                `json:"securityPolicy"`
	Tags                   map[string]string     `json:"tags"`
	// Fields Sluice does not serve are refused rather than ignored.
	CertificateBody         string `json:"certificateBody"`
	MutualTLSAuthentication *struct {
		TruststoreURI string `json:"truststoreUri"`
	} `json:"mutualTlsAuthentication"`
}

// domainNameOut is AWS's DomainName shape.
type domainNameOut struct {
	DomainName               string               `json:"domainName"`
	CertificateArn           string               `json:"certificateArn,omitempty"`
	CertificateUploadDate    *model.EpochTime     `json:"certificateUploadDate,omitempty"`
	RegionalCertificateArn   string               `json:"regionalCertificateArn,omitempty"`
	RegionalDomainName       string               `json:"regionalDomainName,omitempty"`
	RegionalHostedZoneID     string               `json:"regionalHostedZoneId,omitempty"`
	DistributionDomainName   string               `json:"distributionDomainName,omitempty"`
	DistributionHostedZoneID string               `json:"distributionHostedZoneId,omitempty"`
	EndpointConfiguration    domainEndpointConfig `json:"endpointConfiguration"`
	DomainNameStatus         string               `json:"domainNameStatus"`
	SecurityPolicy           string               `json:"securityPolicy"`
	Tags                     map[string]string    `json:"tags,omitempty"`
}

// endpointHost is the target a DNS record for the domain points at: AWS gives a
// d-xxxxxxxxxx.execute-api.{region}.amazonaws.com (regional) or
// dxxxxxxxxxxxx.cloudfront.net (edge) name; Sluice derives a stable one from the
// domain name, for scripts that read it.
func endpointHost(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:5])
}

func (s *Service) domainNameOut(d *model.DomainName) domainNameOut {
	up := model.EpochTime(d.Created)
	out := domainNameOut{DomainName: d.Name, CertificateUploadDate: &up,
		EndpointConfiguration: domainEndpointConfig{Types: []string{d.EndpointType}},
		DomainNameStatus:      "AVAILABLE", SecurityPolicy: d.SecurityPolicy, Tags: d.Tags}
	if d.EndpointType == "EDGE" {
		out.CertificateArn = d.CertificateArn
		out.DistributionDomainName = "d" + endpointHost(d.Name) + ".cloudfront.net"
		out.DistributionHostedZoneID = "Z2FDTNDATAQYW2" // CloudFront's zone, the same for every distribution
	} else {
		out.RegionalCertificateArn = d.CertificateArn
		out.RegionalDomainName = "d-" + endpointHost(d.Name) + ".execute-api." + s.region + ".amazonaws.com"
		out.RegionalHostedZoneID = regionalZone(s.region)
	}
	return out
}

// regionalZone is API Gateway's Route 53 hosted zone id of a region's regional
// endpoints (the ones AWS documents for the common regions).
func regionalZone(region string) string {
	switch region {
	case "us-east-1":
		return "Z1UJRXOUMOOFQ8"
	case "us-east-2":
		return "ZOJJZC49E0EPZ"
	case "us-west-2":
		return "Z2OJLYMUO9EFXC"
	case "eu-west-1":
		return "ZLY8HYME6SFDD"
	case "eu-central-1":
		return "Z1U9ULNL0V5AJ3"
	}
	return "Z1UJRXOUMOOFQ8"
}

func (s *Service) createDomainName(ctx context.Context, req *request) (int, any, error) {
	var in createDomainNameInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.DomainName == "" {
		return 0, nil, badRequest("Domain name is required")
	}
	name, err := domainnames.NormalizeName(in.DomainName)
	if err != nil {
		return 0, nil, err
	}
	if in.CertificateBody != "" {
		return 0, nil, badRequest("Sluice serves custom domains with ACM certificates only: import the certificate with acm import-certificate and pass its certificateArn")
	}
	if in.MutualTLSAuthentication != nil && in.MutualTLSAuthentication.TruststoreURI != "" {
		return 0, nil, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException", "mutualTlsAuthentication (mutual TLS for custom domains) is not implemented in Sluice yet")
	}
	endpoint := "EDGE" // v1's default endpoint type for a domain name
	if in.EndpointConfiguration != nil && len(in.EndpointConfiguration.Types) > 0 {
		if len(in.EndpointConfiguration.Types) != 1 {
			return 0, nil, badRequest("A domain name can have only one endpoint type")
		}
		endpoint = in.EndpointConfiguration.Types[0]
	}
	cert := in.CertificateArn
	switch endpoint {
	case "EDGE":
		if cert == "" && in.RegionalCertificateArn != "" {
			return 0, nil, badRequest("A regional certificate ARN can only be used with a REGIONAL endpoint")
		}
	case "REGIONAL":
		if in.CertificateArn != "" {
			return 0, nil, badRequest("A certificate ARN can only be used with an EDGE endpoint; use regionalCertificateArn")
		}
		cert = in.RegionalCertificateArn
	default:
		return 0, nil, badRequest("Invalid endpoint configuration type: %s. Must be one of: [EDGE, REGIONAL]", endpoint)
	}
	d := &model.DomainName{Name: name, CertificateArn: cert, EndpointType: endpoint, SecurityPolicy: in.SecurityPolicy, Tags: in.Tags}
	if err := domainnames.Create(ctx, s.store, s.certs, d); err != nil {
		return 0, nil, err
	}
	s.log.Info("created domain name", "domainName", name, "endpointType", endpoint)
	return http.StatusCreated, s.domainNameOut(d), nil
}

func (s *Service) getDomainName(ctx context.Context, req *request) (int, any, error) {
	d, err := domainnames.Load(s.reader(ctx), req.params["domainName"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.domainNameOut(d), nil
}

func (s *Service) getDomainNames(ctx context.Context, req *request) (int, any, error) {
	outs, err := domainnames.ListAs(s.reader(ctx), s.domainNameOut)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, outs, func(d domainNameOut) string { return d.DomainName })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateDomainName(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateDomainNameInput")
	if err != nil {
		return 0, nil, err
	}
	d, err := domainnames.Update(ctx, s.store, s.certs, req.params["domainName"], func(d *model.DomainName) error {
		for _, op := range ops {
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			switch op.path() {
			case "/certificateArn", "/regionalCertificateArn":
				d.CertificateArn = op.value()
			case "/securityPolicy":
				d.SecurityPolicy = op.value()
			default:
				return errPathNotOneOf(op, "/certificateArn, /regionalCertificateArn, /securityPolicy")
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.domainNameOut(d), nil
}

func (s *Service) deleteDomainName(ctx context.Context, req *request) (int, any, error) {
	if err := domainnames.Delete(ctx, s.store, req.params["domainName"]); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// Base path mappings.

type basePathMappingOut struct {
	BasePath  string `json:"basePath"`
	RestAPIID string `json:"restApiId"`
	Stage     string `json:"stage,omitempty"`
}

func mappingOut(m *model.DomainMapping) basePathMappingOut {
	bp := m.Key
	if bp == "" {
		bp = "(none)"
	}
	return basePathMappingOut{BasePath: bp, RestAPIID: m.APIID, Stage: m.Stage}
}

type createBasePathMappingInput struct {
	BasePath  string `json:"basePath"`
	RestAPIID string `json:"restApiId"`
	Stage     string `json:"stage"`
}

func (s *Service) createBasePathMapping(ctx context.Context, req *request) (int, any, error) {
	var in createBasePathMappingInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	key, err := domainnames.NormalizeKey(in.BasePath)
	if err != nil {
		return 0, nil, err
	}
	if in.RestAPIID == "" {
		return 0, nil, badRequest("Invalid REST API identifier specified")
	}
	var out *model.DomainMapping
	err = s.store.Update(ctx, func(tx store.Tx) error {
		d, err := domainnames.Load(tx, req.params["domainName"])
		if err != nil {
			return err
		}
		// v1 maps REST APIs only; HTTP APIs are mapped with apigatewayv2.
		if _, err := s.loadAPI(tx, in.RestAPIID); err != nil {
			return err
		}
		out = &model.DomainMapping{Domain: d.Name, Key: key, APIID: in.RestAPIID, Stage: in.Stage}
		return domainnames.PutMapping(tx, out)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, mappingOut(out), nil
}

// findBasePath finds the mapping a v1 path label names ("(none)" is the root).
func findBasePath(rd reader, domain, basePath string) (*model.DomainMapping, error) {
	d, err := domainnames.Load(rd, domain)
	if err != nil {
		return nil, err
	}
	key, err := domainnames.NormalizeKey(basePath)
	if err != nil {
		return nil, domainnames.ErrMappingNotFound
	}
	ms, err := domainnames.Mappings(rd, d.Name)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Key == key {
			return m, nil
		}
	}
	return nil, domainnames.ErrMappingNotFound
}

func (s *Service) getBasePathMapping(ctx context.Context, req *request) (int, any, error) {
	m, err := findBasePath(s.reader(ctx), req.params["domainName"], req.params["basePath"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mappingOut(m), nil
}

func (s *Service) getBasePathMappings(ctx context.Context, req *request) (int, any, error) {
	outs, err := domainnames.DomainMappings(s.reader(ctx), req.params["domainName"], mappingOut)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, outs, func(m basePathMappingOut) string { return m.BasePath })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateBasePathMapping(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateBasePathMappingInput")
	if err != nil {
		return 0, nil, err
	}
	var out *model.DomainMapping
	err = s.store.Update(ctx, func(tx store.Tx) error {
		m, err := findBasePath(tx, req.params["domainName"], req.params["basePath"])
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			switch op.path() {
			case "/basePath":
				if m.Key, err = domainnames.NormalizeKey(op.value()); err != nil {
					return err
				}
			case "/restapiId":
				if _, err := s.loadAPI(tx, op.value()); err != nil {
					return err
				}
				m.APIID = op.value()
			case "/stage":
				m.Stage = op.value()
			default:
				return errPathNotOneOf(op, "/basePath, /restapiId, /stage")
			}
		}
		out = m
		return domainnames.PutMapping(tx, m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mappingOut(out), nil
}

func (s *Service) deleteBasePathMapping(ctx context.Context, req *request) (int, any, error) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		m, err := findBasePath(tx, req.params["domainName"], req.params["basePath"])
		if err != nil {
			return err
		}
		return tx.Delete(domainnames.MappingKey(m.Domain, m.ID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
