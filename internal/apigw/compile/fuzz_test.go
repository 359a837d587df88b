package compile

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// literalTemplate is a route path of plain segments, which a request for exactly
// that path must reach.
var literalTemplate = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// FuzzRouter: route templates (one per line, as REST resource paths and HTTP API
// route keys become them) and a request path never make the router panic or loop;
// a request for a plain template's own path reaches a route of that path, and the
// path parameters a match returns are exactly the variables of its template.
func FuzzRouter(f *testing.F) {
	f.Add("/a\n/a/{id}\n/a/{id}/b\n/{proxy+}", "GET", "/a/1/b")
	f.Add("/email/{proxy+}\n/email/send", "POST", "/email/x/y/z")
	f.Add("/{a}/{b}/{c}\n/x/y/z\n/x/{b}/z", "GET", "/x/%2F/z")
	f.Add("/a/{p+}/b\n//\n/{}\n/{+}", "DELETE", "//a//")
	f.Fuzz(func(t *testing.T, templates, method, path string) {
		lines := strings.Split(templates, "\n")
		if len(lines) > 64 {
			lines = lines[:64]
		}
		for _, kind := range []Kind{REST, HTTP} {
			rt := &Router{kind: kind, root: &node{}}
			var added []*Route
			for _, p := range lines {
				r := &Route{Method: "GET", Path: p}
				if rt.add(r) {
					added = append(added, r)
				}
			}
			m := rt.Match(method, path)
			if m.Route != nil {
				var names []string
				for _, n := range m.Route.paramNames {
					if n != "" {
						names = append(names, n)
					}
				}
				for k := range m.PathParams {
					if !slices.Contains(names, k) {
						t.Fatalf("%v: match of %q under %q returned parameter %q", kind, path, m.Route.Path, k)
					}
				}
			}
			for _, r := range added {
				if !literalTemplate.MatchString(r.Path) {
					continue
				}
				got := rt.Match("GET", r.Path)
				if got.Route == nil || !slices.Equal(splitTemplate(got.Route.Path), splitTemplate(r.Path)) {
					t.Fatalf("%v: %q does not reach its own route (got %+v)", kind, r.Path, got.Route)
				}
			}
		}
	})
}
