package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// KeyIndex finds API keys by value and the usage plan that admits a key to an API
// stage. It is built with every snapshot and never changed afterwards.
type KeyIndex struct {
	byValue map[string]*APIKey
}

// APIKey is a compiled API key with the plans it belongs to, by "apiId/stage".
type APIKey struct {
	ID      string
	Value   string
	Name    string
	Enabled bool
	plans   map[string]*Plan
}

// Plan is a compiled usage plan.
type Plan struct {
	ID       string
	Throttle *model.ThrottleSettings
	Quota    *model.QuotaSettings
	// methodThrottle holds per-stage method throttles by "apiId/stage" and then
	// "{resourcePath}/{METHOD}".
	methodThrottle map[string]map[string]model.ThrottleSettings
}

// BuildKeyIndex compiles the account's API keys, usage plans and plan memberships
// (by plan id).
func BuildKeyIndex(keys []*model.APIKey, plans []*model.UsagePlan, members map[string][]string) *KeyIndex {
	ix := &KeyIndex{byValue: make(map[string]*APIKey, len(keys))}
	byID := make(map[string]*APIKey, len(keys))
	for _, k := range keys {
		if k.Value == "" {
			continue
		}
		ck := &APIKey{ID: k.ID, Value: k.Value, Name: k.Name, Enabled: k.Enabled, plans: map[string]*Plan{}}
		ix.byValue[k.Value] = ck
		byID[k.ID] = ck
	}
	for _, p := range plans {
		cp := &Plan{ID: p.ID, Throttle: p.Throttle, Quota: p.Quota, methodThrottle: map[string]map[string]model.ThrottleSettings{}}
		for _, st := range p.APIStages {
			if len(st.Throttle) > 0 {
				cp.methodThrottle[st.APIID+"/"+st.Stage] = st.Throttle
			}
		}
		for _, keyID := range members[p.ID] {
			k := byID[keyID]
			if k == nil {
				continue
			}
			for _, st := range p.APIStages {
				k.plans[st.APIID+"/"+st.Stage] = cp
			}
		}
	}
	return ix
}

// KeyRefusal says why an API key does not admit a request; every reason is the same
// 403 {"message":"Forbidden"} to the client, as on AWS.
type KeyRefusal uint8

const (
	KeyAdmitted KeyRefusal = iota
	KeyMissing
	KeyUnknown
	KeyDisabled
	KeyNotInPlan
)

func (r KeyRefusal) String() string {
	switch r {
	case KeyMissing:
		return "no API key"
	case KeyUnknown:
		return "unknown API key"
	case KeyDisabled:
		return "API key disabled"
	case KeyNotInPlan:
		return "API key is in no usage plan of this stage"
	}
	return "admitted"
}

// Admit finds the key with the given value and the plan that admits it to the stage.
func (ix *KeyIndex) Admit(value, apiID, stage string) (*APIKey, *Plan, KeyRefusal) {
	if value == "" {
		return nil, nil, KeyMissing
	}
	if ix == nil {
		return nil, nil, KeyUnknown
	}
	k := ix.byValue[value]
	switch {
	case k == nil:
		return nil, nil, KeyUnknown
	case !k.Enabled:
		return k, nil, KeyDisabled
	}
	p := k.plans[apiID+"/"+stage]
	if p == nil {
		return k, nil, KeyNotInPlan
	}
	return k, p, KeyAdmitted
}

// MethodThrottle is the throttle that applies to one method of a stage under the
// plan: a per-method setting ("/pets/GET"), else the plan's own.
func (p *Plan) MethodThrottle(apiID, stage, resourcePath, method string) *model.ThrottleSettings {
	if m := p.methodThrottle[apiID+"/"+stage]; m != nil {
		if t, ok := m[resourcePath+"/"+method]; ok {
			return &t
		}
	}
	return p.Throttle
}

// Limiters are token buckets by name, kept across snapshots so that a recompile does
// not refill them. On one node a bucket enforces the limit itself. In a cluster,
// Share says how many nodes serve: each node's bucket then holds its share of the
// rate and burst (limit/N), so the cluster as a whole never admits more than the
// limit; with a balancer that spreads requests evenly it admits the limit, with a
// skewed one as little as limit/N (the stated tolerance, docs/cluster.md).
type Limiters struct {
	mu sync.Mutex // guards m
	m  map[string]*rate.Limiter
	// Share, when set, returns the number of nodes sharing each limit (1 or more).
	Share func() int
}

// NewLimiters returns an empty set of token buckets.
func NewLimiters() *Limiters { return &Limiters{m: map[string]*rate.Limiter{}} }

// Allow takes one token from the bucket name, created (or re-created when the
// settings changed) with rps and burst. A zero rate with a zero burst means no
// limit; a zero burst with a rate allows at least one request at a time.
func (l *Limiters) Allow(name string, rps float64, burst int, now time.Time) bool {
	if rps <= 0 && burst <= 0 {
		return true
	}
	if burst <= 0 {
		burst = 1
	}
	if l.Share != nil {
		if n := l.Share(); n > 1 {
			rps, burst = rps/float64(n), max(burst/n, 1)
		}
	}
	limit := rate.Limit(rps)
	l.mu.Lock()
	lim := l.m[name]
	if lim == nil || lim.Limit() != limit || lim.Burst() != burst {
		lim = rate.NewLimiter(limit, burst)
		l.m[name] = lim
	}
	l.mu.Unlock()
	return lim.AllowN(now, 1)
}

// Counters count requests against quotas. Implementations must be exact across every
// node that shares them (the store implementation is; a Redis one can follow) and
// durable enough that a restart does not reset a quota.
type Counters interface {
	// Take counts one request against the counter name (which identifies a plan, a key
	// and a quota period) unless that would exceed limit; it returns whether the
	// request was counted. day names the UTC day counted in, for GetUsage.
	Take(ctx context.Context, name, day string, limit int64) (bool, error)
	// Used returns the requests counted on each day of a plan's key, by day.
	Used(ctx context.Context, planID, keyID string) (map[string]int64, error)
}

// QuotaWindow names the quota period that t falls in, "2026-12-01" being the first
// day of the window: DAY windows start at midnight UTC, WEEK windows on Sunday plus
// offset days, MONTH windows on the first plus offset days (see QuotaSettings).
func QuotaWindow(q *model.QuotaSettings, t time.Time) string {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch q.Period {
	case "WEEK":
		back := (int(day.Weekday()) - q.Offset%7 + 7) % 7
		day = day.AddDate(0, 0, -back)
	case "MONTH":
		start := time.Date(t.Year(), t.Month(), 1+q.Offset, 0, 0, 0, 0, time.UTC)
		if day.Before(start) {
			start = start.AddDate(0, -1, 0)
		}
		day = start
	}
	return day.Format(time.DateOnly)
}

// StoreCounters keeps quota counters in the store, outside the compiled prefix: one
// transaction per counted request, so counts are exact across nodes sharing the store
// and survive restarts.
type StoreCounters struct{ Store store.Store }

type usageRecord struct {
	Used int64 `json:"used"`
}

// Take implements Counters.
func (c StoreCounters) Take(ctx context.Context, name, day string, limit int64) (bool, error) {
	taken := false
	err := c.Store.Update(ctx, func(tx store.Tx) error {
		taken = false
		win, err := getUsage(tx, model.UsageCounterPrefix+name)
		if err != nil {
			return err
		}
		if win.Used >= limit {
			return nil
		}
		planKey, _ := splitWindow(name)
		dayKey := model.UsageCounterPrefix + planKey + "/day/" + day
		d, err := getUsage(tx, dayKey)
		if err != nil {
			return err
		}
		win.Used++
		d.Used++
		if err := store.PutRecord(tx, model.UsageCounterPrefix+name, win); err != nil {
			return err
		}
		taken = true
		return store.PutRecord(tx, dayKey, d)
	})
	return taken, err
}

// Used implements Counters.
func (c StoreCounters) Used(ctx context.Context, planID, keyID string) (map[string]int64, error) {
	prefix := model.UsageCounterPrefix + planID + "/" + keyID + "/day/"
	kvs, err := c.Store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(kvs))
	for _, kv := range kvs {
		var u usageRecord
		if json.Unmarshal(kv.Value, &u) == nil {
			out[kv.Key[len(prefix):]] = u.Used
		}
	}
	return out, nil
}

func getUsage(tx store.Tx, key string) (*usageRecord, error) {
	u, ok, err := store.GetRecord[usageRecord](tx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &usageRecord{}, nil
	}
	return u, nil
}

// CounterName is the name of a plan key's counter for one quota window.
func CounterName(planID, keyID, window string) string {
	return planID + "/" + keyID + "/window/" + window
}

// splitWindow splits "plan/key/window/2026-12-01" into "plan/key" and the window.
func splitWindow(name string) (string, string) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			rest := name[:i]
			if j := len(rest) - len("/window"); j >= 0 && rest[j:] == "/window" {
				return rest[:j], name[i+1:]
			}
			break
		}
	}
	return name, ""
}

// MemoryCounters are per-process counters, for tests and single-node setups that do
// not need quotas to survive a restart.
type MemoryCounters struct {
	mu   sync.Mutex // guards m
	m    map[string]int64
	days map[string]map[string]int64
}

// Take implements Counters.
func (c *MemoryCounters) Take(_ context.Context, name, day string, limit int64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.days = map[string]int64{}, map[string]map[string]int64{}
	}
	if c.m[name] >= limit {
		return false, nil
	}
	c.m[name]++
	pk, _ := splitWindow(name)
	if c.days[pk] == nil {
		c.days[pk] = map[string]int64{}
	}
	c.days[pk][day]++
	return true, nil
}

// Used implements Counters.
func (c *MemoryCounters) Used(_ context.Context, planID, keyID string) (map[string]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for d, n := range c.days[planID+"/"+keyID] {
		out[d] = n
	}
	return out, nil
}

// ErrNoCounters is returned when a quota must be enforced and no counters are set up.
var ErrNoCounters = errors.New("no quota counters configured")

// FormatQuotaLimit renders a limit for logs.
func FormatQuotaLimit(q *model.QuotaSettings) string {
	if q == nil {
		return "none"
	}
	return fmt.Sprintf("%s per %s", strconv.Itoa(q.Limit), q.Period)
}
