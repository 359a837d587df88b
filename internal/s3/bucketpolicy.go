package s3

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/policy"
	"github.com/sluice-dev/sluice/internal/store"
)

// Bucket policies (PutBucketPolicy / GetBucketPolicy / DeleteBucketPolicy), evaluated
// with internal/policy on every request to the bucket:
//
//   - an anonymous request is allowed only when the policy allows the operation's
//     action on the bucket or object ARN for Principal "*";
//   - a signed request (the account's own identities) is allowed unless the policy
//     explicitly denies it; the bucket-policy operations themselves are exempt, so the
//     account can never lock itself out (on AWS the root user keeps that right).
//
// Conditions can test aws:SourceIp, aws:SecureTransport, aws:UserAgent, aws:Referer,
// aws:PrincipalAccount, aws:CurrentTime/EpochTime and s3:prefix / s3:delimiter /
// s3:max-keys on ListBucket.

// maxBucketPolicyBytes is S3's limit on a bucket policy: 20 KB.
const maxBucketPolicyBytes = 20 * 1024

// compiledPolicies caches each bucket's compiled policy by its text, so a request
// compiles nothing unless the policy changed.
type compiledPolicies struct {
	mu   sync.Mutex // guards byBk
	byBk map[string]compiledPolicy
}

type compiledPolicy struct {
	raw string
	doc *policy.Document
}

func (p *compiledPolicies) get(bucket, raw string) *policy.Document {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.byBk[bucket]; ok && c.raw == raw {
		return c.doc
	}
	doc, err := parseBucketPolicy(bucket, []byte(raw))
	if err != nil {
		// Stored policies were validated on the way in; one that no longer parses
		// allows nothing and denies everything signed too (fail closed).
		doc = nil
	}
	if p.byBk == nil {
		p.byBk = map[string]compiledPolicy{}
	}
	p.byBk[bucket] = compiledPolicy{raw: raw, doc: doc}
	return doc
}

// parseBucketPolicy compiles a bucket policy and checks what S3 checks: valid JSON,
// a Principal in every statement, and resources within this bucket. Refusals are
// MalformedPolicy with S3's messages.
func parseBucketPolicy(bucket string, raw []byte) (*policy.Document, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, errMalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	var shape struct {
		Statement json.RawMessage `json:"Statement"`
	}
	_ = json.Unmarshal(trimmed, &shape)
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(shape.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(shape.Statement, &one) == nil {
			stmts = []map[string]json.RawMessage{one}
		}
	}
	for _, st := range stmts {
		if _, ok := st["Principal"]; !ok {
			if _, ok := st["NotPrincipal"]; !ok {
				return nil, errMalformedPolicy("Missing required field Principal")
			}
		}
		for _, field := range []string{"Resource", "NotResource"} {
			rs, ok := st[field]
			if !ok {
				continue
			}
			var list []string
			if err := json.Unmarshal(rs, &list); err != nil {
				var one string
				if json.Unmarshal(rs, &one) != nil {
					return nil, errMalformedPolicy("Policy has invalid resource")
				}
				list = []string{one}
			}
			for _, r := range list {
				if !resourceInBucket(bucket, r) {
					return nil, errMalformedPolicy("Policy has invalid resource")
				}
			}
		}
	}
	doc, err := policy.Parse(trimmed, policy.Options{Kind: policy.Resource})
	if err != nil {
		return nil, errMalformedPolicy(err.Error())
	}
	return doc, nil
}

// resourceInBucket: S3 refuses a bucket policy naming resources outside the bucket.
func resourceInBucket(bucket, r string) bool {
	rest, ok := strings.CutPrefix(r, "arn:aws:s3:::")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name == bucket || (strings.ContainsAny(name, "*?") && globMatch(name, bucket))
}

// globMatch matches s against a pattern with * and ? wildcards.
func globMatch(pattern, s string) bool {
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p, i = p+1, i+1
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func errMalformedPolicy(msg string) error {
	return s3err(http.StatusBadRequest, "MalformedPolicy", msg)
}

func (s *Service) putBucketPolicy(c *request) error {
	raw, err := io.ReadAll(io.LimitReader(c.r.Body, maxBucketPolicyBytes+1))
	if err != nil {
		return errInternal(err)
	}
	if len(raw) > maxBucketPolicyBytes {
		return errMalformedPolicy("Policies cannot exceed 20 KB in size")
	}
	if _, err := s.loadBucket(s.reader(c), c.bucket); err != nil {
		return err
	}
	if _, err := parseBucketPolicy(c.bucket, raw); err != nil {
		return err
	}
	text := string(bytes.TrimSpace(raw))
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.Policy = text; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketPolicy returns the policy as it was put.
func (s *Service) getBucketPolicy(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	if b.Policy == "" {
		return s3err(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist", field("BucketName", c.bucket))
	}
	h := c.w.Header()
	h["Content-Type"] = []string{"application/json"}
	c.w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(c.w, b.Policy)
	return nil
}

func (s *Service) deleteBucketPolicy(c *request) error {
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.Policy = ""; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// authorize decides access by the bucket policy (see the top of this file). Requests
// that name no bucket (ListBuckets) need a signature.
func (s *Service) authorize(c *request) error {
	denied := awsproto.Errorf(http.StatusForbidden, "AccessDenied", "Access Denied")
	if c.bucket == "" {
		if c.id == nil {
			return denied
		}
		return nil
	}
	action, resource := s.actionOf(c)
	if c.id != nil && strings.HasSuffix(action, "BucketPolicy") {
		return nil
	}
	b, ok, err := store.GetRecord[bucketRecord](s.reader(c), bucketKey(c.bucket))
	if err != nil {
		return errInternal(err)
	}
	if !ok || b.Policy == "" {
		if c.id == nil {
			return denied
		}
		return nil // a missing bucket answers NoSuchBucket from the operation
	}
	doc := s.policies.get(c.bucket, b.Policy)
	if doc == nil {
		return denied
	}
	ctx := s.policyContext(c)
	req := policy.Request{Action: action, Resource: resource, Context: ctx}
	if c.id != nil {
		req.Principal = policy.Principal{Account: s.account}
	}
	d := doc.Evaluate(&req)
	if d == policy.Deny || (c.id == nil && d != policy.Allow) {
		return denied
	}
	return nil
}

// bucketPolicyContext answers a request's condition keys.
type bucketPolicyContext struct {
	vals map[string]string
}

func (b *bucketPolicyContext) Values(key string) []string {
	if v, ok := b.vals[key]; ok && v != "" {
		return []string{v}
	}
	return nil
}

func (s *Service) policyContext(c *request) *bucketPolicyContext {
	r := c.r
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = h
	}
	now := s.now()
	v := map[string]string{
		"aws:sourceip":        ip,
		"aws:securetransport": boolString(r.TLS != nil),
		"aws:useragent":       r.UserAgent(),
		"aws:referer":         r.Referer(),
		"aws:currenttime":     now.UTC().Format("2006-01-02T15:04:05Z"),
		"aws:epochtime":       strconv.FormatInt(now.Unix(), 10),
	}
	if c.id != nil {
		v["aws:principalaccount"] = s.account
	}
	if !c.hasKey && c.r.Method == http.MethodGet {
		for _, k := range []string{"prefix", "delimiter", "max-keys"} {
			if c.query.Has(k) {
				v["s3:"+k] = c.query.Get(k)
			}
		}
	}
	return &bucketPolicyContext{vals: v}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// actionOf names the IAM action and resource ARN of the operation dispatch will run
// (see "Amazon S3 actions" in the service authorization reference).
func (s *Service) actionOf(c *request) (string, string) {
	q, m := c.query, c.r.Method
	has := func(k string) bool { _, ok := q[k]; return ok }
	bucketARN := "arn:aws:s3:::" + c.bucket
	if !c.hasKey {
		sub := ""
		for _, k := range []string{"cors", "tagging", "policy", "notification", "versioning", "location", "uploads", "acl", "delete"} {
			if has(k) {
				sub = k
				break
			}
		}
		verb := map[string]string{http.MethodGet: "Get", http.MethodHead: "Get", http.MethodPut: "Put", http.MethodDelete: "Delete", http.MethodPost: "Post"}[m]
		switch sub {
		case "cors":
			return "s3:" + verb + "BucketCORS", bucketARN
		case "tagging":
			return "s3:" + verb + "BucketTagging", bucketARN
		case "policy":
			return "s3:" + verb + "BucketPolicy", bucketARN
		case "notification":
			if verb == "Get" {
				return "s3:GetBucketNotification", bucketARN
			}
			return "s3:PutBucketNotification", bucketARN
		case "versioning":
			return "s3:" + verb + "BucketVersioning", bucketARN
		case "location":
			return "s3:GetBucketLocation", bucketARN
		case "uploads":
			return "s3:ListBucketMultipartUploads", bucketARN
		case "acl":
			return "s3:GetBucketAcl", bucketARN
		case "delete":
			// DeleteObjects: the keys are in the body; the action is s3:DeleteObject
			// on the bucket's objects.
			return "s3:DeleteObject", bucketARN + "/*"
		}
		switch m {
		case http.MethodGet, http.MethodHead:
			return "s3:ListBucket", bucketARN
		case http.MethodPut:
			return "s3:CreateBucket", bucketARN
		case http.MethodDelete:
			return "s3:DeleteBucket", bucketARN
		}
		return "s3:ListBucket", bucketARN
	}
	objectARN := bucketARN + "/" + c.key
	switch m {
	case http.MethodGet, http.MethodHead:
		switch {
		case has("uploadId"):
			return "s3:ListMultipartUploadParts", objectARN
		case has("tagging"):
			return "s3:GetObjectTagging", objectARN
		}
		return "s3:GetObject", objectARN
	case http.MethodPut:
		if has("tagging") {
			return "s3:PutObjectTagging", objectARN
		}
		return "s3:PutObject", objectARN
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return "s3:AbortMultipartUpload", objectARN
		case has("tagging"):
			return "s3:DeleteObjectTagging", objectARN
		}
		return "s3:DeleteObject", objectARN
	}
	return "s3:PutObject", objectARN // POST: create / complete multipart upload
}
