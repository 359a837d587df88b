package console

import (
	"sync"
	"time"
)

// Recent keeps the last requests of each API for the APIs page. It implements the
// gateway's Observer, so it sees every answered execute-api request; its cost on
// the request path is one mutex and a copy into a fixed ring. Only compiled APIs
// are reported to an observer, so the set of APIs is bounded by what exists (and
// capped by maxAPIs besides).
type Recent struct {
	mu   sync.Mutex // guards apis
	apis map[string]*ring
	per  int
}

// RecentRequest is one answered request.
type RecentRequest struct {
	Time        time.Time
	Stage       string
	Route       string // the matched route key; "" when none matched
	Status      int
	Latency     time.Duration
	Integration time.Duration
}

type ring struct {
	buf  []RecentRequest
	next int
	full bool
}

const maxRecentAPIs = 10000

// NewRecent keeps the last per requests of each API.
func NewRecent(per int) *Recent { return &Recent{apis: map[string]*ring{}, per: max(per, 1)} }

// ObserveRequest records one request (gateway.Observer).
func (r *Recent) ObserveRequest(apiID, stage, route string, status int, latency, integration time.Duration) {
	if apiID == "" {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.apis[apiID]
	if g == nil {
		if len(r.apis) >= maxRecentAPIs {
			return
		}
		g = &ring{buf: make([]RecentRequest, r.per)}
		r.apis[apiID] = g
	}
	g.buf[g.next] = RecentRequest{Time: now, Stage: stage, Route: route, Status: status, Latency: latency, Integration: integration}
	g.next++
	if g.next == len(g.buf) {
		g.next, g.full = 0, true
	}
}

// ObserveCompile is part of gateway.Observer; compiles are not shown here.
func (r *Recent) ObserveCompile(time.Duration) {}

// For returns the API's recent requests, newest first.
func (r *Recent) For(apiID string) []RecentRequest {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.apis[apiID]
	if g == nil {
		return nil
	}
	n := g.next
	if g.full {
		n = len(g.buf)
	}
	out := make([]RecentRequest, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, g.buf[(g.next-i+len(g.buf))%len(g.buf)])
	}
	return out
}
