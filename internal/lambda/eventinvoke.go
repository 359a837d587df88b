package lambda

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// EventInvokeConfig is Lambda's FunctionEventInvokeConfig: how the async queue
// treats a function's (or a version's, or an alias's) Event invocations.
type EventInvokeConfig struct {
	LastModified             float64            `json:"LastModified"` // epoch seconds, as the API returns it
	FunctionArn              string             `json:"FunctionArn"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig"`
}

// DestinationConfig names where the records of finished Event invocations go.
type DestinationConfig struct {
	OnSuccess destination `json:"OnSuccess"`
	OnFailure destination `json:"OnFailure"`
}

type destination struct {
	Destination string `json:"Destination,omitempty"`
}

type eventInvokeInput struct {
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig"`
}

func (s *Service) validateEventInvoke(in *eventInvokeInput) error {
	if n := in.MaximumRetryAttempts; n != nil {
		if *n < 0 {
			return validation("Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0", *n)
		}
		if *n > 2 {
			return validation("Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", *n)
		}
	}
	if n := in.MaximumEventAgeInSeconds; n != nil {
		if *n < 60 {
			return validation("Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60", *n)
		}
		if *n > 21600 {
			return validation("Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600", *n)
		}
	}
	if d := in.DestinationConfig; d != nil {
		for _, arn := range []string{d.OnSuccess.Destination, d.OnFailure.Destination} {
			if err := s.validateDestination(arn, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateDestination accepts a Lambda function ARN of this account and region.
// AWS also delivers to SQS, SNS, EventBridge and S3, which Sluice does not serve;
// those, and anything else, are refused with AWS's message for an unusable
// destination.
func (s *Service) validateDestination(arn string, d *DestinationConfig) error {
	if arn == "" {
		return nil
	}
	invalid := func(extra string) error {
		return invalidParam("The provided destination config DestinationConfig(onSuccess=%s, onFailure=%s) is invalid.%s",
			destString("OnSuccess", d.OnSuccess), destString("OnFailure", d.OnFailure), extra)
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return validation("Value '%s' at 'destinationConfig.onSuccess.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)", arn)
	}
	switch parts[2] {
	case "lambda":
		ref, err := s.parseFunctionRef(arn, "")
		if err != nil || ref.Foreign || !strings.HasPrefix(parts[5], "function:") {
			return invalid("")
		}
		return nil
	case "sqs", "sns", "events", "s3":
		return invalid(" Sluice delivers destinations to Lambda functions only; " + parts[2] + " destinations are not built.")
	}
	return invalid("")
}

func destString(kind string, d destination) string {
	if d.Destination == "" {
		return "null"
	}
	return kind + "(destination=" + d.Destination + ")"
}

// eventInvokeKey is the qualifier a config is stored under: "$LATEST" for the
// unqualified function, as AWS reports it (FunctionArn ends in :$LATEST).
func eventInvokeKey(qualifier string) string {
	if qualifier == "" {
		return "$LATEST"
	}
	return qualifier
}

// loadEventInvokeTarget loads the function and checks ref's version or alias exists.
func (s *Service) loadEventInvokeTarget(r store.Reader, ref functionRef) (*functionRecord, error) {
	rec, err := s.loadFunction(r, functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return nil, err
	}
	switch q := ref.Qualifier; {
	case latestVersion(q):
	case isVersionNumber(q):
		if _, err := loadRecord[versionRecord](r, versionKey(ref.Name, versionNumber(q)), fmtNotFound(s.refARN(ref))); err != nil {
			return nil, err
		}
	default:
		if _, err := loadRecord[aliasRecord](r, aliasKey(ref.Name, q), fmtNotFound(s.refARN(ref))); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func (s *Service) noEventInvokeConfig(ref functionRef) error {
	return notFound("The function %s doesn't have an EventInvokeConfig", s.qualifiedARN(ref.Name, eventInvokeKey(ref.Qualifier)))
}

// putEventInvokeConfig is PutFunctionEventInvokeConfig (replace, merge false) and
// UpdateFunctionEventInvokeConfig (merge into an existing config, merge true).
func (s *Service) putEventInvokeConfig(c *call, op string, merge bool) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	var in eventInvokeInput
	if err := c.decode(op, &in); err != nil {
		return err
	}
	if err := s.validateEventInvoke(&in); err != nil {
		return err
	}
	var out EventInvokeConfig
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadEventInvokeTarget(tx, ref)
		if err != nil {
			return err
		}
		key := eventInvokeKey(ref.Qualifier)
		cfg := &EventInvokeConfig{DestinationConfig: &DestinationConfig{}}
		if merge {
			old, ok := rec.EventInvoke[key]
			if !ok {
				return s.noEventInvokeConfig(ref)
			}
			cp := *old
			dc := *old.DestinationConfig
			cp.DestinationConfig = &dc
			cfg = &cp
		}
		if in.MaximumRetryAttempts != nil || !merge {
			cfg.MaximumRetryAttempts = in.MaximumRetryAttempts
		}
		if in.MaximumEventAgeInSeconds != nil || !merge {
			cfg.MaximumEventAgeInSeconds = in.MaximumEventAgeInSeconds
		}
		if in.DestinationConfig != nil {
			cfg.DestinationConfig = in.DestinationConfig
		}
		cfg.FunctionArn = s.qualifiedARN(ref.Name, key)
		cfg.LastModified = float64(time.Now().UnixMilli()) / 1000
		if rec.EventInvoke == nil {
			rec.EventInvoke = map[string]*EventInvokeConfig{}
		}
		rec.EventInvoke[key] = cfg
		out = *cfg
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	if err != nil {
		return err
	}
	c.json(http.StatusOK, out)
	return nil
}

func (s *Service) putFunctionEventInvokeConfig(c *call) error {
	return s.putEventInvokeConfig(c, "PutFunctionEventInvokeConfig", false)
}

func (s *Service) updateFunctionEventInvokeConfig(c *call) error {
	return s.putEventInvokeConfig(c, "UpdateFunctionEventInvokeConfig", true)
}

func (s *Service) getFunctionEventInvokeConfig(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	rec, err := s.loadEventInvokeTarget(s.reader(c.r.Context()), ref)
	if err != nil {
		return err
	}
	cfg, ok := rec.EventInvoke[eventInvokeKey(ref.Qualifier)]
	if !ok {
		return s.noEventInvokeConfig(ref)
	}
	c.json(http.StatusOK, cfg)
	return nil
}

func (s *Service) deleteFunctionEventInvokeConfig(c *call) error {
	ref, err := s.parseFunctionRef(c.function, c.query("Qualifier"))
	if err != nil {
		return err
	}
	err = s.updateFunction(c.r.Context(), ref.Name, func(tx store.Tx) error {
		rec, err := s.loadEventInvokeTarget(tx, ref)
		if err != nil {
			return err
		}
		key := eventInvokeKey(ref.Qualifier)
		if _, ok := rec.EventInvoke[key]; !ok {
			return s.noEventInvokeConfig(ref)
		}
		delete(rec.EventInvoke, key)
		return store.PutRecord(tx, functionKey(ref.Name), rec)
	})
	return c.noContent(err)
}

func (s *Service) listFunctionEventInvokeConfigs(c *call) error {
	ref, marker, max, err := s.listRequest(c)
	if err != nil {
		return err
	}
	rec, err := s.readFunction(c.r.Context(), functionRef{Name: ref.Name, Foreign: ref.Foreign})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(rec.EventInvoke))
	for k := range rec.EventInvoke {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	got, next := page(keys, func(k string) string { return k }, marker, max)
	out := struct {
		FunctionEventInvokeConfigs []*EventInvokeConfig `json:"FunctionEventInvokeConfigs"`
		NextMarker                 *string              `json:"NextMarker,omitempty"`
	}{FunctionEventInvokeConfigs: make([]*EventInvokeConfig, 0, len(got)), NextMarker: next}
	for _, k := range got {
		out.FunctionEventInvokeConfigs = append(out.FunctionEventInvokeConfigs, rec.EventInvoke[k])
	}
	c.json(http.StatusOK, out)
	return nil
}

// invocationRecord is what an async destination receives ("Configuring
// destinations for asynchronous invocation"): the request and, when the function
// ran, its response.
type invocationRecord struct {
	Version         string           `json:"version"`
	Timestamp       string           `json:"timestamp"`
	RequestContext  recordRequest    `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *recordResponse  `json:"responseContext,omitempty"`
	ResponsePayload *json.RawMessage `json:"responsePayload,omitempty"`
}

type recordRequest struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"` // Success | RetriesExhausted | EventAgeExceeded
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type recordResponse struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// asJSON keeps a payload that is JSON as it is and quotes one that is not.
func asJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	q, _ := json.Marshal(string(b))
	return q
}

func newInvocationRecord(ev *asyncEvent, functionARN, condition string, count int) *invocationRecord {
	return &invocationRecord{
		Version:   "1.0",
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: recordRequest{RequestID: ev.RequestID, FunctionArn: functionARN,
			Condition: condition, ApproximateInvokeCount: count},
		RequestPayload: asJSON(ev.Payload),
	}
}

// destinationEvent turns a record for destination ARN into a queued Event
// invocation of that function (AWS invokes a function destination asynchronously).
func (s *Service) destinationEvent(arn string, rec *invocationRecord, requestID string) (*asyncEvent, error) {
	ref, err := s.parseFunctionRef(arn, "")
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode invocation record: %w", err)
	}
	return &asyncEvent{RequestID: requestID, Function: ref.Name, Qualifier: ref.Qualifier,
		Payload: payload, Enqueued: time.Now().UTC()}, nil
}
