package compile

import (
	"log/slog"
	"maps"
	"slices"

	"github.com/sluice-dev/sluice/internal/store"
)

// Incremental keeps the records the compiler reads, grouped by API, and follows
// the store's watch events, so that a change recompiles only the APIs it touched:
// the cost of a snapshot after one change is that API's compile plus a copy of
// the map of compiled APIs, however many APIs there are (BenchmarkIncrementalScale),
// and nothing is read back from the store. It is not safe for concurrent use.
type Incremental struct {
	opts  Options
	log   *slog.Logger
	byAPI map[string]map[string]store.KV // api id → key → record
	keys  map[string]store.KV            // API keys, usage plans and their members
	// dirty are the APIs changed since the last Snapshot; keysDirty says the key
	// index must be rebuilt.
	dirty     map[string]bool
	keysDirty bool
	snap      *Snapshot
}

// NewIncremental compiles kvs (a List of model.Prefix) in full.
func NewIncremental(kvs []store.KV, opts Options) *Incremental {
	c := &Incremental{opts: opts, log: opts.Logger, byAPI: map[string]map[string]store.KV{},
		keys: map[string]store.KV{}, dirty: map[string]bool{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, kv := range kvs {
		c.file(kv)
	}
	opts.Previous = nil
	c.snap = Build(kvs, opts)
	clear(c.dirty)
	c.keysDirty = false
	return c
}

// file stores kv in its group, reporting whether the compiler reads it.
func (c *Incremental) file(kv store.KV) bool {
	if isKeyRecord(kv.Key) {
		c.keys[kv.Key] = kv
		c.keysDirty = true
		return true
	}
	prefix, _ := recordPrefix(kv.Key)
	if prefix == "" {
		return false
	}
	id := apiID(prefix, kv.Key)
	g := c.byAPI[id]
	if g == nil {
		g = map[string]store.KV{}
		c.byAPI[id] = g
	}
	g[kv.Key] = kv
	c.dirty[id] = true
	return true
}

// Apply takes one watch event; it reports whether the snapshot may have changed.
// Events that are not newer than the record held are ignored, so events that
// raced the initial List (the watch starts first) cannot roll a record back.
func (c *Incremental) Apply(ev store.Event) bool {
	if !Reads(ev.Key) {
		return false
	}
	held, ok := c.held(ev.Key)
	if ok && held.Revision >= ev.Revision && ev.Revision != 0 {
		return false
	}
	if ev.Type == store.EventDelete {
		if !ok {
			return false
		}
		c.remove(ev.Key)
		return true
	}
	return c.file(store.KV{Key: ev.Key, Value: ev.Value, Revision: ev.Revision})
}

func (c *Incremental) held(key string) (store.KV, bool) {
	if isKeyRecord(key) {
		kv, ok := c.keys[key]
		return kv, ok
	}
	prefix, _ := recordPrefix(key)
	kv, ok := c.byAPI[apiID(prefix, key)][key]
	return kv, ok
}

func (c *Incremental) remove(key string) {
	if isKeyRecord(key) {
		delete(c.keys, key)
		c.keysDirty = true
		return
	}
	prefix, _ := recordPrefix(key)
	id := apiID(prefix, key)
	delete(c.byAPI[id], key)
	if len(c.byAPI[id]) == 0 {
		delete(c.byAPI, id)
	}
	c.dirty[id] = true
}

// Snapshot returns the snapshot of the records held, recompiling only the APIs
// changed since the last call (and the key index if a key record changed).
func (c *Incremental) Snapshot() *Snapshot {
	if len(c.dirty) == 0 && !c.keysDirty {
		return c.snap
	}
	prev := c.snap
	next := &Snapshot{apis: maps.Clone(prev.apis), Keys: prev.Keys, Revision: prev.Revision}
	if next.apis == nil {
		next.apis = map[string]*API{}
	}
	if c.keysDirty {
		var keys keyRecords
		for _, k := range slices.Sorted(maps.Keys(c.keys)) {
			kv := c.keys[k]
			next.Revision = max(next.Revision, kv.Revision)
			keys.add(c.log, kv)
		}
		next.Keys = keys.index()
	}
	b := builder{opts: c.opts, log: c.log}
	for id := range c.dirty {
		delete(next.apis, id)
		recs := c.byAPI[id]
		g := &apiRecords{fp: fnvOffset}
		for _, k := range slices.Sorted(maps.Keys(recs)) {
			kv := recs[k]
			next.Revision = max(next.Revision, kv.Revision)
			prefix, kind := recordPrefix(k)
			g.add(prefix, kind, kv)
		}
		if g.kind == 0 {
			continue // stages or snapshots of a deleted API
		}
		if api := b.group(id, g); api != nil {
			next.apis[id] = api
		}
	}
	clear(c.dirty)
	c.keysDirty = false
	c.snap = next
	return next
}
