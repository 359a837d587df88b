package cfn

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// maxTemplateBody is CloudFormation's TemplateBody limit (51,200 bytes).
const maxTemplateBody = 51200

type action func(s *Service, ctx context.Context, f url.Values) (any, error)

var actions = map[string]action{
	"CreateStack":            (*Service).createStack,
	"DescribeStacks":         (*Service).describeStacks,
	"ListStacks":             (*Service).listStacks,
	"DeleteStack":            (*Service).deleteStack,
	"DescribeStackEvents":    (*Service).describeStackEvents,
	"ListStackResources":     (*Service).listStackResources,
	"DescribeStackResources": (*Service).describeStackResources,
	"DescribeStackResource":  (*Service).describeStackResource,
	"GetTemplate":            (*Service).getTemplate,
	"ValidateTemplate":       (*Service).validateTemplate,
	"GetTemplateSummary":     (*Service).getTemplateSummary,
	"UpdateStack":            func(s *Service, ctx context.Context, f url.Values) (any, error) { return s.updateStack(ctx, f) },
	"CreateChangeSet":        (*Service).createChangeSet,
	"DescribeChangeSet":      (*Service).describeChangeSet,
	"ExecuteChangeSet":       (*Service).executeChangeSet,
	"DeleteChangeSet":        (*Service).deleteChangeSet,
	"ListChangeSets":         (*Service).listChangeSets,
}

// ServeHTTP answers one CloudFormation Query-protocol request (POST / with a
// form-encoded Action).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		awsproto.WriteQueryXMLError(w, r, Namespace, awsproto.Errorf(400, "MalformedQueryString", "%v", err))
		return
	}
	name := r.Form.Get("Action")
	a, ok := actions[name]
	if !ok {
		if name == "" {
			awsproto.WriteQueryXMLError(w, r, Namespace, awsproto.Errorf(400, "MissingAction", "Missing Action"))
			return
		}
		awsproto.WriteQueryXMLError(w, r, Namespace, awsproto.Errorf(400, "InvalidAction",
			"The action %s is not valid for this web service.", name))
		return
	}
	result, err := a(s, r.Context(), r.Form)
	if err != nil {
		awsproto.WriteQueryXMLError(w, r, Namespace, err)
		return
	}
	awsproto.WriteQueryXML(w, r, Namespace, name, result)
}

func insufficientCapabilities(missing []string) error {
	return awsproto.Errorf(400, "InsufficientCapabilitiesException", "Requires capabilities : [%s]", strings.Join(missing, ", "))
}

// members reads a Query list: prefix.member.1, prefix.member.2, ...
func members(f url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := fmt.Sprintf("%s.member.%d", prefix, i)
		if _, ok := f[k]; !ok {
			return out
		}
		out = append(out, f.Get(k))
	}
}

type parameterInput struct {
	values      map[string]string
	usePrevious map[string]bool
}

func parameters(f url.Values) parameterInput {
	in := parameterInput{values: map[string]string{}, usePrevious: map[string]bool{}}
	for i := 1; ; i++ {
		p := fmt.Sprintf("Parameters.member.%d.", i)
		key, ok := f[p+"ParameterKey"]
		if !ok {
			return in
		}
		if f.Get(p+"UsePreviousValue") == "true" {
			in.usePrevious[key[0]] = true
			continue
		}
		in.values[key[0]] = f.Get(p + "ParameterValue")
	}
}

func tags(f url.Values) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := fmt.Sprintf("Tags.member.%d.", i)
		k, ok := f[p+"Key"]
		if !ok {
			return out
		}
		out[k[0]] = f.Get(p + "Value")
	}
}

var stackNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

func checkStackName(name string) error {
	if name == "" {
		return validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	if len(name) > 128 || !stackNamePattern.MatchString(name) {
		return validationError("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name)
	}
	return nil
}

// templateBody reads TemplateBody, or TemplateURL when it names an object in
// Sluice's own S3 (what `aws cloudformation deploy --s3-bucket` uploads).
func (s *Service) templateBody(ctx context.Context, f url.Values) (string, error) {
	body, hasBody := f["TemplateBody"]
	u := f.Get("TemplateURL")
	switch {
	case hasBody && u != "":
		return "", validationError("Specify exactly one of TemplateBody or TemplateUrl.")
	case hasBody:
		if len(body[0]) > maxTemplateBody {
			return "", validationError("1 validation error detected: Value '%s' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to %d", "...", maxTemplateBody)
		}
		return body[0], nil
	case u != "":
		return s.fetchTemplate(ctx, u)
	}
	return "", validationError("Either Template URL or Template Body must be specified.")
}

// fetchTemplate reads a TemplateURL from Sluice's object store: path-style
// (https://host/bucket/key) or virtual-hosted (https://bucket.s3....amazonaws.com/key).
func (s *Service) fetchTemplate(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", validationError("TemplateURL must be a supported URL.")
	}
	path := u.EscapedPath()
	host := u.Hostname()
	if i := strings.Index(host, ".s3"); i > 0 && strings.HasSuffix(host, ".amazonaws.com") {
		path = "/" + host[:i] + path
	}
	res, err := s.caller.do(ctx, request{service: "s3", display: "S3", method: http.MethodGet, path: path})
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return "", validationError("S3 error: %s", ae.Message)
		}
		return "", err
	}
	return string(res.Body), nil
}

func stackARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", region, account, name, uuid.NewString())
}

func (s *Service) createStack(ctx context.Context, f url.Values) (any, error) {
	name := f.Get("StackName")
	if err := checkStackName(name); err != nil {
		return nil, err
	}
	body, err := s.templateBody(ctx, f)
	if err != nil {
		return nil, err
	}
	onFailure := f.Get("OnFailure")
	if f.Get("DisableRollback") == "true" {
		if onFailure != "" {
			return nil, validationError("You cannot specify both DisableRollback and OnFailure.")
		}
		onFailure = "DO_NOTHING"
	}
	switch onFailure {
	case "", "ROLLBACK", "DELETE", "DO_NOTHING":
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]", onFailure)
	}
	if _, err := s.loadStack(ctx, name); err == nil {
		return nil, awsproto.Errorf(400, "AlreadyExistsException", "Stack [%s] already exists", name)
	} else if _, public := awsproto.Public(err); !public {
		return nil, err
	}
	id := stackARN(s.region, s.account, name)
	pin := parameters(f)
	p, ev, err := s.prepare(planInput{body: body, params: pin.values, usePrevious: pin.usePrevious, capabilities: members(f, "Capabilities"),
		stackName: name, stackID: id})
	if err != nil {
		return nil, err
	}
	caps := members(f, "Capabilities")
	if err := p.checkCapabilities(caps); err != nil {
		return nil, err
	}
	rec := &stackRecord{StackID: id, StackName: name, Description: p.tmpl.Description, CreationTime: time.Now().UTC(),
		TemplateBody: body, Processed: p.processed, Parameters: p.params, Capabilities: caps, Tags: tags(f),
		DisableRollback: onFailure == "DO_NOTHING", Resources: map[string]*resourceRecord{}}
	o := s.begin(rec, &stackOperation{Kind: "create", OnFailure: onFailure}, ev)
	// The name is claimed in one transaction, so two CreateStack calls for one
	// name cannot both succeed.
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(stackPrefix + name); err == nil {
			return awsproto.Errorf(400, "AlreadyExistsException", "Stack [%s] already exists", name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		rec.Status, rec.StatusReason = statusCreateInProgress, "User Initiated"
		return store.PutRecord(tx, stackPrefix+name, rec)
	})
	if err != nil {
		s.forget(id)
		return nil, err
	}
	if err := o.stackEvent(ctx, statusCreateInProgress, "User Initiated"); err != nil {
		s.forget(id)
		return nil, err
	}
	s.runOp(o, func(ctx context.Context) { o.runCreate(ctx, p, onFailure) })
	return struct {
		StackID string `xml:"StackId"`
	}{id}, nil
}

func (s *Service) deleteStack(ctx context.Context, f url.Values) (any, error) {
	name := f.Get("StackName")
	if name == "" {
		return nil, validationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	rec, err := s.loadStack(ctx, name)
	if err != nil {
		// Deleting a stack that does not exist succeeds, as on AWS.
		if ae, ok := awsproto.Public(err); ok && ae.Code == "ValidationError" {
			return nil, nil
		}
		return nil, err
	}
	if rec.Status == statusDeleteComplete {
		return nil, nil
	}
	if inProgress(rec.Status) {
		if rec.Status == statusDeleteInProgress {
			return nil, nil
		}
		return nil, validationError("Stack [%s] cannot be deleted while in status %s", rec.StackName, rec.Status)
	}
	retain := members(f, "RetainResources")
	for _, id := range retain {
		if r, ok := rec.Resources[id]; ok {
			if rec.Status != statusDeleteFailed {
				return nil, validationError("Invalid operation on stack %s: RetainResources can only be specified when the stack is in the DELETE_FAILED state", rec.StackName)
			}
			r.Retain = true
		}
	}
	o := s.begin(rec, &stackOperation{Kind: "delete"}, nil)
	if err := o.stackEvent(ctx, statusDeleteInProgress, "User Initiated"); err != nil {
		s.forget(rec.StackID)
		return nil, err
	}
	s.runOp(o, o.runDelete)
	return nil, nil
}

// XML shapes of the CloudFormation API.

type xmlParameter struct {
	ParameterKey   string `xml:"ParameterKey"`
	ParameterValue string `xml:"ParameterValue"`
}

type xmlOutput struct {
	OutputKey   string `xml:"OutputKey"`
	OutputValue string `xml:"OutputValue"`
	Description string `xml:"Description,omitempty"`
	ExportName  string `xml:"ExportName,omitempty"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlStack struct {
	StackID                     string         `xml:"StackId"`
	StackName                   string         `xml:"StackName"`
	Description                 string         `xml:"Description,omitempty"`
	Parameters                  []xmlParameter `xml:"Parameters>member"`
	CreationTime                string         `xml:"CreationTime"`
	DeletionTime                string         `xml:"DeletionTime,omitempty"`
	LastUpdatedTime             string         `xml:"LastUpdatedTime,omitempty"`
	StackStatus                 string         `xml:"StackStatus"`
	StackStatusReason           string         `xml:"StackStatusReason,omitempty"`
	DisableRollback             bool           `xml:"DisableRollback"`
	NotificationARNs            struct{}       `xml:"NotificationARNs"`
	Capabilities                []string       `xml:"Capabilities>member"`
	Outputs                     []xmlOutput    `xml:"Outputs>member"`
	Tags                        []xmlTag       `xml:"Tags>member"`
	EnableTerminationProtection bool           `xml:"EnableTerminationProtection"`
	DriftInformation            struct {
		StackDriftStatus string `xml:"StackDriftStatus"`
	} `xml:"DriftInformation"`
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func stackXML(rec *stackRecord) xmlStack {
	x := xmlStack{StackID: rec.StackID, StackName: rec.StackName, Description: rec.Description, CreationTime: isoTime(rec.CreationTime),
		DeletionTime: isoTime(rec.DeletionTime), LastUpdatedTime: isoTime(rec.LastUpdatedTime), StackStatus: rec.Status,
		StackStatusReason: rec.StatusReason, DisableRollback: rec.DisableRollback, Capabilities: rec.Capabilities}
	x.DriftInformation.StackDriftStatus = "NOT_CHECKED"
	for _, p := range rec.Parameters {
		v := p.Value
		if p.NoEcho {
			v = "****"
		}
		x.Parameters = append(x.Parameters, xmlParameter{p.Key, v})
	}
	for _, o := range rec.Outputs {
		x.Outputs = append(x.Outputs, xmlOutput{o.Key, o.Value, o.Description, o.ExportName})
	}
	keys := make([]string, 0, len(rec.Tags))
	for k := range rec.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		x.Tags = append(x.Tags, xmlTag{k, rec.Tags[k]})
	}
	return x
}

func (s *Service) describeStacks(ctx context.Context, f url.Values) (any, error) {
	var recs []*stackRecord
	if name := f.Get("StackName"); name != "" {
		rec, err := s.loadStack(ctx, name)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	} else {
		all, err := store.ListRecords[stackRecord](store.ReaderOf(ctx, s.store), stackPrefix)
		if err != nil {
			return nil, err
		}
		recs = all
	}
	out := struct {
		Stacks []xmlStack `xml:"Stacks>member"`
	}{Stacks: []xmlStack{}}
	for _, rec := range recs {
		out.Stacks = append(out.Stacks, stackXML(rec))
	}
	return out, nil
}

func (s *Service) listStacks(ctx context.Context, f url.Values) (any, error) {
	rd := store.ReaderOf(ctx, s.store)
	live, err := store.ListRecords[stackRecord](rd, stackPrefix)
	if err != nil {
		return nil, err
	}
	deleted, err := store.ListRecords[stackRecord](rd, deletedPrefix)
	if err != nil {
		return nil, err
	}
	filter := members(f, "StackStatusFilter")
	type summary struct {
		StackID             string `xml:"StackId"`
		StackName           string `xml:"StackName"`
		TemplateDescription string `xml:"TemplateDescription,omitempty"`
		CreationTime        string `xml:"CreationTime"`
		LastUpdatedTime     string `xml:"LastUpdatedTime,omitempty"`
		DeletionTime        string `xml:"DeletionTime,omitempty"`
		StackStatus         string `xml:"StackStatus"`
		StackStatusReason   string `xml:"StackStatusReason,omitempty"`
		DriftInformation    struct {
			StackDriftStatus string `xml:"StackDriftStatus"`
		} `xml:"DriftInformation"`
	}
	out := struct {
		StackSummaries []summary `xml:"StackSummaries>member"`
	}{StackSummaries: []summary{}}
	for _, rec := range append(live, deleted...) {
		if len(filter) > 0 && !contains(filter, rec.Status) {
			continue
		}
		sm := summary{StackID: rec.StackID, StackName: rec.StackName, TemplateDescription: rec.Description,
			CreationTime: isoTime(rec.CreationTime), LastUpdatedTime: isoTime(rec.LastUpdatedTime), DeletionTime: isoTime(rec.DeletionTime),
			StackStatus: rec.Status, StackStatusReason: rec.StatusReason}
		sm.DriftInformation.StackDriftStatus = "NOT_CHECKED"
		out.StackSummaries = append(out.StackSummaries, sm)
	}
	return out, nil
}

type xmlEvent struct {
	StackID              string `xml:"StackId"`
	EventID              string `xml:"EventId"`
	StackName            string `xml:"StackName"`
	LogicalResourceID    string `xml:"LogicalResourceId"`
	PhysicalResourceID   string `xml:"PhysicalResourceId"`
	ResourceType         string `xml:"ResourceType"`
	Timestamp            string `xml:"Timestamp"`
	ResourceStatus       string `xml:"ResourceStatus"`
	ResourceStatusReason string `xml:"ResourceStatusReason,omitempty"`
	ResourceProperties   string `xml:"ResourceProperties,omitempty"`
}

func (s *Service) describeStackEvents(ctx context.Context, f url.Values) (any, error) {
	rec, err := s.loadStack(ctx, f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	evs, err := store.ListRecords[eventRecord](store.ReaderOf(ctx, s.store), eventPrefix+stackUUID(rec.StackID)+"/")
	if err != nil {
		return nil, err
	}
	out := struct {
		StackEvents []xmlEvent `xml:"StackEvents>member"`
	}{StackEvents: []xmlEvent{}}
	// Newest first, as CloudFormation lists them.
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		out.StackEvents = append(out.StackEvents, xmlEvent{e.StackID, e.EventID, e.StackName, e.LogicalID, e.PhysicalID, e.Type,
			isoTime(e.Timestamp), e.Status, e.Reason, e.PropertiesJS})
	}
	return out, nil
}

// stackResources lists a stack's resources in creation order, without the ones
// already deleted by an update.
func stackResources(rec *stackRecord) []*resourceRecord {
	var out []*resourceRecord
	for _, id := range rec.Order {
		if r := rec.Resources[id]; r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out
}

type xmlDrift struct {
	StackResourceDriftStatus string `xml:"StackResourceDriftStatus"`
}

func (s *Service) listStackResources(ctx context.Context, f url.Values) (any, error) {
	rec, err := s.loadStack(ctx, f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	type summary struct {
		LogicalResourceID    string   `xml:"LogicalResourceId"`
		PhysicalResourceID   string   `xml:"PhysicalResourceId,omitempty"`
		ResourceType         string   `xml:"ResourceType"`
		LastUpdatedTimestamp string   `xml:"LastUpdatedTimestamp"`
		ResourceStatus       string   `xml:"ResourceStatus"`
		ResourceStatusReason string   `xml:"ResourceStatusReason,omitempty"`
		DriftInformation     xmlDrift `xml:"DriftInformation"`
	}
	out := struct {
		Summaries []summary `xml:"StackResourceSummaries>member"`
	}{Summaries: []summary{}}
	for _, r := range stackResources(rec) {
		out.Summaries = append(out.Summaries, summary{r.LogicalID, r.PhysicalID, r.Type, isoTime(r.Updated), r.Status, r.Reason,
			xmlDrift{"NOT_CHECKED"}})
	}
	return out, nil
}

type xmlStackResource struct {
	StackName            string   `xml:"StackName"`
	StackID              string   `xml:"StackId"`
	LogicalResourceID    string   `xml:"LogicalResourceId"`
	PhysicalResourceID   string   `xml:"PhysicalResourceId,omitempty"`
	ResourceType         string   `xml:"ResourceType"`
	Timestamp            string   `xml:"Timestamp,omitempty"`
	LastUpdatedTimestamp string   `xml:"LastUpdatedTimestamp,omitempty"`
	ResourceStatus       string   `xml:"ResourceStatus"`
	ResourceStatusReason string   `xml:"ResourceStatusReason,omitempty"`
	DriftInformation     xmlDrift `xml:"DriftInformation"`
}

func (s *Service) describeStackResources(ctx context.Context, f url.Values) (any, error) {
	name, physical := f.Get("StackName"), f.Get("PhysicalResourceId")
	if name == "" && physical == "" {
		return nil, validationError("Either StackName or PhysicalResourceId must be specified.")
	}
	var rec *stackRecord
	if name != "" {
		r, err := s.loadStack(ctx, name)
		if err != nil {
			return nil, err
		}
		rec = r
	} else {
		all, err := store.ListRecords[stackRecord](store.ReaderOf(ctx, s.store), stackPrefix)
		if err != nil {
			return nil, err
		}
		for _, st := range all {
			for _, r := range st.Resources {
				if r.PhysicalID == physical {
					rec = st
				}
			}
		}
		if rec == nil {
			return nil, validationError("Stack for %s does not exist", physical)
		}
	}
	logical := f.Get("LogicalResourceId")
	out := struct {
		Resources []xmlStackResource `xml:"StackResources>member"`
	}{Resources: []xmlStackResource{}}
	for _, r := range stackResources(rec) {
		if logical != "" && r.LogicalID != logical || physical != "" && r.PhysicalID != physical {
			continue
		}
		out.Resources = append(out.Resources, xmlStackResource{StackName: rec.StackName, StackID: rec.StackID, LogicalResourceID: r.LogicalID,
			PhysicalResourceID: r.PhysicalID, ResourceType: r.Type, Timestamp: isoTime(r.Updated), ResourceStatus: r.Status,
			ResourceStatusReason: r.Reason, DriftInformation: xmlDrift{"NOT_CHECKED"}})
	}
	return out, nil
}

func (s *Service) describeStackResource(ctx context.Context, f url.Values) (any, error) {
	rec, err := s.loadStack(ctx, f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	logical := f.Get("LogicalResourceId")
	r := rec.Resources[logical]
	if r == nil {
		return nil, validationError("Resource %s does not exist for stack %s", logical, rec.StackName)
	}
	type detail struct {
		xmlStackResource
		Metadata string `xml:"Metadata,omitempty"`
	}
	x := xmlStackResource{StackName: rec.StackName, StackID: rec.StackID, LogicalResourceID: r.LogicalID, PhysicalResourceID: r.PhysicalID,
		ResourceType: r.Type, LastUpdatedTimestamp: isoTime(r.Updated), ResourceStatus: r.Status, ResourceStatusReason: r.Reason,
		DriftInformation: xmlDrift{"NOT_CHECKED"}}
	return struct {
		Detail detail `xml:"StackResourceDetail"`
	}{detail{xmlStackResource: x}}, nil
}

func (s *Service) getTemplate(ctx context.Context, f url.Values) (any, error) {
	if cs := f.Get("ChangeSetName"); cs != "" {
		return nil, validationError("GetTemplate with ChangeSetName is not supported by Sluice yet")
	}
	rec, err := s.loadStack(ctx, f.Get("StackName"))
	if err != nil {
		return nil, err
	}
	body := rec.TemplateBody
	switch f.Get("TemplateStage") {
	case "", "Original":
	case "Processed":
		if rec.Processed != "" {
			body = rec.Processed
		}
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]", f.Get("TemplateStage"))
	}
	return struct {
		TemplateBody    string   `xml:"TemplateBody"`
		StagesAvailable []string `xml:"StagesAvailable>member"`
	}{body, []string{"Original", "Processed"}}, nil
}

func (s *Service) validateTemplate(ctx context.Context, f url.Values) (any, error) {
	body, err := s.templateBody(ctx, f)
	if err != nil {
		return nil, err
	}
	t, err := parseTemplate(body)
	if err != nil {
		return nil, err
	}
	type param struct {
		ParameterKey string `xml:"ParameterKey"`
		DefaultValue string `xml:"DefaultValue,omitempty"`
		NoEcho       bool   `xml:"NoEcho"`
		Description  string `xml:"Description,omitempty"`
	}
	out := struct {
		Parameters         []param  `xml:"Parameters>member"`
		Description        string   `xml:"Description,omitempty"`
		Capabilities       []string `xml:"Capabilities>member"`
		CapabilitiesReason string   `xml:"CapabilitiesReason,omitempty"`
		DeclaredTransforms []string `xml:"DeclaredTransforms>member"`
	}{Parameters: []param{}, Description: t.Description, DeclaredTransforms: t.Transform}
	names := make([]string, 0, len(t.Parameters))
	for n := range t.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := t.Parameters[n]
		x := param{ParameterKey: n}
		if v, ok := d["Default"]; ok {
			x.DefaultValue, _ = stringOf(v)
		}
		x.Description, _ = d["Description"].(string)
		if b, ok := d["NoEcho"].(bool); ok {
			x.NoEcho = b
		} else if s, ok := d["NoEcho"].(string); ok {
			x.NoEcho, _ = strconv.ParseBool(s)
		}
		out.Parameters = append(out.Parameters, x)
	}
	// The rest of the checks (types, references, transform) run as for a stack,
	// with placeholder parameter values where the template has no default.
	vals := map[string]string{}
	for _, n := range names {
		if _, ok := t.Parameters[n]["Default"]; !ok {
			vals[n] = placeholderParam(t.Parameters[n])
		}
	}
	p, _, err := s.prepare(planInput{body: body, params: vals, stackName: "validate", stackID: stackARN(s.region, s.account, "validate")})
	if err != nil {
		return nil, err
	}
	for _, c := range p.capabilities {
		if c != "CAPABILITY_AUTO_EXPAND" {
			out.Capabilities = append(out.Capabilities, c)
		}
	}
	if len(out.Capabilities) > 0 {
		out.CapabilitiesReason = capabilitiesReason(p.iamTypes())
	}
	return out, nil
}

func (s *Service) getTemplateSummary(ctx context.Context, f url.Values) (any, error) {
	var body string
	if name := f.Get("StackName"); name != "" {
		if f.Get("TemplateBody") != "" || f.Get("TemplateURL") != "" {
			return nil, validationError("Specify exactly one of TemplateBody, TemplateURL or StackName.")
		}
		rec, err := s.loadStack(ctx, name)
		if err != nil {
			return nil, err
		}
		body = rec.TemplateBody
	} else {
		b, err := s.templateBody(ctx, f)
		if err != nil {
			return nil, err
		}
		body = b
	}
	t, err := parseTemplate(body)
	if err != nil {
		return nil, err
	}
	type param struct {
		ParameterKey         string `xml:"ParameterKey"`
		DefaultValue         string `xml:"DefaultValue,omitempty"`
		ParameterType        string `xml:"ParameterType"`
		NoEcho               bool   `xml:"NoEcho"`
		Description          string `xml:"Description,omitempty"`
		ParameterConstraints struct {
			AllowedValues []string `xml:"AllowedValues>member"`
		} `xml:"ParameterConstraints"`
	}
	out := struct {
		Parameters         []param  `xml:"Parameters>member"`
		Description        string   `xml:"Description,omitempty"`
		Capabilities       []string `xml:"Capabilities>member"`
		CapabilitiesReason string   `xml:"CapabilitiesReason,omitempty"`
		ResourceTypes      []string `xml:"ResourceTypes>member"`
		Version            string   `xml:"Version"`
		DeclaredTransforms []string `xml:"DeclaredTransforms>member"`
	}{Parameters: []param{}, Description: t.Description, Version: "2010-09-09", DeclaredTransforms: t.Transform}
	names := make([]string, 0, len(t.Parameters))
	for n := range t.Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := t.Parameters[n]
		x := param{ParameterKey: n}
		x.ParameterType, _ = d["Type"].(string)
		if v, ok := d["Default"]; ok {
			x.DefaultValue, _ = stringOf(v)
		}
		x.Description, _ = d["Description"].(string)
		x.NoEcho, _ = d["NoEcho"].(bool)
		if l, ok := d["AllowedValues"].([]any); ok {
			for _, a := range l {
				v, _ := stringOf(a)
				x.ParameterConstraints.AllowedValues = append(x.ParameterConstraints.AllowedValues, v)
			}
		}
		out.Parameters = append(out.Parameters, x)
	}
	seen := map[string]bool{}
	var iam []string // types needing a capability; a SAM function without Role gets an AWS::IAM::Role
	for _, r := range t.Resources {
		if !seen[r.Type] {
			seen[r.Type] = true
			out.ResourceTypes = append(out.ResourceTypes, r.Type)
		}
		need, typ := iamCapability(r), r.Type
		if need == "" && r.Type == "AWS::Serverless::Function" && r.Properties["Role"] == nil {
			need, typ = "CAPABILITY_IAM", "AWS::IAM::Role"
		}
		if need != "" {
			iam = append(iam, typ)
			if !contains(out.Capabilities, need) {
				out.Capabilities = append(out.Capabilities, need)
			}
		}
	}
	sort.Strings(out.ResourceTypes)
	if len(t.Transform) > 0 {
		out.Capabilities = append(out.Capabilities, "CAPABILITY_AUTO_EXPAND")
	}
	if len(iam) > 0 {
		out.CapabilitiesReason = capabilitiesReason(iam)
	}
	return out, nil
}

func placeholderParam(def map[string]any) string {
	if l, ok := def["AllowedValues"].([]any); ok && len(l) > 0 {
		s, _ := stringOf(l[0])
		return s
	}
	if def["Type"] == "Number" {
		return "0"
	}
	return "placeholder"
}

// importValue resolves Fn::ImportValue against the exports of live stacks.
func (s *Service) importValue(name string) (string, bool) {
	all, err := store.ListRecords[stackRecord](store.ReaderOf(context.Background(), s.store), stackPrefix)
	if err != nil {
		return "", false
	}
	for _, rec := range all {
		for _, o := range rec.Outputs {
			if o.ExportName == name {
				return o.Value, true
			}
		}
	}
	return "", false
}

var _ = xml.Name{}
