package sync

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// TenantStatus is what is known of one tenant's syncing.
type TenantStatus struct {
	Tenant store.TenantRecord
	// State is the stored sync state: last start, success, finish, duration, counts per kind,
	// the last error and the errors of unavailable kinds, each with its kind and hint.
	State store.SyncState
	// Running is true while a sync of the tenant runs (here or in another engine).
	Running bool
	// Progress holds the items fetched so far per kind while this engine syncs the tenant.
	Progress map[tenantsync.Kind]int
	// Since is when the running sync started.
	Since time.Time
	// Active is whether the tenant's client polls at the active interval.
	Active bool
	// Holds are the kinds the deletion guard holds, in kind order: what would be removed, of
	// how many, since when, and what a person should check and how to release it
	// (ReleaseHold).
	Holds []HoldStatus
	// ContactFailures are the users whose contact the PSA could not write, ordered by user
	// principal name (then object ID): the call, the error's kind, the PSA's message, what to
	// do, how many attempts, and when the next one comes or that a person must decide
	// (ResolveContactFailure). String gives each as one line.
	ContactFailures []store.ContactFailure
	// ContactsPending is how many users the last sync left for the next ones without a PSA
	// call (the PSA was paused, or the sync spent its call budget); ContactsError says why
	// when the PSA caused it.
	ContactsPending int
	ContactsError   *store.SyncError
	// Creation is how far creating the contacts that the cap on creates per sync
	// (Limits.MaxCreatesPerSync) or the budget of PSA calls left for later syncs has come; nil
	// when no sync left a create over. Engine.StartSync with SyncOptions.CreateAll creates the
	// rest at once.
	Creation *CreationStatus
	// PSAPausedUntil is when the engine's PSA calls resume, when they are paused (for every
	// tenant: see Engine.PSAStatus); zero otherwise.
	PSAPausedUntil time.Time
}

// Healthy reports whether the last sync succeeded with every kind available and none held,
// and every user's contact written (or left as it is by a person).
func (s TenantStatus) Healthy() bool {
	return s.State.LastError == nil && len(s.State.KindErrors) == 0 && len(s.State.Holds) == 0 && !s.State.LastSuccess.IsZero() &&
		s.State.ContactsError == nil && s.FailingContacts() == 0
}

// FailingContacts is how many users' contacts could not be written, those a person chose to
// leave as they are aside: the daemon's "N contacts could not be written".
func (s TenantStatus) FailingContacts() int {
	n := 0
	for _, f := range s.ContactFailures {
		if !f.Ignored {
			n++
		}
	}
	return n
}

// CreationStatus is the creation of contacts spread over several syncs by the cap on creates:
// "created 500 of 8,934; the rest over the next 17 syncs".
type CreationStatus struct {
	Created   int // contacts created since the first sync that left creates over
	Remaining int // users whose contact is still to be created
	Total     int // Created + Remaining
	// PerSync is how many contacts one sync creates at most: the smaller of
	// Limits.MaxCreatesPerSync and Limits.PSACallsPerSync.
	PerSync int
	// SyncsLeft is how many more syncs create the rest at PerSync each (0 when done).
	SyncsLeft int
	// NextSync is when the next sync is due (zero: now).
	NextSync time.Time
}

// Done reports whether every contact the backlog was owed has been created.
func (c CreationStatus) Done() bool { return c.Remaining == 0 }

// String describes the creation as a person reads it.
func (c CreationStatus) String() string {
	if c.Done() {
		return fmt.Sprintf("created %s of %s", thousands(c.Created), thousands(c.Total))
	}
	rest := "the rest at the next sync"
	if c.SyncsLeft > 1 {
		rest = fmt.Sprintf("the rest over the next %s syncs", thousands(c.SyncsLeft))
	}
	return fmt.Sprintf("created %s of %s; %s", thousands(c.Created), thousands(c.Total), rest)
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// creationStatus describes a stored creation backlog with the engine's limits.
func (e *Engine) creationStatus(st store.SyncState) *CreationStatus {
	c := st.Creation
	if c.Created == 0 && c.Remaining == 0 {
		return nil
	}
	per := max(1, min(e.limits.MaxCreatesPerSync, e.limits.PSACallsPerSync))
	return &CreationStatus{Created: c.Created, Remaining: c.Remaining, Total: c.Created + c.Remaining, PerSync: per,
		SyncsLeft: (c.Remaining + per - 1) / per, NextSync: st.NextDue}
}

// ClientStatus sums up the tenants linked to one client.
type ClientStatus struct {
	ClientID string
	Tenants  []TenantStatus
	// LastSuccess is the oldest last success among the client's tenants: everything of the
	// client is at least this fresh. Zero when a tenant never synced.
	LastSuccess time.Time
	Running     int // tenants syncing now
	Failing     int // tenants whose last sync failed or left kinds unavailable
	Held        int // tenants with a kind held by the deletion guard
	// ContactFailures and ContactsPending add up the tenants' FailingContacts and
	// ContactsPending.
	ContactFailures int
	ContactsPending int
	Active          bool
}

type liveProgress struct {
	since time.Time
	kinds map[tenantsync.Kind]int
}

func (e *Engine) startProgress(tenantID string, since time.Time) {
	e.progMu.Lock()
	defer e.progMu.Unlock()
	e.progress[tenantID] = &liveProgress{since: since, kinds: map[tenantsync.Kind]int{}}
}

func (e *Engine) endProgress(tenantID string) {
	e.progMu.Lock()
	defer e.progMu.Unlock()
	delete(e.progress, tenantID)
}

// recordProgress is the Source's Progress callback: it must not block, so it only updates
// memory and hands an event to the non-blocking dispatcher.
func (e *Engine) recordProgress(tenantID, clientID string, k tenantsync.Kind, n int) {
	e.progMu.Lock()
	if p := e.progress[tenantID]; p != nil {
		p.kinds[k] = n
	}
	e.progMu.Unlock()
	e.emit(Event{Type: EventSyncProgress, TenantID: tenantID, ClientID: clientID, Kind: k, Count: n})
}

// Status returns one tenant's sync status.
func (e *Engine) Status(ctx context.Context, tenantID string) (TenantStatus, error) {
	rec, err := e.acct.Tenants.Get(ctx, tenantID)
	if err != nil {
		return TenantStatus{}, err
	}
	return e.status(ctx, rec)
}

func (e *Engine) status(ctx context.Context, rec store.TenantRecord) (TenantStatus, error) {
	s := TenantStatus{Tenant: rec}
	st, err := e.acct.SyncStates.Get(ctx, rec.ID)
	switch {
	case err == nil:
		s.State = st
		s.Running = st.Running
		s.Progress = st.Progress
		s.Holds = e.holdStatuses(st)
		s.ContactFailures = contactFailures(st)
		s.ContactsPending = st.ContactsPending
		s.ContactsError = st.ContactsError
		s.Creation = e.creationStatus(st)
	case !isNotFound(err):
		return s, err
	}
	e.progMu.Lock()
	p := e.progress[rec.ID]
	if p != nil {
		s.Running = true
		s.Since = p.since
		s.Progress = maps.Clone(p.kinds)
	}
	e.progMu.Unlock()
	if p == nil && s.Running {
		// The stored flag outlives a holder that died mid-sync; only a live lease means running.
		l, err := e.acct.Leases.Get(ctx, rec.ID)
		if err != nil || !l.ExpiresAt.After(e.clock.Now()) {
			s.Running = false
			s.Progress = nil
		}
	}
	if s.Running && s.Since.IsZero() {
		s.Since = s.State.LastStart
	}
	if rec.Linked() {
		s.Active = e.clientActive(ctx, rec.ClientID, e.clock.Now())
	}
	if p := e.PSAStatus(); p.Paused(e.clock.Now()) {
		s.PSAPausedUntil = p.PausedUntil
	}
	return s, nil
}

// contactFailures returns a state's contact failures in the order a person reads them.
func contactFailures(st store.SyncState) []store.ContactFailure {
	if len(st.ContactFailures) == 0 {
		return nil
	}
	var out []store.ContactFailure
	for _, f := range st.ContactFailures {
		// A failure with no attempt only marks a user the PSA's quota stopped, to be taken
		// last next time: not a write the PSA refused.
		if f.Attempts > 0 {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b store.ContactFailure) int {
		return cmp.Or(strings.Compare(a.UPN, b.UPN), strings.Compare(a.ObjectID, b.ObjectID))
	})
	return out
}

// Statuses returns the status of every tenant of the account.
func (e *Engine) Statuses(ctx context.Context) ([]TenantStatus, error) {
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]TenantStatus, 0, len(recs))
	for _, r := range recs {
		s, err := e.status(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ClientStatus returns the status of the tenants linked to a client.
func (e *Engine) ClientStatus(ctx context.Context, clientID string) (ClientStatus, error) {
	all, err := e.Statuses(ctx)
	if err != nil {
		return ClientStatus{}, err
	}
	cs := ClientStatus{ClientID: clientID}
	first := true
	for _, s := range all {
		if s.Tenant.ClientID != clientID {
			continue
		}
		cs.Tenants = append(cs.Tenants, s)
		cs.Active = cs.Active || s.Active
		if s.Running {
			cs.Running++
		}
		if s.State.LastError != nil || len(s.State.KindErrors) > 0 {
			cs.Failing++
		}
		if len(s.Holds) > 0 {
			cs.Held++
		}
		cs.ContactFailures += s.FailingContacts()
		cs.ContactsPending += s.ContactsPending
		ls := s.State.LastSuccess
		if first || ls.IsZero() || (!cs.LastSuccess.IsZero() && ls.Before(cs.LastSuccess)) {
			cs.LastSuccess = ls
		}
		first = false
	}
	return cs, nil
}
