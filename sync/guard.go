package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// DeletionGuard is the engine's accidental-deletion prevention, after Entra Connect's: a fetch
// that would remove a large part of a kind's mirror at once is held, whatever the source
// (a stale CIPP tenant cache once answered an empty "complete" user listing, and every user's
// contact would have been deactivated). A fetch is held when it would remove more than
// MaxRemovals items and more than MaxPercent of the kind's mirror; both must be exceeded, so a
// small tenant losing a few users and a large one losing a handful sync as usual. The zero
// value of each field takes its default.
//
// A held kind changes nothing: none of its mirror changes are applied (upserts included), its
// cursor does not advance (so a change set is delivered again next time), no contact is
// deactivated for it, and the tenant's other kinds sync as usual. The hold is stored in the
// tenant's sync state (it survives restarts), shown by Status and announced by a
// sync.deletion_held event. It ends when
//   - a person releases it (Engine.ReleaseHold): the next fetch that shows the same removal
//     applies it once, above the threshold;
//   - a fetch at least ConfirmAfter after the hold began still removes the same items: the
//     removal is confirmed and applied;
//   - a fetch removes few enough items again (they are listed again): the hold clears by itself
//     and what little is still missing is removed as usual.
//
// "The same removal" is the held items, give or take a few: a fetch that removes more
// items beyond the held ones than the threshold allows is a new removal, held afresh (and a
// release of the old one does not cover it).
type DeletionGuard struct {
	// MaxRemovals is how many items of a kind one fetch may remove without being held
	// (default 10). A negative value allows none, so the percentage alone decides.
	MaxRemovals int
	// MaxPercent is the share of a kind's mirror, in percent, one fetch may remove without being
	// held (default 20). A negative value allows none, so the count alone decides.
	MaxPercent float64
	// ConfirmAfter is how long a removal stays held when nobody releases it: the first fetch at
	// least this long after the hold began that still removes the same items applies it
	// (default 24 h). A negative value leaves the release to a person.
	ConfirmAfter time.Duration
	// Disabled turns the guard off: every removal a complete listing or change set implies is
	// applied at once, and existing holds are applied by the next fetch of their kind.
	Disabled bool
}

// Default deletion guard values.
const (
	DefaultMaxRemovals       = 10
	DefaultMaxRemovalPercent = 20.0
	DefaultConfirmAfter      = 24 * time.Hour
)

func (g DeletionGuard) withDefaults() DeletionGuard {
	switch {
	case g.MaxRemovals == 0:
		g.MaxRemovals = DefaultMaxRemovals
	case g.MaxRemovals < 0:
		g.MaxRemovals = 0
	}
	switch {
	case g.MaxPercent == 0:
		g.MaxPercent = DefaultMaxRemovalPercent
	case g.MaxPercent < 0:
		g.MaxPercent = 0
	}
	if g.ConfirmAfter == 0 {
		g.ConfirmAfter = DefaultConfirmAfter
	}
	return g
}

func (g DeletionGuard) validate() error {
	if math.IsNaN(g.MaxPercent) {
		return configError("DeletionGuard.MaxPercent is NaN", "set a percentage such as 20, or leave it zero for the default")
	}
	return nil
}

// trips reports whether removing n of a mirror of of items exceeds both allowances.
func (g DeletionGuard) trips(n, of int) bool {
	if g.Disabled || n == 0 {
		return false
	}
	return n > g.MaxRemovals && float64(n)*100 > g.MaxPercent*float64(of)
}

// holdEnd says how a hold ended.
type holdEnd int

const (
	holdKept      holdEnd = iota // no hold ended
	holdReleased                 // applied after a person released it
	holdConfirmed                // applied after a fetch confirmed it
	holdDisarmed                 // applied because the guard was turned off
	holdCleared                  // cleared: the items are listed again
)

// guardOutcome is the deletion guard's verdict on one kind's fetch.
type guardOutcome struct {
	kind tenantsync.Kind
	// hold is the hold to store; nil when the kind is applied.
	hold *store.DeletionHold
	// placed is true when hold is new (or replaced one that no longer describes the removal).
	placed bool
	// prev is the hold stored before this fetch, nil when none; ended says what became of it.
	prev  *store.DeletionHold
	ended holdEnd
}

func (o guardOutcome) held() bool { return o.hold != nil }

// guard judges the removals of one kind's fetch against its mirror of n items (the store's
// count) and the kind's current hold. now is when the fetch began.
func (e *Engine) guard(ctx context.Context, tenantID, source string, kr *tenantsync.KindResult, n int, prev *store.DeletionHold, now time.Time) (guardOutcome, error) {
	out := guardOutcome{kind: kr.Kind, prev: prev}
	apply := func(end holdEnd) (guardOutcome, error) {
		if prev != nil {
			out.ended = end
		}
		return out, nil
	}
	g := e.deletion
	if g.Disabled || kr.Kind == tenantsync.KindBaseline {
		// The baseline is one snapshot per tenant, replaced rather than removed.
		return apply(holdDisarmed)
	}
	// Most fetches cannot trip the guard whatever they remove: no mirror read is needed.
	upper := n
	if kr.Mode == tenantsync.Changes {
		upper = min(n, len(distinct(kr.Removed)))
	}
	if !g.trips(upper, n) {
		return apply(holdCleared)
	}
	removals, of, err := e.removals(ctx, tenantID, kr)
	if err != nil {
		return out, err
	}
	if !g.trips(len(removals), of) {
		return apply(holdCleared)
	}
	if prev != nil && !g.trips(len(without(removals, prev.IDs)), of) {
		// The same removal as the one held, give or take a few.
		switch {
		case prev.Released:
			return apply(holdReleased)
		case g.ConfirmAfter >= 0 && !now.Before(prev.Since.Add(g.ConfirmAfter)):
			return apply(holdConfirmed)
		}
		h := *prev
		// Items listed again leave the held set; new absentees do not join it, so they do not
		// ride on the hold's age to an early confirmation.
		h.IDs = intersect(prev.IDs, removals)
		h.Source, h.Mode, h.Removals, h.Of, h.LastSeen = source, kr.Mode, len(removals), of, now
		h.Hint = e.holdHint(h)
		out.hold = &h
		return out, nil
	}
	h := store.DeletionHold{Kind: kr.Kind, Source: source, Mode: kr.Mode, IDs: removals,
		Removals: len(removals), Of: of, Since: now, LastSeen: now}
	h.Hint = e.holdHint(h)
	out.hold, out.placed = &h, true
	return out, nil
}

// removals returns the mirrored items kr would remove, sorted, and the mirror's size.
func (e *Engine) removals(ctx context.Context, tenantID string, kr *tenantsync.KindResult) ([]string, int, error) {
	cur, err := e.st.ReadKind(ctx, e.account, tenantID, kr.Kind)
	if err != nil {
		return nil, 0, err
	}
	cur.Kind = kr.Kind
	mirror := distinct(cur.IDs())
	var gone []string
	if kr.Mode == tenantsync.Complete {
		gone = without(mirror, kr.IDs())
	} else {
		gone = intersect(mirror, kr.Removed)
	}
	return gone, len(mirror), nil
}

// distinct returns ids without repeats, sorted.
func distinct(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// without returns the distinct items of a that are not in b, sorted.
func without(a, b []string) []string {
	drop := map[string]bool{}
	for _, id := range b {
		drop[id] = true
	}
	return distinct(slices.DeleteFunc(slices.Clone(a), func(id string) bool { return drop[id] }))
}

// intersect returns the distinct items of a that are in b, sorted.
func intersect(a, b []string) []string {
	keep := map[string]bool{}
	for _, id := range b {
		keep[id] = true
	}
	return distinct(slices.DeleteFunc(slices.Clone(a), func(id string) bool { return !keep[id] }))
}

// holdHint tells a person what to check and how a hold ends.
func (e *Engine) holdHint(h store.DeletionHold) string {
	what := "omits"
	if h.Mode == tenantsync.Changes {
		what = "removes"
	}
	hint := fmt.Sprintf("the %s source's answer %s %d of the %d %s this tenant's mirror holds, more than the deletion guard lets through at once, so nothing of %s was changed. "+
		"Check in the %s whether they were really deleted. "+
		"If they were, release the hold on %s for this tenant and the next sync removes them. "+
		"If they were not, the source answered wrongly (a stale CIPP tenant cache, a GDAP role that no longer applies, a filtered listing): "+
		"fix it, and the hold clears by itself once they are listed again.",
		h.Source, what, h.Removals, h.Of, h.Kind, h.Kind, adminCentre(h.Kind), h.Kind)
	if c := e.deletion.ConfirmAfter; c >= 0 {
		hint += fmt.Sprintf(" Without a release, the first sync after %s that still misses them removes them.", h.Since.Add(c).UTC().Format("2006-01-02 15:04 MST"))
	} else {
		hint += " It stays held until a person releases it."
	}
	return hint
}

// adminCentre is where a person sees the truth about items of kind k.
func adminCentre(k tenantsync.Kind) string {
	if k == tenantsync.KindDevices {
		return "Intune admin centre"
	}
	return "Microsoft 365 admin centre"
}

// HoldStatus is a held removal as Status shows it.
type HoldStatus struct {
	Kind   tenantsync.Kind
	Source string          // the source whose answer was held
	Mode   tenantsync.Mode // Complete: a listing omitted the items; Changes: a change set removed them
	// Removals is how many mirrored items the latest fetch would remove, Of how many the mirror holds.
	Removals int
	Of       int
	Since    time.Time // when the removal was first held
	LastSeen time.Time // the latest fetch that still would remove them
	// ConfirmAt is when a fetch that still misses the items applies the removal without a
	// release; zero when only a person can release it.
	ConfirmAt time.Time
	// Released is set once a person released the hold; the next sync applies it.
	Released   bool
	ReleasedBy string
	ReleasedAt time.Time
	// Examples are the first held item IDs (object IDs for users), at most MaxHoldExamples; the
	// stored state (TenantStatus.State.Holds) has them all.
	Examples []string
	Hint     string // what to check and how to release the hold
}

// MaxHoldExamples bounds HoldStatus.Examples.
const MaxHoldExamples = 10

// holdStatuses returns a state's holds in kind order.
func (e *Engine) holdStatuses(st store.SyncState) []HoldStatus {
	var out []HoldStatus
	for _, k := range tenantsync.AllKinds() {
		h, ok := st.Holds[k]
		if !ok {
			continue
		}
		hs := HoldStatus{Kind: k, Source: h.Source, Mode: h.Mode, Removals: h.Removals, Of: h.Of,
			Since: h.Since, LastSeen: h.LastSeen, Released: h.Released, ReleasedBy: h.ReleasedBy, ReleasedAt: h.ReleasedAt,
			Examples: slices.Clone(h.IDs[:min(len(h.IDs), MaxHoldExamples)]), Hint: h.Hint}
		if c := e.deletion.ConfirmAfter; c >= 0 {
			hs.ConfirmAt = h.Since.Add(c)
		}
		out = append(out, hs)
	}
	return out
}

// ReleaseHold releases the deletion guard's hold on one kind of a tenant: a person checked that
// the items are really gone. The release is audited under actor, and the tenant becomes due at
// once; its next sync applies the removal once, above the threshold, when the fetch shows the
// same removal (a different, larger one is held afresh). A tenant being synced fails with
// ErrAlreadyRunning (release again when the sync has finished: it may have applied or cleared
// the hold); a kind without a hold fails with ErrNotFound.
func (e *Engine) ReleaseHold(ctx context.Context, actor, tenantID string, kind tenantsync.Kind) error {
	const op = "ReleaseHold"
	switch {
	case actor == "":
		return &tenantsync.Error{Kind: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
			Message: "no actor", Hint: "pass the ID of the person releasing the hold"}
	case !kind.Valid():
		return &tenantsync.Error{Kind: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
			Message: fmt.Sprintf("unknown kind %q", kind), Hint: "use the tenantsync.Kind constants"}
	}
	rec, err := e.st.GetTenant(ctx, e.account, tenantID)
	if err != nil {
		if isNotFound(err) {
			err = &tenantsync.Error{Kind: tenantsync.ErrTenantNotFound, Service: Service, Op: op, Tenant: tenantID,
				Message: "the account has no such tenant", Hint: "check the tenant ID", Err: err}
		}
		return err
	}
	refuse := func(err error) error {
		_ = e.auditAdmin(ctx, actor, "release_hold", tenantID, string(kind), "refused", err, nil)
		return err
	}
	now := e.clock.Now()
	var h store.DeletionHold
	found := false
	// Under the tenant's lease: a sync running meanwhile would commit over the release a state
	// it read before.
	_, err = e.rewriteState(ctx, tenantID, func(st *store.SyncState) bool {
		if h, found = st.Holds[kind]; !found {
			return false
		}
		h.Released, h.ReleasedBy, h.ReleasedAt = true, actor, now
		st.Holds = maps.Clone(st.Holds)
		st.Holds[kind] = h
		st.NextDue = now
		return true
	})
	switch {
	case errors.Is(err, tenantsync.ErrAlreadyRunning):
		// The running sync may apply or clear the hold: its status says.
		return refuse(err)
	case err != nil:
		return err
	case !found:
		return refuse(&tenantsync.Error{Kind: tenantsync.ErrNotFound, Service: Service, Op: op, Tenant: tenantID,
			Message: fmt.Sprintf("no hold on %s", kind),
			Hint:    "look at the tenant's status: the hold may have been applied or cleared by a sync meanwhile"})
	}
	detail := map[string]string{"kind": string(kind), "source": h.Source, "removals": fmt.Sprint(h.Removals),
		"of": fmt.Sprint(h.Of), "since": h.Since.UTC().Format(time.RFC3339)}
	if err := e.auditAdmin(ctx, actor, "release_hold", tenantID, string(kind), "succeeded", nil, detail); err != nil {
		return err
	}
	e.counters.holdsReleased.Add(1)
	e.emit(Event{Type: EventDeletionReleased, TenantID: tenantID, ClientID: rec.ClientID, Kind: kind, Actor: actor,
		Count: h.Removals, Message: fmt.Sprintf("released: the next sync removes %d of %d %s", h.Removals, h.Of, kind)})
	e.sched.poke()
	return nil
}

// holdEvents returns the events of the run's guard verdicts, once committed, and counts them.
func (e *Engine) holdEvents(rec store.TenantRecord, guarded []guardOutcome, rep *Report) []Event {
	var out []Event
	for _, g := range guarded {
		ev := Event{TenantID: rec.ID, ClientID: rec.ClientID, Kind: g.kind}
		switch {
		case g.placed:
			h := g.hold
			e.counters.holdsPlaced.Add(1)
			ev.Type, ev.Count, ev.Hint = EventDeletionHeld, h.Removals, h.Hint
			ev.Message = fmt.Sprintf("held: the %s source's answer would remove %d of %d %s", h.Source, h.Removals, h.Of, g.kind)
			out = append(out, ev)
			continue
		case g.prev == nil || g.held():
			continue
		}
		removed := rep.Kinds[g.kind].Removed
		switch g.ended {
		case holdReleased:
			ev.Message = fmt.Sprintf("applied after %s released it: %d %s removed", g.prev.ReleasedBy, removed, g.kind)
		case holdConfirmed:
			ev.Message = fmt.Sprintf("applied: still missing after %s, %d %s removed", e.deletion.ConfirmAfter, removed, g.kind)
		case holdDisarmed:
			ev.Message = fmt.Sprintf("applied: the deletion guard is off, %d %s removed", removed, g.kind)
		case holdCleared:
			e.counters.holdsCleared.Add(1)
			ev.Type, ev.Count = EventDeletionCleared, g.prev.Removals
			ev.Message = fmt.Sprintf("cleared: the %s are listed again (%d still missing were removed)", g.kind, removed)
			out = append(out, ev)
			continue
		default:
			continue
		}
		e.counters.holdsApplied.Add(1)
		ev.Type, ev.Count = EventDeletionApplied, removed
		out = append(out, ev)
	}
	return out
}
