package restapi

import (
	"strconv"
	"strings"
)

// patchOp is one of an Update* operation's patchOperations (AWS PatchOperation): a
// JSON-Pointer-like path in which "/" inside a name is written "~1" (and "~" "~0").
type patchOp struct {
	Op    string  `json:"op"`
	Path  *string `json:"path"`
	Value *string `json:"value"`
	From  *string `json:"from"`
}

type patchBody struct {
	PatchOperations []patchOp `json:"patchOperations"`
}

func (p patchOp) path() string {
	if p.Path == nil {
		return ""
	}
	return *p.Path
}

func (p patchOp) value() string {
	if p.Value == nil {
		return ""
	}
	return *p.Value
}

// decodePatch reads the patch operations of an Update* call and checks each op
// against the enum AWS's front end enforces (input names the operation's input
// shape, e.g. "updateRestApiInput").
func decodePatch(req *request, input string) ([]patchOp, error) {
	var body patchBody
	if err := req.decode(&body); err != nil {
		return nil, err
	}
	for i, op := range body.PatchOperations {
		switch op.Op {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, validationError("Value '%s' at '%s.patchOperations.%d.member.op' failed to satisfy constraint: "+
				"Member must satisfy enum value set: [add, remove, move, test, replace, copy]", op.Op, input, i+1)
		}
	}
	return body.PatchOperations, nil
}

// unescapePointer decodes one JSON Pointer token ("application~1json").
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// escapePointer encodes a name as one JSON Pointer token.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// splitPatchPath splits "/requestModels/application~1json" into its unescaped
// tokens ["requestModels", "application/json"].
func splitPatchPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = unescapePointer(parts[i])
	}
	return parts
}

// parseBool reads a patch value as AWS does for boolean members: "true"
// (case-insensitive) is true, anything else false.
func parseBool(v string) bool { return strings.EqualFold(v, "true") }

// errInvalidPatchPath is AWS's answer to a path an Update* operation does not know.
func errInvalidPatchPath(p string) error {
	if p == "" {
		p = "null"
	}
	return badRequest("Invalid patch path %s", p)
}

// errUnsupportedOp is AWS's answer to a known path with an op it does not support:
// "Invalid patch path  '/pathPart' specified for op 'remove'. Please choose supported operations"
// (two spaces, as AWS writes it).
func errUnsupportedOp(op patchOp) error {
	return badRequest("Invalid patch path  '%s' specified for op '%s'. Please choose supported operations", op.path(), op.Op)
}

// errPathNotOneOf is AWS's answer to an unknown path for operations that list the
// supported ones: "Invalid patch path  '/x' specified for op 'replace'. Must be one of: [/a, /b]".
func errPathNotOneOf(op patchOp, paths string) error {
	return badRequest("Invalid patch path  '%s' specified for op '%s'. Must be one of: [%s]", op.path(), op.Op, paths)
}

func atoiPatch(v string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil
}
