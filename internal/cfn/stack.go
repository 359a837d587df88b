package cfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Store layout: a live stack by name, its events by the stack id's uuid, and
// deleted stacks by uuid (DescribeStacks by stack id still answers for them).
const (
	stackPrefix     = "/cfn/stacks/"
	eventPrefix     = "/cfn/events/"
	deletedPrefix   = "/cfn/deleted/"
	changeSetPrefix = "/cfn/changesets/"
)

// Stack statuses.
const (
	statusCreateInProgress   = "CREATE_IN_PROGRESS"
	statusCreateComplete     = "CREATE_COMPLETE"
	statusCreateFailed       = "CREATE_FAILED"
	statusRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	statusRollbackComplete   = "ROLLBACK_COMPLETE"
	statusRollbackFailed     = "ROLLBACK_FAILED"
	statusDeleteInProgress   = "DELETE_IN_PROGRESS"
	statusDeleteComplete     = "DELETE_COMPLETE"
	statusDeleteFailed       = "DELETE_FAILED"
	statusDeleteSkipped      = "DELETE_SKIPPED"
	statusUpdateInProgress   = "UPDATE_IN_PROGRESS"
	statusUpdateComplete     = "UPDATE_COMPLETE"
	statusUpdateFailed       = "UPDATE_FAILED"
	statusUpdateCleanup      = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
	statusUpdateRollbackIP   = "UPDATE_ROLLBACK_IN_PROGRESS"
	statusUpdateRollbackCl   = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
	statusUpdateRollbackDone = "UPDATE_ROLLBACK_COMPLETE"
	statusUpdateRollbackFail = "UPDATE_ROLLBACK_FAILED"
	statusReviewInProgress   = "REVIEW_IN_PROGRESS"
)

// stackRecord is one stack as stored.
type stackRecord struct {
	StackID         string            `json:"stackId"`
	StackName       string            `json:"stackName"`
	Description     string            `json:"description,omitempty"`
	Status          string            `json:"status"`
	StatusReason    string            `json:"statusReason,omitempty"`
	CreationTime    time.Time         `json:"creationTime"`
	LastUpdatedTime time.Time         `json:"lastUpdatedTime,omitzero"`
	DeletionTime    time.Time         `json:"deletionTime,omitzero"`
	TemplateBody    string            `json:"templateBody"`
	Processed       string            `json:"processed,omitempty"` // the template after transforms, JSON
	Parameters      []parameterValue  `json:"parameters,omitempty"`
	Capabilities    []string          `json:"capabilities,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	DisableRollback bool              `json:"disableRollback,omitempty"`
	Outputs         []outputValue     `json:"outputs,omitempty"`
	// Resources by logical id; Order is the order they were created in (deletes
	// run in reverse).
	Resources map[string]*resourceRecord `json:"resources"`
	Order     []string                   `json:"order"`
	// Operation is the operation in progress (nil when none): what another run
	// needs to finish it when the node running it stops (resume.go).
	Operation *stackOperation `json:"operation,omitempty"`
}

type parameterValue struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	NoEcho bool   `json:"noEcho,omitempty"`
}

type outputValue struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
	ExportName  string `json:"exportName,omitempty"`
}

// resourceRecord is one resource of a stack as stored: its resolved properties
// (what an update diffs against) and what Ref/GetAtt return.
type resourceRecord struct {
	LogicalID  string         `json:"logicalId"`
	Type       string         `json:"type"`
	PhysicalID string         `json:"physicalId,omitempty"`
	Status     string         `json:"status"`
	Reason     string         `json:"reason,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Attrs      map[string]any `json:"attrs,omitempty"`
	Retain     bool           `json:"retain,omitempty"`
	Updated    time.Time      `json:"updated"`
	// Suffix is the suffix of the resource's generated name, recorded before the
	// create call (resourceCall.generatedName).
	Suffix string `json:"suffix,omitempty"`
}

// eventRecord is one stack event.
type eventRecord struct {
	EventID      string    `json:"eventId"`
	StackID      string    `json:"stackId"`
	StackName    string    `json:"stackName"`
	LogicalID    string    `json:"logicalId"`
	PhysicalID   string    `json:"physicalId,omitempty"`
	Type         string    `json:"type"`
	Timestamp    time.Time `json:"timestamp"`
	Status       string    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	PropertiesJS string    `json:"properties,omitempty"`
}

func stackUUID(stackID string) string { return stackID[strings.LastIndex(stackID, "/")+1:] }

func validationError(format string, args ...any) error {
	return awsproto.Errorf(400, "ValidationError", format, args...)
}

func stackMissing(name string) error {
	return validationError("Stack with id %s does not exist", name)
}

// loadStack finds a live stack by name or id, or a deleted one by id.
func (s *Service) loadStack(ctx context.Context, nameOrID string) (*stackRecord, error) {
	rd := store.ReaderOf(ctx, s.store)
	if strings.HasPrefix(nameOrID, "arn:") {
		rec, found, err := store.GetRecord[stackRecord](rd, deletedPrefix+stackUUID(nameOrID))
		if err != nil {
			return nil, err
		}
		if found && rec.StackID == nameOrID {
			return rec, nil
		}
		parts := strings.Split(nameOrID, "/")
		if len(parts) == 3 {
			rec, found, err := store.GetRecord[stackRecord](rd, stackPrefix+parts[1])
			if err != nil {
				return nil, err
			}
			if found && rec.StackID == nameOrID {
				return rec, nil
			}
		}
		return nil, stackMissing(nameOrID)
	}
	return store.RecordOr[stackRecord](rd, stackPrefix+nameOrID, stackMissing(nameOrID))
}

// op is one running stack operation: it owns rec until it ends and writes every
// status change with its event in one transaction.
type op struct {
	s   *Service
	rec *stackRecord
	ev  *evaluator
	c   *caller
}

func (o *op) event(ctx context.Context, logicalID, physicalID, typ, status, reason string, properties map[string]any) error {
	key, e := o.newEvent(logicalID, physicalID, typ, status, reason, properties)
	return o.write(ctx, key, e, func(tx store.Tx) error { return store.PutRecord(tx, stackPrefix+o.rec.StackName, o.rec) })
}

// newEvent makes one event of the stack and its key (events list in time order).
func (o *op) newEvent(logicalID, physicalID, typ, status, reason string, properties map[string]any) (string, eventRecord) {
	e := eventRecord{EventID: uuid.NewString(), StackID: o.rec.StackID, StackName: o.rec.StackName, LogicalID: logicalID,
		PhysicalID: physicalID, Type: typ, Timestamp: time.Now().UTC(), Status: status, Reason: reason}
	if properties != nil {
		b, _ := json.Marshal(properties)
		e.PropertiesJS = string(b)
	}
	return fmt.Sprintf("%s%s/%020d-%s", eventPrefix, stackUUID(o.rec.StackID), e.Timestamp.UnixNano(), e.EventID[:8]), e
}

// write records an event and the stack's record (put writes it) in one
// transaction.
func (o *op) write(ctx context.Context, key string, e eventRecord, put func(tx store.Tx) error) error {
	// A node shutting down records nothing more: the operation stays in progress
	// as its last event left it, and the next start finishes it (resume.go)
	// with a reason that says so, not with the errors of calls cut short.
	if err := ctx.Err(); err != nil {
		return err
	}
	return o.s.store.Update(ctx, func(tx store.Tx) error {
		if err := put(tx); err != nil {
			return err
		}
		return store.PutRecord(tx, key, e)
	})
}

// stackEvent sets the stack's status and records the stack's own event. A
// status that is not in progress ends the operation.
func (o *op) stackEvent(ctx context.Context, status, reason string) error {
	o.rec.Status, o.rec.StatusReason = status, reason
	if !inProgress(status) {
		o.rec.Operation = nil
	}
	return o.event(ctx, o.rec.StackName, o.rec.StackID, "AWS::CloudFormation::Stack", status, reason, nil)
}

func (o *op) resourceEvent(ctx context.Context, r *resourceRecord, status, reason string) error {
	r.Status, r.Reason, r.Updated = status, reason, time.Now().UTC()
	return o.event(ctx, r.LogicalID, r.PhysicalID, r.Type, status, reason, r.Properties)
}

// reason renders a failure as ResourceStatusReason shows it; internal errors are
// logged and shown as AWS shows its own ("Internal Failure").
func (o *op) reason(err error) string {
	var ae *apiError
	var re *resourceError
	switch {
	case errors.As(err, &ae):
		return ae.Error()
	case errors.As(err, &re):
		return re.msg
	}
	if pub, ok := awsproto.Public(err); ok {
		return pub.Message
	}
	o.s.log.Error("cloudformation: resource operation failed", "stack", o.rec.StackName, "err", err)
	return "Internal Failure"
}

func (o *op) call(logicalID string, properties map[string]any) *resourceCall {
	return &resourceCall{c: o.c, stackName: o.rec.StackName, logicalID: logicalID, region: o.s.region, account: o.s.account,
		props: props{logicalID: logicalID, m: properties}}
}

// callFor is call for a resource record: its generated name uses the record's
// suffix.
func (o *op) callFor(r *resourceRecord, properties map[string]any) *resourceCall {
	c := o.call(r.LogicalID, properties)
	c.suffix = r.Suffix
	return c
}

// deleteTarget is the record a delete runs with: r itself, or, for a resource
// that never got a physical id, r with the id its create would have made when
// that id is known before the answer (the node may have stopped between the
// create call and recording its answer). Nil when there is nothing to delete.
func (o *op) deleteTarget(r *resourceRecord) *resourceRecord {
	if r.PhysicalID != "" {
		return r
	}
	prov := provisioners[r.Type]
	if r.Suffix == "" || prov == nil || prov.orphanID == nil {
		return nil
	}
	id := prov.orphanID(o.callFor(r, r.Properties))
	if id == "" {
		return nil
	}
	t := *r
	t.PhysicalID = id
	return &t
}

// createResource creates one resource of the plan and records its state.
func (o *op) createResource(ctx context.Context, p *plan, logicalID string) error {
	def := p.tmpl.Resources[logicalID]
	r := &resourceRecord{LogicalID: logicalID, Type: def.Type, Retain: def.DeletionPolicy == "Retain", Suffix: randomSuffix(12)}
	o.rec.Resources[logicalID] = r
	o.rec.Order = append(o.rec.Order, logicalID)
	resolved, err := o.ev.resolve(def.Properties)
	if err == nil {
		r.Properties, _ = resolved.(map[string]any)
	}
	if e := o.resourceEvent(ctx, r, statusCreateInProgress, ""); e != nil {
		return e
	}
	if err != nil {
		r.Suffix = "" // no create call was made: nothing to look for
		_ = o.resourceEvent(ctx, r, statusCreateFailed, o.reason(err))
		return err
	}
	phys, attrs, err := provisioners[def.Type].create(ctx, o.callFor(r, r.Properties))
	r.PhysicalID, r.Attrs = phys, attrs
	if err != nil {
		_ = o.resourceEvent(ctx, r, statusCreateFailed, o.reason(err))
		return err
	}
	if e := o.resourceEvent(ctx, r, statusCreateInProgress, "Resource creation Initiated"); e != nil {
		return e
	}
	o.ev.resources[logicalID] = &resourceState{PhysicalID: phys, Attrs: attrs}
	return o.resourceEvent(ctx, r, statusCreateComplete, "")
}

// deleteResource deletes one recorded resource (a resource that never got a
// physical id has nothing to delete).
func (o *op) deleteResource(ctx context.Context, r *resourceRecord) error {
	if r.Status == statusDeleteComplete || r.Status == statusDeleteSkipped {
		return nil
	}
	if r.Retain {
		return o.resourceEvent(ctx, r, statusDeleteSkipped, "")
	}
	if err := o.resourceEvent(ctx, r, statusDeleteInProgress, ""); err != nil {
		return err
	}
	if t := o.deleteTarget(r); t != nil {
		err := provisioners[r.Type].delete(ctx, o.callFor(r, r.Properties), t)
		if err != nil && !notFound(err) {
			_ = o.resourceEvent(ctx, r, statusDeleteFailed, o.reason(err))
			return err
		}
	}
	return o.resourceEvent(ctx, r, statusDeleteComplete, "")
}

// deleteAll deletes the given resources in reverse creation order and returns the
// ones that failed.
func (o *op) deleteAll(ctx context.Context, order []string) []string {
	var failed []string
	for i := len(order) - 1; i >= 0; i-- {
		r := o.rec.Resources[order[i]]
		if r == nil {
			continue
		}
		if err := o.deleteResource(ctx, r); err != nil {
			failed = append(failed, r.LogicalID)
		}
	}
	return failed
}

// runCreate creates every resource of the plan in dependency order, then the
// outputs; a failure rolls back (deletes what was created) unless rollback is
// disabled.
func (o *op) runCreate(ctx context.Context, p *plan, onFailure string) {
	var failedID string
	var failErr error
	for _, id := range p.order {
		if err := o.createResource(ctx, p, id); err != nil {
			failedID, failErr = id, err
			break
		}
	}
	if failErr == nil {
		outs, err := o.outputs(p)
		if err == nil {
			o.rec.Outputs = outs
			o.rec.Processed = p.processed
			if err := o.stackEvent(ctx, statusCreateComplete, ""); err != nil {
				o.s.log.Error("cloudformation: record stack status", "stack", o.rec.StackName, "err", err)
			}
			return
		}
		failErr = err
	}
	if ctx.Err() != nil {
		return // shutting down: the next start finishes the operation
	}
	var reason string
	if failedID != "" {
		reason = fmt.Sprintf("The following resource(s) failed to create: [%s]. ", failedID)
	} else {
		reason = o.reason(failErr)
	}
	o.failCreate(ctx, reason, "Rollback requested by user.", onFailure)
}

// failCreate ends a create that failed for reason as onFailure says: the stack
// stays (DO_NOTHING), is deleted (DELETE) or is rolled back, with rollbackNote
// added to the reason.
func (o *op) failCreate(ctx context.Context, reason, rollbackNote, onFailure string) {
	switch onFailure {
	case "DO_NOTHING":
		_ = o.stackEvent(ctx, statusCreateFailed, reason)
		return
	case "DELETE":
		_ = o.stackEvent(ctx, statusDeleteInProgress, reason)
		o.finishDelete(ctx)
		return
	}
	_ = o.stackEvent(ctx, statusRollbackInProgress, reason+rollbackNote)
	o.rollbackCreate(ctx)
}

// rollbackCreate deletes what a failed create made.
func (o *op) rollbackCreate(ctx context.Context) {
	if failed := o.deleteAll(ctx, o.rec.Order); len(failed) > 0 {
		_ = o.stackEvent(ctx, statusRollbackFailed, fmt.Sprintf("The following resource(s) failed to delete: [%s]. ", strings.Join(failed, ", ")))
		return
	}
	_ = o.stackEvent(ctx, statusRollbackComplete, "")
}

// runDelete deletes every resource of the stack.
func (o *op) runDelete(ctx context.Context) {
	o.finishDelete(ctx)
}

func (o *op) finishDelete(ctx context.Context) {
	if failed := o.deleteAll(ctx, o.rec.Order); len(failed) > 0 {
		sort.Strings(failed)
		_ = o.stackEvent(ctx, statusDeleteFailed, fmt.Sprintf("The following resource(s) failed to delete: [%s]. ", strings.Join(failed, ", ")))
		return
	}
	o.rec.Status, o.rec.StatusReason, o.rec.Operation = statusDeleteComplete, "", nil
	o.rec.DeletionTime = time.Now().UTC()
	// The name is free again, in the same transaction as the stack's last event
	// (a node stopping between the two would leave the name taken); the stack
	// stays describable by its id. Its change sets go with it.
	key, e := o.newEvent(o.rec.StackName, o.rec.StackID, "AWS::CloudFormation::Stack", statusDeleteComplete, "", nil)
	err := o.write(ctx, key, e, func(tx store.Tx) error {
		if err := store.PutRecord(tx, deletedPrefix+stackUUID(o.rec.StackID), o.rec); err != nil {
			return err
		}
		kvs, err := tx.List(changeSetPrefix + o.rec.StackName + "/")
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if err := tx.Delete(kv.Key); err != nil {
				return err
			}
		}
		return tx.Delete(stackPrefix + o.rec.StackName)
	})
	if err != nil && ctx.Err() == nil {
		o.s.log.Error("cloudformation: record stack deletion", "stack", o.rec.StackName, "err", err)
	}
}

// outputs resolves the template's Outputs (those whose condition holds).
func (o *op) outputs(p *plan) ([]outputValue, error) {
	names := make([]string, 0, len(p.tmpl.Outputs))
	for n := range p.tmpl.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []outputValue
	for _, n := range names {
		def := p.tmpl.Outputs[n]
		if c, ok := def["Condition"].(string); ok && !o.ev.conditions[c] {
			continue
		}
		v, err := o.ev.resolve(def["Value"])
		if err != nil {
			return nil, err
		}
		s, ok := stringOf(v)
		if !ok {
			if l, isList := v.([]any); isList {
				parts := make([]string, 0, len(l))
				for _, x := range l {
					p, _ := stringOf(x)
					parts = append(parts, p)
				}
				s = strings.Join(parts, ",")
			} else {
				return nil, validationError("Template format error: The Value of output %s must resolve to a string", n)
			}
		}
		ov := outputValue{Key: n, Value: s}
		ov.Description, _ = def["Description"].(string)
		if exp, ok := def["Export"].(map[string]any); ok {
			name, err := o.ev.resolve(exp["Name"])
			if err != nil {
				return nil, err
			}
			ov.ExportName, _ = stringOf(name)
		}
		out = append(out, ov)
	}
	return out, nil
}
