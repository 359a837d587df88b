package cfn

import (
	"context"
	"net/url"
	"sort"
	"strings"
)

// AWS::IAM::Policy: one inline policy (PolicyName, PolicyDocument) embedded in
// each role, user and group the resource names, through IAM's PutRolePolicy,
// PutUserPolicy and PutGroupPolicy. Every property updates in place ("Update
// requires: No interruption" in the resource reference): an update puts the
// document on the principals that have it now and deletes it from the ones
// that no longer do; a new PolicyName is put first, then the old name deleted.
//
// Ref is the resource's generated name (aws-resource-iam-policy.html, Return
// values: "Ref returns the resource name"), which is also its Fn::GetAtt Id
// (the registry schema's one read-only property).
var iamPolicy = &provisioner{
	attrs: []string{"Id"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		want, err := inlinePolicyInput(r.props)
		if err != nil {
			return "", nil, err
		}
		// CloudFormation's names for inline policies cut the stack name and the
		// logical id short (stack-Logic-SUFFIX); the name is not IAM's, so its
		// length only has to stay readable.
		id := physicalName(r.stackName, r.logicalID, 24, false)
		attrs := map[string]any{"Id": id}
		// A failure part way returns the id, so the rollback's delete takes the
		// policy off the principals that already got it.
		return id, attrs, applyInlinePolicy(ctx, r, inlinePolicy{}, want)
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		want, err := inlinePolicyInput(r.props)
		if err != nil {
			return nil, err
		}
		had, err := inlinePolicyInput(props{logicalID: r.logicalID, m: old.Properties})
		if err != nil {
			had = inlinePolicy{}
		}
		return map[string]any{"Id": old.PhysicalID}, applyInlinePolicy(ctx, r, had, want)
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		had, err := inlinePolicyInput(props{logicalID: r.logicalID, m: rec.Properties})
		if err != nil {
			return nil // never created: the properties never passed validation
		}
		return applyInlinePolicy(ctx, r, had, inlinePolicy{})
	},
}

// inlinePolicy is what an AWS::IAM::Policy asks for: one named document on a set
// of principals, by kind (the prop of policyPrincipals).
type inlinePolicy struct {
	name, document string
	principals     map[string][]string // "Roles" -> role names, ...
}

// policyPrincipal is one kind of identity an inline policy is embedded in, with
// IAM's actions for it.
type policyPrincipal struct {
	prop, param, put, del string
}

var policyPrincipals = []policyPrincipal{
	{"Groups", "GroupName", "PutGroupPolicy", "DeleteGroupPolicy"},
	{"Roles", "RoleName", "PutRolePolicy", "DeleteRolePolicy"},
	{"Users", "UserName", "PutUserPolicy", "DeleteUserPolicy"},
}

func inlinePolicyInput(p props) (inlinePolicy, error) {
	var pol inlinePolicy
	if err := p.check([]string{"Groups", "Roles", "Users"}, []string{"PolicyDocument", "PolicyName"}, nil); err != nil {
		return pol, err
	}
	name, err := p.str("PolicyName")
	if err != nil {
		return pol, err
	}
	switch d := p.m["PolicyDocument"].(type) {
	case map[string]any, string:
		pol.document, err = policyDocument(d)
		if err != nil {
			return pol, err
		}
	default:
		return pol, p.fail("#/PolicyDocument: expected type: JSONObject, found: %s", schemaKind(d))
	}
	pol.name = name
	pol.principals = map[string][]string{}
	for _, k := range policyPrincipals {
		names, err := p.strList(k.prop)
		if err != nil {
			return pol, err
		}
		if len(names) > 0 {
			pol.principals[k.prop] = dedupe(names)
		}
	}
	if len(pol.principals) == 0 {
		// The reason CloudFormation gives a policy that names no principal.
		return pol, &resourceError{msg: "At least one of [Groups,Roles,Users] must be non-empty."}
	}
	return pol, nil
}

// applyInlinePolicy moves the policy from had to want: the document is put
// where want has it (unless had already put the same name and document there),
// then had's name is deleted where want no longer has it, so a principal that
// keeps the policy is never without it. A principal that is already gone counts
// as deleted.
func applyInlinePolicy(ctx context.Context, r *resourceCall, had, want inlinePolicy) error {
	for _, k := range policyPrincipals {
		for _, name := range want.principals[k.prop] {
			if had.name == want.name && had.document == want.document && contains(had.principals[k.prop], name) {
				continue
			}
			if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {k.put}, k.param: {name},
				"PolicyName": {want.name}, "PolicyDocument": {want.document}}, nil); err != nil {
				return err
			}
		}
	}
	for _, k := range policyPrincipals {
		for _, name := range had.principals[k.prop] {
			if had.name == want.name && contains(want.principals[k.prop], name) {
				continue
			}
			if err := r.c.query(ctx, "iam", "Iam", iamVersion, url.Values{"Action": {k.del}, k.param: {name},
				"PolicyName": {had.name}}, nil); err != nil && !notFound(err) {
				return err
			}
		}
	}
	return nil
}

// iamCapability is the capability a resource needs acknowledged
// (using-iam-template.html, "Acknowledging IAM resources"): CAPABILITY_IAM for
// IAM resources, CAPABILITY_NAMED_IAM when they carry a custom name; "" for the
// rest.
func iamCapability(def *resourceDef) string {
	switch def.Type {
	case "AWS::IAM::Role":
		if _, named := def.Properties["RoleName"]; named {
			return "CAPABILITY_NAMED_IAM"
		}
		return "CAPABILITY_IAM"
	case "AWS::IAM::Policy":
		return "CAPABILITY_IAM"
	}
	return ""
}

// capabilitiesReason is ValidateTemplate's and GetTemplateSummary's
// CapabilitiesReason, naming the resource types that need a capability.
func capabilitiesReason(types []string) string {
	sorted := dedupe(types)
	sort.Strings(sorted)
	return "The following resource(s) require capabilities: [" + strings.Join(sorted, ", ") + "]"
}

// iamTypes are the types of the plan's resources that need a capability.
func (p *plan) iamTypes() []string {
	var types []string
	for _, id := range p.order {
		if def := p.tmpl.Resources[id]; iamCapability(def) != "" {
			types = append(types, def.Type)
		}
	}
	return types
}
