package restapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/domainnames"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// taggable locates the record an apigateway ARN names. Sluice tags REST APIs
// (arn:aws:apigateway:{region}::/restapis/{id}), their stages
// (.../restapis/{id}/stages/{name}) and custom domain names
// (.../domainnames/{name}, shared with apigatewayv2); tags live inline in those
// records.
type taggable struct {
	key    string
	api    string
	stage  string
	domain string
}

func (s *Service) parseTaggable(arn string) (taggable, error) {
	a, err := awsproto.ParseARN(arn)
	if err != nil || a.Service != "apigateway" {
		return taggable{}, badRequest("Invalid ARN specified in the request")
	}
	parts := strings.Split(strings.TrimPrefix(a.Resource, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "restapis" && safeID(parts[1]):
		return taggable{key: apiKey(parts[1]), api: parts[1]}, nil
	case len(parts) == 4 && parts[0] == "restapis" && parts[2] == "stages" && safeID(parts[1]) && safeID(parts[3]):
		return taggable{key: stageKey(parts[1], parts[3]), api: parts[1], stage: parts[3]}, nil
	case len(parts) == 2 && parts[0] == "domainnames" && parts[1] != "":
		return taggable{key: domainnames.Key(parts[1]), domain: parts[1]}, nil
	}
	return taggable{}, badRequest("Invalid ARN specified in the request: %s", arn)
}

// readTags returns the tags of the record; NotFoundException if it does not exist.
func (s *Service) readTags(rd reader, t taggable) (map[string]string, error) {
	if t.domain != "" {
		d, err := domainnames.Load(rd, t.domain)
		if err != nil {
			return nil, err
		}
		return d.Tags, nil
	}
	if t.stage == "" {
		a, err := s.loadAPI(rd, t.api)
		if err != nil {
			return nil, err
		}
		return a.Tags, nil
	}
	st, err := s.loadStage(rd, t.api, t.stage)
	if err != nil {
		return nil, err
	}
	return st.Tags, nil
}

// writeTags applies fn to the record's tags in one transaction.
func (s *Service) writeTags(ctx context.Context, t taggable, fn func(map[string]string) (map[string]string, error)) error {
	if t.domain != "" {
		_, err := domainnames.Update(ctx, s.store, s.certs, t.domain, func(d *model.DomainName) error {
			var err error
			d.Tags, err = fn(d.Tags)
			return err
		})
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if t.stage == "" {
			a, err := s.loadAPI(tx, t.api)
			if err != nil {
				return err
			}
			if a.Tags, err = fn(a.Tags); err != nil {
				return err
			}
			return store.PutRecord(tx, t.key, a)
		}
		st, err := s.loadStage(tx, t.api, t.stage)
		if err != nil {
			return err
		}
		if st.Tags, err = fn(st.Tags); err != nil {
			return err
		}
		return store.PutRecord(tx, t.key, st)
	})
}

func (s *Service) getTags(ctx context.Context, req *request) (int, any, error) {
	t, err := s.parseTaggable(req.params["resourceArn"])
	if err != nil {
		return 0, nil, err
	}
	tags, err := s.readTags(s.reader(ctx), t)
	if err != nil {
		return 0, nil, err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return http.StatusOK, struct {
		Tags map[string]string `json:"tags"`
	}{tags}, nil
}

// maxTags is AWS's limit of tags per resource.
const maxTags = 50

func (s *Service) tagResource(ctx context.Context, req *request) (int, any, error) {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	t, err := s.parseTaggable(req.params["resourceArn"])
	if err != nil {
		return 0, nil, err
	}
	for k := range in.Tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return 0, nil, badRequest("Invalid tag key: %s", k)
		}
	}
	err = s.writeTags(ctx, t, func(tags map[string]string) (map[string]string, error) {
		if tags == nil {
			tags = map[string]string{}
		}
		for k, v := range in.Tags {
			tags[k] = v
		}
		if len(tags) > maxTags {
			return nil, badRequest("The number of tags on the resource cannot exceed %d", maxTags)
		}
		return tags, nil
	})
	if err != nil {
		return 0, nil, internalErr("tag resource", err)
	}
	return http.StatusNoContent, nil, nil
}

func (s *Service) untagResource(ctx context.Context, req *request) (int, any, error) {
	t, err := s.parseTaggable(req.params["resourceArn"])
	if err != nil {
		return 0, nil, err
	}
	keys := req.query["tagKeys"]
	err = s.writeTags(ctx, t, func(tags map[string]string) (map[string]string, error) {
		for _, k := range keys {
			delete(tags, k)
		}
		if len(tags) == 0 {
			return nil, nil
		}
		return tags, nil
	})
	if err != nil {
		return 0, nil, internalErr("untag resource", err)
	}
	return http.StatusNoContent, nil, nil
}
