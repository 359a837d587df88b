// Package openapi is Sluice's one OpenAPI layer: it reads OpenAPI 3.0 and Swagger 2.0
// documents with kin-openapi (both versions, local $refs resolved, external ones
// refused), translates the x-amazon-apigateway-* extensions into API Gateway's REST
// API records for ImportRestApi/PutRestApi, and writes a deployed stage back as a
// document for GetExport. Whatever a document asks for that Sluice cannot build is
// reported as a warning in AWS's words, never dropped in silence.
package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// Document is a parsed definition, always held as OpenAPI 3 (a Swagger 2.0 input is
// converted by kin-openapi's openapi2conv, extensions kept).
type Document struct {
	T *openapi3.T
	// Swagger2 records that the input was Swagger 2.0, for messages and basePath.
	Swagger2 bool
	// BasePath is Swagger's basePath, or the path of the first OpenAPI 3 server URL
	// with its variables substituted by their defaults.
	BasePath string
}

// ErrInvalid is wrapped by every error Parse returns for a document that is not an
// OpenAPI definition; API Gateway answers these with BadRequestException.
var ErrInvalid = errors.New("invalid OpenAPI input")

// Parse reads a JSON or YAML OpenAPI 3.0 or Swagger 2.0 document.
func Parse(body []byte) (*Document, error) {
	raw, err := toJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var probe struct {
		OpenAPI string `json:"openapi"`
		Swagger string `json:"swagger"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%w: the document is not an object", ErrInvalid)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false // a document never makes Sluice fetch files or URLs
	var doc Document
	switch {
	case probe.Swagger != "":
		if probe.Swagger != "2.0" {
			return nil, fmt.Errorf("%w: unsupported swagger version %q", ErrInvalid, probe.Swagger)
		}
		var d2 openapi2.T
		if err := json.Unmarshal(raw, &d2); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		t, err := openapi2conv.ToV3WithLoader(&d2, loader, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		doc = Document{T: t, Swagger2: true, BasePath: d2.BasePath}
	case strings.HasPrefix(probe.OpenAPI, "3."):
		t, err := loader.LoadFromData(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		doc = Document{T: t, BasePath: serverBasePath(t)}
	default:
		return nil, fmt.Errorf("%w: the document names neither \"openapi\": \"3.x\" nor \"swagger\": \"2.0\"", ErrInvalid)
	}
	if doc.T.Paths == nil {
		doc.T.Paths = openapi3.NewPaths()
	}
	return &doc, nil
}

// serverBasePath is the path of the first server URL, variables replaced by their
// defaults: API Gateway's basepath=prepend|split uses it.
func serverBasePath(t *openapi3.T) string {
	if len(t.Servers) == 0 || t.Servers[0] == nil {
		return ""
	}
	s := t.Servers[0]
	u := s.URL
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.Index(u, "/"); j >= 0 {
			u = u[j:]
		} else {
			u = ""
		}
	}
	return strings.TrimSuffix(u, "/")
}

// toJSON turns a YAML or JSON document into JSON. YAML maps with non-string keys
// (status codes written as 200) become string keys, as OpenAPI means them.
func toJSON(body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("the document is empty")
	}
	if trimmed[0] == '{' && json.Valid(trimmed) {
		return trimmed, nil
	}
	var v any
	if err := yaml.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	v, err := stringKeys(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func stringKeys(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			n, err := stringKeys(e)
			if err != nil {
				return nil, err
			}
			t[k] = n
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := stringKeys(e)
			if err != nil {
				return nil, err
			}
			switch kk := k.(type) {
			case string:
				out[kk] = n
			case int:
				out[strconv.Itoa(kk)] = n
			case bool:
				out[strconv.FormatBool(kk)] = n
			default:
				out[fmt.Sprint(kk)] = n
			}
		}
		return out, nil
	case []any:
		for i, e := range t {
			n, err := stringKeys(e)
			if err != nil {
				return nil, err
			}
			t[i] = n
		}
		return t, nil
	}
	return v, nil
}
