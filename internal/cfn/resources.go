package cfn

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// provisioner creates, updates and deletes one resource type through Sluice's own
// APIs. Ref returns the physical id create returns; Fn::GetAtt reads attrs.
type provisioner struct {
	// attrs are the names Fn::GetAtt accepts.
	attrs  []string
	create func(ctx context.Context, r *resourceCall) (physicalID string, attrs map[string]any, err error)
	// update changes a resource in place; nil means every property change
	// replaces the resource (create the new one, then delete the old one).
	update func(ctx context.Context, r *resourceCall, old *resourceRecord) (attrs map[string]any, err error)
	// replaceOn lists properties whose change needs a replacement even when
	// update is set (names, immutable ids).
	replaceOn []string
	delete    func(ctx context.Context, r *resourceCall, rec *resourceRecord) error
	// orphanID is the physical id create makes when the engine generates the
	// name ("" when the template names the resource or the service assigns the
	// id). A rollback deletes it when the node stopped during the create call,
	// before the answer was recorded. A name the template gives is never
	// deleted on a guess: it may belong to a resource the create failed to take.
	orphanID func(r *resourceCall) string
}

// generatedOrphan is an orphanID for a type whose generated name is its
// physical id, unless nameProp names it.
func generatedOrphan(nameProp string, max int, lower bool) func(r *resourceCall) string {
	return func(r *resourceCall) string {
		if nameProp != "" {
			if n, _ := stringOf(r.props.m[nameProp]); n != "" {
				return ""
			}
		}
		return r.generatedName(max, lower)
	}
}

// resourceCall is one provisioning step: the resource's resolved properties and
// what it needs to reach the APIs.
type resourceCall struct {
	c         *caller
	stackName string
	logicalID string
	region    string
	account   string
	props     props
	// suffix is the one recorded for the resource, for its generated name.
	suffix string
}

// generatedName is the name CloudFormation generates for a resource the template
// does not name, with the resource's recorded suffix.
func (r *resourceCall) generatedName(max int, lower bool) string {
	if r.suffix == "" {
		return physicalName(r.stackName, r.logicalID, max, lower)
	}
	return physicalNameWith(r.stackName, r.logicalID, r.suffix, max, lower)
}

// provisioners are the resource types Sluice implements; any other type fails
// validation by name.
var provisioners = map[string]*provisioner{
	"AWS::Lambda::Function":            lambdaFunction,
	"AWS::Lambda::Permission":          lambdaPermission,
	"AWS::Lambda::Version":             lambdaVersion,
	"AWS::Lambda::Alias":               lambdaAlias,
	"AWS::IAM::Role":                   iamRole,
	"AWS::IAM::Policy":                 iamPolicy,
	"AWS::S3::Bucket":                  s3Bucket,
	"AWS::ApiGatewayV2::Api":           httpAPI,
	"AWS::ApiGatewayV2::Stage":         httpAPIStage,
	"AWS::ApiGatewayV2::Route":         httpAPIRoute,
	"AWS::ApiGatewayV2::Integration":   httpAPIIntegration,
	"AWS::ApiGatewayV2::Authorizer":    httpAPIAuthorizer,
	"AWS::ApiGateway::RestApi":         restAPI,
	"AWS::ApiGateway::Resource":        restResource,
	"AWS::ApiGateway::Method":          restMethod,
	"AWS::ApiGateway::Deployment":      restDeployment,
	"AWS::ApiGateway::Stage":           restStage,
	"AWS::ApiGateway::Authorizer":      restAuthorizer,
	"AWS::ApiGateway::ApiKey":          restAPIKey,
	"AWS::ApiGateway::UsagePlan":       restUsagePlan,
	"AWS::ApiGateway::UsagePlanKey":    restUsagePlanKey,
	"AWS::ApiGateway::DomainName":      restDomainName,
	"AWS::ApiGateway::BasePathMapping": restBasePathMapping,
	"AWS::ApiGatewayV2::DomainName":    httpDomainName,
	"AWS::ApiGatewayV2::ApiMapping":    httpAPIMapping,

	"AWS::CertificateManager::Certificate": acmCertificate,
}

// notFound reports whether err is the service's "it is already gone" answer, which
// a delete treats as success (CloudFormation does the same).
func notFound(err error) bool {
	ae, ok := err.(*apiError)
	return ok && (ae.Status == http.StatusNotFound || ae.Code == "NoSuchEntity" || ae.Code == "NoSuchBucket" ||
		ae.Code == "ResourceNotFoundException" || ae.Code == "NotFoundException")
}

// Lambda.

var lambdaFunction = &provisioner{
	attrs:     []string{"Arn", "SnapStartResponse.ApplyOn", "SnapStartResponse.OptimizationStatus"},
	replaceOn: []string{"FunctionName", "PackageType"},
	orphanID:  generatedOrphan("FunctionName", 64, false),
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		body, reserved, err := lambdaFunctionInput(r)
		if err != nil {
			return "", nil, err
		}
		name, _ := r.props.str("FunctionName")
		if name == "" {
			name = r.generatedName(64, false)
		}
		body["FunctionName"] = name
		var out struct{ FunctionArn string }
		if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPost, "/2015-03-31/functions", body, &out); err != nil {
			return "", nil, err
		}
		if reserved != nil {
			if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPut, "/2017-10-31/functions/"+url.PathEscape(name)+"/concurrency",
				map[string]any{"ReservedConcurrentExecutions": *reserved}, nil); err != nil {
				return name, map[string]any{"Arn": out.FunctionArn}, err
			}
		}
		return name, map[string]any{"Arn": out.FunctionArn}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		body, reserved, err := lambdaFunctionInput(r)
		if err != nil {
			return nil, err
		}
		name := old.PhysicalID
		path := "/2015-03-31/functions/" + url.PathEscape(name)
		if !jsonEqual(old.Properties["Code"], r.props.m["Code"]) {
			code := body["Code"].(map[string]any)
			if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPut, path+"/code", code, nil); err != nil {
				return nil, err
			}
		}
		delete(body, "Code")
		delete(body, "PackageType")
		tags := body["Tags"]
		delete(body, "Tags")
		// UpdateFunctionConfiguration replaces the configuration: unset properties
		// go back to their defaults, as CloudFormation does.
		for _, k := range []string{"Description", "Handler", "Runtime", "Role"} {
			if _, ok := body[k]; !ok && k == "Description" {
				body[k] = ""
			}
		}
		if _, ok := body["Environment"]; !ok {
			body["Environment"] = map[string]any{"Variables": map[string]string{}}
		}
		if _, ok := body["Timeout"]; !ok {
			body["Timeout"] = 3
		}
		if _, ok := body["MemorySize"]; !ok {
			body["MemorySize"] = 128
		}
		if _, ok := body["Layers"]; !ok {
			body["Layers"] = []string{}
		}
		var out struct{ FunctionArn string }
		if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPut, path+"/configuration", body, &out); err != nil {
			return nil, err
		}
		_ = tags // tags: TagResource/UntagResource below
		if err := syncLambdaTags(ctx, r, out.FunctionArn, old, tags); err != nil {
			return nil, err
		}
		if reserved != nil {
			if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPut, "/2017-10-31/functions/"+url.PathEscape(name)+"/concurrency",
				map[string]any{"ReservedConcurrentExecutions": *reserved}, nil); err != nil {
				return nil, err
			}
		} else if old.Properties["ReservedConcurrentExecutions"] != nil {
			_, err := r.c.do(ctx, request{service: "lambda", display: "Lambda", method: http.MethodDelete,
				path: "/2017-10-31/functions/" + url.PathEscape(name) + "/concurrency"})
			if err != nil {
				return nil, err
			}
		}
		return map[string]any{"Arn": out.FunctionArn}, nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: "lambda", display: "Lambda", method: http.MethodDelete,
			path: "/2015-03-31/functions/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

func syncLambdaTags(ctx context.Context, r *resourceCall, arn string, old *resourceRecord, tags any) error {
	want, _ := tags.(map[string]string)
	oldProps := props{logicalID: r.logicalID, m: old.Properties}
	had, _ := oldProps.tagList("Tags")
	remove := removedTags(had, want)
	path := "/2017-03-31/tags/" + url.PathEscape(arn)
	if len(remove) > 0 {
		q := url.Values{}
		for _, k := range remove {
			q.Add("tagKeys", k)
		}
		if _, err := r.c.do(ctx, request{service: "lambda", display: "Lambda", method: http.MethodDelete, path: path, query: q}); err != nil {
			return err
		}
	}
	if len(want) > 0 {
		return r.c.json(ctx, "lambda", "Lambda", http.MethodPost, path, map[string]any{"Tags": want}, nil)
	}
	return nil
}

var lambdaFunctionProps = []string{"FunctionName", "Description", "Handler", "Runtime", "Timeout", "MemorySize",
	"Environment", "Architectures", "Tags", "TracingConfig", "EphemeralStorage", "LoggingConfig", "Layers", "PackageType",
	"ReservedConcurrentExecutions"}

var lambdaFunctionUnsupported = []string{"VpcConfig", "DeadLetterConfig", "KmsKeyArn", "FileSystemConfigs", "ImageConfig",
	"CodeSigningConfigArn", "SnapStart", "RuntimeManagementPolicy", "RecursiveLoop",
	// Lambda Managed Instances: the Lambda API takes them (internal/lambda/managed.go);
	// the CloudFormation mapping (and its automatic $LATEST.PUBLISHED) is not built yet.
	"CapacityProviderConfig", "FunctionScalingConfig"}

// lambdaFunctionInput maps AWS::Lambda::Function's properties to CreateFunction's
// body (the names match; Code.ZipFile is source text, zipped as index.js/index.py).
func lambdaFunctionInput(r *resourceCall) (map[string]any, *int, error) {
	p := r.props
	if err := p.check(lambdaFunctionProps, []string{"Code", "Role"}, lambdaFunctionUnsupported); err != nil {
		return nil, nil, err
	}
	body := map[string]any{}
	for _, k := range []string{"Description", "Handler", "Runtime", "Role", "PackageType"} {
		s, err := p.str(k)
		if err != nil {
			return nil, nil, err
		}
		if s != "" {
			body[k] = s
		}
	}
	for _, k := range []string{"Timeout", "MemorySize"} {
		n, err := p.int(k)
		if err != nil {
			return nil, nil, err
		}
		if n != nil {
			body[k] = *n
		}
	}
	for _, k := range []string{"TracingConfig", "EphemeralStorage", "LoggingConfig"} {
		m, err := p.object(k)
		if err != nil {
			return nil, nil, err
		}
		if m != nil {
			if n, ok := m["Size"]; ok {
				if s, ok := n.(string); ok {
					var size int
					fmt.Sscanf(s, "%d", &size)
					m["Size"] = size
				}
			}
			body[k] = m
		}
	}
	for _, k := range []string{"Architectures", "Layers"} {
		l, err := p.strList(k)
		if err != nil {
			return nil, nil, err
		}
		if l != nil {
			body[k] = l
		}
	}
	env, err := p.object("Environment")
	if err != nil {
		return nil, nil, err
	}
	if env != nil {
		vars, _ := env["Variables"].(map[string]any)
		m, err := p.stringMap("Environment/Variables", vars)
		if err != nil {
			return nil, nil, err
		}
		body["Environment"] = map[string]any{"Variables": m}
	}
	tags, err := p.tagList("Tags")
	if err != nil {
		return nil, nil, err
	}
	if tags != nil {
		body["Tags"] = tags
	}
	code, err := p.object("Code")
	if err != nil {
		return nil, nil, err
	}
	cp := props{logicalID: p.logicalID, m: code}
	if err := cp.check([]string{"ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"}, nil, nil); err != nil {
		return nil, nil, err
	}
	apiCode := map[string]any{}
	if src, ok := code["ZipFile"]; ok {
		text, ok := src.(string)
		if !ok {
			return nil, nil, p.fail("#/Code/ZipFile: expected type: String, found: %s", schemaKind(src))
		}
		runtime, _ := p.str("Runtime")
		zipped, err := inlineZip(runtime, text)
		if err != nil {
			return nil, nil, &resourceError{msg: err.Error()}
		}
		apiCode["ZipFile"] = zipped
	}
	for _, k := range []string{"S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"} {
		if s, _ := cp.str(k); s != "" {
			apiCode[k] = s
		}
	}
	body["Code"] = apiCode
	reserved, err := p.int("ReservedConcurrentExecutions")
	if err != nil {
		return nil, nil, err
	}
	return body, reserved, nil
}

// inlineZip packages Code.ZipFile as CloudFormation does: one file named index
// with the runtime's extension, world-readable.
func inlineZip(runtime, source string) ([]byte, error) {
	var name string
	switch {
	case strings.HasPrefix(runtime, "nodejs"):
		name = "index.js"
	case strings.HasPrefix(runtime, "python"):
		name = "index.py"
	default:
		return nil, fmt.Errorf("Code.ZipFile is only supported for Node.js and Python runtimes, not %q", runtime)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte(source)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var lambdaPermission = &provisioner{
	orphanID: generatedOrphan("", 100, false),
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check([]string{"SourceArn", "SourceAccount", "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID"},
			[]string{"Action", "FunctionName", "Principal"}, nil); err != nil {
			return "", nil, err
		}
		body := map[string]any{}
		for _, k := range []string{"Action", "Principal", "SourceArn", "SourceAccount", "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID"} {
			s, err := p.str(k)
			if err != nil {
				return "", nil, err
			}
			if s != "" {
				body[k] = s
			}
		}
		fn, err := p.str("FunctionName")
		if err != nil {
			return "", nil, err
		}
		sid := r.generatedName(100, false)
		body["StatementId"] = sid
		if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(fn)+"/policy", body, nil); err != nil {
			return "", nil, err
		}
		return sid, map[string]any{}, nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		fn, _ := stringOf(rec.Properties["FunctionName"])
		_, err := r.c.do(ctx, request{service: "lambda", display: "Lambda", method: http.MethodDelete,
			path: "/2015-03-31/functions/" + url.PathEscape(fn) + "/policy/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// IAM.

const iamVersion = "2010-05-08"

// awsManagedPolicies are the AWS managed policies Sluice's IAM does not hold as
// managed policies; a role that names one gets its document inline, under the
// policy's name, so what the role may do is the same.
var awsManagedPolicies = map[string]string{
	"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`,
}

func policyDocument(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

type rolePolicies struct {
	inline  map[string]string // name -> document
	managed []string
}

func roleInput(r *resourceCall) (url.Values, rolePolicies, error) {
	p := r.props
	var pol rolePolicies
	if err := p.check([]string{"RoleName", "Path", "Description", "MaxSessionDuration", "ManagedPolicyArns", "Policies", "Tags", "PermissionsBoundary"},
		[]string{"AssumeRolePolicyDocument"}, nil); err != nil {
		return nil, pol, err
	}
	q := url.Values{}
	doc, err := policyDocument(p.m["AssumeRolePolicyDocument"])
	if err != nil {
		return nil, pol, err
	}
	q.Set("AssumeRolePolicyDocument", doc)
	for _, k := range []string{"Path", "Description", "PermissionsBoundary", "MaxSessionDuration"} {
		s, err := p.str(k)
		if err != nil {
			return nil, pol, err
		}
		if s != "" {
			q.Set(k, s)
		}
	}
	tags, err := p.tagList("Tags")
	if err != nil {
		return nil, pol, err
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		q.Set(fmt.Sprintf("Tags.member.%d.Key", i+1), k)
		q.Set(fmt.Sprintf("Tags.member.%d.Value", i+1), tags[k])
	}
	pol.inline = map[string]string{}
	if l, ok := p.m["Policies"].([]any); ok {
		for i, x := range l {
			m, ok := x.(map[string]any)
			name, ok2 := m["PolicyName"].(string)
			if !ok || !ok2 || m["PolicyDocument"] == nil {
				return nil, pol, p.fail("#/Policies/%d: required key [PolicyDocument, PolicyName] not found", i)
			}
			d, err := policyDocument(m["PolicyDocument"])
			if err != nil {
				return nil, pol, err
			}
			pol.inline[name] = d
		}
	} else if p.has("Policies") {
		return nil, pol, p.fail("#/Policies: expected type: JSONArray, found: %s", schemaKind(p.m["Policies"]))
	}
	managed, err := p.strList("ManagedPolicyArns")
	if err != nil {
		return nil, pol, err
	}
	for _, arn := range managed {
		if d, ok := awsManagedPolicies[arn]; ok {
			pol.inline[arn[strings.LastIndex(arn, "/")+1:]] = d
			continue
		}
		pol.managed = append(pol.managed, arn)
	}
	return q, pol, nil
}

var iamRole = &provisioner{
	attrs:     []string{"Arn", "RoleId"},
	replaceOn: []string{"RoleName", "Path"},
	orphanID:  generatedOrphan("RoleName", 64, false),
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		q, pol, err := roleInput(r)
		if err != nil {
			return "", nil, err
		}
		name, _ := r.props.str("RoleName")
		if name == "" {
			name = r.generatedName(64, false)
		}
		q.Set("Action", "CreateRole")
		q.Set("RoleName", name)
		var out struct {
			Role struct {
				Arn    string `xml:"Arn"`
				RoleID string `xml:"RoleId"`
			} `xml:"CreateRoleResult>Role"`
		}
		if err := r.c.query(ctx, "iam", "Iam", iamVersion, q, &out); err != nil {
			return "", nil, err
		}
		attrs := map[string]any{"Arn": out.Role.Arn, "RoleId": out.Role.RoleID}
		return name, attrs, applyRolePolicies(ctx, r, name, rolePolicies{}, pol)
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		q, pol, err := roleInput(r)
		if err != nil {
			return nil, err
		}
		name := old.PhysicalID
		if q.Get("AssumeRolePolicyDocument") != "" {
			if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {"UpdateAssumeRolePolicy"}, "RoleName": {name},
				"PolicyDocument": {q.Get("AssumeRolePolicyDocument")}}, nil); err != nil {
				return nil, err
			}
		}
		oldCall := *r
		oldCall.props = props{logicalID: r.logicalID, m: old.Properties}
		_, had, err := roleInput(&oldCall)
		if err != nil {
			had = rolePolicies{}
		}
		return old.Attrs, applyRolePolicies(ctx, r, name, had, pol)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		oldCall := *r
		oldCall.props = props{logicalID: r.logicalID, m: rec.Properties}
		_, had, err := roleInput(&oldCall)
		if err == nil {
			if err := applyRolePolicies(ctx, r, rec.PhysicalID, had, rolePolicies{}); err != nil && !notFound(err) {
				return err
			}
		}
		return r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {"DeleteRole"}, "RoleName": {rec.PhysicalID}}, nil)
	},
}

// applyRolePolicies moves a role's inline and attached policies from had to want.
func applyRolePolicies(ctx context.Context, r *resourceCall, role string, had, want rolePolicies) error {
	names := make([]string, 0, len(want.inline))
	for n := range want.inline {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if had.inline[n] == want.inline[n] {
			continue
		}
		if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {"PutRolePolicy"}, "RoleName": {role},
			"PolicyName": {n}, "PolicyDocument": {want.inline[n]}}, nil); err != nil {
			return err
		}
	}
	for n := range had.inline {
		if _, ok := want.inline[n]; ok {
			continue
		}
		if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {"DeleteRolePolicy"}, "RoleName": {role},
			"PolicyName": {n}}, nil); err != nil && !notFound(err) {
			return err
		}
	}
	for _, arn := range want.managed {
		if contains(had.managed, arn) {
			continue
		}
		if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {"AttachRolePolicy"}, "RoleName": {role},
			"PolicyArn": {arn}}, nil); err != nil {
			return err
		}
	}
	for _, arn := range had.managed {
		if contains(want.managed, arn) {
			continue
		}
		if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {"DetachRolePolicy"}, "RoleName": {role},
			"PolicyArn": {arn}}, nil); err != nil && !notFound(err) {
			return err
		}
	}
	return nil
}

// S3.

var s3BucketUnsupported = []string{"VersioningConfiguration", "LifecycleConfiguration", "WebsiteConfiguration",
	"BucketEncryption", "Tags", "PublicAccessBlockConfiguration", "OwnershipControls", "AccessControl", "LoggingConfiguration",
	"ObjectLockConfiguration", "ObjectLockEnabled", "ReplicationConfiguration"}

var s3Bucket = &provisioner{
	attrs:     []string{"Arn", "DomainName", "RegionalDomainName", "DualStackDomainName", "WebsiteURL"},
	replaceOn: []string{"BucketName"},
	orphanID:  generatedOrphan("BucketName", 63, true),
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		if err := r.props.check(s3BucketProps, nil, s3BucketUnsupported); err != nil {
			return "", nil, err
		}
		notification, err := bucketNotification(r.props)
		if err != nil {
			return "", nil, err
		}
		cors, err := bucketCors(r.props)
		if err != nil {
			return "", nil, err
		}
		name, err := r.props.str("BucketName")
		if err != nil {
			return "", nil, err
		}
		if name == "" {
			name = r.generatedName(63, true)
		}
		var body []byte
		if r.region != "us-east-1" {
			body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` +
				r.region + `</LocationConstraint></CreateBucketConfiguration>`)
		}
		if _, err := r.c.do(ctx, request{service: "s3", display: "S3", method: http.MethodPut, path: "/" + name, body: body}); err != nil {
			return "", nil, err
		}
		if cors != nil {
			if err := putBucketCors(ctx, r, name, cors); err != nil {
				return name, bucketAttrs(name, r.region), err
			}
		}
		if notification != nil {
			if err := putBucketNotification(ctx, r, name, notification); err != nil {
				return name, bucketAttrs(name, r.region), err
			}
		}
		return name, bucketAttrs(name, r.region), nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		if err := r.props.check(s3BucketProps, nil, s3BucketUnsupported); err != nil {
			return nil, err
		}
		notification, err := bucketNotification(r.props)
		if err != nil {
			return nil, err
		}
		cors, err := bucketCors(r.props)
		if err != nil {
			return nil, err
		}
		if !jsonEqual(old.Properties["CorsConfiguration"], r.props.m["CorsConfiguration"]) {
			if cors == nil {
				_, err = r.c.do(ctx, request{service: "s3", display: "S3", method: http.MethodDelete, path: "/" + old.PhysicalID,
					query: url.Values{"cors": {""}}})
			} else {
				err = putBucketCors(ctx, r, old.PhysicalID, cors)
			}
			if err != nil {
				return nil, err
			}
		}
		if jsonEqual(old.Properties["NotificationConfiguration"], r.props.m["NotificationConfiguration"]) {
			return old.Attrs, nil
		}
		if notification == nil {
			notification = []byte(`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`)
		}
		return old.Attrs, putBucketNotification(ctx, r, old.PhysicalID, notification)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: "s3", display: "S3", method: http.MethodDelete, path: "/" + rec.PhysicalID})
		return err
	},
}

var s3BucketProps = []string{"BucketName", "NotificationConfiguration", "CorsConfiguration"}

// bucketCors is CorsConfiguration as PutBucketCors's document; nil without one.
func bucketCors(p props) ([]byte, error) {
	cc, ok, err := p.subObject("CorsConfiguration")
	if err != nil || !ok {
		return nil, err
	}
	if err := cc.check(nil, []string{"CorsRules"}, nil); err != nil {
		return nil, err
	}
	rules, err := cc.objects("CorsRules")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for _, rule := range rules {
		if err := rule.check([]string{"AllowedHeaders", "ExposedHeaders", "Id", "MaxAge"}, []string{"AllowedMethods", "AllowedOrigins"}, nil); err != nil {
			return nil, err
		}
		b.WriteString("<CORSRule>")
		if id, err := rule.str("Id"); err != nil {
			return nil, err
		} else if id != "" {
			b.WriteString("<ID>" + xmlText(id) + "</ID>")
		}
		for _, f := range []struct{ prop, elem string }{{"AllowedHeaders", "AllowedHeader"}, {"AllowedMethods", "AllowedMethod"},
			{"AllowedOrigins", "AllowedOrigin"}, {"ExposedHeaders", "ExposeHeader"}} {
			vals, err := rule.strList(f.prop)
			if err != nil {
				return nil, err
			}
			for _, v := range vals {
				b.WriteString("<" + f.elem + ">" + xmlText(v) + "</" + f.elem + ">")
			}
		}
		if age, err := rule.int("MaxAge"); err != nil {
			return nil, err
		} else if age != nil {
			b.WriteString("<MaxAgeSeconds>" + strconv.Itoa(*age) + "</MaxAgeSeconds>")
		}
		b.WriteString("</CORSRule>")
	}
	b.WriteString("</CORSConfiguration>")
	return []byte(b.String()), nil
}

// putBucketCors is PutBucketCors, with the Content-MD5 S3 requires of it.
func putBucketCors(ctx context.Context, r *resourceCall, bucket string, doc []byte) error {
	sum := md5.Sum(doc)
	_, err := r.c.do(ctx, request{service: "s3", display: "S3", method: http.MethodPut, path: "/" + bucket,
		query: url.Values{"cors": {""}}, contentType: "application/xml", body: doc,
		header: map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}})
	return err
}

func putBucketNotification(ctx context.Context, r *resourceCall, bucket string, doc []byte) error {
	_, err := r.c.do(ctx, request{service: "s3", display: "S3", method: http.MethodPut, path: "/" + bucket,
		query: url.Values{"notification": {""}}, contentType: "application/xml", body: doc})
	return err
}

// bucketNotification maps NotificationConfiguration (LambdaConfigurations: Event,
// Function, Filter.S3Key.Rules) to PutBucketNotificationConfiguration's XML;
// nil when there is none.
func bucketNotification(p props) ([]byte, error) {
	nc, ok, err := p.subObject("NotificationConfiguration")
	if err != nil || !ok {
		return nil, err
	}
	if err := nc.check([]string{"LambdaConfigurations"}, nil, []string{"QueueConfigurations", "TopicConfigurations",
		"EventBridgeConfiguration"}); err != nil {
		return nil, err
	}
	lcs, err := nc.objects("LambdaConfigurations")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for _, lc := range lcs {
		if err := lc.check([]string{"Filter"}, []string{"Event", "Function"}, nil); err != nil {
			return nil, err
		}
		event, err := lc.str("Event")
		if err != nil {
			return nil, err
		}
		fn, err := lc.str("Function")
		if err != nil {
			return nil, err
		}
		b.WriteString("<CloudFunctionConfiguration><CloudFunction>" + xmlText(fn) + "</CloudFunction><Event>" + xmlText(event) + "</Event>")
		filter, ok, err := lc.subObject("Filter")
		if err != nil {
			return nil, err
		}
		if ok {
			if err := filter.check([]string{"S3Key"}, nil, nil); err != nil {
				return nil, err
			}
			key, _, err := filter.subObject("S3Key")
			if err != nil {
				return nil, err
			}
			if err := key.check(nil, []string{"Rules"}, nil); err != nil {
				return nil, err
			}
			rules, err := key.objects("Rules")
			if err != nil {
				return nil, err
			}
			b.WriteString("<Filter><S3Key>")
			for _, rule := range rules {
				if err := rule.check(nil, []string{"Name", "Value"}, nil); err != nil {
					return nil, err
				}
				name, _ := rule.str("Name")
				value, err := rule.str("Value")
				if err != nil {
					return nil, err
				}
				b.WriteString("<FilterRule><Name>" + xmlText(name) + "</Name><Value>" + xmlText(value) + "</Value></FilterRule>")
			}
			b.WriteString("</S3Key></Filter>")
		}
		b.WriteString("</CloudFunctionConfiguration>")
	}
	b.WriteString("</NotificationConfiguration>")
	return []byte(b.String()), nil
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func bucketAttrs(name, region string) map[string]any {
	return map[string]any{
		"Arn":                 "arn:aws:s3:::" + name,
		"DomainName":          name + ".s3.amazonaws.com",
		"RegionalDomainName":  name + ".s3." + region + ".amazonaws.com",
		"DualStackDomainName": name + ".s3.dualstack." + region + ".amazonaws.com",
		"WebsiteURL":          "http://" + name + ".s3-website-" + region + ".amazonaws.com",
	}
}

// API Gateway V2 (HTTP APIs).

// userMaps are apigatewayv2 properties whose keys are the user's, not schema names.
var userMaps = map[string]bool{"Tags": true, "StageVariables": true, "RequestParameters": true, "ResponseParameters": true,
	"RequestTemplates": true, "RouteSettings": true}

// v2Body maps CloudFormation properties to an apigatewayv2 REST-JSON body.
func v2Body(p props, names []string, ints []string) (map[string]any, error) {
	body := map[string]any{}
	for _, k := range names {
		v, ok := p.m[k]
		if !ok {
			continue
		}
		if contains(ints, k) {
			n, err := p.int(k)
			if err != nil {
				return nil, err
			}
			v = *n
		}
		if k == "RouteSettings" {
			// Keys are route keys; the values are schema objects.
			m, _ := v.(map[string]any)
			out := map[string]any{}
			for rk, rv := range m {
				out[rk] = camelKeys(rv, nil)
			}
			body["routeSettings"] = out
			continue
		}
		if userMaps[k] {
			body[lowerFirst(k)] = v
			continue
		}
		body[lowerFirst(k)] = camelKeys(v, userMaps)
	}
	return body, nil
}

var httpAPIProps = []string{"Name", "ProtocolType", "Target", "RouteKey", "CredentialsArn", "Description", "CorsConfiguration",
	"DisableExecuteApiEndpoint", "Version", "Tags", "RouteSelectionExpression", "ApiKeySelectionExpression", "DisableSchemaValidation",
	"IpAddressType"}

var httpAPI = &provisioner{
	attrs:     []string{"ApiEndpoint", "ApiId"},
	replaceOn: []string{"ProtocolType"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check(append([]string{"Body", "BasePath", "FailOnWarnings"}, httpAPIProps...), nil, []string{"BodyS3Location"}); err != nil {
			return "", nil, err
		}
		var out struct {
			APIID       string `json:"apiId"`
			APIEndpoint string `json:"apiEndpoint"`
		}
		if body, ok := p.m["Body"]; ok {
			doc, err := policyDocument(body)
			if err != nil {
				return "", nil, err
			}
			q := url.Values{}
			if b, _ := p.str("BasePath"); b != "" {
				q.Set("basepath", b)
			}
			if f, _ := p.str("FailOnWarnings"); f != "" {
				q.Set("failOnWarnings", f)
			}
			b, _ := json.Marshal(map[string]string{"body": doc})
			res, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodPut, path: "/v2/apis",
				query: q, contentType: "application/json", body: b})
			if err != nil {
				return "", nil, err
			}
			if err := json.Unmarshal(res.Body, &out); err != nil {
				return "", nil, fmt.Errorf("decode ImportApi: %w", err)
			}
			// ImportApi takes no tags: they follow by TagResource.
			return out.APIID, map[string]any{"ApiId": out.APIID, "ApiEndpoint": out.APIEndpoint},
				syncV2Tags(ctx, r, r.apigwARN("/apis/"+out.APIID), props{})
		}
		if !p.has("Name") || !p.has("ProtocolType") {
			return "", nil, p.fail("#: required key [Name, ProtocolType] not found (or a Body)")
		}
		body, err := v2Body(p, httpAPIProps, nil)
		if err != nil {
			return "", nil, err
		}
		if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPost, "/v2/apis", body, &out); err != nil {
			return "", nil, err
		}
		return out.APIID, map[string]any{"ApiId": out.APIID, "ApiEndpoint": out.APIEndpoint}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		p := r.props
		if err := p.check(append([]string{"Body", "BasePath", "FailOnWarnings"}, httpAPIProps...), nil, []string{"BodyS3Location"}); err != nil {
			return nil, err
		}
		if body, ok := p.m["Body"]; ok {
			doc, err := policyDocument(body)
			if err != nil {
				return nil, err
			}
			b, _ := json.Marshal(map[string]string{"body": doc})
			if _, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodPut,
				path: "/v2/apis/" + url.PathEscape(old.PhysicalID), contentType: "application/json", body: b}); err != nil {
				return nil, err
			}
			return old.Attrs, syncV2Tags(ctx, r, r.apigwARN("/apis/"+old.PhysicalID), oldProps(r, old))
		}
		body, err := v2Body(p, httpAPIProps, nil)
		if err != nil {
			return nil, err
		}
		delete(body, "protocolType")
		delete(body, "tags") // UpdateApi takes no tags: TagResource/UntagResource
		if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPatch, "/v2/apis/"+url.PathEscape(old.PhysicalID), body, nil); err != nil {
			return nil, err
		}
		return old.Attrs, syncV2Tags(ctx, r, r.apigwARN("/apis/"+old.PhysicalID), oldProps(r, old))
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		_, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodDelete,
			path: "/v2/apis/" + url.PathEscape(rec.PhysicalID)})
		return err
	},
}

// v2Child provisions a sub-resource of an HTTP API (stage, route, integration):
// POST /v2/apis/{ApiId}/{collection}, PATCH and DELETE on /{collection}/{id}.
func v2Child(collection, idField string, names, required, ints, replaceOn []string, attrs []string, refIsName bool) *provisioner {
	all := append([]string{"ApiId"}, names...)
	return &provisioner{
		attrs:     attrs,
		replaceOn: append([]string{"ApiId"}, replaceOn...),
		create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
			p := r.props
			if err := p.check(all, append([]string{"ApiId"}, required...), nil); err != nil {
				return "", nil, err
			}
			apiID, err := p.str("ApiId")
			if err != nil {
				return "", nil, err
			}
			body, err := v2Body(p, names, ints)
			if err != nil {
				return "", nil, err
			}
			var out map[string]any
			if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPost, "/v2/apis/"+url.PathEscape(apiID)+"/"+collection, body, &out); err != nil {
				return "", nil, err
			}
			id, _ := out[idField].(string)
			a := map[string]any{}
			for _, name := range attrs {
				if v, ok := out[lowerFirst(name)]; ok {
					a[name] = v
				}
			}
			return id, a, nil
		},
		update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
			p := r.props
			if err := p.check(all, append([]string{"ApiId"}, required...), nil); err != nil {
				return nil, err
			}
			apiID, _ := p.str("ApiId")
			body, err := v2Body(p, names, ints)
			if err != nil {
				return nil, err
			}
			if refIsName {
				delete(body, "stageName")
			}
			path := "/apis/" + url.PathEscape(apiID) + "/" + collection + "/" + url.PathEscape(old.PhysicalID)
			delete(body, "tags") // UpdateStage refuses tags: TagResource/UntagResource
			if err := r.c.json(ctx, "apigateway", "ApiGatewayV2", http.MethodPatch, "/v2"+path, body, nil); err != nil {
				return nil, err
			}
			if !contains(names, "Tags") {
				return old.Attrs, nil
			}
			return old.Attrs, syncV2Tags(ctx, r, r.apigwARN(path), oldProps(r, old))
		},
		delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
			apiID, _ := stringOf(rec.Properties["ApiId"])
			_, err := r.c.do(ctx, request{service: "apigateway", display: "ApiGatewayV2", method: http.MethodDelete,
				path: "/v2/apis/" + url.PathEscape(apiID) + "/" + collection + "/" + url.PathEscape(rec.PhysicalID)})
			return err
		},
	}
}

var httpAPIStage = v2Child("stages", "stageName",
	[]string{"StageName", "AutoDeploy", "Description", "StageVariables", "DefaultRouteSettings", "RouteSettings", "AccessLogSettings",
		"DeploymentId", "Tags", "ClientCertificateId"},
	[]string{"StageName"}, nil, []string{"StageName"}, nil, true)

var httpAPIRoute = v2Child("routes", "routeId",
	[]string{"RouteKey", "Target", "AuthorizationType", "AuthorizerId", "AuthorizationScopes", "ApiKeyRequired", "OperationName",
		"RequestParameters", "RequestModels", "ModelSelectionExpression", "RouteResponseSelectionExpression"},
	[]string{"RouteKey"}, nil, nil, []string{"RouteId"}, false)

var httpAPIIntegration = v2Child("integrations", "integrationId",
	[]string{"IntegrationType", "IntegrationUri", "IntegrationMethod", "PayloadFormatVersion", "TimeoutInMillis", "ConnectionType",
		"ConnectionId", "CredentialsArn", "Description", "RequestParameters", "ResponseParameters", "RequestTemplates",
		"TemplateSelectionExpression", "PassthroughBehavior", "ContentHandlingStrategy", "IntegrationSubtype", "TlsConfig"},
	[]string{"IntegrationType"}, []string{"TimeoutInMillis"}, nil, []string{"IntegrationId"}, false)

var httpAPIAuthorizer = v2Child("authorizers", "authorizerId",
	[]string{"AuthorizerType", "Name", "AuthorizerUri", "IdentitySource", "JwtConfiguration", "AuthorizerPayloadFormatVersion",
		"EnableSimpleResponses", "AuthorizerResultTtlInSeconds", "AuthorizerCredentialsArn", "IdentityValidationExpression"},
	[]string{"AuthorizerType", "Name"}, []string{"AuthorizerResultTtlInSeconds"}, nil, []string{"AuthorizerId"}, false)

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
