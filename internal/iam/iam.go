// Package iam is the IAM and STS subset Sluice speaks (the Query protocol with XML
// answers, as the AWS CLI and boto3 call it): users with access keys, inline and
// managed policies, groups, roles with trust policies, GetCallerIdentity and AssumeRole. It
// owns who a SigV4 access key belongs to: its watch-fed cache answers the verifier's
// secret lookups and resolves a key to a principal and its identity policies without
// reading the store on the request path.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/internal/policy"
	"github.com/sluice-dev/sluice/internal/store"
)

// Store key prefixes.
const (
	Prefix          = "/iam/"
	userPrefix      = "/iam/users/"      // + name → userRecord
	rolePrefix      = "/iam/roles/"      // + name → roleRecord
	policyPrefix    = "/iam/policies/"   // + name → managedPolicy
	accessKeyPrefix = "/iam/accesskeys/" // + access key id → accessKeyRecord
	sessionPrefix   = "/iam/sessions/"   // + access key id → sessionRecord (AssumeRole)
)

type userRecord struct {
	UserName   string            `json:"userName"`
	UserID     string            `json:"userId"`
	Path       string            `json:"path"`
	CreateDate time.Time         `json:"createDate"`
	Inline     map[string]string `json:"inline,omitempty"`   // policy name → document
	Attached   []string          `json:"attached,omitempty"` // managed policy ARNs
}

type roleRecord struct {
	RoleName                 string            `json:"roleName"`
	RoleID                   string            `json:"roleId"`
	Path                     string            `json:"path"`
	Description              string            `json:"description,omitempty"`
	CreateDate               time.Time         `json:"createDate"`
	AssumeRolePolicyDocument string            `json:"assumeRolePolicyDocument"`
	MaxSessionDuration       int               `json:"maxSessionDuration"`
	Inline                   map[string]string `json:"inline,omitempty"`
	Attached                 []string          `json:"attached,omitempty"`
}

type managedPolicy struct {
	PolicyName  string    `json:"policyName"`
	PolicyID    string    `json:"policyId"`
	Path        string    `json:"path"`
	Description string    `json:"description,omitempty"`
	Document    string    `json:"document"`
	CreateDate  time.Time `json:"createDate"`
}

type accessKeyRecord struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	UserName        string    `json:"userName"`
	Status          string    `json:"status"` // Active | Inactive
	CreateDate      time.Time `json:"createDate"`
}

type sessionRecord struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken"`
	RoleName        string    `json:"roleName"`
	SessionName     string    `json:"sessionName"`
	Expiration      time.Time `json:"expiration"`
}

// Options configure a Service.
type Options struct {
	Store     store.Store
	AccountID string
	Logger    *slog.Logger
	// Now is the clock (session expiry); time.Now when nil.
	Now func() time.Time
}

// Service serves IAM and STS and resolves access keys.
type Service struct {
	store   store.Store
	account string
	log     *slog.Logger
	now     func() time.Time

	mu    sync.RWMutex // guards cache
	cache *identities
}

// New returns a Service; Start loads and watches the store.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, account: opts.AccountID, log: opts.Logger, now: opts.Now, cache: &identities{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Start loads the identities and keeps them current until ctx ends.
func (s *Service) Start(ctx context.Context) error {
	err := store.Follow(ctx, s.store, Prefix, s.reload, func(err error) {
		s.log.Warn("iam: reload failed; keeping the previous identities", "err", err)
	})
	if err != nil {
		return fmt.Errorf("iam: %w", err)
	}
	return nil
}

// identities is the cache: every access key with its principal and compiled
// policies. It is replaced whole on every change.
type identities struct {
	keys map[string]*Identity
	// roles are the roles by ARN, as an identity without a key: what a Lambda
	// function's session acts as.
	roles map[string]*Identity
}

// Identity is who an access key belongs to, with the identity policies that apply.
type Identity struct {
	AccessKeyID string
	secret      string
	active      bool
	// SessionToken and Expiration are set for AssumeRole credentials.
	SessionToken string
	Expiration   time.Time
	// ARN is the user's ARN or the assumed role's session ARN; UserID its unique id;
	// Name the user or role session name.
	ARN     string
	UserID  string
	Name    string
	Account string
	// Policies are the user's (or role's) inline and attached managed policies, and
	// for a user those of every group it belongs to.
	Policies []*policy.Document
}

func (s *Service) reload(ctx context.Context) error {
	kvs, err := s.store.List(ctx, Prefix)
	if err != nil {
		return fmt.Errorf("iam: list: %w", err)
	}
	users, roles, managed := map[string]*userRecord{}, map[string]*roleRecord{}, map[string]*policy.Document{}
	var keys []*accessKeyRecord
	var groups []*groupRecord
	var sessions []*sessionRecord
	for _, kv := range kvs {
		var err error
		switch {
		case strings.HasPrefix(kv.Key, userPrefix):
			var u userRecord
			err = json.Unmarshal(kv.Value, &u)
			users[u.UserName] = &u
		case strings.HasPrefix(kv.Key, rolePrefix):
			var r roleRecord
			err = json.Unmarshal(kv.Value, &r)
			roles[r.RoleName] = &r
		case strings.HasPrefix(kv.Key, policyPrefix):
			var p managedPolicy
			if err = json.Unmarshal(kv.Value, &p); err == nil {
				if doc, perr := policy.Parse([]byte(p.Document), policy.Options{Kind: policy.Identity}); perr == nil {
					managed[s.policyARN(p.Path, p.PolicyName)] = doc
				}
			}
		case strings.HasPrefix(kv.Key, groupPrefix):
			var g groupRecord
			err = json.Unmarshal(kv.Value, &g)
			groups = append(groups, &g)
		case strings.HasPrefix(kv.Key, accessKeyPrefix):
			var k accessKeyRecord
			err = json.Unmarshal(kv.Value, &k)
			keys = append(keys, &k)
		case strings.HasPrefix(kv.Key, sessionPrefix):
			var se sessionRecord
			err = json.Unmarshal(kv.Value, &se)
			sessions = append(sessions, &se)
		}
		if err != nil {
			s.log.Warn("iam: skipping undecodable record", "key", kv.Key, "err", err)
		}
	}
	policiesOf := func(inline map[string]string, attached []string) []*policy.Document {
		var out []*policy.Document
		for _, doc := range inline {
			if d, err := policy.Parse([]byte(doc), policy.Options{Kind: policy.Identity}); err == nil {
				out = append(out, d)
			}
		}
		for _, arn := range attached {
			if d := managed[arn]; d != nil {
				out = append(out, d)
			}
		}
		return out
	}
	next := &identities{keys: make(map[string]*Identity, len(keys)+len(sessions)), roles: make(map[string]*Identity, len(roles))}
	for _, r := range roles {
		next.roles[s.roleARN(r.Path, r.RoleName)] = &Identity{ARN: s.roleARN(r.Path, r.RoleName), UserID: r.RoleID,
			Name: r.RoleName, Account: s.account, Policies: policiesOf(r.Inline, r.Attached)}
	}
	// A user's effective identity policy is its own plus every group's it is in.
	userPolicies := make(map[string][]*policy.Document, len(users))
	for name, u := range users {
		userPolicies[name] = policiesOf(u.Inline, u.Attached)
	}
	for _, g := range groups {
		docs := policiesOf(g.Inline, g.Attached)
		for _, m := range g.Members {
			if _, ok := users[m]; ok {
				userPolicies[m] = append(userPolicies[m], docs...)
			}
		}
	}
	for _, k := range keys {
		u := users[k.UserName]
		if u == nil {
			continue
		}
		next.keys[k.AccessKeyID] = &Identity{AccessKeyID: k.AccessKeyID, secret: k.SecretAccessKey, active: k.Status == "Active",
			ARN: s.userARN(u.Path, u.UserName), UserID: u.UserID, Name: u.UserName, Account: s.account,
			Policies: userPolicies[u.UserName]}
	}
	for _, se := range sessions {
		r := roles[se.RoleName]
		if r == nil {
			continue
		}
		next.keys[se.AccessKeyID] = &Identity{AccessKeyID: se.AccessKeyID, secret: se.SecretAccessKey, active: true,
			SessionToken: se.SessionToken, Expiration: se.Expiration,
			ARN:    "arn:aws:sts::" + s.account + ":assumed-role/" + r.RoleName + "/" + se.SessionName,
			UserID: r.RoleID + ":" + se.SessionName, Name: se.SessionName, Account: s.account,
			Policies: policiesOf(r.Inline, r.Attached)}
	}
	s.mu.Lock()
	s.cache = next
	s.mu.Unlock()
	return nil
}

// SecretFor implements sigv4.Credentials: active user keys and unexpired session
// keys. An inactive key is unknown, so its signature is refused as AWS refuses it
// ("The security token included in the request is invalid").
func (s *Service) SecretFor(accessKeyID string) (string, bool) {
	id := s.lookup(accessKeyID)
	if id == nil || !id.active || (!id.Expiration.IsZero() && !s.now().Before(id.Expiration)) {
		return "", false
	}
	return id.secret, true
}

// Resolve returns the identity of a verified access key; sessionToken is what the
// request sent as X-Amz-Security-Token, which must match a session key's token. It
// is false for unknown, inactive and expired keys.
func (s *Service) Resolve(accessKeyID, sessionToken string) (*Identity, bool) {
	id := s.lookup(accessKeyID)
	if id == nil || !id.active {
		return nil, false
	}
	if id.SessionToken != "" && (id.SessionToken != sessionToken || !s.now().Before(id.Expiration)) {
		return nil, false
	}
	return id, true
}

// IsLongTermKey reports whether accessKeyID is an IAM user's access key (active or
// not), as opposed to AssumeRole session credentials or a key IAM does not know.
func (s *Service) IsLongTermKey(accessKeyID string) bool {
	id := s.lookup(accessKeyID)
	return id != nil && id.SessionToken == ""
}

func (s *Service) lookup(accessKeyID string) *Identity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cache.keys[accessKeyID]
}

// RoleSession is the identity of a session of the role roleARN named sessionName
// (a Lambda function's execution role, whose session is named after the function,
// as Lambda names it): arn:aws:sts::{account}:assumed-role/{role}/{session} with the
// role's policies. ok is false when no such role exists.
func (s *Service) RoleSession(roleARN, sessionName string) (_ *Identity, ok bool) {
	s.mu.RLock()
	r := s.cache.roles[roleARN]
	s.mu.RUnlock()
	if r == nil {
		return nil, false
	}
	return &Identity{ARN: "arn:aws:sts::" + s.account + ":assumed-role/" + r.Name + "/" + sessionName,
		UserID: r.UserID + ":" + sessionName, Name: sessionName, Account: s.account, Policies: r.Policies}, true
}

// Allowed evaluates identity policies for action on resource (IAM's rule for a
// request with identity policies only: an explicit Deny wins, some Allow is needed).
func (id *Identity) Allowed(action, resource string, ctx policy.Context) policy.Decision {
	req := policy.Request{Principal: policy.Principal{ARN: id.ARN, Account: id.Account}, Action: action, Resource: resource, Context: ctx}
	out := policy.NotApplicable
	for _, d := range id.Policies {
		out = policy.Combine(out, d.Evaluate(&req))
	}
	return out
}

func (s *Service) userARN(path, name string) string {
	return "arn:aws:iam::" + s.account + ":user" + normPath(path) + name
}

func (s *Service) roleARN(path, name string) string {
	return "arn:aws:iam::" + s.account + ":role" + normPath(path) + name
}

func (s *Service) policyARN(path, name string) string {
	return "arn:aws:iam::" + s.account + ":policy" + normPath(path) + name
}

func normPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// newID makes an IAM unique id or access key id: prefix plus upper-case letters and
// digits, 20 or 21 characters in all as AWS's are.
func newID(prefix string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return prefix + string(b)
}

func newSecret(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		v, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

var errNotFound = errors.New("not found")
