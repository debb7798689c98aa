package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testBillingHistory(t *testing.T, h *harness) {
	ctx, b := t.Context(), h.s.Account(h.acct).Billing
	day := func(n int) time.Time { return time.Date(2026, 3, n, 0, 0, 0, 0, time.UTC) }

	none, err := b.Snapshots(ctx, store.BillingQuery{})
	require.NoError(t, err)
	assert.Empty(t, none)

	// A snapshot's day is its UTC day, whatever the time and zone it was taken in.
	east := time.FixedZone("UTC+10", 10*3600)
	require.NoError(t, b.PutSnapshot(ctx, store.BillingSnapshot{ClientID: "c1", Day: time.Date(2026, 3, 2, 8, 0, 0, 0, east),
		Billable: 10, PerTenant: map[string]int{"t1": 7, "t2": 3}, Complete: true, TakenAt: t0}))
	for n := 2; n <= 5; n++ {
		require.NoError(t, b.PutSnapshot(ctx, store.BillingSnapshot{ClientID: "c2", Day: day(n), Billable: n, PerTenant: map[string]int{"t3": n}, Complete: n != 4, TakenAt: t0}))
	}
	// A later count of the same day replaces the earlier one.
	require.NoError(t, b.PutSnapshot(ctx, store.BillingSnapshot{ClientID: "c1", Day: day(1).Add(23 * time.Hour),
		Billable: 12, PerTenant: map[string]int{"t1": 9, "t2": 3}, Complete: true, TakenAt: t0.Add(time.Hour)}))

	all, err := b.Snapshots(ctx, store.BillingQuery{})
	require.NoError(t, err)
	require.Len(t, all, 5)
	assert.Equal(t, "c1", all[0].ClientID)
	assert.True(t, all[0].Day.Equal(day(1)), "day %v", all[0].Day)
	assert.Equal(t, 12, all[0].Billable)
	assert.Equal(t, map[string]int{"t1": 9, "t2": 3}, all[0].PerTenant)
	assert.True(t, all[0].TakenAt.Equal(t0.Add(time.Hour)))
	for i, n := range []int{2, 3, 4, 5} {
		assert.Equal(t, "c2", all[i+1].ClientID)
		assert.True(t, all[i+1].Day.Equal(day(n)), "day %v", all[i+1].Day)
		assert.Equal(t, n != 4, all[i+1].Complete)
	}

	// A range includes both of its days and reads one client.
	got, err := b.Snapshots(ctx, store.BillingQuery{ClientID: "c2", From: day(3).Add(15 * time.Hour), To: day(4)})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, []int{3, 4}, []int{got[0].Billable, got[1].Billable})
	got, err = b.Snapshots(ctx, store.BillingQuery{From: day(5)})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, 5, got[0].Billable)

	// What a caller changes in a result is not the store's.
	got[0].PerTenant["t3"] = 99
	again, err := b.Snapshots(ctx, store.BillingQuery{From: day(5)})
	require.NoError(t, err)
	assert.Equal(t, 5, again[0].PerTenant["t3"])

	_, err = b.Snapshots(ctx, store.BillingQuery{From: day(5), To: day(4)})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = b.Snapshots(ctx, store.BillingQuery{From: day(1), To: day(1).AddDate(2, 0, 0)})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	assertKind(t, b.PutSnapshot(ctx, store.BillingSnapshot{Day: day(1)}), tenantsync.ErrInvalidInput)
	assertKind(t, b.PutSnapshot(ctx, store.BillingSnapshot{ClientID: "c1"}), tenantsync.ErrInvalidInput)
	assertKind(t, b.PutSnapshot(ctx, store.BillingSnapshot{ClientID: "c1", Day: day(1), Billable: -1}), tenantsync.ErrInvalidInput)

	// Another account sees none of it.
	other, err := h.s.Account(h.other()).Billing.Snapshots(ctx, store.BillingQuery{})
	require.NoError(t, err)
	assert.Empty(t, other)
}

func testSettings(t *testing.T, h *harness) {
	ctx, st := t.Context(), h.s.Account(h.acct).Settings
	on, off := true, false

	def, err := st.Defaults(ctx)
	require.NoError(t, err)
	assert.True(t, def.Unset())
	c, err := st.Client(ctx, "c1")
	require.NoError(t, err)
	assert.True(t, c.Unset())

	require.NoError(t, st.PutDefaults(ctx, store.ClientSettings{AutoCreateContacts: &on, AutoMonitorDomains: &on,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}, UpdatedBy: "alice", UpdatedAt: t0}))
	// Kinds are kept in sync order without repeats; an empty list (sync nothing) is not nil.
	require.NoError(t, st.PutClient(ctx, "c1", store.ClientSettings{AutoCreateContacts: &off,
		Kinds: []tenantsync.Kind{tenantsync.KindDevices, tenantsync.KindUsers, tenantsync.KindDevices}, UpdatedBy: "bob", UpdatedAt: t0}))
	require.NoError(t, st.PutClient(ctx, "c2", store.ClientSettings{Kinds: []tenantsync.Kind{}, AutoCreateAssets: &on}))

	def, err = st.Defaults(ctx)
	require.NoError(t, err)
	require.NotNil(t, def.AutoCreateContacts)
	assert.True(t, *def.AutoCreateContacts)
	assert.Nil(t, def.AutoCreateAssets)
	assert.Equal(t, "alice", def.UpdatedBy)
	assert.True(t, def.UpdatedAt.Equal(t0))

	c1, err := st.Client(ctx, "c1")
	require.NoError(t, err)
	require.NotNil(t, c1.AutoCreateContacts)
	assert.False(t, *c1.AutoCreateContacts)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices}, c1.Kinds)
	eff := c1.Over(def)
	assert.False(t, *eff.AutoCreateContacts, "the client's own setting wins")
	require.NotNil(t, eff.AutoMonitorDomains)
	assert.True(t, *eff.AutoMonitorDomains, "an unset field takes the default")
	assert.Equal(t, "bob", eff.UpdatedBy)

	c2, err := st.Client(ctx, "c2")
	require.NoError(t, err)
	require.NotNil(t, c2.Kinds)
	assert.Empty(t, c2.Kinds)
	assert.Empty(t, c2.Over(def).Kinds, "syncing no kind is a choice, not an unset field")

	list, err := st.ListClients(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	assert.Contains(t, list, "c1")
	assert.Contains(t, list, "c2")

	// Settings that set nothing put the client back on the defaults.
	require.NoError(t, st.PutClient(ctx, "c2", store.ClientSettings{}))
	list, err = st.ListClients(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)

	assertKind(t, st.PutClient(ctx, "c1", store.ClientSettings{Kinds: []tenantsync.Kind{"groups-typo"}}), tenantsync.ErrInvalidInput)
	assertKind(t, st.PutClient(ctx, "", store.ClientSettings{AutoCreateContacts: &on}), tenantsync.ErrInvalidInput)
	_, err = st.Client(ctx, "")
	assertKind(t, err, tenantsync.ErrInvalidInput)
	c1, err = st.Client(ctx, "c1")
	require.NoError(t, err)
	assert.Len(t, c1.Kinds, 2, "a refused put changes nothing")

	other, err := h.s.Account(h.other()).Settings.ListClients(ctx)
	require.NoError(t, err)
	assert.Empty(t, other)
	odef, err := h.s.Account(h.other()).Settings.Defaults(ctx)
	require.NoError(t, err)
	assert.True(t, odef.Unset())
}

func testDisconnect(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	a := s.Account(h.acct)
	linked(t, s, h.acct, "tA", "tB", "tC")
	discover(t, s, h.acct, "tA", "tB", "tC", "tFree")
	for _, id := range []string{"tA", "tB", "tC"} {
		_, err := a.Mirror.Commit(ctx, store.Batch{TenantID: id, Kinds: []store.KindApply{{Result: snapshot(users("", "u1"), "c1")}},
			Links: []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: "k-" + id}}}})
		require.NoError(t, err)
	}
	require.NoError(t, a.Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{}`), Secret: store.NewSecret("cipp-secret")}))
	require.NoError(t, a.Connections.Put(ctx, store.Connection{Name: "partner", Kind: store.ConnectionPartnerCenter, Config: []byte(`{}`), Secret: store.NewSecret("pc-secret")}))
	head, err := a.Feed.Head(ctx)
	require.NoError(t, err)

	// A request that fails in part changes nothing: not the links, not the connection.
	_, err = a.Connections.Disconnect(ctx, store.DisconnectRequest{Name: "cipp", TenantIDs: []string{"tA", "tNope"}, Mode: store.UnlinkPurge})
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = a.Connections.Disconnect(ctx, store.DisconnectRequest{Name: "nope", TenantIDs: []string{"tA"}, Mode: store.UnlinkPurge})
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = a.Connections.Disconnect(ctx, store.DisconnectRequest{TenantIDs: []string{"tA"}})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = a.Connections.Disconnect(ctx, store.DisconnectRequest{Name: "cipp", Mode: store.UnlinkMode(7)})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	recA, err := a.Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.True(t, recA.Linked())
	_, err = a.Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	h2, err := a.Feed.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, h2, "a refused disconnect appends nothing to the feed")

	// Another account cannot disconnect this one's connection.
	_, err = s.Account(h.other()).Connections.Disconnect(ctx, store.DisconnectRequest{Name: "cipp"})
	assertKind(t, err, tenantsync.ErrNotFound)

	out, err := a.Connections.Disconnect(ctx, store.DisconnectRequest{Name: "cipp", TenantIDs: []string{"tB", "tA", "tFree", "tA"},
		Mode: store.UnlinkPurge, Actor: "alice", At: t0})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"tA": "client-1", "tB": "client-1"}, out.Unlinked, "an unlinked tenant is left as it is")

	for _, id := range []string{"tA", "tB"} {
		rec, err := a.Tenants.Get(ctx, id)
		require.NoError(t, err)
		assert.False(t, rec.Linked(), id)
		assert.Empty(t, userIDs(t, s, h.acct, id), "purged")
		links, err := a.Links.List(ctx, id)
		require.NoError(t, err)
		assert.Empty(t, links)
	}
	recC, err := a.Tenants.Get(ctx, "tC")
	require.NoError(t, err)
	assert.True(t, recC.Linked(), "a tenant not named keeps its link")
	assert.Equal(t, []string{"u1"}, userIDs(t, s, h.acct, "tC"))
	_, err = a.Connections.Get(ctx, "cipp")
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = a.Connections.Get(ctx, "partner")
	require.NoError(t, err, "other connections stay")

	feed, err := a.Feed.Changes(ctx, head, 0)
	require.NoError(t, err)
	require.Len(t, feed, 3)
	assert.Equal(t, store.ChangeTenantUnlinked, feed[0].Type)
	assert.Equal(t, "tA", feed[0].TenantID)
	assert.Equal(t, "client-1", feed[0].ClientID)
	assert.Equal(t, "purge", feed[0].Action)
	assert.Equal(t, "tB", feed[1].TenantID)
	assert.Equal(t, store.ChangeDisconnected, feed[2].Type)
	assert.Equal(t, "cipp", feed[2].ItemID)
	assert.True(t, feed[2].At.Equal(t0))
	var data struct {
		Actor    string   `json:"actor"`
		Unlinked []string `json:"unlinked"`
	}
	require.NoError(t, json.Unmarshal(feed[2].Data, &data))
	assert.Equal(t, "alice", data.Actor)
	assert.Equal(t, []string{"tA", "tB"}, data.Unlinked)
	assert.NotContains(t, string(feed[2].Data), "cipp-secret")

	// Keep mode leaves the mirror for a relink.
	out, err = a.Connections.Disconnect(ctx, store.DisconnectRequest{Name: "partner", TenantIDs: []string{"tC"}, Mode: store.UnlinkKeep})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"tC": "client-1"}, out.Unlinked)
	recC, err = a.Tenants.Get(ctx, "tC")
	require.NoError(t, err)
	assert.False(t, recC.Linked())
	assert.Equal(t, []string{"u1"}, userIDs(t, s, h.acct, "tC"))
	links, err := a.Links.List(ctx, "tC")
	require.NoError(t, err)
	assert.Len(t, links, 1)
}
