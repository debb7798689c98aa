package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testSyncState(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	_, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)

	failure := &tenantsync.Error{Class: tenantsync.ErrRoleMissing, Service: "graph", Hint: "grant the Directory Readers role"}
	st := store.SyncState{
		TenantID: "tA", LastStart: t0, LastFinish: t0.Add(90 * time.Second), LastSuccess: t0.Add(-time.Hour),
		LastError:  store.SyncErrorOf(failure, t0.Add(90*time.Second)),
		KindErrors: map[tenantsync.Kind]store.SyncError{tenantsync.KindMFA: *store.SyncErrorOf(tenantsync.Errorf(tenantsync.ErrLicenseRequired, "buy P1", "no P1"), t0)},
		Counts:     map[tenantsync.Kind]int{tenantsync.KindUsers: 120, tenantsync.KindDevices: 40},
		Duration:   90 * time.Second, NextDue: t0.Add(time.Hour), Running: true,
		Progress: map[tenantsync.Kind]int{tenantsync.KindUsers: 60},
	}
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, st))
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "tB", LastStart: t0}))
	got, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	require.NotNil(t, got.LastError)
	assert.Equal(t, "role_missing", got.LastError.Kind)
	assert.Equal(t, "grant the Directory Readers role", got.LastError.Hint)
	assert.Equal(t, failure.Error(), got.LastError.Message)
	assert.Equal(t, "licence_required", got.KindErrors[tenantsync.KindMFA].Kind)
	assert.Equal(t, st.Counts, got.Counts)
	assert.Equal(t, st.Progress, got.Progress)
	assert.Equal(t, 90*time.Second, got.Duration)
	assert.True(t, got.NextDue.Equal(t0.Add(time.Hour)))
	assert.True(t, got.LastSuccess.Equal(t0.Add(-time.Hour)))
	assert.True(t, got.Running)

	st.LastError, st.Running = nil, false
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, st))
	got, err = s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Nil(t, got.LastError)
	assert.False(t, got.Running)

	all, err := s.Account(h.acct).SyncStates.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "tA", all[0].TenantID)
	assertKind(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "missing"}), tenantsync.ErrNotFound)
	assert.Nil(t, store.SyncErrorOf(nil, t0))
	testSyncStateHolds(t, h)
	testSyncStateContacts(t, h)
}

// testSyncStateContacts checks that the contact failures, pending count, stop reason and create
// intents survive the store whole: a lost failure would hide a user the PSA keeps refusing, and
// a lost intent could let a crash make a second contact.
func testSyncStateContacts(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	first := t0.Add(-3*time.Hour + 987654321*time.Nanosecond)
	poison := store.ContactFailure{ObjectID: "u1", UPN: "pat@contoso.example", DisplayName: "Pat", Op: store.ContactCreate,
		Kind: "invalid_input", Message: "Phone is not a valid number", Hint: "fix the phone number", Attempts: 5,
		FirstAt: first, LastAt: t0, NeedsPerson: true}
	update := store.ContactFailure{ObjectID: "u2", Op: store.ContactUpdate, ContactID: "c2", Kind: "conflict", Attempts: 1,
		FirstAt: t0, LastAt: t0, NextRetry: t0.Add(time.Hour), Ignored: true, DecidedBy: "alice", DecidedAt: t0.Add(time.Minute)}
	intent := store.CreateIntent{Key: "tenantsync:ta:u3", At: first, Contact: tenantsync.Contact{ClientID: "client-1",
		FirstName: "No", LastName: "Mail", AltEmails: []string{"alt@contoso.example"}, Active: true, TenantID: "tA", ObjectID: "u3"},
		Existing: []string{"c7", "c9"}}
	st := store.SyncState{TenantID: "tA", LastStart: t0, ContactsPending: 42, Creation: store.ContactCreation{Created: 500, Remaining: 8434},
		ContactsError:   store.SyncErrorOf(&tenantsync.Error{Class: tenantsync.ErrThrottled, Hint: "wait"}, first),
		ContactFailures: map[string]store.ContactFailure{"u1": poison, "u2": update},
		CreateIntents:   map[string]store.CreateIntent{"u3": intent}}
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, st))

	check := func(got store.SyncState) {
		t.Helper()
		assert.Equal(t, 42, got.ContactsPending)
		assert.Equal(t, store.ContactCreation{Created: 500, Remaining: 8434}, got.Creation)
		require.NotNil(t, got.ContactsError)
		assert.Equal(t, "throttled", got.ContactsError.Kind)
		assert.Equal(t, "wait", got.ContactsError.Hint)
		assert.True(t, got.ContactsError.At.Equal(store.Time(first)))
		require.Len(t, got.ContactFailures, 2)
		g1 := got.ContactFailures["u1"]
		assert.True(t, g1.FirstAt.Equal(store.Time(first)), "first at %v, want %v", g1.FirstAt, first)
		g1.FirstAt = poison.FirstAt
		g1.LastAt = poison.LastAt
		assert.Equal(t, poison, g1)
		g2 := got.ContactFailures["u2"]
		assert.True(t, g2.NextRetry.Equal(t0.Add(time.Hour)))
		assert.True(t, g2.DecidedAt.Equal(t0.Add(time.Minute)))
		assert.True(t, g2.Ignored)
		assert.Equal(t, "alice", g2.DecidedBy)
		assert.Equal(t, store.ContactUpdate, g2.Op)
		assert.Equal(t, "c2", g2.ContactID)
		require.Len(t, got.CreateIntents, 1)
		gi := got.CreateIntents["u3"]
		assert.Equal(t, intent.Key, gi.Key)
		assert.Equal(t, intent.Contact, gi.Contact)
		assert.Equal(t, []string{"c7", "c9"}, gi.Existing)
		assert.True(t, gi.At.Equal(store.Time(first)))
	}
	got, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	check(got)
	all, err := s.Account(h.acct).SyncStates.List(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	check(all[0])

	// Neither the caller's value nor a returned one is the stored state.
	intent.Contact.AltEmails[0] = "changed-by-caller"
	got.CreateIntents["u3"].Contact.AltEmails[0] = "changed-by-reader"
	got.CreateIntents["u3"].Existing[0] = "changed-by-reader"
	delete(got.ContactFailures, "u1")
	again, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, []string{"alt@contoso.example"}, again.CreateIntents["u3"].Contact.AltEmails)
	assert.Equal(t, []string{"c7", "c9"}, again.CreateIntents["u3"].Existing)
	assert.Len(t, again.ContactFailures, 2)

	// A state written without them has none: a resolved failure or intent is gone.
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "tA", LastStart: t0}))
	got, err = s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Empty(t, got.ContactFailures)
	assert.Empty(t, got.CreateIntents)
	assert.Nil(t, got.ContactsError)
	assert.Zero(t, got.ContactsPending)
}

// testSyncStateHolds checks that the deletion guard's holds survive the store whole: a hold is
// what stops a mass removal, so one lost or changed in storage would let it through.
func testSyncStateHolds(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	since := t0.Add(-25*time.Hour + 123456789*time.Nanosecond)
	users := store.DeletionHold{
		Kind: tenantsync.KindUsers, Source: "cipp", Mode: tenantsync.Complete,
		IDs: []string{"u1", "u2", "u3"}, Removals: 3, Of: 12, Since: since, LastSeen: t0,
		Released: true, ReleasedBy: "alice@msp.example", ReleasedAt: t0.Add(time.Minute),
		Hint: "check the users in the admin centre, then release the hold",
	}
	devices := store.DeletionHold{Kind: tenantsync.KindDevices, Source: "graph", Mode: tenantsync.Changes,
		IDs: []string{"d1"}, Removals: 1, Of: 1, Disabled: 2, Recent: 7, Since: t0, LastSeen: t0}
	// The rolling window's tally is what lets the guard see a removal spread over several syncs.
	recent := []store.RecentLoss{{From: since, To: since.Add(time.Minute), Removed: 4, Disabled: 5}, {From: t0, To: t0, Removed: 1, Approved: 30}}
	st := store.SyncState{TenantID: "tA", LastStart: t0,
		Holds:  map[tenantsync.Kind]store.DeletionHold{tenantsync.KindUsers: users, tenantsync.KindDevices: devices},
		Recent: map[tenantsync.Kind][]store.RecentLoss{tenantsync.KindUsers: recent}}
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, st))

	check := func(got store.SyncState) {
		t.Helper()
		require.Len(t, got.Holds, 2)
		gu := got.Holds[tenantsync.KindUsers]
		assert.Equal(t, tenantsync.KindUsers, gu.Kind)
		assert.Equal(t, "cipp", gu.Source)
		assert.Equal(t, tenantsync.Complete, gu.Mode)
		assert.Equal(t, []string{"u1", "u2", "u3"}, gu.IDs)
		assert.Equal(t, 3, gu.Removals)
		assert.Equal(t, 12, gu.Of)
		assert.True(t, gu.Since.Equal(store.Time(since)), "since %v, want %v", gu.Since, since)
		assert.True(t, gu.LastSeen.Equal(t0))
		assert.True(t, gu.Released)
		assert.Equal(t, "alice@msp.example", gu.ReleasedBy)
		assert.True(t, gu.ReleasedAt.Equal(t0.Add(time.Minute)))
		assert.Equal(t, users.Hint, gu.Hint)
		gd := got.Holds[tenantsync.KindDevices]
		assert.Equal(t, tenantsync.Changes, gd.Mode)
		assert.Equal(t, []string{"d1"}, gd.IDs)
		assert.False(t, gd.Released)
		assert.True(t, gd.ReleasedAt.IsZero())
		assert.Equal(t, 2, gd.Disabled)
		assert.Equal(t, 7, gd.Recent)
		require.Len(t, got.Recent[tenantsync.KindUsers], 2)
		gr := got.Recent[tenantsync.KindUsers][0]
		assert.True(t, gr.From.Equal(store.Time(since)), "from %v, want %v", gr.From, since)
		assert.True(t, gr.To.Equal(store.Time(since.Add(time.Minute))))
		assert.Equal(t, 4, gr.Removed)
		assert.Equal(t, 5, gr.Disabled)
		assert.Equal(t, 1, got.Recent[tenantsync.KindUsers][1].Removed)
		assert.Equal(t, 30, got.Recent[tenantsync.KindUsers][1].Approved)
	}
	got, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	check(got)
	all, err := s.Account(h.acct).SyncStates.List(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	check(all[0])

	// Neither the caller's value nor a returned one is the stored hold.
	users.IDs[0] = "changed-by-caller"
	recent[0].Removed = 99
	got.Holds[tenantsync.KindUsers].IDs[1] = "changed-by-reader"
	got.Recent[tenantsync.KindUsers][1].Removed = 99
	delete(got.Holds, tenantsync.KindDevices)
	again, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	check(again)

	// A state written without holds has none: releasing or confirming a hold removes it.
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "tA", LastStart: t0}))
	got, err = s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Empty(t, got.Holds)
	assert.Empty(t, got.Recent)
}
