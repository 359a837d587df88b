package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/domainnames"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// Custom domain names and API mappings (apigatewayv2). The records are shared
// with apigateway v1 (package domainnames); this file renders v2's shape.

type domainNameConfiguration struct {
	ApiGatewayDomainName  string `json:"apiGatewayDomainName,omitempty"`
	CertificateArn        string `json:"certificateArn,omitempty"`
	CertificateUploadDate string `json:"certificateUploadDate,omitempty"`
	DomainNameStatus      string `json:"domainNameStatus,omitempty"`
	EndpointType          string `json:"endpointType,omitempty"`
	HostedZoneID          string `json:"hostedZoneId,omitempty"`
	SecurityPolicy        string `json:"securityPolicy,omitempty"`
}

type domainNameOut struct {
	ApiMappingSelectionExpression string                    `json:"apiMappingSelectionExpression"`
	DomainName                    string                    `json:"domainName"`
	DomainNameConfigurations      []domainNameConfiguration `json:"domainNameConfigurations"`
	Tags                          map[string]string         `json:"tags,omitempty"`
}

type createDomainNameInput struct {
	DomainName               string                    `json:"domainName"`
	DomainNameConfigurations []domainNameConfiguration `json:"domainNameConfigurations"`
	Tags                     map[string]string         `json:"tags"`
	MutualTLSAuthentication  *struct {
		TruststoreURI string `json:"truststoreUri"`
	} `json:"mutualTlsAuthentication"`
}

func (s *Service) domainNameOut(d *model.DomainName) domainNameOut {
	sum := sha256.Sum256([]byte(d.Name))
	return domainNameOut{
		ApiMappingSelectionExpression: "$request.basepath",
		DomainName:                    d.Name,
		DomainNameConfigurations: []domainNameConfiguration{{
			ApiGatewayDomainName:  "d-" + hex.EncodeToString(sum[:5]) + ".execute-api." + s.region + ".amazonaws.com",
			CertificateArn:        d.CertificateArn,
			CertificateUploadDate: d.Created.UTC().Format("2006-01-02T15:04:05Z"),
			DomainNameStatus:      "AVAILABLE",
			EndpointType:          d.EndpointType,
			HostedZoneID:          "Z1UJRXOUMOOFQ8",
			SecurityPolicy:        d.SecurityPolicy,
		}},
		Tags: d.Tags,
	}
}

func (s *Service) createDomainName(ctx context.Context, req *request) (int, any, error) {
	var in createDomainNameInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.DomainName == "" {
		return 0, nil, badRequest("DomainName is required")
	}
	name, err := domainnames.NormalizeName(in.DomainName)
	if err != nil {
		return 0, nil, err
	}
	if in.MutualTLSAuthentication != nil && in.MutualTLSAuthentication.TruststoreURI != "" {
		return 0, nil, notImplemented("mutualTlsAuthentication (mutual TLS for custom domains)")
	}
	if len(in.DomainNameConfigurations) != 1 {
		return 0, nil, badRequest("Exactly one DomainNameConfiguration is required")
	}
	c := in.DomainNameConfigurations[0]
	endpoint := c.EndpointType
	switch endpoint {
	case "":
		endpoint = "REGIONAL" // apigatewayv2's only endpoint type for HTTP APIs
	case "REGIONAL", "EDGE":
	default:
		return 0, nil, badRequest("Invalid endpoint type: %s. Must be one of: [REGIONAL, EDGE]", endpoint)
	}
	if err := validateTags(in.Tags); err != nil {
		return 0, nil, err
	}
	d := &model.DomainName{Name: name, CertificateArn: c.CertificateArn, EndpointType: endpoint, SecurityPolicy: c.SecurityPolicy, Tags: in.Tags}
	if err := domainnames.Create(ctx, s.store, s.certs, d); err != nil {
		return 0, nil, err
	}
	s.log.Info("created domain name", "domainName", name)
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
	var in createDomainNameInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if len(in.DomainNameConfigurations) > 1 {
		return 0, nil, badRequest("Exactly one DomainNameConfiguration is allowed")
	}
	d, err := domainnames.Update(ctx, s.store, s.certs, req.params["domainName"], func(d *model.DomainName) error {
		if len(in.DomainNameConfigurations) == 1 {
			c := in.DomainNameConfigurations[0]
			if c.CertificateArn != "" {
				d.CertificateArn = c.CertificateArn
			}
			if c.SecurityPolicy != "" {
				d.SecurityPolicy = c.SecurityPolicy
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
	return http.StatusNoContent, nil, nil
}

// API mappings.

type apiMappingOut struct {
	ApiID         string `json:"apiId"`
	ApiMappingID  string `json:"apiMappingId"`
	ApiMappingKey string `json:"apiMappingKey"`
	Stage         string `json:"stage"`
}

type apiMappingInput struct {
	ApiID         *string `json:"apiId"`
	ApiMappingKey *string `json:"apiMappingKey"`
	Stage         *string `json:"stage"`
}

func apiMappingView(m *model.DomainMapping) apiMappingOut {
	return apiMappingOut{ApiID: m.APIID, ApiMappingID: m.ID, ApiMappingKey: m.Key, Stage: m.Stage}
}

func (s *Service) createAPIMapping(ctx context.Context, req *request) (int, any, error) {
	var in apiMappingInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.ApiID == nil || *in.ApiID == "" {
		return 0, nil, badRequest("ApiId is required")
	}
	if in.Stage == nil || *in.Stage == "" {
		return 0, nil, badRequest("Stage is required")
	}
	key := ""
	if in.ApiMappingKey != nil {
		var err error
		if key, err = domainnames.NormalizeKey(*in.ApiMappingKey); err != nil {
			return 0, nil, err
		}
	}
	var out *model.DomainMapping
	err := s.store.Update(ctx, func(tx store.Tx) error {
		d, err := domainnames.Load(tx, req.params["domainName"])
		if err != nil {
			return err
		}
		out = &model.DomainMapping{Domain: d.Name, Key: key, APIID: *in.ApiID, Stage: *in.Stage}
		return domainnames.PutMapping(tx, out)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, apiMappingView(out), nil
}

func loadMapping(rd store.Reader, domain, id string) (*model.DomainMapping, error) {
	d, err := domainnames.Load(rd, domain)
	if err != nil {
		return nil, err
	}
	if id == "" || strings.ContainsAny(id, "/\x00") {
		return nil, domainnames.ErrMappingNotFound
	}
	m, found, err := store.GetRecord[model.DomainMapping](rd, domainnames.MappingKey(d.Name, id))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("Invalid API mapping identifier specified")
	}
	return m, nil
}

func (s *Service) getAPIMapping(ctx context.Context, req *request) (int, any, error) {
	m, err := loadMapping(s.reader(ctx), req.params["domainName"], req.params["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, apiMappingView(m), nil
}

func (s *Service) getAPIMappings(ctx context.Context, req *request) (int, any, error) {
	outs, err := domainnames.DomainMappings(s.reader(ctx), req.params["domainName"], apiMappingView)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, outs, func(m apiMappingOut) string { return m.ApiMappingKey })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateAPIMapping(ctx context.Context, req *request) (int, any, error) {
	var in apiMappingInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.ApiID == nil || *in.ApiID == "" {
		return 0, nil, badRequest("ApiId is required")
	}
	var out *model.DomainMapping
	err := s.store.Update(ctx, func(tx store.Tx) error {
		m, err := loadMapping(tx, req.params["domainName"], req.params["id"])
		if err != nil {
			return err
		}
		m.APIID = *in.ApiID
		if in.Stage != nil {
			m.Stage = *in.Stage
		}
		if in.ApiMappingKey != nil {
			if m.Key, err = domainnames.NormalizeKey(*in.ApiMappingKey); err != nil {
				return err
			}
		}
		out = m
		return domainnames.PutMapping(tx, m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, apiMappingView(out), nil
}

func (s *Service) deleteAPIMapping(ctx context.Context, req *request) (int, any, error) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		m, err := loadMapping(tx, req.params["domainName"], req.params["id"])
		if err != nil {
			return err
		}
		return tx.Delete(domainnames.MappingKey(m.Domain, m.ID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
