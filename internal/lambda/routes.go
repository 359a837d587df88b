package lambda

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// maxControlBody bounds control-plane request bodies. AWS: "Request must be smaller
// than 69905067 bytes for the CreateFunction operation" (50 MB of zip, base64).
const maxControlBody = 69905067

// call is one parsed API request.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	function string // {FunctionName} path parameter, unescaped
	sub      string // {Name} / {StatementId} / {Resource} path parameter
}

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// decode reads the JSON body into v. An empty body is an empty object.
func (c *call) decode(op string, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxControlBody+1))
	if err != nil {
		return badContent("Could not read request body: %v", err)
	}
	if len(body) > maxControlBody {
		return tooLarge("Request must be smaller than %d bytes for the %s operation", maxControlBody, op)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badContent("Could not parse request body into json: %v", err)
	}
	return nil
}

func (c *call) json(status int, v any) { awsproto.WriteJSON(c.w, status, v) }

// ServeHTTP routes a Lambda API request by its path and method, as botocore's
// lambda service model lays them out.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		writeError(w, badContent("Could not parse request path: %v", err))
		return
	}
	h := s.route(r.Method, segs)
	if h == nil {
		writeError(w, awsproto.Errorf(http.StatusNotFound, "UnknownOperationException",
			"Sluice does not implement the Lambda operation for %s %s", r.Method, r.URL.Path))
		return
	}
	c := &call{w: w, r: r}
	if len(segs) > 2 {
		c.function = segs[2]
	}
	if len(segs) > 4 {
		c.sub = segs[4]
	}
	if len(segs) == 3 && segs[1] == "tags" {
		c.sub = segs[2]
	}
	if err := h(c); err != nil {
		if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return // the client went away
		}
		if _, ok := err.(*throttledError); !ok {
			if _, ok := err.(*awsproto.Error); !ok {
				s.log.Error("lambda: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		}
		writeError(w, err)
	}
}

func splitPath(escaped string) ([]string, error) {
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return nil, nil
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}

type handler func(*call) error

func (s *Service) route(method string, segs []string) handler {
	if len(segs) == 0 {
		return nil
	}
	on := func(m string, h handler) handler {
		if method == m {
			return h
		}
		return nil
	}
	switch segs[0] {
	case "_sluice":
		if len(segs) == 4 && segs[1] == "lambda" && segs[2] == "code" && (method == http.MethodGet || method == http.MethodHead) {
			sha := segs[3]
			return func(c *call) error { return s.serveCode(c, sha) }
		}
	case "2016-08-19":
		if len(segs) == 2 && segs[1] == "account-settings" {
			return on(http.MethodGet, s.getAccountSettings)
		}
	case "2017-03-31":
		if len(segs) == 3 && segs[1] == "tags" {
			switch method {
			case http.MethodGet:
				return s.listTags
			case http.MethodPost:
				return s.tagResource
			case http.MethodDelete:
				return s.untagResource
			}
		}
	case "2017-10-31":
		if len(segs) == 4 && segs[1] == "functions" && segs[3] == "concurrency" {
			switch method {
			case http.MethodPut:
				return s.putFunctionConcurrency
			case http.MethodDelete:
				return s.deleteFunctionConcurrency
			}
		}
	case "2019-09-30":
		if len(segs) == 4 && segs[1] == "functions" && segs[3] == "concurrency" {
			return on(http.MethodGet, s.getFunctionConcurrency)
		}
	case "2015-03-31":
		if len(segs) < 2 || segs[1] != "functions" {
			return nil
		}
		switch len(segs) {
		case 2:
			switch method {
			case http.MethodGet:
				return s.listFunctions
			case http.MethodPost:
				return s.createFunction
			}
		case 3:
			switch method {
			case http.MethodGet:
				return s.getFunction
			case http.MethodDelete:
				return s.deleteFunction
			}
		case 4:
			switch segs[3] {
			case "configuration":
				switch method {
				case http.MethodGet:
					return s.getFunctionConfiguration
				case http.MethodPut:
					return s.updateFunctionConfiguration
				}
			case "code":
				return on(http.MethodPut, s.updateFunctionCode)
			case "versions":
				switch method {
				case http.MethodGet:
					return s.listVersionsByFunction
				case http.MethodPost:
					return s.publishVersion
				}
			case "aliases":
				switch method {
				case http.MethodGet:
					return s.listAliases
				case http.MethodPost:
					return s.createAlias
				}
			case "policy":
				switch method {
				case http.MethodGet:
					return s.getPolicy
				case http.MethodPost:
					return s.addPermission
				}
			case "invocations":
				return on(http.MethodPost, s.invokeHTTP)
			}
		case 5:
			switch segs[3] {
			case "aliases":
				switch method {
				case http.MethodGet:
					return s.getAlias
				case http.MethodPut:
					return s.updateAlias
				case http.MethodDelete:
					return s.deleteAlias
				}
			case "policy":
				return on(http.MethodDelete, s.removePermission)
			}
		}
	}
	return nil
}
