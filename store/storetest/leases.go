package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testLeases(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	l, err := s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h1", Now: t0, TTL: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, "h1", l.Holder)
	assert.True(t, l.ExpiresAt.Equal(t0.Add(time.Minute)))

	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h2", Now: t0.Add(30 * time.Second), TTL: time.Minute})
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	var held *store.LeaseHeldError
	require.ErrorAs(t, err, &held)
	assert.Equal(t, "h1", held.Holder)
	assert.True(t, held.Until.Equal(t0.Add(time.Minute)))
	assert.Contains(t, err.Error(), "h1")

	l, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h1", Now: t0.Add(30 * time.Second), TTL: time.Minute})
	require.NoError(t, err, "the holder may acquire again to extend")
	assert.True(t, l.ExpiresAt.Equal(t0.Add(90*time.Second)))
	l, err = s.Account(h.acct).Leases.Renew(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h1", Now: t0.Add(80 * time.Second), TTL: time.Minute})
	require.NoError(t, err)
	assert.True(t, l.ExpiresAt.Equal(t0.Add(140*time.Second)))

	// h1 stops renewing: once expired, h2 takes over.
	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h2", Now: t0.Add(139 * time.Second), TTL: time.Minute})
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	l, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h2", Now: t0.Add(140 * time.Second), TTL: time.Minute})
	require.NoError(t, err, "an expired lease can be taken")
	assert.Equal(t, "h2", l.Holder)
	assert.True(t, l.AcquiredAt.Equal(t0.Add(140*time.Second)))

	_, err = s.Account(h.acct).Leases.Renew(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h1", Now: t0.Add(150 * time.Second), TTL: time.Minute})
	require.ErrorAs(t, err, &held, "the old holder learns it lost the lease")
	assert.Equal(t, "h2", held.Holder)
	require.NoError(t, s.Account(h.acct).Leases.Release(ctx, "tA", "h1"), "releasing someone else's lease changes nothing")
	got, err := s.Account(h.acct).Leases.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, "h2", got.Holder)

	require.NoError(t, s.Account(h.acct).Leases.Release(ctx, "tA", "h2"))
	_, err = s.Account(h.acct).Leases.Get(ctx, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.Account(h.acct).Leases.Renew(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h2", Now: t0.Add(160 * time.Second), TTL: time.Minute})
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h1", Now: t0.Add(160 * time.Second), TTL: time.Minute})
	require.NoError(t, err)

	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "missing", Holder: "h1", Now: t0, TTL: time.Minute})
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "", Now: t0, TTL: time.Minute})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "h1", Now: t0, TTL: 0})
	assertKind(t, err, tenantsync.ErrInvalidInput)
}

func testAcquireDue(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	var due []string
	for i := range 8 {
		due = append(due, fmt.Sprintf("t%02d", i))
	}
	discover(t, s, h.acct, append(slices.Clone(due), "unlinked", "later", "paused")...)
	for _, id := range append(slices.Clone(due), "later", "paused") {
		require.NoError(t, s.Account(h.acct).Tenants.Link(ctx, id, "client-1", t0))
	}
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "later", NextDue: t0.Add(time.Hour)}))
	require.NoError(t, s.Account(h.acct).Tenants.SetSyncing(ctx, "paused", false))
	// Never-synced tenants first, then the longest due: t07 before t06.
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "t07", NextDue: t0.Add(-time.Hour)}))
	require.NoError(t, s.Account(h.acct).SyncStates.Put(ctx, store.SyncState{TenantID: "t06", NextDue: t0}))
	claimed := func(ls []store.Lease) []string {
		ids := []string{}
		for _, l := range ls {
			ids = append(ids, l.TenantID)
		}
		return ids
	}

	first, err := s.Account(h.acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h1", Now: t0, TTL: time.Minute, Max: 3})
	require.NoError(t, err)
	assert.Equal(t, []string{"t00", "t01", "t02"}, claimed(first), "never-synced tenants first")
	got := map[string]string{}
	for _, l := range first {
		got[l.TenantID] = l.Holder
		assert.Equal(t, "h1", l.Holder)
		assert.True(t, l.ExpiresAt.Equal(t0.Add(time.Minute)))
	}

	again, err := s.Account(h.acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h1", Now: t0, TTL: time.Minute, Max: 4})
	require.NoError(t, err)
	assert.Equal(t, []string{"t03", "t04", "t05", "t07"}, claimed(again), "the longest-due tenant before the one due now")
	rest, err := s.Account(h.acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h2", Now: t0, TTL: time.Minute, Max: 100})
	require.NoError(t, err)
	assert.Equal(t, []string{"t06"}, claimed(rest))
	for _, l := range append(again, rest...) {
		_, dup := got[l.TenantID]
		assert.False(t, dup, "tenant %s handed out twice", l.TenantID)
		got[l.TenantID] = l.Holder
	}
	assert.ElementsMatch(t, due, slices.Collect(maps.Keys(got)), "exactly the due, linked, syncing tenants")

	none, err := s.Account(h.acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h3", Now: t0.Add(59 * time.Second), TTL: time.Minute, Max: 100})
	require.NoError(t, err)
	assert.Empty(t, none)

	// After expiry, and once "later" is due, h3 takes over everything.
	after, err := s.Account(h.acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h3", Now: t0.Add(time.Hour), TTL: time.Minute, Max: 100})
	require.NoError(t, err)
	ids := []string{}
	for _, l := range after {
		ids = append(ids, l.TenantID)
		assert.Equal(t, "h3", l.Holder)
	}
	assert.ElementsMatch(t, append(slices.Clone(due), "later"), ids)

	// Vanished tenants are not synced.
	_, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "cipp", nil, t0.Add(2*time.Hour))
	require.NoError(t, err)
	none, err = s.Account(h.acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h4", Now: t0.Add(3 * time.Hour), TTL: time.Minute, Max: 100})
	require.NoError(t, err)
	assert.Empty(t, none)
}

// testAcquireDueFollowsState checks that the due order follows each way a tenant's next due
// time changes: a commit's state, a state put on its own, and a purge, after which the tenant is
// as new (due first when linked again).
func testAcquireDueFollowsState(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	a := s.Account(h.acct)
	discover(t, s, h.acct, "tA", "tB", "tC")
	for _, id := range []string{"tA", "tB", "tC"} {
		require.NoError(t, a.Tenants.Link(ctx, id, "client-1", t0))
	}
	due := func(now time.Time) []string {
		t.Helper()
		ls, err := a.Leases.AcquireDue(ctx, store.DueRequest{Holder: "h", Now: now, TTL: time.Second, Max: 10})
		require.NoError(t, err)
		ids := []string{}
		for _, l := range ls {
			ids = append(ids, l.TenantID)
			require.NoError(t, a.Leases.Release(ctx, l.TenantID, "h"))
		}
		return ids
	}
	assert.Equal(t, []string{"tA", "tB", "tC"}, due(t0))

	// A commit's state: tA is due in an hour, tB in two.
	_, err := a.Mirror.Commit(ctx, store.Batch{TenantID: "tA", Now: t0, State: &store.SyncState{TenantID: "tA", NextDue: t0.Add(time.Hour)}})
	require.NoError(t, err)
	require.NoError(t, a.SyncStates.Put(ctx, store.SyncState{TenantID: "tB", NextDue: t0.Add(2 * time.Hour)}))
	assert.Equal(t, []string{"tC"}, due(t0), "a tenant whose state puts it later is not due")
	assert.Equal(t, []string{"tC", "tA"}, due(t0.Add(time.Hour)))
	assert.Equal(t, []string{"tC", "tA", "tB"}, due(t0.Add(2*time.Hour)), "in due order")

	// A state moved earlier moves the tenant up.
	require.NoError(t, a.SyncStates.Put(ctx, store.SyncState{TenantID: "tB", NextDue: t0.Add(-time.Minute)}))
	assert.Equal(t, []string{"tC", "tB"}, due(t0))

	// A purge forgets the state: linked again, tA is a tenant never synced, due first.
	require.NoError(t, a.Tenants.Unlink(ctx, "tA", store.UnlinkPurge))
	assert.Equal(t, []string{"tC", "tB"}, due(t0), "an unlinked tenant is not due")
	require.NoError(t, a.Tenants.Link(ctx, "tA", "client-1", t0))
	assert.Equal(t, []string{"tA", "tC", "tB"}, due(t0))
}
