package sync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Run discovers tenants and syncs the due ones until ctx ends or the engine is closed: every
// Cadence.Tick, and at once when a link or MarkActive makes something due. Syncs run
// concurrently up to Limits.Concurrency; when a sync ends, Run claims the next due tenant at
// once (without discovery, which keeps to the tick), so a backlog is worked through at the pace
// of the syncs. Run takes the billing snapshots hourly (SnapshotBilling), once between the
// engines of the account. Run returns after the running syncs have stopped.
//
// A failed cycle (every source's tenant list failed, or the due tenants could not be claimed)
// does not stop Run: it is emitted as EventCycleFailed and counted in Counters.CyclesFailed,
// and the next cycle tries again. Run returns why it ended (ctx's cause, or an error wrapping
// context.Canceled when Close ended it), joined with the error of the last cycle when that
// cycle failed.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := e.bind(ctx)
	defer cancel()
	var wg stdsync.WaitGroup
	defer wg.Wait()
	var last error
	for {
		switch err, failed := e.cycle(ctx, &wg, func(*Report) {}); {
		case failed:
			last = err
		case err == nil:
			last = nil
			// Otherwise the cycle was cut short by the end of Run, which is no failure: the
			// cycle before it is reported.
		}
		tick := e.clock.After(e.sched.cad.Tick)
	wait:
		for {
			select {
			case <-ctx.Done():
				return errors.Join(context.Cause(ctx), last)
			case <-e.sched.wake:
				break wait
			case <-tick:
				break wait
			case <-e.sched.freed:
				// A slot freed while tenants may wait: claim them now; discovery waits for the tick.
				if err := e.claimDue(ctx, &wg, func(*Report) {}); err != nil && ctx.Err() == nil {
					e.cycleFailed(err)
				}
			}
		}
	}
}

// RunOnce runs one cycle, discovery and every due tenant, and waits for those syncs to end.
// It returns the reports of the tenants it synced, by tenant ID, and the cycle's error (also
// emitted as EventCycleFailed). Close ends it as it ends Run.
func (e *Engine) RunOnce(ctx context.Context) ([]*Report, error) {
	ctx, cancel := e.bind(ctx)
	defer cancel()
	var wg stdsync.WaitGroup
	var mu stdsync.Mutex
	out := []*Report{}
	err, _ := e.cycle(ctx, &wg, func(r *Report) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, r)
	})
	wg.Wait()
	slices.SortFunc(out, func(a, b *Report) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out, err
}

// cycle runs discovery, then claims due tenants for the free slots and starts their syncs;
// done receives each sync's report, from the sync's goroutine. A cycle that fails while ctx
// is live is emitted as EventCycleFailed and counted, and reported failed.
func (e *Engine) cycle(ctx context.Context, wg *stdsync.WaitGroup, done func(*Report)) (err error, failed bool) {
	err = e.claimAndStart(ctx, wg, done)
	if err == nil || ctx.Err() != nil {
		return err, false
	}
	e.cycleFailed(err)
	return err, true
}

// cycleFailed counts and emits a cycle (or a refill between cycles) that failed.
func (e *Engine) cycleFailed(err error) {
	e.counters.cyclesFailed.Add(1)
	ev := Event{Type: EventCycleFailed, Message: "the cycle failed: " + err.Error()}
	errorFields(&ev, err)
	e.emit(ev)
}

// claimAndStart runs discovery and claims the due tenants. Discovery lists every tenant of
// each source, round trips of its own; when the engine's last complete discovery began less
// than a tick ago, the tenants already due are claimed before it, so that their syncs run
// meanwhile instead of waiting for it, and what discovery adds or makes due is claimed after.
// Without such a discovery (the engine's first cycle, or after a failed one) nothing is
// claimed before discovery has marked the tenants no source lists any more: the store's
// statuses may be as old as the engine's downtime, and a tenant whose access ended must not
// be synced on them. A failed claim is reported, the last one's when both fail.
func (e *Engine) claimAndStart(ctx context.Context, wg *stdsync.WaitGroup, done func(*Report)) error {
	var claimErr error
	if e.discoveredWithin(e.sched.cad.Tick) {
		claimErr = e.claimDue(ctx, wg, done)
	}
	_, derr := e.Discover(ctx)
	if err := e.claimDue(ctx, wg, done); err != nil {
		claimErr = err
	}
	return errors.Join(derr, claimErr)
}

// claimDue claims due tenants for the free slots and starts their syncs. More tenants may be
// due than it could claim (more than the free slots, or rows another engine had locked for its
// own claim, which AcquireDue skips): each of these syncs tells Run when it ends (freed), so Run
// claims again without waiting for the tick. A claim that finds nothing due costs one query.
func (e *Engine) claimDue(ctx context.Context, wg *stdsync.WaitGroup, done func(*Report)) error {
	slots := e.slots
	free := cap(slots) - len(slots)
	if free <= 0 || ctx.Err() != nil {
		return nil
	}
	e.snapshotBillingDue(ctx, wg)
	leases, err := e.acct.Leases.AcquireDue(ctx, store.DueRequest{Holder: e.holder, Now: e.clock.Now(), TTL: e.limits.LeaseTTL, Max: free})
	if err != nil {
		e.counters.failure(err)
		return hinted(err, tenantsync.ErrUnavailable, "AcquireDue",
			"claiming the due tenants failed, so none was synced; the next cycle tries again, and a failure that persists is in the store's logs")
	}
	if e.cfg.SyncUnlinkedUsers && len(leases) < free {
		leases = append(leases, e.claimUnlinked(ctx, free-len(leases))...)
	}
	for _, l := range leases {
		select {
		case slots <- struct{}{}:
		default:
			// A link-started sync took the slot meanwhile: give the tenant back rather than hold
			// an unrenewed lease while waiting.
			_ = e.acct.Leases.Release(ctx, l.TenantID, e.holder)
			continue
		}
		if !e.track() {
			// The engine is closing: the tenant is given back for the next engine.
			<-slots
			rctx, cancel := detached(ctx)
			_ = e.acct.Leases.Release(rctx, l.TenantID, e.holder)
			cancel()
			continue
		}
		wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer wg.Done()
			defer func() {
				<-slots
				e.sched.slotFreed()
			}()
			if rep, _ := e.syncLeased(ctx, l.TenantID, "scheduled", SyncOptions{}, e.claimedAt(l)); rep != nil {
				done(rep)
			}
		}()
	}
	return nil
}

// SyncNow syncs one linked tenant now and returns its report. A tenant being synced by this or
// another process fails with ErrAlreadyRunning; otherwise a second call within
// Cadence.Cooldown of the tenant's last start fails with ErrCooldown (Details().RetryAfter is
// the remaining wait). Close stops it, with an error that wraps context.Canceled; after Close
// it fails so at once.
func (e *Engine) SyncNow(ctx context.Context, tenantID string) (*Report, error) {
	if !e.track() {
		return nil, closedError()
	}
	defer e.wg.Done()
	ctx, cancel := e.bind(ctx)
	defer cancel()
	l, err := e.claimSyncNow(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return e.syncLeased(ctx, tenantID, triggerSyncNow, SyncOptions{}, e.claimedAt(l))
}

// SyncOptions change one sync a caller starts with StartSync.
type SyncOptions struct {
	// CreateAll lifts Limits.MaxCreatesPerSync and Limits.PSACallsPerSync for this sync: a
	// person asked for the contacts the cap left for later syncs to be created now. The PSA's
	// rate (Limits.PSACallsPerSecond) and its pauses still apply, and so does
	// Limits.TenantTimeout.
	CreateAll bool
}

// StartSync makes SyncNow's checks and claims the tenant's lease, then syncs it in the
// background, so a caller need not wait minutes for a large tenant: the sync's progress is in
// Status meanwhile. It fails as SyncNow does before anything started. The channel receives
// the sync's report once it has ended, also when it failed (Report.Err), and is then closed
// (without a report when another run of this engine held the tenant). Close stops the sync.
func (e *Engine) StartSync(ctx context.Context, tenantID string, opts SyncOptions) (<-chan *Report, error) {
	if !e.track() {
		return nil, closedError()
	}
	ctx, cancel := e.bind(ctx)
	defer cancel()
	l, err := e.claimSyncNow(ctx, tenantID)
	if err != nil {
		e.wg.Done()
		return nil, err
	}
	done := make(chan *Report, 1)
	go func() {
		defer e.wg.Done()
		defer close(done)
		trigger := triggerSyncNow
		if opts.CreateAll {
			trigger = "create-all"
		}
		if rep, _ := e.syncLeased(e.root, tenantID, trigger, opts, e.claimedAt(l)); rep != nil {
			done <- rep
		}
	}()
	return done, nil
}

// claimSyncNow checks that a sync of the tenant may start now and takes its lease. A sync that
// runs is named before the cooldown: the cooldown counts from its start, and "wait N seconds"
// would be wrong while it still runs.
func (e *Engine) claimSyncNow(ctx context.Context, tenantID string) (store.Lease, error) {
	if _, err := e.linkedTenant(ctx, "SyncNow", tenantID); err != nil {
		return store.Lease{}, err
	}
	e.claimMu.Lock()
	defer e.claimMu.Unlock()
	now := e.clock.Now()
	if e.sched.running(tenantID) {
		return store.Lease{}, alreadyRunning(tenantID, e.holder)
	}
	// A live lease means a sync runs or is about to start: this engine's own (claimed a moment
	// ago by StartSync or a cycle, not yet begun) or another's.
	if l, err := e.acct.Leases.Get(ctx, tenantID); err == nil && l.ExpiresAt.After(now) {
		if l.Holder == e.holder {
			return store.Lease{}, alreadyRunning(tenantID, e.holder)
		}
		return store.Lease{}, store.NewLeaseHeldError("SyncNow", tenantID, l.Holder, l.ExpiresAt)
	} else if err != nil && !isNotFound(err) {
		return store.Lease{}, err
	}
	var storedStart time.Time
	if st, err := e.acct.SyncStates.Get(ctx, tenantID); err == nil {
		storedStart = st.LastStart
	} else if !isNotFound(err) {
		return store.Lease{}, err
	}
	if wait := e.sched.cooldown(storedStart, now); wait > 0 {
		return store.Lease{}, &tenantsync.Error{Class: tenantsync.ErrCooldown, Service: Service, Op: "SyncNow", Tenant: tenantID,
			Message:    "the tenant synced moments ago",
			Hint:       fmt.Sprintf("wait %s before asking again", waitText(wait)),
			RetryAfter: wait}
	}
	return e.acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: tenantID, Holder: e.holder, Now: now, TTL: e.limits.LeaseTTL})
}

// waitText is a wait as a person reads it, rounded up to whole seconds like a Retry-After
// header, so the hint and the header agree.
func waitText(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs == 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", secs)
}

// kick starts a tenant's sync in the background (after a link), within the concurrency limit
// Run observes too; a tenant whose lease is held elsewhere is left to Run. Kicked tenants
// start in the order they were kicked.
func (e *Engine) kick(tenantID string) {
	if !e.track() {
		return
	}
	e.kicks.Add(1)
	e.kickMu.Lock()
	e.kicked = append(e.kicked, tenantID)
	e.kickMu.Unlock()
	go func() {
		defer e.wg.Done()
		defer e.kicks.Done()
		ctx := e.root
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-e.slots }()
		// This goroutine runs the oldest kicked tenant, not necessarily the one it was started
		// for: each kick adds one tenant and one goroutine, so every tenant gets one.
		e.kickMu.Lock()
		next := e.kicked[0]
		e.kicked = e.kicked[1:]
		e.kickMu.Unlock()
		l, err := e.acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: next, Holder: e.holder, Now: e.clock.Now(), TTL: e.limits.LeaseTTL})
		if err != nil {
			return
		}
		_, _ = e.syncLeased(ctx, next, "initial", SyncOptions{}, e.claimedAt(l))
	}()
}

// Wait blocks until the background syncs started by Link have finished, or ctx ends.
func (e *Engine) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { e.kicks.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// MaxActivePeriod is the furthest ahead MarkActive accepts: activity is a passing state, and a
// client marked active for months would be polled at the active interval for good.
const MaxActivePeriod = 30 * 24 * time.Hour

// MarkActive makes a client's tenants sync at the active interval until the given time (the
// PSA calls it when a ticket opens or an agent is added); a zero time ends it. Tenants already
// waiting longer than the active interval become due at once. A time in the past or more than
// MaxActivePeriod ahead fails with ErrInvalidInput, and a client the contact directory does
// not have (see tenantsync.ClientLookup) with ErrClientNotFound.
func (e *Engine) MarkActive(ctx context.Context, clientID string, until time.Time) error {
	const op = "MarkActive"
	now := e.clock.Now()
	switch {
	case clientID == "":
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: "no client ID", Hint: "pass the ID of the PSA client that shows activity"}
	case until.IsZero():
	case !until.After(now):
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: fmt.Sprintf("the active period would end in the past (%s)", until.UTC().Format(time.RFC3339)),
			Hint:    "pass a time in the future, or the zero time to end the active period"}
	case until.After(now.Add(MaxActivePeriod)):
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op,
			Message: fmt.Sprintf("the active period would end %s, more than %d days ahead", until.UTC().Format(time.RFC3339), int(MaxActivePeriod/(24*time.Hour))),
			Hint:    "mark the client active for a shorter time (hours, as long as its tickets are open), and again while the activity goes on"}
	}
	if err := e.checkClient(ctx, op, "", clientID); err != nil {
		return err
	}
	e.sched.markActive(clientID, until)
	if c, err := e.dir.GetClient(ctx, clientID); err == nil {
		c.ActiveUntil = until
		if err := e.dir.PutClient(ctx, c); err != nil {
			return err
		}
	} else if !isNotFound(err) {
		return err
	}
	if until.IsZero() {
		return nil
	}
	tenants, err := e.clientTenants(ctx, clientID)
	if err != nil {
		return err
	}
	woke := false
	for _, t := range tenants {
		changed, err := e.rewriteState(ctx, t.ID, func(st *store.SyncState) bool {
			due := st.LastStart.Add(e.sched.cad.Active)
			if st.LastStart.IsZero() || !st.NextDue.After(due) {
				return false
			}
			st.NextDue = due
			return true
		})
		switch {
		case errors.Is(err, tenantsync.ErrAlreadyRunning):
			// Its sync is running: it sets the next due time by the client's activity when it ends.
		case err != nil:
			return err
		}
		woke = woke || changed
	}
	if woke {
		e.sched.poke()
	}
	return nil
}

// rewriteState changes a tenant's stored sync state under the tenant's lease, so no sync
// commits a state it read before (and the holds it carries are not lost). A tenant without a
// state is left alone; one being synced fails with ErrAlreadyRunning.
func (e *Engine) rewriteState(ctx context.Context, tenantID string, change func(*store.SyncState) bool) (bool, error) {
	if e.sched.running(tenantID) {
		return false, alreadyRunning(tenantID, e.holder)
	}
	if _, err := e.acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: tenantID, Holder: e.holder, Now: e.clock.Now(), TTL: e.limits.LeaseTTL}); err != nil {
		return false, err
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		_ = e.acct.Leases.Release(rctx, tenantID, e.holder)
	}()
	st, err := e.acct.SyncStates.Get(ctx, tenantID)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if !change(&st) {
		return false, nil
	}
	return true, e.acct.SyncStates.Put(ctx, st)
}

// checkClient fails with ErrClientNotFound when the contact directory has no such client. A
// directory that cannot tell (no tenantsync.ClientLookup) accepts every client.
func (e *Engine) checkClient(ctx context.Context, op, tenantID, clientID string) error {
	if e.clients == nil {
		return nil
	}
	_, err := e.clients.GetClient(ctx, clientID)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tenantsync.ErrNotFound) || errors.Is(err, tenantsync.ErrClientNotFound):
		return &tenantsync.Error{Class: tenantsync.ErrClientNotFound, Service: Service, Op: op, Tenant: tenantID,
			Message: "the PSA has no client " + clientID,
			Hint:    "check the client ID, or create the client in the PSA first: contacts created for a client the PSA does not have would belong to no one",
			Err:     err}
	default:
		return hinted(err, tenantsync.ErrUnavailable, op,
			"the PSA's client list could not be read, so nothing was changed; try again when the PSA answers")
	}
}

// clientActive reports whether a client is active now.
func (e *Engine) clientActive(ctx context.Context, clientID string, now time.Time) bool {
	var stored time.Time
	if c, err := e.dir.GetClient(ctx, clientID); err == nil {
		stored = c.ActiveUntil
	}
	return e.sched.isActive(clientID, stored, now)
}

func (e *Engine) linkedTenant(ctx context.Context, op, tenantID string) (store.TenantRecord, error) {
	rec, err := e.acct.Tenants.Get(ctx, tenantID)
	if err != nil {
		if isNotFound(err) {
			return rec, &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: op, Tenant: tenantID,
				Message: "the account has no such tenant", Hint: "run discovery, or check the tenant ID", Err: err}
		}
		return rec, err
	}
	if !rec.Linked() {
		return rec, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
			Message: "the tenant is not linked to a client", Hint: "link the tenant to a client first"}
	}
	return rec, nil
}

func alreadyRunning(tenantID, holder string) error {
	return &tenantsync.Error{Class: tenantsync.ErrAlreadyRunning, Service: Service, Op: "SyncNow", Tenant: tenantID,
		Message: "a sync of this tenant is running (engine " + holder + ")",
		Hint:    "wait for it to finish; its progress is in Status"}
}

// snapshotBillingDue takes the billing snapshots when an hour has passed since Run last took
// them, or a new day began (from the engine's stagger after midnight), in a goroutine of wg:
// reading every linked tenant's counts, they would otherwise hold back the claims of the cycle
// (and every sync at the engine's start). The snapshots another engine of the account took
// within the hour are not taken again (see snapshotBillingUnlessTaken). A failure is emitted
// (EventBillingFailed) and tried again a minute later (billingRetry).
func (e *Engine) snapshotBillingDue(ctx context.Context, wg *stdsync.WaitGroup) {
	now := e.clock.Now()
	e.billingMu.Lock()
	// A new day's snapshots are due the engine's stagger after midnight, so that the engines of
	// the account do not all take them at once. The day is the last look's, not billingAt's: in
	// a day's first hour, the time that makes them due again after a look falls on the day
	// before.
	today := store.BillingDay(now)
	newDay := today.After(e.billingDay) && !now.Before(today.Add(billingStagger(e.holder)))
	due := !e.billingRunning && (e.billingAt.IsZero() || now.Sub(e.billingAt) >= billingSnapshotEvery || newDay)
	if due {
		e.billingRunning = true
	}
	e.billingMu.Unlock()
	if !due {
		return
	}
	if !e.track() {
		e.billingMu.Lock()
		e.billingRunning = false
		e.billingMu.Unlock()
		return
	}
	wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer wg.Done()
		taken, err := e.snapshotBillingUnlessTaken(ctx, now)
		if err != nil && ctx.Err() == nil {
			e.counters.failure(err)
			ev := Event{Type: EventBillingFailed, Message: "the billing snapshots could not be taken: " + err.Error()}
			errorFields(&ev, err)
			e.emit(ev)
		}
		e.billingMu.Lock()
		defer e.billingMu.Unlock()
		e.billingRunning = false
		e.billingDay = today
		if err == nil {
			e.billingAt = taken
		} else {
			// Due again in a minute, not at every claim of a busy engine.
			e.billingAt = now.Add(billingRetry - billingSnapshotEvery)
		}
	}()
}

// billingRetry is how long after a failed attempt the billing snapshots are tried again.
const billingRetry = time.Minute

// billingInProgress is how recent a stamp of today's snapshots shows another engine taking
// them while others are missing or old; billingClockSkew is how far in the future another
// engine's stamp may be and still count (the clocks of the account's hosts differ a little).
const (
	billingInProgress = 2 * time.Minute
	billingClockSkew  = time.Minute
)

// snapshotBillingUnlessTaken takes the billing snapshots at now unless every client with a
// linked tenant has one of today, taken within billingSnapshotEvery (by another engine of the
// account, or a PSA's SnapshotBilling) and counting exactly the client's linked tenants. It
// returns the time to count as the engine's last snapshot: when it took them, the oldest
// time it stamped (an hour later its own are an hour old, so it takes them again); when it
// found them, the oldest of them moved on by the engine's stagger, so that the engines that
// found them are due after the one that took them, find them again, and do not take them
// together. When some are missing or old but another was stamped within billingInProgress,
// another engine is taking them (or its take stopped part-way): it looks again after its
// stagger instead of taking them too.
func (e *Engine) snapshotBillingUnlessTaken(ctx context.Context, now time.Time) (time.Time, error) {
	clients, err := e.billedClients(ctx)
	if err != nil {
		return time.Time{}, err
	}
	day := store.BillingDay(now)
	snaps, err := e.acct.Billing.Snapshots(ctx, store.BillingQuery{From: day, To: day})
	if err != nil {
		return time.Time{}, err
	}
	// Read after the snapshots: a stamp another engine wrote meanwhile is not from the future.
	checkAt := e.clock.Now()
	found := make(map[string]store.BillingSnapshot, len(snaps))
	var newest time.Time
	for _, s := range snaps {
		found[s.ClientID] = s
		if s.TakenAt.After(newest) && !s.TakenAt.After(checkAt.Add(billingClockSkew)) {
			newest = s.TakenAt
		}
	}
	oldest, stale := checkAt, false
	for _, c := range clients {
		s, ok := found[c.id]
		if !ok || !billingFresh(s, c, checkAt) {
			stale = true
			continue
		}
		if s.TakenAt.Before(oldest) {
			oldest = s.TakenAt
		}
	}
	stagger := billingStagger(e.holder)
	switch {
	case !stale:
		return oldest.Add(stagger), nil
	case !newest.IsZero() && checkAt.Sub(newest) < billingInProgress:
		return checkAt.Add(stagger - billingSnapshotEvery), nil
	}
	taken, err := e.snapshotBilling(ctx, clients, now)
	stamped := now
	if len(taken) > 0 {
		stamped = slices.MinFunc(taken, func(a, b store.BillingSnapshot) int { return a.TakenAt.Compare(b.TakenAt) }).TakenAt
	}
	return store.Time(stamped), err
}

// billingFresh reports whether s, a client's snapshot of today, stands for the hour at now: taken
// within billingSnapshotEvery (a stamp up to billingClockSkew ahead counts) and counting
// exactly the client's linked tenants.
func billingFresh(s store.BillingSnapshot, c billedClient, now time.Time) bool {
	if now.Sub(s.TakenAt) >= billingSnapshotEvery || s.TakenAt.After(now.Add(billingClockSkew)) || len(s.PerTenant) != len(c.tenants) {
		return false
	}
	for _, id := range c.tenants {
		if _, counted := s.PerTenant[id]; !counted {
			return false
		}
	}
	return true
}

// billingStagger is how long after the snapshots it found an engine counts them as its own,
// and after midnight it takes a new day's: one to ten minutes, by its instance ID (hashed, so
// that IDs differing in one character, "engine-1" and "engine-2", fall apart).
func billingStagger(holder string) time.Duration {
	h := sha256.Sum256([]byte(holder))
	return time.Minute + time.Duration(binary.BigEndian.Uint64(h[:8])%540)*time.Second
}

// claimUnlinked takes the leases of up to max tenants linked to no client whose users are due
// (Config.SyncUnlinkedUsers): active tenants never synced, or whose next due time has come.
func (e *Engine) claimUnlinked(ctx context.Context, max int) []store.Lease {
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		e.counters.failure(err)
		return nil
	}
	now := e.clock.Now()
	var out []store.Lease
	for _, rec := range recs {
		if len(out) >= max || ctx.Err() != nil {
			break
		}
		if rec.Linked() || rec.Status != store.TenantActive || len(e.kindsFor(rec)) == 0 || e.sched.running(rec.ID) {
			continue
		}
		st, err := e.acct.SyncStates.Get(ctx, rec.ID)
		if err != nil && !isNotFound(err) {
			continue
		}
		if !st.NextDue.IsZero() && st.NextDue.After(now) {
			continue
		}
		l, err := e.acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: rec.ID, Holder: e.holder, Now: now, TTL: e.limits.LeaseTTL})
		if err != nil {
			continue
		}
		out = append(out, l)
	}
	return out
}
