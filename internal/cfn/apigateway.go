package cfn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// AWS::ApiGateway::* (REST APIs), created through Sluice's own API Gateway REST
// control plane (/restapis, /apikeys, /usageplans) with the requests the AWS CLI
// sends. Properties map to the API's camelCase members through field tables;
// updates are the PATCH operations of the properties that changed, or a
// replacement where CloudFormation replaces (identities, names, key values).

const apigwService, apigwDisplay = "apigateway", "ApiGateway"

func apigw(ctx context.Context, r *resourceCall, method, path string, body, out any) error {
	return r.c.json(ctx, apigwService, apigwDisplay, method, path, body, out)
}

// patchOp is one of API Gateway's JSON-patch operations.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
}

func apigwPatch(ctx context.Context, r *resourceCall, path string, ops []patchOp) error {
	if len(ops) == 0 {
		return nil
	}
	return apigw(ctx, r, http.MethodPatch, path, map[string]any{"patchOperations": ops}, nil)
}

// pointer escapes a JSON-pointer segment (API Gateway's "~1" for "/").
func pointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// fieldKind is how a CloudFormation property becomes an API member.
type fieldKind int

const (
	kStr     fieldKind = iota
	kInt               // integer (strings of digits accepted, as CloudFormation does)
	kFloat             // number
	kBool              // boolean ("true"/"false" accepted)
	kStrList           // list of strings
	kStrMap            // object of strings
	kBoolMap           // object of booleans (method request/response parameters)
	kDoc               // JSON document given as an object or a string (policies)
)

// field maps one CloudFormation property to an API member.
type field struct {
	cfn, api string
	kind     fieldKind
}

func fieldNames(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.cfn
	}
	return out
}

// apiValue reads one property as its API member's type; ok is false when it is
// absent.
func (p props) apiValue(f field) (any, bool, error) {
	v, present := p.m[f.cfn]
	if !present || v == nil {
		return nil, false, nil
	}
	switch f.kind {
	case kStr:
		s, err := p.str(f.cfn)
		return s, true, err
	case kInt:
		n, err := p.int(f.cfn)
		if err != nil {
			return nil, false, err
		}
		return *n, true, nil
	case kFloat:
		switch x := v.(type) {
		case float64:
			return x, true, nil
		case string:
			if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return n, true, nil
			}
		}
		return nil, false, p.fail("#/%s: expected type: Number, found: %s", f.cfn, schemaKind(v))
	case kBool:
		b, err := p.bool(f.cfn)
		if err != nil {
			return nil, false, err
		}
		return *b, true, nil
	case kStrList:
		l, err := p.strList(f.cfn)
		return l, true, err
	case kStrMap:
		m, err := p.object(f.cfn)
		if err != nil {
			return nil, false, err
		}
		sm, err := p.stringMap(f.cfn, m)
		return sm, true, err
	case kBoolMap:
		m, err := p.object(f.cfn)
		if err != nil {
			return nil, false, err
		}
		out := make(map[string]bool, len(m))
		for k := range m {
			b, err := p.sub(f.cfn, m).bool(k)
			if err != nil {
				return nil, false, err
			}
			if b != nil {
				out[k] = *b
			}
		}
		return out, true, nil
	case kDoc:
		doc, err := policyDocument(v)
		return doc, true, err
	}
	return nil, false, fmt.Errorf("field %s: unknown kind", f.cfn)
}

// apiBody maps the properties named in fs to a request body.
func (p props) apiBody(fs []field) (map[string]any, error) {
	body := map[string]any{}
	for _, f := range fs {
		v, ok, err := p.apiValue(f)
		if err != nil {
			return nil, err
		}
		if ok {
			body[f.api] = v
		}
	}
	return body, nil
}

// objects reads a list of objects (MethodResponses, ApiStages, ...).
func (p props) objects(name string) ([]props, error) {
	l, err := p.array(name)
	if err != nil || l == nil {
		return nil, err
	}
	out := make([]props, 0, len(l))
	for i, x := range l {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, p.fail("#/%s/%d: expected type: JSONObject, found: %s", name, i, schemaKind(x))
		}
		out = append(out, p.sub(fmt.Sprintf("%s/%d", name, i), m))
	}
	return out, nil
}

// subObject reads a nested object property; absent is an empty one.
func (p props) subObject(name string) (props, bool, error) {
	m, err := p.object(name)
	if err != nil || m == nil {
		return p.sub(name, map[string]any{}), false, err
	}
	return p.sub(name, m), true, nil
}

func oldProps(r *resourceCall, rec *resourceRecord) props {
	return props{logicalID: r.logicalID, m: rec.Properties}
}

// syncTags moves an API Gateway resource's tags from the old properties' to the
// new ones' (TagResource / UntagResource on its ARN).
func syncTags(ctx context.Context, r *resourceCall, arn string, old props) error {
	want, err := r.props.tagList("Tags")
	if err != nil {
		return err
	}
	had, _ := old.tagList("Tags")
	remove := removedTags(had, want)
	path := "/tags/" + url.PathEscape(arn)
	if len(remove) > 0 {
		if _, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete, path: path,
			query: url.Values{"tagKeys": remove}}); err != nil {
			return err
		}
	}
	if len(want) > 0 && !jsonEqual(want, had) {
		return apigw(ctx, r, http.MethodPut, path, map[string]any{"tags": want}, nil)
	}
	return nil
}

func (r *resourceCall) apigwARN(path string) string {
	return "arn:aws:apigateway:" + r.region + "::" + path
}

// RestApi.

var restAPIFields = []field{
	{"Name", "name", kStr}, {"Description", "description", kStr}, {"Policy", "policy", kDoc},
	{"ApiKeySourceType", "apiKeySource", kStr}, {"BinaryMediaTypes", "binaryMediaTypes", kStrList},
	{"MinimumCompressionSize", "minimumCompressionSize", kInt}, {"DisableExecuteApiEndpoint", "disableExecuteApiEndpoint", kBool},
}

var restAPIProps = append(fieldNames(restAPIFields), "Body", "EndpointConfiguration", "Tags", "Parameters", "FailOnWarnings", "Mode")

// restAPIState is the part of GetRestApi's answer the properties set.
type restAPIState struct {
	ID                        string   `json:"id"`
	RootResourceID            string   `json:"rootResourceId"`
	Name                      string   `json:"name"`
	Description               string   `json:"description"`
	Policy                    string   `json:"policy"`
	APIKeySource              string   `json:"apiKeySource"`
	BinaryMediaTypes          []string `json:"binaryMediaTypes"`
	MinimumCompressionSize    *int     `json:"minimumCompressionSize"`
	DisableExecuteAPIEndpoint bool     `json:"disableExecuteApiEndpoint"`
	EndpointConfiguration     *struct {
		Types          []string `json:"types"`
		VpcEndpointIDs []string `json:"vpcEndpointIds"`
	} `json:"endpointConfiguration"`
}

func endpointConfiguration(p props) (map[string]any, error) {
	ec, ok, err := p.subObject("EndpointConfiguration")
	if err != nil || !ok {
		return nil, err
	}
	if err := ec.check([]string{"Types", "VpcEndpointIds"}, nil, []string{"IpAddressType"}); err != nil {
		return nil, err
	}
	return ec.apiBody([]field{{"Types", "types", kStrList}, {"VpcEndpointIds", "vpcEndpointIds", kStrList}})
}

var restAPI = &provisioner{
	attrs: []string{"RestApiId", "RootResourceId"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(restAPIProps, nil, []string{"BodyS3Location", "CloneFrom"}); err != nil {
			return "", nil, err
		}
		var st restAPIState
		if _, ok := p.m["Body"]; ok {
			if err := importRestAPI(ctx, r, "", &st); err != nil {
				return "", nil, err
			}
			attrs := map[string]any{"RestApiId": st.ID, "RootResourceId": st.RootResourceID}
			if err := patchRestAPI(ctx, r, props{m: map[string]any{}}, &st); err != nil {
				return st.ID, attrs, err
			}
			return st.ID, attrs, syncTags(ctx, r, r.apigwARN("/restapis/"+st.ID), props{})
		}
		if !p.has("Name") {
			return "", nil, p.fail("#: required key [Name] not found (or a Body)")
		}
		body, err := p.apiBody(restAPIFields)
		if err != nil {
			return "", nil, err
		}
		ec, err := endpointConfiguration(p)
		if err != nil {
			return "", nil, err
		}
		if ec != nil {
			body["endpointConfiguration"] = ec
		}
		if err := p.addTags(body); err != nil {
			return "", nil, err
		}
		if err := apigw(ctx, r, http.MethodPost, "/restapis", body, &st); err != nil {
			return "", nil, err
		}
		return st.ID, map[string]any{"RestApiId": st.ID, "RootResourceId": st.RootResourceID}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check(restAPIProps, nil, []string{"BodyS3Location", "CloneFrom"}); err != nil {
			return nil, err
		}
		id := old.PhysicalID
		var st restAPIState
		if _, ok := p.m["Body"]; ok {
			if err := importRestAPI(ctx, r, id, &st); err != nil {
				return nil, err
			}
		} else if err := apigw(ctx, r, http.MethodGet, "/restapis/"+url.PathEscape(id), nil, &st); err != nil {
			return nil, err
		}
		if err := patchRestAPI(ctx, r, oldProps(r, old), &st); err != nil {
			return nil, err
		}
		return old.Attrs, syncTags(ctx, r, r.apigwARN("/restapis/"+id), oldProps(r, old))
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/restapis/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// importRestAPI creates (id "") or overwrites (PutRestApi, Mode default
// overwrite) a REST API from Body, with Parameters, FailOnWarnings and the
// EndpointConfiguration's type as the import's query parameters.
func importRestAPI(ctx context.Context, r *resourceCall, id string, out *restAPIState) error {
	p := r.props
	doc, err := policyDocument(p.m["Body"])
	if err != nil {
		return err
	}
	q := url.Values{}
	params, err := p.object("Parameters")
	if err != nil {
		return err
	}
	sm, err := p.stringMap("Parameters", params)
	if err != nil {
		return err
	}
	for k, v := range sm {
		q.Set(k, v)
	}
	if fw, err := p.bool("FailOnWarnings"); err != nil {
		return err
	} else if fw != nil && *fw {
		q.Set("failonwarnings", "true")
	}
	ec, err := endpointConfiguration(p)
	if err != nil {
		return err
	}
	if types, ok := ec["types"].([]string); ok && len(types) > 0 && id == "" {
		q.Set("endpointConfigurationTypes", types[0])
	}
	rq := request{service: apigwService, display: apigwDisplay, method: http.MethodPost, path: "/restapis", query: q,
		contentType: "application/json", body: []byte(doc)}
	if id == "" {
		q.Set("mode", "import")
	} else {
		mode, err := p.str("Mode")
		if err != nil {
			return err
		}
		if mode == "" {
			mode = "overwrite"
		}
		q.Set("mode", mode)
		rq.method, rq.path = http.MethodPut, "/restapis/"+url.PathEscape(id)
	}
	res, err := r.c.do(ctx, rq)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return fmt.Errorf("decode ImportRestApi: %w", err)
	}
	return nil
}

// patchRestAPI brings the API's settings to the properties: a property that is
// set is applied when the API differs; one that was set before and is now gone
// goes back to API Gateway's default. (With a Body, unset properties keep what
// the document says.)
func patchRestAPI(ctx context.Context, r *resourceCall, old props, st *restAPIState) error {
	p := r.props
	var ops []patchOp
	cur := map[string]string{"name": st.Name, "description": st.Description, "policy": st.Policy, "apiKeySource": st.APIKeySource,
		"disableExecuteApiEndpoint": strconv.FormatBool(st.DisableExecuteAPIEndpoint)}
	defaults := map[string]string{"description": "", "policy": "", "apiKeySource": "HEADER", "disableExecuteApiEndpoint": "false"}
	if st.MinimumCompressionSize != nil {
		cur["minimumCompressionSize"] = strconv.Itoa(*st.MinimumCompressionSize)
	} else {
		cur["minimumCompressionSize"] = ""
	}
	defaults["minimumCompressionSize"] = ""
	for _, f := range restAPIFields {
		if f.kind == kStrList {
			continue
		}
		v, ok, err := p.apiValue(f)
		if err != nil {
			return err
		}
		var want string
		switch {
		case ok:
			want = fmt.Sprint(v)
		case old.has(f.cfn):
			d, has := defaults[f.api]
			if !has {
				continue
			}
			want = d
		default:
			continue
		}
		if want != cur[f.api] {
			ops = append(ops, patchOp{Op: "replace", Path: "/" + f.api, Value: want})
		}
	}
	if p.has("BinaryMediaTypes") || old.has("BinaryMediaTypes") {
		want, err := p.strList("BinaryMediaTypes")
		if err != nil {
			return err
		}
		for _, t := range st.BinaryMediaTypes {
			if !contains(want, t) {
				ops = append(ops, patchOp{Op: "remove", Path: "/binaryMediaTypes/" + pointer(t)})
			}
		}
		for _, t := range want {
			if !contains(st.BinaryMediaTypes, t) {
				ops = append(ops, patchOp{Op: "add", Path: "/binaryMediaTypes/" + pointer(t)})
			}
		}
	}
	ec, err := endpointConfiguration(p)
	if err != nil {
		return err
	}
	if ec != nil && st.EndpointConfiguration != nil {
		if types, _ := ec["types"].([]string); len(types) == 1 && !jsonEqual(types, st.EndpointConfiguration.Types) {
			ops = append(ops, patchOp{Op: "replace", Path: "/endpointConfiguration/types/0", Value: types[0]})
		}
		want, _ := ec["vpcEndpointIds"].([]string)
		for _, v := range st.EndpointConfiguration.VpcEndpointIDs {
			if !contains(want, v) {
				ops = append(ops, patchOp{Op: "remove", Path: "/endpointConfiguration/vpcEndpointIds", Value: v})
			}
		}
		for _, v := range want {
			if !contains(st.EndpointConfiguration.VpcEndpointIDs, v) {
				ops = append(ops, patchOp{Op: "add", Path: "/endpointConfiguration/vpcEndpointIds", Value: v})
			}
		}
	}
	return apigwPatch(ctx, r, "/restapis/"+url.PathEscape(st.ID), ops)
}

// Resource: every change replaces it, as CloudFormation does.

var restResource = &provisioner{
	attrs: []string{"ResourceId"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(nil, []string{"ParentId", "PathPart", "RestApiId"}, nil); err != nil {
			return "", nil, err
		}
		api, _ := p.str("RestApiId")
		parent, _ := p.str("ParentId")
		part, err := p.str("PathPart")
		if err != nil {
			return "", nil, err
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/restapis/"+url.PathEscape(api)+"/resources/"+url.PathEscape(parent),
			map[string]any{"pathPart": part}, &out); err != nil {
			return "", nil, err
		}
		return out.ID, map[string]any{"ResourceId": out.ID}, nil
	},
	delete: deleteAPIChild("resources"),
}

// Method: its identity is (RestApiId, ResourceId, HttpMethod), the physical id
// "api|resource|METHOD" as CloudFormation's registry writes it. Other changes
// put the method again (PutMethod, PutIntegration and the responses).

var methodFields = []field{
	{"AuthorizationType", "authorizationType", kStr}, {"AuthorizerId", "authorizerId", kStr}, {"ApiKeyRequired", "apiKeyRequired", kBool},
	{"OperationName", "operationName", kStr}, {"RequestParameters", "requestParameters", kBoolMap}, {"RequestModels", "requestModels", kStrMap},
	{"RequestValidatorId", "requestValidatorId", kStr}, {"AuthorizationScopes", "authorizationScopes", kStrList},
}

var integrationFields = []field{
	{"Type", "type", kStr}, {"IntegrationHttpMethod", "httpMethod", kStr}, {"Uri", "uri", kStr}, {"Credentials", "credentials", kStr},
	{"RequestParameters", "requestParameters", kStrMap}, {"RequestTemplates", "requestTemplates", kStrMap},
	{"PassthroughBehavior", "passthroughBehavior", kStr}, {"ContentHandling", "contentHandling", kStr},
	{"TimeoutInMillis", "timeoutInMillis", kInt}, {"CacheKeyParameters", "cacheKeyParameters", kStrList},
	{"CacheNamespace", "cacheNamespace", kStr}, {"ConnectionType", "connectionType", kStr}, {"ConnectionId", "connectionId", kStr},
}

var integrationResponseFields = []field{
	{"SelectionPattern", "selectionPattern", kStr}, {"ResponseParameters", "responseParameters", kStrMap},
	{"ResponseTemplates", "responseTemplates", kStrMap}, {"ContentHandling", "contentHandling", kStr},
}

var methodResponseFields = []field{{"ResponseParameters", "responseParameters", kBoolMap}, {"ResponseModels", "responseModels", kStrMap}}

// methodCalls is a method as the API calls that put it.
type methodCalls struct {
	base        string // /restapis/{api}/resources/{res}/methods/{VERB}
	method      map[string]any
	responses   map[string]map[string]any // status code -> PutMethodResponse
	integration map[string]any            // nil: none
	intResps    map[string]map[string]any // status code -> PutIntegrationResponse
}

func methodInput(p props) (*methodCalls, string, error) {
	if err := p.check(append(fieldNames(methodFields), "Integration", "MethodResponses"), []string{"HttpMethod", "ResourceId", "RestApiId"}, nil); err != nil {
		return nil, "", err
	}
	api, _ := p.str("RestApiId")
	res, _ := p.str("ResourceId")
	verb, err := p.str("HttpMethod")
	if err != nil {
		return nil, "", err
	}
	verb = strings.ToUpper(verb)
	mc := &methodCalls{base: "/restapis/" + url.PathEscape(api) + "/resources/" + url.PathEscape(res) + "/methods/" + url.PathEscape(verb),
		responses: map[string]map[string]any{}, intResps: map[string]map[string]any{}}
	if mc.method, err = p.apiBody(methodFields); err != nil {
		return nil, "", err
	}
	if _, ok := mc.method["authorizationType"]; !ok {
		mc.method["authorizationType"] = "NONE"
	}
	mrs, err := p.objects("MethodResponses")
	if err != nil {
		return nil, "", err
	}
	if err := byStatusCode(mrs, methodResponseFields, mc.responses); err != nil {
		return nil, "", err
	}
	integ, ok, err := p.subObject("Integration")
	if err != nil {
		return nil, "", err
	}
	if ok {
		if err := integ.check(append(fieldNames(integrationFields), "IntegrationResponses"), []string{"Type"}, nil); err != nil {
			return nil, "", err
		}
		if mc.integration, err = integ.apiBody(integrationFields); err != nil {
			return nil, "", err
		}
		irs, err := integ.objects("IntegrationResponses")
		if err != nil {
			return nil, "", err
		}
		if err := byStatusCode(irs, integrationResponseFields, mc.intResps); err != nil {
			return nil, "", err
		}
	}
	return mc, api + "|" + res + "|" + verb, nil
}

// byStatusCode converts method or integration responses (each with a StatusCode)
// into API Gateway request bodies, keyed by status code, into out.
func byStatusCode(list []props, fields []field, out map[string]map[string]any) error {
	for _, x := range list {
		if err := x.check(fieldNames(fields), []string{"StatusCode"}, nil); err != nil {
			return err
		}
		code, err := x.str("StatusCode")
		if err != nil {
			return err
		}
		if out[code], err = x.apiBody(fields); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func putMethod(ctx context.Context, r *resourceCall, mc *methodCalls) error {
	if err := apigw(ctx, r, http.MethodPut, mc.base, mc.method, nil); err != nil {
		return err
	}
	for _, code := range sortedKeys(mc.responses) {
		if err := apigw(ctx, r, http.MethodPut, mc.base+"/responses/"+url.PathEscape(code), mc.responses[code], nil); err != nil {
			return err
		}
	}
	if mc.integration == nil {
		return nil
	}
	if err := apigw(ctx, r, http.MethodPut, mc.base+"/integration", mc.integration, nil); err != nil {
		return err
	}
	for _, code := range sortedKeys(mc.intResps) {
		if err := apigw(ctx, r, http.MethodPut, mc.base+"/integration/responses/"+url.PathEscape(code), mc.intResps[code], nil); err != nil {
			return err
		}
	}
	return nil
}

var restMethod = &provisioner{
	replaceOn: []string{"RestApiId", "ResourceId", "HttpMethod"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		mc, id, err := methodInput(r.props)
		if err != nil {
			return "", nil, err
		}
		if err := putMethod(ctx, r, mc); err != nil {
			if _, ok := err.(*apiError); ok {
				// What was put of it goes with the failure, as a rollback expects.
				_, _ = r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete, path: mc.base})
			}
			return "", nil, err
		}
		return id, map[string]any{}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		mc, _, err := methodInput(r.props)
		if err != nil {
			return nil, err
		}
		if _, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete, path: mc.base}); err != nil && !notFound(err) {
			return nil, err
		}
		return old.Attrs, putMethod(ctx, r, mc)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		parts := strings.Split(rec.PhysicalID, "|")
		if len(parts) != 3 {
			return nil
		}
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/restapis/" + url.PathEscape(parts[0]) + "/resources/" + url.PathEscape(parts[1]) + "/methods/" + url.PathEscape(parts[2])})
		return err
	},
}

// Deployment: a new Description is patched; any other change is a new
// deployment (SAM changes the logical id instead). With StageName the deployment
// creates or moves that stage, and deleting it deletes the stage while the
// stage still serves it (nothing else could delete the deployment).

var stageDescriptionFields = []field{
	{"Description", "stageDescription", kStr}, {"Variables", "variables", kStrMap}, {"TracingEnabled", "tracingEnabled", kBool},
	{"CacheClusterEnabled", "cacheClusterEnabled", kBool}, {"CacheClusterSize", "cacheClusterSize", kStr},
}

var restDeployment = &provisioner{
	attrs:     []string{"DeploymentId"},
	replaceOn: []string{"RestApiId", "StageName", "StageDescription"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check([]string{"Description", "StageName", "StageDescription"}, []string{"RestApiId"},
			[]string{"DeploymentCanarySettings"}); err != nil {
			return "", nil, err
		}
		api, _ := p.str("RestApiId")
		body, err := p.apiBody([]field{{"Description", "description", kStr}, {"StageName", "stageName", kStr}})
		if err != nil {
			return "", nil, err
		}
		sd, ok, err := p.subObject("StageDescription")
		if err != nil {
			return "", nil, err
		}
		if ok {
			if _, named := body["stageName"]; !named {
				return "", nil, p.fail("#: StageDescription needs StageName")
			}
			if err := sd.check(fieldNames(stageDescriptionFields), nil, []string{"AccessLogSetting", "CacheDataEncrypted",
				"CacheTtlInSeconds", "CachingEnabled", "CanarySetting", "ClientCertificateId", "DataTraceEnabled", "DocumentationVersion",
				"LoggingLevel", "MethodSettings", "MetricsEnabled", "Tags", "ThrottlingBurstLimit", "ThrottlingRateLimit"}); err != nil {
				return "", nil, err
			}
			extra, err := sd.apiBody(stageDescriptionFields)
			if err != nil {
				return "", nil, err
			}
			for k, v := range extra {
				body[k] = v
			}
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/restapis/"+url.PathEscape(api)+"/deployments", body, &out); err != nil {
			return "", nil, err
		}
		return out.ID, map[string]any{"DeploymentId": out.ID}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		api, _ := r.props.str("RestApiId")
		desc, err := r.props.str("Description")
		if err != nil {
			return nil, err
		}
		return old.Attrs, apigwPatch(ctx, r, "/restapis/"+url.PathEscape(api)+"/deployments/"+url.PathEscape(old.PhysicalID),
			[]patchOp{{Op: "replace", Path: "/description", Value: desc}})
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		api, _ := stringOf(rec.Properties["RestApiId"])
		base := "/restapis/" + url.PathEscape(api)
		if stage, _ := stringOf(rec.Properties["StageName"]); stage != "" {
			var st struct {
				DeploymentID string `json:"deploymentId"`
			}
			err := apigw(ctx, r, http.MethodGet, base+"/stages/"+url.PathEscape(stage), nil, &st)
			if err == nil && st.DeploymentID == rec.PhysicalID {
				if _, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
					path: base + "/stages/" + url.PathEscape(stage)}); err != nil && !notFound(err) {
					return err
				}
			}
		}
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: base + "/deployments/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// Stage.

var stageFields = []field{
	{"DeploymentId", "deploymentId", kStr}, {"Description", "description", kStr}, {"Variables", "variables", kStrMap},
	{"TracingEnabled", "tracingEnabled", kBool}, {"CacheClusterEnabled", "cacheClusterEnabled", kBool},
	{"CacheClusterSize", "cacheClusterSize", kStr}, {"DocumentationVersion", "documentationVersion", kStr},
}

var stageProps = append(fieldNames(stageFields), "StageName", "ClientCertificateId", "MethodSettings", "AccessLogSetting", "Tags")

// methodSettingPaths are a MethodSettings entry's properties as UpdateStage's
// "/{resourcePath}/{httpMethod}/{setting}" paths.
var methodSettingPaths = []field{
	{"MetricsEnabled", "metrics/enabled", kBool}, {"DataTraceEnabled", "logging/dataTrace", kBool}, {"LoggingLevel", "logging/loglevel", kStr},
	{"ThrottlingBurstLimit", "throttling/burstLimit", kInt}, {"ThrottlingRateLimit", "throttling/rateLimit", kFloat},
	{"CachingEnabled", "caching/enabled", kBool}, {"CacheTtlInSeconds", "caching/ttlInSeconds", kInt},
	{"CacheDataEncrypted", "caching/dataEncrypted", kBool},
}

// stageSettings are a stage's method settings and access log setting as patch
// operations, keyed by path (values as strings).
func stageSettings(p props) (map[string]string, error) {
	out := map[string]string{}
	ms, err := p.objects("MethodSettings")
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := m.check(append(fieldNames(methodSettingPaths), "HttpMethod", "ResourcePath"), nil, nil); err != nil {
			return nil, err
		}
		rp, err := m.str("ResourcePath")
		if err != nil {
			return nil, err
		}
		verb, err := m.str("HttpMethod")
		if err != nil {
			return nil, err
		}
		if rp == "" {
			rp = "/*"
		}
		if verb == "" {
			verb = "*"
		}
		if rp == "/" {
			rp = "/~1"
		}
		if !strings.HasPrefix(rp, "/") {
			rp = "/" + rp
		}
		for _, f := range methodSettingPaths {
			v, ok, err := m.apiValue(f)
			if err != nil {
				return nil, err
			}
			if ok {
				out[rp+"/"+strings.ToUpper(verb)+"/"+f.api] = fmt.Sprint(v)
			}
		}
	}
	als, ok, err := p.subObject("AccessLogSetting")
	if err != nil {
		return nil, err
	}
	if ok {
		if err := als.check([]string{"DestinationArn", "Format"}, nil, nil); err != nil {
			return nil, err
		}
		for _, k := range []string{"DestinationArn", "Format"} {
			s, err := als.str(k)
			if err != nil {
				return nil, err
			}
			if s != "" {
				out["/accessLogSettings/"+lowerFirst(k)] = s
			}
		}
	}
	if cc, err := p.str("ClientCertificateId"); err != nil {
		return nil, err
	} else if cc != "" {
		out["/clientCertificateId"] = cc
	}
	return out, nil
}

// settingOps moves a stage's settings from had to want.
func settingOps(had, want map[string]string) []patchOp {
	var ops []patchOp
	removedLog := false
	for _, k := range sortedKeys(had) {
		if _, ok := want[k]; ok {
			continue
		}
		switch {
		case strings.HasPrefix(k, "/accessLogSettings/"):
			if !removedLog && want["/accessLogSettings/destinationArn"] == "" {
				ops = append(ops, patchOp{Op: "remove", Path: "/accessLogSettings"})
				removedLog = true
			}
		case k == "/clientCertificateId":
			ops = append(ops, patchOp{Op: "replace", Path: k, Value: ""})
		default:
			// "/{resourcePath}/{httpMethod}/{category}/{setting}": the method's
			// settings go as a whole, then what remains wanted is put back.
			i := strings.LastIndex(k, "/")
			i = strings.LastIndex(k[:i], "/")
			ops = append(ops, patchOp{Op: "remove", Path: k[:i]})
		}
	}
	ops = dedupeOps(ops)
	removed := map[string]bool{}
	for _, op := range ops {
		removed[op.Path] = true
	}
	for _, k := range sortedKeys(want) {
		i := strings.LastIndex(k, "/")
		j := strings.LastIndex(k[:max(i, 0)], "/")
		methodRemoved := j > 0 && removed[k[:j]]
		if had[k] != want[k] || methodRemoved {
			ops = append(ops, patchOp{Op: "replace", Path: k, Value: want[k]})
		}
	}
	return ops
}

func dedupeOps(ops []patchOp) []patchOp {
	var out []patchOp
	seen := map[patchOp]bool{}
	for _, op := range ops {
		if !seen[op] {
			seen[op] = true
			out = append(out, op)
		}
	}
	return out
}

var restStage = &provisioner{
	replaceOn: []string{"RestApiId", "StageName"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(stageProps, []string{"RestApiId"}, []string{"CanarySetting"}); err != nil {
			return "", nil, err
		}
		api, _ := p.str("RestApiId")
		body, err := p.apiBody(stageFields)
		if err != nil {
			return "", nil, err
		}
		name, err := p.str("StageName")
		if err != nil {
			return "", nil, err
		}
		if name == "" {
			name = physicalName(r.stackName, r.logicalID, 128, false)
		}
		body["stageName"] = name
		if err := p.addTags(body); err != nil {
			return "", nil, err
		}
		settings, err := stageSettings(p)
		if err != nil {
			return "", nil, err
		}
		base := "/restapis/" + url.PathEscape(api) + "/stages"
		if err := apigw(ctx, r, http.MethodPost, base, body, nil); err != nil {
			return "", nil, err
		}
		return name, map[string]any{}, apigwPatch(ctx, r, base+"/"+url.PathEscape(name), settingOps(nil, settings))
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check(stageProps, []string{"RestApiId"}, []string{"CanarySetting"}); err != nil {
			return nil, err
		}
		op := oldProps(r, old)
		api, _ := p.str("RestApiId")
		var ops []patchOp
		for _, f := range stageFields {
			if f.kind == kStrMap {
				continue
			}
			v, ok, err := p.apiValue(f)
			if err != nil {
				return nil, err
			}
			was, _, _ := op.apiValue(f)
			if jsonEqual(v, was) {
				continue
			}
			want := ""
			if ok {
				want = fmt.Sprint(v)
			} else if f.kind == kBool {
				want = "false"
			}
			ops = append(ops, patchOp{Op: "replace", Path: "/" + f.api, Value: want})
		}
		vars, _, err := p.apiValue(stageFields[2])
		if err != nil {
			return nil, err
		}
		oldVars, _, _ := op.apiValue(stageFields[2])
		want, _ := vars.(map[string]string)
		had, _ := oldVars.(map[string]string)
		for _, k := range sortedKeys(had) {
			if _, ok := want[k]; !ok {
				ops = append(ops, patchOp{Op: "remove", Path: "/variables/" + pointer(k)})
			}
		}
		for _, k := range sortedKeys(want) {
			if v, ok := had[k]; !ok || v != want[k] {
				ops = append(ops, patchOp{Op: "replace", Path: "/variables/" + pointer(k), Value: want[k]})
			}
		}
		settings, err := stageSettings(p)
		if err != nil {
			return nil, err
		}
		hadSettings, _ := stageSettings(op)
		ops = append(ops, settingOps(hadSettings, settings)...)
		path := "/restapis/" + url.PathEscape(api) + "/stages/" + url.PathEscape(old.PhysicalID)
		if err := apigwPatch(ctx, r, path, ops); err != nil {
			return nil, err
		}
		return old.Attrs, syncTags(ctx, r, r.apigwARN(path), op)
	},
	delete: deleteAPIChild("stages"),
}

// Authorizer.

var authorizerFields = []field{
	{"Name", "name", kStr}, {"Type", "type", kStr}, {"AuthorizerUri", "authorizerUri", kStr},
	{"AuthorizerCredentials", "authorizerCredentials", kStr}, {"IdentitySource", "identitySource", kStr},
	{"IdentityValidationExpression", "identityValidationExpression", kStr},
	{"AuthorizerResultTtlInSeconds", "authorizerResultTtlInSeconds", kInt}, {"AuthType", "authType", kStr},
	{"ProviderARNs", "providerARNs", kStrList},
}

var restAuthorizer = &provisioner{
	attrs:     []string{"AuthorizerId"},
	replaceOn: []string{"RestApiId"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(fieldNames(authorizerFields), []string{"RestApiId", "Name", "Type"}, nil); err != nil {
			return "", nil, err
		}
		api, _ := p.str("RestApiId")
		body, err := p.apiBody(authorizerFields)
		if err != nil {
			return "", nil, err
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/restapis/"+url.PathEscape(api)+"/authorizers", body, &out); err != nil {
			return "", nil, err
		}
		return out.ID, map[string]any{"AuthorizerId": out.ID}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check(fieldNames(authorizerFields), []string{"RestApiId", "Name", "Type"}, nil); err != nil {
			return nil, err
		}
		op := oldProps(r, old)
		api, _ := p.str("RestApiId")
		var ops []patchOp
		for _, f := range authorizerFields {
			v, _, err := p.apiValue(f)
			if err != nil {
				return nil, err
			}
			was, _, _ := op.apiValue(f)
			if jsonEqual(v, was) {
				continue
			}
			if f.kind == kStrList {
				want, _ := v.([]string)
				had, _ := was.([]string)
				for _, a := range had {
					if !contains(want, a) {
						ops = append(ops, patchOp{Op: "remove", Path: "/" + f.api, Value: a})
					}
				}
				for _, a := range want {
					if !contains(had, a) {
						ops = append(ops, patchOp{Op: "add", Path: "/" + f.api, Value: a})
					}
				}
				continue
			}
			s := ""
			if v != nil {
				s = fmt.Sprint(v)
			} else if f.kind == kInt {
				s = "300" // API Gateway's default TTL
			}
			ops = append(ops, patchOp{Op: "replace", Path: "/" + f.api, Value: s})
		}
		return old.Attrs, apigwPatch(ctx, r, "/restapis/"+url.PathEscape(api)+"/authorizers/"+url.PathEscape(old.PhysicalID), ops)
	},
	delete: deleteAPIChild("authorizers"),
}

// ApiKey: a new Name or Value is a new key, as CloudFormation replaces it.

var apiKeyFields = []field{
	{"Name", "name", kStr}, {"Description", "description", kStr}, {"Enabled", "enabled", kBool}, {"Value", "value", kStr},
	{"CustomerId", "customerId", kStr},
}

// stageKeys reads StageKeys as the "restApiId/stageName" values UpdateApiKey's
// /stages takes.
func stageKeys(p props) ([]string, error) {
	items, err := p.objects("StageKeys")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sk := range items {
		if err := sk.check([]string{"RestApiId", "StageName"}, nil, nil); err != nil {
			return nil, err
		}
		api, err := sk.str("RestApiId")
		if err != nil {
			return nil, err
		}
		stage, err := sk.str("StageName")
		if err != nil {
			return nil, err
		}
		out = append(out, api+"/"+stage)
	}
	return out, nil
}

var apiKeyProps = append(fieldNames(apiKeyFields), "GenerateDistinctId", "StageKeys", "Tags")

var restAPIKey = &provisioner{
	attrs:     []string{"APIKeyId"},
	replaceOn: []string{"Name", "Value", "GenerateDistinctId"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(apiKeyProps, nil, nil); err != nil {
			return "", nil, err
		}
		// GenerateDistinctId is deprecated on AWS and has no effect: every key
		// is distinct.
		if _, err := p.bool("GenerateDistinctId"); err != nil {
			return "", nil, err
		}
		body, err := p.apiBody(apiKeyFields)
		if err != nil {
			return "", nil, err
		}
		if _, ok := body["name"]; !ok {
			body["name"] = physicalName(r.stackName, r.logicalID, 128, false)
		}
		sks, err := stageKeys(p)
		if err != nil {
			return "", nil, err
		}
		var list []map[string]string
		for _, sk := range sks {
			api, stage, _ := strings.Cut(sk, "/")
			list = append(list, map[string]string{"restApiId": api, "stageName": stage})
		}
		if list != nil {
			body["stageKeys"] = list
		}
		if err := p.addTags(body); err != nil {
			return "", nil, err
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/apikeys", body, &out); err != nil {
			return "", nil, err
		}
		return out.ID, map[string]any{"APIKeyId": out.ID}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check(apiKeyProps, nil, nil); err != nil {
			return nil, err
		}
		op := oldProps(r, old)
		var ops []patchOp
		for _, f := range apiKeyFields[1:] {
			if f.cfn == "Value" {
				continue
			}
			v, _, err := p.apiValue(f)
			if err != nil {
				return nil, err
			}
			was, _, _ := op.apiValue(f)
			if jsonEqual(v, was) {
				continue
			}
			s := ""
			if v != nil {
				s = fmt.Sprint(v)
			} else if f.kind == kBool {
				s = "false"
			}
			ops = append(ops, patchOp{Op: "replace", Path: "/" + f.api, Value: s})
		}
		want, err := stageKeys(p)
		if err != nil {
			return nil, err
		}
		had, _ := stageKeys(op)
		for _, sk := range had {
			if !contains(want, sk) {
				ops = append(ops, patchOp{Op: "remove", Path: "/stages", Value: sk})
			}
		}
		for _, sk := range want {
			if !contains(had, sk) {
				ops = append(ops, patchOp{Op: "add", Path: "/stages", Value: sk})
			}
		}
		if err := apigwPatch(ctx, r, "/apikeys/"+url.PathEscape(old.PhysicalID), ops); err != nil {
			return nil, err
		}
		return old.Attrs, syncTags(ctx, r, r.apigwARN("/apikeys/"+old.PhysicalID), op)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/apikeys/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// UsagePlan.

type usagePlanInput struct {
	name, description string
	stages            map[string]map[string]any // "apiId:stage" -> per-method throttles ("/path/VERB" -> settings)
	throttle, quota   map[string]any
}

var throttleFields = []field{{"BurstLimit", "burstLimit", kInt}, {"RateLimit", "rateLimit", kFloat}}

func usagePlanFrom(r *resourceCall, p props, generate bool) (*usagePlanInput, error) {
	if err := p.check([]string{"UsagePlanName", "Description", "ApiStages", "Throttle", "Quota", "Tags"}, nil, nil); err != nil {
		return nil, err
	}
	in := &usagePlanInput{stages: map[string]map[string]any{}}
	var err error
	if in.name, err = p.str("UsagePlanName"); err != nil {
		return nil, err
	}
	if in.name == "" && generate {
		in.name = physicalName(r.stackName, r.logicalID, 128, false)
	}
	if in.description, err = p.str("Description"); err != nil {
		return nil, err
	}
	stages, err := p.objects("ApiStages")
	if err != nil {
		return nil, err
	}
	for _, st := range stages {
		if err := st.check([]string{"ApiId", "Stage", "Throttle"}, nil, nil); err != nil {
			return nil, err
		}
		api, err := st.str("ApiId")
		if err != nil {
			return nil, err
		}
		stage, err := st.str("Stage")
		if err != nil {
			return nil, err
		}
		th, err := st.object("Throttle")
		if err != nil {
			return nil, err
		}
		methods := map[string]any{}
		for path := range th {
			tp, err := st.sub("Throttle", th).object(path)
			if err != nil {
				return nil, err
			}
			s := st.sub("Throttle", th).sub(path, tp)
			if err := s.check(fieldNames(throttleFields), nil, nil); err != nil {
				return nil, err
			}
			if methods[path], err = s.apiBody(throttleFields); err != nil {
				return nil, err
			}
		}
		in.stages[api+":"+stage] = methods
	}
	if th, ok, err := p.subObject("Throttle"); err != nil {
		return nil, err
	} else if ok {
		if err := th.check(fieldNames(throttleFields), nil, nil); err != nil {
			return nil, err
		}
		if in.throttle, err = th.apiBody(throttleFields); err != nil {
			return nil, err
		}
	}
	if q, ok, err := p.subObject("Quota"); err != nil {
		return nil, err
	} else if ok {
		quotaFields := []field{{"Limit", "limit", kInt}, {"Offset", "offset", kInt}, {"Period", "period", kStr}}
		if err := q.check(fieldNames(quotaFields), nil, nil); err != nil {
			return nil, err
		}
		if in.quota, err = q.apiBody(quotaFields); err != nil {
			return nil, err
		}
	}
	return in, nil
}

var restUsagePlan = &provisioner{
	attrs: []string{"Id"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		in, err := usagePlanFrom(r, r.props, true)
		if err != nil {
			return "", nil, err
		}
		body := map[string]any{"name": in.name}
		if in.description != "" {
			body["description"] = in.description
		}
		var stages []map[string]any
		for _, k := range sortedKeys(in.stages) {
			api, stage, _ := strings.Cut(k, ":")
			s := map[string]any{"apiId": api, "stage": stage}
			if len(in.stages[k]) > 0 {
				s["throttle"] = in.stages[k]
			}
			stages = append(stages, s)
		}
		if stages != nil {
			body["apiStages"] = stages
		}
		if in.throttle != nil {
			body["throttle"] = in.throttle
		}
		if in.quota != nil {
			body["quota"] = in.quota
		}
		if err := r.props.addTags(body); err != nil {
			return "", nil, err
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/usageplans", body, &out); err != nil {
			return "", nil, err
		}
		return out.ID, map[string]any{"Id": out.ID}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		in, err := usagePlanFrom(r, r.props, false)
		if err != nil {
			return nil, err
		}
		op := oldProps(r, old)
		was, err := usagePlanFrom(r, op, false)
		if err != nil {
			was = &usagePlanInput{}
		}
		var ops []patchOp
		if in.name != was.name && in.name != "" {
			ops = append(ops, patchOp{Op: "replace", Path: "/name", Value: in.name})
		}
		if in.description != was.description {
			ops = append(ops, patchOp{Op: "replace", Path: "/description", Value: in.description})
		}
		for _, k := range sortedKeys(was.stages) {
			if w, ok := in.stages[k]; !ok || !jsonEqual(w, was.stages[k]) {
				ops = append(ops, patchOp{Op: "remove", Path: "/apiStages", Value: k})
			}
		}
		for _, k := range sortedKeys(in.stages) {
			if h, ok := was.stages[k]; ok && jsonEqual(h, in.stages[k]) {
				continue
			}
			ops = append(ops, patchOp{Op: "add", Path: "/apiStages", Value: k})
			for _, m := range sortedKeys(in.stages[k]) {
				settings, _ := in.stages[k][m].(map[string]any)
				for _, s := range sortedKeys(settings) {
					ops = append(ops, patchOp{Op: "replace", Path: "/apiStages/" + k + "/throttle/" + strings.TrimPrefix(m, "/") + "/" + s,
						Value: fmt.Sprint(settings[s])})
				}
			}
		}
		ops = append(ops, limitOps("/throttle/", was.throttle, in.throttle)...)
		ops = append(ops, limitOps("/quota/", was.quota, in.quota)...)
		if err := apigwPatch(ctx, r, "/usageplans/"+url.PathEscape(old.PhysicalID), ops); err != nil {
			return nil, err
		}
		return old.Attrs, syncTags(ctx, r, r.apigwARN("/usageplans/"+old.PhysicalID), op)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/usageplans/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// limitOps moves a usage plan's throttle or quota from had to want.
func limitOps(prefix string, had, want map[string]any) []patchOp {
	if jsonEqual(had, want) {
		return nil
	}
	if len(want) == 0 {
		return []patchOp{{Op: "remove", Path: prefix + sortedKeys(had)[0]}}
	}
	var ops []patchOp
	for _, k := range sortedKeys(want) {
		ops = append(ops, patchOp{Op: "replace", Path: prefix + k, Value: fmt.Sprint(want[k])})
	}
	return ops
}

// UsagePlanKey: every change replaces it.

var restUsagePlanKey = &provisioner{
	attrs: []string{"Id"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(nil, []string{"KeyId", "KeyType", "UsagePlanId"}, nil); err != nil {
			return "", nil, err
		}
		body, err := p.apiBody([]field{{"KeyId", "keyId", kStr}, {"KeyType", "keyType", kStr}})
		if err != nil {
			return "", nil, err
		}
		plan, _ := p.str("UsagePlanId")
		var out struct {
			ID string `json:"id"`
		}
		if err := apigw(ctx, r, http.MethodPost, "/usageplans/"+url.PathEscape(plan)+"/keys", body, &out); err != nil {
			return "", nil, err
		}
		return out.ID, map[string]any{"Id": out.ID}, nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		plan, _ := stringOf(rec.Properties["UsagePlanId"])
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/usageplans/" + url.PathEscape(plan) + "/keys/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// deleteAPIChild deletes a resource that lives under its RestApiId
// (/restapis/{api}/{kind}/{physical id}).
func deleteAPIChild(kind string) func(context.Context, *resourceCall, *resourceRecord) error {
	return func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		api, _ := stringOf(rec.Properties["RestApiId"])
		_, err := r.c.do(ctx, request{service: apigwService, display: apigwDisplay, method: http.MethodDelete,
			path: "/restapis/" + url.PathEscape(api) + "/" + kind + "/" + url.PathEscape(rec.PhysicalID)})
		return err
	}
}
