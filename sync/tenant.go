package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Report is the outcome of one tenant sync.
type Report struct {
	TenantID string
	ClientID string
	Source   string // the source the data came from
	Trigger  string // "initial", "scheduled" or "sync-now"
	Started  time.Time
	Finished time.Time
	Duration time.Duration
	Kinds    map[tenantsync.Kind]KindReport
	Contacts ContactReport
	// Assets is what reconciling the tenant's devices with its client's assets did (zero when
	// the client's asset sync is off or the devices were not applied).
	Assets AssetReport
	// RoundTrips is the number of requests the source reported.
	RoundTrips int
	// FullListing is true when the periodic full listing (Cadence.FullListing) was due, so
	// the source was asked without cursors and every kind it listed completely replaced the
	// mirror's.
	FullListing bool
	// Resting are the enabled kinds this sync left out because they were fetched within their
	// interval (Cadence.Kinds): their mirror, counts and status stayed as they were. They are
	// not in Kinds.
	Resting []tenantsync.Kind
	// Err is set when the tenant could not be synced at all; nothing was stored.
	Err error
}

// Partial reports whether some kinds were unavailable or held by the deletion guard, or some
// users' contacts failed or were left pending, while the rest was stored.
func (r *Report) Partial() bool {
	if r.Contacts.Failed > 0 || r.Contacts.Pending > 0 || r.Assets.Failed > 0 || r.Assets.Err != nil {
		return true
	}
	for _, k := range r.Kinds {
		if k.Mode == tenantsync.Unavailable || k.Held {
			return true
		}
	}
	return false
}

// KindReport is what one kind's fetch and apply did.
type KindReport struct {
	Mode    tenantsync.Mode // what the source answered
	Fetched int             // items the source returned
	Added   int
	Updated int
	Removed int
	Total   int // items mirrored after the sync
	// FullAfterExpiry is true when the kind's cursor had expired and it was listed in full.
	FullAfterExpiry bool
	// Held is true when the deletion guard holds the kind after this sync: its fetch would have
	// removed WouldRemove mirrored items and, for users, newly shown WouldDisable with sign-in
	// blocked, more than the guard lets through, so nothing of the kind changed and its cursor
	// stayed (TenantStatus.Holds says what to do). When a released or confirmed hold was applied
	// by the same fetch (Removed counts it), what the fetch took away beyond the held items is
	// what is held: the rest of the kind was applied, and its cursor stayed.
	Held         bool
	WouldRemove  int
	WouldDisable int
	// Err says why the kind was unavailable; nothing of the kind changed.
	Err error
}

// A stored cursor is "source@listed|cursor": the source that issued it, when the kind was last
// listed in full (Unix seconds), and the source's own cursor. Naming the source keeps a cursor
// from being handed to another source; the listing time, committed with the cursor in the same
// transaction, is what Cadence.FullListing is measured from, so a restart does not reset it.
// A cursor stored as "source|cursor" (before the time was kept) reads with a zero time.
const (
	cursorSep = "|"
	listedSep = "@"
)

func wrapCursor(source, c string, listed time.Time) string {
	if c == "" {
		return ""
	}
	return source + listedSep + strconv.FormatInt(listed.Unix(), 10) + cursorSep + c
}

// unwrapCursor returns the source's own cursor and the time of the kind's last full listing,
// or "" when the stored cursor is another source's.
func unwrapCursor(source, stored string) (string, time.Time) {
	prefix, c, ok := strings.Cut(stored, cursorSep)
	if !ok {
		return "", time.Time{}
	}
	if prefix == source {
		return c, time.Time{}
	}
	at, ok := strings.CutPrefix(prefix, source+listedSep)
	if !ok {
		return "", time.Time{}
	}
	secs, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return "", time.Time{}
	}
	return c, time.Unix(secs, 0)
}

// Tracer is told when each tenant sync starts and ends, so a program can trace it.
//
// StartSync is called as a sync of a tenant starts (trigger is "initial", "scheduled" or
// "sync-now") and returns the context the sync runs in: a span the program puts there is the
// parent of whatever the sync's requests start (transport.Settings.Tracer sees that context).
// The engine calls end exactly once, with the sync's Report: Err when nothing was stored,
// Kinds with each kind's outcome, RoundTrips, Contacts. A sync refused before it starts (the
// tenant already running) ends with a Report whose Err says so. StartSync and end must not
// block; neither receives a token or a secret.
type Tracer interface {
	StartSync(ctx context.Context, tenantID, trigger string) (context.Context, func(*Report))
}

// syncLeased syncs a tenant whose lease this engine claimed (or last extended) at claimed, and
// releases the lease.
func (e *Engine) syncLeased(parent context.Context, tenantID, trigger string, opts SyncOptions, claimed time.Time) (rep *Report, err error) {
	if t := e.cfg.Tracer; t != nil {
		ctx, end := t.StartSync(parent, tenantID, trigger)
		if ctx != nil {
			parent = ctx
		}
		if end != nil {
			defer func() {
				r := rep
				if r == nil {
					r = &Report{TenantID: tenantID, Trigger: trigger, Err: err}
				}
				end(r)
			}()
		}
	}
	parent = withSettingsMemo(parent)
	start := e.clock.Now()
	if !e.sched.begin(tenantID) {
		// Another goroutine of this engine holds the same lease; it releases it.
		return nil, alreadyRunning(tenantID, e.holder)
	}
	defer e.sched.end(tenantID)

	ctx, cancel := context.WithTimeoutCause(parent, e.limits.TenantTimeout, &tenantsync.Error{
		Class: tenantsync.ErrLimitExceeded, Service: Service, Op: "Sync", Tenant: tenantID,
		Message: "the tenant sync ran past its time limit",
		Hint:    "raise Limits.TenantTimeout for very large tenants; nothing of this run was stored"})
	defer cancel()
	ctx, cancelLost := context.WithCancelCause(ctx)
	defer cancelLost(nil)
	var lease *leaseWatch
	defer func() {
		if lease != nil {
			lease.stop()
		}
		rctx, rcancel := detached(parent)
		defer rcancel()
		_ = e.acct.Leases.Release(rctx, tenantID, e.holder)
	}()

	rep = &Report{TenantID: tenantID, Trigger: trigger, Started: start, Kinds: map[tenantsync.Kind]KindReport{}}
	rec, err := e.acct.Tenants.Get(ctx, tenantID)
	if err != nil {
		rep.Err = err
		return rep, err
	}
	rep.ClientID = rec.ClientID
	if sibling := e.sched.claimClient(rec.ClientID, tenantID); sibling != "" {
		// Nothing is recorded: the tenant stays due and the next cycle takes it.
		return nil, &tenantsync.Error{Class: tenantsync.ErrAlreadyRunning, Service: Service, Op: "Sync", Tenant: tenantID,
			Message: "tenant " + sibling + " of the same client is syncing in this process (" + e.holder + ")",
			Hint:    "wait for it to finish: tenants of the same client are matched with its contacts one at a time"}
	}
	defer e.sched.releaseClient(rec.ClientID, tenantID)
	state, err := e.acct.SyncStates.Get(ctx, tenantID)
	if err != nil && !isNotFound(err) {
		rep.Err = err
		return rep, err
	}
	state.TenantID = tenantID
	state.LastStart = start
	state.Running = true
	state.Progress = nil
	if err := e.acct.SyncStates.Put(ctx, state); err != nil {
		rep.Err = err
		return rep, err
	}
	e.startProgress(tenantID, start)
	defer e.endProgress(tenantID)
	lease = e.watchLease(ctx, cancelLost, state, claimed)
	e.emit(Event{Type: EventSyncStarted, TenantID: tenantID, ClientID: rec.ClientID, Message: trigger})

	// A nil error means the run was committed: a context ending after that changes nothing.
	post, err := e.syncTenant(ctx, rec, &state, rep, opts, lease)
	if err != nil && ctx.Err() != nil {
		err = interrupted(tenantID, context.Cause(ctx))
	}
	lostDetail, lost := lease.lostLease()
	if err != nil && lost != nil {
		// What stopped the sync is the lease, whatever step noticed it first.
		err = lost
	}
	err = hinted(err, tenantsync.ErrUnavailable, "Sync",
		"nothing of this run was stored and the next sync starts from the same point; a failure that persists is in the source's or the store's logs")

	// No renewal may write its progress snapshot after the final state.
	lease.stop()
	now := e.clock.Now()
	rep.Finished = now
	rep.Duration = now.Sub(start)
	rep.Err = err

	// The final state is written even when the caller gave up, so Status tells the truth.
	fctx, fcancel := detached(parent)
	defer fcancel()
	e.recordFinish(fctx, rec.ClientID, &state, rep)
	e.countSync(rep)
	if err != nil && lost != nil {
		// A lost lease is a fact an operator must be able to find later: it means the engine
		// could not keep up with its store, and another process may have synced the tenant.
		_ = e.auditAdmin(fctx, e.holder, auditLeaseLost, tenantID, tenantID, "failed", err, lostDetail)
	}

	if err != nil {
		ev := Event{Type: EventSyncFailed, TenantID: tenantID, ClientID: rec.ClientID, Message: trigger}
		errorFields(&ev, err)
		e.emit(ev)
		return rep, err
	}
	if post != nil {
		post(fctx)
	}
	for _, k := range tenantsync.AllKinds() {
		if kr := rep.Kinds[k]; kr.Err != nil {
			ev := Event{Type: EventKindUnavailable, TenantID: tenantID, ClientID: rec.ClientID, Kind: k,
				Message: "kind unavailable; nothing of it changed"}
			errorFields(&ev, kr.Err)
			e.emit(ev)
		}
	}
	// The users the mirror holds, also when this run could not list them (a zero would read as
	// a tenant without users).
	e.emit(Event{Type: EventSyncFinished, TenantID: tenantID, ClientID: rec.ClientID, Message: trigger,
		Count: state.Counts[tenantsync.KindUsers]})
	return rep, nil
}

// recordFinish stores the final state of a run: not running, when it ended and how long it
// took, when it is next due, and either its error or the mirror's counts (also set as the
// report's totals). When the run's commit stored its final state, only a change of the
// client's activity (MarkActive while the commit ran, which leaves a running tenant to its
// sync) or of the PSA's pause is written.
func (e *Engine) recordFinish(ctx context.Context, clientID string, state *store.SyncState, rep *Report) {
	stored := rep.Err == nil && !state.Running
	if stored {
		again := *state
		e.finish(&again, rep.Started, state.LastFinish, e.clientActive(ctx, clientID, state.LastFinish))
		if again.NextDue.Equal(state.NextDue) {
			setTotals(rep, state.Counts)
			return
		}
		state.NextDue = again.NextDue
	} else {
		e.finish(state, rep.Started, rep.Finished, e.clientActive(ctx, clientID, rep.Finished))
		if rep.Err != nil {
			state.LastError = store.SyncErrorOf(rep.Err, rep.Finished)
		} else if counts, err := e.acct.Mirror.Counts(ctx, rep.TenantID); err == nil {
			state.Counts = mergeCounts(state.Counts, counts, rep)
		}
	}
	if rep.Err == nil {
		setTotals(rep, state.Counts)
	}
	_ = e.acct.SyncStates.Put(ctx, *state)
}

// setTotals sets the totals of the report's kinds that were not unavailable.
func setTotals(rep *Report, counts map[tenantsync.Kind]int) {
	for k, kr := range rep.Kinds {
		if kr.Mode != tenantsync.Unavailable {
			kr.Total = counts[k]
			rep.Kinds[k] = kr
		}
	}
}

// finish sets what the final state of a run started at started and ended at finished says:
// not running, when it ended and how long it took, and when the tenant is next due, sooner
// when its client is active.
func (e *Engine) finish(state *store.SyncState, started, finished time.Time, active bool) {
	state.Running = false
	state.Progress = nil
	state.LastFinish = finished
	state.Duration = finished.Sub(started)
	state.NextDue = started.Add(e.sched.interval(active))
	if state.ContactsPending > 0 {
		// Contacts left pending are written soon, not at the quiet interval, though not
		// before a pause of the PSA ends.
		soon := finished.Add(e.sched.cad.Active)
		if p := e.PSAStatus().PausedUntil; p.After(soon) {
			soon = p
		}
		if soon.Before(state.NextDue) {
			state.NextDue = soon
		}
	}
}

// finalCounts returns what the mirror holds by kind once the run's batch is committed, as
// recordFinish would read it after the commit (mergeCounts), when that is known exactly
// before: no kind is held, and every kind applied is a complete listing (its distinct items,
// or what its stage holds) or a change set that names nothing. A change set's adds may be
// updates, so its count is read after the commit.
func (r *tenantRun) finalCounts() (map[tenantsync.Kind]int, bool) {
	if r.before == nil {
		return nil, false
	}
	out := map[tenantsync.Kind]int{}
	for k := range r.state.Counts {
		out[k] = r.before[k]
	}
	for k, n := range r.before {
		out[k] = n
	}
	for k, kr := range r.rep.Kinds {
		if kr.Held {
			return nil, false
		}
		if kr.Mode != tenantsync.Unavailable {
			out[k] = r.before[k]
		}
	}
	for _, ka := range r.batch.Kinds {
		kr := ka.Result
		switch {
		case kr == nil || kr.Kind == "" || len(ka.Keep) > 0:
			return nil, false
		case kr.Mode == tenantsync.Complete && ka.Stage != "":
			n, ok := r.staged[kr.Kind]
			if !ok {
				return nil, false
			}
			out[kr.Kind] = n
		case kr.Mode == tenantsync.Complete:
			out[kr.Kind] = distinctItems(kr)
		case kr.Mode == tenantsync.Changes && kr.Len() == 0 && len(kr.Removed) == 0 && ka.Stage == "":
			out[kr.Kind] = r.before[kr.Kind]
		default:
			return nil, false
		}
	}
	return out, true
}

// mergeCounts records a count for every kind that has been listed successfully, zero
// included, so "known to be empty" differs from "never listed".
func mergeCounts(prev, mirror map[tenantsync.Kind]int, rep *Report) map[tenantsync.Kind]int {
	out := map[tenantsync.Kind]int{}
	for k := range prev {
		out[k] = mirror[k]
	}
	for k, kr := range rep.Kinds {
		if kr.Mode != tenantsync.Unavailable {
			out[k] = mirror[k]
		}
	}
	for k, n := range mirror {
		out[k] = n
	}
	return out
}

// unavailable is why kind k was unavailable, with a hint when the source gave none, so the
// status always says what to do.
func unavailable(k tenantsync.Kind, err error) error {
	if err == nil {
		err = tenantsync.Errorf(tenantsync.ErrIncomplete, "", "the source answered nothing for %s", k)
	}
	hint := "nothing of " + string(k) + " changed; the next sync asks again, and a failure that persists is in the source's logs"
	if errors.Is(err, tenantsync.ErrUnsupported) {
		hint = "the tenant's source does not provide " + string(k) + ": switch the kind off with SetKindsBy, or add a source that does"
	}
	return hinted(err, tenantsync.ErrIncomplete, "Sync", hint)
}

func interrupted(tenantID string, cause error) error {
	if d, ok := tenantsync.Details(cause); ok && d.Class != nil {
		return cause
	}
	return &tenantsync.Error{Class: tenantsync.ErrIncomplete, Service: Service, Op: "Sync", Tenant: tenantID,
		Message: "the sync was interrupted before it was stored",
		Hint:    "nothing of this run was stored; the next sync starts from the same point", Err: cause}
}

// kindsFor returns the kinds to fetch for a tenant, in AllKinds order: only the users for a
// tenant linked to no client.
func (e *Engine) kindsFor(rec store.TenantRecord) []tenantsync.Kind {
	want := rec.EnabledKinds
	if want == nil {
		want = e.kinds
	}
	if !rec.Linked() {
		// A tenant linked to no client is synced only for Config.SyncUnlinkedUsers.
		if !slices.Contains(want, tenantsync.KindUsers) {
			return nil
		}
		return []tenantsync.Kind{tenantsync.KindUsers}
	}
	out := make([]tenantsync.Kind, 0, len(want))
	for _, k := range tenantsync.AllKinds() {
		if slices.Contains(want, k) {
			out = append(out, k)
		}
	}
	return out
}

// sourcesFor returns the configured sources that reach the tenant, in configured order.
func (e *Engine) sourcesFor(rec store.TenantRecord) []tenantsync.Source {
	var out []tenantsync.Source
	for _, s := range e.sources {
		if slices.Contains(rec.Sources, s.Name()) {
			out = append(out, s)
		}
	}
	return out
}

// fetch asks the first source that answers for the tenant's kinds, and lists in full every
// kind whose cursor expired. When the periodic full listing is due for any of the kinds, it
// reports so and leaves every cursor out: cursors that advance together (Graph reads users
// and mailboxes from one round) stay together, and each kind is checked whole.
func (e *Engine) fetch(ctx context.Context, rec store.TenantRecord, kinds []tenantsync.Kind, stored map[tenantsync.Kind]string, now time.Time, fresh bool, sink *stageSink) (tenantsync.Source, *tenantsync.FetchResult, []tenantsync.Kind, bool, error) {
	srcs := e.sourcesFor(rec)
	if len(srcs) == 0 {
		return nil, nil, nil, false, &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: "Sync", Tenant: rec.ID,
			Message: "no configured source reaches this tenant",
			Hint:    "check the tenant's GDAP relationship or CIPP access; discovery flags it until a source reports it again"}
	}
	progress := func(k tenantsync.Kind, n int) { e.recordProgress(rec.ID, rec.ClientID, k, n) }
	var pages tenantsync.PageSink
	if sink != nil {
		pages = sink
	}
	var errs []error
	for _, src := range srcs {
		if sink != nil {
			// What a source that failed as a whole staged is not the next one's.
			if err := sink.reset(ctx, kinds...); err != nil {
				return nil, nil, nil, false, err
			}
		}
		cursors := map[tenantsync.Kind]string{}
		due := false
		for _, k := range kinds {
			if c, listed := unwrapCursor(src.Name(), stored[k]); c != "" {
				cursors[k] = c
				due = due || e.sched.fullListingDue(listed, now)
			}
		}
		if due {
			clear(cursors)
		}
		res, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: rec.ID, Kinds: kinds, Cursors: cursors, Progress: progress, Fresh: fresh, Sink: pages})
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if ctx.Err() != nil {
			return nil, nil, nil, false, context.Cause(ctx)
		}
		var expired []tenantsync.Kind
		for _, k := range kinds {
			if kr := res.Result(k); kr.Mode == tenantsync.Unavailable && errors.Is(kr.Err, tenantsync.ErrCursorExpired) {
				expired = append(expired, k)
			}
		}
		if len(expired) > 0 {
			if sink != nil {
				if err := sink.reset(ctx, expired...); err != nil {
					return nil, nil, nil, false, err
				}
			}
			full, err := src.Fetch(ctx, tenantsync.FetchRequest{TenantID: rec.ID, Kinds: expired, Progress: progress, Fresh: fresh, Sink: pages})
			if ctx.Err() != nil {
				return nil, nil, nil, false, context.Cause(ctx)
			}
			// expired is not empty, so res.Kinds is not nil.
			if err == nil {
				res.RoundTrips += full.RoundTrips
				for _, k := range expired {
					res.Kinds[k] = full.Result(k)
				}
			} else {
				for _, k := range expired {
					res.Kinds[k] = tenantsync.UnavailableResult(k, err)
				}
			}
		}
		if sink != nil {
			if err := sink.settle(ctx, res, kinds); err != nil {
				return nil, nil, nil, false, err
			}
		}
		return src, res, expired, due, nil
	}
	if len(errs) == 1 {
		return nil, nil, nil, false, errs[0]
	}
	return nil, nil, nil, false, errors.Join(errs...)
}

// tenantRun is one tenant sync's working set, passed between the steps of syncTenant.
type tenantRun struct {
	rec   store.TenantRecord
	state *store.SyncState
	rep   *Report
	opts  SyncOptions

	kinds    []tenantsync.Kind
	stored   map[tenantsync.Kind]string // the stored cursors
	listedAt time.Time                  // when the fetch began: a complete listing describes the tenant then
	src      tenantsync.Source
	res      *tenantsync.FetchResult
	expired  []tenantsync.Kind // kinds whose cursor expired, listed in full
	// sink stages the kinds a source streams, nil when the store cannot stage (store.Stager).
	sink *stageSink
	// staged are the committed counts of the kinds applied from the stage, keep the items
	// the deletion guard keeps as the mirror has them.
	staged map[tenantsync.Kind]int
	keep   map[tenantsync.Kind][]string

	batch    store.Batch
	results  map[tenantsync.Kind]*tenantsync.KindResult // what is applied, by kind
	kindErrs map[tenantsync.Kind]store.SyncError
	holds    map[tenantsync.Kind]store.DeletionHold
	recent   map[tenantsync.Kind][]store.RecentLoss
	guarded  []guardOutcome
	reads    mirrorReads

	rc     *reconcileOutcome
	assets *assetOutcome // nil when the assets were not reconciled
	full   bool          // the users were matched in full
	out    store.BatchResult
	// before are the mirror's counts the guard read: nothing but the run's own commit changes
	// a tenant's mirror while the run holds its lease.
	before map[tenantsync.Kind]int
}

// mirrorReads are the mirrors a tenant run has read, by kind: the guard's reads serve the
// contact reconcile, as nothing changes a tenant's mirror but the run's own commit. Callers
// share the results and do not change them.
type mirrorReads map[tenantsync.Kind]*tenantsync.KindResult

// read returns the tenant's mirror of kind k, reading it the first time only.
func (m mirrorReads) read(ctx context.Context, mirror store.Mirror, tenantID string, k tenantsync.Kind) (*tenantsync.KindResult, error) {
	if cur, ok := m[k]; ok {
		return cur, nil
	}
	cur, err := mirror.ReadKind(ctx, tenantID, k)
	if err != nil {
		return nil, err
	}
	if m != nil {
		m[k] = cur
	}
	return cur, nil
}

// readNamed returns the tenant's mirrored items of kind k among ids, and perhaps others: the
// whole mirror when the run read it already, else only those (store.ItemsReader) when the
// store can read them so, else the whole mirror.
func (m mirrorReads) readNamed(ctx context.Context, mirror store.Mirror, tenantID string, k tenantsync.Kind, ids []string) (*tenantsync.KindResult, error) {
	if cur, ok := m[k]; ok {
		return cur, nil
	}
	// An item without an ID is never mirrored.
	ids = slices.DeleteFunc(distinct(ids), func(id string) bool { return id == "" })
	if len(ids) == 0 {
		return &tenantsync.KindResult{Kind: k, Mode: tenantsync.Changes}, nil
	}
	if ir, ok := mirror.(store.ItemsReader); ok {
		return ir.ReadItems(ctx, tenantID, k, ids)
	}
	return m.read(ctx, mirror, tenantID, k)
}

// sinkStage returns the run's stage, nil when nothing was staged.
func (r *tenantRun) sinkStage() store.Stage {
	if r.sink == nil {
		return nil
	}
	return r.sink.opened()
}

// syncTenant fetches, reconciles and commits one tenant. It returns the work to do once the
// commit succeeded (events, client domain fill).
func (e *Engine) syncTenant(ctx context.Context, rec store.TenantRecord, state *store.SyncState, rep *Report, opts SyncOptions, lease *leaseWatch) (func(context.Context), error) {
	r := &tenantRun{rec: rec, state: state, rep: rep, opts: opts}
	defer func() {
		if st := r.sinkStage(); st != nil {
			dctx, cancel := detached(ctx)
			defer cancel()
			_ = st.Discard(dctx)
		}
	}()
	if err := e.fetchStep(ctx, r); err != nil {
		return nil, err
	}
	if err := e.guardStep(ctx, r); err != nil {
		return nil, err
	}
	if err := e.reconcileStep(ctx, r, lease.write); err != nil {
		return nil, err
	}
	if err := e.assetStep(ctx, r); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if err := e.commitStep(ctx, r, lease); err != nil {
		return nil, err
	}
	return e.afterCommit(r), nil
}

// fetchStep reads the stored cursors and fetches the tenant's kinds that are due
// (Cadence.Kinds), then the resting ones the users' changes call for.
func (e *Engine) fetchStep(ctx context.Context, r *tenantRun) error {
	rec, rep := r.rec, r.rep
	stored, err := e.acct.Mirror.Cursors(ctx, rec.ID)
	if err != nil {
		return err
	}
	r.stored = stored
	// A complete listing describes the tenant as it was when the fetch began.
	r.listedAt = e.clock.Now()
	enabled := e.kindsFor(rec)
	due, resting := e.sched.dueKinds(rec.ID, enabled, r.listedAt)
	if len(due) == 0 {
		// Every enabled kind rests (users switched off): a sync with nothing to fetch would
		// be no sync at all, so it fetches them all.
		due, resting = enabled, nil
	}
	r.kinds = due
	// A person asked for this sync: sources read live rather than from a cache.
	fresh := rep.Trigger == triggerSyncNow || rep.Trigger == "create-all"
	if stager, ok := e.acct.Mirror.(store.Stager); ok {
		r.sink = newStageSink(stager, rec.ID)
	}
	r.src, r.res, r.expired, rep.FullListing, err = e.fetch(ctx, rec, due, stored, r.listedAt, fresh, r.sink)
	if err != nil {
		return err
	}
	var users *tenantsync.KindResult
	var newest time.Time
	if slices.Contains(due, tenantsync.KindUsers) {
		users = r.res.Result(tenantsync.KindUsers)
		if users.Streamed {
			newest = r.sink.newest
		}
	}
	if more := e.sched.triggeredKinds(rec.ID, users, newest, resting); len(more) > 0 {
		e.fetchMore(ctx, r, more, fresh)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		resting = slices.DeleteFunc(resting, func(k tenantsync.Kind) bool { return slices.Contains(more, k) })
	}
	rep.Source = r.src.Name()
	rep.RoundTrips = r.res.RoundTrips
	rep.Resting = resting
	return nil
}

// fetchMore fetches further kinds from the source that answered, into the run's result: a
// failure makes them unavailable, and leaves the rest of the run as it was.
func (e *Engine) fetchMore(ctx context.Context, r *tenantRun, kinds []tenantsync.Kind, fresh bool) {
	cursors := map[tenantsync.Kind]string{}
	if !r.rep.FullListing {
		for _, k := range kinds {
			if c, _ := unwrapCursor(r.src.Name(), r.stored[k]); c != "" {
				cursors[k] = c
			}
		}
	}
	progress := func(k tenantsync.Kind, n int) { e.recordProgress(r.rec.ID, r.rec.ClientID, k, n) }
	req := tenantsync.FetchRequest{TenantID: r.rec.ID, Kinds: kinds, Cursors: cursors, Progress: progress, Fresh: fresh}
	if r.sink != nil {
		req.Sink = r.sink
	}
	more, err := r.src.Fetch(ctx, req)
	if err == nil && r.sink != nil {
		err = r.sink.settle(ctx, more, kinds)
	} else if r.sink != nil {
		if rerr := r.sink.reset(ctx, kinds...); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if r.res.Kinds == nil {
		r.res.Kinds = map[tenantsync.Kind]*tenantsync.KindResult{}
	}
	for _, k := range kinds {
		if err != nil {
			r.res.Kinds[k] = tenantsync.UnavailableResult(k, err)
		} else {
			r.res.Kinds[k] = more.Result(k)
		}
	}
	if err == nil {
		r.res.RoundTrips += more.RoundTrips
	}
	all := append(slices.Clone(r.kinds), kinds...)
	r.kinds = r.kinds[:0]
	for _, k := range tenantsync.AllKinds() {
		if slices.Contains(all, k) {
			r.kinds = append(r.kinds, k)
		}
	}
}

// guardStep diffs each fetched kind against the mirror through the deletion guard and adds
// what may be applied to the batch; holds and guard windows of kinds not judged in this run
// (unavailable, switched off) are carried forward.
func (e *Engine) guardStep(ctx context.Context, r *tenantRun) error {
	rec, state, rep, src, res, stored, listedAt := r.rec, r.state, r.rep, r.src, r.res, r.stored, r.listedAt
	r.batch = store.Batch{TenantID: rec.ID, Holder: e.holder, Now: e.clock.Now()}
	r.results = map[tenantsync.Kind]*tenantsync.KindResult{}
	r.kindErrs = map[tenantsync.Kind]store.SyncError{}
	r.reads = mirrorReads{}
	// The mirror's sizes, for the deletion guard (one cheap query; the guard reads a kind's
	// items only when its fetch could remove or block any of them).
	mirrorCounts, err := e.acct.Mirror.Counts(ctx, rec.ID)
	if err != nil {
		return err
	}
	r.before = mirrorCounts
	holds := maps.Clone(state.Holds)
	recent := maps.Clone(state.Recent)
	// Each available kind's guard input, so that the mirrors the guards compare with are read
	// together first.
	ins := make([]guardInput, 0, len(r.kinds))
	for _, k := range r.kinds {
		kr := res.Result(k)
		if kr.Mode == tenantsync.Unavailable {
			continue
		}
		apply := *kr
		apply.Kind = k
		in := guardInput{tenantID: rec.ID, source: src.Name(), kr: &apply, n: mirrorCounts[k],
			recent: state.Recent[k], now: listedAt}
		if h, ok := state.Holds[k]; ok {
			in.prev = &h
		}
		if kr.Streamed {
			in.stage = r.sinkStage()
		}
		ins = append(ins, in)
	}
	if err := e.guardMirrors(ctx, rec.ID, ins); err != nil {
		return err
	}
	inputs := make(map[tenantsync.Kind]guardInput, len(ins))
	for _, in := range ins {
		inputs[in.kr.Kind] = in
	}
	for _, k := range r.kinds {
		kr := res.Result(k)
		krep := KindReport{Mode: kr.Mode, Fetched: kr.Len(), FullAfterExpiry: slices.Contains(r.expired, k)}
		var stage store.Stage
		if kr.Streamed && kr.Mode != tenantsync.Unavailable {
			stage = r.sinkStage()
			krep.Fetched = r.sink.count(k)
		}
		if kr.Mode == tenantsync.Unavailable {
			// No information: nothing of this kind is removed, deactivated or advanced.
			krep.Err = unavailable(k, kr.Err)
			r.kindErrs[k] = *store.SyncErrorOf(krep.Err, r.batch.Now)
			rep.Kinds[k] = krep
			continue
		}
		in := inputs[k]
		apply := *in.kr
		g, err := e.guard(ctx, in)
		if err != nil {
			return err
		}
		r.guarded = append(r.guarded, g)
		if g.mirror != nil {
			r.reads[k] = g.mirror
		}
		if recent == nil {
			recent = map[tenantsync.Kind][]store.RecentLoss{}
		}
		recent[k] = g.recent
		if g.held() {
			if holds == nil {
				holds = map[tenantsync.Kind]store.DeletionHold{}
			}
			holds[k] = *g.hold
			krep.Held, krep.WouldRemove, krep.WouldDisable = true, g.hold.Removals, g.hold.Disabled
		} else {
			delete(holds, k)
		}
		rep.Kinds[k] = krep
		if g.apply == nil {
			// Nothing of the kind is applied and its cursor stays, so a change set is delivered
			// again by the next fetch and a full listing is asked for again.
			continue
		}
		apply = *g.apply
		listed := listedAt
		if kr.Mode == tenantsync.Changes {
			// A change set checks nothing whole: the last full listing stays what it was.
			_, listed = unwrapCursor(src.Name(), stored[k])
		}
		apply.Cursor = wrapCursor(src.Name(), kr.Cursor, listed)
		if g.held() {
			// Applied but for what a new hold keeps: the cursor stays, so the next fetch shows
			// the held rest again.
			apply.Cursor = stored[k]
		}
		r.results[k] = &apply
		ka := store.KindApply{Result: &apply, ExpectCursor: stored[k]}
		if stage != nil {
			ka.Stage, ka.Keep = stage.ID(), g.keep
			if len(g.keep) > 0 {
				if r.keep == nil {
					r.keep = map[tenantsync.Kind][]string{}
				}
				r.keep[k] = g.keep
			}
			n, err := stage.Count(ctx, k)
			if err != nil {
				return err
			}
			if r.staged == nil {
				r.staged = map[tenantsync.Kind]int{}
			}
			// What the mirror holds once the stage is applied: the listing, and the held
			// items it omits, which stay.
			r.staged[k] = n + g.keptOmitted
		}
		r.batch.Kinds = append(r.batch.Kinds, ka)
	}
	if len(holds) == 0 {
		holds = nil
	}
	maps.DeleteFunc(recent, func(_ tenantsync.Kind, l []store.RecentLoss) bool { return len(l) == 0 })
	if len(recent) == 0 {
		recent = nil
	}
	r.holds, r.recent = holds, recent
	return nil
}

// reconcileStep matches the tenant's users with the client's contacts, when the users were
// fetched and the tenant is linked, and adds the links and reviews to the batch.
func (e *Engine) reconcileStep(ctx context.Context, r *tenantRun, writeState stateWriter) error {
	rec, state, results := r.rec, r.state, r.results
	users := results[tenantsync.KindUsers]
	if users == nil || !rec.Linked() {
		return nil
	}
	// Users left pending, or whose failed contact write is due again, are among all users
	// only: a delta does not name them again.
	r.full = users.Mode == tenantsync.Complete || e.fullReconcileDue(rec.ID, r.batch.Now) ||
		state.ContactsPending > 0 || retryDue(state.ContactFailures, r.batch.Now)
	// Users whose mailbox type changes without a directory change (a conversion in
	// Exchange, or the two kinds' cursors having diverged) are matched again too: the
	// type decides whether a user is a person.
	var retyped []string
	var err error
	if !r.full {
		if retyped, err = e.retypedUsers(ctx, rec.ID, results[tenantsync.KindMailboxes], r.reads); err != nil {
			return err
		}
	}
	if !r.full && len(users.Users) == 0 && len(users.Removed) == 0 && len(retyped) == 0 {
		return nil
	}
	rc, err := e.reconcile(ctx, rec, state, results, r.full, retyped, r.opts, writeState, stagedInput{stage: r.sinkStage(), keep: r.keep[tenantsync.KindUsers]}, r.reads)
	if err != nil {
		return err
	}
	r.rc = rc
	r.batch.Links = rc.links
	r.batch.Reviews = rc.reviews
	r.rep.Contacts = rc.report
	return nil
}

// nextCreation carries the creation of the contacts left over by earlier syncs forward with a
// reconcile's outcome: a backlog goes on while creates are left over and ends (Remaining 0) at
// the first sync that leaves none; the sync after that clears it.
func nextCreation(prev store.ContactCreation, rc *reconcileOutcome) store.ContactCreation {
	left := rc.capped + rc.createsPending
	if left == 0 && prev.Remaining == 0 {
		return store.ContactCreation{}
	}
	created := rc.report.Created
	if prev.Remaining > 0 {
		created += prev.Created
	}
	return store.ContactCreation{Created: created, Remaining: left}
}

// commitStep stores the batch with the run's new state in one transaction, then counts what
// it stored and notes whether the users were matched in full.
func (e *Engine) commitStep(ctx context.Context, r *tenantRun, lease *leaseWatch) error {
	rec, state, batch, results, rc := r.rec, r.state, r.batch, r.results, r.rc
	st := *state
	st.LastSuccess = batch.Now
	st.LastError = nil
	st.KindErrors = r.kindErrs
	st.Counts = committedCounts(state.Counts, results)
	for k, n := range r.staged {
		if results[k] != nil && results[k].Mode == tenantsync.Complete {
			st.Counts[k] = n
		}
	}
	st.Recent = r.recent
	st.Holds = r.holds
	if rc != nil {
		st.ContactFailures = rc.failures
		st.ContactsPending = rc.report.Pending + rc.capped
		st.Creation = nextCreation(state.Creation, rc)
		st.ContactsError = store.SyncErrorOf(rc.psaErr, batch.Now)
		st.CreateIntents = rc.intents
	} else if st.Creation.Remaining == 0 {
		// A finished creation is shown until the next sync, reconciled or not.
		st.Creation = store.ContactCreation{}
	}
	batch.State = &st
	changes, err := feedChanges(rc, r.guarded)
	if err != nil {
		return err
	}
	if r.assets != nil {
		st.Assets = r.assets.state
		changes = append(changes, r.assets.changes...)
	}
	batch.Changes = changes
	lease.freeze()
	// The store checks the lease at the batch's Now, inside the commit's transaction: that is
	// the commit's own instant, not the guard's, since the reconcile's PSA calls may have
	// taken most of a TTL. The engine's own deadline is checked first: a lease that still
	// holds in the store but is past its safe part may be claimed by a process whose clock
	// runs ahead.
	// When the counts the commit leaves are known before it, the commit stores the run's final
	// state, ended at the commit's instant, so that finishing costs neither a count of the
	// mirror nor a write of its own (recordFinish checks the client's activity again after).
	counts, final := r.finalCounts()
	var active bool
	if final {
		active = e.clientActive(ctx, rec.ClientID, e.clock.Now())
	}
	batch.Now = e.clock.Now()
	if err := lease.check(batch.Now); err != nil {
		return err
	}
	if final {
		e.finish(&st, r.rep.Started, batch.Now, active)
		st.Counts = counts
	}
	out, err := e.acct.Mirror.Commit(ctx, batch)
	if err != nil {
		lease.commitRefused(err)
		return err
	}
	r.out = out
	*state = st
	e.countCommit(results, r.staged, out, rc)
	var applied, failed []tenantsync.Kind
	for _, k := range r.kinds {
		if kr, ok := r.rep.Kinds[k]; ok && results[k] != nil && kr.Mode != tenantsync.Unavailable && !kr.Held {
			applied = append(applied, k)
		} else {
			failed = append(failed, k)
		}
	}
	e.sched.kindsFetched(rec.ID, applied, failed, r.listedAt)
	switch {
	case rc != nil && rc.report.Deferred+rc.report.Pending > 0:
		// Users left waiting (create cap, unknown mailbox types) are picked up by a full pass.
		e.invalidateReconcile(rec.ID)
	case r.full:
		e.reconciled(rec.ID, batch.Now)
	case results[tenantsync.KindUsers] == nil && rec.Linked() && mailboxesChanged(out):
		// The users could not be listed, so nothing looked at the users whose mailbox changed;
		// the next sync's delta will not name them, so it matches every user instead.
		e.invalidateReconcile(rec.ID)
	}
	return nil
}

// afterCommit fills the report with what the commit changed and returns what announces it
// (events, the client's domains) once the final state is stored.
func (e *Engine) afterCommit(r *tenantRun) func(context.Context) {
	rec, rep, rc, out, results, batch := r.rec, r.rep, r.rc, r.out, r.results, r.batch
	var domainsAdded []string
	for _, a := range out.Kinds {
		kr := rep.Kinds[a.Kind]
		kr.Added, kr.Updated, kr.Removed = appliedCounts(a)
		rep.Kinds[a.Kind] = kr
		if a.Kind == tenantsync.KindDomains {
			domainsAdded = a.Added
		}
	}
	announceHolds := e.holdEvents(rec, r.guarded, rep)
	return func(ctx context.Context) {
		announceHolds(ctx)
		e.auditAssets(ctx, r.assets)
		if rc != nil {
			for _, ev := range rc.events {
				e.emit(ev)
			}
			for _, rv := range out.Reviews {
				if rc.newReview[rv.ObjectID] {
					e.emit(Event{Type: EventReviewNeeded, TenantID: rec.ID, ClientID: rec.ClientID, UserID: rv.ObjectID,
						Message: rv.Reason, Count: len(rv.Candidates)})
				}
			}
			if n := rc.report.Pending; n > 0 {
				ev := Event{Type: EventContactsPending, TenantID: rec.ID, ClientID: rec.ClientID, Count: n,
					Message: fmt.Sprintf("%d users left for the next syncs: %v", n, rc.report.Stopped)}
				errorFields(&ev, rc.report.Stopped)
				if d, ok := tenantsync.Details(rc.report.Stopped); ok && d.RetryAfter > 0 {
					ev.RetryAt = batch.Now.Add(d.RetryAfter)
				}
				e.emit(ev)
			}
		}
		if d := results[tenantsync.KindDomains]; d != nil {
			e.afterDomains(ctx, rec.ClientID, rec.ID, d, domainsAdded)
		}
	}
}

// committedCounts returns the counts the mirror holds once results are committed, for the
// kinds where that is known before the commit: unavailable kinds and change sets that name
// nothing keep prev's count, and a complete listing holds its distinct items (the store keeps
// one item per ID). The count of a change set's kind is known only after the commit
// (recordFinish stores it): a process killed in between must leave a state that claims no
// count the mirror does not hold.
func committedCounts(prev map[tenantsync.Kind]int, results map[tenantsync.Kind]*tenantsync.KindResult) map[tenantsync.Kind]int {
	out := map[tenantsync.Kind]int{}
	for k, n := range prev {
		if kr := results[k]; kr == nil || kr.Mode == tenantsync.Unavailable || (kr.Mode == tenantsync.Changes && kr.Len() == 0 && len(kr.Removed) == 0) {
			out[k] = n
		}
	}
	for k, kr := range results {
		if kr.Mode == tenantsync.Complete {
			out[k] = distinctItems(kr)
		}
	}
	return out
}

// distinctItems counts a result's items by the IDs the store keys them by.
func distinctItems(kr *tenantsync.KindResult) int {
	if kr.Kind.Singleton() {
		return kr.Len()
	}
	ids := map[string]bool{}
	for _, id := range kr.IDs() {
		ids[id] = true
	}
	return len(ids)
}

// retryDue reports whether a failed contact write is due to be tried again at now.
func retryDue(failures map[string]store.ContactFailure, now time.Time) bool {
	for _, f := range failures {
		if !f.NeedsPerson && !f.Ignored && !now.Before(f.NextRetry) {
			return true
		}
	}
	return false
}

func mailboxesChanged(out store.BatchResult) bool {
	for _, a := range out.Kinds {
		if a.Kind == tenantsync.KindMailboxes && a.Changed() {
			return true
		}
	}
	return false
}

// appliedCounts returns how many items an apply added, updated and removed: its counts, or
// the lengths of its lists from a store that leaves the counts zero.
func appliedCounts(a store.Applied) (added, updated, removed int) {
	return max(a.AddedCount, len(a.Added)), max(a.UpdatedCount, len(a.Updated)), max(a.RemovedCount, len(a.Removed))
}
