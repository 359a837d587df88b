package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-dev/sluice/internal/awsproto"
	"github.com/sluice-dev/sluice/internal/store"
)

// Event invocations. AWS puts an Event invocation on an internal queue and answers
// 202 at once; a poller runs it, and on a function error retries it twice (after
// about 1 and 2 minutes); throttled or failed-to-run events are retried with
// backoff for up to six hours. Sluice's queue is the store: the event is written
// under /lambda/async/ before the 202, so it survives a crash, and is deleted when
// it has run. A worker claims an event with a lease (a store write), so in a
// cluster one node runs it, and a node that died mid-run loses its lease.
const (
	maxEventAge     = 6 * time.Hour
	leaseMargin     = 30 * time.Second
	maxThrottleWait = 5 * time.Minute
)

type asyncEvent struct {
	RequestID     string    `json:"requestId"`
	Function      string    `json:"function"`
	Qualifier     string    `json:"qualifier,omitempty"`
	Payload       []byte    `json:"payload"`
	ClientContext string    `json:"clientContext,omitempty"`
	Enqueued      time.Time `json:"enqueued"`
	Attempts      int       `json:"attempts"` // runs that ended in a function error
	Throttles     int       `json:"throttles"`
	NotBefore     time.Time `json:"notBefore,omitzero"`
	LeaseUntil    time.Time `json:"leaseUntil,omitzero"`
}

// due is when the event may next be claimed.
func (e *asyncEvent) due() time.Time {
	if e.LeaseUntil.After(e.NotBefore) {
		return e.LeaseUntil
	}
	return e.NotBefore
}

// enqueue durably queues an Event invocation.
func (s *Service) enqueue(ctx context.Context, inv invocation) error {
	ev := asyncEvent{
		RequestID: inv.requestID, Function: inv.ref.Name, Qualifier: inv.ref.Qualifier,
		Payload: inv.payload, ClientContext: inv.clientContext, Enqueued: time.Now().UTC(),
	}
	key := fmt.Sprintf("%s%020d-%s", keyAsync, ev.Enqueued.UnixNano(), inv.requestID)
	if err := s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, key, &ev) }); err != nil {
		return internalError("queue event: %w", err)
	}
	if q := s.asyncQueue(); q != nil {
		q.schedule(key, ev.due())
	}
	return nil
}

// asyncQueue schedules queued events onto a bounded set of workers.
type asyncQueue struct {
	s    *Service
	wake chan struct{}
	sem  chan struct{}

	mu       sync.Mutex // guards pending, running and draining
	pending  map[string]time.Time
	running  map[string]bool
	draining bool // no new event starts (Service.Drain)
}

func newAsyncQueue(s *Service) *asyncQueue {
	return &asyncQueue{
		s:       s,
		wake:    make(chan struct{}, 1),
		sem:     make(chan struct{}, s.asyncWorkers),
		pending: map[string]time.Time{},
		running: map[string]bool{},
	}
}

// load schedules every queued event in the store.
func (q *asyncQueue) load(ctx context.Context) error {
	kvs, err := q.s.store.List(ctx, keyAsync)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		var ev asyncEvent
		if err := json.Unmarshal(kv.Value, &ev); err != nil {
			q.s.log.Error("lambda: unreadable queued event", "key", kv.Key, "err", err)
			continue
		}
		q.schedule(kv.Key, ev.due())
	}
	return nil
}

// observe follows queue changes made by this or another node.
func (q *asyncQueue) observe(ev store.Event) {
	if ev.Type == store.EventDelete {
		q.mu.Lock()
		delete(q.pending, ev.Key)
		q.mu.Unlock()
		return
	}
	var e asyncEvent
	if err := json.Unmarshal(ev.Value, &e); err != nil {
		return
	}
	q.schedule(ev.Key, e.due())
}

func (q *asyncQueue) schedule(key string, due time.Time) {
	q.mu.Lock()
	if !q.running[key] {
		q.pending[key] = due
	}
	q.mu.Unlock()
	q.poke()
}

func (q *asyncQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run dispatches due events until ctx is done, then waits for running ones.
func (q *asyncQueue) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := q.dispatch(ctx, &wg)
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// dispatch starts workers for due events and returns how long until the next one
// is due.
func (q *asyncQueue) dispatch(ctx context.Context, wg *sync.WaitGroup) time.Duration {
	now := time.Now()
	next := time.Hour
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.draining {
		return time.Hour
	}
	for key, due := range q.pending {
		if wait := due.Sub(now); wait > 0 {
			next = min(next, wait)
			continue
		}
		select {
		case q.sem <- struct{}{}:
		default:
			return next // every worker is busy; a finishing one pokes the loop
		}
		delete(q.pending, key)
		q.running[key] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			again, requeue := q.process(ctx, key)
			<-q.sem
			q.mu.Lock()
			delete(q.running, key)
			if requeue {
				q.pending[key] = again
			}
			q.mu.Unlock()
			q.poke()
		}()
	}
	return next
}

// process claims one event, runs it and records the outcome. It returns when the
// event is due again if it stays queued.
func (q *asyncQueue) process(ctx context.Context, key string) (again time.Time, requeue bool) {
	s := q.s
	ev, due, ok := q.claim(ctx, key)
	if !ok {
		return due, !due.IsZero()
	}
	ref := functionRef{Name: ev.Function, Qualifier: ev.Qualifier}
	r, err := s.cache.resolve(ctx, ref)
	if err != nil {
		if ae, isAWS := awsproto.Public(err); isAWS && ae.Status == http.StatusNotFound {
			s.log.Warn("lambda: dropping event for a function that no longer exists", "function", s.refARN(ref), "requestId", ev.RequestID)
			q.finish(ctx, key)
			return time.Time{}, false
		}
		return q.retryLater(ctx, key, ev, time.Second, false)
	}
	cfg := r.fn.eventInvoke[eventInvokeKey(ref.Qualifier)]
	maxRetries, maxAge := len(s.retryDelays), maxEventAge
	if cfg != nil && cfg.MaximumRetryAttempts != nil {
		maxRetries = *cfg.MaximumRetryAttempts
	}
	if cfg != nil && cfg.MaximumEventAgeInSeconds != nil {
		maxAge = time.Duration(*cfg.MaximumEventAgeInSeconds) * time.Second
	}
	invokedARN := s.qualifiedARN(ref.Name, eventInvokeKey(ref.Qualifier))
	if time.Since(ev.Enqueued) > maxAge {
		// AWS: "If the function ... the event is older than the maximum event age,
		// Lambda discards it" and sends it to the on-failure destination.
		s.log.Warn("lambda: discarding event older than its maximum age", "function", s.refARN(ref), "requestId", ev.RequestID)
		rec := newInvocationRecord(&ev, invokedARN, "EventAgeExceeded", ev.Attempts)
		q.finishWith(ctx, key, s.recordFor(cfg, false, rec))
		return time.Time{}, false
	}
	res, err := s.runVersion(ctx, r, invocation{ref: ref, kind: typeEvent, payload: ev.Payload,
		clientContext: ev.ClientContext, requestID: ev.RequestID})
	var throttled *throttledError
	switch {
	case ctx.Err() != nil:
		// Shutting down: release the lease so a restart runs the event at once.
		q.release(key, ev)
		return time.Time{}, false
	case err != nil:
		// AWS: "For throttling errors (429) and system errors (500-series), Lambda
		// returns the event to the queue and attempts to run the function again for
		// up to 6 hours ... from 1 second after the first attempt to a maximum of 5
		// minutes" (invocation-async-error-handling). An error here means the
		// function did not run (throttled, pool closing, code unavailable), so it
		// does not count toward the two retries of function errors.
		if !errors.As(err, &throttled) {
			s.log.Warn("lambda: event invocation failed to run", "function", s.refARN(ref), "requestId", ev.RequestID, "err", err)
		}
		if time.Since(ev.Enqueued) > maxAge {
			s.log.Warn("lambda: dropping event that could not run within its maximum age", "function", s.refARN(ref), "requestId", ev.RequestID)
			rec := newInvocationRecord(&ev, invokedARN, "EventAgeExceeded", ev.Attempts)
			q.finishWith(ctx, key, s.recordFor(cfg, false, rec))
			return time.Time{}, false
		}
		wait := min(time.Duration(1<<min(ev.Throttles, 9))*time.Second, maxThrottleWait) // 1 s, 2 s, 4 s ...
		ev.Throttles++
		return q.retryLater(ctx, key, ev, wait, false)
	case res.FunctionError != "":
		if ev.Attempts >= maxRetries {
			s.log.Warn("lambda: event invocation failed on every attempt; discarding it", "function", s.refARN(ref),
				"requestId", ev.RequestID, "attempts", ev.Attempts+1)
			rec := newInvocationRecord(&ev, invokedARN, "RetriesExhausted", ev.Attempts+1)
			rec.ResponseContext = &recordResponse{StatusCode: http.StatusOK, ExecutedVersion: r.version.config.Version,
				FunctionError: res.FunctionError}
			payload := asJSON(res.Payload)
			rec.ResponsePayload = &payload
			q.finishWith(ctx, key, s.recordFor(cfg, false, rec))
			return time.Time{}, false
		}
		return q.retryLater(ctx, key, ev, s.retryDelays[min(ev.Attempts, len(s.retryDelays)-1)], true)
	}
	rec := newInvocationRecord(&ev, invokedARN, "Success", ev.Attempts+1)
	rec.ResponseContext = &recordResponse{StatusCode: http.StatusOK, ExecutedVersion: r.version.config.Version}
	payload := asJSON(res.Payload)
	rec.ResponsePayload = &payload
	q.finishWith(ctx, key, s.recordFor(cfg, true, rec))
	return time.Time{}, false
}

// recordFor is the queued invocation that delivers rec to the configured on-success
// or on-failure destination; nil when there is none.
func (s *Service) recordFor(cfg *EventInvokeConfig, success bool, rec *invocationRecord) *asyncEvent {
	if cfg == nil || cfg.DestinationConfig == nil {
		return nil
	}
	arn := cfg.DestinationConfig.OnFailure.Destination
	if success {
		arn = cfg.DestinationConfig.OnSuccess.Destination
	}
	if arn == "" {
		return nil
	}
	ev, err := s.destinationEvent(arn, rec, uuid.NewString())
	if err != nil {
		s.log.Warn("lambda: cannot deliver to destination", "destination", arn, "err", err)
		return nil
	}
	return ev
}

// claim takes the event's lease. ok is false when the event is gone or not yet due
// (leased by another worker, or waiting for a retry); due then says when it is.
func (q *asyncQueue) claim(ctx context.Context, key string) (ev asyncEvent, due time.Time, ok bool) {
	err := q.s.store.Update(ctx, func(tx store.Tx) error {
		ok, due = false, time.Time{}
		found, err := getJSON(tx, key, &ev)
		if err != nil || !found {
			return err
		}
		now := time.Now()
		if d := ev.due(); d.After(now) {
			due = d
			return nil
		}
		// The lease outlives the longest run of the version the event may run (a
		// qualified event can run a version whose timeout is longer than $LATEST's),
		// so no other node claims it while it runs.
		ev.LeaseUntil = now.Add(q.s.cache.timeoutOf(functionRef{Name: ev.Function, Qualifier: ev.Qualifier}) + leaseMargin)
		ok = true
		return store.PutRecord(tx, key, &ev)
	})
	if err != nil {
		if ctx.Err() == nil {
			q.s.log.Warn("lambda: claiming queued event failed", "key", key, "err", err)
			return ev, time.Now().Add(time.Second), false
		}
		return ev, time.Time{}, false
	}
	return ev, due, ok
}

// retryLater puts the event back in the queue, due after wait.
func (q *asyncQueue) retryLater(ctx context.Context, key string, ev asyncEvent, wait time.Duration, countAttempt bool) (time.Time, bool) {
	if countAttempt {
		ev.Attempts++
	}
	ev.NotBefore = time.Now().Add(wait)
	ev.LeaseUntil = time.Time{}
	err := q.s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, key, &ev) })
	if err != nil {
		// The lease in the store expires, and the event runs again then.
		q.s.log.Warn("lambda: rescheduling queued event failed", "key", key, "err", err)
		return time.Now().Add(q.s.cache.timeoutOf(functionRef{Name: ev.Function, Qualifier: ev.Qualifier}) + leaseMargin), true
	}
	return ev.NotBefore, true
}

func (q *asyncQueue) release(key string, ev asyncEvent) {
	ev.LeaseUntil = time.Time{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = q.s.store.Update(ctx, func(tx store.Tx) error { return store.PutRecord(tx, key, &ev) })
}

func (q *asyncQueue) finish(ctx context.Context, key string) { q.finishWith(ctx, key, nil) }

// finishWith deletes a finished event and, in the same transaction, queues the
// destination invocation that carries its record, so a record is delivered exactly
// when its event leaves the queue.
func (q *asyncQueue) finishWith(ctx context.Context, key string, dest *asyncEvent) {
	var destKey string
	if dest != nil {
		destKey = fmt.Sprintf("%s%020d-%s", keyAsync, dest.Enqueued.UnixNano(), dest.RequestID)
	}
	err := q.s.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if dest != nil {
			if err := store.PutRecord(tx, destKey, dest); err != nil {
				return err
			}
		}
		return tx.Delete(key)
	})
	if err != nil {
		q.s.log.Warn("lambda: deleting finished event failed", "key", key, "err", err)
		return
	}
	if dest != nil {
		q.schedule(destKey, dest.due())
	}
}

// drain stops new events from starting and waits until none runs, or ctx ends.
// It reports how many were still running then (their leases expire and another
// node runs them).
func (q *asyncQueue) drain(ctx context.Context) int {
	q.mu.Lock()
	q.draining = true
	q.mu.Unlock()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		q.mu.Lock()
		n := len(q.running)
		q.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
	}
}

// AsyncQueueStats reports the async queue as this node sees it: events queued
// (waiting, retrying or running, on any node) and when the oldest was queued (zero
// when none is).
func (s *Service) AsyncQueueStats() (depth int, oldest time.Time) {
	q := s.asyncQueue()
	if q == nil {
		return 0, time.Time{}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	first := ""
	consider := func(key string) {
		depth++
		if first == "" || key < first {
			first = key
		}
	}
	for k := range q.pending {
		consider(k)
	}
	for k := range q.running {
		if _, dup := q.pending[k]; !dup {
			consider(k)
		}
	}
	// Keys are keyAsync + 20-digit enqueue time in Unix nanoseconds + "-" + id.
	if ts, _, ok := strings.Cut(strings.TrimPrefix(first, keyAsync), "-"); ok {
		if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
			oldest = time.Unix(0, ns)
		}
	}
	return depth, oldest
}
