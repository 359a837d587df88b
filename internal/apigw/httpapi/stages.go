package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// defaultStageName is the stage served at the API's base URL, without a stage
// prefix in the path.
const defaultStageName = "$default"

// stageInput is the body of CreateStage and UpdateStage.
type stageInput struct {
	StageName            *string                       `json:"stageName"`
	AccessLogSettings    *model.AccessLogSettings      `json:"accessLogSettings"`
	AutoDeploy           *bool                         `json:"autoDeploy"`
	ClientCertificateID  *string                       `json:"clientCertificateId"`
	DefaultRouteSettings *routeSettingsInput           `json:"defaultRouteSettings"`
	DeploymentID         *string                       `json:"deploymentId"`
	Description          *string                       `json:"description"`
	RouteSettings        map[string]routeSettingsInput `json:"routeSettings"`
	StageVariables       map[string]string             `json:"stageVariables"`
	Tags                 map[string]string             `json:"tags"`
}

type routeSettingsInput struct {
	DataTraceEnabled       *bool    `json:"dataTraceEnabled"`
	DetailedMetricsEnabled *bool    `json:"detailedMetricsEnabled"`
	LoggingLevel           *string  `json:"loggingLevel"`
	ThrottlingBurstLimit   *int     `json:"throttlingBurstLimit"`
	ThrottlingRateLimit    *float64 `json:"throttlingRateLimit"`
}

var (
	stageNamePattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	stageVariableName  = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	stageVariableValue = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#&=,]+$`)
)

func newStage(name string, now time.Time) *model.Stage2 {
	return &model.Stage2{
		StageName:            name,
		CreatedDate:          now,
		LastUpdatedDate:      now,
		DefaultRouteSettings: &model.RouteSettings{},
	}
}

func (s *Service) createStage(ctx context.Context, req *request) (int, any, error) {
	var in stageInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.StageName == nil {
		return 0, nil, badRequest("Invalid stage name specified: stageName is required")
	}
	name := *in.StageName
	if name != defaultStageName && !stageNamePattern.MatchString(name) {
		return 0, nil, badRequest("Stage name only allows a-zA-Z0-9_- (up to 128 characters) or $default")
	}
	if err := validateTags(in.Tags); err != nil {
		return 0, nil, err
	}
	apiID := req.params["apiId"]
	now := s.timestamp()
	stage := newStage(name, now)
	stage.Tags = in.Tags
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		if _, ok, err := store.GetRecord[model.Stage2](tx, model.Key(model.HTTPStagePrefix, apiID, name)); err != nil {
			return err
		} else if ok {
			return conflict("Stage %s already exists", name)
		}
		if err := applyStageFields(tx, apiID, stage, &in, false); err != nil {
			return err
		}
		if stage.AutoDeploy && in.DeploymentID == nil {
			// An auto-deploy stage serves the API's current state from the start.
			return s.deployToStage(tx, apiID, stage, now, true, "")
		}
		return store.PutRecord(tx, model.Key(model.HTTPStagePrefix, apiID, name), stage)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, stageView(stage), nil
}

func (s *Service) getStage(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	st, err := loadStage(r, apiID, req.params["stageName"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, stageView(st), nil
}

func (s *Service) getStages(ctx context.Context, req *request) (int, any, error) {
	r := s.reader(ctx)
	apiID := req.params["apiId"]
	if _, err := s.loadAPI(r, apiID); err != nil {
		return 0, nil, err
	}
	stages, err := store.ListRecords[model.Stage2](r, apiChild(model.HTTPStagePrefix, apiID))
	if err != nil {
		return 0, nil, err
	}
	views := make([]stageOut, len(stages))
	for i, st := range stages {
		views[i] = stageView(st)
	}
	p, err := paginate(req, views, func(st stageOut) string { return st.StageName })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateStage(ctx context.Context, req *request) (int, any, error) {
	var in stageInput
	if err := decode(req, &in); err != nil {
		return 0, nil, err
	}
	if in.Tags != nil {
		return 0, nil, badRequest("Tags cannot be updated with UpdateStage; use TagResource")
	}
	apiID, name := req.params["apiId"], req.params["stageName"]
	var out *model.Stage2
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		stage, err := loadStage(tx, apiID, name)
		if err != nil {
			return err
		}
		wasAuto := stage.AutoDeploy
		if err := applyStageFields(tx, apiID, stage, &in, true); err != nil {
			return err
		}
		now := s.timestamp()
		stage.LastUpdatedDate = now
		if !stage.AutoDeploy {
			stage.LastDeploymentStatusMessage = ""
		}
		out = stage
		if stage.AutoDeploy && !wasAuto && in.DeploymentID == nil {
			// Turning auto-deploy on deploys the current state at once.
			return s.deployToStage(tx, apiID, stage, now, true, "")
		}
		return store.PutRecord(tx, model.Key(model.HTTPStagePrefix, apiID, name), stage)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, stageView(out), nil
}

func (s *Service) deleteStage(ctx context.Context, req *request) (int, any, error) {
	apiID, name := req.params["apiId"], req.params["stageName"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		if _, err := loadStage(tx, apiID, name); err != nil {
			return err
		}
		return tx.Delete(model.Key(model.HTTPStagePrefix, apiID, name))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Service) deleteAccessLogSettings(ctx context.Context, req *request) (int, any, error) {
	return s.editStage(ctx, req, func(st *model.Stage2) error {
		st.AccessLogSettings = nil
		return nil
	})
}

// deleteRouteSettings is DeleteRouteSettings: UpdateStage merges routeSettings, so
// this is how one route's settings are removed.
func (s *Service) deleteRouteSettings(ctx context.Context, req *request) (int, any, error) {
	key := req.params["routeKey"]
	return s.editStage(ctx, req, func(st *model.Stage2) error {
		if _, ok := st.RouteSettings[key]; !ok {
			return notFound("Unable to find route settings for route key %s", key)
		}
		delete(st.RouteSettings, key)
		if len(st.RouteSettings) == 0 {
			st.RouteSettings = nil
		}
		return nil
	})
}

func (s *Service) editStage(ctx context.Context, req *request, edit func(*model.Stage2) error) (int, any, error) {
	apiID, name := req.params["apiId"], req.params["stageName"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, apiID); err != nil {
			return err
		}
		st, err := loadStage(tx, apiID, name)
		if err != nil {
			return err
		}
		if err := edit(st); err != nil {
			return err
		}
		st.LastUpdatedDate = s.timestamp()
		return store.PutRecord(tx, model.Key(model.HTTPStagePrefix, apiID, name), st)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// applyStageFields copies the fields present in in onto stage. On update, stage
// variables and route settings merge and an empty variable value removes the
// variable, as on AWS.
func applyStageFields(r reader, apiID string, stage *model.Stage2, in *stageInput, update bool) error {
	if in.AutoDeploy != nil {
		stage.AutoDeploy = *in.AutoDeploy
	}
	if in.AccessLogSettings != nil {
		if in.AccessLogSettings.DestinationArn == "" && in.AccessLogSettings.Format == "" {
			stage.AccessLogSettings = nil
		} else {
			if err := model.ValidateAccessLogFormat(in.AccessLogSettings.Format); err != nil {
				return badRequest("%s", err.Error())
			}
			als := *in.AccessLogSettings
			stage.AccessLogSettings = &als
		}
	}
	if in.ClientCertificateID != nil && *in.ClientCertificateID != "" {
		return badRequest("Client certificates are supported only for WebSocket APIs")
	}
	if in.Description != nil {
		if len(*in.Description) > 1024 {
			return badRequest("Invalid description specified: must be at most 1024 characters")
		}
		stage.Description = *in.Description
	}
	if in.DeploymentID != nil {
		if *in.DeploymentID == "" {
			stage.DeploymentID = ""
		} else {
			if _, err := loadDeployment(r, apiID, *in.DeploymentID); err != nil {
				return err
			}
			stage.DeploymentID = *in.DeploymentID
		}
	}
	if in.DefaultRouteSettings != nil {
		if stage.DefaultRouteSettings == nil {
			stage.DefaultRouteSettings = &model.RouteSettings{}
		}
		if err := applyRouteSettings(stage.DefaultRouteSettings, in.DefaultRouteSettings); err != nil {
			return err
		}
	}
	if len(in.RouteSettings) > 0 {
		routes, err := store.ListRecords[model.Route](r, apiChild(model.HTTPRoutePrefix, apiID))
		if err != nil {
			return err
		}
		keys := map[string]bool{}
		for _, rt := range routes {
			keys[rt.RouteKey] = true
		}
		if stage.RouteSettings == nil {
			stage.RouteSettings = map[string]model.RouteSettings{}
		}
		for _, key := range sortedKeys(in.RouteSettings) {
			if !keys[key] {
				// AWS (404): "Unable to find Route by key GET /x within the provided RouteSettings".
				return notFound("Unable to find Route by key %s within the provided RouteSettings", key)
			}
			rs := stage.RouteSettings[key]
			if !update {
				rs = model.RouteSettings{}
			}
			v := in.RouteSettings[key]
			if err := applyRouteSettings(&rs, &v); err != nil {
				return err
			}
			stage.RouteSettings[key] = rs
		}
	}
	if in.StageVariables != nil {
		if stage.StageVariables == nil {
			stage.StageVariables = map[string]string{}
		}
		for _, k := range sortedKeys(in.StageVariables) {
			v := in.StageVariables[k]
			if !stageVariableName.MatchString(k) {
				return badRequest("Stage variable name %s is invalid: names may contain only A-Za-z0-9_", k)
			}
			if v == "" && update {
				delete(stage.StageVariables, k)
				continue
			}
			if len(v) > 2048 || !stageVariableValue.MatchString(v) {
				return badRequest("Stage variable value %q for %s is invalid: values must match [A-Za-z0-9-._~:/?#&=,]+", v, k)
			}
			stage.StageVariables[k] = v
		}
		if len(stage.StageVariables) == 0 {
			stage.StageVariables = nil
		}
	}
	return nil
}

func applyRouteSettings(rs *model.RouteSettings, in *routeSettingsInput) error {
	// Data trace and logging level are WebSocket features.
	if in.DataTraceEnabled != nil && *in.DataTraceEnabled {
		return badRequest("DataTraceEnabled is supported only for WebSocket APIs")
	}
	if in.LoggingLevel != nil && *in.LoggingLevel != "" && *in.LoggingLevel != "OFF" {
		return badRequest("LoggingLevel is supported only for WebSocket APIs")
	}
	if in.DetailedMetricsEnabled != nil {
		rs.DetailedMetricsEnabled = *in.DetailedMetricsEnabled
	}
	if in.ThrottlingBurstLimit != nil {
		if *in.ThrottlingBurstLimit < 0 {
			return badRequest("Invalid throttlingBurstLimit specified: must not be negative")
		}
		rs.ThrottlingBurstLimit = *in.ThrottlingBurstLimit
	}
	if in.ThrottlingRateLimit != nil {
		if *in.ThrottlingRateLimit < 0 {
			return badRequest("Invalid throttlingRateLimit specified: must not be negative")
		}
		rs.ThrottlingRateLimit = *in.ThrottlingRateLimit
	}
	return nil
}

// stageOut is a stage as the control plane returns it. AWS always includes
// routeSettings, stageVariables and tags, as empty objects when unset; the stored
// record omits them, so these fields shadow the embedded ones when encoding.
type stageOut struct {
	*model.Stage2
	RouteSettings  map[string]model.RouteSettings `json:"routeSettings"`
	StageVariables map[string]string              `json:"stageVariables"`
	Tags           map[string]string              `json:"tags"`
}

func stageView(st *model.Stage2) stageOut {
	v := *st
	if v.DefaultRouteSettings == nil {
		v.DefaultRouteSettings = &model.RouteSettings{}
	}
	out := stageOut{Stage2: &v, RouteSettings: v.RouteSettings, StageVariables: v.StageVariables, Tags: v.Tags}
	if out.RouteSettings == nil {
		out.RouteSettings = map[string]model.RouteSettings{}
	}
	if out.StageVariables == nil {
		out.StageVariables = map[string]string{}
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out
}
