package cwlogs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// A filter is a compiled CloudWatch Logs filter pattern, as FilterLogEvents
// (and metric and subscription filters) take it. The documented forms
// ("Filter pattern syntax for metric filters, subscription filters, filter
// log events and Live Tail"):
//   - "" matches every event;
//   - terms: `ERROR Exception` (all terms), `?ERROR ?WARN` (any), `-DEBUG`
//     (not), `"quoted phrase"`; matching is case sensitive;
//   - regular expressions between percent signs: `%[Ee]rror%`;
//   - JSON: `{ $.level = "ERROR" && $.latency > 100 }` with =, !=, <, <=, >, >=,
//     `IS TRUE|FALSE|NULL`, `EXISTS`, `NOT EXISTS`, ( ), && and ||, `*`
//     wildcards in string values;
//   - space-delimited: `[ip, user, ..., status = 4*, bytes > 1000]`.
type filter interface {
	match(message string) bool
}

type matchAll struct{}

func (matchAll) match(string) bool { return true }

// compileFilter parses a filter pattern; the error text is the message of
// AWS's InvalidParameterException.
func compileFilter(pattern string) (filter, error) {
	p := strings.TrimSpace(pattern)
	switch {
	case p == "":
		return matchAll{}, nil
	case strings.HasPrefix(p, "{"):
		if !strings.HasSuffix(p, "}") {
			return nil, errInvalidPattern
		}
		return compileJSONFilter(p[1 : len(p)-1])
	case strings.HasPrefix(p, "["):
		if !strings.HasSuffix(p, "]") {
			return nil, errInvalidPattern
		}
		return compileDelimited(p[1 : len(p)-1])
	}
	return compileTerms(p)
}

var errInvalidPattern = fmt.Errorf("Invalid filter pattern")

// termFilter: every plain term, at least one ?term (when any), and no -term.
type termFilter struct {
	all, any, none []termMatcher
}

type termMatcher interface{ match(string) bool }

type substring string

func (s substring) match(m string) bool { return strings.Contains(m, string(s)) }

type regexTerm struct{ re *regexp.Regexp }

func (r regexTerm) match(m string) bool { return r.re.MatchString(m) }

func compileTerms(p string) (filter, error) {
	var f termFilter
	for i := 0; i < len(p); {
		c := p[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		kind := byte(0)
		if c == '?' || c == '-' {
			kind = c
			i++
			if i >= len(p) {
				return nil, errInvalidPattern
			}
		}
		var m termMatcher
		switch p[i] {
		case '"':
			end := strings.IndexByte(p[i+1:], '"')
			if end < 0 {
				return nil, errInvalidPattern
			}
			m = substring(p[i+1 : i+1+end])
			i += end + 2
		case '%':
			end := strings.IndexByte(p[i+1:], '%')
			if end < 0 {
				return nil, errInvalidPattern
			}
			re, err := regexp.Compile(p[i+1 : i+1+end])
			if err != nil {
				return nil, errInvalidPattern
			}
			m = regexTerm{re}
			i += end + 2
		default:
			j := i
			for j < len(p) && p[j] != ' ' && p[j] != '\t' {
				j++
			}
			m = substring(p[i:j])
			i = j
		}
		switch kind {
		case '?':
			f.any = append(f.any, m)
		case '-':
			f.none = append(f.none, m)
		default:
			f.all = append(f.all, m)
		}
	}
	return f, nil
}

func (f termFilter) match(m string) bool {
	for _, t := range f.all {
		if !t.match(m) {
			return false
		}
	}
	for _, t := range f.none {
		if t.match(m) {
			return false
		}
	}
	if len(f.any) == 0 {
		return true
	}
	for _, t := range f.any {
		if t.match(m) {
			return true
		}
	}
	return false
}

// --- JSON patterns ---------------------------------------------------------

type jsonFilter struct{ expr jsonExpr }

func (f jsonFilter) match(m string) bool {
	var doc any
	if json.Unmarshal([]byte(m), &doc) != nil {
		return false
	}
	return f.expr.eval(doc)
}

type jsonExpr interface{ eval(doc any) bool }

type andExpr struct{ l, r jsonExpr }
type orExpr struct{ l, r jsonExpr }

func (e andExpr) eval(d any) bool { return e.l.eval(d) && e.r.eval(d) }
func (e orExpr) eval(d any) bool  { return e.l.eval(d) || e.r.eval(d) }

// comparison is `selector op value`, or a test (IS TRUE, EXISTS...).
type comparison struct {
	path []pathStep
	op   string // = != < <= > >= IS EXISTS NOTEXISTS
	str  *valueMatcher
	num  *float64
	is   string // TRUE FALSE NULL
}

type pathStep struct {
	key   string
	index int // -1 for a key step
}

// valueMatcher matches a string value: exact, with * wildcards, or a %regex%.
type valueMatcher struct {
	re *regexp.Regexp
}

func newValueMatcher(v string, quoted bool) (*valueMatcher, error) {
	if len(v) >= 2 && v[0] == '%' && v[len(v)-1] == '%' {
		re, err := regexp.Compile(v[1 : len(v)-1])
		if err != nil {
			return nil, errInvalidPattern
		}
		return &valueMatcher{re}, nil
	}
	parts := strings.Split(v, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return &valueMatcher{regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")}, nil
}

func (v *valueMatcher) match(s string) bool { return v.re.MatchString(s) }

func (c comparison) eval(doc any) bool {
	val, found := lookup(doc, c.path)
	switch c.op {
	case "EXISTS":
		return found
	case "NOTEXISTS":
		return !found
	case "IS":
		switch c.is {
		case "NULL":
			return found && val == nil
		case "TRUE":
			b, ok := val.(bool)
			return found && ok && b
		case "FALSE":
			b, ok := val.(bool)
			return found && ok && !b
		}
		return false
	}
	if !found {
		return false
	}
	if c.num != nil {
		n, ok := val.(float64)
		if !ok {
			return false
		}
		switch c.op {
		case "=":
			return n == *c.num
		case "!=":
			return n != *c.num
		case "<":
			return n < *c.num
		case "<=":
			return n <= *c.num
		case ">":
			return n > *c.num
		case ">=":
			return n >= *c.num
		}
		return false
	}
	s, ok := val.(string)
	if !ok {
		return false
	}
	if c.op == "!=" {
		return !c.str.match(s)
	}
	return c.str.match(s)
}

func lookup(doc any, path []pathStep) (any, bool) {
	cur := doc
	for _, st := range path {
		if st.index >= 0 {
			arr, ok := cur.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			cur = arr[st.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[st.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// jsonParser is a recursive-descent parser over the pattern between braces.
type jsonParser struct {
	s   string
	pos int
}

func compileJSONFilter(body string) (filter, error) {
	p := &jsonParser{s: body}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, errInvalidPattern
	}
	return jsonFilter{e}, nil
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *jsonParser) consume(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *jsonParser) parseOr() (jsonExpr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.consume("||") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *jsonParser) parseAnd() (jsonExpr, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.consume("&&") {
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *jsonParser) parseUnary() (jsonExpr, error) {
	if p.consume("(") {
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if !p.consume(")") {
			return nil, errInvalidPattern
		}
		return e, nil
	}
	return p.parseComparison()
}

func (p *jsonParser) parseComparison() (jsonExpr, error) {
	p.skipSpace()
	path, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	c := comparison{path: path}
	p.skipSpace()
	rest := p.s[p.pos:]
	switch {
	case hasWord(rest, "IS"):
		p.pos += 2
		p.skipSpace()
		w := p.word()
		switch w {
		case "TRUE", "FALSE", "NULL":
			c.op, c.is = "IS", w
			return c, nil
		}
		return nil, errInvalidPattern
	case hasWord(rest, "EXISTS"):
		p.pos += len("EXISTS")
		c.op = "EXISTS"
		return c, nil
	case hasWord(rest, "NOT"):
		p.pos += 3
		p.skipSpace()
		if p.word() != "EXISTS" {
			return nil, errInvalidPattern
		}
		c.op = "NOTEXISTS"
		return c, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			c.op = op
			p.pos += len(op)
			break
		}
	}
	if c.op == "" {
		return nil, errInvalidPattern
	}
	p.skipSpace()
	v, quoted, err := p.value()
	if err != nil {
		return nil, err
	}
	if !quoted {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			c.num = &n
			return c, nil
		}
	}
	switch c.op {
	case "=", "!=":
	default:
		return nil, errInvalidPattern // < and > compare numbers only
	}
	if c.str, err = newValueMatcher(v, quoted); err != nil {
		return nil, err
	}
	return c, nil
}

func hasWord(s, w string) bool {
	if !strings.HasPrefix(s, w) {
		return false
	}
	return len(s) == len(w) || !isIdent(rune(s[len(w)]))
}

func isIdent(r rune) bool {
	return r == '_' || r == '-' || r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (p *jsonParser) word() string {
	start := p.pos
	for p.pos < len(p.s) && isIdent(rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// parseSelector reads $.a.b[0].c.
func (p *jsonParser) parseSelector() ([]pathStep, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '$' {
		return nil, errInvalidPattern
	}
	p.pos++
	var path []pathStep
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '.':
			p.pos++
			w := p.word()
			if w == "" {
				return nil, errInvalidPattern
			}
			path = append(path, pathStep{key: w, index: -1})
		case '[':
			end := strings.IndexByte(p.s[p.pos:], ']')
			if end < 0 {
				return nil, errInvalidPattern
			}
			n, err := strconv.Atoi(p.s[p.pos+1 : p.pos+end])
			if err != nil || n < 0 {
				return nil, errInvalidPattern
			}
			path = append(path, pathStep{index: n})
			p.pos += end + 1
		default:
			return path, nil
		}
	}
	return path, nil
}

// value reads a quoted string or a bare value up to a space, ) or an operator.
func (p *jsonParser) value() (string, bool, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		end := strings.IndexByte(p.s[p.pos+1:], '"')
		if end < 0 {
			return "", false, errInvalidPattern
		}
		v := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, true, nil
	}
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ' ' || c == '\t' || c == ')' || strings.HasPrefix(p.s[p.pos:], "&&") || strings.HasPrefix(p.s[p.pos:], "||") {
			break
		}
		p.pos++
	}
	if p.pos == start {
		return "", false, errInvalidPattern
	}
	return p.s[start:p.pos], false, nil
}

// --- space-delimited patterns ----------------------------------------------

// delimitedFilter matches messages split into fields at spaces ("quoted" and
// [bracketed] runs are one field) against named fields with optional
// conditions; `...` matches any number of fields.
type delimitedFilter struct {
	fields []delimField
}

type delimField struct {
	ellipsis bool
	cond     *comparison // nil: any value
}

func compileDelimited(body string) (filter, error) {
	var f delimitedFilter
	for _, raw := range strings.Split(body, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil, errInvalidPattern
		}
		if raw == "..." {
			f.fields = append(f.fields, delimField{ellipsis: true})
			continue
		}
		name := raw
		i := strings.IndexAny(raw, "=!<>")
		if i < 0 {
			if !validFieldName(name) {
				return nil, errInvalidPattern
			}
			f.fields = append(f.fields, delimField{})
			continue
		}
		name = strings.TrimSpace(raw[:i])
		if !validFieldName(name) {
			return nil, errInvalidPattern
		}
		// Reuse the JSON comparison parser on "$ <op> <value>".
		e, err := (&jsonParser{s: "$" + raw[i:]}).parseComparison()
		if err != nil {
			return nil, err
		}
		c := e.(comparison)
		f.fields = append(f.fields, delimField{cond: &c})
	}
	return f, nil
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isIdent(r) {
			return false
		}
	}
	return true
}

func (f delimitedFilter) match(m string) bool {
	return matchFields(f.fields, splitFields(m))
}

func matchFields(pat []delimField, vals []string) bool {
	if len(pat) == 0 {
		return len(vals) == 0
	}
	if pat[0].ellipsis {
		for k := 0; k <= len(vals); k++ {
			if matchFields(pat[1:], vals[k:]) {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		return false
	}
	if c := pat[0].cond; c != nil {
		var v any = vals[0]
		if n, err := strconv.ParseFloat(vals[0], 64); err == nil && c.num != nil {
			v = n
		}
		if !c.eval(v) {
			return false
		}
	}
	return matchFields(pat[1:], vals[1:])
}

// splitFields splits at spaces; "..." and [...] are one field each, without
// their delimiters.
func splitFields(m string) []string {
	var out []string
	for i := 0; i < len(m); {
		switch m[i] {
		case ' ', '\t':
			i++
			continue
		case '"', '[':
			closer := byte('"')
			if m[i] == '[' {
				closer = ']'
			}
			end := strings.IndexByte(m[i+1:], closer)
			if end >= 0 {
				out = append(out, m[i+1:i+1+end])
				i += end + 2
				continue
			}
		}
		j := i
		for j < len(m) && m[j] != ' ' && m[j] != '\t' {
			j++
		}
		out = append(out, m[i:j])
		i = j
	}
	return out
}
