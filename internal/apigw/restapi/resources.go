package restapi

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// pathPartRE is what AWS accepts as a resource path part: a literal of
// a-zA-Z0-9._-:, a path variable "{name}", or a greedy variable "{name+}".
var pathPartRE = regexp.MustCompile(`^(?:[a-zA-Z0-9._:-]+|\{[a-zA-Z0-9._-]+\+?\})$`)

// maxPathPart bounds one path part. AWS documents no figure of its own; a part
// longer than this could never be requested through API Gateway's own URL limits
// (8 KB for a whole edge-optimized URL), and it keeps the store's keys and the
// router's tables small.
const maxPathPart = 1024

// errPathPartChars is AWS's answer for a path part outside pathPartRE.
func errPathPartChars() error {
	return badRequest("Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.")
}

// checkPathPart applies AWS's path part rules that need no other resource. "."
// and ".." match AWS's character set but name no reachable path: every HTTP
// client and proxy resolves them away (RFC 3986 section 5.2.4) before the gateway
// sees the request, so a resource under them could never be called.
func checkPathPart(part string) error {
	if len(part) > maxPathPart {
		return badRequest("Resource's path part must be at most %d characters long.", maxPathPart)
	}
	if !pathPartRE.MatchString(part) || part == "." || part == ".." {
		return errPathPartChars()
	}
	return nil
}

func isVariablePart(p string) bool { return strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") }
func isGreedyPart(p string) bool   { return isVariablePart(p) && strings.HasSuffix(p, "+}") }

func childPath(parentPath, part string) string {
	if parentPath == "/" {
		return "/" + part
	}
	return parentPath + "/" + part
}

// resourceOutput is a Resource as AWS answers it: without ?embed=methods,
// resourceMethods holds each method name with an empty object.
func resourceOutput(r *model.Resource, embedMethods bool) any {
	if embedMethods || len(r.ResourceMethods) == 0 {
		for _, m := range r.ResourceMethods {
			normalizeMethod(m)
		}
		return r
	}
	type bare struct {
		ID              string              `json:"id"`
		ParentID        string              `json:"parentId,omitempty"`
		PathPart        string              `json:"pathPart,omitempty"`
		Path            string              `json:"path"`
		ResourceMethods map[string]struct{} `json:"resourceMethods,omitempty"`
	}
	out := bare{ID: r.ID, ParentID: r.ParentID, PathPart: r.PathPart, Path: r.Path, ResourceMethods: map[string]struct{}{}}
	for name := range r.ResourceMethods {
		out.ResourceMethods[name] = struct{}{}
	}
	return out
}

func wantsEmbeddedMethods(req *request) bool {
	for _, e := range req.query["embed"] {
		for _, v := range strings.Split(e, ",") {
			if strings.TrimSpace(v) == "methods" {
				return true
			}
		}
	}
	return false
}

type createResourceInput struct {
	PathPart *string `json:"pathPart"`
}

func (s *Service) createResource(ctx context.Context, req *request) (int, any, error) {
	var in createResourceInput
	if err := req.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.PathPart == nil {
		return 0, nil, validationError("Value null at 'createResourceInput.pathPart' failed to satisfy constraint: Member must not be null")
	}
	part := *in.PathPart
	if err := checkPathPart(part); err != nil {
		return 0, nil, err
	}
	api, parentID := req.params["restApiId"], req.params["parentId"]
	var out *model.Resource
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := s.loadAPI(tx, api); err != nil {
			return err
		}
		parent, err := loadResource(tx, api, parentID)
		if err != nil {
			return err
		}
		all, err := store.ListRecords[model.Resource](tx, resourcesPrefix(api))
		if err != nil {
			return err
		}
		if err := checkPlacement(parent, part, "", all); err != nil {
			return err
		}
		out = &model.Resource{ID: awsproto.NewID(10), ParentID: parent.ID, PathPart: part, Path: childPath(parent.Path, part)}
		return store.PutRecord(tx, resourceKey(api, out.ID), out)
	})
	if err != nil {
		return 0, nil, internalErr("create resource", err)
	}
	return http.StatusCreated, out, nil
}

// checkPlacement checks that a resource self (empty for a new one) may have path
// part part under parent, with AWS's rules and messages:
//   - a greedy {proxy+} resource has no children;
//   - siblings have distinct path parts (409 ConflictException);
//   - at most one sibling is a path variable ({id} or {proxy+}).
func checkPlacement(parent *model.Resource, part, self string, all []*model.Resource) error {
	if err := checkPathPart(part); err != nil {
		return err
	}
	if isGreedyPart(parent.PathPart) {
		return badRequest("Cannot create a child of a resource with a greedy path variable: %s", parent.PathPart)
	}
	for _, sib := range all {
		if sib.ParentID != parent.ID || sib.ID == self {
			continue
		}
		if sib.PathPart == part {
			return conflict("Another resource with the same parent already has this name: %s", part)
		}
	}
	if isVariablePart(part) {
		for _, sib := range all {
			if sib.ParentID == parent.ID && sib.ID != self && isVariablePart(sib.PathPart) {
				return badRequest("A sibling (%s) of this resource already has a variable path part -- only one is allowed", sib.PathPart)
			}
		}
	}
	return nil
}

func (s *Service) getResource(ctx context.Context, req *request) (int, any, error) {
	res, err := loadResource(s.reader(ctx), req.params["restApiId"], req.params["resourceId"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, resourceOutput(res, wantsEmbeddedMethods(req)), nil
}

func (s *Service) getResources(ctx context.Context, req *request) (int, any, error) {
	rd := s.reader(ctx)
	api := req.params["restApiId"]
	if _, err := s.loadAPI(rd, api); err != nil {
		return 0, nil, err
	}
	all, err := store.ListRecords[model.Resource](rd, resourcesPrefix(api))
	if err != nil {
		return 0, nil, internalErr("list resources", err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	p, err := paginate(req, all, func(r *model.Resource) string { return r.Path })
	if err != nil {
		return 0, nil, err
	}
	embed := wantsEmbeddedMethods(req)
	out := page[any]{Item: make([]any, 0, len(p.Item)), Position: p.Position}
	for _, r := range p.Item {
		out.Item = append(out.Item, resourceOutput(r, embed))
	}
	return http.StatusOK, out, nil
}

func (s *Service) updateResource(ctx context.Context, req *request) (int, any, error) {
	ops, err := decodePatch(req, "updateResourceInput")
	if err != nil {
		return 0, nil, err
	}
	api, id := req.params["restApiId"], req.params["resourceId"]
	var out *model.Resource
	err = s.store.Update(ctx, func(tx store.Tx) error {
		res, err := loadResource(tx, api, id)
		if err != nil {
			return err
		}
		all, err := store.ListRecords[model.Resource](tx, resourcesPrefix(api))
		if err != nil {
			return err
		}
		byID := map[string]*model.Resource{}
		for _, r := range all {
			byID[r.ID] = r
		}
		res = byID[id]
		for _, op := range ops {
			p := op.path()
			if p != "/pathPart" && p != "/parentId" {
				return errPathNotOneOf(op, "/parentId, /pathPart")
			}
			if op.Op != "replace" {
				return errUnsupportedOp(op)
			}
			if res.ParentID == "" {
				return badRequest("Root resource cannot update its %s.", strings.TrimPrefix(p, "/"))
			}
			newParentID, newPart := res.ParentID, res.PathPart
			if p == "/parentId" {
				newParentID = op.value()
				if byID[newParentID] == nil {
					return errResourceNotFound
				}
				if newParentID == res.ID || isDescendant(byID, newParentID, res.ID) {
					return badRequest("Resources cannot be cyclical.")
				}
			} else {
				newPart = op.value()
			}
			if err := checkPlacement(byID[newParentID], newPart, res.ID, all); err != nil {
				return err
			}
			res.ParentID, res.PathPart = newParentID, newPart
		}
		// Paths of the resource and its whole subtree follow the new place.
		changed := recomputePaths(byID)
		for _, r := range changed {
			if err := store.PutRecord(tx, resourceKey(api, r.ID), r); err != nil {
				return err
			}
		}
		out = res
		return store.PutRecord(tx, resourceKey(api, res.ID), res)
	})
	if err != nil {
		return 0, nil, internalErr("update resource", err)
	}
	return http.StatusOK, resourceOutput(out, true), nil
}

// subtreeDeepestFirst returns the resource id and its descendants, each after all
// of its own descendants.
func subtreeDeepestFirst(all []*model.Resource, id string) []*model.Resource {
	byID := map[string]*model.Resource{}
	for _, r := range all {
		byID[r.ID] = r
	}
	depth := map[string]int{}
	var subtree []*model.Resource
	for _, r := range all {
		if r.ID != id && !isDescendant(byID, r.ID, id) {
			continue
		}
		subtree = append(subtree, r)
		for n, cur := 0, r; cur != nil && cur.ID != id && n <= len(byID); n, cur = n+1, byID[cur.ParentID] {
			depth[r.ID]++
		}
	}
	sort.SliceStable(subtree, func(i, j int) bool { return depth[subtree[i].ID] > depth[subtree[j].ID] })
	return subtree
}

// isDescendant reports whether id lies in the subtree rooted at ancestor.
func isDescendant(byID map[string]*model.Resource, id, ancestor string) bool {
	for seen := 0; seen <= len(byID); seen++ {
		r := byID[id]
		if r == nil || r.ParentID == "" {
			return false
		}
		if r.ParentID == ancestor {
			return true
		}
		id = r.ParentID
	}
	return false
}

// recomputePaths sets every resource's path from its ancestors' path parts and
// returns those whose path changed.
func recomputePaths(byID map[string]*model.Resource) []*model.Resource {
	var changed []*model.Resource
	var pathOf func(r *model.Resource, depth int) string
	pathOf = func(r *model.Resource, depth int) string {
		if r.ParentID == "" || depth > len(byID) {
			return "/"
		}
		parent := byID[r.ParentID]
		if parent == nil {
			return "/" + r.PathPart
		}
		return childPath(pathOf(parent, depth+1), r.PathPart)
	}
	for _, r := range byID {
		if p := pathOf(r, 0); p != r.Path {
			r.Path = p
			changed = append(changed, r)
		}
	}
	return changed
}

func (s *Service) deleteResource(ctx context.Context, req *request) (int, any, error) {
	api, id := req.params["restApiId"], req.params["resourceId"]
	// The resource goes with its whole subtree, methods and integrations included.
	// A subtree larger than one etcd transaction may delete goes in several,
	// deepest resources first, so every intermediate state is a well-formed tree
	// that still holds the resource until the last transaction.
	first, done := true, false
	var err error
	for !done && err == nil {
		err = s.store.Update(ctx, func(tx store.Tx) error {
			res, err := loadResource(tx, api, id)
			if errors.Is(err, errResourceNotFound) && !first {
				done = true // deleted by a concurrent call after our first batch
				return nil
			}
			if err != nil {
				return err
			}
			if res.ParentID == "" {
				return badRequest("Cannot delete root resource")
			}
			all, err := store.ListRecords[model.Resource](tx, resourcesPrefix(api))
			if err != nil {
				return err
			}
			subtree := subtreeDeepestFirst(all, id)
			batch := subtree[:min(len(subtree), model.MaxWritesPerUpdate)]
			for _, r := range batch {
				if err := deleteRecord(tx, resourceKey(api, r.ID)); err != nil {
					return err
				}
			}
			done = len(batch) == len(subtree)
			return nil
		})
		first = false
	}
	if err != nil {
		return 0, nil, internalErr("delete resource", err)
	}
	return http.StatusAccepted, nil, nil
}
