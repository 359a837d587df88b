package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/domainnames"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Tags live inline on the API, stage and domain name records. Their ARNs are
// arn:aws:apigateway:{region}::/apis/{apiId},
// arn:aws:apigateway:{region}::/apis/{apiId}/stages/{stageName} and
// arn:aws:apigateway:{region}::/domainnames/{domainName} (shared with apigateway v1).

const maxTags = 50

type tagsBody struct {
	Tags map[string]string `json:"tags"`
}

// tagTarget is a parsed taggable resource.
type tagTarget struct {
	apiID, stageName string // stageName empty for the API itself
	domain           string // a custom domain name instead of an API
}

func (s *Service) parseTagARN(raw string) (tagTarget, error) {
	a, err := awsproto.ParseARN(raw)
	if err != nil || a.Service != "apigateway" || a.AccountID != "" {
		return tagTarget{}, badRequest("Invalid resource ARN specified: %s", raw)
	}
	if a.Region != s.region {
		return tagTarget{}, notFound("Invalid resource ARN specified: %s is not in region %s", raw, s.region)
	}
	parts := strings.Split(strings.TrimPrefix(a.Resource, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "apis" && parts[1] != "":
		return tagTarget{apiID: parts[1]}, nil
	case len(parts) == 4 && parts[0] == "apis" && parts[2] == "stages" && parts[1] != "" && parts[3] != "":
		return tagTarget{apiID: parts[1], stageName: parts[3]}, nil
	case len(parts) == 2 && parts[0] == "domainnames" && parts[1] != "":
		return tagTarget{domain: parts[1]}, nil
	}
	return tagTarget{}, badRequest("Resource %s cannot be tagged by Sluice: taggable resources are APIs, stages and domain names", raw)
}

func validateTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return badRequest("Too many tags: a resource can have at most %d tags", maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return badRequest("Invalid tag key specified: %q; tag keys are 1 to 128 characters", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return badRequest("Invalid tag key specified: %s; the aws: prefix is reserved", k)
		}
		if len(v) > 256 {
			return badRequest("Invalid tag value specified for key %s; tag values are at most 256 characters", k)
		}
	}
	return nil
}

func (s *Service) getTags(ctx context.Context, req *request) (int, any, error) {
	t, err := s.parseTagARN(req.params["resourceArn"])
	if err != nil {
		return 0, nil, err
	}
	r := s.reader(ctx)
	if t.domain != "" {
		d, err := domainnames.Load(r, t.domain)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, tagsBody{Tags: orEmpty(d.Tags)}, nil
	}
	api, err := s.loadAPI(r, t.apiID)
	if err != nil {
		return 0, nil, err
	}
	tags := api.Tags
	if t.stageName != "" {
		st, err := loadStage(r, t.apiID, t.stageName)
		if err != nil {
			return 0, nil, err
		}
		tags = st.Tags
	}
	return http.StatusOK, tagsBody{Tags: orEmpty(tags)}, nil
}

func orEmpty(tags map[string]string) map[string]string {
	if tags == nil {
		return map[string]string{}
	}
	return tags
}

func (s *Service) tagResource(ctx context.Context, req *request) (int, any, error) {
	var in tagsBody
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return 0, nil, err
	}
	err := s.editTags(ctx, req.params["resourceArn"], func(tags map[string]string) {
		for k, v := range in.Tags {
			tags[k] = v
		}
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, struct{}{}, nil
}

func (s *Service) untagResource(ctx context.Context, req *request) (int, any, error) {
	keys := req.query["tagKeys"]
	if len(keys) == 0 {
		return 0, nil, badRequest("tagKeys is required")
	}
	err := s.editTags(ctx, req.params["resourceArn"], func(tags map[string]string) {
		for _, k := range keys {
			delete(tags, k)
		}
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// editTags applies edit to the tags of the resource named by arn, in one
// transaction, and checks the result still fits AWS's limit.
func (s *Service) editTags(ctx context.Context, arn string, edit func(map[string]string)) error {
	t, err := s.parseTagARN(arn)
	if err != nil {
		return err
	}
	if t.domain != "" {
		_, err := domainnames.Update(ctx, s.store, s.certs, t.domain, func(d *model.DomainName) error {
			tags, err := editedTags(d.Tags, edit)
			d.Tags = tags
			return err
		})
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		api, err := s.loadAPI(tx, t.apiID)
		if err != nil {
			return err
		}
		if t.stageName == "" {
			if api.Tags, err = editedTags(api.Tags, edit); err != nil {
				return err
			}
			// Tags are not part of what a deployment serves, so no auto-deploy.
			return store.PutRecord(tx, model.Key(model.HTTPAPIPrefix, t.apiID), api)
		}
		st, err := loadStage(tx, t.apiID, t.stageName)
		if err != nil {
			return err
		}
		if st.Tags, err = editedTags(st.Tags, edit); err != nil {
			return err
		}
		return store.PutRecord(tx, model.Key(model.HTTPStagePrefix, t.apiID, t.stageName), st)
	})
}

// editedTags is tags after edit, nil when none are left; more than AWS's limit
// is a BadRequestException.
func editedTags(tags map[string]string, edit func(map[string]string)) (map[string]string, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	edit(tags)
	if len(tags) > maxTags {
		return nil, badRequest("Too many tags: a resource can have at most %d tags", maxTags)
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}
