package policy

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// family is what a condition operator compares.
type family uint8

const (
	famString family = iota + 1
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

// comparison is how a value is compared within its family.
type comparison uint8

const (
	cmpEquals comparison = iota + 1
	cmpLike
	cmpLess
	cmpLessEq
	cmpGreater
	cmpGreaterEq
)

// setQualifier is ForAnyValue: / ForAllValues: (or neither) on a multivalued key.
type setQualifier uint8

const (
	setSingle setQualifier = iota
	setAnyValue
	setAllValues
)

// condition is one (operator, key, values) triple of a Condition block.
type condition struct {
	op       string // as written, for diagnostics
	family   family
	cmp      comparison
	negate   bool // StringNotEquals, NotIpAddress, ArnNotLike, NumericNotEquals...
	fold     bool // ...IgnoreCase
	ifExists bool
	set      setQualifier
	key      string // lower-case condition key
	vars     bool   // some value holds ${...}

	strs     []string
	nums     []float64
	times    []time.Time
	prefixes []netip.Prefix
}

// baseOperators maps an operator name (without ForAnyValue:/ForAllValues: and
// IfExists) to what it compares, as listed in "IAM JSON policy elements: Condition
// operators".
var baseOperators = map[string]struct {
	family family
	cmp    comparison
	negate bool
	fold   bool
}{
	"StringEquals":              {famString, cmpEquals, false, false},
	"StringNotEquals":           {famString, cmpEquals, true, false},
	"StringEqualsIgnoreCase":    {famString, cmpEquals, false, true},
	"StringNotEqualsIgnoreCase": {famString, cmpEquals, true, true},
	"StringLike":                {famString, cmpLike, false, false},
	"StringNotLike":             {famString, cmpLike, true, false},
	"NumericEquals":             {famNumeric, cmpEquals, false, false},
	"NumericNotEquals":          {famNumeric, cmpEquals, true, false},
	"NumericLessThan":           {famNumeric, cmpLess, false, false},
	"NumericLessThanEquals":     {famNumeric, cmpLessEq, false, false},
	"NumericGreaterThan":        {famNumeric, cmpGreater, false, false},
	"NumericGreaterThanEquals":  {famNumeric, cmpGreaterEq, false, false},
	"DateEquals":                {famDate, cmpEquals, false, false},
	"DateNotEquals":             {famDate, cmpEquals, true, false},
	"DateLessThan":              {famDate, cmpLess, false, false},
	"DateLessThanEquals":        {famDate, cmpLessEq, false, false},
	"DateGreaterThan":           {famDate, cmpGreater, false, false},
	"DateGreaterThanEquals":     {famDate, cmpGreaterEq, false, false},
	"Bool":                      {famBool, cmpEquals, false, false},
	"BinaryEquals":              {famBinary, cmpEquals, false, false},
	"IpAddress":                 {famIP, cmpEquals, false, false},
	"NotIpAddress":              {famIP, cmpEquals, true, false},
	"ArnEquals":                 {famARN, cmpLike, false, false},
	"ArnLike":                   {famARN, cmpLike, false, false},
	"ArnNotEquals":              {famARN, cmpLike, true, false},
	"ArnNotLike":                {famARN, cmpLike, true, false},
	"Null":                      {famNull, cmpEquals, false, false},
}

func compileCondition(op, key string, raw json.RawMessage, variablesAllowed bool) (condition, error) {
	c := condition{op: op, key: strings.ToLower(key)}
	name := op
	if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
		name, c.set = rest, setAnyValue
	} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
		name, c.set = rest, setAllValues
	}
	if rest, ok := strings.CutSuffix(name, "IfExists"); ok && rest != "Null" {
		name, c.ifExists = rest, true
	}
	base, ok := baseOperators[name]
	if !ok {
		return c, syntaxErr("Syntax errors in policy: unknown condition operator %q", op)
	}
	if key == "" {
		return c, syntaxErr("Syntax errors in policy: condition %s has an empty key", op)
	}
	c.family, c.cmp, c.negate, c.fold = base.family, base.cmp, base.negate, base.fold
	if c.family == famNull && c.set != setSingle {
		return c, syntaxErr("Syntax errors in policy: %s cannot be qualified with ForAnyValue or ForAllValues", op)
	}

	vals, err := conditionValues(raw, op)
	if err != nil {
		return c, err
	}
	for _, v := range vals {
		switch c.family {
		case famString, famARN:
			if variablesAllowed && strings.Contains(v, "${") {
				c.vars = true
			}
			if c.fold {
				v = strings.ToLower(v)
			}
			c.strs = append(c.strs, v)
		case famBinary:
			c.strs = append(c.strs, v)
		case famBool, famNull:
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false" && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false")) {
				return c, syntaxErr("Syntax errors in policy: %s needs true or false, not %q", op, v)
			}
			c.strs = append(c.strs, strconv.FormatBool(b))
		case famNumeric:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return c, syntaxErr("Syntax errors in policy: %s needs a number, not %q", op, v)
			}
			c.nums = append(c.nums, n)
		case famDate:
			t, ok := parseDate(v)
			if !ok {
				return c, syntaxErr("Syntax errors in policy: %s needs a date, not %q", op, v)
			}
			c.times = append(c.times, t)
		case famIP:
			p, ok := parseIPOrCIDR(v)
			if !ok {
				return c, syntaxErr("Syntax errors in policy: %s needs an IP address or CIDR block, not %q", op, v)
			}
			c.prefixes = append(c.prefixes, p)
		}
	}
	return c, nil
}

// conditionValues decodes a condition's value: a string, number or boolean, or a
// non-empty list of them.
func conditionValues(raw json.RawMessage, op string) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	var list []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
			return nil, syntaxErr("Syntax errors in policy: %s values must be a scalar or a non-empty list", op)
		}
	} else {
		list = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, syntaxErr("Syntax errors in policy: %s has an invalid value", op)
		}
		switch t := x.(type) {
		case string:
			out = append(out, t)
		case bool:
			out = append(out, strconv.FormatBool(t))
		case float64:
			out = append(out, string(bytes.TrimSpace(v)))
		default:
			return nil, syntaxErr("Syntax errors in policy: %s values must be strings, numbers or booleans", op)
		}
	}
	return out, nil
}

// parseDate reads the date forms IAM accepts: ISO 8601 (with or without time and
// fraction) and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func parseIPOrCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// holds evaluates the condition against the request context, following "Condition
// operators" and "Single-valued vs. multivalued context keys":
//   - an absent key fails a positive operator and satisfies a negated one; ...IfExists
//     is satisfied by an absent key; Null tests presence itself;
//   - several policy values are ORed (for a negated operator: the value matches none);
//   - ForAnyValue: some request value satisfies it (absent key: false);
//     ForAllValues: every request value does (absent key: true).
func (c *condition) holds(ev *evaluation) bool {
	vals := ev.values(c.key)
	if c.family == famNull {
		absent := len(vals) == 0 || (len(vals) == 1 && vals[0] == "")
		for _, s := range c.strs {
			if (s == "true") == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.set == setAllValues:
			return true
		case c.set == setAnyValue:
			return false
		case c.ifExists:
			return true
		}
		return c.negate
	}
	switch c.set {
	case setAllValues:
		for _, v := range vals {
			if !c.valueHolds(ev, v) {
				return false
			}
		}
		return true
	default: // single-valued keys hold one value; a multivalued one without a qualifier is treated as ForAnyValue
		for _, v := range vals {
			if c.valueHolds(ev, v) {
				return true
			}
		}
		return false
	}
}

// valueHolds applies the operator (with its negation) to one request value.
func (c *condition) valueHolds(ev *evaluation, v string) bool {
	return c.anyPolicyValueMatches(ev, v) != c.negate
}

func (c *condition) anyPolicyValueMatches(ev *evaluation, v string) bool {
	switch c.family {
	case famString:
		for _, want := range c.strs {
			if c.vars {
				var ok bool
				if want, ok = ev.substitute(want); !ok {
					continue
				}
			}
			switch {
			case c.cmp == cmpLike && c.fold:
				if globMatchFold(want, v) {
					return true
				}
			case c.cmp == cmpLike:
				if globMatch(want, v) {
					return true
				}
			case c.fold:
				if strings.EqualFold(want, v) {
					return true
				}
			default:
				if want == v {
					return true
				}
			}
		}
	case famARN:
		for _, want := range c.strs {
			if c.vars {
				var ok bool
				if want, ok = ev.substitute(want); !ok {
					continue
				}
			}
			if arnLike(want, v) {
				return true
			}
		}
	case famBinary:
		for _, want := range c.strs {
			if want == v {
				return true
			}
		}
	case famBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false
		}
		for _, want := range c.strs {
			if (want == "true") == b {
				return true
			}
		}
	case famNumeric:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, want := range c.nums {
			if compare(c.cmp, cmpFloat(n, want)) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, want := range c.times {
			if compare(c.cmp, t.Compare(want)) {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(c comparison, sign int) bool {
	switch c {
	case cmpEquals, cmpLike:
		return sign == 0
	case cmpLess:
		return sign < 0
	case cmpLessEq:
		return sign <= 0
	case cmpGreater:
		return sign > 0
	case cmpGreaterEq:
		return sign >= 0
	}
	return false
}
