// Package access decides who may call an API Gateway method: REST API resource
// policies, Lambda and JWT authorizers, IAM (SigV4) callers, API keys with usage
// plans, and throttling. The gateway asks it between route match and integration;
// everything it needs per request is compiled into the snapshot ahead of time, and
// policies are evaluated with internal/policy without allocating.
package access

import (
	"strconv"
	"time"

	"github.com/sluice-dev/sluice/internal/policy"
)

// Condition keys a Request answers, in the lower case internal/policy asks for them.
const (
	keySourceIP = iota
	keySourceVpce
	keySourceVpc
	keyPrincipalARN
	keyPrincipalAccount
	keyUserAgent
	keyReferer
	keySecureTransport
	keyUsername
	keyUserID
	keyCurrentTime
	keyEpochTime
	numKeys
)

var keyIndex = map[string]int{
	"aws:sourceip":         keySourceIP,
	"aws:sourcevpce":       keySourceVpce,
	"aws:sourcevpc":        keySourceVpc,
	"aws:principalarn":     keyPrincipalARN,
	"aws:principalaccount": keyPrincipalAccount,
	"aws:useragent":        keyUserAgent,
	"aws:referer":          keyReferer,
	"aws:securetransport":  keySecureTransport,
	"aws:username":         keyUsername,
	"aws:userid":           keyUserID,
	"aws:currenttime":      keyCurrentTime,
	"aws:epochtime":        keyEpochTime,
}

// Request is what the access checks know about one data-plane request. It is the
// policy.Context of every policy evaluated for it; it lives inside the gateway's
// per-request state, so answering condition keys costs no allocation.
type Request struct {
	// Now is when the request arrived (aws:CurrentTime, aws:EpochTime).
	Now  time.Time
	vals [numKeys]string
	// timesSet records that the two time keys were formatted (on first use only).
	timesSet bool
}

// Reset prepares r for a new request.
func (r *Request) Reset(now time.Time) { *r = Request{Now: now} }

// SetSourceIP sets aws:SourceIp: the client's address as the listener saw it, or as
// a trusted proxy reported it.
func (r *Request) SetSourceIP(ip string) { r.vals[keySourceIP] = ip }

// SourceIP returns aws:SourceIp.
func (r *Request) SourceIP() string { return r.vals[keySourceIP] }

// SetEndpoint sets aws:SourceVpce and aws:SourceVpc: the private endpoint (and its
// network) the request came through. A request that did not come through a private
// endpoint has neither key, as on AWS.
func (r *Request) SetEndpoint(vpce, vpc string) {
	r.vals[keySourceVpce], r.vals[keySourceVpc] = vpce, vpc
}

// SetClient sets aws:UserAgent, aws:Referer and aws:SecureTransport.
func (r *Request) SetClient(userAgent, referer string, tls bool) {
	r.vals[keyUserAgent], r.vals[keyReferer] = userAgent, referer
	r.vals[keySecureTransport] = strconv.FormatBool(tls)
}

// SetPrincipal sets aws:PrincipalArn, aws:PrincipalAccount, aws:username and
// aws:userid for an authenticated caller.
func (r *Request) SetPrincipal(arn, account, username, userID string) {
	r.vals[keyPrincipalARN], r.vals[keyPrincipalAccount] = arn, account
	r.vals[keyUsername], r.vals[keyUserID] = username, userID
}

// Values implements policy.Context.
func (r *Request) Values(key string) []string {
	i, ok := keyIndex[key]
	if !ok {
		return nil
	}
	if (i == keyCurrentTime || i == keyEpochTime) && !r.timesSet {
		r.timesSet = true
		now := r.Now
		if now.IsZero() {
			now = time.Now()
		}
		r.vals[keyCurrentTime] = now.UTC().Format(time.RFC3339)
		r.vals[keyEpochTime] = strconv.FormatInt(now.Unix(), 10)
	}
	if r.vals[i] == "" {
		return nil
	}
	return r.vals[i : i+1]
}

// Caller is the IAM identity behind a SigV4-signed request (an AWS_IAM method).
type Caller struct {
	AccessKeyID string
	Account     string
	// ARN is the user's or assumed role's ARN; UserID its unique id (AIDA.../AROA...:session).
	ARN    string
	UserID string
	// Name is the user name (aws:username).
	Name string
	// Root is the account's root (bootstrap) key: every action is allowed to it.
	Root bool
	// Policies are the caller's identity policies.
	Policies []*policy.Document
}

// IdentityDecision evaluates the caller's identity policies for execute-api:Invoke on
// methodARN.
func (c *Caller) IdentityDecision(methodARN string, req *Request) policy.Decision {
	if c.Root {
		return policy.Allow
	}
	preq := policy.Request{Principal: policy.Principal{ARN: c.ARN, Account: c.Account}, Action: InvokeAction, Resource: methodARN, Context: req}
	out := policy.NotApplicable
	for _, d := range c.Policies {
		out = policy.Combine(out, d.Evaluate(&preq))
	}
	return out
}
