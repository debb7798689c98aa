package sync

import (
	"context"
	"errors"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

func TestPartialFailureKeepsTheFailedKindAndStoresTheRest(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 3)
	ctx := t.Context()
	cursorsBefore, err := h.st.Account(testAccount).Mirror.Cursors(ctx, "t1")
	require.NoError(t, err)

	// Users and devices fail (a missing GDAP role); meanwhile a user left and a new one came,
	// and a device was retired.
	forbidden := &tenantsync.Error{Class: tenantsync.ErrRoleMissing, Service: "cipp", Op: "ListUsers", Status: 403,
		Hint: "grant the User Administrator GDAP role"}
	h.src.SetMode("t1", tenantsync.KindUsers, FakeUnavailable, forbidden)
	h.src.SetMode("t1", tenantsync.KindDevices, FakeUnavailable, forbidden)
	h.src.RemoveUser("t1", "t1-u000")
	h.src.PutUser("t1", person("t1-u900", "New", "Person", "contoso.example"))
	h.src.mu.Lock()
	h.src.tenants["t1"].Devices = h.src.tenants["t1"].Devices[:1]
	h.src.tenants["t1"].Subscriptions[0].Consumed = 99
	h.src.mu.Unlock()

	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	assert.True(t, rep.Partial())
	assert.ErrorIs(t, rep.Kinds[tenantsync.KindUsers].Err, tenantsync.ErrForbidden)
	assert.Equal(t, tenantsync.Unavailable, rep.Kinds[tenantsync.KindDevices].Mode)

	// Nothing of the failed kinds changed: no user removed, no device removed, no contact
	// deactivated, cursors as they were.
	assert.Contains(t, h.users("t1"), "t1-u000")
	assert.NotContains(t, h.users("t1"), "t1-u900")
	devices, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, "t1", tenantsync.KindDevices)
	require.NoError(t, err)
	assert.Len(t, devices.Devices, 2)
	link := h.links("t1")["t1-u000"]
	c, _ := h.contacts.Get(link.ContactID)
	assert.True(t, c.Active, "no deactivation on an unavailable listing")
	cursorsAfter, err := h.st.Account(testAccount).Mirror.Cursors(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, cursorsBefore[tenantsync.KindUsers], cursorsAfter[tenantsync.KindUsers])

	// The other kinds were stored.
	subs, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, "t1", tenantsync.KindSubscriptions)
	require.NoError(t, err)
	assert.Equal(t, 99, subs.Subscriptions[0].Consumed)

	// The status says what failed, with its kind and hint.
	st := h.state("t1")
	assert.Nil(t, st.LastError)
	require.Contains(t, st.KindErrors, tenantsync.KindUsers)
	assert.Equal(t, "role_missing", st.KindErrors[tenantsync.KindUsers].Kind)
	assert.Equal(t, "grant the User Administrator GDAP role", st.KindErrors[tenantsync.KindUsers].Hint)
	status, err := h.eng.Status(ctx, "t1")
	require.NoError(t, err)
	assert.False(t, status.Healthy())
	failed := h.sink.WaitFor(t, EventKindUnavailable, "t1", 2)
	assert.Equal(t, "role_missing", failed[0].ErrClass)
	finished := h.sink.WaitFor(t, EventSyncFinished, "t1", 2)
	assert.Equal(t, 6, finished[1].Count, "the users the mirror holds, not zero for an unavailable listing")

	// When users come back, the removal is applied.
	h.src.SetMode("t1", tenantsync.KindUsers, FakeAuto, nil)
	h.src.SetMode("t1", tenantsync.KindDevices, FakeAuto, nil)
	rep = h.syncNow("t1")
	assert.False(t, rep.Partial())
	assert.NotContains(t, h.users("t1"), "t1-u000")
	c, _ = h.contacts.Get(link.ContactID)
	assert.False(t, c.Active)
	status, err = h.eng.Status(ctx, "t1")
	require.NoError(t, err)
	assert.True(t, status.Healthy())
}

func TestOneTenantFailingLeavesTheOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, id := range []string{"t1", "t2", "t3"} {
		h.src.AddTenant(fakeTenant(id, "Tenant "+id, id+".example", 2))
	}
	ctx := t.Context()
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	for _, id := range []string{"t1", "t2", "t3"} {
		require.NoError(t, h.st.Account(testAccount).Tenants.Link(ctx, id, "client-"+id, h.clock.Now()))
	}
	revoked := &tenantsync.Error{Class: tenantsync.ErrConsentRequired, Service: "graph", Code: "AADSTS65001",
		Hint: "an administrator of the customer tenant must consent to the app"}
	h.src.SetFetchError("t2", revoked)

	reps, err := h.eng.RunOnce(ctx)
	require.NoError(t, err)
	require.Len(t, reps, 3)
	for _, r := range reps {
		if r.TenantID == "t2" {
			assert.ErrorIs(t, r.Err, tenantsync.ErrConsentRequired)
		} else {
			assert.NoError(t, r.Err)
			assert.Len(t, h.users(r.TenantID), 5)
		}
	}
	assert.Empty(t, h.users("t2"))
	st := h.state("t2")
	require.NotNil(t, st.LastError)
	assert.Equal(t, "consent_required", st.LastError.Kind)
	assert.Equal(t, revoked.Hint, st.LastError.Hint)
	assert.True(t, st.LastSuccess.IsZero())
	ev := h.sink.WaitFor(t, EventSyncFailed, "t2", 1)
	assert.Equal(t, revoked.Hint, ev[0].Hint)

	cs, err := h.eng.ClientStatus(ctx, "client-t2")
	require.NoError(t, err)
	assert.Equal(t, 1, cs.Failing)
	assert.True(t, cs.LastSuccess.IsZero())
}

func TestDeltaAfterFull(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 4)
	ctx := t.Context()
	listedAt := h.clock.Now()
	cursors, err := h.st.Account(testAccount).Mirror.Cursors(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, wrapCursor("cipp", "t1:0", listedAt), cursors[tenantsync.KindUsers],
		"the cursor is stored with its source and the time of the full listing")

	changed := person("t1-u001", "First1", "Last1", "contoso.example")
	changed.JobTitle = "Director"
	changed.MobilePhone = ""
	h.src.PutUser("t1", changed)
	h.src.RemoveUser("t1", "t1-u002")
	h.src.PutUser("t1", person("t1-u500", "Nina", "New", "contoso.example"))

	rep := h.syncNow("t1")
	calls := h.src.Calls()
	last := calls[len(calls)-1]
	assert.Equal(t, "t1:0", last.Cursors[tenantsync.KindUsers], "the source gets its own cursor back")
	ur := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Changes, ur.Mode)
	assert.Equal(t, 2, ur.Fetched)
	assert.Equal(t, 1, ur.Added)
	assert.Equal(t, 1, ur.Updated)
	assert.Equal(t, 1, ur.Removed)
	users := h.users("t1")
	assert.Len(t, users, 7)
	assert.Equal(t, "Director", users["t1-u001"].JobTitle)

	// The delta removal deactivated the linked contact; the newcomer got one.
	links := h.links("t1")
	gone, _ := h.contacts.Get(links["t1-u002"].ContactID)
	assert.False(t, gone.Active)
	assert.True(t, links["t1-u002"].Deactivated)
	assert.Contains(t, links, "t1-u500")
	assert.Equal(t, ContactReport{Created: 1, Deactivated: 1}, rep.Contacts, "only the changed users were looked at")

	// Blank never overwrites; a filled field is kept unless UpdateContacts is on.
	c, _ := h.contacts.Get(links["t1-u001"].ContactID)
	assert.Equal(t, "Engineer", c.JobTitle, "an existing value stays (UpdateContacts is off)")
	assert.NotEmpty(t, c.Mobile, "a blank M365 field does not erase the contact's")

	cursors, err = h.st.Account(testAccount).Mirror.Cursors(ctx, "t1")
	require.NoError(t, err)
	c3, listed := unwrapCursor("cipp", cursors[tenantsync.KindUsers])
	assert.Equal(t, "t1:3", c3)
	assert.True(t, listed.Equal(listedAt), "a change set keeps the time of the last full listing, got %v", listed)

	// Unchanged tenant: an empty change set changes nothing.
	rep = h.syncNow("t1")
	assert.Equal(t, 0, rep.Kinds[tenantsync.KindUsers].Fetched)
	assert.Equal(t, ContactReport{}, rep.Contacts)

}

func TestUpdateContactsOverwritesButNeverBlanks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.UpdateContacts = true })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 1)
	h.src.AddTenant(ft)
	u := ft.Users[0]
	existing := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "F", LastName: "L", Email: u.Mail,
		JobTitle: "CEO", Phone: "+1 555 0100", Active: true})
	h.discoverAndLink("t1", "client-1")

	c, _ := h.contacts.Get(existing.ID)
	assert.Equal(t, "Engineer", c.JobTitle, "a differing non-blank value replaces the contact's")
	assert.Equal(t, "First0", c.FirstName)
	assert.Equal(t, "+1 555 0100", c.Phone, "the user has no business phone: blank never overwrites")
	assert.Equal(t, existing.ID, h.links("t1")[u.ObjectID].ContactID, "the existing contact was linked, not duplicated")
	assert.Len(t, h.contacts.All(), 1)
	h.sink.WaitFor(t, EventContactLinked, "t1", 1)
	h.sink.WaitFor(t, EventContactUpdated, "t1", 1)
}

func TestAmbiguousGoesToReviewAndTheMergeIsRemembered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	h.src.AddTenant(ft)
	u := ft.Users[0]
	// Two contacts carry the same address: the engine must not choose.
	a := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "A", Email: u.Mail, Active: true})
	b := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "B", Email: u.Mail, Active: true})
	h.discoverAndLink("t1", "client-1")
	ctx := t.Context()

	assert.NotContains(t, h.links("t1"), u.ObjectID)
	reviews, err := h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	rv := reviews[0]
	assert.Equal(t, u.ObjectID, rv.ObjectID)
	require.Len(t, rv.Candidates, 2)
	assert.ElementsMatch(t, []string{a.ID, b.ID}, []string{rv.Candidates[0].ContactID, rv.Candidates[1].ContactID})
	ev := h.sink.WaitFor(t, EventReviewNeeded, "t1", 1)
	assert.Equal(t, u.ObjectID, ev[0].UserID)
	assert.Len(t, h.contacts.All(), 3, "no contact was created for the ambiguous user")

	// A second sync keeps one open review and does not announce it again.
	h.syncNow("t1")
	reviews, err = h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	assert.Len(t, reviews, 1)
	assert.Len(t, h.sink.Events(EventReviewNeeded), 1)

	// A person picks B: the merge is remembered and wins from the next sync on.
	_, err = h.eng.ResolveReview(ctx, "bob", rv.ID, Decision{Action: store.ResolveLink, ContactID: b.ID})
	require.NoError(t, err)
	merges, err := h.st.Account(testAccount).Merges.List(ctx, "t1")
	require.NoError(t, err)
	require.Len(t, merges, 1)
	assert.Equal(t, "bob", merges[0].DecidedBy)
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Linked)
	assert.Equal(t, b.ID, h.links("t1")[u.ObjectID].ContactID)
	linked := h.sink.WaitFor(t, EventContactLinked, "t1", 1)
	assert.Equal(t, "merge", linked[0].Message)
	reviews, err = h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	assert.Empty(t, reviews)
	h.verifyAudit()

	_, err = h.eng.ResolveReview(ctx, "bob", "no-such-review", Decision{Action: store.ResolveLink, ContactID: b.ID})
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
}

func TestReviewResolvedByCreateOrIgnore(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	h.src.AddTenant(ft)
	for _, u := range ft.Users[:2] {
		h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "X", Email: u.Mail, Active: true})
		h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Y", Email: u.Mail, Active: true})
	}
	h.discoverAndLink("t1", "client-1")
	ctx := t.Context()
	reviews, err := h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	require.Len(t, reviews, 2)

	_, err = h.eng.ResolveReview(ctx, "bob", reviews[0].ID, Decision{})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = h.eng.ResolveReview(ctx, "bob", reviews[0].ID, Decision{Action: store.ResolveLink, ContactID: "ct-typo"})
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "a merge to a contact the client lacks is refused")
	assert.Contains(t, tenantsync.HintOf(err), "candidates")
	merges, err := h.st.Account(testAccount).Merges.List(ctx, "t1")
	require.NoError(t, err)
	assert.Empty(t, merges)
	_, err = h.eng.ResolveReview(ctx, "bob", reviews[0].ID, Decision{Action: store.ResolveCreate})
	require.NoError(t, err)
	_, err = h.eng.ResolveReview(ctx, "bob", reviews[1].ID, Decision{Action: store.ResolveIgnore})
	require.NoError(t, err)
	assert.Len(t, h.contacts.All(), 5)

	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Linked, "the created contact is linked")
	assert.Equal(t, 0, rep.Contacts.Reviews, "the ignored user is not queued again")
	assert.Contains(t, h.links("t1"), reviews[0].ObjectID)
	assert.NotContains(t, h.links("t1"), reviews[1].ObjectID)
}

func TestDeactivateAndReactivate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 3)
	h.src.AddTenant(ft)
	// A contact the PSA keeps for someone with no M365 account is never touched.
	outsider := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Out", Email: "out@elsewhere.example", Active: true})
	people := slices.Clone(ft.Users[:3])
	h.discoverAndLink("t1", "client-1")
	links := h.links("t1")
	contactOf := func(id string) tenantsync.Contact {
		c, ok := h.contacts.Get(links[id].ContactID)
		require.True(t, ok)
		return c
	}

	// Disabled: deactivated.
	u := people[0]
	u.AccountEnabled = false
	h.src.PutUser("t1", u)
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Deactivated)
	assert.False(t, contactOf(u.ObjectID).Active)
	assert.True(t, h.links("t1")[u.ObjectID].Deactivated)
	h.sink.WaitFor(t, EventContactDeactivated, "t1", 1)

	// Re-enabled: reactivated.
	u.AccountEnabled = true
	h.src.PutUser("t1", u)
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Reactivated)
	assert.True(t, contactOf(u.ObjectID).Active)
	assert.False(t, h.links("t1")[u.ObjectID].Deactivated)
	h.sink.WaitFor(t, EventContactReactivated, "t1", 1)

	// Removed, seen by a complete listing after the cursor expired: deactivated.
	h.src.SetMode("t1", tenantsync.KindUsers, FakeCursorExpired, nil)
	v := people[1]
	h.src.RemoveUser("t1", v.ObjectID)
	rep = h.syncNow("t1")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].FullAfterExpiry)
	assert.Equal(t, tenantsync.Complete, rep.Kinds[tenantsync.KindUsers].Mode)
	assert.False(t, contactOf(v.ObjectID).Active)

	// Back (restored from the recycle bin, same object ID): reactivated, same contact.
	h.src.PutUser("t1", v)
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Reactivated)
	assert.True(t, contactOf(v.ObjectID).Active)
	assert.Equal(t, links[v.ObjectID].ContactID, h.links("t1")[v.ObjectID].ContactID)

	// A contact a person deactivated by hand is not reactivated by the engine.
	w := people[2]
	require.NoError(t, h.contacts.SetContactActive(t.Context(), "client-1", links[w.ObjectID].ContactID, false))
	h.syncNow("t1")
	assert.False(t, contactOf(w.ObjectID).Active)

	c, _ := h.contacts.Get(outsider.ID)
	assert.True(t, c.Active)
	assert.Len(t, h.contacts.All(), 4, "no contact was ever deleted or duplicated")
}

func TestAutoCreateWaitsForMailboxTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrForbidden, "grant Exchange Administrator", "no"))
	h.discoverAndLink("t1", "client-1")

	// Without mailbox types the shared mailbox cannot be told apart: nothing is created yet.
	st := h.state("t1")
	assert.Contains(t, st.KindErrors, tenantsync.KindMailboxes)
	assert.Empty(t, h.contacts.All())

	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeAuto, nil)
	rep := h.syncNow("t1")
	assert.Equal(t, 2, rep.Contacts.Created)
	assert.NotContains(t, h.links("t1"), "t1-shared")

	// Later failures of the mailbox listing no longer block creation: the types are known.
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrThrottled, "", "429"))
	h.src.PutUser("t1", person("t1-u777", "Late", "Comer", "contoso.example"))
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Created)
}

func TestCreateCapDefersTheRest(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 5, func(c *Config) { c.Limits.MaxCreatesPerSync = 2 })
	assert.Len(t, h.contacts.All(), 2)
	rep := h.syncNow("t1")
	assert.Equal(t, 2, rep.Contacts.Created)
	assert.Equal(t, 1, rep.Contacts.Deferred)
}

func TestAutoCreateOff(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 3, func(c *Config) { c.AutoCreate = false })
	assert.Empty(t, h.contacts.All())
	assert.Empty(t, h.links("t1"))
}

// A PSA whose contact list cannot be read leaves the users pending, not the tenant unsynced:
// the mirror is stored, PSA calls pause, and a later sync reconciles every user although the
// tenant did not change.
func TestContactListFailureStoresTheMirrorAndLeavesUsersPending(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.contacts.FailList(tenantsync.Errorf(tenantsync.ErrUnavailable, "check the PSA database", "PSA down"))
	h.discoverAndLink("t1", "client-1")
	st := h.state("t1")
	require.Nil(t, st.LastError, "the sync itself succeeded")
	require.NotNil(t, st.ContactsError)
	assert.Equal(t, "service_unavailable", st.ContactsError.Kind)
	assert.Contains(t, st.ContactsError.Message, "PSA down")
	assert.Equal(t, 2, st.ContactsPending, "every person waits for the contact list (not the shared mailbox, the room or the guest)")
	assert.Len(t, h.users("t1"), 5, "the mirror does not wait for the PSA")
	assert.Empty(t, h.links("t1"))
	assert.True(t, h.eng.PSAStatus().Paused(h.clock.Now()))
	status := h.status("t1")
	assert.False(t, status.Healthy())
	assert.Equal(t, 2, status.ContactsPending)

	h.contacts.FailList(nil)
	rep := h.syncNow("t1")
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode, "a delta that names no user")
	assert.Equal(t, 2, rep.Contacts.Created)
	assert.Len(t, h.links("t1"), 2)
	st = h.state("t1")
	assert.Zero(t, st.ContactsPending)
	assert.Nil(t, st.ContactsError)
	assert.True(t, h.status("t1").Healthy())
}

func TestTwoTenantsOfOneClientNeverShareAContact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.mergerTenants()
	h.discoverAndLink("t1", "client-1")
	h.discoverAndLink("t2", "client-1")

	require.Nil(t, h.state("t2").LastError)
	require.Contains(t, h.links("t1"), a.Users[0].ObjectID)
	assert.NotContains(t, h.links("t2"), b.Users[0].ObjectID, "the contact is taken by the first tenant's user")
	reviews, err := h.st.Account(testAccount).Reviews.List(t.Context(), store.ReviewFilter{TenantID: "t2"})
	require.NoError(t, err)
	require.Len(t, reviews, 1, "a person decides")
	assert.Equal(t, b.Users[0].ObjectID, reviews[0].ObjectID)
}

func TestPeriodicFullReconcileFindsNewPSAContacts(t *testing.T) {
	t.Parallel()
	h, ft := newLinked(t, 2, func(c *Config) { c.AutoCreate = false })
	require.Empty(t, h.links("t1"))

	// The PSA adds a contact for a user; delta syncs of the unchanged tenant do not look.
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "F", Email: ft.Users[0].Mail, Active: true})
	h.syncNow("t1")
	assert.Empty(t, h.links("t1"))

	// The periodic full pass matches every user again and links it.
	h.clock.Advance(DefaultFullReconcile)
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Linked)
	assert.Equal(t, c.ID, h.links("t1")[ft.Users[0].ObjectID].ContactID)
}

// A sync interrupted after it deactivated a contact in the PSA but before its commit stores
// nothing but the link's deactivation; the contact must still come back when its user does.
func TestInterruptedDeactivationStillReactivates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(h *harness, u tenantsync.User)
		back   func(h *harness, u tenantsync.User)
	}{
		{"disabled", func(h *harness, u tenantsync.User) {
			u.AccountEnabled = false
			h.src.PutUser("t1", u)
		}, func(h *harness, u tenantsync.User) { h.src.PutUser("t1", u) }},
		{"removed", func(h *harness, u tenantsync.User) { h.src.RemoveUser("t1", u.ObjectID) },
			func(h *harness, u tenantsync.User) { h.src.PutUser("t1", u) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, ft := newLinked(t, 2)
			u := ft.Users[0]
			contactID := h.links("t1")[u.ObjectID].ContactID
			require.NotEmpty(t, contactID)

			tc.change(h, u)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			h.contacts.OnChange(func(tenantsync.Contact) { cancel() })
			h.clock.Advance(DefaultCooldown)
			_, err := h.eng.SyncNow(ctx, "t1")
			require.ErrorIs(t, err, tenantsync.ErrIncomplete)
			h.contacts.OnChange(nil)
			c, _ := h.contacts.Get(contactID)
			require.False(t, c.Active, "the PSA call happened before the interruption")
			// Only the deactivation's intent is stored before the PSA call, so a user who comes
			// back before the next sync finds the contact marked as the engine's work.
			assert.True(t, h.links("t1")[u.ObjectID].Deactivated)

			// The retry finds the contact inactive already, and takes over its deactivation.
			rep := h.syncNow("t1")
			assert.Zero(t, rep.Contacts.Deactivated, "the contact is not deactivated twice")
			assert.True(t, h.links("t1")[u.ObjectID].Deactivated)

			tc.back(h, u)
			rep = h.syncNow("t1")
			assert.Equal(t, 1, rep.Contacts.Reactivated)
			c, _ = h.contacts.Get(contactID)
			assert.True(t, c.Active, "the user is back, so is the contact")
		})
	}
}

// Two users of one batch matching one contact (a team address both carry) are a person's
// call: neither is linked, whichever sorts first.
func TestTwoUsersClaimingOneContactBothGoToReview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	team := "team@contoso.example"
	for i := range 2 {
		ft.Users[i].Mail = team
		ft.Users[i].ProxyAddresses = []string{"SMTP:" + team}
	}
	h.src.AddTenant(ft)
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Team", Email: team, Active: true})
	h.discoverAndLink("t1", "client-1")

	assert.Empty(t, h.links("t1"), "no user was linked to the contested contact")
	reviews, err := h.st.Account(testAccount).Reviews.List(t.Context(), store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	require.Len(t, reviews, 2)
	for _, rv := range reviews {
		require.Len(t, rv.Candidates, 1)
		assert.Equal(t, c.ID, rv.Candidates[0].ContactID)
		assert.Contains(t, rv.Reason, "several users")
	}
	assert.ElementsMatch(t, []string{ft.Users[0].ObjectID, ft.Users[1].ObjectID}, []string{reviews[0].ObjectID, reviews[1].ObjectID})
	h.sink.WaitFor(t, EventReviewNeeded, "t1", 2)

	// A person's merge settles it: that user links, the other stays queued.
	_, err = h.eng.ResolveReview(t.Context(), "bob", reviews[0].ID, Decision{Action: store.ResolveLink, ContactID: c.ID})
	require.NoError(t, err)
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Linked)
	assert.Equal(t, c.ID, h.links("t1")[reviews[0].ObjectID].ContactID)
	assert.NotContains(t, h.links("t1"), reviews[1].ObjectID)
	assert.Equal(t, 1, rep.Contacts.Reviews)
}

// A contact the engine links takes the user's identity with the first update it gets, so the
// PSA can keep the link itself; the update event names the fields it filled.
func TestLinkedContactTakesTheUsersIdentity(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 1)
	h.src.AddTenant(ft)
	u := ft.Users[0]
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Kept", LastName: "Name", Email: u.Mail, Active: true})
	h.discoverAndLink("t1", "client-1")

	got, _ := h.contacts.Get(c.ID)
	assert.Equal(t, "t1", got.TenantID)
	assert.Equal(t, u.ObjectID, got.ObjectID)
	assert.Equal(t, "Kept", got.FirstName, "a filled field is kept without UpdateContacts")
	assert.Equal(t, u.JobTitle, got.JobTitle, "an empty field is filled")
	ev := h.sink.WaitFor(t, EventContactUpdated, "t1", 1)
	assert.NotContains(t, ev[0].Message, match.FieldIdentity, "the identity rides along a write, it is not one")
	assert.Contains(t, ev[0].Message, match.FieldJobTitle)
	assert.NotContains(t, ev[0].Message, match.FieldFirstName)
}

// With mailboxes answered as changes (Graph's users-delta mode), reconcile, auto-create and
// billing read every user's mailbox type from the merged mirror: an empty change set does
// not make a shared mailbox or a room look like a person, nor the types unknown.
func TestMailboxChangesKeepTheMirroredTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
	h.discoverAndLink("t1", "client-1")
	require.Len(t, h.contacts.All(), 3)
	cursors, err := h.st.Account(testAccount).Mirror.Cursors(t.Context(), "t1")
	require.NoError(t, err)
	require.NotEmpty(t, cursors[tenantsync.KindMailboxes])

	// A person and a licensed shared mailbox arrive; the change sets carry only them.
	newcomer := person("t1-u900", "Nina", "New", "contoso.example")
	h.src.PutUser("t1", newcomer)
	h.src.PutMailbox("t1", tenantsync.Mailbox{ObjectID: newcomer.ObjectID, PrimarySMTPAddress: newcomer.Mail, Type: tenantsync.MailboxUser})
	sales := tenantsync.User{ObjectID: "t1-sales", UserPrincipalName: "sales@contoso.example", DisplayName: "Sales",
		Mail: "sales@contoso.example", AccountEnabled: true, UserType: "Member", AssignedSKUs: []string{"sku-e3"}}
	h.src.PutUser("t1", sales)
	h.src.PutMailbox("t1", tenantsync.Mailbox{ObjectID: sales.ObjectID, PrimarySMTPAddress: sales.Mail, Type: tenantsync.MailboxShared})
	rep := h.syncNow("t1")
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode)
	assert.Equal(t, 2, rep.Kinds[tenantsync.KindMailboxes].Fetched)
	assert.Equal(t, ContactReport{Created: 1, Excluded: 1}, rep.Contacts, "types are known: no deferral, the shared mailbox excluded")
	assert.Contains(t, h.links("t1"), newcomer.ObjectID)

	// A full pass over unchanged users, with an empty mailbox change set.
	h.clock.Advance(DefaultFullReconcile)
	rep = h.syncNow("t1")
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode)
	require.Zero(t, rep.Kinds[tenantsync.KindMailboxes].Fetched)
	assert.Equal(t, ContactReport{Excluded: 4}, rep.Contacts, "shared, room, sales and the guest stay excluded")
	assert.Len(t, h.contacts.All(), 4)
	for _, id := range []string{"t1-shared", "t1-room", sales.ObjectID} {
		assert.NotContains(t, h.links("t1"), id)
	}

	got, err := h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	assert.True(t, got.Complete)
	assert.Equal(t, 4, got.Billable, "four licensed people; the licensed shared mailbox is not billed")

	// A removed mailbox leaves the mirror through the change set.
	h.src.RemoveMailbox("t1", sales.ObjectID)
	h.syncNow("t1")
	mbx, err := h.st.Account(testAccount).Mirror.ReadKind(t.Context(), "t1", tenantsync.KindMailboxes)
	require.NoError(t, err)
	assert.False(t, slices.ContainsFunc(mbx.Mailboxes, func(m tenantsync.Mailbox) bool { return m.ObjectID == sales.ObjectID }))
}

// A kind the source left without an error, or with an error that says nothing about what to
// do, is still reported with a hint, and keeps its kind.
func TestUnavailableKindsAlwaysCarryAHint(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	throttled := &tenantsync.Error{Class: tenantsync.ErrThrottled, Service: "graph", Status: 429, RequestID: "req-1"}
	h.src.SetMode("t1", tenantsync.KindDevices, FakeUnavailable, throttled)
	h.src.SetMode("t1", tenantsync.KindMFA, FakeUnavailable, nil)
	h.src.SetMode("t1", tenantsync.KindBaseline, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrUnsupported, "", "no secure score"))
	h.discoverAndLink("t1", "client-1")

	errs := h.state("t1").KindErrors
	require.Len(t, errs, 3)
	assert.Equal(t, "throttled", errs[tenantsync.KindDevices].Kind)
	assert.Contains(t, errs[tenantsync.KindDevices].Message, "request-id req-1", "the details of the source's error are kept")
	assert.Equal(t, "listing_incomplete", errs[tenantsync.KindMFA].Kind)
	assert.Contains(t, errs[tenantsync.KindBaseline].Hint, "SetKinds")
	for k, e := range errs {
		assert.NotEmpty(t, e.Hint, k)
	}
	rep := h.syncNow("t1")
	assert.ErrorIs(t, rep.Kinds[tenantsync.KindDevices].Err, tenantsync.ErrThrottled)
	assert.ErrorAs(t, rep.Kinds[tenantsync.KindDevices].Err, &throttled)
}

// A tenant's sync failing with an error that carries no hint still tells the PSA what to do.
func TestFailedSyncAlwaysCarriesAHint(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	h.src.SetFetchError("t1", errors.New("connection reset by peer"))
	h.discoverAndLink("t1", "client-1")
	st := h.state("t1")
	require.NotNil(t, st.LastError)
	assert.Equal(t, "service_unavailable", st.LastError.Kind)
	assert.Contains(t, st.LastError.Message, "connection reset by peer")
	assert.Contains(t, st.LastError.Hint, "nothing of this run was stored")
	ev := h.sink.WaitFor(t, EventSyncFailed, "t1", 1)
	assert.Equal(t, st.LastError.Hint, ev[0].Hint)
}

// A sync interrupted after it created a contact in the PSA but before its commit does not
// create it twice: the next sync finds the contact by the identity it carries.
func TestInterruptedCreateIsNotRepeated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.discoverAndStoreLink("t1", "client-1")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h.contacts.OnChange(func(tenantsync.Contact) { cancel() })
	_, err := h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	h.contacts.OnChange(nil)
	require.Len(t, h.contacts.All(), 1, "one contact was created before the interruption")
	assert.Empty(t, h.links("t1"))
	assert.Empty(t, h.users("t1"))

	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Linked)
	assert.Equal(t, 1, rep.Contacts.Created)
	assert.Len(t, h.contacts.All(), 2, "no contact was created twice")
	assert.Len(t, h.links("t1"), 2)
}

// Two tenants of one client syncing at once can each match a user to the same contact (each
// read the links before the other committed). The store takes the first commit and refuses the
// second as a taken contact, so that sync would fail whole after changing the contact in the
// PSA. A sibling's sync is refused up front instead, and the next one queues its user for review.
func TestSiblingTenantsDoNotReconcileAtOnce(t *testing.T) {
	t.Parallel()
	var st *hookStore
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		st = &hookStore{dirStore: memory.New(memory.Config{Now: now})}
		return st
	})
	a, b := h.mergerTenants()
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Pat", Email: a.Users[0].Mail, Active: true})
	ctx := t.Context()
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	for _, id := range []string{"t1", "t2"} {
		require.NoError(t, h.st.Account(testAccount).Tenants.Link(ctx, id, "client-1", h.clock.Now()))
	}

	// t1's reconcile has read the links (it reads the reviews next) when t2 is asked to sync.
	var sibling error
	asked := false
	st.onListReviews(func() {
		if asked {
			return
		}
		asked = true
		_, sibling = h.eng.SyncNow(ctx, "t2")
	})
	_, err = h.eng.SyncNow(ctx, "t1")
	st.onListReviews(nil)
	require.True(t, asked)
	require.NoError(t, err, "t1 is not refused at its commit for a contact t2 took meanwhile")
	require.ErrorIs(t, sibling, tenantsync.ErrAlreadyRunning)
	assert.Contains(t, tenantsync.HintOf(sibling), "same client")
	assert.Empty(t, h.users("t2"), "the refused sync stored nothing")

	h.syncNow("t2")
	assert.Equal(t, c.ID, h.links("t1")[a.Users[0].ObjectID].ContactID)
	assert.NotContains(t, h.links("t2"), b.Users[0].ObjectID, "the contact is linked to one user only")
	reviews, err := h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: "t2"})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	got, _ := h.contacts.Get(c.ID)
	assert.Equal(t, a.Users[0].ObjectID, got.ObjectID, "the contact carries its one user's identity")
}

// A contact linked to a user of one tenant is not offered to a user of a sibling tenant (same
// client) who has its address, even when the PSA keeps no identity on the contact to say whose
// it is: the links of every tenant of the client say it. Without them, the sibling's user would
// be matched to the contact, and its commit refused on the store's one-user-per-contact rule at
// every sync.
func TestContactLinkedInASiblingTenantIsNotOffered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.contacts.DropIdentity()
	a, b := h.mergerTenants()
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Pat", Email: a.Users[0].Mail, Active: true})
	h.discoverAndLink("t1", "client-1")
	require.Equal(t, c.ID, h.links("t1")[a.Users[0].ObjectID].ContactID)
	got, _ := h.contacts.Get(c.ID)
	require.Empty(t, got.ObjectID, "the PSA keeps no identity")

	ctx := t.Context()
	require.NoError(t, h.eng.Link(ctx, "alice", "t2", "client-1"))
	require.NoError(t, h.eng.Wait(ctx))
	rep := h.syncNow("t2")
	require.NoError(t, rep.Err)
	assert.NotContains(t, h.links("t2"), b.Users[0].ObjectID, "the contact is linked to one user only")
	assert.Zero(t, rep.Contacts.Linked)
	assert.Zero(t, rep.Contacts.Failed, "nothing fails at the commit")
	reviews, err := h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: "t2"})
	require.NoError(t, err)
	require.Len(t, reviews, 1, "a person decides about the second user with the contact's address")
	assert.Equal(t, b.Users[0].ObjectID, reviews[0].ObjectID)
	assert.Equal(t, c.ID, h.links("t1")[a.Users[0].ObjectID].ContactID, "the first link stays")
}

// hookStore runs a function inside ListReviews, which reconcile calls after it read the links.
type hookStore struct {
	dirStore
	mu stdsync.Mutex
	fn func()
}

func (s *hookStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Reviews = hookReviews{a.Reviews, s}
	return a
}

type hookReviews struct {
	store.Reviews
	s *hookStore
}

func (s *hookStore) onListReviews(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn = fn
}

func (r hookReviews) List(ctx context.Context, f store.ReviewFilter) ([]store.Review, error) {
	s := r.s
	s.mu.Lock()
	fn := s.fn
	s.mu.Unlock()
	if fn != nil {
		fn()
	}
	return r.Reviews.List(ctx, f)
}

// With AllowDisabled a blocked user's contact is created inactive; it comes alive with the user.
func TestContactCreatedForADisabledUserFollowsItBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Match.AllowDisabled = true })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	ft.Users[0].AccountEnabled = false
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	u := ft.Users[0]
	l := h.links("t1")[u.ObjectID]
	c, ok := h.contacts.Get(l.ContactID)
	require.True(t, ok)
	assert.False(t, c.Active)
	assert.True(t, l.Deactivated, "the link records that the contact follows its user")

	u.AccountEnabled = true
	h.src.PutUser("t1", u)
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Reactivated)
	c, _ = h.contacts.Get(l.ContactID)
	assert.True(t, c.Active)
}

// A sync stopped between a contact's PSA call and the commit leaves the link saying the
// opposite of the contact. Whatever the user does before the next sync, that sync leaves the
// contact active exactly when its user exists and is enabled.
func TestInterruptedContactChangeConverges(t *testing.T) {
	t.Parallel()
	disable := func(h *harness, u tenantsync.User) {
		u.AccountEnabled = false
		h.src.PutUser("t1", u)
	}
	enable := func(h *harness, u tenantsync.User) { h.src.PutUser("t1", u) }
	remove := func(h *harness, u tenantsync.User) { h.src.RemoveUser("t1", u.ObjectID) }
	tests := []struct {
		name string
		// before is done and synced first; interrupted is the change whose sync stops right
		// after the PSA call; then is the change the next sync sees.
		before, interrupted, then func(h *harness, u tenantsync.User)
		active                    bool
	}{
		{"reactivation then disabled", disable, enable, disable, false},
		{"reactivation then removed", disable, enable, remove, false},
		{"reactivation after removal then removed", remove, enable, remove, false},
		{"reactivation after removal then disabled", remove, enable, disable, false},
		{"deactivation then enabled", nil, disable, enable, true},
		{"deactivation then still disabled", nil, disable, disable, false},
		{"removal then back", nil, remove, enable, true},
		{"removal then back disabled", nil, remove, disable, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, ft := newLinked(t, 2)
			u := ft.Users[0]
			contactID := h.links("t1")[u.ObjectID].ContactID
			require.NotEmpty(t, contactID)
			if tc.before != nil {
				tc.before(h, u)
				h.syncNow("t1")
				c, _ := h.contacts.Get(contactID)
				require.False(t, c.Active)
			}

			tc.interrupted(h, u)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			h.contacts.OnChange(func(tenantsync.Contact) { cancel() })
			h.clock.Advance(DefaultCooldown)
			_, err := h.eng.SyncNow(ctx, "t1")
			require.ErrorIs(t, err, tenantsync.ErrIncomplete)
			h.contacts.OnChange(nil)
			c, _ := h.contacts.Get(contactID)
			require.Equal(t, tc.before != nil, c.Active, "the PSA call happened before the interruption")

			tc.then(h, u)
			h.syncNow("t1")
			c, _ = h.contacts.Get(contactID)
			assert.Equal(t, tc.active, c.Active)
			assert.Equal(t, !tc.active, h.links("t1")[u.ObjectID].Deactivated)

			// And the contact follows its user from there on.
			enable(h, u)
			h.syncNow("t1")
			c, _ = h.contacts.Get(contactID)
			assert.True(t, c.Active, "the user is back, so is the contact")
			assert.False(t, h.links("t1")[u.ObjectID].Deactivated)
		})
	}
}

// A run killed between its commit and its final state write leaves no mailboxes count when
// its change set changed the mailboxes; the mirrored mailboxes still make the types known.
func TestMirroredMailboxesMakeTypesKnownWithoutACount(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 2)
	st := h.state("t1")
	delete(st.Counts, tenantsync.KindMailboxes)
	require.NoError(t, h.st.Account(testAccount).SyncStates.Put(t.Context(), st))

	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrThrottled, "", "429"))
	h.src.PutUser("t1", person("t1-u777", "Late", "Comer", "contoso.example"))
	rep := h.syncNow("t1")
	assert.Equal(t, 1, rep.Contacts.Created)
	assert.Zero(t, rep.Contacts.Deferred)
}

// A user disabled (or enabled again) in the same change set that edits its details gets both:
// the field update writes the contact as it is after the (de)activation, not as it was listed.
// Changes accumulate like this across failed or interrupted syncs, and a delta reports the
// user once: a stale Active written back would never be looked at again.
func TestStateChangeWithFieldChangeKeepsTheNewState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		startActive bool // the user's (and contact's) state before the change set
	}{
		{name: "disabled and retitled", startActive: true},
		{name: "enabled again and retitled", startActive: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.UpdateContacts = true })
			ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
			h.src.AddTenant(ft)
			h.discoverAndLink("t1", "client-1")
			u := ft.Users[0]
			contactID := h.links("t1")[u.ObjectID].ContactID
			if !tc.startActive {
				u.AccountEnabled = false
				h.src.PutUser("t1", u)
				rep := h.syncNow("t1")
				require.Equal(t, 1, rep.Contacts.Deactivated)
			}

			u.AccountEnabled = !tc.startActive
			u.JobTitle = "Title after " + tc.name
			h.src.PutUser("t1", u)
			rep := h.syncNow("t1")
			require.NoError(t, rep.Err)
			assert.Equal(t, 1, rep.Contacts.Updated, "the new title is written")
			c, ok := h.contacts.Get(contactID)
			require.True(t, ok)
			assert.Equal(t, u.JobTitle, c.JobTitle)
			assert.Equal(t, u.AccountEnabled, c.Active, "the contact follows its user's new state")
			assert.Equal(t, !u.AccountEnabled, h.links("t1")[u.ObjectID].Deactivated)

			// Nothing reports the user again, so the next sync must find nothing to fix.
			rep = h.syncNow("t1")
			assert.Equal(t, ContactReport{}, rep.Contacts)
			c, _ = h.contacts.Get(contactID)
			assert.Equal(t, u.AccountEnabled, c.Active)
		})
	}
}
