package restapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/apigw/access"
	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// API keys and usage plans. The data plane enforces them (internal/apigw/access);
// usage is counted there and read back here by GetUsage.

func apiKeyKey(id string) string              { return model.APIKeyPrefix + id }
func usagePlanKey(id string) string           { return model.UsagePlanPrefix + id }
func usagePlanKeyKey(plan, key string) string { return model.UsagePlanKeyPrefix + plan + "/" + key }

var (
	errAPIKeyNotFound    = notFound("Invalid API Key identifier specified")
	errUsagePlanNotFound = notFound("Invalid Usage Plan ID specified")
)

// generateKeyValue makes a 40-character key value, as API Gateway generates them.
func generateKeyValue() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 40)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

type createAPIKeyInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Enabled     bool              `json:"enabled"`
	Value       string            `json:"value"`
	CustomerID  string            `json:"customerId"`
	StageKeys   []stageKeyInput   `json:"stageKeys"`
	Tags        map[string]string `json:"tags"`
}

type stageKeyInput struct {
	RestAPIID string `json:"restApiId"`
	StageName string `json:"stageName"`
}

func (s *Service) createAPIKey(ctx context.Context, req *request) (int, any, error) {
	var in createAPIKeyInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Value != "" && len(in.Value) < 20 {
		return 0, nil, badRequest("API Key value should be at least 20 characters")
	}
	now := model.EpochTime(time.Now())
	k := &model.APIKey{ID: awsproto.NewID(10), Value: in.Value, Name: in.Name, Description: in.Description,
		Enabled: in.Enabled, CustomerID: in.CustomerID, CreatedDate: now, LastUpdatedDate: now, Tags: in.Tags, StageKeys: []string{}}
	if k.Value == "" {
		k.Value = generateKeyValue()
	}
	if k.Name == "" {
		k.Name = k.ID
	}
	for _, sk := range in.StageKeys {
		k.StageKeys = append(k.StageKeys, sk.RestAPIID+"/"+sk.StageName)
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		keys, err := store.ListRecords[model.APIKey](tx, model.APIKeyPrefix)
		if err != nil {
			return err
		}
		for _, other := range keys {
			if other.Value == k.Value {
				return conflict("API Key already exists")
			}
		}
		return store.PutRecord(tx, apiKeyKey(k.ID), k)
	})
	if err != nil {
		return 0, nil, internalErr("create API key", err)
	}
	return http.StatusCreated, k, nil
}

func loadAPIKey(rd reader, id string) (*model.APIKey, error) {
	if !safeID(id) {
		return nil, errAPIKeyNotFound
	}
	k, ok, err := store.GetRecord[model.APIKey](rd, apiKeyKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errAPIKeyNotFound
	}
	return k, nil
}

// withoutValue hides a key's value, as GetApiKey(s) do unless includeValue(s)=true.
func withoutValue(k *model.APIKey, include bool) *model.APIKey {
	if include {
		return k
	}
	c := *k
	c.Value = ""
	return &c
}

func (s *Service) getAPIKey(ctx context.Context, req *request) (int, any, error) {
	k, err := loadAPIKey(s.reader(ctx), req.params["apiKey"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, withoutValue(k, parseBool(req.query.Get("includeValue"))), nil
}

func (s *Service) getAPIKeys(ctx context.Context, req *request) (int, any, error) {
	keys, err := store.ListRecords[model.APIKey](s.reader(ctx), model.APIKeyPrefix)
	if err != nil {
		return 0, nil, internalErr("list API keys", err)
	}
	include := parseBool(req.query.Get("includeValues"))
	name, customer := req.query.Get("name"), req.query.Get("customerId")
	var out []*model.APIKey
	for _, k := range keys {
		// nameQuery is a prefix match on the name.
		if name != "" && !strings.HasPrefix(k.Name, name) {
			continue
		}
		if customer != "" && k.CustomerID != customer {
			continue
		}
		out = append(out, withoutValue(k, include))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	p, err := paginate(req, out, func(k *model.APIKey) string { return k.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) updateAPIKey(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateApiKeyInput")
	if err != nil {
		return 0, nil, err
	}
	id := req.params["apiKey"]
	var out *model.APIKey
	err = s.store.Update(ctx, func(tx store.Tx) error {
		k, err := loadAPIKey(tx, id)
		if err != nil {
			return err
		}
		for _, op := range ops {
			switch op.path() {
			case "/name":
				k.Name = op.value()
			case "/description":
				k.Description = op.value()
			case "/customerId":
				k.CustomerID = op.value()
			case "/enabled":
				k.Enabled = parseBool(op.value())
			case "/stages":
				switch op.Op {
				case "add":
					if !slices.Contains(k.StageKeys, op.value()) {
						k.StageKeys = append(k.StageKeys, op.value())
					}
				case "remove":
					k.StageKeys = slices.DeleteFunc(k.StageKeys, func(v string) bool { return v == op.value() })
				default:
					return errUnsupportedOp(op)
				}
				continue
			default:
				return errPathNotOneOf(op, "/name, /description, /customerId, /enabled, /stages")
			}
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
		}
		k.LastUpdatedDate = model.EpochTime(time.Now())
		out = k
		return store.PutRecord(tx, apiKeyKey(id), k)
	})
	if err != nil {
		return 0, nil, internalErr("update API key", err)
	}
	return http.StatusOK, withoutValue(out, false), nil
}

// deleteAPIKey deletes the key and its usage-plan memberships.
func (s *Service) deleteAPIKey(ctx context.Context, req *request) (int, any, error) {
	id := req.params["apiKey"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadAPIKey(tx, id); err != nil {
			return err
		}
		members, err := tx.List(model.UsagePlanKeyPrefix)
		if err != nil {
			return err
		}
		for _, kv := range members {
			if strings.HasSuffix(kv.Key, "/"+id) {
				if err := deleteRecord(tx, kv.Key); err != nil {
					return err
				}
			}
		}
		return deleteRecord(tx, apiKeyKey(id))
	})
	if err != nil {
		return 0, nil, internalErr("delete API key", err)
	}
	return http.StatusAccepted, nil, nil
}

// Usage plans.

type createUsagePlanInput struct {
	Name        *string                 `json:"name"`
	Description string                  `json:"description"`
	APIStages   []model.UsagePlanStage  `json:"apiStages"`
	Throttle    *model.ThrottleSettings `json:"throttle"`
	Quota       *model.QuotaSettings    `json:"quota"`
	Tags        map[string]string       `json:"tags"`
}

func (s *Service) createUsagePlan(ctx context.Context, req *request) (int, any, error) {
	var in createUsagePlanInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Name == nil || *in.Name == "" {
		return 0, nil, validationError("Value null at 'createUsagePlanInput.name' failed to satisfy constraint: Member must not be null")
	}
	p := &model.UsagePlan{ID: awsproto.NewID(6), Name: *in.Name, Description: in.Description, APIStages: in.APIStages,
		Throttle: in.Throttle, Quota: in.Quota, Tags: in.Tags}
	if p.APIStages == nil {
		p.APIStages = []model.UsagePlanStage{}
	}
	if err := validateUsagePlan(p); err != nil {
		return 0, nil, err
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := s.checkPlanStages(tx, p.APIStages); err != nil {
			return err
		}
		return store.PutRecord(tx, usagePlanKey(p.ID), p)
	})
	if err != nil {
		return 0, nil, internalErr("create usage plan", err)
	}
	return http.StatusCreated, p, nil
}

// validateUsagePlan checks the quota and throttle settings as API Gateway does.
func validateUsagePlan(p *model.UsagePlan) error {
	if q := p.Quota; q != nil {
		switch q.Period {
		case "DAY", "WEEK", "MONTH":
		default:
			return badRequest("Invalid quota period specified. Valid options are DAY, WEEK, MONTH")
		}
		if q.Limit < 0 {
			return badRequest("Quota limit should be a non-negative integer")
		}
		switch {
		case q.Period == "DAY" && q.Offset != 0:
			return badRequest("Quota offset must be 0 for period DAY")
		case q.Period == "WEEK" && (q.Offset < 0 || q.Offset > 6):
			return badRequest("Quota offset must be between 0 and 6 for period WEEK")
		case q.Period == "MONTH" && (q.Offset < 0 || q.Offset > 27):
			return badRequest("Quota offset must be between 0 and 27 for period MONTH")
		}
	}
	if t := p.Throttle; t != nil && (t.RateLimit < 0 || t.BurstLimit < 0) {
		return badRequest("Throttle rate and burst limits should be non-negative")
	}
	return nil
}

// checkPlanStages requires every API stage of a plan to exist.
func (s *Service) checkPlanStages(rd reader, stages []model.UsagePlanStage) error {
	for _, st := range stages {
		if _, err := s.loadAPI(rd, st.APIID); err != nil {
			return badRequest("Invalid API identifier specified %s:%s", s.account, st.APIID)
		}
		if !safeID(st.Stage) {
			return badRequest("Invalid stage identifier specified")
		}
		if _, ok, err := store.GetRecord[model.Stage](rd, model.Key(model.RestStagePrefix, st.APIID, st.Stage)); err != nil {
			return err
		} else if !ok {
			return badRequest("Invalid stage identifier specified")
		}
	}
	return nil
}

func loadUsagePlan(rd reader, id string) (*model.UsagePlan, error) {
	if !safeID(id) {
		return nil, errUsagePlanNotFound
	}
	p, ok, err := store.GetRecord[model.UsagePlan](rd, usagePlanKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errUsagePlanNotFound
	}
	return p, nil
}

func (s *Service) getUsagePlan(ctx context.Context, req *request) (int, any, error) {
	p, err := loadUsagePlan(s.reader(ctx), req.params["usagePlanId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Service) getUsagePlans(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	plans, err := store.ListRecords[model.UsagePlan](rd, model.UsagePlanPrefix)
	if err != nil {
		return 0, nil, internalErr("list usage plans", err)
	}
	if keyID := req.query.Get("keyId"); keyID != "" {
		var kept []*model.UsagePlan
		for _, p := range plans {
			if _, ok, _ := store.GetRecord[model.UsagePlanKey](rd, usagePlanKeyKey(p.ID, keyID)); ok {
				kept = append(kept, p)
			}
		}
		plans = kept
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].ID < plans[j].ID })
	pg, err := paginate(req, plans, func(p *model.UsagePlan) string { return p.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pg, nil
}

// updateUsagePlan applies the patch paths API Gateway accepts for a usage plan:
// /name, /description, /apiStages (add/remove "apiId:stage"), /throttle/rateLimit,
// /throttle/burstLimit, /quota/limit, /quota/period, /quota/offset, and
// /apiStages/{apiId:stage}/throttle/{resourcePath/METHOD}/rateLimit|burstLimit.
func (s *Service) updateUsagePlan(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateUsagePlanInput")
	if err != nil {
		return 0, nil, err
	}
	id := req.params["usagePlanId"]
	var out *model.UsagePlan
	err = s.store.Update(ctx, func(tx store.Tx) error {
		p, err := loadUsagePlan(tx, id)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := patchUsagePlan(p, op); err != nil {
				return err
			}
		}
		if err := validateUsagePlan(p); err != nil {
			return err
		}
		if err := s.checkPlanStages(tx, p.APIStages); err != nil {
			return err
		}
		out = p
		return store.PutRecord(tx, usagePlanKey(id), p)
	})
	if err != nil {
		return 0, nil, internalErr("update usage plan", err)
	}
	return http.StatusOK, out, nil
}

func patchUsagePlan(p *model.UsagePlan, op patchOp) error {
	path, v := op.path(), op.value()
	num := func() (float64, error) {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, badRequest("Invalid value %s for %s", v, path)
		}
		return n, nil
	}
	switch {
	case path == "/name":
		p.Name = v
	case path == "/description":
		p.Description = v
	case path == "/apiStages":
		apiID, stage, _ := strings.Cut(v, ":")
		switch op.Op {
		case "add":
			p.APIStages = append(p.APIStages, model.UsagePlanStage{APIID: apiID, Stage: stage})
		case "remove":
			p.APIStages = slices.DeleteFunc(p.APIStages, func(s model.UsagePlanStage) bool { return s.APIID == apiID && s.Stage == stage })
		default:
			return errUnsupportedOp(op)
		}
	case path == "/throttle/rateLimit" || path == "/throttle/burstLimit":
		if p.Throttle == nil {
			p.Throttle = &model.ThrottleSettings{}
		}
		if op.Op == "remove" {
			p.Throttle = nil
			return nil
		}
		n, err := num()
		if err != nil {
			return err
		}
		if path == "/throttle/rateLimit" {
			p.Throttle.RateLimit = n
		} else {
			p.Throttle.BurstLimit = int(n)
		}
	case strings.HasPrefix(path, "/quota/"):
		if op.Op == "remove" {
			p.Quota = nil
			return nil
		}
		if p.Quota == nil {
			p.Quota = &model.QuotaSettings{}
		}
		switch path {
		case "/quota/period":
			p.Quota.Period = v
		case "/quota/limit", "/quota/offset":
			n, err := num()
			if err != nil {
				return err
			}
			if path == "/quota/limit" {
				p.Quota.Limit = int(n)
			} else {
				p.Quota.Offset = int(n)
			}
		default:
			return errPathNotOneOf(op, "/quota/limit, /quota/period, /quota/offset")
		}
	case strings.HasPrefix(path, "/apiStages/"):
		parts := splitPatchPath(path) // apiStages, apiId:stage, throttle, resourcePath/METHOD..., rateLimit
		if len(parts) < 4 || parts[2] != "throttle" {
			return errPathNotOneOf(op, "/apiStages/{apiId:stage}/throttle/{resourcePath/method}")
		}
		apiID, stage, _ := strings.Cut(parts[1], ":")
		i := slices.IndexFunc(p.APIStages, func(s model.UsagePlanStage) bool { return s.APIID == apiID && s.Stage == stage })
		if i < 0 {
			return badRequest("Invalid stage identifier specified")
		}
		st := &p.APIStages[i]
		last := parts[len(parts)-1]
		method := strings.Join(parts[3:len(parts)-1], "/")
		if last != "rateLimit" && last != "burstLimit" {
			method, last = strings.Join(parts[3:], "/"), ""
		}
		if op.Op == "remove" {
			delete(st.Throttle, method)
			return nil
		}
		if st.Throttle == nil {
			st.Throttle = map[string]model.ThrottleSettings{}
		}
		t := st.Throttle[method]
		if last == "" {
			return errPathNotOneOf(op, "/apiStages/{apiId:stage}/throttle/{resourcePath/method}/rateLimit|burstLimit")
		}
		n, err := num()
		if err != nil {
			return err
		}
		if last == "rateLimit" {
			t.RateLimit = n
		} else {
			t.BurstLimit = int(n)
		}
		st.Throttle[method] = t
	default:
		return errPathNotOneOf(op, "/name, /description, /apiStages, /throttle/rateLimit, /throttle/burstLimit, /quota/limit, /quota/period, /quota/offset")
	}
	return nil
}

func (s *Service) deleteUsagePlan(ctx context.Context, req *request) (int, any, error) {
	id := req.params["usagePlanId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadUsagePlan(tx, id); err != nil {
			return err
		}
		members, err := tx.List(model.UsagePlanKeyPrefix + id + "/")
		if err != nil {
			return err
		}
		for _, kv := range members {
			if err := deleteRecord(tx, kv.Key); err != nil {
				return err
			}
		}
		return deleteRecord(tx, usagePlanKey(id))
	})
	if err != nil {
		return 0, nil, internalErr("delete usage plan", err)
	}
	return http.StatusAccepted, nil, nil
}

// Usage plan keys.

type createUsagePlanKeyInput struct {
	KeyID   string `json:"keyId"`
	KeyType string `json:"keyType"`
}

func (s *Service) createUsagePlanKey(ctx context.Context, req *request) (int, any, error) {
	var in createUsagePlanKeyInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.KeyType != "API_KEY" {
		return 0, nil, badRequest("Invalid Key Type specified. Valid options are API_KEY")
	}
	plan := req.params["usagePlanId"]
	var out *model.UsagePlanKey
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadUsagePlan(tx, plan); err != nil {
			return err
		}
		k, err := loadAPIKey(tx, in.KeyID)
		if err != nil {
			return err
		}
		if _, ok, err := store.GetRecord[model.UsagePlanKey](tx, usagePlanKeyKey(plan, k.ID)); err != nil {
			return err
		} else if ok {
			return conflict("Usage Plan %s cannot be added because API Key %s cannot reference multiple Usage Plans with the same API Stage", plan, k.ID)
		}
		out = &model.UsagePlanKey{ID: k.ID, Type: "API_KEY", Value: k.Value, Name: k.Name}
		return store.PutRecord(tx, usagePlanKeyKey(plan, k.ID), &model.UsagePlanKey{ID: k.ID, Type: "API_KEY"})
	})
	if err != nil {
		return 0, nil, internalErr("create usage plan key", err)
	}
	return http.StatusCreated, out, nil
}

// planKeyView fills a membership with the key's current name and value.
func planKeyView(rd reader, id string) (*model.UsagePlanKey, error) {
	k, err := loadAPIKey(rd, id)
	if err != nil {
		return nil, err
	}
	return &model.UsagePlanKey{ID: k.ID, Type: "API_KEY", Value: k.Value, Name: k.Name}, nil
}

func (s *Service) getUsagePlanKey(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	plan, keyID := req.params["usagePlanId"], req.params["keyId"]
	if _, err := loadUsagePlan(rd, plan); err != nil {
		return 0, nil, err
	}
	if !safeID(keyID) {
		return 0, nil, notFound("Invalid Usage Plan Key identifier specified")
	}
	if _, ok, err := store.GetRecord[model.UsagePlanKey](rd, usagePlanKeyKey(plan, keyID)); err != nil {
		return 0, nil, internalErr("get usage plan key", err)
	} else if !ok {
		return 0, nil, notFound("Invalid Usage Plan Key identifier specified")
	}
	v, err := planKeyView(rd, keyID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func (s *Service) getUsagePlanKeys(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	plan := req.params["usagePlanId"]
	if _, err := loadUsagePlan(rd, plan); err != nil {
		return 0, nil, err
	}
	members, err := rd.List(model.UsagePlanKeyPrefix + plan + "/")
	if err != nil {
		return 0, nil, internalErr("list usage plan keys", err)
	}
	name := req.query.Get("nameQuery")
	var out []*model.UsagePlanKey
	for _, kv := range members {
		v, err := planKeyView(rd, strings.TrimPrefix(kv.Key, model.UsagePlanKeyPrefix+plan+"/"))
		if err != nil {
			continue // the key was deleted
		}
		if name != "" && !strings.HasPrefix(v.Name, name) {
			continue
		}
		out = append(out, v)
	}
	pg, err := paginate(req, out, func(k *model.UsagePlanKey) string { return k.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pg, nil
}

func (s *Service) deleteUsagePlanKey(ctx context.Context, req *request) (int, any, error) {
	plan, keyID := req.params["usagePlanId"], req.params["keyId"]
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadUsagePlan(tx, plan); err != nil {
			return err
		}
		if !safeID(keyID) {
			return notFound("Invalid Usage Plan Key identifier specified")
		}
		if _, ok, err := store.GetRecord[model.UsagePlanKey](tx, usagePlanKeyKey(plan, keyID)); err != nil {
			return err
		} else if !ok {
			return notFound("Invalid Usage Plan Key identifier specified")
		}
		return deleteRecord(tx, usagePlanKeyKey(plan, keyID))
	})
	if err != nil {
		return 0, nil, internalErr("delete usage plan key", err)
	}
	return http.StatusAccepted, nil, nil
}

// usage is GetUsage's answer: per key, one [used, remaining] pair per day from
// startDate to endDate.
type usage struct {
	UsagePlanID string               `json:"usagePlanId"`
	StartDate   string               `json:"startDate"`
	EndDate     string               `json:"endDate"`
	Items       map[string][][]int64 `json:"values"`
	Position    string               `json:"position,omitempty"`
}

// getUsage reads the data plane's daily counters (see access.StoreCounters).
func (s *Service) getUsage(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	plan := req.params["usagePlanId"]
	p, err := loadUsagePlan(rd, plan)
	if err != nil {
		return 0, nil, err
	}
	start, err1 := time.Parse(time.DateOnly, req.query.Get("startDate"))
	end, err2 := time.Parse(time.DateOnly, req.query.Get("endDate"))
	if err1 != nil || err2 != nil {
		return 0, nil, badRequest("Invalid start date or end date. Date format must be yyyy-MM-dd")
	}
	if end.Before(start) {
		return 0, nil, badRequest("The usage data requested must have a start date earlier than the end date")
	}
	if end.Sub(start) > 90*24*time.Hour {
		return 0, nil, badRequest("The usage data period cannot exceed 90 days")
	}
	members, err := rd.List(model.UsagePlanKeyPrefix + plan + "/")
	if err != nil {
		return 0, nil, internalErr("get usage", err)
	}
	onlyKey := req.query.Get("keyId")
	out := usage{UsagePlanID: plan, StartDate: start.Format(time.DateOnly), EndDate: end.Format(time.DateOnly), Items: map[string][][]int64{}}
	for _, kv := range members {
		keyID := strings.TrimPrefix(kv.Key, model.UsagePlanKeyPrefix+plan+"/")
		if onlyKey != "" && keyID != onlyKey {
			continue
		}
		series, err := s.keyUsage(ctx, rd, p, keyID, start, end)
		if err != nil {
			return 0, nil, internalErr("get usage", err)
		}
		out.Items[keyID] = series
	}
	return http.StatusOK, out, nil
}

// windowCounters are quota counters outside the store (Redis) whose window
// counters UpdateUsage can read and set (access.RedisCounters).
type windowCounters interface {
	Window(ctx context.Context, name string) (used int64, ok bool, err error)
	SetWindow(ctx context.Context, name string, used int64) error
}

// keyUsage is one key's [used, remaining] pair per day from start to end, read
// where the data plane counts (the store, or s.counters). Used is the day's count;
// remaining is what the quota window the day falls in had left at the end of that
// day, counting any extension UpdateUsage granted (the window counter is then
// below the sum of its days).
func (s *Service) keyUsage(ctx context.Context, rd reader, p *model.UsagePlan, keyID string, start, end time.Time) ([][]int64, error) {
	used := map[string]int64{}
	window := func(string) (int64, bool, error) { return 0, false, nil }
	if s.counters != nil {
		var err error
		if used, err = s.counters.Used(ctx, p.ID, keyID); err != nil {
			return nil, err
		}
		if wc, ok := s.counters.(windowCounters); ok {
			window = func(w string) (int64, bool, error) { return wc.Window(ctx, access.CounterName(p.ID, keyID, w)) }
		}
	} else {
		prefix := model.UsageCounterPrefix + p.ID + "/" + keyID + "/day/"
		days, err := rd.List(prefix)
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			var u usageCount
			if err := json.Unmarshal(d.Value, &u); err == nil {
				used[strings.TrimPrefix(d.Key, prefix)] = u.Used
			}
		}
		window = func(w string) (int64, bool, error) {
			c, ok, err := store.GetRecord[usageCount](rd, model.UsageCounterPrefix+access.CounterName(p.ID, keyID, w))
			if !ok || err != nil {
				return 0, ok, err
			}
			return c.Used, true, nil
		}
	}
	// adjust[window] is the window counter minus the sum of its days.
	var adjust map[string]int64
	if q := p.Quota; q != nil {
		adjust = map[string]int64{}
		sums := map[string]int64{}
		for day, n := range used {
			if t, err := time.Parse(time.DateOnly, day); err == nil {
				sums[access.QuotaWindow(q, t)] += n
			}
		}
		for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
			w := access.QuotaWindow(q, day)
			if _, done := adjust[w]; done {
				continue
			}
			n, ok, err := window(w)
			if err != nil {
				return nil, err
			}
			adjust[w] = 0
			if ok {
				adjust[w] = n - sums[w]
			}
		}
	}
	return usageSeries(p, used, adjust, start, end), nil
}

// usageSeries is a key's [used, remaining] pair per day from start to end, from its
// daily counts and, per quota window, what its window counter holds beyond them
// (an UpdateUsage extension; nil when none is known).
func usageSeries(p *model.UsagePlan, used, adjust map[string]int64, start, end time.Time) [][]int64 {
	var series [][]int64
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		d := day.Format(time.DateOnly)
		remaining := int64(0)
		if q := p.Quota; q != nil {
			w := access.QuotaWindow(q, day)
			upTo := adjust[w]
			for other, n := range used {
				// Dates in one format compare as strings.
				if other <= d && other >= w {
					upTo += n
				}
			}
			remaining = max(int64(q.Limit)-upTo, 0)
		}
		series = append(series, []int64{used[d], remaining})
	}
	return series
}

// usageCount is a quota counter record as the data plane writes it (see
// access.StoreCounters).
type usageCount struct {
	Used int64 `json:"used"`
}

// updateUsage is UpdateUsage: PATCH /usageplans/{id}/keys/{keyId}/usage with
// op replace, path /remaining, grants "a temporary extension to the remaining quota"
// of the key's current quota window: the window's counter is set so that exactly
// value requests remain (it may go below zero when value exceeds the limit). The
// answer is the key's usage for today.
func (s *Service) updateUsage(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateUsageInput")
	if err != nil {
		return 0, nil, err
	}
	plan, keyID := req.params["usagePlanId"], req.params["keyId"]
	var remaining *int64
	for _, op := range ops {
		if op.path() != "/remaining" {
			return 0, nil, errPathNotOneOf(op, "/remaining")
		}
		if op.Op != "replace" {
			return 0, nil, errUnsupportedOp(op)
		}
		n, err := strconv.ParseInt(op.value(), 10, 64)
		if err != nil || n < 0 {
			return 0, nil, badRequest("Invalid value for remaining: %s. Must be a non-negative integer", op.value())
		}
		remaining = &n
	}
	wc, settable := s.counters.(windowCounters)
	if remaining != nil && s.counters != nil && !settable {
		// Refused rather than written where the data plane does not count.
		return 0, nil, awsproto.Errorf(http.StatusNotImplemented, "NotImplementedException",
			"UpdateUsage is not implemented with these quota counters: the extension would not reach the counters the gateway enforces")
	}
	now := time.Now().UTC()
	var p *model.UsagePlan
	var counter string // the window counter to set in s.counters, after the checks
	err = s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if p, err = loadUsagePlan(tx, plan); err != nil {
			return err
		}
		if !safeID(keyID) {
			return notFound("Invalid Usage Plan Key identifier specified")
		}
		if _, ok, err := store.GetRecord[model.UsagePlanKey](tx, usagePlanKeyKey(plan, keyID)); err != nil {
			return err
		} else if !ok {
			return notFound("Invalid Usage Plan Key identifier specified")
		}
		if remaining == nil {
			return nil
		}
		if p.Quota == nil {
			return badRequest("Usage plan %s has no quota; there is no remaining quota to update", plan)
		}
		name := access.CounterName(plan, keyID, access.QuotaWindow(p.Quota, now))
		if s.counters != nil {
			counter = name
			return nil
		}
		return store.PutRecord(tx, model.UsageCounterPrefix+name, &usageCount{Used: int64(p.Quota.Limit) - *remaining})
	})
	if err != nil {
		return 0, nil, internalErr("update usage", err)
	}
	if counter != "" {
		if err := wc.SetWindow(ctx, counter, int64(p.Quota.Limit)-*remaining); err != nil {
			return 0, nil, internalErr("update usage", err)
		}
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	series, err := s.keyUsage(ctx, s.reader(ctx), p, keyID, today, today)
	if err != nil {
		return 0, nil, internalErr("update usage", err)
	}
	day := today.Format(time.DateOnly)
	return http.StatusOK, usage{UsagePlanID: plan, StartDate: day, EndDate: day, Items: map[string][][]int64{keyID: series}}, nil
}
