package sync

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

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
}

type reconcileOutcome struct {
	links     []store.LinkChange
	reviews   []store.Review
	newReview map[string]bool
	events    []Event
	report    ContactReport
}

// userView returns the tenant's users as they will be after the commit.
func (e *Engine) userView(ctx context.Context, tenantID string, kr *tenantsync.KindResult) ([]tenantsync.User, error) {
	if kr.Mode == tenantsync.Complete {
		return kr.Users, nil
	}
	cur, err := e.st.ReadKind(ctx, e.account, tenantID, tenantsync.KindUsers)
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

// mailboxTypes returns each user's mailbox type from the mirror as it will be after the
// commit, and whether the types are known at all: the kind must have been listed once, or a
// shared mailbox would look like a person.
func (e *Engine) mailboxTypes(ctx context.Context, rec store.TenantRecord, state *store.SyncState, results map[tenantsync.Kind]*tenantsync.KindResult) (map[string]tenantsync.MailboxType, bool, error) {
	types := map[string]tenantsync.MailboxType{}
	kr := results[tenantsync.KindMailboxes]
	_, listedBefore := state.Counts[tenantsync.KindMailboxes]
	if kr == nil || kr.Mode == tenantsync.Changes {
		cur, err := e.st.ReadKind(ctx, e.account, rec.ID, tenantsync.KindMailboxes)
		if err != nil {
			return nil, false, err
		}
		for _, m := range cur.Mailboxes {
			types[m.ObjectID] = m.Type
		}
		// A run killed between its commit and its final state write leaves no count for a
		// kind its change set changed; a mirror holding mailboxes was listed all the same.
		listedBefore = listedBefore || len(cur.Mailboxes) > 0
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
func (e *Engine) retypedUsers(ctx context.Context, tenantID string, kr *tenantsync.KindResult) ([]string, error) {
	if kr == nil || (kr.Mode == tenantsync.Changes && len(kr.Mailboxes) == 0 && len(kr.Removed) == 0) {
		return nil, nil
	}
	cur, err := e.st.ReadKind(ctx, e.account, tenantID, tenantsync.KindMailboxes)
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
// again by the identity it carries, a contact found inactive is taken over (deactivate), and
// the contact's active state in the PSA, not the link's flag alone, decides whether a
// disabled or removed user's contact is deactivated.
//
// A full reconcile walks every user of the tenant; otherwise only the users a change set
// upserted or removed, and the mirrored users among retyped (whose mailbox type changed), are
// looked at, so a quiet tenant's delta sync costs little. A full one
// runs on every complete listing, at least every Cadence.FullReconcile, and after a person
// resolved a review.
func (e *Engine) reconcile(ctx context.Context, rec store.TenantRecord, state *store.SyncState, results map[tenantsync.Kind]*tenantsync.KindResult, full bool, retyped []string) (*reconcileOutcome, error) {
	ur := results[tenantsync.KindUsers]
	users := ur.Users
	if full {
		var err error
		if users, err = e.userView(ctx, rec.ID, ur); err != nil {
			return nil, err
		}
	} else {
		users = slices.Clone(users)
		var err error
		if users, err = e.withRetyped(ctx, rec.ID, ur, users, retyped); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(users, func(a, b tenantsync.User) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	types, typesKnown, err := e.mailboxTypes(ctx, rec, state, results)
	if err != nil {
		return nil, err
	}
	// With the mailboxes kind off the types never become known: creation is off, not waiting.
	creates := slices.Contains(e.kindsFor(rec), tenantsync.KindMailboxes)
	contacts, err := e.contacts.ListContacts(ctx, rec.ClientID)
	if err != nil {
		return nil, err
	}
	byContact := map[string]tenantsync.Contact{}
	for _, c := range contacts {
		byContact[c.ID] = c
	}
	ix, own, err := e.matchIndex(ctx, rec, contacts)
	if err != nil {
		return nil, err
	}
	open, ignored, err := e.reviewedUsers(ctx, rec.ID)
	if err != nil {
		return nil, err
	}

	r := &reconcileRun{e: e, rec: rec, out: &reconcileOutcome{newReview: map[string]bool{}}, byContact: byContact, now: e.clock.Now()}
	// The batch is matched as a whole: two users claiming one contact both go to a person,
	// rather than the first in object-ID order winning it.
	matches := ix.MatchAll(users, types)
	present := map[string]bool{}
	for i, u := range users {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		present[u.ObjectID] = true
		res := matches[i]
		switch {
		case res.Outcome == match.Linked || (res.Outcome == match.Matched && res.AutoLink):
			link, hasLink := own[u.ObjectID]
			if err := r.keep(ctx, u, res, link, hasLink); err != nil {
				return nil, err
			}
		case res.Outcome == match.Matched || res.Outcome == match.Ambiguous:
			if !ignored[u.ObjectID] {
				r.review(u, res, open[u.ObjectID])
			}
		case res.Outcome == match.None && res.Create && creates && !ignored[u.ObjectID]:
			if !typesKnown || r.out.report.Created >= e.limits.MaxCreatesPerSync {
				r.out.report.Deferred++
				continue
			}
			if err := r.create(ctx, u); err != nil {
				return nil, err
			}
		case res.Outcome == match.Excluded:
			r.out.report.Excluded++
		}
	}
	// Users gone from a complete listing or removed by a delta: their linked contacts are
	// deactivated, never deleted, and the link is kept so a returning user is recognised.
	gone := slices.Sorted(maps.Keys(own))
	if !full {
		gone = slices.Sorted(slices.Values(ur.Removed))
	}
	for _, id := range gone {
		l, ok := own[id]
		if !ok || present[id] {
			continue
		}
		c, ok := r.byContact[l.ContactID]
		// A link marked deactivated over an active contact is a reactivation whose sync
		// stopped before its commit: the contact's state in the PSA decides, not the flag.
		if !ok || (l.Deactivated && !c.Active) {
			continue
		}
		if err := r.deactivate(ctx, id, c, &l, "the user was removed from the tenant"); err != nil {
			return nil, err
		}
		r.out.links = append(r.out.links, store.LinkChange{Link: l})
	}
	return r.out, nil
}

// withRetyped adds to a delta's users the mirrored users among retyped that the delta neither
// upserts nor removes. A retyped ID with no mirrored user (a mailbox without a user) adds
// nothing.
func (e *Engine) withRetyped(ctx context.Context, tenantID string, ur *tenantsync.KindResult, users []tenantsync.User, retyped []string) ([]tenantsync.User, error) {
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
	cur, err := e.st.ReadKind(ctx, e.account, tenantID, tenantsync.KindUsers)
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
	tenants, err := e.st.ListTenants(ctx, e.account)
	if err != nil {
		return nil, nil, err
	}
	var links []match.Link
	own := map[string]store.ContactLink{}
	for _, t := range tenants {
		if t.ClientID != rec.ClientID && t.ID != rec.ID {
			continue
		}
		ls, err := e.st.ListContactLinks(ctx, e.account, t.ID)
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
	stored, err := e.st.ListMerges(ctx, e.account, rec.ID)
	if err != nil {
		return nil, nil, err
	}
	var merges []match.Merge
	for _, m := range stored {
		if m.ClientID == rec.ClientID {
			merges = append(merges, match.Merge{User: match.Identity{TenantID: m.TenantID, ObjectID: m.ObjectID}, ContactID: m.ContactID, By: m.DecidedBy})
		}
	}
	ix, err := match.NewIndex(contacts, links, merges, e.cfg.Match)
	return ix, own, err
}

// reviewedUsers returns the users of a tenant with an open review, and those a person chose
// to ignore.
func (e *Engine) reviewedUsers(ctx context.Context, tenantID string) (open, ignored map[string]bool, err error) {
	reviews, err := e.st.ListReviews(ctx, e.account, store.ReviewFilter{TenantID: tenantID, IncludeResolved: true})
	if err != nil {
		return nil, nil, err
	}
	open, ignored = map[string]bool{}, map[string]bool{}
	for _, r := range reviews {
		switch {
		case !r.Resolved:
			open[r.ObjectID] = true
		case r.Resolution == store.ResolutionIgnore:
			ignored[r.ObjectID] = true
		}
	}
	return open, ignored, nil
}

type reconcileRun struct {
	e         *Engine
	rec       store.TenantRecord
	out       *reconcileOutcome
	byContact map[string]tenantsync.Contact
	now       time.Time
}

// keep handles a user with a contact: link it if new, mirror its enabled state onto the
// contact, and fill the contact's fields.
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
	switch {
	case !u.AccountEnabled && (!l.Deactivated || c.Active):
		// An active contact is deactivated whatever the link says: a link marked deactivated
		// over an active contact is a reactivation whose sync stopped before its commit.
		if err := r.deactivate(ctx, u.ObjectID, c, &l, "the user's sign-in is blocked"); err != nil {
			return err
		}
		c.Active = false
		changed = true
	case u.AccountEnabled && l.Deactivated:
		if !c.Active {
			if err := r.e.contacts.SetContactActive(ctx, c.ClientID, c.ID, true); err != nil {
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
	if merged, fields := match.ApplyUser(c, u, r.e.cfg.UpdateContacts); len(fields) > 0 {
		if err := r.e.contacts.UpdateContact(ctx, merged); err != nil {
			return err
		}
		r.out.report.Updated++
		r.event(EventContactUpdated, u.ObjectID, c.ID, strings.Join(fields, ", "))
	}
	if changed {
		r.out.links = append(r.out.links, store.LinkChange{Link: l})
	}
	return nil
}

// deactivate marks the link of a disabled or removed user deactivated, deactivating its
// contact in the PSA when it is active. A contact found inactive already is taken over too:
// it may be this engine's own work from a sync that stopped between the PSA call and the
// commit, and it must come back when its user does.
//
// The link is stored as deactivated before the PSA call: a sync that stops between the two
// must not leave an inactive contact behind a link that reads as a person's deactivation, or
// the contact would never come back with its user. The early write states an intent only;
// an active contact behind a deactivated link is deactivated or the flag cleared by the next
// sync, by its user's state.
func (r *reconcileRun) deactivate(ctx context.Context, objectID string, c tenantsync.Contact, l *store.ContactLink, why string) error {
	if c.Active {
		intent := *l
		intent.Deactivated = true
		if err := r.e.st.SetContactLink(ctx, r.e.account, intent); err != nil {
			return err
		}
		if err := r.e.contacts.SetContactActive(ctx, c.ClientID, c.ID, false); err != nil {
			return err
		}
		r.out.report.Deactivated++
		r.event(EventContactDeactivated, objectID, c.ID, why)
	}
	l.Deactivated = true
	return nil
}

// review queues a user for a person: several contacts match, or one below the auto-link
// confidence, or one another user holds. announced says whether the review is open already.
func (r *reconcileRun) review(u tenantsync.User, res match.Result, announced bool) {
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
	if !announced {
		r.out.newReview[u.ObjectID] = true
	}
}

func (r *reconcileRun) create(ctx context.Context, u tenantsync.User) error {
	created, err := r.e.contacts.CreateContact(ctx, newContact(r.rec.ClientID, r.rec.ID, u))
	if err != nil {
		return err
	}
	r.byContact[created.ID] = created
	// A blocked user's contact is created inactive (AllowDisabled), and so counts as deactivated:
	// it comes back with its user.
	r.out.links = append(r.out.links, store.LinkChange{Link: store.ContactLink{TenantID: r.rec.ID, ObjectID: u.ObjectID,
		ClientID: r.rec.ClientID, ContactID: created.ID, LinkedAt: r.now, Deactivated: !created.Active}})
	r.out.report.Created++
	r.event(EventContactCreated, u.ObjectID, created.ID, "")
	return nil
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
