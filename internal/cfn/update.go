package cfn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// An update is a diff between the stack's resources and the new template:
// resources whose resolved properties are unchanged are not touched, changed ones
// are updated in place (or replaced, when the property needs it), new ones are
// created and removed ones deleted once everything else succeeded. A failure
// rolls every change back, so the previous stack keeps serving throughout.

// change is one resource's planned action, as a change set lists it.
type change struct {
	Action      string   `json:"action"` // Add, Modify, Remove
	LogicalID   string   `json:"logicalId"`
	PhysicalID  string   `json:"physicalId,omitempty"`
	Type        string   `json:"type"`
	Replacement string   `json:"replacement,omitempty"` // True, False, Conditional (Modify only)
	Scope       []string `json:"scope,omitempty"`
}

// updatable is a stack status an update may start from.
func updatable(status string) bool {
	switch status {
	case statusCreateComplete, statusUpdateComplete, statusUpdateRollbackDone:
		return true
	}
	return false
}

func cannotUpdate(rec *stackRecord) error {
	return validationError("Stack:%s is in %s state and can not be updated.", rec.StackID, rec.Status)
}

// cloneRecord deep-copies a stack record (the state an update rolls back to).
func cloneRecord(rec *stackRecord) *stackRecord {
	b, _ := json.Marshal(rec)
	var c stackRecord
	_ = json.Unmarshal(b, &c)
	if c.Resources == nil {
		c.Resources = map[string]*resourceRecord{}
	}
	c.Operation = nil
	return &c
}

// seed gives the evaluator the stack's current resources.
func seed(ev *evaluator, rec *stackRecord) {
	for id, r := range rec.Resources {
		if r.Status == statusDeleteComplete || r.PhysicalID == "" {
			continue
		}
		ev.resources[id] = &resourceState{PhysicalID: r.PhysicalID, Attrs: r.Attrs}
	}
}

// needsReplacement reports whether going from old to new properties replaces the
// resource.
func needsReplacement(prov *provisioner, old, new map[string]any) bool {
	if prov.update == nil {
		return true
	}
	for _, k := range prov.replaceOn {
		if !jsonEqual(old[k], new[k]) {
			return true
		}
	}
	return false
}

// diff plans the changes of p against rec without touching anything: resources
// that do not exist yet resolve to placeholders, so anything referring to them
// counts as modified.
func diff(p *plan, ev *evaluator, rec *stackRecord) ([]change, error) {
	dry := *ev
	dry.resources = map[string]*resourceState{}
	seed(&dry, rec)
	var changes []change
	for _, id := range p.order {
		def := p.tmpl.Resources[id]
		old := rec.Resources[id]
		if old == nil || old.Status == statusDeleteComplete || old.PhysicalID == "" {
			changes = append(changes, change{Action: "Add", LogicalID: id, Type: def.Type})
			dry.resources[id] = placeholder(id, def.Type)
			continue
		}
		if old.Type != def.Type {
			changes = append(changes, change{Action: "Modify", LogicalID: id, PhysicalID: old.PhysicalID, Type: def.Type, Replacement: "True", Scope: []string{"Properties"}})
			dry.resources[id] = placeholder(id, def.Type)
			continue
		}
		resolved, err := dry.resolve(def.Properties)
		if err != nil {
			// Resolution fails only for values not known before execution.
			changes = append(changes, change{Action: "Modify", LogicalID: id, PhysicalID: old.PhysicalID, Type: def.Type, Replacement: "Conditional", Scope: []string{"Properties"}})
			continue
		}
		props, _ := resolved.(map[string]any)
		if jsonEqual(props, old.Properties) {
			continue
		}
		repl := "False"
		if needsReplacement(provisioners[def.Type], old.Properties, props) {
			repl = "True"
			dry.resources[id] = placeholder(id, def.Type)
		}
		changes = append(changes, change{Action: "Modify", LogicalID: id, PhysicalID: old.PhysicalID, Type: def.Type, Replacement: repl, Scope: []string{"Properties"}})
	}
	var removed []string
	for id, r := range rec.Resources {
		if _, ok := p.tmpl.Resources[id]; ok && contains(p.order, id) {
			continue
		}
		if r.Status == statusDeleteComplete {
			continue
		}
		removed = append(removed, id)
	}
	sort.Strings(removed)
	for _, id := range removed {
		r := rec.Resources[id]
		changes = append(changes, change{Action: "Remove", LogicalID: id, PhysicalID: r.PhysicalID, Type: r.Type})
	}
	return changes, nil
}

func placeholder(id, typ string) *resourceState {
	st := &resourceState{PhysicalID: "{{pending:" + id + "}}", Attrs: map[string]any{}}
	if prov := provisioners[typ]; prov != nil {
		for _, a := range prov.attrs {
			st.Attrs[a] = "{{pending:" + id + "." + a + "}}"
		}
	}
	return st
}

// noChanges reports whether an update would change nothing: no resource change and
// the same outputs, parameters and template.
func noChanges(changes []change, p *plan, rec *stackRecord) bool {
	if len(changes) > 0 {
		return false
	}
	return jsonEqual(p.params, rec.Parameters) && p.processed == rec.Processed
}

// runUpdate applies p to the stack. The operation's Previous is the stack as it
// was, for rollback. Every step is recorded before it runs, so rollback and
// cleanup work from the record alone: after a failure here, or after the node
// stopped halfway (resume.go).
func (o *op) runUpdate(ctx context.Context, p *plan, disableRollback bool) {
	seed(o.ev, o.rec)
	var failedID string
	var failErr error
	for _, id := range p.order {
		def := p.tmpl.Resources[id]
		old := o.rec.Resources[id]
		if old == nil || old.Status == statusDeleteComplete || old.PhysicalID == "" {
			if old != nil {
				delete(o.rec.Resources, id)
				o.rec.Order = removeString(o.rec.Order, id)
			}
			if err := o.createResource(ctx, p, id); err != nil {
				failedID, failErr = id, err
				break
			}
			continue
		}
		resolved, err := o.ev.resolve(def.Properties)
		if err != nil {
			failedID, failErr = id, err
			_ = o.resourceEvent(ctx, old, statusUpdateFailed, o.reason(err))
			break
		}
		props, _ := resolved.(map[string]any)
		if old.Type == def.Type && jsonEqual(props, old.Properties) {
			continue
		}
		prov := provisioners[def.Type]
		previous := *old
		if old.Type != def.Type || needsReplacement(prov, old.Properties, props) {
			r := &resourceRecord{LogicalID: id, Type: def.Type, Properties: props, Retain: def.DeletionPolicy == "Retain",
				Suffix: randomSuffix(12)}
			o.rec.Resources[id] = r
			if err := o.resourceEvent(ctx, r, statusUpdateInProgress, "Requested update requires the creation of a new physical resource; hence creating one."); err != nil {
				failedID, failErr = id, err
				break
			}
			phys, attrs, err := prov.create(ctx, o.callFor(r, props))
			r.PhysicalID, r.Attrs = phys, attrs
			if err != nil {
				failedID, failErr = id, err
				_ = o.resourceEvent(ctx, r, statusUpdateFailed, o.reason(err))
				break
			}
			o.ev.resources[id] = &resourceState{PhysicalID: phys, Attrs: attrs}
			if err := o.resourceEvent(ctx, r, statusUpdateComplete, ""); err != nil {
				failedID, failErr = id, err
				break
			}
			continue
		}
		// The new properties are recorded before the call: an update cut short
		// may have been applied in part, and rolling back diffs against what was
		// asked for.
		old.Properties = props
		if err := o.resourceEvent(ctx, old, statusUpdateInProgress, ""); err != nil {
			failedID, failErr = id, err
			break
		}
		attrs, err := prov.update(ctx, o.call(id, props), &previous)
		if err != nil {
			failedID, failErr = id, err
			_ = o.resourceEvent(ctx, old, statusUpdateFailed, o.reason(err))
			break
		}
		old.Attrs = attrs
		o.ev.resources[id] = &resourceState{PhysicalID: old.PhysicalID, Attrs: attrs}
		if err := o.resourceEvent(ctx, old, statusUpdateComplete, ""); err != nil {
			failedID, failErr = id, err
			break
		}
	}
	var outs []outputValue
	if failErr == nil {
		outs, failErr = o.outputs(p)
	}
	if ctx.Err() != nil {
		return // shutting down: the next start finishes the operation
	}
	prev := o.rec.Operation.Previous
	if failErr == nil {
		o.rec.Outputs = outs
		o.rec.Processed, o.rec.Parameters = p.processed, p.params
		o.rec.Description = p.tmpl.Description
		o.rec.Operation.Detached = replaced(prev, o.rec)
		_ = o.stackEvent(ctx, statusUpdateCleanup, "")
		o.cleanupUpdate(ctx)
		return
	}
	reason := o.reason(failErr)
	if failedID != "" {
		reason = fmt.Sprintf("The following resource(s) failed to update: [%s]. ", failedID)
	}
	if disableRollback {
		_ = o.stackEvent(ctx, statusUpdateFailed, reason)
		return
	}
	_ = o.stackEvent(ctx, statusUpdateRollbackIP, reason)
	o.rollbackUpdate(ctx)
}

// replaced lists the physical resources of prev that cur no longer has: the old
// halves of replacements.
func replaced(prev, cur *stackRecord) []*resourceRecord {
	var out []*resourceRecord
	for i := len(prev.Order) - 1; i >= 0; i-- {
		was := prev.Resources[prev.Order[i]]
		now := cur.Resources[prev.Order[i]]
		if was == nil || was.PhysicalID == "" || now == nil || now.Type == was.Type && now.PhysicalID == was.PhysicalID {
			continue
		}
		out = append(out, was)
	}
	return out
}

// cleanupUpdate finishes a successful update: the replaced physical resources
// are deleted, then the resources the template no longer has.
func (o *op) cleanupUpdate(ctx context.Context) {
	o.deleteDetachedAll(ctx)
	keep := o.rec.Operation.Keep
	for i := len(o.rec.Order) - 1; i >= 0; i-- {
		id := o.rec.Order[i]
		if contains(keep, id) {
			continue
		}
		if r := o.rec.Resources[id]; r != nil {
			_ = o.deleteResource(ctx, r)
			delete(o.rec.Resources, id)
		}
	}
	if ctx.Err() != nil {
		return
	}
	o.rec.Order = append([]string{}, keep...)
	if err := o.stackEvent(ctx, statusUpdateComplete, ""); err != nil {
		o.s.log.Error("cloudformation: record stack status", "stack", o.rec.StackName, "err", err)
	}
}

// rollbackUpdate puts the stack back as the operation's Previous has it, last
// resource first: in-place updates are updated back to their previous
// properties, replacements get their previous physical resource back, and what
// the update created (new resources, replacements' new physical resources) is
// deleted in the cleanup. It works from the record alone, so running it again
// after it was cut short picks up where it stopped.
func (o *op) rollbackUpdate(ctx context.Context) {
	prev := o.rec.Operation.Previous
	failed := false
	for i := len(prev.Order) - 1; i >= 0; i-- {
		id := prev.Order[i]
		was, cur := prev.Resources[id], o.rec.Resources[id]
		if was == nil {
			continue
		}
		restored := *was
		switch {
		case cur == nil:
			o.rec.Resources[id] = &restored
		case jsonEqual(cur, was):
		case was.PhysicalID == "":
			// It never existed: what the update made in its place goes.
			o.rec.Operation.Detached = append(o.rec.Operation.Detached, cur)
			o.rec.Resources[id] = &restored
		case cur.Type != was.Type || cur.PhysicalID != was.PhysicalID:
			o.rec.Operation.Detached = append(o.rec.Operation.Detached, cur)
			o.rec.Resources[id] = &restored
			_ = o.resourceEvent(ctx, &restored, statusUpdateComplete, "")
		case !jsonEqual(cur.Properties, was.Properties):
			if err := o.resourceEvent(ctx, cur, statusUpdateInProgress, ""); err != nil {
				failed = true
				continue
			}
			if _, err := provisioners[cur.Type].update(ctx, o.call(id, was.Properties), cur); err != nil {
				failed = true
				_ = o.resourceEvent(ctx, cur, statusUpdateFailed, o.reason(err))
				continue
			}
			o.rec.Resources[id] = &restored
			_ = o.resourceEvent(ctx, &restored, statusUpdateComplete, "")
		}
	}
	if ctx.Err() != nil {
		return
	}
	// What the update added goes in the cleanup.
	for i := len(o.rec.Order) - 1; i >= 0; i-- {
		id := o.rec.Order[i]
		if r := o.rec.Resources[id]; r != nil && prev.Resources[id] == nil {
			o.rec.Operation.Detached = append(o.rec.Operation.Detached, r)
			delete(o.rec.Resources, id)
		}
	}
	o.rec.Order = append([]string{}, prev.Order...)
	// The stack keeps the template, parameters and outputs it had.
	o.rec.TemplateBody, o.rec.Processed, o.rec.Parameters = prev.TemplateBody, prev.Processed, prev.Parameters
	o.rec.Capabilities, o.rec.Tags, o.rec.Outputs = prev.Capabilities, prev.Tags, prev.Outputs
	if o.rec.Status != statusUpdateRollbackCl {
		_ = o.stackEvent(ctx, statusUpdateRollbackCl, "")
	}
	if !o.deleteDetachedAll(ctx) {
		failed = true
	}
	if ctx.Err() != nil {
		return
	}
	if failed {
		_ = o.stackEvent(ctx, statusUpdateRollbackFail, "")
		return
	}
	_ = o.stackEvent(ctx, statusUpdateRollbackDone, "")
}

// deleteDetachedAll deletes the operation's detached resources, each leaving the
// list with the event of its deletion; false if one failed.
func (o *op) deleteDetachedAll(ctx context.Context) bool {
	ok := true
	for _, r := range append([]*resourceRecord{}, o.rec.Operation.Detached...) {
		forget := func() {
			o.rec.Operation.Detached = slices.DeleteFunc(o.rec.Operation.Detached, func(x *resourceRecord) bool { return x == r })
		}
		if err := o.deleteDetached(ctx, r, forget); err != nil {
			ok = false
		}
	}
	return ok
}

// deleteDetached deletes a physical resource that is no longer the stack's (the
// old half of a replacement, or a new one being rolled back), reporting its
// events under its logical id. forget runs before the last event is recorded.
func (o *op) deleteDetached(ctx context.Context, r *resourceRecord, forget func()) error {
	t := o.deleteTarget(r)
	if r.Retain || t == nil {
		forget()
		return nil
	}
	if err := o.event(ctx, r.LogicalID, r.PhysicalID, r.Type, statusDeleteInProgress, "", nil); err != nil {
		return err
	}
	if err := provisioners[r.Type].delete(ctx, o.callFor(r, r.Properties), t); err != nil && !notFound(err) {
		_ = o.event(ctx, r.LogicalID, r.PhysicalID, r.Type, statusDeleteFailed, o.reason(err), nil)
		return err
	}
	forget()
	return o.event(ctx, r.LogicalID, r.PhysicalID, r.Type, statusDeleteComplete, "", nil)
}

func removeString(l []string, s string) []string {
	out := l[:0:0]
	for _, x := range l {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// startUpdate validates an update of rec to body and starts it.
func (s *Service) startUpdate(ctx context.Context, rec *stackRecord, p *plan, ev *evaluator, caps []string, tags map[string]string,
	body string, disableRollback bool) error {
	prev := cloneRecord(rec)
	rec.TemplateBody = body
	rec.Capabilities = caps
	if tags != nil {
		rec.Tags = tags
	}
	rec.LastUpdatedTime = time.Now().UTC()
	o := s.begin(rec, &stackOperation{Kind: "update", DisableRollback: disableRollback, Previous: prev,
		Keep: append([]string{}, p.order...)}, ev)
	if err := o.stackEvent(ctx, statusUpdateInProgress, "User Initiated"); err != nil {
		s.forget(rec.StackID)
		return err
	}
	s.runOp(o, func(ctx context.Context) { o.runUpdate(ctx, p, disableRollback) })
	return nil
}

// updateInput is what UpdateStack and CreateChangeSet read from a request.
func (s *Service) updatePlan(ctx context.Context, rec *stackRecord, body string, params parameterInput, caps []string) (*plan, *evaluator, error) {
	previous := map[string]string{}
	for _, p := range rec.Parameters {
		previous[p.Key] = p.Value
	}
	for k := range params.usePrevious {
		if _, ok := previous[k]; !ok {
			return nil, nil, validationError("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", k)
		}
	}
	return s.prepare(planInput{body: body, params: params.values, usePrevious: params.usePrevious, previous: previous,
		capabilities: caps, stackName: rec.StackName, stackID: rec.StackID})
}

// templateOrPrevious reads the template of an update: the request's, or the
// stack's current one with UsePreviousTemplate.
func (s *Service) templateOrPrevious(ctx context.Context, f map[string][]string, rec *stackRecord) (string, error) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("UsePreviousTemplate") == "true" {
		if get("TemplateBody") != "" || get("TemplateURL") != "" {
			return "", validationError("You cannot specify both usePreviousTemplate and Template Body/Template URL")
		}
		if rec == nil {
			return "", validationError("UsePreviousTemplate can not be used with a new stack")
		}
		return rec.TemplateBody, nil
	}
	return s.templateBody(ctx, f)
}

func (s *Service) updateStack(ctx context.Context, f map[string][]string) (any, error) {
	name := ""
	if v := f["StackName"]; len(v) > 0 {
		name = v[0]
	}
	if name == "" {
		return nil, validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	rec, err := s.loadStack(ctx, name)
	if err != nil {
		return nil, err
	}
	if rec.Status == statusDeleteComplete {
		return nil, stackMissing(name)
	}
	if !updatable(rec.Status) {
		return nil, cannotUpdate(rec)
	}
	body, err := s.templateOrPrevious(ctx, f, rec)
	if err != nil {
		return nil, err
	}
	caps := members(f, "Capabilities")
	p, ev, err := s.updatePlan(ctx, rec, body, parameters(f), caps)
	if err != nil {
		return nil, err
	}
	if err := p.checkCapabilities(caps); err != nil {
		return nil, err
	}
	changes, err := diff(p, ev, rec)
	if err != nil {
		return nil, err
	}
	if noChanges(changes, p, rec) {
		return nil, validationError("No updates are to be performed.")
	}
	var tg map[string]string
	if _, ok := f["Tags.member.1.Key"]; ok {
		tg = tags(f)
	}
	if err := s.startUpdate(ctx, rec, p, ev, caps, tg, body, strings.EqualFold(first(f, "DisableRollback"), "true")); err != nil {
		return nil, err
	}
	return struct {
		StackID string `xml:"StackId"`
	}{rec.StackID}, nil
}

func first(f map[string][]string, k string) string {
	if v := f[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
