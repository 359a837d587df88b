package policy

// globMatch matches s against a pattern where * is any run of characters (possibly
// empty) and ? is exactly one character, as IAM's StringLike does.
func globMatch(pattern, s string) bool { return glob(pattern, s, false) }

// globMatchFold is globMatch ignoring ASCII case (actions, ...IgnoreCase).
func globMatchFold(pattern, s string) bool { return glob(pattern, s, true) }

// glob matches iteratively, backtracking only to the last star: O(len(pattern) *
// len(s)) at worst, never exponential, and without allocating.
func glob(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		// The star case comes first: a '*' in s (a request path may hold one) must
		// not be taken as a literal match for the pattern's wildcard, or "abc/*"
		// would fail to match "abc/*x" and an explicit Deny would be lost.
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || sameByte(pattern[p], s[i], fold)):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func sameByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	return lower(a) == lower(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// arnLike is how IAM matches a Resource (and ArnLike/ArnEquals): "*" matches
// anything; otherwise both are split into their six colon-separated parts
// (arn:partition:service:region:account:resource, the resource keeping its own
// colons) and each part is matched on its own with * and ? wildcards, so a wildcard
// never reaches across a part boundary before the resource.
func arnLike(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	for part := 0; part < 5; part++ {
		pi, ai := indexColon(pattern), indexColon(arn)
		if pi < 0 || ai < 0 {
			return false
		}
		if !globMatch(pattern[:pi], arn[:ai]) {
			return false
		}
		pattern, arn = pattern[pi+1:], arn[ai+1:]
	}
	return globMatch(pattern, arn)
}

func indexColon(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}
