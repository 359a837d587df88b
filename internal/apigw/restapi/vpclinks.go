package restapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// VPC links (apigateway v1). An integration with connectionType VPC_LINK sends
// the request to its http(s) URI, as API Gateway does through the link's NLB; Sluice
// reaches that URI directly, so the link is AVAILABLE at once.

var errVPCLinkNotFound = awsproto.NotFound("NotFoundException", "Invalid VPC link identifier specified")

type createVPCLinkInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	TargetArns  []string          `json:"targetArns"`
	Tags        map[string]string `json:"tags"`
}

func vpcLinkKey(id string) string { return model.RestVPCLinkPrefix + id }

func (s *Service) createVPCLink(ctx context.Context, req *request) (int, any, error) {
	var in createVPCLinkInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == "" {
		return 0, nil, badRequest("Name is required")
	}
	if len(in.TargetArns) != 1 {
		return 0, nil, badRequest("A VPC link needs exactly one target ARN (a Network Load Balancer)")
	}
	if _, err := awsproto.ParseARN(in.TargetArns[0]); err != nil {
		return 0, nil, badRequest("Invalid target ARN specified: %s", in.TargetArns[0])
	}
	l := &model.RestVPCLink{ID: awsproto.NewID(6), Name: in.Name, Description: in.Description, TargetArns: in.TargetArns,
		Status: "AVAILABLE", StatusMessage: "Your vpc link is ready for use", Tags: in.Tags}
	if err := s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, vpcLinkKey(l.ID), l) }); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, l, nil
}

func loadVPCLink(rd reader, id string) (*model.RestVPCLink, error) {
	if !safeID(id) {
		return nil, errVPCLinkNotFound
	}
	return store.RecordOr[model.RestVPCLink](rd, vpcLinkKey(id), errVPCLinkNotFound)
}

func (s *Service) getVPCLink(ctx context.Context, req *request) (int, any, error) {
	l, err := loadVPCLink(s.reader(ctx), req.params["vpcLinkId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, l, nil
}

func (s *Service) getVPCLinks(ctx context.Context, req *request) (int, any, error) {
	ls, err := store.ListRecords[model.RestVPCLink](s.reader(ctx), model.RestVPCLinkPrefix)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(req, ls, func(l *model.RestVPCLink) string { return l.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateVPCLink(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateVpcLinkInput")
	if err != nil {
		return 0, nil, err
	}
	var out *model.RestVPCLink
	err = s.store.Update(ctx, func(tx store.Tx) error {
		l, err := loadVPCLink(tx, req.params["vpcLinkId"])
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			switch op.path() {
			case "/name":
				if strings.TrimSpace(op.value()) == "" {
					return badRequest("Name is required")
				}
				l.Name = op.value()
			case "/description":
				l.Description = op.value()
			default:
				return errPathNotOneOf(op, "/name, /description")
			}
		}
		out = l
		return store.PutRecord(tx, vpcLinkKey(l.ID), l)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Service) deleteVPCLink(ctx context.Context, req *request) (int, any, error) {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		l, err := loadVPCLink(tx, req.params["vpcLinkId"])
		if err != nil {
			return err
		}
		return tx.Delete(vpcLinkKey(l.ID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
