package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// VPC links (apigatewayv2). A private integration (connectionType VPC_LINK) names
// a load balancer listener or Cloud Map service ARN; the gateway sends its requests
// to the address the operator mapped that ARN to (--vpc-link-target ARN=host:port).

type vpcLinkInput struct {
	Name             *string           `json:"name"`
	SecurityGroupIDs []string          `json:"securityGroupIds"`
	SubnetIDs        []string          `json:"subnetIds"`
	Tags             map[string]string `json:"tags"`
}

func httpVPCLinkKey(id string) string { return model.HTTPVPCLinkPrefix + id }

func (s *Service) createVPCLink(ctx context.Context, req *request) (int, any, error) {
	var in vpcLinkInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil || *in.Name == "" {
		return 0, nil, badRequest("Name is required")
	}
	if len(in.SubnetIDs) == 0 {
		return 0, nil, badRequest("SubnetIds is required")
	}
	if err := validateTags(in.Tags); err != nil {
		return 0, nil, err
	}
	sg := in.SecurityGroupIDs
	if sg == nil {
		sg = []string{}
	}
	l := &model.HTTPVPCLink{VpcLinkID: awsproto.NewID(6), Name: *in.Name, SecurityGroupIDs: sg, SubnetIDs: in.SubnetIDs,
		CreatedDate: s.timestamp(), VpcLinkStatus: "AVAILABLE", VpcLinkStatusMessage: "VPC link is ready to route traffic",
		VpcLinkVersion: "V2", Tags: in.Tags}
	if err := s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, httpVPCLinkKey(l.VpcLinkID), l) }); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, l, nil
}

func loadHTTPVPCLink(rd store.Reader, id string) (*model.HTTPVPCLink, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") {
		return nil, notFound("Invalid VPC link identifier specified")
	}
	return store.RecordOr[model.HTTPVPCLink](rd, httpVPCLinkKey(id), notFound("Invalid VPC link identifier specified"))
}

func (s *Service) getVPCLink(ctx context.Context, req *request) (int, any, error) {
	l, err := loadHTTPVPCLink(s.reader(ctx), req.params["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, l, nil
}

func (s *Service) getVPCLinks(ctx context.Context, req *request) (int, any, error) {
	ls, err := store.ListRecords[model.HTTPVPCLink](s.reader(ctx), model.HTTPVPCLinkPrefix)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, ls, func(l *model.HTTPVPCLink) string { return l.VpcLinkID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateVPCLink(ctx context.Context, req *request) (int, any, error) {
	var in vpcLinkInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	var out *model.HTTPVPCLink
	err := s.store.Update(ctx, func(tx store.Tx) error {
		l, err := loadHTTPVPCLink(tx, req.params["id"])
		if err != nil {
			return err
		}
		if in.Name != nil {
			if *in.Name == "" {
				return badRequest("Name must not be empty")
			}
			l.Name = *in.Name
		}
		out = l
		return store.PutRecord(tx, httpVPCLinkKey(l.VpcLinkID), l)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteVPCLink(ctx context.Context, req *request) (int, any, error) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		l, err := loadHTTPVPCLink(tx, req.params["id"])
		if err != nil {
			return err
		}
		return tx.Delete(httpVPCLinkKey(l.VpcLinkID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
