package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

var (
	stageNameRE   = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	stageVarKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_]{1,64}$`)
	// Stage variable values: AWS allows alphanumerics and -._~:/?#&=, (up to 2048).
	stageVarValRE = regexp.MustCompile(`^[a-zA-Z0-9\-._~:/?#&=,]*$`)
)

func validateStageName(name string) error {
	if !stageNameRE.MatchString(name) {
		return badRequest("Stage name only allows a-zA-Z0-9_-")
	}
	return nil
}

func validateVariables(vars map[string]string) error {
	for k, v := range vars {
		if !stageVarKeyRE.MatchString(k) {
			return badRequest("Stage variable name %s is invalid. Stage variable names must only contain alphanumeric characters and underscores", k)
		}
		if len(v) > 2048 || !stageVarValRE.MatchString(v) {
			return badRequest("Stage variable value %s is invalid. Stage variable values must only contain alphanumeric characters and the following special characters: -._~:/?#&=,", v)
		}
	}
	return nil
}

// newStage is a stage as AWS creates it: no cache cluster, no method settings.
func newStage(name string, now time.Time) *model.Stage {
	return &model.Stage{
		StageName:          name,
		CacheClusterStatus: "NOT_AVAILABLE",
		MethodSettings:     map[string]model.MethodSetting{},
		CreatedDate:        model.EpochTime(now),
		LastUpdatedDate:    model.EpochTime(now),
	}
}

// stageOutput fills the members AWS always returns.
func stageOutput(st *model.Stage) *model.Stage {
	if st.MethodSettings == nil {
		st.MethodSettings = map[string]model.MethodSetting{}
	}
	if st.CacheClusterStatus == "" {
		st.CacheClusterStatus = "NOT_AVAILABLE"
	}
	return st
}

type createStageInput struct {
	StageName            *string           `json:"stageName"`
	DeploymentID         *string           `json:"deploymentId"`
	Description          string            `json:"description"`
	CacheClusterEnabled  bool              `json:"cacheClusterEnabled"`
	CacheClusterSize     string            `json:"cacheClusterSize"`
	Variables            map[string]string `json:"variables"`
	DocumentationVersion string            `json:"documentationVersion"`
	TracingEnabled       bool              `json:"tracingEnabled"`
	Tags                 map[string]string `json:"tags"`
	CanarySettings       json.RawMessage   `json:"canarySettings"`
}

var errDeploymentIDMissing = badRequest("Deployment id does not exist")

func (s *Service) createStage(ctx context.Context, req *request) (int, any, error) {
	var in createStageInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if len(in.CanarySettings) > 0 && string(in.CanarySettings) != "null" {
		return 0, nil, errCanaryUnsupported
	}
	if in.StageName == nil {
		return 0, nil, validationError("Value null at 'createStageInput.stageName' failed to satisfy constraint: Member must not be null")
	}
	if in.DeploymentID == nil {
		return 0, nil, validationError("Value null at 'createStageInput.deploymentId' failed to satisfy constraint: Member must not be null")
	}
	if err := validateStageName(*in.StageName); err != nil {
		return 0, nil, err
	}
	if err := validateVariables(in.Variables); err != nil {
		return 0, nil, err
	}
	api := req.params["restApiId"]
	st := newStage(*in.StageName, time.Now())
	st.DeploymentID = *in.DeploymentID
	st.Description = in.Description
	st.CacheClusterEnabled = in.CacheClusterEnabled
	st.CacheClusterSize = in.CacheClusterSize
	st.Variables = in.Variables
	st.DocumentationVersion = in.DocumentationVersion
	st.TracingEnabled = in.TracingEnabled
	st.Tags = in.Tags
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		if err := checkDeploymentExists(tx, api, st.DeploymentID); err != nil {
			return err
		}
		if _, found, err := store.GetRecord[model.Stage](tx, stageKey(api, st.StageName)); err != nil {
			return err
		} else if found {
			return conflict("Stage already exists")
		}
		return store.PutRecord(tx, stageKey(api, st.StageName), st)
	})
	if err != nil {
		return 0, nil, internalErr("create stage", err)
	}
	return http.StatusCreated, stageOutput(st), nil
}

// checkDeploymentExists answers a stage naming an unknown deployment as AWS does
// (BadRequestException "Deployment id does not exist", recorded for UpdateStage).
func checkDeploymentExists(rd reader, api, id string) error {
	if !safeID(id) {
		return errDeploymentIDMissing
	}
	_, ok, err := store.GetRecord[model.Deployment](rd, deploymentKey(api, id))
	if err != nil {
		return err
	}
	if !ok {
		return errDeploymentIDMissing
	}
	return nil
}

func (s *Service) loadStage(rd reader, api, name string) (*model.Stage, error) {
	if _, err := s.loadAPI(rd, api); err != nil {
		return nil, err
	}
	if !safeID(name) {
		return nil, errStageNotFound
	}
	st, ok, err := store.GetRecord[model.Stage](rd, stageKey(api, name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errStageNotFound
	}
	return st, nil
}

func (s *Service) getStage(ctx context.Context, req *request) (int, any, error) {
	st, err := s.loadStage(s.reader(ctx), req.params["restApiId"], req.params["stageName"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, stageOutput(st), nil
}

// getStages lists an API's stages, all at once as AWS does ({"item":[...]}, no
// pagination), optionally only those of one deployment.
func (s *Service) getStages(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	stages, err := store.ListRecords[model.Stage](rd, stagesPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list stages", err)
	}
	dep := req.query.Get("deploymentId")
	out := struct {
		Item []*model.Stage `json:"item"`
	}{Item: []*model.Stage{}}
	for _, st := range stages {
		if dep == "" || st.DeploymentID == dep {
			out.Item = append(out.Item, stageOutput(st))
		}
	}
	sort.Slice(out.Item, func(i, j int) bool { return out.Item[i].StageName < out.Item[j].StageName })
	return http.StatusOK, out, nil
}

func (s *Service) deleteStage(ctx context.Context, req *request) (int, any, error) {
	api, name := req.params["restApiId"], req.params["stageName"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadStage(tx, api, name); err != nil {
			return err
		}
		return deleteRecord(tx, stageKey(api, name))
	})
	if err != nil {
		return 0, nil, internalErr("delete stage", err)
	}
	return http.StatusAccepted, nil, nil
}

func (s *Service) updateStage(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateStageInput")
	if err != nil {
		return 0, nil, err
	}
	api, name := req.params["restApiId"], req.params["stageName"]
	var out *model.Stage
	err = s.store.Update(ctx, func(tx store.Tx) error {
		st, err := s.loadStage(tx, api, name)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := patchStage(tx, api, st, op); err != nil {
				return err
			}
		}
		st.LastUpdatedDate = model.EpochTime(time.Now())
		out = st
		return store.PutRecord(tx, stageKey(api, name), st)
	})
	if err != nil {
		return 0, nil, internalErr("update stage", err)
	}
	return http.StatusOK, stageOutput(out), nil
}

// stagePaths is AWS's list of UpdateStage paths, verbatim from its error message
// (including its odd separators).
const stagePaths = "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, " +
	"/accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, " +
	"/{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, " +
	"/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, " +
	"/{resourcePath}/{httpMethod}/caching/enabled, /{resourcePath}/{httpMethod}/caching/dataEncrypted, " +
	"/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, " +
	"/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, /*/*/logging/dataTrace, " +
	"/*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, /*/*/caching/enabled, " +
	"/*/*/caching/dataEncrypted, /*/*/caching/requireAuthorizationForCacheControl, " +
	"/*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"

func errStagePath(p string) error {
	return badRequest("Invalid method setting path: %s. Must be one of: %s", p, stagePaths)
}

func patchStage(rd reader, api string, st *model.Stage, op patchOp) error {
	p := op.path()
	v := op.value()
	switch p {
	case "/deploymentId":
		if op.Op != "replace" {
			return errUnsupportedOp(op)
		}
		if err := checkDeploymentExists(rd, api, v); err != nil {
			return err
		}
		st.DeploymentID = v
		return nil
	case "/description":
		st.Description = v
		if op.Op == "remove" {
			st.Description = ""
		}
		return nil
	case "/cacheClusterEnabled":
		st.CacheClusterEnabled = parseBool(v)
		return nil
	case "/cacheClusterSize":
		st.CacheClusterSize = v
		return nil
	case "/tracingEnabled":
		st.TracingEnabled = parseBool(v)
		return nil
	case "/clientCertificateId":
		st.ClientCertificateID = v
		return nil
	case "/documentationVersion":
		st.DocumentationVersion = v
		return nil
	case "/accessLogSettings":
		if op.Op != "remove" {
			return errStagePath(p)
		}
		st.AccessLogSettings = nil
		return nil
	case "/accessLogSettings/destinationArn", "/accessLogSettings/format":
		return patchAccessLog(st, op)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) == 2 && parts[0] == "variables" && parts[1] != "" {
		name := unescapePointer(parts[1])
		switch op.Op {
		case "add", "replace":
			if err := validateVariables(map[string]string{name: v}); err != nil {
				return err
			}
			if st.Variables == nil {
				st.Variables = map[string]string{}
			}
			st.Variables[name] = v
		case "remove":
			delete(st.Variables, name)
			if len(st.Variables) == 0 {
				st.Variables = nil
			}
		default:
			return errUnsupportedOp(op)
		}
		return nil
	}
	return patchMethodSetting(st, op, parts)
}

func patchAccessLog(st *model.Stage, op patchOp) error {
	field := strings.TrimPrefix(op.path(), "/accessLogSettings/")
	if op.Op == "remove" {
		if st.AccessLogSettings == nil {
			return badRequest("Cannot remove method setting accessLogSettings/%s because there is no method setting for this method ", field)
		}
		if field == "format" {
			st.AccessLogSettings.Format = ""
		} else {
			st.AccessLogSettings.DestinationArn = ""
		}
		if *st.AccessLogSettings == (model.AccessLogSettings{}) {
			st.AccessLogSettings = nil
		}
		return nil
	}
	if op.value() == "" {
		return badRequest("Access Log value must not be empty")
	}
	if field == "format" {
		if err := model.ValidateAccessLogFormat(op.value()); err != nil {
			return badRequest("%s", err.Error())
		}
	}
	if st.AccessLogSettings == nil {
		st.AccessLogSettings = &model.AccessLogSettings{}
	}
	if field == "format" {
		st.AccessLogSettings.Format = op.value()
	} else {
		st.AccessLogSettings.DestinationArn = op.value()
	}
	return nil
}

// defaultMethodSetting is the setting AWS records for a method path the first time
// one of its settings is patched.
func defaultMethodSetting() model.MethodSetting {
	return model.MethodSetting{
		LoggingLevel:                           "OFF",
		ThrottlingBurstLimit:                   5000,
		ThrottlingRateLimit:                    10000,
		CacheTTLInSeconds:                      300,
		RequireAuthorizationForCacheControl:    true,
		UnauthorizedCacheControlHeaderStrategy: "SUCCEED_WITH_RESPONSE_HEADER",
	}
}

// patchMethodSetting applies "/{resourcePath}/{httpMethod}/{category}/{setting}".
// The resource path is written escaped ("~1pets~1{id}") or, as Terraform writes
// it, with its slashes bare ("pets/{id}"); "*/*" addresses every method. The
// setting is stored under "{resourcePath without leading slash}/{httpMethod}".
func patchMethodSetting(st *model.Stage, op patchOp, parts []string) error {
	p := op.path()
	if op.Op == "remove" && (len(parts) == 2 || len(parts) == 3) {
		key := methodSettingKey(parts[:len(parts)-1], parts[len(parts)-1])
		if _, ok := st.MethodSettings[key]; !ok {
			return badRequest("Cannot remove method setting %s because there is no method setting for this method ", key)
		}
		delete(st.MethodSettings, key)
		return nil
	}
	if len(parts) < 4 {
		return errStagePath(p)
	}
	n := len(parts)
	verb, setting := parts[n-3], parts[n-2]+"/"+parts[n-1]
	if verb != "*" && !slices.Contains(httpMethods, verb) {
		return errStagePath(p)
	}
	key := methodSettingKey(parts[:n-3], verb)
	if st.MethodSettings == nil {
		st.MethodSettings = map[string]model.MethodSetting{}
	}
	ms, ok := st.MethodSettings[key]
	if !ok {
		ms = defaultMethodSetting()
	}
	if op.Op == "remove" {
		delete(st.MethodSettings, key)
		return nil
	}
	if op.Op != "replace" {
		return errUnsupportedOp(op)
	}
	v := op.value()
	switch setting {
	case "metrics/enabled":
		ms.MetricsEnabled = parseBool(v)
	case "logging/dataTrace":
		ms.DataTraceEnabled = parseBool(v)
	case "logging/loglevel":
		switch v {
		case "OFF", "ERROR", "INFO":
		default:
			return badRequest("Invalid logging level: %s. Valid values are OFF, ERROR, INFO", v)
		}
		ms.LoggingLevel = v
	case "throttling/burstLimit":
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest("Invalid value for burstLimit: %s", v)
		}
		ms.ThrottlingBurstLimit = n
	case "throttling/rateLimit":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return badRequest("Invalid value for rateLimit: %s", v)
		}
		ms.ThrottlingRateLimit = f
	case "caching/enabled":
		ms.CachingEnabled = parseBool(v)
	case "caching/ttlInSeconds":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3600 {
			return badRequest("Invalid value for ttlInSeconds: %s. Must be between 0 and 3600", v)
		}
		ms.CacheTTLInSeconds = n
	case "caching/dataEncrypted":
		ms.CacheDataEncrypted = parseBool(v)
	case "caching/requireAuthorizationForCacheControl":
		ms.RequireAuthorizationForCacheControl = parseBool(v)
	case "caching/unauthorizedCacheControlHeaderStrategy":
		switch v {
		case "FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER":
		default:
			return badRequest("Invalid unauthorizedCacheControlHeaderStrategy: %s", v)
		}
		ms.UnauthorizedCacheControlHeaderStrategy = v
	default:
		return errStagePath(p)
	}
	st.MethodSettings[key] = ms
	return nil
}

func methodSettingKey(pathParts []string, verb string) string {
	un := make([]string, len(pathParts))
	for i, p := range pathParts {
		un[i] = unescapePointer(p)
	}
	return strings.TrimPrefix(strings.Join(un, "/"), "/") + "/" + verb
}
