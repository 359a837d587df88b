// Package compiletest holds test fixtures for the API Gateway data plane: an in-memory
// store.Store and helpers that write API Gateway records the way the control planes
// store them (API, stage, deployment snapshot), so compiler and gateway tests do not
// depend on the control planes.
package compiletest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/internal/apigw/model"
	"github.com/sluice-dev/sluice/internal/store"
)

// MemStore is an in-memory store.Store for tests.
type MemStore struct {
	mu       sync.Mutex // guards the fields below
	data     map[string]store.KV
	rev      int64
	watchers []*watcher
}

type watcher struct {
	prefix string
	ch     chan store.Event
	ctx    context.Context
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{data: map[string]store.KV{}} }

func (m *MemStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kv, ok := m.data[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return slices.Clone(kv.Value), nil
}

func (m *MemStore) List(_ context.Context, prefix string) ([]store.KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listLocked(prefix), nil
}

func (m *MemStore) listLocked(prefix string) []store.KV {
	var out []store.KV
	for k, kv := range m.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.KV{Key: kv.Key, Value: slices.Clone(kv.Value), Revision: kv.Revision})
		}
	}
	slices.SortFunc(out, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return out
}

type memTx struct {
	m      *MemStore
	writes map[string][]byte // nil value: delete
}

func (t *memTx) Get(key string) ([]byte, error) {
	if v, ok := t.writes[key]; ok {
		if v == nil {
			return nil, store.ErrNotFound
		}
		return v, nil
	}
	kv, ok := t.m.data[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return slices.Clone(kv.Value), nil
}

func (t *memTx) List(prefix string) ([]store.KV, error) {
	base := t.m.listLocked(prefix)
	out := base[:0]
	for _, kv := range base {
		if _, ok := t.writes[kv.Key]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range t.writes {
		if v != nil && strings.HasPrefix(k, prefix) {
			out = append(out, store.KV{Key: k, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (t *memTx) Put(key string, value []byte) error {
	t.writes[key] = slices.Clone(value)
	if t.writes[key] == nil {
		t.writes[key] = []byte{}
	}
	return nil
}

func (t *memTx) Delete(key string) error {
	t.writes[key] = nil
	return nil
}

func (m *MemStore) Update(_ context.Context, fn func(tx store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{m: m, writes: map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	keys := make([]string, 0, len(tx.writes))
	for k := range tx.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := tx.writes[k]
		m.rev++
		ev := store.Event{Key: k, Revision: m.rev}
		if v == nil {
			if _, ok := m.data[k]; !ok {
				continue
			}
			delete(m.data, k)
			ev.Type = store.EventDelete
		} else {
			m.data[k] = store.KV{Key: k, Value: v, Revision: m.rev}
			ev.Type, ev.Value = store.EventPut, slices.Clone(v)
		}
		m.notifyLocked(ev)
	}
	return nil
}

func (m *MemStore) notifyLocked(ev store.Event) {
	live := m.watchers[:0]
	for _, w := range m.watchers {
		if w.ctx.Err() != nil {
			close(w.ch)
			continue
		}
		live = append(live, w)
		if !strings.HasPrefix(ev.Key, w.prefix) {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			// Too far behind: close, as the interface allows; the watcher re-lists.
			close(w.ch)
			live = live[:len(live)-1]
		}
	}
	m.watchers = live
}

func (m *MemStore) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &watcher{prefix: prefix, ch: make(chan store.Event, 1024), ctx: ctx}
	m.watchers = append(m.watchers, w)
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		defer m.mu.Unlock()
		for i, x := range m.watchers {
			if x == w {
				m.watchers = slices.Delete(m.watchers, i, i+1)
				close(w.ch)
				return
			}
		}
	}()
	return w.ch, nil
}

func (m *MemStore) Close() error { return nil }

// Put writes v as JSON under key.
func Put(t testing.TB, st store.Store, key string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %s: %v", key, err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Put(key, raw) }); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// Delete removes key.
func Delete(t testing.TB, st store.Store, key string) {
	t.Helper()
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(key) }); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

// RestDeploy writes a REST API, a deployment snapshot of it with the given resources,
// and the stage pointing at that deployment (the records a control plane writes for
// create-rest-api … create-deployment --stage-name).
func RestDeploy(t testing.TB, st store.Store, snap model.RestSnapshot, deploymentID string, stage model.Stage) {
	t.Helper()
	id := snap.API.ID
	Put(t, st, model.Key(model.RestAPIPrefix, id), snap.API)
	Put(t, st, model.Key(model.RestDeploymentPrefix, id, deploymentID), model.Deployment{ID: deploymentID})
	Put(t, st, model.Key(model.RestSnapshotPrefix, id, deploymentID), snap)
	stage.DeploymentID = deploymentID
	Put(t, st, model.Key(model.RestStagePrefix, id, stage.StageName), stage)
}

// HTTPDeploy writes an HTTP API, a deployment snapshot and the stage pointing at it.
func HTTPDeploy(t testing.TB, st store.Store, snap model.HTTPSnapshot, deploymentID string, stage model.Stage2) {
	t.Helper()
	id := snap.API.APIID
	Put(t, st, model.Key(model.HTTPAPIPrefix, id), snap.API)
	Put(t, st, model.Key(model.HTTPDeploymentPrefix, id, deploymentID), model.Deployment2{DeploymentID: deploymentID, DeploymentStatus: "DEPLOYED"})
	Put(t, st, model.Key(model.HTTPSnapshotPrefix, id, deploymentID), snap)
	stage.DeploymentID = deploymentID
	Put(t, st, model.Key(model.HTTPStagePrefix, id, stage.StageName), stage)
}

// Resource builds a REST resource with one method per (verb, integration) pair.
func Resource(id, path string, methods map[string]*model.Integration) *model.Resource {
	r := &model.Resource{ID: id, Path: path, ResourceMethods: map[string]*model.Method{}}
	if i := strings.LastIndex(path, "/"); i >= 0 {
		r.PathPart = path[i+1:]
	}
	for verb, in := range methods {
		r.ResourceMethods[verb] = &model.Method{HTTPMethod: verb, AuthorizationType: "NONE", MethodIntegration: in}
	}
	return r
}

// LambdaURI is the apigateway integration URI of a function ARN.
func LambdaURI(region, functionARN string) string {
	return "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/" + functionARN + "/invocations"
}
