// Package domains routes data-plane requests that do not name their API in the
// execute-api form: custom domain names (REST base path mappings and HTTP API
// mappings), chosen by SNI and Host, and private endpoints, chosen by the
// {apiId}-{vpceId} host or the x-apigw-api-id header. It compiles the stored domain
// names and mappings into one immutable Table, swapped atomically when a store watch
// fires (as the gateway does with its snapshot), serves TLS certificates by SNI from
// it, and hands each request to the gateway with the (API, stage) it picked.
package domains

import (
	"crypto/tls"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/internal/apigw/model"
)

// Table is the compiled routing table: custom domain name → domain, each with its
// mappings longest base path first. It is immutable once built.
type Table struct {
	exact     map[string]*Domain // by lower-case name
	wildcards map[string]*Domain // "*.example.com" under "example.com"
	// Revision is the highest store revision compiled.
	Revision int64
}

// Domain is one custom domain name as served.
type Domain struct {
	Name    string
	CertARN string
	// MinVersion is the lowest TLS version its securityPolicy allows.
	MinVersion uint16
	Mappings   []Mapping // longest Key first
}

// Mapping sends requests under a base path to an API's stage.
type Mapping struct {
	Key   string // "" (root), "email", "v1/email"
	APIID string
	// Stage is "" for a REST base path mapping without a stage: the first path
	// segment after the base path names it.
	Stage string
}

// Build compiles domain names and their mappings.
func Build(names []*model.DomainName, mappings []*model.DomainMapping, revision int64) *Table {
	t := &Table{exact: map[string]*Domain{}, wildcards: map[string]*Domain{}, Revision: revision}
	for _, n := range names {
		d := &Domain{Name: strings.ToLower(n.Name), CertARN: n.CertificateArn, MinVersion: MinTLSVersion(n.SecurityPolicy)}
		if rest, ok := strings.CutPrefix(d.Name, "*."); ok {
			t.wildcards[rest] = d
		} else {
			t.exact[d.Name] = d
		}
	}
	for _, m := range mappings {
		d := t.byName(strings.ToLower(m.Domain))
		if d == nil {
			continue // mapping of a domain being deleted
		}
		d.Mappings = append(d.Mappings, Mapping{Key: m.Key, APIID: m.APIID, Stage: m.Stage})
	}
	for _, d := range t.all() {
		slices.SortFunc(d.Mappings, func(a, b Mapping) int { return len(b.Key) - len(a.Key) })
	}
	return t
}

func (t *Table) byName(name string) *Domain {
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		return t.wildcards[rest]
	}
	return t.exact[name]
}

func (t *Table) all() []*Domain {
	out := make([]*Domain, 0, len(t.exact)+len(t.wildcards))
	for _, d := range t.exact {
		out = append(out, d)
	}
	for _, d := range t.wildcards {
		out = append(out, d)
	}
	return out
}

// Lookup finds the custom domain serving host (no port): the exact name, else a
// wildcard domain one label up ("*.example.com" serves "a.example.com", not
// "a.b.example.com"), as API Gateway's wildcard custom domains do.
func (t *Table) Lookup(host string) *Domain {
	if t == nil || host == "" {
		return nil
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if d := t.exact[host]; d != nil {
		return d
	}
	if _, parent, ok := strings.Cut(host, "."); ok {
		return t.wildcards[parent]
	}
	return nil
}

// Match picks the mapping for an escaped request path and returns the path the API
// sees (the base path removed, "/" when nothing is left). Base paths are matched
// whole segments at a time and case-sensitively; the longest wins.
func (d *Domain) Match(path string) (*Mapping, string, bool) {
	for i := range d.Mappings {
		m := &d.Mappings[i]
		if m.Key == "" {
			return m, path, true
		}
		rest, ok := strings.CutPrefix(path, "/"+m.Key)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		if rest == "" {
			rest = "/"
		}
		return m, rest, true
	}
	return nil, "", false
}

// MinTLSVersion is the lowest TLS version a securityPolicy allows: TLS_1_0 admits
// TLS 1.0 and later, TLS_1_2 (and anything else, failing closed) TLS 1.2 and later.
func MinTLSVersion(policy string) uint16 {
	if policy == "TLS_1_0" {
		return tls.VersionTLS10
	}
	return tls.VersionTLS12
}
