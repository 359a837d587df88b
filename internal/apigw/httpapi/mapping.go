package httpapi

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Parameter mapping for HTTP APIs, as AWS documents it ("Transforming API requests
// and responses for HTTP APIs"):
//
//	request keys:   append|overwrite|remove:header.{name}
//	                append|overwrite|remove:querystring.{name}
//	                overwrite:path
//	response keys:  append|overwrite|remove:header.{name}, overwrite:statuscode
//	                (grouped under a status code, 200-599)
//	values:         $request.header.n, $request.querystring.n, $request.body[.jsonpath],
//	                $request.path, $request.path.n, $context.v, $stageVariables.v,
//	                ${...} forms of all of these, $response.header.n and
//	                $response.body[.jsonpath] in responses, and static text.
//
// Reserved headers cannot be mapped.

var (
	requestMappingKey  = regexp.MustCompile(`^(append|overwrite|remove):(header|querystring)\.([^\s]+)$`)
	responseMappingKey = regexp.MustCompile(`^(append|overwrite|remove):header\.([^\s]+)$`)
	headerName         = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	// A $-expression: ${...} or $name.name.name (body paths may hold [..] and *).
	braceExpr = regexp.MustCompile(`\$\{([^}]*)\}`)
	bareExpr  = regexp.MustCompile(`\$([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_\-\[\]*'"]+)*)`)
)

// reservedHeader reports whether API Gateway refuses to map a header (AWS's list of
// reserved headers for HTTP API parameter mapping).
func reservedHeader(name string) bool {
	n := strings.ToLower(name)
	for _, p := range []string{"access-control-", "apigw-", "x-amz-", "x-amzn-"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	switch n {
	case "authorization", "connection", "content-encoding", "content-length", "content-location",
		"forwarded", "keep-alive", "origin", "proxy-authenticate", "proxy-authorization", "te",
		"trailers", "transfer-encoding", "upgrade", "x-forwarded-for", "x-forwarded-host",
		"x-forwarded-proto", "via":
		return true
	}
	return false
}

func errMapping(format string, args ...any) error {
	// API Gateway reports mapping errors inside a "Validation Result" wrapper.
	return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [%s]",
		strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func validateRequestParameters(params map[string]string) error {
	for _, key := range sortedKeys(params) {
		value := params[key]
		if key == "overwrite:path" {
			if err := validateMappingValue(value, false); err != nil {
				return err
			}
			continue
		}
		m := requestMappingKey.FindStringSubmatch(key)
		if m == nil {
			return errMapping("Invalid mapping key specified: %s. Keys are append|overwrite|remove:header.{name}, append|overwrite|remove:querystring.{name} or overwrite:path", key)
		}
		if m[2] == "header" {
			if !headerName.MatchString(m[3]) {
				return errMapping("Invalid header name specified: %s", m[3])
			}
			if reservedHeader(m[3]) {
				return errMapping("Operations on header %s are restricted", m[3])
			}
		}
		if m[1] == "remove" {
			continue // a removal takes no value
		}
		if err := validateMappingValue(value, false); err != nil {
			return err
		}
	}
	return nil
}

func validateResponseParameters(params map[string]map[string]string) error {
	for _, code := range sortedKeys(params) {
		n, err := strconv.Atoi(code)
		if err != nil || n < 200 || n > 599 || len(code) != 3 {
			return errMapping("Invalid status code specified: %s. Response parameters are keyed by a status code between 200 and 599", code)
		}
		inner := params[code]
		for _, key := range sortedKeys(inner) {
			value := inner[key]
			if key == "overwrite:statuscode" {
				if s, err := strconv.Atoi(value); err == nil && (s < 100 || s > 599) {
					return errMapping("Invalid status code value specified: %s", value)
				}
				if err := validateMappingValue(value, true); err != nil {
					return err
				}
				continue
			}
			m := responseMappingKey.FindStringSubmatch(key)
			if m == nil {
				return errMapping("Invalid mapping key specified: %s. Keys are append|overwrite|remove:header.{name} or overwrite:statuscode", key)
			}
			if !headerName.MatchString(m[2]) {
				return errMapping("Invalid header name specified: %s", m[2])
			}
			if reservedHeader(m[2]) {
				return errMapping("Operations on header %s are restricted", m[2])
			}
			if m[1] == "remove" {
				continue
			}
			if err := validateMappingValue(value, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateMappingValue checks every $-expression in a mapping value; the text
// around them is static and passes as it is.
func validateMappingValue(value string, response bool) error {
	var exprs []string
	for _, m := range braceExpr.FindAllStringSubmatch(value, -1) {
		exprs = append(exprs, m[1])
	}
	rest := braceExpr.ReplaceAllString(value, "")
	for _, m := range bareExpr.FindAllStringSubmatch(rest, -1) {
		exprs = append(exprs, m[1])
	}
	if strings.Contains(rest, "$") && len(bareExpr.FindAllString(rest, -1)) < strings.Count(rest, "$") {
		return errMapping("Invalid mapping expression specified: %s", value)
	}
	for _, e := range exprs {
		if !validExpression(e, response) {
			return errMapping("Invalid mapping expression specified: $%s", e)
		}
	}
	return nil
}

func validExpression(e string, response bool) bool {
	root, rest, _ := strings.Cut(e, ".")
	switch root {
	case "context", "stageVariables":
		return rest != ""
	case "request":
		if response {
			return false
		}
		kind, name, _ := strings.Cut(rest, ".")
		switch kind {
		case "header", "querystring":
			return name != ""
		case "path", "body":
			return true
		}
		return false
	case "response":
		if !response {
			return false
		}
		kind, name, _ := strings.Cut(rest, ".")
		switch kind {
		case "header":
			return name != ""
		case "body":
			return true
		}
		return false
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
