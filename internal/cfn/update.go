package cfn

import (
	"context"
	"encoding/json"
	"fmt"
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

// runUpdate applies p to the stack. prev is the stack as it was, for rollback.
func (o *op) runUpdate(ctx context.Context, p *plan, prev *stackRecord, disableRollback bool) {
	seed(o.ev, o.rec)
	type applied struct {
		id       string
		kind     string // add, update, replace
		previous *resourceRecord
	}
	var done []applied
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
			done = append(done, applied{id: id, kind: "add"})
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
			r := &resourceRecord{LogicalID: id, Type: def.Type, Properties: props, Retain: def.DeletionPolicy == "Retain"}
			o.rec.Resources[id] = r
			done = append(done, applied{id: id, kind: "replace", previous: &previous})
			if err := o.resourceEvent(ctx, r, statusUpdateInProgress, "Requested update requires the creation of a new physical resource; hence creating one."); err != nil {
				failedID, failErr = id, err
				break
			}
			phys, attrs, err := prov.create(ctx, o.call(id, props))
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
		done = append(done, applied{id: id, kind: "update", previous: &previous})
		if err := o.resourceEvent(ctx, old, statusUpdateInProgress, ""); err != nil {
			failedID, failErr = id, err
			break
		}
		attrs, err := prov.update(ctx, o.call(id, props), &previous)
		if err != nil {
			// The update may have been applied in part: rolling back diffs
			// against what was asked for.
			old.Properties = props
			failedID, failErr = id, err
			_ = o.resourceEvent(ctx, old, statusUpdateFailed, o.reason(err))
			break
		}
		old.Properties, old.Attrs = props, attrs
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
	if failErr == nil {
		o.rec.Outputs = outs
		o.rec.Processed, o.rec.Parameters = p.processed, p.params
		o.rec.Description = p.tmpl.Description
		_ = o.stackEvent(ctx, statusUpdateCleanup, "")
		// Cleanup: replaced resources' old physical resources, then the resources
		// the template no longer has.
		for i := len(done) - 1; i >= 0; i-- {
			if d := done[i]; d.kind == "replace" {
				old := *d.previous
				_ = o.deleteDetached(ctx, &old)
			}
		}
		for i := len(o.rec.Order) - 1; i >= 0; i-- {
			id := o.rec.Order[i]
			if contains(p.order, id) {
				continue
			}
			if r := o.rec.Resources[id]; r != nil {
				_ = o.deleteResource(ctx, r)
				delete(o.rec.Resources, id)
			}
		}
		o.rec.Order = append([]string{}, p.order...)
		if err := o.stackEvent(ctx, statusUpdateComplete, ""); err != nil {
			o.s.log.Error("cloudformation: record stack status", "stack", o.rec.StackName, "err", err)
		}
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
	// Roll back in reverse: in-place updates are updated back to their previous
	// properties; replacements get their previous physical resource back.
	rollbackFailed := false
	o.ev.resources = map[string]*resourceState{}
	seed(o.ev, prev)
	var cleanup []*resourceRecord
	for i := len(done) - 1; i >= 0; i-- {
		d := done[i]
		cur := o.rec.Resources[d.id]
		switch d.kind {
		case "update":
			if err := o.resourceEvent(ctx, cur, statusUpdateInProgress, ""); err != nil {
				rollbackFailed = true
				continue
			}
			if _, err := provisioners[cur.Type].update(ctx, o.call(d.id, d.previous.Properties), cur); err != nil {
				rollbackFailed = true
				_ = o.resourceEvent(ctx, cur, statusUpdateFailed, o.reason(err))
				continue
			}
			restored := *d.previous
			o.rec.Resources[d.id] = &restored
			_ = o.resourceEvent(ctx, &restored, statusUpdateComplete, "")
		case "replace":
			if cur != nil && cur.PhysicalID != "" {
				cleanup = append(cleanup, cur)
			}
			restored := *d.previous
			o.rec.Resources[d.id] = &restored
			_ = o.resourceEvent(ctx, &restored, statusUpdateComplete, "")
		case "add":
			if cur != nil {
				cleanup = append(cleanup, cur)
			}
		}
	}
	_ = o.stackEvent(ctx, statusUpdateRollbackCl, "")
	for _, r := range cleanup {
		if err := o.deleteDetached(ctx, r); err != nil {
			rollbackFailed = true
		}
	}
	for _, d := range done {
		if d.kind == "add" {
			delete(o.rec.Resources, d.id)
			o.rec.Order = removeString(o.rec.Order, d.id)
		}
	}
	// The stack keeps the template, parameters and outputs it had.
	o.rec.TemplateBody, o.rec.Processed, o.rec.Parameters = prev.TemplateBody, prev.Processed, prev.Parameters
	o.rec.Capabilities, o.rec.Tags, o.rec.Outputs = prev.Capabilities, prev.Tags, prev.Outputs
	if rollbackFailed {
		_ = o.stackEvent(ctx, statusUpdateRollbackFail, "")
		return
	}
	_ = o.stackEvent(ctx, statusUpdateRollbackDone, "")
}

// deleteDetached deletes a physical resource that is no longer the stack's (the
// old half of a replacement, or a new one being rolled back), reporting its
// events under its logical id.
func (o *op) deleteDetached(ctx context.Context, r *resourceRecord) error {
	if r.Retain || r.PhysicalID == "" {
		return nil
	}
	ev := *r
	if err := o.event(ctx, ev.LogicalID, ev.PhysicalID, ev.Type, statusDeleteInProgress, "", nil); err != nil {
		return err
	}
	if err := provisioners[r.Type].delete(ctx, o.call(r.LogicalID, r.Properties), r); err != nil && !notFound(err) {
		_ = o.event(ctx, ev.LogicalID, ev.PhysicalID, ev.Type, statusDeleteFailed, o.reason(err), nil)
		return err
	}
	return o.event(ctx, ev.LogicalID, ev.PhysicalID, ev.Type, statusDeleteComplete, "", nil)
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
	o := &op{s: s, rec: rec, ev: ev, c: s.caller}
	if err := o.stackEvent(ctx, statusUpdateInProgress, "User Initiated"); err != nil {
		return err
	}
	s.run(func(ctx context.Context) { o.runUpdate(ctx, p, prev, disableRollback) })
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
