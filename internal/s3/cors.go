package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// corsRule is one CORSRule of a bucket's CORS configuration.
type corsRule struct {
	ID             string   `xml:"ID,omitempty" json:"id,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader" json:"headers,omitempty"`
	AllowedMethods []string `xml:"AllowedMethod" json:"methods"`
	AllowedOrigins []string `xml:"AllowedOrigin" json:"origins"`
	ExposeHeaders  []string `xml:"ExposeHeader" json:"expose,omitempty"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds,omitempty" json:"maxAge,omitempty"`
}

type corsConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	Xmlns   string     `xml:"xmlns,attr,omitempty"`
	Rules   []corsRule `xml:"CORSRule"`
}

// putBucketCors validates as S3 does: 1-100 rules, methods among GET PUT HEAD POST
// DELETE, at most one '*' per origin or header.
func (s *Service) putBucketCors(c *request) error {
	var in corsConfiguration
	if err := c.readXML(&in); err != nil {
		return err
	}
	if len(in.Rules) == 0 || len(in.Rules) > 100 {
		return errMalformedXML()
	}
	for _, r := range in.Rules {
		if len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 {
			return errMalformedXML()
		}
		for _, m := range r.AllowedMethods {
			switch m {
			case "GET", "PUT", "HEAD", "POST", "DELETE":
			default:
				return errInvalidRequest("Found unsupported HTTP method in CORS config. Unsupported method is " + m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return errInvalidRequest("AllowedOrigin \"" + o + "\" can not have more than one wildcard.")
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return errInvalidRequest("AllowedHeader \"" + h + "\" can not have more than one wildcard.")
			}
		}
	}
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.CORS = in.Rules; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getBucketCors(c *request) error {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return err
	}
	if len(b.CORS) == 0 {
		return s3err(http.StatusNotFound, "NoSuchCORSConfiguration", "The CORS configuration does not exist", field("BucketName", c.bucket))
	}
	c.writeXML(http.StatusOK, corsConfiguration{Xmlns: xmlns, Rules: b.CORS})
	return nil
}

func (s *Service) deleteBucketCors(c *request) error {
	if err := s.updateBucket(c, func(b *bucketRecord) error { b.CORS = nil; return nil }); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// wildcardMatch matches s against a pattern with at most one '*', case-insensitively.
func wildcardMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	before, after, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

func (r *corsRule) allowsOrigin(origin string) bool {
	for _, o := range r.AllowedOrigins {
		if wildcardMatch(o, origin) {
			return true
		}
	}
	return false
}

func (r *corsRule) allowsMethod(m string) bool {
	for _, x := range r.AllowedMethods {
		if x == m {
			return true
		}
	}
	return false
}

func (r *corsRule) allowsHeader(h string) bool {
	for _, x := range r.AllowedHeaders {
		if wildcardMatch(x, h) {
			return true
		}
	}
	return false
}

func (r *corsRule) anyOrigin() bool {
	for _, o := range r.AllowedOrigins {
		if o == "*" {
			return true
		}
	}
	return false
}

// matchCORS picks the first rule that allows origin, method and every requested header.
func matchCORS(rules []corsRule, origin, method string, headers []string) *corsRule {
	for i := range rules {
		r := &rules[i]
		if !r.allowsOrigin(origin) || !r.allowsMethod(method) {
			continue
		}
		ok := true
		for _, h := range headers {
			if !r.allowsHeader(h) {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

func errCORSForbidden(msg string) error {
	return s3err(http.StatusForbidden, "AccessForbidden", msg, field("Method", "OPTIONS"), field("ResourceType", "OBJECT"))
}

// preflight answers a browser's CORS preflight (OPTIONS) from the bucket's CORS rules,
// with S3's refusals when no rule allows the request.
func (s *Service) preflight(c *request) error {
	origin := c.r.Header.Get("Origin")
	if origin == "" {
		return s3err(http.StatusBadRequest, "BadRequest", "Insufficient information. Origin request header needed.")
	}
	method := c.r.Header.Get("Access-Control-Request-Method")
	if method == "" {
		return s3err(http.StatusBadRequest, "BadRequest", "Invalid Access-Control-Request-Method: null")
	}
	if c.bucket == "" {
		return errCORSForbidden("CORSResponse: Bucket not found")
	}
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil {
		return errCORSForbidden("CORSResponse: Bucket not found")
	}
	if len(b.CORS) == 0 {
		return errCORSForbidden("CORSResponse: CORS is not enabled for this bucket.")
	}
	var headers []string
	for _, v := range c.r.Header.Values("Access-Control-Request-Headers") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				headers = append(headers, strings.ToLower(h))
			}
		}
	}
	rule := matchCORS(b.CORS, origin, method, headers)
	if rule == nil {
		return errCORSForbidden("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
	}
	h := c.w.Header()
	writeCORSHeaders(h, rule, origin)
	if len(headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Add("Vary", "Access-Control-Request-Method")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func writeCORSHeaders(h http.Header, rule *corsRule, origin string) {
	if rule.anyOrigin() {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(rule.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	h.Add("Vary", "Origin")
}

// applyCORS adds the CORS response headers to an actual (non-preflight) request from
// a browser when a rule allows its origin and method.
func (s *Service) applyCORS(c *request) {
	b, err := s.loadBucket(s.reader(c), c.bucket)
	if err != nil || len(b.CORS) == 0 {
		return
	}
	if rule := matchCORS(b.CORS, c.r.Header.Get("Origin"), c.r.Method, nil); rule != nil {
		writeCORSHeaders(c.w.Header(), rule, c.r.Header.Get("Origin"))
	}
}
