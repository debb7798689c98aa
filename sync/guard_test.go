package sync

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// kindState is a kind's mirror and stored cursor, to show a held kind changed nothing.
type kindState struct {
	Items  *tenantsync.KindResult
	Cursor string
}

func (h *harness) kindState(tenantID string, k tenantsync.Kind) kindState {
	h.t.Helper()
	ctx := context.Background()
	kr, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, tenantID, k)
	require.NoError(h.t, err)
	kr.FetchedAt = time.Time{}
	cursors, err := h.st.Account(testAccount).Mirror.Cursors(ctx, tenantID)
	require.NoError(h.t, err)
	return kindState{Items: kr, Cursor: cursors[k]}
}

// deactivated counts the PSA's inactive contacts.
func (h *harness) deactivated() int {
	n := 0
	for _, c := range h.contacts.All() {
		if !c.Active {
			n++
		}
	}
	return n
}

func (h *harness) status(tenantID string) TenantStatus {
	h.t.Helper()
	st, err := h.eng.Status(h.t.Context(), tenantID)
	require.NoError(h.t, err)
	return st
}

// linkedPeople links tenant t1 with n people (n+3 users: a shared mailbox, a room and a guest
// besides), each with a contact created by the initial sync.
func linkedPeople(t *testing.T, h *harness, n int) *FakeTenant {
	t.Helper()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", n)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	require.Len(t, h.users("t1"), n+3)
	require.Len(t, h.links("t1"), n)
	require.Zero(t, h.deactivated())
	return ft
}

// heldEmptyListing is the incident of issue 12: a linked tenant with 40 people whose source
// then answers an empty "complete" user listing, held by the guard.
func heldEmptyListing(t *testing.T, h *harness) *Report {
	t.Helper()
	linkedPeople(t, h, 40)
	h.src.SetMode("t1", tenantsync.KindUsers, FakeEmpty, nil)
	rep := h.syncNow("t1")
	require.True(t, rep.Kinds[tenantsync.KindUsers].Held, "an empty listing of 43 users is held")
	return rep
}

// The guarantees a PSA relies on, on every store: the mirror, contacts and cursor of a held kind
// do not move until a person or a later fetch says so, and the hold survives in the store.
func TestDeletionGuardScenarios(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"EmptyCompleteListingIsHeld", guardEmptyListingHeld},
		{"ReleasedByAPerson", guardReleasedByPerson},
		{"ConfirmedByALaterFetch", guardConfirmed},
		{"ItemsBackClearTheHold", guardItemsBack},
		{"SmallRemovalAppliesAtOnce", guardSmallRemoval},
		{"CountAloneDoesNotTrip", guardCountAlone},
		{"PercentageAloneDoesNotTrip", guardPercentageAlone},
		{"HeldChangeSetIsDeliveredAgain", guardHeldChangeSet},
		{"EveryUserBlockedIsHeld", guardBlockedUsers},
		{"ReleaseCoversOnlyTheHeldItems", guardReleaseCoversHeldOnly},
		{"RemovalSpreadOverSyncsIsHeld", guardSpreadRemoval},
	}
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					h := newHarnessOn(t, func(now func() time.Time) store.Store { return sc.open(t, now) })
					s.run(t, h)
				})
			}
		})
	}
}

func guardEmptyListingHeld(t *testing.T, h *harness) {
	ctx := t.Context()
	linkedPeople(t, h, 40)
	before := h.kindState("t1", tenantsync.KindUsers)
	require.NotEmpty(t, before.Cursor)
	// The other kinds keep syncing: a device enrolled meanwhile arrives.
	h.src.Silently("t1", func(ft *FakeTenant) {
		ft.Devices = append(ft.Devices, tenantsync.Device{TenantID: "t1", ID: "t1-d3", DeviceName: "LAPTOP-3"})
	})
	h.src.SetMode("t1", tenantsync.KindUsers, FakeEmpty, nil)
	rep := h.syncNow("t1")
	heldAt := h.clock.Now()

	kr := rep.Kinds[tenantsync.KindUsers]
	assert.True(t, kr.Held)
	assert.Equal(t, 43, kr.WouldRemove)
	assert.Zero(t, kr.Removed)
	assert.Equal(t, 43, kr.Total, "the mirror keeps every user")
	assert.True(t, rep.Partial())
	assert.Equal(t, before, h.kindState("t1", tenantsync.KindUsers), "nothing of the users changed, cursor included")
	assert.Zero(t, h.deactivated(), "no contact is deactivated")
	assert.Zero(t, rep.Contacts.Deactivated)
	for _, l := range h.links("t1") {
		assert.False(t, l.Deactivated, "link of %s", l.ObjectID)
	}
	assert.Equal(t, 1, rep.Kinds[tenantsync.KindDevices].Added, "the other kinds sync as usual")

	st := h.status("t1")
	assert.False(t, st.Healthy())
	require.Len(t, st.Holds, 1)
	hold := st.Holds[0]
	assert.Equal(t, tenantsync.KindUsers, hold.Kind)
	assert.Equal(t, "cipp", hold.Source)
	assert.Equal(t, tenantsync.Complete, hold.Mode)
	assert.Equal(t, 43, hold.Removals)
	assert.Equal(t, 43, hold.Of)
	assert.True(t, hold.Since.Equal(heldAt), "since %v, want %v", hold.Since, heldAt)
	assert.True(t, hold.ConfirmAt.Equal(heldAt.Add(DefaultConfirmAfter)))
	assert.False(t, hold.Released)
	assert.Len(t, hold.Examples, MaxHoldExamples)
	assert.Contains(t, hold.Hint, "43 of the 43 users")
	assert.Contains(t, hold.Hint, "admin centre")
	assert.Contains(t, hold.Hint, "release the hold")
	assert.Len(t, st.State.Holds[tenantsync.KindUsers].IDs, 43, "the store keeps every held ID")

	ev := h.sink.WaitFor(t, EventDeletionHeld, "t1", 1)[0]
	assert.Equal(t, tenantsync.KindUsers, ev.Kind)
	assert.Equal(t, 43, ev.Count)
	assert.Equal(t, hold.Hint, ev.Hint)
	assert.Contains(t, ev.Message, "43 of 43 users")

	// Held again on the next sync, from the same point: same hold, no new event.
	rep = h.syncNow("t1")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Equal(t, before, h.kindState("t1", tenantsync.KindUsers))
	assert.True(t, h.status("t1").Holds[0].Since.Equal(heldAt))

	// The hold is in the store: an engine started afresh on it shows it and keeps holding.
	cfg := h.cfg
	cfg.InstanceID = "engine-b"
	cfg.Sink = nil
	eng2, err := New(cfg)
	require.NoError(t, err)
	defer func() { _ = eng2.Close(context.Background()) }()
	st2, err := eng2.Status(ctx, "t1")
	require.NoError(t, err)
	require.Len(t, st2.Holds, 1)
	assert.True(t, st2.Holds[0].Since.Equal(heldAt))
	h.clock.Advance(DefaultCooldown)
	rep, err = eng2.SyncNow(ctx, "t1")
	require.NoError(t, err)
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Zero(t, h.deactivated())
	assert.Len(t, h.users("t1"), 43)

	require.NoError(t, h.eng.Close(ctx))
	assert.Len(t, h.sink.Events(EventDeletionHeld), 1, "a hold is announced once")
	assert.Equal(t, uint64(1), h.eng.Counters().HoldsPlaced)
}

func guardReleasedByPerson(t *testing.T, h *harness) {
	ctx := t.Context()
	heldEmptyListing(t, h)

	err := h.eng.ReleaseHold(ctx, "bob", "t1", tenantsync.KindMailboxes)
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "mailboxes are not held")
	assert.NotEmpty(t, tenantsync.HintOf(err))

	require.NoError(t, h.eng.ReleaseHold(ctx, "bob", "t1", tenantsync.KindUsers))
	released := h.clock.Now()
	hold := h.status("t1").Holds[0]
	assert.True(t, hold.Released)
	assert.Equal(t, "bob", hold.ReleasedBy)
	assert.True(t, hold.ReleasedAt.Equal(released))
	assert.True(t, h.state("t1").NextDue.Equal(released), "the tenant is due at once")
	assert.Len(t, h.users("t1"), 43, "a release alone removes nothing")

	entries := h.auditEntries("release_hold")
	require.Len(t, entries, 2)
	assert.Equal(t, "refused", entries[0].Outcome)
	assert.Equal(t, "mailboxes", entries[0].Target)
	ok := entries[1]
	assert.Equal(t, "bob", ok.Actor)
	assert.Equal(t, "t1", ok.TenantID)
	assert.Equal(t, "users", ok.Target)
	assert.Equal(t, "succeeded", ok.Outcome)
	assert.Equal(t, "43", ok.Detail["removals"])
	assert.Equal(t, "cipp", ok.Detail["source"])
	ev := h.sink.WaitFor(t, EventDeletionReleased, "t1", 1)[0]
	assert.Equal(t, "bob", ev.Actor)

	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 43, kr.Removed, "the released removal is applied, above the threshold")
	assert.Empty(t, h.users("t1"))
	assert.Equal(t, 40, rep.Contacts.Deactivated)
	assert.Equal(t, 40, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
	assert.True(t, h.status("t1").Healthy())
	applied := h.sink.WaitFor(t, EventDeletionApplied, "t1", 1)[0]
	assert.Equal(t, 43, applied.Count)
	assert.Contains(t, applied.Message, "bob")

	// Applied once: there is nothing left to release.
	require.ErrorIs(t, h.eng.ReleaseHold(ctx, "bob", "t1", tenantsync.KindUsers), tenantsync.ErrNotFound)
	c := h.eng.Counters()
	assert.Equal(t, uint64(1), c.HoldsReleased)
	assert.Equal(t, uint64(1), c.HoldsApplied)
	assert.Equal(t, uint64(40), c.ContactsDeactivated)
}

func guardConfirmed(t *testing.T, h *harness) {
	heldEmptyListing(t, h)
	heldAt := h.clock.Now()

	h.clock.Advance(DefaultConfirmAfter - time.Hour)
	rep := h.syncNow("t1")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held, "23 hours later the removal is still held")
	assert.Zero(t, h.deactivated())

	h.clock.Advance(time.Hour)
	require.False(t, h.clock.Now().Before(heldAt.Add(DefaultConfirmAfter)))
	rep = h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 43, kr.Removed, "a fetch 24 hours on that still misses them confirms the removal")
	assert.Equal(t, 40, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
	ev := h.sink.WaitFor(t, EventDeletionApplied, "t1", 1)[0]
	assert.Contains(t, ev.Message, "still missing")
	assert.Equal(t, uint64(1), h.eng.Counters().HoldsApplied)
}

func guardItemsBack(t *testing.T, h *harness) {
	heldEmptyListing(t, h)
	before := h.kindState("t1", tenantsync.KindUsers)

	// The source answers properly again, and three users were deleted meanwhile.
	h.src.SetMode("t1", tenantsync.KindUsers, FakeAuto, nil)
	for _, id := range []string{"t1-u000", "t1-u001", "t1-u002"} {
		h.src.RemoveUser("t1", id)
	}
	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, tenantsync.Changes, kr.Mode, "the delta resumes from the cursor the hold kept")
	assert.Equal(t, 3, kr.Removed, "what is still missing is removed as usual")
	assert.Len(t, h.users("t1"), 40)
	assert.Equal(t, 3, h.deactivated())
	assert.NotEqual(t, before.Cursor, h.kindState("t1", tenantsync.KindUsers).Cursor)
	assert.Empty(t, h.status("t1").Holds, "the hold cleared by itself")
	ev := h.sink.WaitFor(t, EventDeletionCleared, "t1", 1)[0]
	assert.Equal(t, tenantsync.KindUsers, ev.Kind)
	assert.Equal(t, uint64(1), h.eng.Counters().HoldsCleared)
	assert.Zero(t, h.eng.Counters().HoldsApplied)
}

func guardSmallRemoval(t *testing.T, h *harness) {
	linkedPeople(t, h, 40)
	// Ten of 43: not more than ten, so not held whatever the share.
	for i := range 10 {
		h.src.RemoveUser("t1", fmt.Sprintf("t1-u%03d", i))
	}
	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 10, kr.Removed)
	assert.Equal(t, 10, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
	assert.Zero(t, h.eng.Counters().HoldsPlaced)
}

func guardCountAlone(t *testing.T, h *harness) {
	// Eleven of 100 users: more than ten, but 11% of the mirror.
	linkedPeople(t, h, 97)
	for i := range 11 {
		h.src.RemoveUser("t1", fmt.Sprintf("t1-u%03d", i))
	}
	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 11, kr.Removed)
	assert.Equal(t, 11, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
}

func guardPercentageAlone(t *testing.T, h *harness) {
	// Every one of 10 users: all of the mirror, but not more than ten items.
	linkedPeople(t, h, 7)
	h.src.SetMode("t1", tenantsync.KindUsers, FakeEmpty, nil)
	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 10, kr.Removed)
	assert.Equal(t, 7, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
}

func guardHeldChangeSet(t *testing.T, h *harness) {
	ctx := t.Context()
	linkedPeople(t, h, 40)
	before := h.kindState("t1", tenantsync.KindUsers)
	cursorSent := func() string {
		calls := h.src.Calls()
		return calls[len(calls)-1].Cursors[tenantsync.KindUsers]
	}
	// One delta round removes 20 users and adds one.
	for i := range 20 {
		h.src.RemoveUser("t1", fmt.Sprintf("t1-u%03d", i))
	}
	h.src.PutUser("t1", person("t1-u900", "New", "Starter", "contoso.example"))
	rep := h.syncNow("t1")
	first := cursorSent()
	require.NotEmpty(t, first)
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Changes, kr.Mode)
	assert.True(t, kr.Held)
	assert.Equal(t, 20, kr.WouldRemove)
	assert.Equal(t, before, h.kindState("t1", tenantsync.KindUsers), "neither the removals nor the upsert are applied, and the cursor stays")
	assert.NotContains(t, h.users("t1"), "t1-u900")
	assert.Zero(t, h.deactivated())
	hold := h.status("t1").Holds[0]
	assert.Equal(t, tenantsync.Changes, hold.Mode)
	assert.Contains(t, hold.Hint, "removes 20 of the 43 users")

	// The next delta starts from the same cursor, so the held change set is delivered again.
	rep = h.syncNow("t1")
	assert.Equal(t, first, cursorSent())
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Equal(t, 20, rep.Kinds[tenantsync.KindUsers].WouldRemove)

	require.NoError(t, h.eng.ReleaseHold(ctx, "carol", "t1", tenantsync.KindUsers))
	rep = h.syncNow("t1")
	assert.Equal(t, first, cursorSent(), "the release is applied from the held cursor")
	kr = rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 20, kr.Removed)
	assert.Equal(t, 1, kr.Added, "the held change set's upsert is not lost")
	assert.Contains(t, h.users("t1"), "t1-u900")
	assert.Len(t, h.users("t1"), 24)
	assert.Equal(t, 20, h.deactivated())
	assert.Equal(t, 1, rep.Contacts.Created)
	assert.NotEqual(t, before.Cursor, h.kindState("t1", tenantsync.KindUsers).Cursor)

	// The cursor has moved on: the next delta is empty.
	rep = h.syncNow("t1")
	assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Fetched)
	assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Removed)
}

// Every kind is guarded, from a complete listing, and a held kind leaves the others alone.
func TestDeletionGuardEveryKind(t *testing.T) {
	t.Parallel()
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range n {
			out[i] = f(i)
		}
		return out
	}
	cases := []struct {
		kind  tenantsync.Kind
		fill  func(ft *FakeTenant) // gives the kind 30 items
		empty func(ft *FakeTenant)
	}{
		{tenantsync.KindMailboxes, func(ft *FakeTenant) {}, func(ft *FakeTenant) { ft.Mailboxes = nil }},
		{tenantsync.KindDevices, func(ft *FakeTenant) {
			ft.Devices = nil
			for _, id := range many(30, func(i int) string { return fmt.Sprintf("t1-d%02d", i) }) {
				ft.Devices = append(ft.Devices, tenantsync.Device{TenantID: "t1", ID: id, DeviceName: id})
			}
		}, func(ft *FakeTenant) { ft.Devices = nil }},
		{tenantsync.KindDomains, func(ft *FakeTenant) {
			for _, d := range many(27, func(i int) string { return fmt.Sprintf("brand%02d.example", i) }) {
				ft.Domains = append(ft.Domains, tenantsync.Domain{TenantID: "t1", Name: d, IsVerified: true})
			}
		}, func(ft *FakeTenant) { ft.Domains = ft.Domains[:1] }},
		{tenantsync.KindSubscriptions, func(ft *FakeTenant) {
			for _, s := range many(29, func(i int) string { return fmt.Sprintf("sku-%02d", i) }) {
				ft.Subscriptions = append(ft.Subscriptions, tenantsync.Subscription{TenantID: "t1", SKUID: s, Enabled: 5})
			}
		}, func(ft *FakeTenant) { ft.Subscriptions = nil }},
		{tenantsync.KindMFA, func(ft *FakeTenant) {
			ft.MFA = nil
			for _, u := range ft.Users[:30] {
				ft.MFA = append(ft.MFA, tenantsync.MFAState{TenantID: "t1", UserID: u.ObjectID, Registered: true})
			}
		}, func(ft *FakeTenant) { ft.MFA = nil }},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 30)
			tc.fill(ft)
			h.src.AddTenant(ft)
			h.discoverAndLink("t1", "client-1")
			before := h.kindState("t1", tc.kind)
			n := before.Items.Len()
			require.GreaterOrEqual(t, n, 28)

			h.src.Silently("t1", tc.empty)
			h.src.PutUser("t1", person("t1-u900", "New", "Starter", "contoso.example"))
			rep := h.syncNow("t1")
			kr := rep.Kinds[tc.kind]
			assert.True(t, kr.Held)
			assert.GreaterOrEqual(t, kr.WouldRemove, 27)
			assert.Equal(t, before, h.kindState("t1", tc.kind))
			assert.Contains(t, h.users("t1"), "t1-u900", "the users sync as usual")
			hs := h.status("t1").Holds
			require.Len(t, hs, 1)
			assert.Equal(t, tc.kind, hs[0].Kind)
			assert.Equal(t, n, hs[0].Of)

			require.NoError(t, h.eng.ReleaseHold(t.Context(), "alice", "t1", tc.kind))
			rep = h.syncNow("t1")
			assert.Equal(t, kr.WouldRemove, rep.Kinds[tc.kind].Removed)
			assert.Equal(t, n-kr.WouldRemove, h.kindState("t1", tc.kind).Items.Len())
			assert.Empty(t, h.status("t1").Holds)
		})
	}
}

// A removal seen only by the periodic full listing (the deltas missed it) is held like any
// other; the kind's listing time stays too, so the next sync lists in full again and compares
// like with like until the hold ends.
func TestDeletionGuardFullListing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	linkedPeople(t, h, 40)
	h.src.Silently("t1", func(ft *FakeTenant) { ft.Users = ft.Users[20:] })
	rep := h.syncNow("t1")
	assert.False(t, rep.FullListing)
	assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Removed, "the delta does not see a silent removal")

	h.clock.Advance(DefaultFullListing)
	rep = h.syncNow("t1")
	heldAt := h.clock.Now()
	assert.True(t, rep.FullListing)
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Complete, kr.Mode)
	assert.True(t, kr.Held)
	assert.Equal(t, 20, kr.WouldRemove)
	assert.Zero(t, h.deactivated())

	rep = h.syncNow("t1")
	assert.True(t, rep.FullListing, "the held kind's listing time did not move, so the full listing is still due")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	last := h.src.Calls()[len(h.src.Calls())-1]
	assert.Empty(t, last.Cursors, "asked without cursors")

	h.clock.Advance(DefaultConfirmAfter)
	rep = h.syncNow("t1")
	assert.True(t, rep.FullListing)
	assert.Equal(t, 20, rep.Kinds[tenantsync.KindUsers].Removed, "confirmed by a full listing a day later")
	assert.Equal(t, 20, h.deactivated())
	assert.True(t, h.clock.Now().Sub(heldAt) >= DefaultConfirmAfter)

	rep = h.syncNow("t1")
	assert.False(t, rep.FullListing, "with the removal applied, deltas resume")
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
}

// A released hold covers the items the person saw, and no more: when the fetch that applies it
// takes more away, the held items are applied and the rest is held afresh, as a removal of its
// own; a few more beyond the held items ride along.
func TestDeletionGuardLargerRemovalIsHeldAfresh(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	linkedPeople(t, h, 60)
	for i := range 20 {
		h.src.RemoveUser("t1", fmt.Sprintf("t1-u%03d", i))
	}
	rep := h.syncNow("t1")
	require.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	require.NoError(t, h.eng.ReleaseHold(t.Context(), "alice", "t1", tenantsync.KindUsers))
	cursor := h.kindState("t1", tenantsync.KindUsers).Cursor

	// Before the next sync, 20 more vanish: more beyond the released ones than the guard allows.
	for i := 20; i < 40; i++ {
		h.src.RemoveUser("t1", fmt.Sprintf("t1-u%03d", i))
	}
	rep = h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, 20, kr.Removed, "the released removal is applied")
	assert.Equal(t, 20, h.deactivated())
	assert.True(t, kr.Held, "the rest is held")
	assert.Equal(t, 20, kr.WouldRemove)
	assert.Len(t, h.users("t1"), 43, "the 20 beyond the release stay in the mirror")
	assert.Equal(t, cursor, h.kindState("t1", tenantsync.KindUsers).Cursor, "the cursor stays, so the next delta shows the rest again")
	hold := h.onlyHold("t1")
	assert.False(t, hold.Released, "the release does not cover the larger removal")
	assert.Equal(t, 20, hold.Held)
	assert.Equal(t, 20, hold.Removals)
	assert.Equal(t, 43, hold.Of)
	assert.True(t, hold.Since.Equal(h.clock.Now()), "the rest is held from now")
	assert.Contains(t, hold.Hint, "the 20 users of the earlier hold were applied")
	assert.Len(t, h.sink.WaitFor(t, EventDeletionHeld, "t1", 2), 2)
	applied := h.sink.WaitFor(t, EventDeletionApplied, "t1", 1)[0]
	assert.Equal(t, 20, applied.Count)
	assert.Contains(t, applied.Message, "20 more were held afresh")
	audits := h.auditEntries("apply_hold")
	require.Len(t, audits, 1)
	assert.Equal(t, "alice", audits[0].Actor)
	assert.Equal(t, "20", audits[0].Detail["applied"])
	assert.Equal(t, "20", audits[0].Detail["held_afresh"])

	// The next delta, from the same cursor, shows the rest again: still held, nothing changes.
	rep = h.syncNow("t1")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.Equal(t, 20, h.deactivated())

	// A few more beyond a held removal keep the hold as it is (and its age).
	for i := 40; i < 43; i++ {
		h.src.RemoveUser("t1", fmt.Sprintf("t1-u%03d", i))
	}
	since := hold.Since
	rep = h.syncNow("t1")
	assert.Equal(t, 23, rep.Kinds[tenantsync.KindUsers].WouldRemove)
	hold = h.onlyHold("t1")
	assert.True(t, hold.Since.Equal(since))
	assert.Equal(t, 23, hold.Removals)
	assert.Equal(t, 20, hold.Held, "the few more do not join the held items")
	require.NoError(t, h.eng.ReleaseHold(t.Context(), "alice", "t1", tenantsync.KindUsers))
	rep = h.syncNow("t1")
	assert.False(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Equal(t, 23, rep.Kinds[tenantsync.KindUsers].Removed, "the held 20 and, within MaxRemovals, the 3 beyond them")
	assert.Equal(t, 43, h.deactivated())
	audits = h.auditEntries("apply_hold")
	require.Len(t, audits, 2)
	assert.Equal(t, "23", audits[1].Detail["applied"])
	assert.Equal(t, "3", audits[1].Detail["beyond_held"])
}

func TestDeletionGuardConfiguration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		guard DeletionGuard
		// removed users of 43 (40 people) from an empty listing after 48 hours
		wantHeldAfter2Days bool
	}{
		{"default confirms after a day", DeletionGuard{}, false},
		{"only a person releases", DeletionGuard{ConfirmAfter: -1}, true},
		{"a longer confirmation", DeletionGuard{ConfirmAfter: 72 * time.Hour}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.DeletionGuard = tc.guard })
			heldEmptyListing(t, h)
			if tc.guard.ConfirmAfter < 0 {
				assert.True(t, h.status("t1").Holds[0].ConfirmAt.IsZero())
				assert.Contains(t, h.status("t1").Holds[0].Hint, "until a person releases it")
			}
			h.clock.Advance(48 * time.Hour)
			rep := h.syncNow("t1")
			assert.Equal(t, tc.wantHeldAfter2Days, rep.Kinds[tenantsync.KindUsers].Held)
		})
	}

	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *Config) { c.DeletionGuard.Disabled = true })
		linkedPeople(t, h, 40)
		h.src.SetMode("t1", tenantsync.KindUsers, FakeEmpty, nil)
		rep := h.syncNow("t1")
		assert.False(t, rep.Kinds[tenantsync.KindUsers].Held)
		assert.Equal(t, 43, rep.Kinds[tenantsync.KindUsers].Removed)
		assert.Equal(t, 40, h.deactivated())
	})

	t.Run("NaN percentage", func(t *testing.T) {
		t.Parallel()
		_, err := New(Config{Store: memory.New(memory.Config{}), Account: "a", Sources: []tenantsync.Source{NewFakeSource("cipp")},
			DeletionGuard: DeletionGuard{MaxPercent: math.NaN()}})
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		assert.NotEmpty(t, tenantsync.HintOf(err))
	})
}

func TestDeletionGuardThreshold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		guard   DeletionGuard
		n, of   int
		tripped bool
	}{
		{"both exceeded", DeletionGuard{}, 11, 50, true},
		{"count at the limit", DeletionGuard{}, 10, 10, false},
		{"share at the limit", DeletionGuard{}, 20, 100, false},
		{"share just over", DeletionGuard{}, 21, 100, true},
		{"count alone", DeletionGuard{}, 11, 100, false},
		{"percentage alone", DeletionGuard{}, 5, 5, false},
		{"nothing removed", DeletionGuard{MaxRemovals: -1, MaxPercent: -1}, 0, 0, false},
		{"no count allowance", DeletionGuard{MaxRemovals: -1}, 3, 10, true},
		{"no share allowance", DeletionGuard{MaxPercent: -1}, 11, 1000, true},
		{"raised limits", DeletionGuard{MaxRemovals: 500, MaxPercent: 50}, 400, 500, false},
		{"disabled", DeletionGuard{Disabled: true}, 1000, 1000, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.tripped, tc.guard.withDefaults().trips(tc.n, tc.of))
		})
	}
}

func TestReleaseHoldRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	heldEmptyListing(t, h)
	ctx := t.Context()
	cases := []struct {
		name   string
		actor  string
		tenant string
		kind   tenantsync.Kind
		want   error
	}{
		{"no actor", "", "t1", tenantsync.KindUsers, tenantsync.ErrInvalidInput},
		{"unknown kind", "alice", "t1", "printers", tenantsync.ErrInvalidInput},
		{"unknown tenant", "alice", "t9", tenantsync.KindUsers, tenantsync.ErrTenantNotFound},
		{"kind not held", "alice", "t1", tenantsync.KindDevices, tenantsync.ErrNotFound},
	}
	for _, tc := range cases {
		err := h.eng.ReleaseHold(ctx, tc.actor, tc.tenant, tc.kind)
		require.ErrorIs(t, err, tc.want, tc.name)
		assert.NotEmpty(t, tenantsync.HintOf(err), tc.name)
	}

	// A tenant whose lease another engine holds (it is syncing there) is refused: the sync
	// would commit over the release the state it read before.
	_, err := h.st.Account(testAccount).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: time.Minute})
	require.NoError(t, err)
	err = h.eng.ReleaseHold(ctx, "alice", "t1", tenantsync.KindUsers)
	require.ErrorIs(t, err, tenantsync.ErrAlreadyRunning)
	assert.False(t, h.status("t1").Holds[0].Released)
	require.NoError(t, h.st.Account(testAccount).Leases.Release(ctx, "t1", "engine-b"))
	require.NoError(t, h.eng.ReleaseHold(ctx, "alice", "t1", tenantsync.KindUsers))

	outcomes := map[string]int{}
	for _, e := range h.auditEntries("release_hold") {
		outcomes[e.Outcome]++
	}
	assert.Equal(t, map[string]int{"refused": 2, "succeeded": 1}, outcomes, "refusals of a known tenant are audited")
}

// Every writer of the sync state carries the hold forward: a sync that fails, one that cannot
// list the held kind, one that changes other kinds, and MarkActive's rescheduling.
func TestDeletionHoldIsCarriedForward(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	heldEmptyListing(t, h)
	ctx := t.Context()
	want := h.state("t1").Holds
	require.Len(t, want, 1)
	keeps := func(what string) {
		t.Helper()
		assert.Equal(t, want, h.state("t1").Holds, what)
	}

	h.src.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrUnauthorized, "renew the secret", "401"))
	h.clock.Advance(DefaultCooldown)
	_, err := h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	keeps("a failed sync")
	h.src.SetFetchError("t1", nil)

	h.src.SetMode("t1", tenantsync.KindUsers, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrThrottled, "wait", "429"))
	rep := h.syncNow("t1")
	require.Equal(t, tenantsync.Unavailable, rep.Kinds[tenantsync.KindUsers].Mode)
	keeps("a sync that could not list the held kind")

	require.NoError(t, h.eng.SetKindsBy(ctx, "alice", "t1", []tenantsync.Kind{tenantsync.KindDevices}))
	h.syncNow("t1")
	keeps("a sync of other kinds")

	h.clock.Advance(20 * time.Minute)
	require.NoError(t, h.eng.MarkActive(ctx, "client-1", h.clock.Now().Add(time.Hour)))
	keeps("MarkActive")
	assert.Len(t, h.users("t1"), 43)
	assert.Zero(t, h.deactivated())
}

// The same guarantees when the source streams every kind page by page into the store's stage
// (tenantsync.FetchRequest.Sink): the guard judges the staged listing once it has completed.
func TestDeletionGuardScenariosStreamed(t *testing.T) {
	t.Parallel()
	scenarios := map[string]func(t *testing.T, h *harness){
		"EmptyCompleteListingIsHeld":    guardEmptyListingHeld,
		"ReleasedByAPerson":             guardReleasedByPerson,
		"ConfirmedByALaterFetch":        guardConfirmed,
		"ItemsBackClearTheHold":         guardItemsBack,
		"SmallRemovalAppliesAtOnce":     guardSmallRemoval,
		"HeldChangeSetIsDeliveredAgain": guardHeldChangeSet,
		"EveryUserBlockedIsHeld":        guardBlockedUsers,
		"ReleaseCoversOnlyTheHeldItems": guardReleaseCoversHeldOnly,
		"RemovalSpreadOverSyncsIsHeld":  guardSpreadRemoval,
	}
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for name, run := range scenarios {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					h := newHarnessOn(t, func(now func() time.Time) store.Store { return sc.open(t, now) })
					h.src.Stream = true
					run(t, h)
				})
			}
		})
	}
}
