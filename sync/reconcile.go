package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
)

// ContactReport counts what reconciling a tenant's users with the PSA's contacts did.
type ContactReport struct {
	Linked      int // new links to existing contacts
	Created     int // contacts created (and linked)
	Updated     int // contacts whose empty (or, with UpdateContacts, differing) fields were filled
	Deactivated int // linked contacts deactivated because their user was disabled or removed
	Reactivated int // contacts reactivated because their user returned
	Reviews     int // users queued for a person (ambiguous or weak matches)
	Excluded    int // users that are not people to keep as contacts
	// Deferred counts users that would have been created but were not: the create cap was
	// reached, or mailbox types are not known yet (so a shared mailbox cannot be told apart).
	Deferred int
	// Failed counts users whose contact write failed in this sync: the PSA refused the record,
	// or failed while writing it. Failures lists them; each is tried again at later syncs with a
	// backoff, then left for a person (TenantStatus.ContactFailures has every user still failing).
	Failed int
	// Waiting counts users with an earlier failure that this sync did not try again: the next
	// attempt is not due yet, the failure waits for a person, or a person chose to leave it.
	Waiting int
	// Pending counts users left for a later sync without a try: the PSA was paused (it
	// throttled or failed) or the sync spent its budget of PSA calls (Limits.PSACallsPerSync).
	// The next syncs reconcile them, also when nothing changed in the tenant.
	Pending int
	// Recovered counts contacts an interrupted create had made that were found and linked
	// instead of created again (also counted in Linked).
	Recovered int
	// Failures are this sync's failures, by object ID.
	Failures []store.ContactFailure
	// Stopped says why contact writes stopped before the end: the PSA throttled, failed,
	// refused the credentials or was paused (an error of that kind, with the PSA's message and
	// the pause as RetryAfter), or the sync spent its call budget (ErrLimitExceeded). Nil when
	// the reconcile ran to its end.
	Stopped error
}

type reconcileOutcome struct {
	links     []store.LinkChange
	reviews   []store.Review
	newReview map[string]bool
	events    []Event
	report    ContactReport
	// failures and intents are the tenant's contact failures and create intents after the run.
	failures map[string]store.ContactFailure
	intents  map[string]store.CreateIntent
	// psaErr is why the PSA stopped the run (nil when it ran to its end or stopped at its
	// budget); stored as SyncState.ContactsError.
	psaErr error
	// capped counts the creates deferred by Limits.MaxCreatesPerSync: with the pending users,
	// the work the next syncs are owed (creates waiting for mailbox types wait for a listing,
	// not for the PSA, and do not hasten the next sync).
	capped int
	// createsPending counts the pending users whose contact this run meant to create.
	createsPending int
}

// userView returns the tenant's users as they will be after the commit.
func (e *Engine) userView(ctx context.Context, tenantID string, kr *tenantsync.KindResult, reads mirrorReads) ([]tenantsync.User, error) {
	if kr.Mode == tenantsync.Complete {
		return kr.Users, nil
	}
	cur, err := reads.read(ctx, e.acct.Mirror, tenantID, tenantsync.KindUsers)
	if err != nil {
		return nil, err
	}
	byID := map[string]tenantsync.User{}
	for _, u := range cur.Users {
		byID[u.ObjectID] = u
	}
	for _, id := range kr.Removed {
		delete(byID, id)
	}
	for _, u := range kr.Users {
		byID[u.ObjectID] = u
	}
	out := make([]tenantsync.User, 0, len(byID))
	for _, u := range byID {
		out = append(out, u)
	}
	return out, nil
}

// mailboxTypes returns the mailbox type of each user of need (of every user, for need nil)
// from the mirror as it will be after the commit, and whether the types are known at all: the
// kind must have been listed once, or a shared mailbox would look like a person.
func (e *Engine) mailboxTypes(ctx context.Context, rec store.TenantRecord, state *store.SyncState, results map[tenantsync.Kind]*tenantsync.KindResult, reads mirrorReads, need []string) (map[string]tenantsync.MailboxType, bool, error) {
	types := map[string]tenantsync.MailboxType{}
	kr := results[tenantsync.KindMailboxes]
	_, listedBefore := state.Counts[tenantsync.KindMailboxes]
	if kr == nil || kr.Mode == tenantsync.Changes {
		var cur *tenantsync.KindResult
		var err error
		if need == nil {
			cur, err = reads.read(ctx, e.acct.Mirror, rec.ID, tenantsync.KindMailboxes)
		} else {
			cur, err = reads.readNamed(ctx, e.acct.Mirror, rec.ID, tenantsync.KindMailboxes, need)
		}
		if err != nil {
			return nil, false, err
		}
		for _, m := range cur.Mailboxes {
			types[m.ObjectID] = m.Type
		}
		// A run killed between its commit and its final state write leaves no count for a
		// kind its change set changed; a mirror holding mailboxes was listed all the same.
		listedBefore = listedBefore || len(cur.Mailboxes) > 0
		if !listedBefore && need != nil {
			counts, err := e.acct.Mirror.Counts(ctx, rec.ID)
			if err != nil {
				return nil, false, err
			}
			listedBefore = counts[tenantsync.KindMailboxes] > 0
		}
	}
	if kr != nil {
		for _, id := range kr.Removed {
			delete(types, id)
		}
		for _, m := range kr.Mailboxes {
			types[m.ObjectID] = m.Type
		}
	}
	return types, kr != nil || listedBefore, nil
}

// retypedUsers returns the users whose mailbox type the mailboxes result changes from the
// mirror's: added, retyped or removed mailboxes, sorted. A result that changes no type
// (an empty change set, a complete listing equal to the mirror) reads nothing more.
func (e *Engine) retypedUsers(ctx context.Context, tenantID string, kr *tenantsync.KindResult, reads mirrorReads) ([]string, error) {
	if kr == nil || (kr.Mode == tenantsync.Changes && len(kr.Mailboxes) == 0 && len(kr.Removed) == 0) {
		return nil, nil
	}
	// A change set retypes none but the mailboxes it names.
	var cur *tenantsync.KindResult
	var err error
	if kr.Mode == tenantsync.Changes {
		cur, err = reads.readNamed(ctx, e.acct.Mirror, tenantID, tenantsync.KindMailboxes, append(kr.IDs(), kr.Removed...))
	} else {
		cur, err = reads.read(ctx, e.acct.Mirror, tenantID, tenantsync.KindMailboxes)
	}
	if err != nil {
		return nil, err
	}
	before := map[string]tenantsync.MailboxType{}
	for _, m := range cur.Mailboxes {
		before[m.ObjectID] = m.Type
	}
	after := map[string]tenantsync.MailboxType{}
	if kr.Mode == tenantsync.Changes {
		after = maps.Clone(before)
		for _, id := range kr.Removed {
			delete(after, id)
		}
	}
	for _, m := range kr.Mailboxes {
		after[m.ObjectID] = m.Type
	}
	changed := map[string]bool{}
	for id, t := range after {
		if was, ok := before[id]; !ok || was != t {
			changed[id] = true
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			changed[id] = true
		}
	}
	return slices.Sorted(maps.Keys(changed)), nil
}

// reconcile matches the tenant's users with the client's contacts: it links, creates, queues
// for review, deactivates and reactivates, and returns the link changes and reviews to commit
// with the mirror. Contact changes happen in the PSA at once (they cannot share the store's
// transaction); a sync that fails to commit repeats them harmlessly: a created contact is found
// again by the identity it carries (or, for a PSA that keeps no identity, by its email or the
// create intent recorded before the call), a contact found inactive is taken over
// (deactivate), and the contact's active state in the PSA, not the link's flag alone, decides
// whether a disabled or removed user's contact is deactivated.
//
// A PSA call that fails fails its user only: the failure is recorded, the user is tried again
// at later syncs and the rest goes on. A PSA that throttles or fails as a whole pauses every
// PSA call of the engine; the users not reached are pending and the run ends early, committing
// what it did. Work is ordered by what matters most when a run ends early: deactivations of
// removed users, then (de)activations of users with a contact, then creates, then field
// updates (a contact that exists and is merely stale waits behind a person who has none);
// within each, users that failed before come last, so a record the PSA always refuses delays
// no one.
//
// A full reconcile walks every user of the tenant; otherwise only the users a change set
// upserted or removed, and the mirrored users among retyped (whose mailbox type changed), are
// looked at, so a quiet tenant's delta sync costs little. A full one runs on every complete
// listing, at least every Cadence.FullReconcile, after a person resolved a review, and while
// users are pending or a failed user's retry is due.
//
// Users a source streamed (ur.Streamed, a complete listing) are read from stage a page at a
// time, and only those that may need a PSA call are kept (reconcileRun.stagedUsers).
func (e *Engine) reconcile(ctx context.Context, rec store.TenantRecord, state *store.SyncState, results map[tenantsync.Kind]*tenantsync.KindResult, full bool, retyped []string, opts SyncOptions, put stateWriter, staged stagedInput, reads mirrorReads) (*reconcileOutcome, error) {
	ur := results[tenantsync.KindUsers]
	users := ur.Users
	stage := staged.stage
	streamed := ur.Streamed && stage != nil
	if streamed {
		// Read from the stage once the contacts are known.
		users = nil
	} else if full {
		var err error
		if users, err = e.userView(ctx, rec.ID, ur, reads); err != nil {
			return nil, err
		}
	} else {
		var err error
		if users, err = e.withRetyped(ctx, rec.ID, ur, slices.Clone(users), retyped, reads); err != nil {
			return nil, err
		}
	}
	// The users may be the fetch's own, which the commit stores: they are not changed here.
	users = slices.Clone(users)
	for i := range users {
		if users[i].TenantID == "" {
			// The identity a created contact carries, and matching by it, need the tenant.
			users[i].TenantID = rec.ID
		}
	}
	slices.SortFunc(users, func(a, b tenantsync.User) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	var need []string // nil: every user's type
	if !full {
		need = make([]string, len(users))
		for i, u := range users {
			need[i] = u.ObjectID
		}
	}
	types, typesKnown, err := e.mailboxTypes(ctx, rec, state, results, reads, need)
	if err != nil {
		return nil, err
	}
	// With the mailboxes kind off the types never become known: creation is off, not waiting.
	creates := slices.Contains(e.kindsFor(rec), tenantsync.KindMailboxes)

	r := &reconcileRun{e: e, rec: rec, now: e.clock.Now(), put: put, state: state,
		maxCreates: e.limits.MaxCreatesPerSync, maxCalls: e.limits.PSACallsPerSync,
		out:      &reconcileOutcome{newReview: map[string]bool{}},
		failures: maps.Clone(state.ContactFailures), intents: maps.Clone(state.CreateIntents), prior: state.CreateIntents,
		outcome: map[string]userOutcome{}, planned: map[string]bool{}, attempted: map[string]bool{}, taken: map[string]bool{}}
	if opts.CreateAll {
		r.maxCreates, r.maxCalls = math.MaxInt, math.MaxInt
	}
	if r.failures == nil {
		r.failures = map[string]store.ContactFailure{}
	}
	if r.intents == nil {
		r.intents = map[string]store.CreateIntent{}
	}
	contacts, err := r.listContacts(ctx)
	if err != nil {
		return nil, err
	}
	if r.stop != nil {
		// Without the contacts nothing can be matched: every user of the run that may need a
		// PSA call waits, and what is known of each (failures, intents) stays as it was. A
		// linked user, or one matching never keeps (a shared mailbox, a guest, a service
		// account), is not pending: counting it would overstate the PSA's debt while it pauses.
		waiting, err := e.mayNeedPSA(ctx, rec, users, types, typesKnown)
		if err != nil {
			return nil, err
		}
		if streamed {
			err = eachStagedUser(ctx, stage, func(page []tenantsync.User) error {
				ids, err := e.mayNeedPSA(ctx, rec, page, types, typesKnown)
				waiting = append(waiting, ids...)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		for _, id := range waiting {
			r.mark(id, outPending)
		}
		if !full {
			for _, id := range ur.Removed {
				r.mark(id, outPending)
			}
		}
		return r.finish(false, nil), nil
	}
	r.contacts = contacts
	r.byContact = map[string]tenantsync.Contact{}
	for _, c := range contacts {
		r.byContact[c.ID] = c
	}
	ix, own, err := e.matchIndex(ctx, rec, contacts)
	if err != nil {
		return nil, err
	}
	r.ix = ix
	open, ignored, err := e.reviewedUsers(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	r.open = open
	if streamed {
		if users, err = r.stagedUsers(ctx, staged, types, own); err != nil {
			return nil, err
		}
		for i := range users {
			if users[i].TenantID == "" {
				users[i].TenantID = rec.ID
			}
		}
		slices.SortFunc(users, func(a, b tenantsync.User) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	}

	// The batch is matched as a whole: two users claiming one contact both go to a person,
	// rather than the first in object-ID order winning it.
	matches := ix.MatchAll(users, types)
	present := map[string]bool{}
	for _, u := range users {
		present[u.ObjectID] = true
	}

	// Users gone from a complete listing or removed by a delta: their linked contacts are
	// deactivated, never deleted, and the link is kept so a returning user is recognised. So
	// are the contacts the engine created for users who left before the link was committed
	// (the create's answer was lost, or its sync stopped first): found by the identity they
	// carry, they are linked, deactivated.
	orphans := r.orphans(present, own)
	gone := slices.Sorted(maps.Keys(own))
	if full {
		for _, o := range orphans {
			gone = append(gone, o.objectID)
		}
		slices.Sort(gone)
	} else {
		gone = slices.Sorted(slices.Values(ur.Removed))
	}
	for _, id := range r.failedLast(gone) {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if present[id] {
			continue
		}
		l, ok := own[id]
		if !ok {
			o, orphan := orphans[strings.ToLower(id)]
			if !orphan {
				continue
			}
			r.taken[o.contactID] = true
			l = store.ContactLink{TenantID: r.rec.ID, ObjectID: id, ClientID: r.rec.ClientID, ContactID: o.contactID, LinkedAt: r.now}
			r.out.report.Linked++
			r.event(EventContactLinked, id, o.contactID, string(match.ViaContactField))
		}
		r.look(id)
		c, ok := r.byContact[l.ContactID]
		// A link marked deactivated over an active contact is a reactivation whose sync
		// stopped before its commit: the contact's state in the PSA decides, not the flag.
		if !ok || (l.Deactivated && !c.Active) {
			continue
		}
		who := userRef{ObjectID: id, DisplayName: strings.TrimSpace(c.FirstName + " " + c.LastName)}
		done, err := r.deactivate(ctx, who, c, &l, "the user was removed from the tenant")
		if err != nil {
			return nil, err
		}
		if done {
			r.out.links = append(r.out.links, store.LinkChange{Link: l})
		}
	}

	order := make([]int, len(users))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return r.failedFirst(users[a].ObjectID, users[b].ObjectID) })
	var toCreate []tenantsync.User
	for _, i := range order {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		u := users[i]
		res := matches[i]
		r.look(u.ObjectID)
		if in, ok := r.prior[u.ObjectID]; ok && res.Outcome != match.Linked {
			// A create for this user was interrupted and the PSA made the contact: that contact
			// is the user's, whatever another contact's address now says (a PSA that keeps no
			// identity cannot tell us otherwise). Linking by address instead would leave the
			// contact made for the user as a duplicate.
			if cands := r.madeBy(in); len(cands) == 1 && !r.taken[cands[0]] && !(res.AutoLink && res.ContactID == cands[0]) {
				r.taken[cands[0]] = true
				r.out.report.Recovered++
				made := match.Result{User: match.IdentityOf(u), Outcome: match.Matched, ContactID: cands[0], Via: viaInterruptedCreate,
					Confidence: 1, AutoLink: true}
				if err := r.keep(ctx, u, made, store.ContactLink{}, false); err != nil {
					return nil, err
				}
				continue
			}
		}
		switch {
		case res.Outcome == match.Linked || (res.Outcome == match.Matched && res.AutoLink):
			link, hasLink := own[u.ObjectID]
			if err := r.keep(ctx, u, res, link, hasLink); err != nil {
				return nil, err
			}
		case res.Outcome == match.Matched || res.Outcome == match.Ambiguous:
			if !ignored[u.ObjectID] {
				r.review(u, res)
			}
		case res.Outcome == match.None && res.Create && creates && !ignored[u.ObjectID]:
			toCreate = append(toCreate, u)
		case res.Outcome == match.Excluded:
			r.out.report.Excluded++
		}
	}
	if err := r.createAll(ctx, toCreate, typesKnown); err != nil {
		return nil, err
	}
	if err := r.updateAll(ctx); err != nil {
		return nil, err
	}
	return r.finish(full, own), nil
}

// orphan is a contact carrying the identity of a user the tenant no longer has, with no link.
type orphan struct{ objectID, contactID string }

// orphans returns, by lower-cased object ID, the client's contacts whose own identity fields
// name a user of this tenant that is neither among present nor linked (own), and that no other
// user holds, and the contacts an unfinished create of such a user made (by its intent):
// contacts the engine created for a user who left before the link was committed.
func (r *reconcileRun) orphans(present map[string]bool, own map[string]store.ContactLink) map[string]orphan {
	skip := map[string]bool{}
	for id := range present {
		skip[strings.ToLower(id)] = true
	}
	for id := range own {
		skip[strings.ToLower(id)] = true
	}
	out := map[string]orphan{}
	for _, c := range r.contacts {
		if c.ObjectID == "" || !strings.EqualFold(c.TenantID, r.rec.ID) || skip[strings.ToLower(c.ObjectID)] {
			continue
		}
		if who, ok := r.ix.LinkedUser(c.ID); !ok || !strings.EqualFold(who.TenantID, c.TenantID) || !strings.EqualFold(who.ObjectID, c.ObjectID) {
			continue
		}
		if o, seen := out[strings.ToLower(c.ObjectID)]; seen && o.contactID < c.ID {
			continue
		}
		out[strings.ToLower(c.ObjectID)] = orphan{objectID: c.ObjectID, contactID: c.ID}
	}
	// A PSA that keeps no identity: the create intent recorded before the call finds the
	// contact, as it does for a user still present.
	for _, id := range slices.Sorted(maps.Keys(r.prior)) {
		k := strings.ToLower(id)
		if _, found := out[k]; found || skip[k] {
			continue
		}
		if cands := r.madeBy(r.prior[id]); len(cands) == 1 {
			out[k] = orphan{objectID: id, contactID: cands[0]}
		}
	}
	return out
}

// withRetyped adds to a delta's users the mirrored users among retyped that the delta neither
// upserts nor removes. A retyped ID with no mirrored user (a mailbox without a user) adds
// nothing.
func (e *Engine) withRetyped(ctx context.Context, tenantID string, ur *tenantsync.KindResult, users []tenantsync.User, retyped []string, reads mirrorReads) ([]tenantsync.User, error) {
	named := map[string]bool{}
	for _, u := range users {
		named[u.ObjectID] = true
	}
	for _, id := range ur.Removed {
		named[id] = true
	}
	want := map[string]bool{}
	for _, id := range retyped {
		if !named[id] {
			want[id] = true
		}
	}
	if len(want) == 0 {
		return users, nil
	}
	cur, err := reads.readNamed(ctx, e.acct.Mirror, tenantID, tenantsync.KindUsers, slices.Collect(maps.Keys(want)))
	if err != nil {
		return nil, err
	}
	for _, u := range cur.Users {
		if want[u.ObjectID] {
			users = append(users, u)
		}
	}
	return users, nil
}

// matchIndex indexes the client's contacts with the links of every tenant of the client, so a
// contact linked to a user of a sibling tenant is not offered to a user of this one, and with
// the merges people made for this tenant. It also returns this tenant's links by object ID.
// Links and merges made for another client (before the tenant was unlinked, its data kept,
// and linked again elsewhere) point at contacts this client does not have: they neither bind
// a user nor deactivate anything.
func (e *Engine) matchIndex(ctx context.Context, rec store.TenantRecord, contacts []tenantsync.Contact) (*match.Index, map[string]store.ContactLink, error) {
	tenants, err := e.clientTenants(ctx, rec.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if !slices.ContainsFunc(tenants, func(t store.TenantRecord) bool { return t.ID == rec.ID }) {
		// Linked elsewhere since rec was read: its own links still count while it exists.
		switch cur, err := e.acct.Tenants.Get(ctx, rec.ID); {
		case err == nil:
			tenants = append(tenants, cur)
		case !isNotFound(err):
			return nil, nil, err
		}
	}
	var links []match.Link
	own := map[string]store.ContactLink{}
	for _, t := range tenants {
		ls, err := e.acct.Links.List(ctx, t.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range ls {
			if l.ClientID != rec.ClientID {
				continue
			}
			links = append(links, match.Link{User: match.Identity{TenantID: l.TenantID, ObjectID: l.ObjectID}, ContactID: l.ContactID})
			if t.ID == rec.ID {
				own[l.ObjectID] = l
			}
		}
	}
	stored, err := e.acct.Merges.List(ctx, rec.ID)
	if err != nil {
		return nil, nil, err
	}
	held := make(map[string]match.Identity, len(links))
	for _, l := range links {
		held[l.ContactID] = l.User
	}
	var merges []match.Merge
	for _, m := range stored {
		if m.ClientID != rec.ClientID {
			continue
		}
		user := match.Identity{TenantID: m.TenantID, ObjectID: m.ObjectID}
		// A merge into a contact another user's link holds would take it from that user, and
		// the commit would fail on the store's one-user-per-contact rule at every sync. Such a
		// merge (made before the entry points refused it) is left out: the user is matched as
		// if it had none, and an ambiguity goes to a person.
		if other, ok := held[m.ContactID]; ok && !sameUser(other, user) {
			continue
		}
		merges = append(merges, match.Merge{User: user, ContactID: m.ContactID, By: m.DecidedBy})
	}
	cfg := e.match
	settings, err := e.SettingsFor(ctx, rec.ClientID)
	if err != nil {
		return nil, nil, err
	}
	cfg.AutoCreate = settings.AutoCreateContacts
	ix, err := match.NewIndex(contacts, links, merges, cfg)
	return ix, own, err
}

// reviewedUsers returns the users of a tenant with an open review, and those a person chose
// to ignore.
func (e *Engine) reviewedUsers(ctx context.Context, tenantID string) (open, ignored map[string]bool, err error) {
	reviews, err := e.acct.Reviews.List(ctx, store.ReviewFilter{TenantID: tenantID, IncludeResolved: true})
	if err != nil {
		return nil, nil, err
	}
	open, ignored = map[string]bool{}, map[string]bool{}
	for _, r := range reviews {
		switch {
		case !r.Resolved:
			open[r.ObjectID] = true
		case r.Outcome().Action == store.ResolveIgnore:
			ignored[r.ObjectID] = true
		}
	}
	return open, ignored, nil
}

// stateWriter stores the running sync's state changed by mutate (create intents, before the
// PSA is called), so a process that dies before its commit leaves them behind.
type stateWriter func(ctx context.Context, mutate func(*store.SyncState)) error

// userOutcome is what a reconcile did about one user, weakest first: a stronger one wins.
type userOutcome int

const (
	outResolved userOutcome = iota // done, or nothing to do: an earlier failure is over
	outWaiting                     // an earlier failure's retry is not due, or waits for a person
	outDeferred                    // a create left for later (cap, unknown mailbox types)
	outPending                     // left for later: the PSA paused or the budget was spent
	outFailed                      // a PSA call failed
)

// userRef names the user a PSA call is for, as a failure shows it.
type userRef struct {
	ObjectID    string
	UPN         string
	DisplayName string
}

func refOf(u tenantsync.User) userRef {
	return userRef{ObjectID: u.ObjectID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName}
}

type reconcileRun struct {
	e         *Engine
	rec       store.TenantRecord
	out       *reconcileOutcome
	contacts  []tenantsync.Contact
	byContact map[string]tenantsync.Contact
	ix        *match.Index
	open      map[string]bool // users with an open review
	now       time.Time
	put       stateWriter
	state     *store.SyncState

	failures map[string]store.ContactFailure
	intents  map[string]store.CreateIntent
	prior    map[string]store.CreateIntent // the intents as the run found them
	outcome  map[string]userOutcome
	// capped holds the users whose create Limits.MaxCreatesPerSync deferred; a user the PSA's
	// pause then made pending is counted as pending only.
	capped    map[string]bool
	planned   map[string]bool               // intents recorded by this run
	attempted map[string]bool               // creates this run sent
	taken     map[string]bool               // contacts an interrupted create's user took in this run
	updates   []func(context.Context) error // field updates, sent after the creates

	// maxCreates and maxCalls are Limits.MaxCreatesPerSync and Limits.PSACallsPerSync, or no
	// limit when a person asked for every create now (SyncOptions.CreateAll).
	maxCreates, maxCalls int
	// creates holds the users this run meant to create a contact for; those left pending count
	// as creates still owed, with the capped ones.
	creates map[string]bool

	calls  int
	stop   error // why no more PSA calls are made in this run
	psaErr error // stop, when the PSA (not the budget) caused it
}

// look records that the run considered the user.
func (r *reconcileRun) look(id string) {
	if _, ok := r.outcome[id]; !ok {
		r.outcome[id] = outResolved
	}
}

func (r *reconcileRun) mark(id string, o userOutcome) {
	if cur, ok := r.outcome[id]; !ok || o > cur {
		r.outcome[id] = o
	}
}

// failedFirst orders users without an earlier failure before those with one.
func (r *reconcileRun) failedFirst(a, b string) int {
	_, fa := r.failures[a]
	_, fb := r.failures[b]
	switch {
	case fa == fb:
		return 0
	case fb:
		return -1
	}
	return 1
}

// failedLast returns ids, sorted, with the users that failed before at the end.
func (r *reconcileRun) failedLast(ids []string) []string {
	out := slices.Clone(ids)
	slices.SortStableFunc(out, r.failedFirst)
	return out
}

// waitingOn reports whether the user's earlier failure of op holds the call back.
func (r *reconcileRun) waitingOn(id string, op store.ContactOp) bool {
	f, ok := r.failures[id]
	return ok && f.Op == op && (f.Ignored || f.NeedsPerson || r.now.Before(f.NextRetry))
}

// listContacts reads the client's contacts through the PSA gate. A failure stops the run's
// PSA work (the mirror is stored all the same); only a cancelled sync is an error.
func (r *reconcileRun) listContacts(ctx context.Context) ([]tenantsync.Contact, error) {
	if err := r.e.psa.admit(ctx, r.rec.ID); err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		r.stop, r.psaErr = err, err
		return nil, nil
	}
	var contacts []tenantsync.Contact
	err := r.e.psa.call(ctx, func(ctx context.Context) error {
		var err error
		contacts, err = r.e.contacts.ListContacts(ctx, r.rec.ClientID)
		return err
	})
	switch {
	case err == nil:
		r.e.psa.succeeded()
		return contacts, nil
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	}
	if classifyPSA(err).accountWide() {
		r.pauseFor(err)
	}
	r.stop, r.psaErr = err, err
	return nil, nil
}

// callResult is the outcome of one PSA write: whether it was sent, and its error.
type callResult struct {
	made bool
	err  error
}

func (c callResult) ok() bool { return c.made && c.err == nil }

// call sends one PSA write for a user, unless the user's earlier failure of the same call is
// not due again, the PSA is paused, or the run's budget is spent (the user is then waiting or
// pending). before runs once the call is admitted, just before it is sent. A failure of the
// call is recorded against the user, and one of the whole PSA pauses every PSA call; only a
// failure of the store or of the sync itself is returned as an error.
func (r *reconcileRun) call(ctx context.Context, who userRef, op store.ContactOp, contactID string, before func() error, fn func(context.Context) error) (callResult, error) {
	id := who.ObjectID
	if r.waitingOn(id, op) {
		r.mark(id, outWaiting)
		return callResult{}, nil
	}
	if r.stop == nil && r.calls >= r.maxCalls {
		r.stop = &tenantsync.Error{Class: tenantsync.ErrLimitExceeded, Service: Service, Op: "Reconcile", Tenant: r.rec.ID,
			Message: fmt.Sprintf("the sync sent its %d PSA calls", r.maxCalls),
			Hint:    "the next syncs write the contacts left pending; raise Limits.PSACallsPerSync if the PSA's quota allows more"}
	}
	if r.stop != nil {
		r.mark(id, outPending)
		return callResult{}, nil
	}
	if err := r.e.psa.admit(ctx, r.rec.ID); err != nil {
		if ctx.Err() != nil {
			return callResult{}, context.Cause(ctx)
		}
		r.stop, r.psaErr = err, err
		r.mark(id, outPending)
		return callResult{}, nil
	}
	if before != nil {
		if err := before(); err != nil {
			return callResult{}, err
		}
	}
	r.calls++
	err := r.e.psa.call(ctx, fn)
	if err == nil {
		r.e.psa.succeeded()
		return callResult{made: true}, nil
	}
	if ctx.Err() != nil {
		return callResult{}, context.Cause(ctx)
	}
	v := classifyPSA(err)
	if v == psaRefused && recordForbidden(err) {
		// Every write comes after a listing the PSA answered: the credentials work, and a
		// permission refused now is this record's (a client the API user may not write, a
		// locked record). Pausing the account would hit it first again at every sync.
		v = psaRecord
	}
	if v.accountWide() {
		r.pauseFor(err)
	}
	switch v {
	case psaRefused:
		// Nothing of this user's is to blame.
		r.mark(id, outPending)
	case psaThrottled:
		r.throttled(who, op, contactID, err)
	default:
		r.fail(who, op, contactID, err, v)
	}
	return callResult{made: true, err: err}, nil
}

// recordForbidden reports whether err refuses a permission (403) rather than the credentials
// (401, a revoked consent): after the PSA answered in the run, a record's failure.
func recordForbidden(err error) bool {
	return errors.Is(err, tenantsync.ErrForbidden) && !errors.Is(err, tenantsync.ErrUnauthorized) &&
		!errors.Is(err, tenantsync.ErrAuthorizationRevoked)
}

// throttled records that the user's write met the PSA's quota: no attempt is counted (the
// record is not to blame) and the retry is due at once, but the user now has a failure, so the
// next runs take it after the others and one user does not spend the quota first every time.
func (r *reconcileRun) throttled(who userRef, op store.ContactOp, contactID string, err error) {
	f := store.ContactFailure{ObjectID: who.ObjectID, UPN: who.UPN, DisplayName: who.DisplayName, Op: op, ContactID: contactID,
		Kind: tenantsync.ClassName(tenantsync.ClassOf(err)), Message: failureMessage(err),
		Hint:    "the PSA's quota stopped this write and paused PSA calls; the next syncs try it again after the other users",
		FirstAt: r.now, LastAt: r.now}
	if prev, ok := r.failures[who.ObjectID]; ok && prev.Op == op {
		f.Attempts, f.FirstAt = prev.Attempts, prev.FirstAt
	}
	r.failures[who.ObjectID] = f
	r.mark(who.ObjectID, outPending)
}

// maxFailureMessage bounds the PSA's message kept with a failure: the state holds one per
// failed user, and a PSA may answer with a whole HTML page.
const maxFailureMessage = 500

// failureMessage is err's message as a failure keeps it, truncated to maxFailureMessage bytes.
func failureMessage(err error) string {
	msg := err.Error()
	if d, ok := tenantsync.Details(err); ok && d.Message != "" {
		msg = d.Message
	}
	return truncate(msg, maxFailureMessage)
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := n - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// pauseFor pauses every PSA call of the engine after err and stops the run's PSA work.
func (r *reconcileRun) pauseFor(err error) {
	until, moved := r.e.psa.pause(err)
	if moved {
		ev := Event{Type: EventPSAPaused, TenantID: r.rec.ID, ClientID: r.rec.ClientID, RetryAt: until,
			Message: "PSA calls paused until " + until.UTC().Format(time.RFC3339)}
		errorFields(&ev, err)
		if ev.Hint == "" {
			ev.Hint = "the engine makes no PSA call until then; the contacts left are pending and the next syncs write them"
		}
		r.e.emit(ev)
	}
	r.stop = err
	if p := r.e.psa.paused(r.rec.ID); p != nil {
		r.stop = p
	}
	r.psaErr = r.stop
}

// fail records a failed PSA call against its user: one more attempt, the next one after a
// backoff, or none once the attempts are spent (the failure then waits for a person).
func (r *reconcileRun) fail(who userRef, op store.ContactOp, contactID string, err error, v psaVerdict) {
	lim := r.e.limits
	f := store.ContactFailure{ObjectID: who.ObjectID, UPN: who.UPN, DisplayName: who.DisplayName, Op: op, ContactID: contactID,
		Kind: tenantsync.ClassName(tenantsync.ClassOf(err)), Message: failureMessage(err), Hint: tenantsync.HintOf(err),
		Attempts: 1, FirstAt: r.now, LastAt: r.now}
	if f.Hint == "" || recordForbidden(err) {
		// A 403's own hint speaks of credentials, which worked for the other writes.
		f.Hint = failureHint(op, v)
		if recordForbidden(err) {
			f.Hint = "the PSA denied this write the permission it granted the others: check the record and its client in the PSA (locked, or outside the API user's rights)" + failureAfter
		}
	}
	f.Hint = truncate(f.Hint, maxFailureMessage)
	if prev, ok := r.failures[who.ObjectID]; ok && prev.Op == op {
		f.Attempts, f.FirstAt = prev.Attempts+1, prev.FirstAt
	}
	if f.Attempts >= lim.ContactAttempts {
		f.NeedsPerson = true
	} else {
		f.NextRetry = r.now.Add(retryWait(f.Attempts, lim))
	}
	r.failures[who.ObjectID] = f
	r.mark(who.ObjectID, outFailed)
	r.out.report.Failed++
	r.out.report.Failures = append(r.out.report.Failures, f)
	c := &r.e.counters
	c.contactsFailed.Add(1)
	c.contactFailure(f.Kind)
	ev := Event{Type: EventContactFailed, TenantID: r.rec.ID, ClientID: r.rec.ClientID, UserID: who.ObjectID, ContactID: contactID,
		ErrClass: f.Kind, Hint: f.Hint, Error: f.Message, Attempts: f.Attempts, RetryAt: f.NextRetry,
		Message: fmt.Sprintf("%s failed (attempt %d of %d)", op, f.Attempts, lim.ContactAttempts)}
	r.out.events = append(r.out.events, ev)
	if f.NeedsPerson {
		c.contactsNeedPerson.Add(1)
		ev.Type = EventContactNeedsPerson
		ev.Message = fmt.Sprintf("%s failed %d times; left for a person: retry, merge with a contact, or leave it (Engine.ResolveContactFailure)", op, f.Attempts)
		r.out.events = append(r.out.events, ev)
	}
}

// retryWait is the wait after a user's n-th failed attempt: none (the next sync tries again)
// after the first, then ContactRetryBackoff, doubling up to ContactRetryMaxBackoff.
func retryWait(n int, l Limits) time.Duration {
	if n <= 1 {
		return 0
	}
	d := l.ContactRetryBackoff << min(n-2, 30)
	if d <= 0 || d > l.ContactRetryMaxBackoff {
		d = l.ContactRetryMaxBackoff
	}
	return d
}

// failureAfter ends a failure's hint: what the engine does next.
const failureAfter = "; the engine tries again at later syncs, then leaves it for a person (Engine.ResolveContactFailure)"

func failureHint(op store.ContactOp, v psaVerdict) string {
	const after = failureAfter
	if v == psaDown {
		return "the PSA failed or did not answer while writing this contact, and PSA calls were paused; if it keeps failing for this user alone, the PSA rejects the record: look at it in the PSA's logs" + after
	}
	switch op {
	case store.ContactCreate:
		return "the PSA refused to create this user's contact: check the user's details in Microsoft 365 against the PSA's message (a field it does not accept, an email another contact holds), or merge the user with an existing contact" + after
	case store.ContactUpdate:
		return "the PSA refused to update this user's contact: check the contact in the PSA and the user's details in Microsoft 365 against the PSA's message" + after
	default:
		return "the PSA refused to change this contact's active state: check the contact in the PSA (locked, archived, or removed)" + after
	}
}

// keep handles a user with a contact: link it if new, mirror its enabled state onto the
// contact, and fill the contact's fields. A PSA call that does not succeed ends the user's
// turn; what succeeded before it is kept.
func (r *reconcileRun) keep(ctx context.Context, u tenantsync.User, res match.Result, link store.ContactLink, hasLink bool) error {
	c, ok := r.byContact[res.ContactID]
	if !ok {
		// The link points at a contact the PSA no longer has; leave it for a person.
		return nil
	}
	l := link
	changed := false
	if !hasLink || link.ContactID != res.ContactID {
		l = store.ContactLink{TenantID: r.rec.ID, ObjectID: u.ObjectID, ClientID: r.rec.ClientID, ContactID: res.ContactID, LinkedAt: r.now}
		changed = true
		r.out.report.Linked++
		r.event(EventContactLinked, u.ObjectID, c.ID, string(res.Via))
	}
	defer func() {
		if changed {
			r.out.links = append(r.out.links, store.LinkChange{Link: l})
		}
	}()
	who := refOf(u)
	switch {
	case !u.AccountEnabled && (!l.Deactivated || c.Active):
		// An active contact is deactivated whatever the link says: a link marked deactivated
		// over an active contact is a reactivation whose sync stopped before its commit.
		done, err := r.deactivate(ctx, who, c, &l, "the user's sign-in is blocked")
		if err != nil || !done {
			return err
		}
		c.Active = false
		changed = true
	case u.AccountEnabled && l.Deactivated:
		if !c.Active {
			res, err := r.call(ctx, who, store.ContactReactivate, c.ID, nil, func(ctx context.Context) error {
				return r.e.contacts.SetContactActive(ctx, c.ClientID, c.ID, true)
			})
			if err != nil || !res.ok() {
				return err
			}
			c.Active = true
			r.out.report.Reactivated++
			r.event(EventContactReactivated, u.ObjectID, c.ID, "the user is back")
		}
		l.Deactivated = false
		changed = true
	}
	// The update writes the whole contact (stores and many PSAs replace the record), so it
	// carries the state just set: the listed one would undo the (de)activation, and a delta
	// names the user only once.
	r.byContact[c.ID] = c
	merged, fields := match.ApplyUser(c, u, r.e.cfg.UpdateContacts)
	// The identity alone is never worth a write: a PSA that drops or rewrites it would be
	// updated at every reconcile. Nor is a contact's identity of another user overwritten:
	// that user's link, not this one, is what it records.
	fields = slices.DeleteFunc(fields, func(f string) bool { return f == match.FieldIdentity })
	if strings.TrimSpace(c.TenantID) != "" || strings.TrimSpace(c.ObjectID) != "" {
		merged.TenantID, merged.ObjectID = c.TenantID, c.ObjectID
	}
	if len(fields) > 0 {
		// Updates go after the creates (updateAll): a budget smaller than the tenant's work
		// must not be spent on the same users' updates every sync while new users wait.
		r.updates = append(r.updates, func(ctx context.Context) error {
			res, err := r.call(ctx, who, store.ContactUpdate, c.ID, nil, func(ctx context.Context) error {
				return r.e.contacts.UpdateContact(ctx, merged)
			})
			if err != nil || !res.ok() {
				return err
			}
			r.byContact[c.ID] = merged
			r.out.report.Updated++
			r.event(EventContactUpdated, u.ObjectID, c.ID, strings.Join(fields, ", "))
			return nil
		})
	}
	return nil
}

// updateAll sends the field updates keep left for after the creates, those of users that
// failed before last.
func (r *reconcileRun) updateAll(ctx context.Context) error {
	for _, up := range r.updates {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := up(ctx); err != nil {
			return err
		}
	}
	return nil
}

// deactivate marks the link of a disabled or removed user deactivated, deactivating its
// contact in the PSA when it is active, and reports whether the link is to be committed so.
// A contact found inactive already is taken over too: it may be this engine's own work from
// a sync that stopped between the PSA call and the commit, and it must come back when its
// user does.
//
// The link is stored as deactivated before the PSA call: a sync that stops between the two
// must not leave an inactive contact behind a link that reads as a person's deactivation, or
// the contact would never come back with its user. The early write states an intent only;
// an active contact behind a deactivated link is deactivated or the flag cleared by the next
// sync, by its user's state.
func (r *reconcileRun) deactivate(ctx context.Context, who userRef, c tenantsync.Contact, l *store.ContactLink, why string) (bool, error) {
	if c.Active {
		intent := *l
		intent.Deactivated = true
		res, err := r.call(ctx, who, store.ContactDeactivate, c.ID,
			func() error { return r.e.acct.Links.Set(ctx, intent) },
			func(ctx context.Context) error { return r.e.contacts.SetContactActive(ctx, c.ClientID, c.ID, false) })
		if err != nil || !res.ok() {
			return false, err
		}
		r.out.report.Deactivated++
		r.event(EventContactDeactivated, who.ObjectID, c.ID, why)
	}
	l.Deactivated = true
	return true, nil
}

// review queues a user for a person: several contacts match, or one below the auto-link
// confidence, or one another user holds.
func (r *reconcileRun) review(u tenantsync.User, res match.Result) {
	cands := res.Candidates
	if res.Outcome == match.Matched {
		cands = []string{res.ContactID}
	}
	rv := store.Review{TenantID: r.rec.ID, ObjectID: u.ObjectID, ClientID: r.rec.ClientID, Reason: res.Reason}
	for _, c := range cands {
		rv.Candidates = append(rv.Candidates, store.ReviewCandidate{ContactID: c, Score: res.Confidence, Reason: string(res.Via)})
	}
	r.out.reviews = append(r.out.reviews, rv)
	r.out.report.Reviews++
	if !r.open[u.ObjectID] {
		r.out.newReview[u.ObjectID] = true
	}
}

// viaInterruptedCreate is how a user reaches the contact an interrupted create made.
const viaInterruptedCreate match.Via = "contact of an interrupted create"

// createAll creates the contacts of the users no contact matched. A user whose create was
// interrupted before (its intent is still recorded) is first looked for among the contacts
// that look like what was sent and that no one else holds: one is linked, several go to a
// person. The intents of the creates about to be sent are stored before the first is sent.
func (r *reconcileRun) createAll(ctx context.Context, users []tenantsync.User, typesKnown bool) error {
	type planned struct {
		u tenantsync.User
		c tenantsync.Contact
	}
	var plan []planned
	for _, u := range r.failedLastUsers(users) {
		switch {
		case r.waitingOn(u.ObjectID, store.ContactCreate):
			r.mark(u.ObjectID, outWaiting)
			continue
		case !typesKnown:
			r.out.report.Deferred++
			r.mark(u.ObjectID, outDeferred)
			continue
		case len(plan) >= r.maxCreates:
			r.out.report.Deferred++
			if r.capped == nil {
				r.capped = map[string]bool{}
			}
			r.capped[u.ObjectID] = true
			r.mark(u.ObjectID, outDeferred)
			continue
		}
		if in, ok := r.prior[u.ObjectID]; ok {
			if cands := r.madeBy(in); len(cands) == 1 {
				r.taken[cands[0]] = true
				r.out.report.Recovered++
				res := match.Result{User: match.IdentityOf(u), Outcome: match.Matched, ContactID: cands[0], Via: viaInterruptedCreate,
					Confidence: 1, AutoLink: true}
				if err := r.keep(ctx, u, res, store.ContactLink{}, false); err != nil {
					return err
				}
				continue
			} else if len(cands) > 1 {
				r.review(u, match.Result{User: match.IdentityOf(u), Outcome: match.Ambiguous, Candidates: cands, Via: viaInterruptedCreate,
					Reason: fmt.Sprintf("a create for this user was interrupted, and %d contacts look like what it sent; a person decides which one it made", len(cands))})
				continue
			}
		}
		plan = append(plan, planned{u, newContact(r.rec.ClientID, r.rec.ID, u)})
		if r.creates == nil {
			r.creates = map[string]bool{}
		}
		r.creates[u.ObjectID] = true
	}
	// Intents for the creates this run can send, stored in one write before the first.
	if n := min(len(plan), r.maxCalls-r.calls); r.stop == nil && n > 0 && r.e.psa.paused(r.rec.ID) == nil {
		for _, p := range plan[:n] {
			r.intents[p.u.ObjectID] = store.CreateIntent{Key: p.c.IdempotencyKey(), Contact: p.c, At: r.now, Existing: r.lookalikes(p.c)}
			r.planned[p.u.ObjectID] = true
		}
		intents := maps.Clone(r.intents)
		if err := r.put(ctx, func(s *store.SyncState) { s.CreateIntents = intents }); err != nil {
			return err
		}
		r.state.CreateIntents = maps.Clone(intents)
	}
	for _, p := range plan {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := r.create(ctx, p.u, p.c); err != nil {
			return err
		}
	}
	return nil
}

func (r *reconcileRun) failedLastUsers(users []tenantsync.User) []tenantsync.User {
	out := slices.Clone(users)
	slices.SortStableFunc(out, func(a, b tenantsync.User) int { return r.failedFirst(a.ObjectID, b.ObjectID) })
	return out
}

func (r *reconcileRun) create(ctx context.Context, u tenantsync.User, c tenantsync.Contact) error {
	var created tenantsync.Contact
	res, err := r.call(ctx, refOf(u), store.ContactCreate, "", nil, func(ctx context.Context) error {
		var err error
		created, err = r.e.contacts.CreateContact(ctx, c)
		return err
	})
	if err != nil || !res.made {
		return err
	}
	r.attempted[u.ObjectID] = true
	if res.err != nil {
		if nothingWritten(res.err) {
			delete(r.intents, u.ObjectID)
		}
		return nil
	}
	delete(r.intents, u.ObjectID)
	r.byContact[created.ID] = created
	// A blocked user's contact is created inactive (AllowDisabled), and so counts as deactivated:
	// it comes back with its user.
	r.out.links = append(r.out.links, store.LinkChange{Link: store.ContactLink{TenantID: r.rec.ID, ObjectID: u.ObjectID,
		ClientID: r.rec.ClientID, ContactID: created.ID, LinkedAt: r.now, Deactivated: !created.Active}})
	r.out.report.Created++
	r.event(EventContactCreated, u.ObjectID, created.ID, "")
	return nil
}

// nothingWritten reports whether a failed create certainly made no contact: the PSA refused
// it by its answer. A failure, a timeout or an error of no declared kind may hide a contact
// made all the same.
func nothingWritten(err error) bool {
	for _, k := range []error{tenantsync.ErrInvalidInput, tenantsync.ErrConflict, tenantsync.ErrThrottled, tenantsync.ErrLimitExceeded,
		tenantsync.ErrUnauthorized, tenantsync.ErrForbidden, tenantsync.ErrAuthorizationRevoked, tenantsync.ErrNotFound,
		tenantsync.ErrClientNotFound, tenantsync.ErrAlreadyLinked} {
		if errors.Is(err, k) && !errors.Is(err, tenantsync.ErrUnavailable) {
			return true
		}
	}
	return false
}

// madeBy returns the contacts an interrupted create recorded by in may have made: contacts of
// the client that no user holds, carry no identity (one carrying this user's would have
// matched it) and look like what was sent, less those that looked so before it was sent.
func (r *reconcileRun) madeBy(in store.CreateIntent) []string {
	var out []string
	for _, id := range r.lookalikes(in.Contact) {
		if !slices.Contains(in.Existing, id) {
			out = append(out, id)
		}
	}
	return out
}

// lookalikes returns the free contacts that look like c, sorted: the same names, and no
// other field (email, job title, phones) set on both that differs.
func (r *reconcileRun) lookalikes(c tenantsync.Contact) []string {
	var out []string
	for _, x := range r.contacts {
		if r.taken[x.ID] || x.ObjectID != "" || x.TenantID != "" {
			continue
		}
		if _, held := r.ix.LinkedUser(x.ID); held {
			continue
		}
		if !same(x.FirstName, c.FirstName) || !same(x.LastName, c.LastName) ||
			!compatible(x.Email, c.Email) || !compatible(x.JobTitle, c.JobTitle) ||
			!compatible(x.Phone, c.Phone) || !compatible(x.Mobile, c.Mobile) {
			continue
		}
		out = append(out, x.ID)
	}
	slices.Sort(out)
	return out
}

func same(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// compatible is same, or one side blank (a PSA may not keep every field it is sent).
func compatible(a, b string) bool {
	return strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" || same(a, b)
}

// finish turns the run's per-user outcomes into the tenant's failures and intents: a user
// dealt with in full loses its failure, and its intent once it has a contact or no create is
// unsure; a user left waiting, deferred or pending keeps what it had. A full run (cleanup)
// also drops what is recorded for users it never came across: they left the tenant, with no
// contact left to deactivate.
func (r *reconcileRun) finish(cleanup bool, own map[string]store.ContactLink) *reconcileOutcome {
	linked := map[string]bool{}
	for id := range own {
		linked[id] = true
	}
	for _, lc := range r.out.links {
		if !lc.Delete {
			linked[lc.Link.ObjectID] = true
		}
	}
	for id, o := range r.outcome {
		if r.planned[id] && !r.attempted[id] {
			if in, ok := r.prior[id]; ok {
				r.intents[id] = in
			} else {
				delete(r.intents, id)
			}
		}
		switch o {
		case outResolved:
			delete(r.failures, id)
			delete(r.intents, id)
		case outPending:
			r.out.report.Pending++
			if r.creates[id] {
				r.out.createsPending++
			}
		case outDeferred:
			if r.capped[id] {
				r.out.capped++
			}
		case outWaiting:
			r.out.report.Waiting++
		}
		if linked[id] {
			delete(r.intents, id)
		}
	}
	if cleanup {
		for id := range r.failures {
			if _, ok := r.outcome[id]; !ok {
				delete(r.failures, id)
			}
		}
		for id := range r.intents {
			if _, ok := r.outcome[id]; !ok {
				delete(r.intents, id)
			}
		}
	}
	if len(r.failures) == 0 {
		r.failures = nil
	}
	if len(r.intents) == 0 {
		r.intents = nil
	}
	slices.SortFunc(r.out.report.Failures, func(a, b store.ContactFailure) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	r.out.report.Stopped = r.stop
	r.out.failures, r.out.intents, r.out.psaErr = r.failures, r.intents, r.psaErr
	return r.out
}

func (r *reconcileRun) event(t EventType, userID, contactID, msg string) {
	r.out.events = append(r.out.events, Event{Type: t, TenantID: r.rec.ID, ClientID: r.rec.ClientID,
		UserID: userID, ContactID: contactID, Message: msg})
}

// newContact is the contact created for a user of a tenant: the user's details by
// match.ApplyUser's rule, active as the user is, and named by the display name when the user
// has neither given name nor surname.
func newContact(clientID, tenantID string, u tenantsync.User) tenantsync.Contact {
	c, _ := match.ApplyUser(tenantsync.Contact{ClientID: clientID, Active: u.AccountEnabled, TenantID: tenantID, ObjectID: u.ObjectID}, u, false)
	if c.FirstName == "" && c.LastName == "" {
		c.LastName = strings.TrimSpace(u.DisplayName)
	}
	return c
}

// clientTenants returns the tenants linked to clientID (those linked to none for ""), ordered
// by ID: from the store's store.ClientTenants when it has it, else from List.
func (e *Engine) clientTenants(ctx context.Context, clientID string) ([]store.TenantRecord, error) {
	if ct, ok := e.acct.Tenants.(store.ClientTenants); ok {
		return ct.ListForClient(ctx, clientID)
	}
	all, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(t store.TenantRecord) bool { return t.ClientID != clientID }), nil
}

// sameUser reports whether two identities name one user (IDs compare without case).
func sameUser(a, b match.Identity) bool {
	return strings.EqualFold(a.TenantID, b.TenantID) && strings.EqualFold(a.ObjectID, b.ObjectID)
}

// contactHolder returns the other user a stored link or a person's merge binds contactID to,
// among the tenants linked to clientID, so a person's merge cannot take a contact another user
// holds (the store keeps one user per contact, and the commit would fail at every sync).
func (e *Engine) contactHolder(ctx context.Context, clientID, contactID string, user match.Identity) (match.Identity, bool, error) {
	tenants, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return match.Identity{}, false, err
	}
	for _, t := range tenants {
		if t.ClientID != clientID && !strings.EqualFold(t.ID, user.TenantID) {
			continue
		}
		links, err := e.acct.Links.List(ctx, t.ID)
		if err != nil {
			return match.Identity{}, false, err
		}
		for _, l := range links {
			if other := (match.Identity{TenantID: l.TenantID, ObjectID: l.ObjectID}); l.ContactID == contactID && !sameUser(other, user) {
				return other, true, nil
			}
		}
		merges, err := e.acct.Merges.List(ctx, t.ID)
		if err != nil {
			return match.Identity{}, false, err
		}
		for _, m := range merges {
			if other := (match.Identity{TenantID: m.TenantID, ObjectID: m.ObjectID}); m.ClientID == clientID && m.ContactID == contactID && !sameUser(other, user) {
				return other, true, nil
			}
		}
	}
	return match.Identity{}, false, nil
}

// refuseHeldContact fails with ErrConflict when another user holds contactID.
func (e *Engine) refuseHeldContact(ctx context.Context, op, clientID, contactID string, user match.Identity) error {
	other, held, err := e.contactHolder(ctx, clientID, contactID, user)
	if err != nil || !held {
		return err
	}
	return &tenantsync.Error{Class: tenantsync.ErrConflict, Service: Service, Op: op, Tenant: user.TenantID,
		Message: fmt.Sprintf("contact %s is already the contact of user %s in tenant %s", contactID, other.ObjectID, other.TenantID),
		Hint:    "a contact belongs to one user: choose another contact, or create one for this user"}
}

// mayNeedPSA returns the users a reconcile could still write a contact for, judged without the
// PSA's contacts: those without a stored link that matching does not exclude. It stands in for
// the reconcile when the PSA could not be listed.
func (e *Engine) mayNeedPSA(ctx context.Context, rec store.TenantRecord, users []tenantsync.User, types map[string]tenantsync.MailboxType, typesKnown bool) ([]string, error) {
	stored, err := e.acct.Links.List(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	links := make([]match.Link, 0, len(stored))
	for _, l := range stored {
		links = append(links, match.Link{User: match.Identity{TenantID: l.TenantID, ObjectID: l.ObjectID}, ContactID: l.ContactID})
	}
	ix, err := match.NewIndex(nil, links, nil, e.match)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, u := range users {
		var mt tenantsync.MailboxType
		if typesKnown {
			mt = types[u.ObjectID]
		}
		if res := ix.Match(u, mt); res.Outcome != match.Linked && res.Outcome != match.Excluded {
			ids = append(ids, u.ObjectID)
		}
	}
	return ids, nil
}
