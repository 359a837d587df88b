package cfn

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/store"
)

// A stack operation runs in the background on the node that accepted it, and
// every step is recorded (with its event) before it runs. When that node stops
// halfway (kill -9, a crash, a shutdown), the stack would stay *_IN_PROGRESS for
// ever and refuse every later update or delete; instead the operation is
// finished the way CloudFormation finishes a failed one:
//
//   - CREATE_IN_PROGRESS rolls back (ROLLBACK_IN_PROGRESS, then ROLLBACK_COMPLETE,
//     or CREATE_FAILED / DELETE_* as the create's OnFailure says);
//   - UPDATE_IN_PROGRESS rolls back to the previous template
//     (UPDATE_ROLLBACK_IN_PROGRESS, then UPDATE_ROLLBACK_COMPLETE), or ends
//     UPDATE_FAILED when rollback was disabled;
//   - DELETE_IN_PROGRESS, a rollback or a cleanup continues where it stopped.
//
// The stack's status reason names the interruption. Who finishes it: the
// operation records the node running it (stackOperation.Owner). On start, a node
// takes over the operations it owned itself; in a cluster, every node also
// looks, every takeOverInterval, for operations whose owner is no longer
// registered (cluster membership is lease-based: a killed node is gone within
// its TTL) and takes them over with a compare-and-swap on the owner, so exactly
// one node finishes each.

// takeOverInterval is how often a cluster node looks for operations whose node
// has gone.
const takeOverInterval = 10 * time.Second

// stackOperation is the operation a stack is in, as recorded in its record.
type stackOperation struct {
	Kind    string    `json:"kind"`  // create, update, delete
	Owner   string    `json:"owner"` // the node running it
	Started time.Time `json:"started"`
	// OnFailure is a create's (ROLLBACK, DELETE, DO_NOTHING).
	OnFailure       string `json:"onFailure,omitempty"`
	DisableRollback bool   `json:"disableRollback,omitempty"`
	// Previous is the stack before an update: what a rollback returns to and
	// what the cleanup compares with.
	Previous *stackRecord `json:"previous,omitempty"`
	// Keep lists the resources of an update's template; the cleanup deletes the
	// others.
	Keep []string `json:"keep,omitempty"`
	// Detached are physical resources no longer the stack's that a cleanup still
	// has to delete (replaced ones, or what a rolled-back update made).
	Detached []*resourceRecord `json:"detached,omitempty"`
}

// inProgress reports whether a stack status is an operation under way
// (REVIEW_IN_PROGRESS is a stack waiting for its change set, not one).
func inProgress(status string) bool {
	return strings.HasSuffix(status, "_IN_PROGRESS") && status != statusReviewInProgress
}

// begin records that this node runs a new operation on rec. The caller records
// it (with the operation's first event) and starts it with runOp, or calls
// forget when it could not.
func (s *Service) begin(rec *stackRecord, so *stackOperation, ev *evaluator) *op {
	so.Owner, so.Started = s.nodeID, time.Now().UTC()
	rec.Operation = so
	s.mu.Lock()
	s.running[rec.StackID] = true
	s.mu.Unlock()
	return &op{s: s, rec: rec, ev: ev, c: s.caller}
}

// Resume finishes, in the background, the stack operations a stopped node left
// in progress, and in a cluster keeps looking for them until the context given
// to Start is done. Call it once the APIs the engine calls are ready.
func (s *Service) Resume() {
	s.run(func(ctx context.Context) {
		s.takeOver(ctx)
		if s.nodeAlive == nil {
			return // one node: nothing else can leave an operation behind
		}
		t := time.NewTicker(takeOverInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.takeOver(ctx)
			}
		}
	})
}

// takeOver starts finishing every interrupted operation it can claim.
func (s *Service) takeOver(ctx context.Context) {
	recs, err := store.ListRecords[stackRecord](store.ReaderOf(ctx, s.store), stackPrefix)
	if err != nil {
		s.log.Warn("cloudformation: list stacks to resume", "err", err)
		return
	}
	for _, rec := range recs {
		// A live DELETE_COMPLETE record is a delete whose last step (freeing the
		// name) an earlier version recorded apart from its last event.
		if !inProgress(rec.Status) && rec.Status != statusDeleteComplete {
			continue
		}
		owner := ""
		if rec.Operation != nil {
			owner = rec.Operation.Owner
		}
		if !s.ownerGone(ctx, rec.StackID, owner) {
			continue
		}
		o, err := s.claim(ctx, rec, owner)
		if err != nil {
			s.log.Warn("cloudformation: claim interrupted stack operation", "stack", rec.StackName, "err", err)
			continue
		}
		if o == nil {
			continue // another node was first, or the stack moved on
		}
		s.log.Info("cloudformation: finishing interrupted stack operation", "stack", rec.StackName, "status", rec.Status,
			"owner", owner)
		s.runOp(o, func(ctx context.Context) { o.resume(ctx, owner) })
	}
}

// ownerGone reports whether the node that owns a stack's operation no longer
// runs it: this node, when this process does not (it restarted); another node,
// when it is no longer registered; any node at all with a single node, where
// no other process shares the store.
func (s *Service) ownerGone(ctx context.Context, stackID, owner string) bool {
	if owner == s.nodeID {
		return !s.runsHere(stackID)
	}
	if owner == "" || s.nodeAlive == nil {
		return true
	}
	alive, err := s.nodeAlive(ctx, owner)
	if err != nil {
		s.log.Warn("cloudformation: check stack operation owner", "owner", owner, "err", err)
		return false
	}
	return !alive
}

// claim makes this node the owner of rec's operation if it is still the one
// owner left (a compare-and-swap in one transaction).
func (s *Service) claim(ctx context.Context, seen *stackRecord, owner string) (*op, error) {
	var claimed *stackRecord
	err := s.store.Update(ctx, func(tx store.Tx) error {
		claimed = nil
		rec, found, err := store.GetRecord[stackRecord](tx, stackPrefix+seen.StackName)
		if err != nil || !found || rec.StackID != seen.StackID || rec.Status != seen.Status {
			return err
		}
		now := ""
		if rec.Operation != nil {
			now = rec.Operation.Owner
		}
		if now != owner {
			return nil
		}
		if rec.Operation == nil {
			rec.Operation = &stackOperation{Kind: kindOf(rec.Status)}
		}
		rec.Operation.Owner = s.nodeID
		if err := store.PutRecord(tx, stackPrefix+rec.StackName, rec); err != nil {
			return err
		}
		claimed = rec
		return nil
	})
	if err != nil || claimed == nil {
		return nil, err
	}
	if claimed.Resources == nil {
		claimed.Resources = map[string]*resourceRecord{}
	}
	s.mu.Lock()
	s.running[claimed.StackID] = true
	s.mu.Unlock()
	return &op{s: s, rec: claimed, c: s.caller}, nil
}

func kindOf(status string) string {
	switch {
	case strings.HasPrefix(status, "UPDATE_"):
		return "update"
	case strings.HasPrefix(status, "DELETE_"):
		return "delete"
	}
	return "create"
}

// interruptedReason is the status reason of a stack whose operation another run
// finishes.
func interruptedReason(owner string) string {
	if owner == "" {
		return "Stack operation interrupted: the Sluice node running it stopped before it finished. "
	}
	return fmt.Sprintf("Stack operation interrupted: Sluice node %s stopped before it finished. ", owner)
}

// resume finishes an operation its owner left in progress.
func (o *op) resume(ctx context.Context, owner string) {
	reason := interruptedReason(owner)
	so := o.rec.Operation
	switch o.rec.Status {
	case statusCreateInProgress:
		o.cancelInProgress(ctx)
		onFailure := so.OnFailure
		if onFailure == "" && o.rec.DisableRollback {
			onFailure = "DO_NOTHING"
		}
		o.failCreate(ctx, reason, "Rollback requested by Sluice.", onFailure)
	case statusRollbackInProgress:
		_ = o.stackEvent(ctx, statusRollbackInProgress, reason+"Resuming rollback.")
		o.rollbackCreate(ctx)
	case statusDeleteInProgress:
		_ = o.stackEvent(ctx, statusDeleteInProgress, reason+"Resuming delete.")
		o.finishDelete(ctx)
	case statusDeleteComplete:
		o.finishDelete(ctx)
	case statusUpdateInProgress:
		o.cancelInProgress(ctx)
		switch {
		case so.Previous == nil:
			_ = o.stackEvent(ctx, statusUpdateRollbackFail, reason+"The stack before the update was not recorded, so it cannot be rolled back.")
		case so.DisableRollback:
			_ = o.stackEvent(ctx, statusUpdateFailed, reason)
		default:
			_ = o.stackEvent(ctx, statusUpdateRollbackIP, reason+"Rollback requested by Sluice.")
			o.rollbackUpdate(ctx)
		}
	case statusUpdateRollbackIP, statusUpdateRollbackCl:
		if so.Previous == nil {
			_ = o.stackEvent(ctx, statusUpdateRollbackFail, reason+"The stack before the update was not recorded, so it cannot be rolled back.")
			return
		}
		_ = o.stackEvent(ctx, o.rec.Status, reason+"Resuming rollback.")
		o.rollbackUpdate(ctx)
	case statusUpdateCleanup:
		if so.Previous == nil {
			// Without the update's template, what to keep is not known: delete
			// nothing.
			_ = o.stackEvent(ctx, statusUpdateComplete, reason+"The update was not recorded, so its cleanup was skipped.")
			return
		}
		_ = o.stackEvent(ctx, statusUpdateCleanup, reason+"Resuming cleanup.")
		o.cleanupUpdate(ctx)
	default:
		o.s.log.Error("cloudformation: no way to finish stack operation", "stack", o.rec.StackName, "status", o.rec.Status)
	}
}

// cancelInProgress fails the resources whose step was under way when the node
// stopped, with the reasons CloudFormation gives resources it cancels.
func (o *op) cancelInProgress(ctx context.Context) {
	for _, id := range o.rec.Order {
		r := o.rec.Resources[id]
		if r == nil {
			continue
		}
		switch r.Status {
		case statusCreateInProgress:
			_ = o.resourceEvent(ctx, r, statusCreateFailed, "Resource creation cancelled")
		case statusUpdateInProgress:
			_ = o.resourceEvent(ctx, r, statusUpdateFailed, "Resource update cancelled")
		}
	}
}
