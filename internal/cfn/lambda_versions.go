package cfn

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// AWS::Lambda::Version publishes $LATEST; every property change publishes a new
// version (a replacement). Ref is the version's ARN.
var lambdaVersion = &provisioner{
	attrs: []string{"Version", "FunctionArn"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		p := r.props
		if err := p.check([]string{"Description", "CodeSha256", "RuntimePolicy"}, []string{"FunctionName"},
			[]string{"ProvisionedConcurrencyConfig"}); err != nil {
			return "", nil, err
		}
		fn, err := p.str("FunctionName")
		if err != nil {
			return "", nil, err
		}
		body := map[string]any{}
		for _, k := range []string{"Description", "CodeSha256"} {
			if s, _ := p.str(k); s != "" {
				body[k] = s
			}
		}
		var out struct {
			FunctionArn string
			Version     string
		}
		if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(unqualified(fn))+"/versions", body, &out); err != nil {
			return "", nil, err
		}
		return out.FunctionArn, map[string]any{"Version": out.Version, "FunctionArn": strings.TrimSuffix(out.FunctionArn, ":"+out.Version)}, nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		fn, version, ok := cutLast(rec.PhysicalID, ":")
		if !ok {
			return nil
		}
		_, err := r.c.do(ctx, request{service: "lambda", display: "Lambda", method: http.MethodDelete,
			path: "/2015-03-31/functions/" + url.PathEscape(fn), query: url.Values{"Qualifier": {version}}})
		if ae, ok := err.(*apiError); ok && ae.Status == http.StatusConflict {
			// An alias still points at it (the alias's update comes later):
			// Lambda keeps the version, as CloudFormation leaves it.
			return nil
		}
		return err
	},
}

// AWS::Lambda::Alias: Ref is the alias ARN; a new FunctionVersion or
// RoutingConfig updates it in place.
var lambdaAlias = &provisioner{
	attrs:     []string{"AliasArn"},
	replaceOn: []string{"FunctionName", "Name"},
	create: func(ctx context.Context, r *resourceCall) (string, map[string]any, error) {
		fn, body, err := aliasInput(r)
		if err != nil {
			return "", nil, err
		}
		var out struct{ AliasArn string }
		if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(fn)+"/aliases", body, &out); err != nil {
			return "", nil, err
		}
		return out.AliasArn, map[string]any{"AliasArn": out.AliasArn}, nil
	},
	update: func(ctx context.Context, r *resourceCall, old *resourceRecord) (map[string]any, error) {
		fn, body, err := aliasInput(r)
		if err != nil {
			return nil, err
		}
		name := body["Name"].(string)
		delete(body, "Name")
		if _, ok := body["Description"]; !ok {
			body["Description"] = ""
		}
		if _, ok := body["RoutingConfig"]; !ok {
			body["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": map[string]any{}}
		}
		if err := r.c.json(ctx, "lambda", "Lambda", http.MethodPut, "/2015-03-31/functions/"+url.PathEscape(fn)+"/aliases/"+url.PathEscape(name), body, nil); err != nil {
			return nil, err
		}
		return old.Attrs, nil
	},
	delete: func(ctx context.Context, r *resourceCall, rec *resourceRecord) error {
		fn, _ := stringOf(rec.Properties["FunctionName"])
		name, _ := stringOf(rec.Properties["Name"])
		_, err := r.c.do(ctx, request{service: "lambda", display: "Lambda", method: http.MethodDelete,
			path: "/2015-03-31/functions/" + url.PathEscape(unqualified(fn)) + "/aliases/" + url.PathEscape(name)})
		return err
	},
}

func aliasInput(r *resourceCall) (string, map[string]any, error) {
	p := r.props
	if err := p.check([]string{"Description", "RoutingConfig"}, []string{"FunctionName", "FunctionVersion", "Name"},
		[]string{"ProvisionedConcurrencyConfig"}); err != nil {
		return "", nil, err
	}
	fn, err := p.str("FunctionName")
	if err != nil {
		return "", nil, err
	}
	body := map[string]any{}
	for _, k := range []string{"Name", "FunctionVersion", "Description"} {
		s, err := p.str(k)
		if err != nil {
			return "", nil, err
		}
		if s != "" {
			body[k] = s
		}
	}
	if rc, err := p.object("RoutingConfig"); err != nil {
		return "", nil, err
	} else if rc != nil {
		weights := map[string]any{}
		if l, ok := rc["AdditionalVersionWeights"].([]any); ok {
			for _, x := range l {
				m, _ := x.(map[string]any)
				v, _ := stringOf(m["FunctionVersion"])
				weights[v] = m["FunctionWeight"]
			}
		}
		body["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": weights}
	}
	return unqualified(fn), body, nil
}

// unqualified strips a version or alias from a function name or ARN.
func unqualified(fn string) string {
	if strings.HasPrefix(fn, "arn:") {
		parts := strings.Split(fn, ":")
		if len(parts) > 7 {
			return strings.Join(parts[:7], ":")
		}
		return fn
	}
	name, _, _ := strings.Cut(fn, ":")
	return name
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
