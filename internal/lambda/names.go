package lambda

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice/internal/awsproto"
)

// functionNamePattern is the FunctionName constraint of Lambda's API model; a name
// may be given as a name, a partial ARN (account:function:name) or a full ARN, each
// optionally followed by ":version" or ":alias".
const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

var (
	// functionNameRE also takes the $LATEST.PUBLISHED qualifier of Lambda Managed
	// Instances functions (NamespacedFunctionName's current pattern).
	functionNameRE = regexp.MustCompile(`^` + strings.Replace(functionNamePattern, `(\$LATEST|`, `(\$LATEST(\.PUBLISHED)?|`, 1) + `$`)
	plainNameRE    = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	qualifierRE    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9-_]{1,128})$`)
	aliasNameRE    = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)
	accountRE      = regexp.MustCompile(`^\d{12}$`)
)

// functionRef is a parsed function identifier.
type functionRef struct {
	Name      string
	Qualifier string // "" when unqualified
	// Foreign is set when the ARN names another account or region: such a function
	// never exists here.
	Foreign bool
}

// parseFunctionRef parses a FunctionName parameter in any of its forms. queryQualifier
// is the operation's Qualifier parameter, if it has one.
func (s *Service) parseFunctionRef(raw, queryQualifier string) (functionRef, error) {
	if queryQualifier == "" {
		if ref, ok := s.refs.get(raw); ok {
			return ref, nil
		}
	}
	ref, err := s.parseFunctionRefUncached(raw, queryQualifier)
	if err == nil && queryQualifier == "" {
		s.refs.put(raw, ref)
	}
	return ref, err
}

// refCache remembers the names parseFunctionRef parsed without a query
// qualifier: the gateway invokes the few ARNs its integrations name over and
// over, and the pattern checks cost more than the rest of a warm invoke's
// bookkeeping. Bounded: past maxCachedRefs names nothing more is remembered.
type refCache struct {
	m sync.Map // raw name → functionRef
	n atomic.Int64
}

const maxCachedRefs = 4096

func (c *refCache) get(raw string) (functionRef, bool) {
	v, ok := c.m.Load(raw)
	if !ok {
		return functionRef{}, false
	}
	return v.(functionRef), true
}

func (c *refCache) put(raw string, ref functionRef) {
	if c.n.Load() < maxCachedRefs {
		if _, loaded := c.m.LoadOrStore(raw, ref); !loaded {
			c.n.Add(1)
		}
	}
}

func (s *Service) parseFunctionRefUncached(raw, queryQualifier string) (functionRef, error) {
	if v := awsproto.CheckLength("functionName", raw, 1, 170); v != nil {
		return functionRef{}, awsproto.ValidationError(v)
	}
	if !functionNameRE.MatchString(raw) {
		return functionRef{}, validation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", raw, functionNamePattern)
	}
	var ref functionRef
	rest := raw
	if strings.HasPrefix(rest, "arn:") {
		// arn:partition:lambda:region:account:function:name[:qualifier]
		parts := strings.SplitN(rest, ":", 7)
		if len(parts) != 7 || parts[5] != "function" {
			return functionRef{}, validation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", raw, functionNamePattern)
		}
		ref.Foreign = parts[1] != "aws" || parts[3] != s.region || parts[4] != s.account
		rest = parts[6]
	} else if strings.Contains(rest, ":") { // a plain name (the common case) needs no split
		if parts := strings.SplitN(rest, ":", 3); len(parts) == 3 && parts[1] == "function" && accountRE.MatchString(parts[0]) {
			ref.Foreign = parts[0] != s.account
			rest = parts[2]
		}
	}
	name, qual, _ := strings.Cut(rest, ":")
	if !plainNameRE.MatchString(name) || strings.Contains(qual, ":") {
		return functionRef{}, validation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", raw, functionNamePattern)
	}
	ref.Name, ref.Qualifier = name, qual
	if queryQualifier != "" {
		if !qualifierRE.MatchString(queryQualifier) && queryQualifier != latestPublished {
			return functionRef{}, validation("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", queryQualifier)
		}
		if ref.Qualifier != "" && ref.Qualifier != queryQualifier {
			// AWS: a qualified ARN and a different Qualifier parameter conflict.
			return functionRef{}, invalidParam("The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.Qualifier = queryQualifier
	}
	return ref, nil
}

// unqualifiedRef parses the FunctionName of an operation that acts on the function
// itself, not on a version or alias. AWS rejects a qualified name with
// InvalidParameterValueException "Unsupported function name: NAME. " + reason.
func (s *Service) unqualifiedRef(raw, reason string) (functionRef, error) {
	ref, err := s.parseFunctionRef(raw, "")
	if err != nil {
		return functionRef{}, err
	}
	if ref.Qualifier != "" {
		return functionRef{}, invalidParam("Unsupported function name: %s. %s", raw, reason)
	}
	return ref, nil
}

// arn is the ARN of the reference as AWS spells it in "not found" messages.
func (s *Service) refARN(ref functionRef) string { return s.qualifiedARN(ref.Name, ref.Qualifier) }
