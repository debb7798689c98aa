package sync

import (
	"context"
	"errors"
	"maps"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// auditLeaseLost is the audit action of a sync stopped because its lease could no longer be
// trusted: its renewals stopped landing, another holder took the tenant, or the store refused
// the commit for want of the lease.
const auditLeaseLost = "sync_lease_lost"

// Why a sync gave up its lease, as the audit entry's detail names it.
const (
	lostRenewals  = "renewals_stopped" // no renewal landed within the safe part of the TTL
	lostTakenOver = "taken_over"       // a renewal found another holder, or no lease at all
	lostAtCommit  = "commit_refused"   // the store's commit found the lease not held
)

// claimedAt is the instant a lease was claimed or last extended: the store set its expiry to
// that instant plus the TTL, so renewals and the safety deadline are timed from it.
func (e *Engine) claimedAt(l store.Lease) time.Time {
	return l.ExpiresAt.Add(-e.limits.LeaseTTL)
}

// safeFor is how long after a claim or a renewal that landed a sync may go on. Its lease
// lasts the TTL; the last tenth is left to the clocks of the processes sharing the store and to
// the time the cancelled sync takes to notice, so it has stopped before another process may
// claim the tenant.
func safeFor(ttl time.Duration) time.Duration { return ttl - ttl/10 }

// leaseWatch keeps a running sync's lease alive and says when the sync may no longer trust it.
//
// Renewals go every TTL/3 on the claim's beat; one that fails for a reason that may pass (the
// store briefly unreachable) is tried again at the next beat. Whatever the renewals do, a timer
// cancels the sync at safeFor(TTL) after the last renewal that landed: a renewal hung on a
// stalled store, or an engine starved of CPU, must not let the sync outlive its lease, since
// another process may then be writing the same tenant.
//
// Each renewal also stores the progress so far in the running state, so engines sharing the
// store can show it. That state is the one stored at the start of the run, so it must never land
// after the commit stored a newer one: freeze ends the progress writes (waiting for one under
// way) while the lease renewals go on, and is called before the commit. write changes that
// state and stores it at once (the reconcile's create intents), so later renewals keep the
// change.
type leaseWatch struct {
	e        *Engine
	tenantID string
	cancel   context.CancelCauseFunc

	mu      stdsync.Mutex
	renewed time.Time // the claim, or the Now of the last renewal that landed
	lost    error     // why the lease was given up; nil while it holds
	reason  string    // lostRenewals, lostTakenOver or lostAtCommit
	holder  string    // the holder a renewal or the commit found instead, when known

	stateMu stdsync.Mutex
	running store.SyncState
	frozen  bool

	done     chan struct{}
	finished stdsync.WaitGroup
	once     stdsync.Once
}

// watchLease starts renewing the tenant's lease, claimed at claimed, for the sync running in
// ctx; cancel ends that sync with the reason when the lease is lost.
func (e *Engine) watchLease(ctx context.Context, cancel context.CancelCauseFunc, running store.SyncState, claimed time.Time) *leaseWatch {
	w := &leaseWatch{e: e, tenantID: running.TenantID, cancel: cancel, renewed: claimed, running: running, done: make(chan struct{})}
	w.finished.Add(2)
	go w.renew(ctx, claimed)
	go w.expire(ctx)
	return w
}

// renew extends the lease every TTL/3 counted from the claim.
func (w *leaseWatch) renew(ctx context.Context, claimed time.Time) {
	defer w.finished.Done()
	e := w.e
	every := max(e.limits.LeaseTTL/3, time.Millisecond)
	next := claimed.Add(every)
	for {
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case <-e.clock.After(next.Sub(e.clock.Now())):
		}
		now := e.clock.Now()
		// A late renewal (a starved process) keeps the beat rather than drifting from it.
		for !next.After(now) {
			next = next.Add(every)
		}
		if w.check(now) != nil {
			return
		}
		_, err := e.acct.Leases.Renew(ctx, store.LeaseRequest{TenantID: w.tenantID, Holder: e.holder, Now: now, TTL: e.limits.LeaseTTL})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, tenantsync.ErrAlreadyRunning) || errors.Is(err, tenantsync.ErrNotFound) {
				var held *store.LeaseHeldError
				holder := ""
				if errors.As(err, &held) {
					holder = held.Holder
				}
				w.giveUp(lostTakenOver, holder, &tenantsync.Error{Class: tenantsync.ErrConflict, Service: Service, Op: "RenewLease", Tenant: w.tenantID,
					Message: "the tenant's lease was lost during the sync",
					Hint:    "another engine took the tenant over; nothing of this run was stored", Err: err})
				return
			}
			// The store may answer the next renewal; expire stops the sync if none lands in time.
			continue
		}
		w.landed(now)
		w.stateMu.Lock()
		e.progMu.Lock()
		if p := e.progress[w.tenantID]; p != nil {
			w.running.Progress = maps.Clone(p.kinds)
		}
		e.progMu.Unlock()
		if !w.frozen {
			_ = e.acct.SyncStates.Put(ctx, w.running)
		}
		w.stateMu.Unlock()
	}
}

// expire cancels the sync once safeFor(TTL) has passed since the last renewal that landed.
func (w *leaseWatch) expire(ctx context.Context) {
	defer w.finished.Done()
	e := w.e
	for {
		w.mu.Lock()
		deadline := w.renewed.Add(safeFor(e.limits.LeaseTTL))
		w.mu.Unlock()
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case <-e.clock.After(deadline.Sub(e.clock.Now())):
		}
		if w.check(e.clock.Now()) != nil {
			return
		}
	}
}

// landed records a renewal that took effect at now (the store set the lease's expiry from it).
func (w *leaseWatch) landed(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost == nil && now.After(w.renewed) {
		w.renewed = now
	}
}

// check returns why the sync may no longer trust its lease at now, and gives the lease up
// (cancelling the sync) the first time the safe part of the TTL has run out.
func (w *leaseWatch) check(now time.Time) error {
	w.mu.Lock()
	lost, renewed := w.lost, w.renewed
	w.mu.Unlock()
	if lost != nil {
		return lost
	}
	ttl := w.e.limits.LeaseTTL
	if now.Before(renewed.Add(safeFor(ttl))) {
		return nil
	}
	return w.giveUp(lostRenewals, "", &tenantsync.Error{Class: tenantsync.ErrConflict, Service: Service, Op: "RenewLease", Tenant: w.tenantID,
		Message: "the tenant's lease renewals stopped landing (the last at " + renewed.UTC().Format(time.RFC3339) +
			"), so the sync stopped before its lease could expire",
		Hint: "nothing of this run was stored and the next sync starts from the same point; if it repeats, the store answers " +
			"too slowly or the engine is starved of CPU: check the store, or raise Limits.LeaseTTL (renewals go every third of it)"})
}

// giveUp records the first reason the lease was lost and cancels the sync with it; it returns
// the reason that stands.
func (w *leaseWatch) giveUp(reason, holder string, err error) error {
	w.mu.Lock()
	if w.lost != nil {
		err = w.lost
		w.mu.Unlock()
		return err
	}
	w.lost, w.reason, w.holder = err, reason, holder
	w.mu.Unlock()
	w.cancel(err)
	return err
}

// commitRefused records that the store refused the commit for want of the lease.
func (w *leaseWatch) commitRefused(err error) {
	var held *store.LeaseHeldError
	if !errors.As(err, &held) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost == nil {
		w.lost = &tenantsync.Error{Class: tenantsync.ErrConflict, Service: Service, Op: "Commit", Tenant: w.tenantID,
			Message: "the store refused the commit: this engine no longer holds the tenant's lease",
			Hint:    "nothing of this run was stored; another engine may have taken the tenant over, and the next sync starts from the same point", Err: err}
		w.reason, w.holder = lostAtCommit, held.Holder
	}
}

// lostLease returns why the lease was lost, with the audit entry's detail; nil when it held.
func (w *leaseWatch) lostLease() (map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost == nil {
		return nil, nil
	}
	detail := map[string]string{"holder": w.e.holder, "reason": w.reason,
		"last_renewal": w.renewed.UTC().Format(time.RFC3339Nano), "lease_ttl": w.e.limits.LeaseTTL.String()}
	if w.holder != "" && w.holder != w.e.holder {
		detail["new_holder"] = w.holder
	}
	return detail, w.lost
}

// stop ends the renewals and the timer, waiting for a renewal under way.
func (w *leaseWatch) stop() {
	w.once.Do(func() {
		close(w.done)
		w.finished.Wait()
	})
}

// freeze ends the progress writes (see leaseWatch).
func (w *leaseWatch) freeze() {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	w.frozen = true
}

// write is the run's stateWriter (see leaseWatch).
func (w *leaseWatch) write(ctx context.Context, mutate func(*store.SyncState)) error {
	w.stateMu.Lock()
	defer w.stateMu.Unlock()
	if w.frozen {
		return nil
	}
	mutate(&w.running)
	e := w.e
	e.progMu.Lock()
	if p := e.progress[w.tenantID]; p != nil {
		w.running.Progress = maps.Clone(p.kinds)
	}
	e.progMu.Unlock()
	return e.acct.SyncStates.Put(ctx, w.running)
}
