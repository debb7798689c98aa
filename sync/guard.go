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
// that would take a large part of a kind's mirror away is held, whatever the source (a stale
// CIPP tenant cache once answered an empty "complete" user listing, and every user's contact
// would have been deactivated).
//
// What a fetch takes away is what it removes (the items a complete listing omits or a change
// set removes) and, for users, the accounts it newly shows with sign-in blocked
// (accountEnabled false where the mirror has true): the contact linked to either is
// deactivated, so a listing that reports every user blocked is held like one that reports
// none. The fetch is judged together with what the kind lost without a hold in the Window
// before it, so a removal spread over several syncs (ten users a sync) is held like one made
// at once; the total is measured against the mirror as it was before those losses (its size
// now plus what the window removed). The total is held when it exceeds MaxRemovals items and
// MaxPercent of that mirror; both must be exceeded, so a large tenant losing a handful and a
// small one losing a few sync as usual.
//
// Small tenants get less: a kind of at most MaxRemovals items (10 by default) is never held,
// so a tenant with eight users can lose them all in one fetch (their contacts are deactivated,
// and reactivated when the users are listed again). Any kind may lose MaxRemovals items, or
// MaxPercent of its mirror when that is more, per Window without a hold. Lower MaxRemovals
// (or make it negative, so the percentage alone decides) to protect small tenants, at the
// price of more holds.
//
// A held kind changes nothing: none of its mirror changes are applied (upserts included), its
// cursor does not advance (so a change set is delivered again next time), no contact is
// deactivated for it, and the tenant's other kinds sync as usual. The hold is stored in the
// tenant's sync state (it survives restarts), shown by Status and announced by a
// sync.deletion_held event. It ends when
//   - a person releases it (Engine.ReleaseHold): the next fetch that still shows the held
//     items gone applies their removal (and blocking) once, above the threshold;
//   - a fetch at least ConfirmAfter after the hold began still shows them gone: their removal
//     is confirmed and applied;
//   - a fetch lists some of them again and takes away few enough: the hold clears by itself
//     and what little that fetch takes away is applied as usual.
//
// A hold covers the items it was placed for, and no more. While it waits, a fetch that takes
// away those and at most MaxRemovals others is the same removal (the hold keeps its age; the
// others do not join it); more others make a new removal, held afresh from then. When a
// release or a confirmation applies the held items, what the fetch takes away beyond them is
// applied with them only if it is at most MaxRemovals items (a count: the release lifted the
// fetch past the percentage already) and the window allows it; otherwise the held items are
// applied, the rest is held afresh as a new hold, and the kind's cursor stays, so the next
// fetch shows that rest again. Each application is audited (apply_hold) with its count.
type DeletionGuard struct {
	// MaxRemovals is how many items of a kind may be taken away within Window without a hold
	// (default 10). A negative value allows none, so the percentage alone decides.
	MaxRemovals int
	// MaxPercent is the share of a kind's mirror, in percent, that may be taken away within
	// Window without a hold (default 20). A negative value allows none, so the count alone
	// decides.
	MaxPercent float64
	// Window is how far back what a kind lost without a hold counts with a fetch's own
	// (default 24 h). A negative value judges each fetch alone.
	Window time.Duration
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
	DefaultGuardWindow       = 24 * time.Hour
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
	if g.Window == 0 {
		g.Window = DefaultGuardWindow
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

// trips reports whether taking n of a mirror of of items away exceeds both allowances.
func (g DeletionGuard) trips(n, of int) bool {
	if g.Disabled || n == 0 {
		return false
	}
	return n > g.MaxRemovals && float64(n)*100 > g.MaxPercent*float64(of)
}

// window is what a kind lost within the guard's window.
type window struct {
	removed, disabled int // taken away without a hold: counted
	approved          int // removed under a released or confirmed hold: in the mirror measured against only
}

// tripsWith reports whether taking n of a mirror of of items away trips the guard together
// with what the window lost: the mirror measured against is the one before those losses.
func (g DeletionGuard) tripsWith(n, of int, w window) bool {
	return n > 0 && g.trips(n+w.removed+w.disabled, of+w.removed+w.approved)
}

// stretch is how long one entry of a kind's window lasts: the window's length is bounded by
// about 25 entries per kind, whatever the sync cadence.
func (g DeletionGuard) stretch() time.Duration {
	return max(g.Window/24, time.Second)
}

// windowed returns the entries of recent still within the window at now, and their total.
func (g DeletionGuard) windowed(recent []store.RecentLoss, now time.Time) ([]store.RecentLoss, window) {
	if g.Window < 0 {
		return nil, window{}
	}
	var kept []store.RecentLoss
	var w window
	for _, r := range recent {
		if r.To.After(now.Add(-g.Window)) {
			kept = append(kept, r)
			w.removed += r.Removed
			w.disabled += r.Disabled
			w.approved += r.Approved
		}
	}
	return kept, w
}

// record adds a sync's losses at now to a kind's window (the entries windowed returned).
func (g DeletionGuard) record(recent []store.RecentLoss, now time.Time, removed, disabled, approved int) []store.RecentLoss {
	if g.Window < 0 || removed+disabled+approved == 0 {
		return recent
	}
	if n := len(recent); n > 0 && now.Sub(recent[n-1].From) < g.stretch() && !now.Before(recent[n-1].To) {
		recent = slices.Clone(recent)
		last := &recent[n-1]
		last.To = now
		last.Removed += removed
		last.Disabled += disabled
		last.Approved += approved
		return recent
	}
	return append(slices.Clip(recent), store.RecentLoss{From: now, To: now, Removed: removed, Disabled: disabled, Approved: approved})
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
	// apply is what to apply of the fetch: the fetched result, or one that keeps the items a new
	// hold covers as the mirror has them (then hold is set too and the cursor must stay), or
	// nil when the kind is held whole.
	apply *tenantsync.KindResult
	// hold is the hold to store; nil when none.
	hold *store.DeletionHold
	// placed is true when hold is new (or replaced one that no longer describes the removal).
	placed bool
	// mirror is the kind's mirror as the guard read it, nil when it read none.
	mirror *tenantsync.KindResult
	// prev is the hold stored before this fetch, nil when none; ended says what became of it.
	prev  *store.DeletionHold
	ended holdEnd
	// removed and disabled are what apply takes away, when the guard read the mirror; extra is
	// how much of it lies beyond prev's items.
	removed, disabled, extra int
	// recent is the kind's window after this run.
	recent []store.RecentLoss
	// keep, for a staged kind, are the items apply leaves as the mirror has them (what
	// keepMirrored does to a result in memory), and keptOmitted how many of them the listing
	// omits.
	keep        []string
	keptOmitted int
}

func (o guardOutcome) held() bool { return o.hold != nil }

// guardInput is one kind's fetch, as the guard judges it.
type guardInput struct {
	tenantID string
	source   string
	kr       *tenantsync.KindResult // with Kind set
	n        int                    // the mirror's size, by the store's count
	prev     *store.DeletionHold    // the kind's hold, nil when none
	recent   []store.RecentLoss     // the kind's window as stored
	now      time.Time              // when the fetch began
	// stage holds the kind's items when a source streamed them (kr carries none); nil otherwise.
	stage store.Stage
	// mirror is the kind's mirror when it was read already (see guardMirrors); nil otherwise.
	mirror *tenantsync.KindResult
}

// readsMirror reports whether the guard of in compares the fetch with the kind's mirror, item
// by item: when something could be taken away and could count.
func (e *Engine) readsMirror(in guardInput) bool {
	g, kr := e.deletion, in.kr
	if g.Disabled || kr.Kind.Singleton() {
		return false
	}
	bound := takeAwayBound(kr, in.n)
	if in.stage != nil {
		// The staged items are not at hand: whatever the mirror holds may go.
		bound = in.n
	}
	return in.n > 0 && bound > 0 && (g.Window >= 0 || in.prev != nil || g.trips(bound, in.n))
}

// guardMirrors reads the mirrors the guards of ins compare with (those not staged), all in one
// read when the store can (store.KindsReader).
func (e *Engine) guardMirrors(ctx context.Context, tenantID string, ins []guardInput) error {
	var kinds []tenantsync.Kind
	for _, in := range ins {
		if in.stage == nil && e.readsMirror(in) && !e.readsNamed(in) {
			kinds = append(kinds, in.kr.Kind)
		}
	}
	kr, ok := e.acct.Mirror.(store.KindsReader)
	if len(kinds) < 2 || !ok {
		return nil // each guard reads its own, as a single read costs the same
	}
	mirrors, err := kr.ReadKinds(ctx, tenantID, kinds)
	if err != nil {
		return err
	}
	for i := range ins {
		ins[i].mirror = mirrors[ins[i].kr.Kind]
	}
	return nil
}

// readsNamed reports whether the guard of in reads, of the kind's mirror, only the items its
// change set names (store.ItemsReader): a change set takes away nothing else, and a large
// tenant's mirror is thousands of items where its delta names a few.
func (e *Engine) readsNamed(in guardInput) bool {
	_, ok := e.acct.Mirror.(store.ItemsReader)
	return ok && in.stage == nil && in.mirror == nil && in.kr.Mode == tenantsync.Changes
}

// guard judges what one kind's fetch takes away against its mirror, its window and its
// current hold.
func (e *Engine) guard(ctx context.Context, in guardInput) (guardOutcome, error) {
	g, kr, prev := e.deletion, in.kr, in.prev
	out := guardOutcome{kind: kr.Kind, prev: prev, apply: kr}
	end := func(how holdEnd) (guardOutcome, error) {
		if prev != nil {
			out.ended = how
		}
		return out, nil
	}
	if g.Disabled || kr.Kind.Singleton() {
		// The baseline and the organization are one snapshot per tenant, replaced rather than
		// removed.
		return end(holdDisarmed)
	}
	recent, w := g.windowed(in.recent, in.now)
	out.recent = recent
	if !e.readsMirror(in) {
		// Nothing to count, and nothing that could trip: no mirror read is needed.
		return end(holdCleared)
	}
	l, err := e.loss(ctx, in)
	if err != nil {
		return out, err
	}
	if !l.named {
		out.mirror = l.mirror
	}
	taken := l.ids()
	trips := g.tripsWith(len(taken), l.of, w)
	applyAll := func(how holdEnd, approved []string) (guardOutcome, error) {
		ar, _ := l.split(approved)
		extra := without(taken, approved)
		er, ed := l.split(extra)
		out.removed, out.disabled, out.extra = len(l.removed), len(l.disabled), len(extra)
		out.recent = g.record(recent, in.now, er, ed, ar)
		return end(how)
	}
	hold := func(ids []string) *store.DeletionHold {
		r, d := l.split(ids)
		h := store.DeletionHold{Kind: kr.Kind, Source: in.source, Mode: kr.Mode, IDs: ids, Removals: r, Disabled: d,
			Of: l.of, Recent: w.removed + w.disabled, Since: in.now, LastSeen: in.now}
		return &h
	}
	if prev != nil {
		held := intersect(prev.IDs, taken)
		extra := without(taken, prev.IDs)
		switch {
		case len(held) < len(prev.IDs) && !trips:
			// Some held items are listed again: the hold clears, and the rest is a loss as usual.
			return applyAll(holdCleared, nil)
		case len(held) == 0:
			// Every held item is listed again, and something else is taken away: a new removal.
			out.ended = holdCleared
		case prev.Released || (g.ConfirmAfter >= 0 && !in.now.Before(prev.Since.Add(g.ConfirmAfter))):
			how := holdConfirmed
			if prev.Released {
				how = holdReleased
			}
			// The held items' removal widens the mirror the others are measured against (the
			// window counts it as approved), so l.of stands for the mirror before both.
			if len(extra) == 0 || (len(extra) <= g.MaxRemovals && !g.tripsWith(len(extra), l.of, w)) {
				return applyAll(how, held)
			}
			// The release covers the held items only: they are applied, the rest is held afresh.
			out.ended = how
			if in.stage != nil {
				out.keep, out.keptOmitted = extra, len(intersect(extra, l.removed))
			} else {
				out.apply = keepMirrored(kr, l.mirror, extra)
			}
			hr, hd := l.split(held)
			out.removed, out.disabled = hr, hd
			out.recent = g.record(recent, in.now, 0, 0, hr)
			h := hold(extra)
			h.Of = l.of - hr
			h.Hint = e.holdHint(*h, len(held))
			out.hold, out.placed = h, true
			return out, nil
		case len(extra) <= g.MaxRemovals:
			// The same removal, give or take a few. Items listed again leave the held set; new
			// ones do not join it, so they do not ride on the hold's age to an early confirmation.
			h := *prev
			h.IDs = held
			h.Source, h.Mode, h.Removals, h.Disabled, h.Of, h.LastSeen = in.source, kr.Mode, len(l.removed), len(l.disabled), l.of, in.now
			h.Recent = w.removed + w.disabled
			h.Hint = e.holdHint(h, 0)
			out.hold, out.apply = &h, nil
			return out, nil
		}
		// A larger removal than the one held: held afresh, and a release of the old one does
		// not cover it.
		trips = true
	}
	if !trips {
		return applyAll(out.ended, nil)
	}
	h := hold(taken)
	h.Hint = e.holdHint(*h, 0)
	out.hold, out.placed, out.apply = h, true, nil
	return out, nil
}

// takeAwayBound is the most a fetch can take away from a mirror of n items, without reading it.
func takeAwayBound(kr *tenantsync.KindResult, n int) int {
	if kr.Mode == tenantsync.Complete {
		return n
	}
	bound := len(distinct(kr.Removed))
	for _, u := range kr.Users {
		if !u.AccountEnabled {
			bound++
		}
	}
	return min(bound, n)
}

// loss is what one kind's fetch takes away from its mirror.
type loss struct {
	removed  []string // mirrored items the fetch removes, sorted
	disabled []string // mirrored users, enabled there, the fetch shows with sign-in blocked (and does not remove), sorted
	of       int      // the mirror's size
	// mirror is the kind's mirror, or with named set only the items the fetch names.
	mirror *tenantsync.KindResult
	named  bool
}

// ids returns every item the fetch takes away, sorted.
func (l loss) ids() []string { return distinct(append(slices.Clone(l.removed), l.disabled...)) }

// split counts the removed and the disabled among ids.
func (l loss) split(ids []string) (removed, disabled int) {
	return len(intersect(l.removed, ids)), len(intersect(l.disabled, ids))
}

// loss reads the kind's mirror, unless it is given, and returns what kr takes away from it; for
// a staged kind, the store compares the stage with the mirror (no mirror is read into memory).
func (e *Engine) loss(ctx context.Context, in guardInput) (loss, error) {
	kr, cur := in.kr, in.mirror
	if in.stage != nil {
		sl, err := in.stage.Loss(ctx, kr.Kind, kr.Mode)
		if err != nil {
			return loss{}, err
		}
		return loss{removed: distinct(sl.Removed), disabled: without(sl.Disabled, sl.Removed), of: sl.Of}, nil
	}
	named := e.readsNamed(in)
	var err error
	switch {
	case named:
		// What a change set takes away is among the items it removes and the users it shows
		// blocked; the mirror's size is the store's count.
		ids := slices.Clone(kr.Removed)
		for _, u := range kr.Users {
			if !u.AccountEnabled {
				ids = append(ids, u.ObjectID)
			}
		}
		cur, err = mirrorReads(nil).readNamed(ctx, e.acct.Mirror, in.tenantID, kr.Kind, ids)
	case cur == nil:
		cur, err = e.acct.Mirror.ReadKind(ctx, in.tenantID, kr.Kind)
	}
	if err != nil {
		return loss{}, err
	}
	cur.Kind = kr.Kind
	mirror := distinct(cur.IDs())
	l := loss{of: len(mirror), mirror: cur, named: named}
	if named {
		l.of = in.n
	}
	if kr.Mode == tenantsync.Complete {
		l.removed = without(mirror, kr.IDs())
	} else {
		l.removed = intersect(mirror, kr.Removed)
	}
	if kr.Kind == tenantsync.KindUsers {
		enabled := map[string]bool{}
		for _, u := range cur.Users {
			enabled[u.ObjectID] = u.AccountEnabled
		}
		var blocked []string
		for _, u := range kr.Users {
			if !u.AccountEnabled && enabled[u.ObjectID] {
				blocked = append(blocked, u.ObjectID)
			}
		}
		l.disabled = without(blocked, l.removed)
	}
	return l, nil
}

// keepMirrored returns kr with the items of keep as the mirror has them: a complete listing
// carries the mirror's copy instead of its own (or in place of its omission), a change set
// neither upserts nor removes them.
func keepMirrored(kr, mirror *tenantsync.KindResult, keep []string) *tenantsync.KindResult {
	out := *kr
	drop := map[string]bool{}
	for _, id := range keep {
		drop[id] = true
	}
	out.Removed = slices.DeleteFunc(slices.Clone(kr.Removed), func(id string) bool { return drop[id] })
	complete := kr.Mode == tenantsync.Complete
	switch kr.Kind {
	case tenantsync.KindUsers:
		out.Users = keepItems(kr.Users, mirror.Users, drop, complete, func(u tenantsync.User) string { return u.ObjectID })
	case tenantsync.KindMailboxes:
		out.Mailboxes = keepItems(kr.Mailboxes, mirror.Mailboxes, drop, complete, func(m tenantsync.Mailbox) string { return m.ObjectID })
	case tenantsync.KindDevices:
		out.Devices = keepItems(kr.Devices, mirror.Devices, drop, complete, func(d tenantsync.Device) string { return d.ID })
	case tenantsync.KindDomains:
		out.Domains = keepItems(kr.Domains, mirror.Domains, drop, complete, func(d tenantsync.Domain) string { return d.Name })
	case tenantsync.KindSubscriptions:
		out.Subscriptions = keepItems(kr.Subscriptions, mirror.Subscriptions, drop, complete, func(s tenantsync.Subscription) string { return s.SKUID })
	case tenantsync.KindMFA:
		out.MFA = keepItems(kr.MFA, mirror.MFA, drop, complete, func(m tenantsync.MFAState) string { return m.UserID })
	case tenantsync.KindGroups:
		out.Groups = keepItems(kr.Groups, mirror.Groups, drop, complete, func(g tenantsync.Group) string { return g.ID })
	case tenantsync.KindSignIns:
		out.SignIns = keepItems(kr.SignIns, mirror.SignIns, drop, complete, func(s tenantsync.SignInActivity) string { return s.UserID })
	case tenantsync.KindMailboxUsage:
		out.MailboxUsage = keepItems(kr.MailboxUsage, mirror.MailboxUsage, drop, complete, func(m tenantsync.MailboxUsage) string { return m.UserPrincipalName })
	}
	return &out
}

// keepItems drops the fetched items of keep and, for a complete listing, adds the mirror's.
func keepItems[T any](fetched, mirrored []T, keep map[string]bool, complete bool, id func(T) string) []T {
	out := slices.DeleteFunc(slices.Clone(fetched), func(x T) bool { return keep[id(x)] })
	if complete {
		for _, x := range mirrored {
			if keep[id(x)] {
				out = append(out, x)
			}
		}
	}
	return out
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

// holdHint tells a person what was seen, what to check and how a hold ends. applied is how
// many held items of an earlier hold the same sync applied, when this hold is the rest of it.
func (e *Engine) holdHint(h store.DeletionHold, applied int) string {
	verb := "omits"
	if h.Mode == tenantsync.Changes {
		verb = "removes"
	}
	what := fmt.Sprintf("%s %d of the %d %s this tenant's mirror holds", verb, h.Removals, h.Of, h.Kind)
	gone := "really deleted"
	if h.Disabled > 0 {
		// A blocked user's contact is deactivated as a removed one's is.
		what = fmt.Sprintf("would take %d of the %d %s this tenant's mirror holds out of use (%d removed, %d newly disabled)",
			h.Removals+h.Disabled, h.Of, h.Kind, h.Removals, h.Disabled)
		gone = "really deleted or blocked"
	}
	span := "at once"
	if h.Recent > 0 {
		w := spellDuration(e.deletion.Window)
		span = fmt.Sprintf("within %s, counted with the %d %s taken away without a hold in the %s before", w, h.Recent, h.Kind, w)
	}
	effect := fmt.Sprintf("so nothing of %s was changed", h.Kind)
	if applied > 0 {
		effect = fmt.Sprintf("so they were kept as they were; the %d %s of the earlier hold were applied", applied, h.Kind)
	}
	hint := fmt.Sprintf("the %s source's answer %s, more than the deletion guard lets through %s, %s. "+
		"Check in the %s whether they were %s. "+
		"If they were, release the hold on %s for this tenant and the next sync applies it. "+
		"If they were not, the source answered wrongly (a stale CIPP tenant cache, a GDAP role that no longer applies, a filtered listing): "+
		"fix it, and the hold clears by itself once they are listed again.",
		h.Source, what, span, effect, adminCentre(h.Kind), gone, h.Kind)
	if c := e.deletion.ConfirmAfter; c >= 0 {
		hint += fmt.Sprintf(" Without a release, the first sync after %s that still misses them applies it.", h.Since.Add(c).UTC().Format("2006-01-02 15:04 MST"))
	} else {
		hint += " It stays held until a person releases it."
	}
	return hint
}

// spellDuration writes d as a person would: "24 hours", "90 minutes".
func spellDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
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
	// Disabled is how many mirrored users the latest fetch newly shows with sign-in blocked
	// (their contacts would be deactivated too); users only.
	Disabled int
	// Recent is how many items of the kind were taken away without a hold within
	// DeletionGuard.Window before the fetch, and counted with it.
	Recent   int
	Since    time.Time // when the removal was first held
	LastSeen time.Time // the latest fetch that still would remove them
	// ConfirmAt is when a fetch that still misses the items applies the removal without a
	// release; zero when only a person can release it.
	ConfirmAt time.Time
	// Released is set once a person released the hold; the next sync applies it.
	Released   bool
	ReleasedBy string
	ReleasedAt time.Time
	// Held is how many items the hold covers: a release applies these (and at most
	// DeletionGuard.MaxRemovals others); Examples are the first of them (object IDs for users),
	// at most MaxHoldExamples; the stored state (TenantStatus.State.Holds) has them all.
	Held     int
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
		hs := HoldStatus{Kind: k, Source: h.Source, Mode: h.Mode, Removals: h.Removals, Of: h.Of, Disabled: h.Disabled,
			Recent: h.Recent, Held: len(h.IDs), Since: h.Since, LastSeen: h.LastSeen, Released: h.Released, ReleasedBy: h.ReleasedBy, ReleasedAt: h.ReleasedAt,
			Examples: slices.Clone(h.IDs[:min(len(h.IDs), MaxHoldExamples)]), Hint: h.Hint}
		if c := e.deletion.ConfirmAfter; c >= 0 {
			hs.ConfirmAt = h.Since.Add(c)
		}
		out = append(out, hs)
	}
	return out
}

// ReleaseHold releases the deletion guard's hold on one kind of a tenant: a person checked that
// the items are really gone (or, for users, blocked). The release is audited under actor, and
// the tenant becomes due at once; its next sync applies the held items still missing once,
// above the threshold, and audits that as apply_hold under actor with the count applied. The
// release covers the held items only: what the fetch takes away beyond them is applied with
// them when it is at most DeletionGuard.MaxRemovals items, and held afresh otherwise. A tenant
// being synced fails with ErrAlreadyRunning (release again when the sync has finished: it may
// have applied or cleared the hold); a kind without a hold fails with ErrNotFound. When the
// store does not take the release's audit entry, the release stands and the error says so.
// The actor needs tenantsync.PermissionManage (Config.Authorizer); a refusal is audited.
func (e *Engine) ReleaseHold(ctx context.Context, actor, tenantID string, kind tenantsync.Kind) error {
	const op = "ReleaseHold"
	switch {
	case actor == "":
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
			Message: "no actor", Hint: "pass the ID of the person releasing the hold"}
	case !kind.Valid():
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
			Message: fmt.Sprintf("unknown kind %q", kind), Hint: "use the tenantsync.Kind constants"}
	}
	refuse := func(err error) error {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "release_hold", tenantID, string(kind), "refused", err, nil))
	}
	if err := e.authorizeManage(ctx, op, actor); err != nil {
		return refuse(err)
	}
	rec, err := e.acct.Tenants.Get(ctx, tenantID)
	if err != nil {
		if isNotFound(err) {
			err = &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: op, Tenant: tenantID,
				Message: "the account has no such tenant", Hint: "check the tenant ID", Err: err}
		}
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
		return refuse(&tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: op, Tenant: tenantID,
			Message: fmt.Sprintf("no hold on %s", kind),
			Hint:    "look at the tenant's status: the hold may have been applied or cleared by a sync meanwhile"})
	}
	detail := map[string]string{"kind": string(kind), "source": h.Source, "held": fmt.Sprint(len(h.IDs)),
		"removals": fmt.Sprint(h.Removals), "disabled": fmt.Sprint(h.Disabled), "of": fmt.Sprint(h.Of),
		"since": h.Since.UTC().Format(time.RFC3339)}
	// The release stands even when its audit entry fails; the caller hears of the failure.
	aerr := e.auditAdmin(ctx, actor, "release_hold", tenantID, string(kind), "succeeded", nil, detail)
	e.counters.holdsReleased.Add(1)
	e.emit(Event{Type: EventDeletionReleased, TenantID: tenantID, ClientID: rec.ClientID, Kind: kind, Actor: actor,
		Count: len(h.IDs), Message: fmt.Sprintf("released: the next sync applies the %d held %s (of %d) still missing", len(h.IDs), kind, h.Of)})
	e.sched.poke()
	return aerr
}

// holdEvents returns what announces the run's guard verdicts once committed (events, and the
// audit entries of applied holds), and counts them.
func (e *Engine) holdEvents(rec store.TenantRecord, guarded []guardOutcome, rep *Report) func(context.Context) {
	var events []Event
	var audits []tenantsync.AuditEntry
	for _, g := range guarded {
		ev := Event{TenantID: rec.ID, ClientID: rec.ClientID, Kind: g.kind}
		if g.prev != nil {
			taken := takenText(g.kind, g.removed, g.disabled)
			switch g.ended {
			case holdReleased, holdConfirmed:
				e.counters.holdsApplied.Add(1)
				ev.Type, ev.Count = EventDeletionApplied, g.removed+g.disabled
				actor := g.prev.ReleasedBy
				ev.Message = fmt.Sprintf("applied after %s released it: %s", actor, taken)
				if g.ended == holdConfirmed {
					actor = confirmActor
					ev.Message = fmt.Sprintf("applied: still missing after %s, %s", e.deletion.ConfirmAfter, taken)
				}
				if g.extra > 0 {
					ev.Message += fmt.Sprintf(" (%d of them beyond the held ones, within the guard's allowance)", g.extra)
				}
				if g.placed {
					ev.Message += fmt.Sprintf("; %d more were held afresh", len(g.hold.IDs))
				}
				events = append(events, ev)
				audits = append(audits, tenantsync.AuditEntry{Actor: actor, Action: "apply_hold", TenantID: rec.ID,
					Target: string(g.kind), Phase: "result", Outcome: "succeeded", Detail: map[string]string{
						"kind": string(g.kind), "source": g.prev.Source, "applied": fmt.Sprint(ev.Count),
						"removed": fmt.Sprint(g.removed), "disabled": fmt.Sprint(g.disabled), "beyond_held": fmt.Sprint(g.extra),
						"held_afresh": fmt.Sprint(heldAfresh(g)), "since": g.prev.Since.UTC().Format(time.RFC3339)}})
			case holdDisarmed:
				e.counters.holdsApplied.Add(1)
				removed := rep.Kinds[g.kind].Removed
				ev.Type, ev.Count = EventDeletionApplied, removed
				ev.Message = fmt.Sprintf("applied: the deletion guard is off, %d %s removed", removed, g.kind)
				events = append(events, ev)
			case holdCleared:
				e.counters.holdsCleared.Add(1)
				ev.Type, ev.Count = EventDeletionCleared, len(g.prev.IDs)
				ev.Message = fmt.Sprintf("cleared: the held %s are listed again (%s as usual)", g.kind, taken)
				if g.apply == nil || g.removed+g.disabled == 0 {
					ev.Message = fmt.Sprintf("cleared: the held %s are listed again", g.kind)
				}
				events = append(events, ev)
			}
		}
		if g.placed {
			h := g.hold
			e.counters.holdsPlaced.Add(1)
			held := Event{TenantID: rec.ID, ClientID: rec.ClientID, Kind: g.kind, Type: EventDeletionHeld,
				Count: h.Removals + h.Disabled, Hint: h.Hint}
			held.Message = fmt.Sprintf("held: the %s source's answer would remove %d of %d %s", h.Source, h.Removals, h.Of, g.kind)
			if h.Disabled > 0 {
				held.Message = fmt.Sprintf("held: the %s source's answer would take %d of %d %s out of use (%d removed, %d newly disabled)",
					h.Source, h.Removals+h.Disabled, h.Of, g.kind, h.Removals, h.Disabled)
			}
			events = append(events, held)
		}
	}
	return func(ctx context.Context) {
		for _, a := range audits {
			a.At = e.clock.Now()
			actx, cancel := detached(ctx)
			if _, err := e.acct.Audit.Append(actx, a); err != nil {
				// No caller waits for a sync's audit entries: the event and the counter say it.
				_ = e.auditFailed(a.Actor, a.Action, a.TenantID, "applied by a sync", err)
			}
			cancel()
		}
		for _, ev := range events {
			e.emit(ev)
		}
	}
}

// confirmActor is the audit log's actor of a hold a fetch confirmed, with no person involved.
const confirmActor = "deletion-guard"

// heldAfresh is how many items a released or confirmed hold's fetch held anew.
func heldAfresh(g guardOutcome) int {
	if g.placed {
		return len(g.hold.IDs)
	}
	return 0
}

// takenText says what a fetch took away of kind k.
func takenText(k tenantsync.Kind, removed, disabled int) string {
	if disabled == 0 {
		return fmt.Sprintf("%d %s removed", removed, k)
	}
	return fmt.Sprintf("%d %s removed, %d newly disabled", removed, k, disabled)
}
