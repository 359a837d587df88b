package cfn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Change sets: CreateChangeSet plans (validates the template and diffs it against
// the stack) and stores the plan's inputs; ExecuteChangeSet runs it as
// CreateStack or UpdateStack would. A CREATE change set creates the stack in
// REVIEW_IN_PROGRESS, as CloudFormation does. This is what `aws cloudformation
// deploy` drives.

type changeSetRecord struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	StackID         string            `json:"stackId"`
	StackName       string            `json:"stackName"`
	Type            string            `json:"type"` // CREATE, UPDATE
	Description     string            `json:"description,omitempty"`
	Status          string            `json:"status"`
	StatusReason    string            `json:"statusReason,omitempty"`
	ExecutionStatus string            `json:"executionStatus"`
	CreationTime    time.Time         `json:"creationTime"`
	TemplateBody    string            `json:"templateBody"`
	ParamValues     map[string]string `json:"paramValues,omitempty"`
	UsePrevious     map[string]bool   `json:"usePrevious,omitempty"`
	Parameters      []parameterValue  `json:"parameters,omitempty"`
	Capabilities    []string          `json:"capabilities,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Changes         []change          `json:"changes,omitempty"`
}

var changeSetNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

func changeSetKey(stack, name string) string { return changeSetPrefix + stack + "/" + name }

func changeSetMissing(name string) error {
	return awsproto.Errorf(404, "ChangeSetNotFound", "ChangeSet [%s] does not exist", name)
}

// loadChangeSet finds a change set by ARN, or by name within a stack.
func (s *Service) loadChangeSet(ctx context.Context, nameOrARN, stack string) (*changeSetRecord, error) {
	rd := store.ReaderOf(ctx, s.store)
	if strings.HasPrefix(nameOrARN, "arn:") {
		all, err := store.ListRecords[changeSetRecord](rd, changeSetPrefix)
		if err != nil {
			return nil, err
		}
		for _, cs := range all {
			if cs.ID == nameOrARN {
				return cs, nil
			}
		}
		return nil, changeSetMissing(nameOrARN)
	}
	if stack == "" {
		return nil, validationError("StackName must be specified if ChangeSetName is not specified as an ARN.")
	}
	if strings.HasPrefix(stack, "arn:") {
		rec, err := s.loadStack(ctx, stack)
		if err != nil {
			return nil, changeSetMissing(nameOrARN)
		}
		stack = rec.StackName
	}
	return store.RecordOr[changeSetRecord](rd, changeSetKey(stack, nameOrARN), changeSetMissing(nameOrARN))
}

func (s *Service) createChangeSet(ctx context.Context, f url.Values) (any, error) {
	stackName, name := f.Get("StackName"), f.Get("ChangeSetName")
	if err := checkStackName(stackName); err != nil {
		return nil, err
	}
	if name == "" || len(name) > 128 || !changeSetNamePattern.MatchString(name) {
		return nil, validationError("1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name)
	}
	typ := f.Get("ChangeSetType")
	if typ == "" {
		typ = "UPDATE"
	}
	if typ != "CREATE" && typ != "UPDATE" {
		if typ == "IMPORT" {
			return nil, validationError("ChangeSetType IMPORT is not supported by Sluice")
		}
		return nil, validationError("1 validation error detected: Value '%s' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [IMPORT, UPDATE, CREATE]", typ)
	}
	rec, err := s.loadStack(ctx, stackName)
	if err != nil {
		if _, public := awsproto.Public(err); !public {
			return nil, err
		}
		rec = nil
	}
	switch {
	case typ == "UPDATE" && rec == nil:
		return nil, validationError("Stack [%s] does not exist", stackName)
	case typ == "UPDATE" && rec.Status == statusReviewInProgress:
		return nil, validationError("Stack [%s] does not exist", stackName)
	case typ == "CREATE" && rec != nil && rec.Status != statusReviewInProgress:
		return nil, validationError("Stack [%s] already exists and cannot be created again with the changeSet [%s].", stackName, name)
	case typ == "UPDATE" && !updatable(rec.Status):
		return nil, cannotUpdate(rec)
	}
	if _, err := s.store.Get(ctx, changeSetKey(stackName, name)); err == nil {
		return nil, awsproto.Errorf(400, "AlreadyExistsException", "ChangeSet [%s] already exists", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	body, err := s.templateOrPrevious(ctx, f, rec)
	if err != nil {
		return nil, err
	}
	if _, err := parseTemplate(body); err != nil {
		return nil, err
	}
	pin := parameters(f)
	cs := &changeSetRecord{ID: fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", s.region, s.account, name, uuid.NewString()),
		Name: name, StackName: stackName, Type: typ, Description: f.Get("Description"), CreationTime: time.Now().UTC(),
		TemplateBody: body, ParamValues: pin.values, UsePrevious: pin.usePrevious, Capabilities: members(f, "Capabilities"), Tags: tags(f),
		ExecutionStatus: "AVAILABLE", Status: "CREATE_COMPLETE"}
	if rec == nil {
		// A CREATE change set creates the stack, empty, in REVIEW_IN_PROGRESS.
		rec = &stackRecord{StackID: stackARN(s.region, s.account, stackName), StackName: stackName, Status: statusReviewInProgress,
			StatusReason: "User Initiated", CreationTime: time.Now().UTC(), Resources: map[string]*resourceRecord{}}
		err := s.store.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Get(stackPrefix + stackName); err == nil {
				return validationError("Stack [%s] already exists and cannot be created again with the changeSet [%s].", stackName, name)
			}
			return store.PutRecord(tx, stackPrefix+stackName, rec)
		})
		if err != nil {
			return nil, err
		}
		o := &op{s: s, rec: rec, c: s.caller}
		if err := o.stackEvent(ctx, statusReviewInProgress, "User Initiated"); err != nil {
			return nil, err
		}
	}
	cs.StackID = rec.StackID
	s.planChangeSet(ctx, cs, rec)
	if err := s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, changeSetKey(stackName, name), cs) }); err != nil {
		return nil, err
	}
	return struct {
		ID      string `xml:"Id"`
		StackID string `xml:"StackId"`
	}{cs.ID, cs.StackID}, nil
}

// planChangeSet validates the change set's template against the stack and lists
// its changes; a template Sluice cannot run fails the change set with the reason
// (naming each unsupported resource type), as CloudFormation fails it.
func (s *Service) planChangeSet(ctx context.Context, cs *changeSetRecord, rec *stackRecord) {
	fail := func(err error) {
		cs.Status, cs.ExecutionStatus = "FAILED", "UNAVAILABLE"
		if ae, ok := awsproto.Public(err); ok {
			cs.StatusReason = ae.Message
		} else {
			s.log.Error("cloudformation: plan change set", "changeSet", cs.Name, "err", err)
			cs.StatusReason = "Internal Failure"
		}
	}
	p, ev, err := s.updatePlan(ctx, rec, cs.TemplateBody, parameterInput{values: cs.ParamValues, usePrevious: cs.UsePrevious}, cs.Capabilities)
	if err != nil {
		fail(err)
		return
	}
	// A change set shows what a transform expands to before it runs, so it needs
	// no CAPABILITY_AUTO_EXPAND (CreateStack and UpdateStack do).
	if err := p.checkCapabilities(append(cs.Capabilities, "CAPABILITY_AUTO_EXPAND")); err != nil {
		fail(err)
		return
	}
	cs.Parameters = p.params
	changes, err := diff(p, ev, rec)
	if err != nil {
		fail(err)
		return
	}
	if cs.Type == "UPDATE" && noChanges(changes, p, rec) {
		cs.Status, cs.ExecutionStatus = "FAILED", "UNAVAILABLE"
		cs.StatusReason = "The submitted information didn't contain changes. Submit different information to create a change set."
		return
	}
	cs.Changes = changes
}

type xmlResourceChange struct {
	Action             string   `xml:"Action"`
	LogicalResourceID  string   `xml:"LogicalResourceId"`
	PhysicalResourceID string   `xml:"PhysicalResourceId,omitempty"`
	ResourceType       string   `xml:"ResourceType"`
	Replacement        string   `xml:"Replacement,omitempty"`
	Scope              []string `xml:"Scope>member"`
	Details            struct{} `xml:"Details"`
}

type xmlChange struct {
	Type           string            `xml:"Type"`
	ResourceChange xmlResourceChange `xml:"ResourceChange"`
}

func (s *Service) describeChangeSet(ctx context.Context, f url.Values) (any, error) {
	cs, err := s.loadChangeSet(ctx, f.Get("ChangeSetName"), f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	out := struct {
		ChangeSetName    string         `xml:"ChangeSetName"`
		ChangeSetID      string         `xml:"ChangeSetId"`
		StackID          string         `xml:"StackId"`
		StackName        string         `xml:"StackName"`
		Description      string         `xml:"Description,omitempty"`
		Parameters       []xmlParameter `xml:"Parameters>member"`
		CreationTime     string         `xml:"CreationTime"`
		ExecutionStatus  string         `xml:"ExecutionStatus"`
		Status           string         `xml:"Status"`
		StatusReason     string         `xml:"StatusReason,omitempty"`
		NotificationARNs struct{}       `xml:"NotificationARNs"`
		Capabilities     []string       `xml:"Capabilities>member"`
		Tags             []xmlTag       `xml:"Tags>member"`
		Changes          []xmlChange    `xml:"Changes>member"`
		IncludeNested    bool           `xml:"IncludeNestedStacks"`
	}{ChangeSetName: cs.Name, ChangeSetID: cs.ID, StackID: cs.StackID, StackName: cs.StackName, Description: cs.Description,
		CreationTime: isoTime(cs.CreationTime), ExecutionStatus: cs.ExecutionStatus, Status: cs.Status, StatusReason: cs.StatusReason,
		Capabilities: cs.Capabilities, Changes: []xmlChange{}}
	for _, p := range cs.Parameters {
		v := p.Value
		if p.NoEcho {
			v = "****"
		}
		out.Parameters = append(out.Parameters, xmlParameter{p.Key, v})
	}
	for k, v := range cs.Tags {
		out.Tags = append(out.Tags, xmlTag{k, v})
	}
	for _, c := range cs.Changes {
		out.Changes = append(out.Changes, xmlChange{Type: "Resource", ResourceChange: xmlResourceChange{Action: c.Action,
			LogicalResourceID: c.LogicalID, PhysicalResourceID: c.PhysicalID, ResourceType: c.Type, Replacement: c.Replacement, Scope: c.Scope}})
	}
	return out, nil
}

func (s *Service) listChangeSets(ctx context.Context, f url.Values) (any, error) {
	rec, err := s.loadStack(ctx, f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	all, err := store.ListRecords[changeSetRecord](store.ReaderOf(ctx, s.store), changeSetPrefix+rec.StackName+"/")
	if err != nil {
		return nil, err
	}
	type summary struct {
		StackID         string `xml:"StackId"`
		StackName       string `xml:"StackName"`
		ChangeSetID     string `xml:"ChangeSetId"`
		ChangeSetName   string `xml:"ChangeSetName"`
		ExecutionStatus string `xml:"ExecutionStatus"`
		Status          string `xml:"Status"`
		StatusReason    string `xml:"StatusReason,omitempty"`
		CreationTime    string `xml:"CreationTime"`
		Description     string `xml:"Description,omitempty"`
	}
	out := struct {
		Summaries []summary `xml:"Summaries>member"`
	}{Summaries: []summary{}}
	for _, cs := range all {
		if cs.StackID != rec.StackID {
			continue
		}
		out.Summaries = append(out.Summaries, summary{cs.StackID, cs.StackName, cs.ID, cs.Name, cs.ExecutionStatus, cs.Status,
			cs.StatusReason, isoTime(cs.CreationTime), cs.Description})
	}
	return out, nil
}

func (s *Service) deleteChangeSet(ctx context.Context, f url.Values) (any, error) {
	cs, err := s.loadChangeSet(ctx, f.Get("ChangeSetName"), f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	if cs.ExecutionStatus == "EXECUTE_IN_PROGRESS" {
		return nil, awsproto.Errorf(400, "InvalidChangeSetStatus", "Cannot delete ChangeSet in status EXECUTE_IN_PROGRESS")
	}
	// DeleteChangeSet and ExecuteChangeSet answer an empty result element, which
	// the SDKs expect.
	return struct{}{}, s.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(changeSetKey(cs.StackName, cs.Name)) })
}

func (s *Service) executeChangeSet(ctx context.Context, f url.Values) (any, error) {
	cs, err := s.loadChangeSet(ctx, f.Get("ChangeSetName"), f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	if cs.ExecutionStatus != "AVAILABLE" {
		return nil, awsproto.Errorf(400, "InvalidChangeSetStatus",
			"ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.ID, cs.ExecutionStatus)
	}
	rec, err := s.loadStack(ctx, cs.StackName)
	if err != nil {
		return nil, err
	}
	if rec.StackID != cs.StackID {
		return nil, changeSetMissing(cs.Name)
	}
	// Plan again against the stack as it is now: it may have changed since.
	p, ev, err := s.updatePlan(ctx, rec, cs.TemplateBody, parameterInput{values: cs.ParamValues, usePrevious: cs.UsePrevious}, cs.Capabilities)
	if err != nil {
		return nil, err
	}
	disableRollback := f.Get("DisableRollback") == "true"
	switch cs.Type {
	case "CREATE":
		if rec.Status != statusReviewInProgress {
			return nil, validationError("Stack [%s] already exists and cannot be created again with the changeSet [%s].", rec.StackName, cs.Name)
		}
		rec.Description, rec.TemplateBody, rec.Parameters = p.tmpl.Description, cs.TemplateBody, p.params
		rec.Capabilities, rec.Tags, rec.DisableRollback = cs.Capabilities, cs.Tags, disableRollback
		onFailure := "ROLLBACK"
		if disableRollback {
			onFailure = "DO_NOTHING"
		}
		o := s.begin(rec, &stackOperation{Kind: "create", OnFailure: onFailure}, ev)
		if err := o.stackEvent(ctx, statusCreateInProgress, "User Initiated"); err != nil {
			s.forget(rec.StackID)
			return nil, err
		}
		s.runOp(o, func(ctx context.Context) { o.runCreate(ctx, p, onFailure) })
	default:
		if !updatable(rec.Status) {
			return nil, cannotUpdate(rec)
		}
		if err := s.startUpdate(ctx, rec, p, ev, cs.Capabilities, cs.Tags, cs.TemplateBody, disableRollback); err != nil {
			return nil, err
		}
	}
	// The executed change set stays (EXECUTE_COMPLETE); the stack's other change
	// sets are deleted, as CloudFormation does.
	cs.ExecutionStatus = "EXECUTE_COMPLETE"
	return struct{}{}, s.store.Update(ctx, func(tx store.Tx) error {
		kvs, err := tx.List(changeSetPrefix + cs.StackName + "/")
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
		return store.PutRecord(tx, changeSetKey(cs.StackName, cs.Name), cs)
	})
}
