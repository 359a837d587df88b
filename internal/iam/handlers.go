package iam

import (
	"context"
	"encoding/json"

	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/policy"
	"github.com/sluice-dev/sluice/internal/sigv4"
	"github.com/sluice-dev/sluice/internal/store"
)

// call is one Query-protocol request.
type call struct {
	ctx    context.Context
	action string
	p      url.Values
	caller *Identity // nil: the root (bootstrap admin) key, or open mode
}

func (c *call) get(name string) string { return c.p.Get(name) }

type handler func(s *Service, c *call) (any, error)

// IAM returns the IAM control plane handler.
func (s *Service) IAM() http.Handler {
	return s.handlerFor(awsproto.IAMNamespace, "2010-05-08", iamActions)
}

// STS returns the STS handler.
func (s *Service) STS() http.Handler {
	return s.handlerFor(awsproto.STSNamespace, "2011-06-15", stsActions)
}

func (s *Service) handlerFor(ns, version string, actions map[string]handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := queryParams(r)
		if err != nil {
			awsproto.WriteQueryXMLError(w, r, ns, err)
			return
		}
		action := p.Get("Action")
		h, ok := actions[action]
		if !ok {
			awsproto.WriteQueryXMLError(w, r, ns, awsproto.Errorf(http.StatusBadRequest, "InvalidAction",
				"Could not find operation %s for version %s", action, version))
			return
		}
		c := &call{ctx: r.Context(), action: action, p: p}
		if id, ok := sigv4.IdentityFrom(r.Context()); ok {
			if ident, ok := s.Resolve(id.AccessKeyID, id.SessionToken); ok {
				c.caller = ident
			}
		}
		result, err := h(s, c)
		if err != nil {
			awsproto.WriteQueryXMLError(w, r, ns, err)
			return
		}
		awsproto.WriteQueryXML(w, r, ns, action, result)
	})
}

func queryParams(r *http.Request) (url.Values, error) {
	p := r.URL.Query()
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, awsproto.Errorf(http.StatusBadRequest, "MalformedQueryString", "could not read the request body")
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, awsproto.Errorf(http.StatusBadRequest, "MalformedQueryString", "the request body is not a form")
		}
		for k, v := range form {
			p[k] = v
		}
	}
	return p, nil
}

// authorize requires an IAM caller's identity policies to allow iam:{Action} on
// resource; the root key may do anything.
func (s *Service) authorize(c *call, service, resource string) error {
	if c.caller == nil {
		return nil
	}
	action := service + ":" + c.action
	if c.caller.Allowed(action, resource, nil) == policy.Allow {
		return nil
	}
	return awsproto.Errorf(http.StatusForbidden, "AccessDenied",
		"User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		c.caller.ARN, action, resource, action)
}

// Errors, worded as IAM words them.
func noSuchEntity(format string, args ...any) error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchEntity", format, args...)
}
func alreadyExists(format string, args ...any) error {
	return awsproto.Errorf(http.StatusConflict, "EntityAlreadyExists", format, args...)
}
func deleteConflict(format string, args ...any) error {
	return awsproto.Errorf(http.StatusConflict, "DeleteConflict", format, args...)
}
func validation(format string, args ...any) error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

var nameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

func (c *call) name(param string) (string, error) {
	v := c.get(param)
	if v == "" {
		return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(param))
	}
	if !nameRE.MatchString(v) {
		return "", validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", v, lowerFirst(param))
	}
	return v, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// policyDocument validates a policy document parameter (MalformedPolicyDocument).
func policyDocument(c *call, param string, kind policy.Kind) (string, error) {
	doc := c.get(param)
	if doc == "" {
		return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(param))
	}
	if len(doc) > 10240 {
		return "", awsproto.Errorf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PolicySize: 10240")
	}
	if _, err := policy.Parse([]byte(doc), policy.Options{Kind: kind}); err != nil {
		return "", awsproto.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "%s", err.Error())
	}
	return doc, nil
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// XML shapes.

type xmlUser struct {
	Path       string `xml:"Path"`
	UserName   string `xml:"UserName"`
	UserID     string `xml:"UserId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func (s *Service) userXML(u *userRecord) xmlUser {
	return xmlUser{normPath(u.Path), u.UserName, u.UserID, s.userARN(u.Path, u.UserName), isoTime(u.CreateDate)}
}

type xmlRole struct {
	Path                     string `xml:"Path"`
	RoleName                 string `xml:"RoleName"`
	RoleID                   string `xml:"RoleId"`
	Arn                      string `xml:"Arn"`
	CreateDate               string `xml:"CreateDate"`
	AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
	Description              string `xml:"Description,omitempty"`
	MaxSessionDuration       int    `xml:"MaxSessionDuration"`
}

func (s *Service) roleXML(r *roleRecord) xmlRole {
	return xmlRole{normPath(r.Path), r.RoleName, r.RoleID, s.roleARN(r.Path, r.RoleName), isoTime(r.CreateDate),
		url.QueryEscape(r.AssumeRolePolicyDocument), r.Description, r.MaxSessionDuration}
}

type xmlPolicy struct {
	PolicyName       string `xml:"PolicyName"`
	PolicyID         string `xml:"PolicyId"`
	Arn              string `xml:"Arn"`
	Path             string `xml:"Path"`
	DefaultVersionID string `xml:"DefaultVersionId"`
	AttachmentCount  int    `xml:"AttachmentCount"`
	IsAttachable     bool   `xml:"IsAttachable"`
	Description      string `xml:"Description,omitempty"`
	CreateDate       string `xml:"CreateDate"`
	UpdateDate       string `xml:"UpdateDate"`
}

type xmlAttached struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

// Loading records.

func getRec[T any](rd store.Reader, key string) (*T, error) {
	v, ok, err := store.GetRecord[T](rd, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotFound
	}
	return v, nil
}

func (s *Service) loadUser(rd store.Reader, name string) (*userRecord, error) {
	u, err := getRec[userRecord](rd, userPrefix+name)
	if err == errNotFound {
		return nil, noSuchEntity("The user with name %s cannot be found.", name)
	}
	return u, err
}

func (s *Service) loadRole(rd store.Reader, name string) (*roleRecord, error) {
	r, err := getRec[roleRecord](rd, rolePrefix+name)
	if err == errNotFound {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, err
}

// loadPolicyByARN finds a managed policy of this account by ARN.
func (s *Service) loadPolicyByARN(rd store.Reader, arn string) (*managedPolicy, error) {
	prefix := "arn:aws:iam::" + s.account + ":policy/"
	rest, ok := strings.CutPrefix(arn, prefix)
	errMissing := noSuchEntity("Policy %s does not exist or is not attachable.", arn)
	if !ok || rest == "" {
		return nil, errMissing
	}
	name := rest[strings.LastIndex(rest, "/")+1:]
	p, err := getRec[managedPolicy](rd, policyPrefix+name)
	if err == errNotFound || (err == nil && s.policyARN(p.Path, p.PolicyName) != arn) {
		return nil, errMissing
	}
	return p, err
}

func (s *Service) reader(c *call) store.Reader { return store.ReaderOf(c.ctx, s.store) }

// Actions.

var iamActions = map[string]handler{
	"CreateUser":               (*Service).createUser,
	"GetUser":                  (*Service).getUser,
	"ListUsers":                (*Service).listUsers,
	"DeleteUser":               (*Service).deleteUser,
	"CreateAccessKey":          (*Service).createAccessKey,
	"ListAccessKeys":           (*Service).listAccessKeys,
	"UpdateAccessKey":          (*Service).updateAccessKey,
	"DeleteAccessKey":          (*Service).deleteAccessKey,
	"PutUserPolicy":            (*Service).putUserPolicy,
	"GetUserPolicy":            (*Service).getUserPolicy,
	"ListUserPolicies":         (*Service).listUserPolicies,
	"DeleteUserPolicy":         (*Service).deleteUserPolicy,
	"CreatePolicy":             (*Service).createPolicy,
	"GetPolicy":                (*Service).getPolicy,
	"GetPolicyVersion":         (*Service).getPolicyVersion,
	"ListPolicies":             (*Service).listPolicies,
	"DeletePolicy":             (*Service).deletePolicy,
	"AttachUserPolicy":         (*Service).attachUserPolicy,
	"DetachUserPolicy":         (*Service).detachUserPolicy,
	"ListAttachedUserPolicies": (*Service).listAttachedUserPolicies,
	"CreateRole":               (*Service).createRole,
	"GetRole":                  (*Service).getRole,
	"ListRoles":                (*Service).listRoles,
	"DeleteRole":               (*Service).deleteRole,
	"PutRolePolicy":            (*Service).putRolePolicy,
	"GetRolePolicy":            (*Service).getRolePolicy,
	"ListRolePolicies":         (*Service).listRolePolicies,
	"DeleteRolePolicy":         (*Service).deleteRolePolicy,
	"AttachRolePolicy":         (*Service).attachRolePolicy,
	"DetachRolePolicy":         (*Service).detachRolePolicy,
	"ListAttachedRolePolicies": (*Service).listAttachedRolePolicies,

	"CreateGroup":               (*Service).createGroup,
	"GetGroup":                  (*Service).getGroup,
	"ListGroups":                (*Service).listGroups,
	"DeleteGroup":               (*Service).deleteGroup,
	"AddUserToGroup":            (*Service).addUserToGroup,
	"RemoveUserFromGroup":       (*Service).removeUserFromGroup,
	"ListGroupsForUser":         (*Service).listGroupsForUser,
	"PutGroupPolicy":            (*Service).putGroupPolicy,
	"GetGroupPolicy":            (*Service).getGroupPolicy,
	"ListGroupPolicies":         (*Service).listGroupPolicies,
	"DeleteGroupPolicy":         (*Service).deleteGroupPolicy,
	"AttachGroupPolicy":         (*Service).attachGroupPolicy,
	"DetachGroupPolicy":         (*Service).detachGroupPolicy,
	"ListAttachedGroupPolicies": (*Service).listAttachedGroupPolicies,
}

func (s *Service) createUser(c *call) (any, error) {
	name, err := c.name("UserName")
	if err != nil {
		return nil, err
	}
	path := normPath(c.get("Path"))
	if err := s.authorize(c, "iam", s.userARN(path, name)); err != nil {
		return nil, err
	}
	u := &userRecord{UserName: name, UserID: newID("AIDA", 17), Path: path, CreateDate: s.now()}
	err = s.store.Update(c.ctx, func(tx store.Tx) error {
		if _, err := getRec[userRecord](tx, userPrefix+name); err == nil {
			return alreadyExists("User with name %s already exists.", name)
		}
		return store.PutRecord(tx, userPrefix+name, u)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		User xmlUser `xml:"User"`
	}{s.userXML(u)}, nil
}

// getUser without UserName describes the caller (as IAM does for a user's own key).
func (s *Service) getUser(c *call) (any, error) {
	name := c.get("UserName")
	if name == "" && c.caller != nil {
		name = c.caller.Name
	}
	if name == "" {
		return nil, validation("Must specify userName when calling with non-User credentials")
	}
	u, err := s.loadUser(s.reader(c), name)
	if err != nil {
		return nil, err
	}
	if c.caller == nil || c.caller.Name != name {
		if err := s.authorize(c, "iam", s.userARN(u.Path, name)); err != nil {
			return nil, err
		}
	}
	return struct {
		User xmlUser `xml:"User"`
	}{s.userXML(u)}, nil
}

func (s *Service) listUsers(c *call) (any, error) {
	if err := s.authorize(c, "iam", "arn:aws:iam::"+s.account+":user/"); err != nil {
		return nil, err
	}
	users, err := store.ListRecords[userRecord](s.reader(c), userPrefix)
	if err != nil {
		return nil, err
	}
	prefix := c.get("PathPrefix")
	out := []xmlUser{}
	for _, u := range users {
		if prefix == "" || strings.HasPrefix(normPath(u.Path), prefix) {
			out = append(out, s.userXML(u))
		}
	}
	return struct {
		Users       []xmlUser `xml:"Users>member"`
		IsTruncated bool      `xml:"IsTruncated"`
	}{out, false}, nil
}

// deleteUser refuses while the user has access keys or policies, as IAM does.
func (s *Service) deleteUser(c *call) (any, error) {
	name, err := c.name("UserName")
	if err != nil {
		return nil, err
	}
	return nil, s.store.Update(c.ctx, func(tx store.Tx) error {
		u, err := s.loadUser(tx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", s.userARN(u.Path, name)); err != nil {
			return err
		}
		keys, err := store.ListRecords[accessKeyRecord](tx, accessKeyPrefix)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.UserName == name {
				return deleteConflict("Cannot delete entity, must delete access keys first.")
			}
		}
		if len(u.Inline) > 0 || len(u.Attached) > 0 {
			return deleteConflict("Cannot delete entity, must delete policies first.")
		}
		if in, err := userInGroups(tx, name); err != nil {
			return err
		} else if in {
			return deleteConflict("Cannot delete entity, must remove users from group first.")
		}
		return tx.Delete(userPrefix + name)
	})
}

// maxAccessKeysPerUser is IAM's quota.
const maxAccessKeysPerUser = 2

func (s *Service) keyOwner(c *call) (string, error) {
	name := c.get("UserName")
	if name == "" && c.caller != nil && c.caller.SessionToken == "" {
		name = c.caller.Name
	}
	if name == "" {
		return "", validation("Must specify userName when calling with non-User credentials")
	}
	return name, nil
}

func (s *Service) createAccessKey(c *call) (any, error) {
	name, err := s.keyOwner(c)
	if err != nil {
		return nil, err
	}
	k := &accessKeyRecord{AccessKeyID: newID("AKIA", 16), SecretAccessKey: newSecret(40), UserName: name, Status: "Active", CreateDate: s.now()}
	err = s.store.Update(c.ctx, func(tx store.Tx) error {
		u, err := s.loadUser(tx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", s.userARN(u.Path, name)); err != nil {
			return err
		}
		keys, err := store.ListRecords[accessKeyRecord](tx, accessKeyPrefix)
		if err != nil {
			return err
		}
		n := 0
		for _, other := range keys {
			if other.UserName == name {
				n++
			}
		}
		if n >= maxAccessKeysPerUser {
			return awsproto.Errorf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
		}
		return store.PutRecord(tx, accessKeyPrefix+k.AccessKeyID, k)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		AccessKey xmlAccessKey `xml:"AccessKey"`
	}{xmlAccessKey{k.UserName, k.AccessKeyID, k.Status, k.SecretAccessKey, isoTime(k.CreateDate)}}, nil
}

func (s *Service) listAccessKeys(c *call) (any, error) {
	name, err := s.keyOwner(c)
	if err != nil {
		return nil, err
	}
	rd := s.reader(c)
	u, err := s.loadUser(rd, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "iam", s.userARN(u.Path, name)); err != nil {
		return nil, err
	}
	keys, err := store.ListRecords[accessKeyRecord](rd, accessKeyPrefix)
	if err != nil {
		return nil, err
	}
	out := []xmlAccessKey{}
	for _, k := range keys {
		if k.UserName == name {
			out = append(out, xmlAccessKey{k.UserName, k.AccessKeyID, k.Status, "", isoTime(k.CreateDate)})
		}
	}
	return struct {
		AccessKeyMetadata []xmlAccessKey `xml:"AccessKeyMetadata>member"`
		IsTruncated       bool           `xml:"IsTruncated"`
	}{out, false}, nil
}

func (s *Service) modifyKey(c *call, fn func(tx store.Tx, k *accessKeyRecord) error) error {
	id := c.get("AccessKeyId")
	name, err := s.keyOwner(c)
	if err != nil {
		return err
	}
	return s.store.Update(c.ctx, func(tx store.Tx) error {
		u, err := s.loadUser(tx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", s.userARN(u.Path, name)); err != nil {
			return err
		}
		k, err := getRec[accessKeyRecord](tx, accessKeyPrefix+id)
		if err == errNotFound || (err == nil && k.UserName != name) {
			return noSuchEntity("The Access Key with id %s cannot be found.", id)
		}
		if err != nil {
			return err
		}
		return fn(tx, k)
	})
}

func (s *Service) updateAccessKey(c *call) (any, error) {
	status := c.get("Status")
	if status != "Active" && status != "Inactive" {
		return nil, validation("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	return nil, s.modifyKey(c, func(tx store.Tx, k *accessKeyRecord) error {
		k.Status = status
		return store.PutRecord(tx, accessKeyPrefix+k.AccessKeyID, k)
	})
}

func (s *Service) deleteAccessKey(c *call) (any, error) {
	return nil, s.modifyKey(c, func(tx store.Tx, k *accessKeyRecord) error {
		return tx.Delete(accessKeyPrefix + k.AccessKeyID)
	})
}

// Inline policies of users and roles share their code through principalPolicies.

type principalRef struct {
	key    string // store key of the user or role record
	arn    string
	entity string // "user" or "role"
	name   string
}

func (s *Service) userRef(c *call) (principalRef, error) {
	name, err := c.name("UserName")
	return principalRef{userPrefix + name, s.userARN("/", name), "user", name}, err
}

func (s *Service) roleRef(c *call) (principalRef, error) {
	name, err := c.name("RoleName")
	return principalRef{rolePrefix + name, s.roleARN("/", name), "role", name}, err
}

// editPolicies loads the user or role, lets fn change its inline and attached
// policies, and stores it.
func (s *Service) editPolicies(c *call, ref principalRef, fn func(inline map[string]string, attached *[]string) error) error {
	return s.store.Update(c.ctx, func(tx store.Tx) error {
		if err := s.authorize(c, "iam", ref.arn); err != nil {
			return err
		}
		if ref.entity == "user" {
			u, err := s.loadUser(tx, ref.name)
			if err != nil {
				return err
			}
			if u.Inline == nil {
				u.Inline = map[string]string{}
			}
			if err := fn(u.Inline, &u.Attached); err != nil {
				return err
			}
			return store.PutRecord(tx, ref.key, u)
		}
		if ref.entity == "group" {
			g, err := s.loadGroup(tx, ref.name)
			if err != nil {
				return err
			}
			if g.Inline == nil {
				g.Inline = map[string]string{}
			}
			if err := fn(g.Inline, &g.Attached); err != nil {
				return err
			}
			return store.PutRecord(tx, ref.key, g)
		}
		r, err := s.loadRole(tx, ref.name)
		if err != nil {
			return err
		}
		if r.Inline == nil {
			r.Inline = map[string]string{}
		}
		if err := fn(r.Inline, &r.Attached); err != nil {
			return err
		}
		return store.PutRecord(tx, ref.key, r)
	})
}

func (s *Service) readPolicies(c *call, ref principalRef) (map[string]string, []string, error) {
	if err := s.authorize(c, "iam", ref.arn); err != nil {
		return nil, nil, err
	}
	if ref.entity == "user" {
		u, err := s.loadUser(s.reader(c), ref.name)
		if err != nil {
			return nil, nil, err
		}
		return u.Inline, u.Attached, nil
	}
	if ref.entity == "group" {
		g, err := s.loadGroup(s.reader(c), ref.name)
		if err != nil {
			return nil, nil, err
		}
		return g.Inline, g.Attached, nil
	}
	r, err := s.loadRole(s.reader(c), ref.name)
	if err != nil {
		return nil, nil, err
	}
	return r.Inline, r.Attached, nil
}

func (s *Service) putInline(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	pname, err := c.name("PolicyName")
	if err != nil {
		return nil, err
	}
	doc, err := policyDocument(c, "PolicyDocument", policy.Identity)
	if err != nil {
		return nil, err
	}
	return nil, s.editPolicies(c, ref, func(inline map[string]string, _ *[]string) error {
		inline[pname] = doc
		return nil
	})
}

func (s *Service) getInline(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	pname := c.get("PolicyName")
	inline, _, err := s.readPolicies(c, ref)
	if err != nil {
		return nil, err
	}
	doc, ok := inline[pname]
	if !ok {
		return nil, noSuchEntity("The %s policy with name %s cannot be found.", ref.entity, pname)
	}
	if ref.entity == "group" {
		return struct {
			GroupName      string `xml:"GroupName"`
			PolicyName     string `xml:"PolicyName"`
			PolicyDocument string `xml:"PolicyDocument"`
		}{ref.name, pname, url.QueryEscape(doc)}, nil
	}
	if ref.entity == "user" {
		return struct {
			UserName       string `xml:"UserName"`
			PolicyName     string `xml:"PolicyName"`
			PolicyDocument string `xml:"PolicyDocument"`
		}{ref.name, pname, url.QueryEscape(doc)}, nil
	}
	return struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{ref.name, pname, url.QueryEscape(doc)}, nil
}

func (s *Service) listInline(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	inline, _, err := s.readPolicies(c, ref)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for n := range inline {
		names = append(names, n)
	}
	sort.Strings(names)
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	}{names, false}, nil
}

func (s *Service) deleteInline(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	pname := c.get("PolicyName")
	return nil, s.editPolicies(c, ref, func(inline map[string]string, _ *[]string) error {
		if _, ok := inline[pname]; !ok {
			return noSuchEntity("The %s policy with name %s cannot be found.", ref.entity, pname)
		}
		delete(inline, pname)
		return nil
	})
}

func (s *Service) attach(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	arn := c.get("PolicyArn")
	if _, err := s.loadPolicyByARN(s.reader(c), arn); err != nil {
		return nil, err
	}
	return nil, s.editPolicies(c, ref, func(_ map[string]string, attached *[]string) error {
		if !slices.Contains(*attached, arn) {
			*attached = append(*attached, arn)
		}
		return nil
	})
}

func (s *Service) detach(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	arn := c.get("PolicyArn")
	return nil, s.editPolicies(c, ref, func(_ map[string]string, attached *[]string) error {
		if !slices.Contains(*attached, arn) {
			return noSuchEntity("Policy %s was not found.", arn)
		}
		*attached = slices.DeleteFunc(*attached, func(a string) bool { return a == arn })
		return nil
	})
}

func (s *Service) listAttached(c *call, ref principalRef, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	_, attached, err := s.readPolicies(c, ref)
	if err != nil {
		return nil, err
	}
	out := []xmlAttached{}
	for _, a := range attached {
		out = append(out, xmlAttached{a[strings.LastIndex(a, "/")+1:], a})
	}
	return struct {
		AttachedPolicies []xmlAttached `xml:"AttachedPolicies>member"`
		IsTruncated      bool          `xml:"IsTruncated"`
	}{out, false}, nil
}

func (s *Service) putUserPolicy(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.putInline(c, r, err)
}
func (s *Service) getUserPolicy(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.getInline(c, r, err)
}
func (s *Service) listUserPolicies(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.listInline(c, r, err)
}
func (s *Service) deleteUserPolicy(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.deleteInline(c, r, err)
}
func (s *Service) attachUserPolicy(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.attach(c, r, err)
}
func (s *Service) detachUserPolicy(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.detach(c, r, err)
}
func (s *Service) listAttachedUserPolicies(c *call) (any, error) {
	r, err := s.userRef(c)
	return s.listAttached(c, r, err)
}
func (s *Service) putRolePolicy(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.putInline(c, r, err)
}
func (s *Service) getRolePolicy(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.getInline(c, r, err)
}
func (s *Service) listRolePolicies(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.listInline(c, r, err)
}
func (s *Service) deleteRolePolicy(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.deleteInline(c, r, err)
}
func (s *Service) attachRolePolicy(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.attach(c, r, err)
}
func (s *Service) detachRolePolicy(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.detach(c, r, err)
}
func (s *Service) listAttachedRolePolicies(c *call) (any, error) {
	r, err := s.roleRef(c)
	return s.listAttached(c, r, err)
}

// Managed policies (one version, v1).

func (s *Service) policyXML(p *managedPolicy, attachments int) xmlPolicy {
	return xmlPolicy{p.PolicyName, p.PolicyID, s.policyARN(p.Path, p.PolicyName), normPath(p.Path), "v1", attachments, true,
		p.Description, isoTime(p.CreateDate), isoTime(p.CreateDate)}
}

// attachments counts the users, roles and groups a policy is attached to.
func (s *Service) attachments(rd store.Reader, arn string) (int, error) {
	n := 0
	users, err := store.ListRecords[userRecord](rd, userPrefix)
	if err != nil {
		return 0, err
	}
	for _, u := range users {
		if slices.Contains(u.Attached, arn) {
			n++
		}
	}
	roles, err := store.ListRecords[roleRecord](rd, rolePrefix)
	if err != nil {
		return 0, err
	}
	for _, r := range roles {
		if slices.Contains(r.Attached, arn) {
			n++
		}
	}
	groups, err := store.ListRecords[groupRecord](rd, groupPrefix)
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		if slices.Contains(g.Attached, arn) {
			n++
		}
	}
	return n, nil
}

func (s *Service) createPolicy(c *call) (any, error) {
	name, err := c.name("PolicyName")
	if err != nil {
		return nil, err
	}
	doc, err := policyDocument(c, "PolicyDocument", policy.Identity)
	if err != nil {
		return nil, err
	}
	p := &managedPolicy{PolicyName: name, PolicyID: newID("ANPA", 17), Path: normPath(c.get("Path")), Description: c.get("Description"),
		Document: doc, CreateDate: s.now()}
	if err := s.authorize(c, "iam", s.policyARN(p.Path, name)); err != nil {
		return nil, err
	}
	err = s.store.Update(c.ctx, func(tx store.Tx) error {
		if _, err := getRec[managedPolicy](tx, policyPrefix+name); err == nil {
			return alreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
		return store.PutRecord(tx, policyPrefix+name, p)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{s.policyXML(p, 0)}, nil
}

func (s *Service) getPolicy(c *call) (any, error) {
	arn := c.get("PolicyArn")
	rd := s.reader(c)
	p, err := s.loadPolicyByARN(rd, arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "iam", arn); err != nil {
		return nil, err
	}
	n, err := s.attachments(rd, arn)
	if err != nil {
		return nil, err
	}
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{s.policyXML(p, n)}, nil
}

func (s *Service) getPolicyVersion(c *call) (any, error) {
	arn := c.get("PolicyArn")
	p, err := s.loadPolicyByARN(s.reader(c), arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "iam", arn); err != nil {
		return nil, err
	}
	if v := c.get("VersionId"); v != "v1" {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, v)
	}
	return struct {
		Version struct {
			Document         string `xml:"Document"`
			VersionID        string `xml:"VersionId"`
			IsDefaultVersion bool   `xml:"IsDefaultVersion"`
			CreateDate       string `xml:"CreateDate"`
		} `xml:"PolicyVersion"`
	}{struct {
		Document         string `xml:"Document"`
		VersionID        string `xml:"VersionId"`
		IsDefaultVersion bool   `xml:"IsDefaultVersion"`
		CreateDate       string `xml:"CreateDate"`
	}{url.QueryEscape(p.Document), "v1", true, isoTime(p.CreateDate)}}, nil
}

func (s *Service) listPolicies(c *call) (any, error) {
	if err := s.authorize(c, "iam", "arn:aws:iam::"+s.account+":policy/"); err != nil {
		return nil, err
	}
	rd := s.reader(c)
	ps, err := store.ListRecords[managedPolicy](rd, policyPrefix)
	if err != nil {
		return nil, err
	}
	out := []xmlPolicy{}
	for _, p := range ps {
		n, err := s.attachments(rd, s.policyARN(p.Path, p.PolicyName))
		if err != nil {
			return nil, err
		}
		if c.get("OnlyAttached") == "true" && n == 0 {
			continue
		}
		out = append(out, s.policyXML(p, n))
	}
	return struct {
		Policies    []xmlPolicy `xml:"Policies>member"`
		IsTruncated bool        `xml:"IsTruncated"`
	}{out, false}, nil
}

func (s *Service) deletePolicy(c *call) (any, error) {
	arn := c.get("PolicyArn")
	return nil, s.store.Update(c.ctx, func(tx store.Tx) error {
		p, err := s.loadPolicyByARN(tx, arn)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", arn); err != nil {
			return err
		}
		n, err := s.attachments(tx, arn)
		if err != nil {
			return err
		}
		if n > 0 {
			return deleteConflict("Cannot delete a policy attached to entities.")
		}
		return tx.Delete(policyPrefix + p.PolicyName)
	})
}

// Roles.

func (s *Service) createRole(c *call) (any, error) {
	name, err := c.name("RoleName")
	if err != nil {
		return nil, err
	}
	doc, err := policyDocument(c, "AssumeRolePolicyDocument", policy.Trust)
	if err != nil {
		return nil, err
	}
	maxDur := 3600
	if v := c.get("MaxSessionDuration"); v != "" {
		if maxDur, err = strconv.Atoi(v); err != nil || maxDur < 3600 || maxDur > 43200 {
			return nil, validation("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", v)
		}
	}
	r := &roleRecord{RoleName: name, RoleID: newID("AROA", 17), Path: normPath(c.get("Path")), Description: c.get("Description"),
		CreateDate: s.now(), AssumeRolePolicyDocument: doc, MaxSessionDuration: maxDur}
	if err := s.authorize(c, "iam", s.roleARN(r.Path, name)); err != nil {
		return nil, err
	}
	err = s.store.Update(c.ctx, func(tx store.Tx) error {
		if _, err := getRec[roleRecord](tx, rolePrefix+name); err == nil {
			return alreadyExists("Role with name %s already exists.", name)
		}
		return store.PutRecord(tx, rolePrefix+name, r)
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Role xmlRole `xml:"Role"`
	}{s.roleXML(r)}, nil
}

func (s *Service) getRole(c *call) (any, error) {
	name, err := c.name("RoleName")
	if err != nil {
		return nil, err
	}
	r, err := s.loadRole(s.reader(c), name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "iam", s.roleARN(r.Path, name)); err != nil {
		return nil, err
	}
	return struct {
		Role xmlRole `xml:"Role"`
	}{s.roleXML(r)}, nil
}

func (s *Service) listRoles(c *call) (any, error) {
	if err := s.authorize(c, "iam", "arn:aws:iam::"+s.account+":role/"); err != nil {
		return nil, err
	}
	roles, err := store.ListRecords[roleRecord](s.reader(c), rolePrefix)
	if err != nil {
		return nil, err
	}
	out := []xmlRole{}
	for _, r := range roles {
		out = append(out, s.roleXML(r))
	}
	return struct {
		Roles       []xmlRole `xml:"Roles>member"`
		IsTruncated bool      `xml:"IsTruncated"`
	}{out, false}, nil
}

func (s *Service) deleteRole(c *call) (any, error) {
	name, err := c.name("RoleName")
	if err != nil {
		return nil, err
	}
	return nil, s.store.Update(c.ctx, func(tx store.Tx) error {
		r, err := s.loadRole(tx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(c, "iam", s.roleARN(r.Path, name)); err != nil {
			return err
		}
		if len(r.Inline) > 0 || len(r.Attached) > 0 {
			return deleteConflict("Cannot delete entity, must delete policies first.")
		}
		return tx.Delete(rolePrefix + name)
	})
}

// STS.

var stsActions = map[string]handler{
	"GetCallerIdentity": (*Service).getCallerIdentity,
	"AssumeRole":        (*Service).assumeRole,
}

func (s *Service) getCallerIdentity(c *call) (any, error) {
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	if c.caller == nil {
		return result{"arn:aws:iam::" + s.account + ":root", s.account, s.account}, nil
	}
	return result{c.caller.ARN, c.caller.UserID, s.account}, nil
}

// assumeRole issues temporary credentials for a role whose trust policy allows the
// caller sts:AssumeRole (the root key is the account's root principal).
func (s *Service) assumeRole(c *call) (any, error) {
	roleARN, session := c.get("RoleArn"), c.get("RoleSessionName")
	if roleARN == "" || session == "" {
		return nil, validation("1 validation error detected: Value null at 'roleArn' or 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	if !regexp.MustCompile(`^[\w+=,.@-]{2,64}$`).MatchString(session) {
		return nil, validation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session)
	}
	prefix := "arn:aws:iam::" + s.account + ":role/"
	rest, ok := strings.CutPrefix(roleARN, prefix)
	name := rest[strings.LastIndex(rest, "/")+1:]
	var r *roleRecord
	var err error
	if ok {
		r, err = s.loadRole(s.reader(c), name)
	}
	if !ok || err != nil || s.roleARN(r.Path, r.RoleName) != roleARN {
		return nil, s.notAuthorizedToAssume(c, roleARN)
	}
	dur := 3600
	if v := c.get("DurationSeconds"); v != "" {
		if dur, err = strconv.Atoi(v); err != nil || dur < 900 || dur > r.MaxSessionDuration {
			return nil, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	}
	trust, err := policy.Parse([]byte(r.AssumeRolePolicyDocument), policy.Options{Kind: policy.Trust})
	if err != nil {
		return nil, s.notAuthorizedToAssume(c, roleARN)
	}
	p := policy.Principal{ARN: "arn:aws:iam::" + s.account + ":root", Account: s.account}
	if c.caller != nil {
		p = policy.Principal{ARN: c.caller.ARN, Account: s.account}
	}
	if trust.Evaluate(&policy.Request{Principal: p, Action: "sts:AssumeRole", Resource: roleARN}) != policy.Allow {
		return nil, s.notAuthorizedToAssume(c, roleARN)
	}
	se := &sessionRecord{AccessKeyID: newID("ASIA", 16), SecretAccessKey: newSecret(40), SessionToken: newSecret(356),
		RoleName: r.RoleName, SessionName: session, Expiration: s.now().Add(time.Duration(dur) * time.Second).Truncate(time.Second)}
	if err := s.store.Update(c.ctx, func(tx store.Tx) error {
		s.pruneSessions(tx)
		return store.PutRecord(tx, sessionPrefix+se.AccessKeyID, se)
	}); err != nil {
		return nil, err
	}
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type user struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	return struct {
		Credentials     creds `xml:"Credentials"`
		AssumedRoleUser user  `xml:"AssumedRoleUser"`
	}{creds{se.AccessKeyID, se.SecretAccessKey, se.SessionToken, isoTime(se.Expiration)},
		user{r.RoleID + ":" + session, "arn:aws:sts::" + s.account + ":assumed-role/" + r.RoleName + "/" + session}}, nil
}

// pruneSessions deletes a few expired sessions, so they do not pile up.
func (s *Service) pruneSessions(tx store.Tx) {
	kvs, err := tx.List(sessionPrefix)
	if err != nil {
		return
	}
	now, n := s.now(), 0
	for _, kv := range kvs {
		var se sessionRecord
		if json.Unmarshal(kv.Value, &se) == nil && now.After(se.Expiration) {
			_ = tx.Delete(kv.Key)
			if n++; n >= 50 {
				return
			}
		}
	}
}

func (s *Service) notAuthorizedToAssume(c *call, roleARN string) error {
	who := "arn:aws:iam::" + s.account + ":root"
	if c.caller != nil {
		who = c.caller.ARN
	}
	return awsproto.Errorf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", who, roleARN)
}
