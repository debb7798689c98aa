package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testDiscovery(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	d, err := s.Account(h.acct).Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{
		{ID: "tA", DisplayName: "Alpha", DefaultDomain: "alpha.example"},
		{ID: "tB", DisplayName: "Beta"},
	}, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"tA", "tB"}, d.New)
	assert.Equal(t, 2, d.Seen)

	d, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "graph", []tenantsync.Tenant{{ID: "tB", DisplayName: ""}, {ID: "tC", DisplayName: "Gamma"}}, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"tC"}, d.New)
	assert.Empty(t, d.Vanished)

	b, err := s.Account(h.acct).Tenants.Get(ctx, "tB")
	require.NoError(t, err)
	assert.Equal(t, "Beta", b.DisplayName, "a blank name from a source does not erase a known one")
	assert.Equal(t, []string{"cipp", "graph"}, b.Sources)
	assert.Equal(t, "graph", b.Source)
	assert.True(t, b.FirstSeen.Equal(t0))
	assert.True(t, b.LastSeen.Equal(t0.Add(time.Hour)))
	assert.Equal(t, store.TenantActive, b.Status)
	assert.Equal(t, tenantsync.AllKinds(), b.EnabledKinds)
	assert.False(t, b.Linked())

	// cipp no longer lists B: graph still does, so it stays active.
	d, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tA"}}, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, d.Vanished)
	// graph lists nothing: B and C have no source left.
	d, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "graph", nil, t0.Add(3*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"tB", "tC"}, d.Vanished)

	c, err := s.Account(h.acct).Tenants.Get(ctx, "tC")
	require.NoError(t, err, "vanished tenants are flagged, never deleted")
	assert.Equal(t, store.TenantVanished, c.Status)
	assert.True(t, c.VanishedAt.Equal(t0.Add(3*time.Hour)))
	assert.Empty(t, c.Sources)

	d, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tA"}, {ID: "tC"}}, t0.Add(4*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"tC"}, d.Returned)
	c, err = s.Account(h.acct).Tenants.Get(ctx, "tC")
	require.NoError(t, err)
	assert.Equal(t, store.TenantActive, c.Status)
	assert.True(t, c.VanishedAt.IsZero())
	assert.Equal(t, "Gamma", c.DisplayName)

	all, err := s.Account(h.acct).Tenants.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, "tA", all[0].ID)
	assert.Equal(t, "alpha.example", all[0].DefaultDomain)

	accts, err := s.Accounts(ctx)
	require.NoError(t, err)
	assert.Contains(t, accts, h.acct)

	_, err = s.Account(h.acct).Tenants.Get(ctx, "missing")
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "", nil, t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{DisplayName: "no id"}}, t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account("").Tenants.RecordDiscovery(ctx, "cipp", nil, t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
}

// testDiscoveryLastSeen: a listing that changes nothing moves LastSeen only once it is older
// than store.LastSeenPrecision (so every engine's discovery does not rewrite every record); a
// listing that changes something else writes the record, LastSeen with it.
func testDiscoveryLastSeen(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	tenants := s.Account(h.acct).Tenants
	list := []tenantsync.Tenant{{ID: "tA", DisplayName: "Alpha", DefaultDomain: "alpha.example", Domains: []string{"alpha.example"}}}
	_, err := tenants.RecordDiscovery(ctx, "graph", list, t0)
	require.NoError(t, err)
	lastSeen := func() time.Time {
		t.Helper()
		r, err := tenants.Get(ctx, "tA")
		require.NoError(t, err)
		return r.LastSeen
	}

	within := t0.Add(store.LastSeenPrecision - time.Minute)
	d, err := tenants.RecordDiscovery(ctx, "graph", list, within)
	require.NoError(t, err)
	assert.Equal(t, 1, d.Seen)
	assert.True(t, lastSeen().Equal(t0), "seen again within the precision, nothing else changed: not rewritten")

	renamed := []tenantsync.Tenant{{ID: "tA", DisplayName: "Alpha Ltd", DefaultDomain: "alpha.example", Domains: []string{"alpha.example"}}}
	_, err = tenants.RecordDiscovery(ctx, "graph", renamed, within)
	require.NoError(t, err)
	r, err := tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, "Alpha Ltd", r.DisplayName)
	assert.True(t, r.LastSeen.Equal(within), "a record written for a change carries the listing's time")

	later := within.Add(store.LastSeenPrecision)
	_, err = tenants.RecordDiscovery(ctx, "graph", renamed, later)
	require.NoError(t, err)
	assert.True(t, lastSeen().Equal(later), "older than the precision: moved")
}

func testLinking(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	require.NoError(t, s.Account(h.acct).Tenants.Link(ctx, "tA", "client-1", t0))
	a, err := s.Account(h.acct).Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, "client-1", a.ClientID)
	assert.True(t, a.LinkedAt.Equal(t0))
	assert.True(t, a.Syncing)

	err = s.Account(h.acct).Tenants.Link(ctx, "tA", "client-2", t0.Add(time.Minute))
	assertKind(t, err, tenantsync.ErrAlreadyLinked)
	var already *store.AlreadyLinkedError
	require.ErrorAs(t, err, &already)
	assert.Equal(t, "client-1", already.ClientID)
	assert.Contains(t, err.Error(), "client-1")

	require.NoError(t, s.Account(h.acct).Tenants.Link(ctx, "tB", "client-1", t0), "several tenants may share a client")
	require.NoError(t, s.Account(h.acct).Tenants.SetSyncing(ctx, "tA", false))
	a, err = s.Account(h.acct).Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.False(t, a.Syncing)
	require.NoError(t, s.Account(h.acct).Tenants.Link(ctx, "tA", "client-1", t0.Add(time.Hour)), "linking to the same client resumes")
	a, err = s.Account(h.acct).Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.True(t, a.Syncing)
	assert.True(t, a.LinkedAt.Equal(t0), "resuming keeps the original link time")

	require.NoError(t, s.Account(h.acct).Tenants.SetEnabledKinds(ctx, "tA", []tenantsync.Kind{tenantsync.KindDevices, tenantsync.KindUsers, tenantsync.KindUsers}))
	a, err = s.Account(h.acct).Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices}, a.EnabledKinds)
	assert.True(t, a.KindEnabled(tenantsync.KindDevices))
	assert.False(t, a.KindEnabled(tenantsync.KindMFA))
	assertKind(t, s.Account(h.acct).Tenants.SetEnabledKinds(ctx, "tA", []tenantsync.Kind{"printers"}), tenantsync.ErrInvalidInput)

	assertKind(t, s.Account(h.acct).Tenants.Link(ctx, "missing", "client-1", t0), tenantsync.ErrNotFound)
	assertKind(t, s.Account(h.acct).Tenants.Link(ctx, "tA", "", t0), tenantsync.ErrInvalidInput)

	require.NoError(t, s.Account(h.acct).Tenants.Unlink(ctx, "tA", store.UnlinkKeep))
	require.NoError(t, s.Account(h.acct).Tenants.Link(ctx, "tA", "client-2", t0.Add(2*time.Hour)), "an unlinked tenant can go to another client")
	a, err = s.Account(h.acct).Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, "client-2", a.ClientID)
	assert.True(t, a.LinkedAt.Equal(t0.Add(2*time.Hour)))
}

func testUnlink(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	linked(t, s, h.acct, "tKeep", "tPurge")
	contact, err := h.dir(t, h.acct).CreateContact(ctx, tenantsync.Contact{ClientID: "client-1", FirstName: "Ada", Email: "u1@contoso.example", Active: true})
	require.NoError(t, err)
	for i, id := range []string{"tKeep", "tPurge"} {
		_, err := s.Account(h.acct).Mirror.Commit(ctx, store.Batch{
			TenantID: id,
			Kinds:    []store.KindApply{{Result: snapshot(users("", "u1", "u2"), "c1")}},
			Links:    []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: fmt.Sprint("k", i)}}},
			Reviews:  []store.Review{{ObjectID: "u2", Reason: "ambiguous"}},
			State:    &store.SyncState{LastSuccess: t0},
		})
		require.NoError(t, err)
		require.NoError(t, s.Account(h.acct).Merges.Remember(ctx, store.Merge{TenantID: id, ObjectID: "u1", ClientID: "client-1", ContactID: fmt.Sprint("k", i)}))
	}
	require.NoError(t, s.Account(h.acct).Links.Set(ctx, store.ContactLink{TenantID: "tPurge", ObjectID: "u2", ClientID: "client-1", ContactID: contact.ID}))

	require.NoError(t, s.Account(h.acct).Tenants.Unlink(ctx, "tKeep", store.UnlinkKeep))
	require.NoError(t, s.Account(h.acct).Tenants.Unlink(ctx, "tPurge", store.UnlinkPurge))

	keep, err := s.Account(h.acct).Tenants.Get(ctx, "tKeep")
	require.NoError(t, err)
	assert.False(t, keep.Linked())
	assert.False(t, keep.Syncing)
	assert.Equal(t, []string{"u1", "u2"}, userIDs(t, s, h.acct, "tKeep"))
	cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tKeep")
	require.NoError(t, err)
	assert.Equal(t, "c1", cursors[tenantsync.KindUsers])
	links, err := s.Account(h.acct).Links.List(ctx, "tKeep")
	require.NoError(t, err)
	assert.Len(t, links, 1)
	merges, err := s.Account(h.acct).Merges.List(ctx, "tKeep")
	require.NoError(t, err)
	assert.Len(t, merges, 1)
	_, err = s.Account(h.acct).SyncStates.Get(ctx, "tKeep")
	require.NoError(t, err)
	reviews, err := s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{TenantID: "tKeep"})
	require.NoError(t, err)
	assert.Len(t, reviews, 1)

	purged, err := s.Account(h.acct).Tenants.Get(ctx, "tPurge")
	require.NoError(t, err, "purge keeps the discovered tenant")
	assert.False(t, purged.Linked())
	assert.False(t, purged.Syncing)
	assert.Empty(t, userIDs(t, s, h.acct, "tPurge"))
	counts, err := s.Account(h.acct).Mirror.Counts(ctx, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, counts)
	cursors, err = s.Account(h.acct).Mirror.Cursors(ctx, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, cursors)
	links, err = s.Account(h.acct).Links.List(ctx, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, links)
	merges, err = s.Account(h.acct).Merges.List(ctx, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, merges)
	_, err = s.Account(h.acct).SyncStates.Get(ctx, "tPurge")
	assertKind(t, err, tenantsync.ErrNotFound)
	reviews, err = s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{TenantID: "tPurge", IncludeResolved: true})
	require.NoError(t, err)
	assert.Empty(t, reviews)

	// PSA contacts are untouched, and the purged links no longer hold their contacts.
	got, err := h.dir(t, h.acct).GetContact(ctx, "client-1", contact.ID)
	require.NoError(t, err)
	assert.True(t, got.Active)
	require.NoError(t, s.Account(h.acct).Links.Set(ctx, store.ContactLink{TenantID: "tKeep", ObjectID: "u9", ClientID: "client-1", ContactID: contact.ID}))

	// A purged tenant starts again from nothing: no cursor to expect.
	require.NoError(t, s.Account(h.acct).Tenants.Link(ctx, "tPurge", "client-1", t0))
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tPurge", store.KindApply{Result: snapshot(users("", "u1"), "c9")})
	require.NoError(t, err)
	assertKind(t, s.Account(h.acct).Tenants.Unlink(ctx, "missing", store.UnlinkPurge), tenantsync.ErrNotFound)
}

// testClientTenants: a store's ListForClient (store.ClientTenants) answers what List filtered
// by client would, as links come and go, and sees no other account's tenants.
func testClientTenants(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	ten := s.Account(h.acct).Tenants
	ct, ok := ten.(store.ClientTenants)
	if !ok {
		t.Skip("the store's Tenants does not implement store.ClientTenants")
	}
	discover(t, s, h.acct, "tA", "tB", "tC", "tD")
	discover(t, s, h.acct+"-other", "tE")
	require.NoError(t, s.Account(h.acct+"-other").Tenants.Link(ctx, "tE", "client-1", t0))
	check := func(step string) {
		t.Helper()
		all, err := ten.List(ctx)
		require.NoError(t, err)
		for _, client := range []string{"client-1", "client-2", "", "client-none"} {
			var want []string
			for _, r := range all {
				if r.ClientID == client {
					want = append(want, r.ID)
				}
			}
			got, err := ct.ListForClient(ctx, client)
			require.NoError(t, err)
			var ids []string
			for _, r := range got {
				assert.Equal(t, client, r.ClientID)
				ids = append(ids, r.ID)
			}
			assert.Equal(t, want, ids, "%s: client %q", step, client)
		}
	}
	check("unlinked")
	require.NoError(t, ten.Link(ctx, "tC", "client-1", t0))
	require.NoError(t, ten.Link(ctx, "tA", "client-1", t0))
	require.NoError(t, ten.Link(ctx, "tB", "client-2", t0))
	check("linked")
	got, err := ct.ListForClient(ctx, "client-1")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "tA", got[0].ID, "ordered by ID")
	require.NoError(t, ten.Unlink(ctx, "tA", store.UnlinkKeep))
	require.NoError(t, ten.Unlink(ctx, "tB", store.UnlinkPurge))
	check("unlinked again")
}
