package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// testStage checks a store.Stager: pages staged as a source streams them are invisible until a
// commit applies them with the cursor compare-and-set, a failed commit applies nothing, the
// deletion guard's loss is read from the stage, and a later run's stage replaces an earlier one.
func testStage(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	stager, ok := s.Account(h.acct).Mirror.(store.Stager)
	if !ok {
		t.Skip("the store's Mirror does not implement store.Stager (optional)")
	}
	m := s.Account(h.acct).Mirror
	discover(t, s, h.acct, "tA")
	_, err := m.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("", "u1", "u2", "u3", "u4"), "c1")})
	require.NoError(t, err)

	st, err := stager.Stage(ctx, "tA")
	require.NoError(t, err)
	require.NotEmpty(t, st.ID())
	// Two pages of a complete listing: u2 renamed, u3 blocked, u5 new; u4 omitted, and u6
	// listed then reported deleted on a later page of the same round.
	p1 := users("", "u1", "u2", "u6")
	p1[1].DisplayName = "Renamed"
	require.NoError(t, st.Put(ctx, &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: p1}))
	// The stage keeps what was put, not the caller's page.
	p1[1].ProxyAddresses[0], p1[1].DisplayName = "SMTP:caller@contoso.example", "changed by the caller"
	p2 := users("", "u3", "u5")
	p2[0].AccountEnabled = false
	require.NoError(t, st.Put(ctx, &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: p2, Removed: []string{"u6"}}))

	n, err := st.Count(ctx, tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	page, last, err := st.Read(ctx, tenantsync.KindUsers, "", 3)
	require.NoError(t, err)
	assert.Equal(t, "u3", last)
	require.Len(t, page.Users, 3)
	assert.Equal(t, "Renamed", page.Users[1].DisplayName)
	assert.Equal(t, users("", "u2")[0].ProxyAddresses, page.Users[1].ProxyAddresses, "the staged item is not the caller's")
	page, last, err = st.Read(ctx, tenantsync.KindUsers, last, 3)
	require.NoError(t, err)
	assert.Equal(t, "u5", last)
	require.Len(t, page.Users, 1)
	_, last, err = st.Read(ctx, tenantsync.KindUsers, last, 3)
	require.NoError(t, err)
	assert.Empty(t, last, "nothing after the last staged item")
	assert.Equal(t, []string{"u1", "u2", "u3", "u4"}, userIDs(t, s, h.acct, "tA"), "nothing staged is in the mirror")

	loss, err := st.Loss(ctx, tenantsync.KindUsers, tenantsync.Complete)
	require.NoError(t, err)
	assert.Equal(t, store.StagedLoss{Removed: []string{"u4"}, Disabled: []string{"u3"}, Of: 4}, loss)

	staged := func(cursor, expect string, keep ...string) store.KindApply {
		return store.KindApply{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Cursor: cursor},
			ExpectCursor: expect, Stage: st.ID(), Keep: keep}
	}
	// A stale cursor fails the whole commit: nothing applied, the stage kept.
	_, err = m.Commit(ctx, store.Batch{TenantID: "tA", Kinds: []store.KindApply{staged("c2", "stale")}})
	assertKind(t, err, tenantsync.ErrConflict)
	assert.Equal(t, []string{"u1", "u2", "u3", "u4"}, userIDs(t, s, h.acct, "tA"))
	n, err = st.Count(ctx, tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, 4, n, "a failed commit keeps the stage")

	// Applied with u4 kept as the mirror has it (a held removal).
	head, err := s.Account(h.acct).Feed.Head(ctx)
	require.NoError(t, err)
	res, err := m.Commit(ctx, store.Batch{TenantID: "tA", Kinds: []store.KindApply{staged("c2", "c1", "u4")},
		Links: []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: "c-1"}}}})
	require.NoError(t, err)
	require.Len(t, res.Kinds, 1)
	a := res.Kinds[0]
	assert.Equal(t, 1, a.AddedCount)
	assert.Equal(t, 2, a.UpdatedCount, "u2 renamed, u3 blocked")
	assert.Equal(t, 0, a.RemovedCount, "u4 is kept")
	assert.Equal(t, 1, a.Unchanged)
	assert.True(t, a.Changed())
	assert.Equal(t, []string{"u1", "u2", "u3", "u4", "u5"}, userIDs(t, s, h.acct, "tA"))
	u3, err := m.GetUser(ctx, "tA", "u3")
	require.NoError(t, err)
	assert.False(t, u3.AccountEnabled)
	cursors, err := m.Cursors(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, "c2", cursors[tenantsync.KindUsers])
	n, err = st.Count(ctx, tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Zero(t, n, "the commit drops what it applied from the stage")
	// The feed has the staged kind's changes, with the items' data, before the link's.
	feed, err := s.Account(h.acct).Feed.Changes(ctx, head, 0)
	require.NoError(t, err)
	var got []string
	for _, c := range feed {
		got = append(got, string(c.Type)+" "+c.ItemID+" "+c.Action)
		if c.Type == store.ChangeUpserted {
			assert.Contains(t, string(c.Data), c.ItemID, "an upsert carries the item")
		}
	}
	require.Len(t, got, 4)
	assert.ElementsMatch(t, []string{
		string(store.ChangeUpserted) + " u2 updated", string(store.ChangeUpserted) + " u3 updated", string(store.ChangeUpserted) + " u5 added",
	}, got[:3])
	assert.Equal(t, string(store.ChangeLinked)+" u1 ", got[3], "the mirror's changes come first")

	// A change set staged: u5 removed, u1 changed.
	p3 := users("", "u1")
	p3[0].JobTitle = "Changed"
	require.NoError(t, st.Put(ctx, &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Users: p3, Removed: []string{"u5", "ghost"}}))
	loss, err = st.Loss(ctx, tenantsync.KindUsers, tenantsync.Changes)
	require.NoError(t, err)
	assert.Equal(t, []string{"u5"}, loss.Removed)
	res, err = m.Commit(ctx, store.Batch{TenantID: "tA", Kinds: []store.KindApply{{
		Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Cursor: "c3"}, ExpectCursor: "c2", Stage: st.ID()}}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Kinds[0].UpdatedCount)
	assert.Equal(t, 1, res.Kinds[0].RemovedCount)
	assert.Equal(t, []string{"u1", "u2", "u3", "u4"}, userIDs(t, s, h.acct, "tA"))

	// Reset drops a kind's pages; a later run's stage replaces this one.
	require.NoError(t, st.Put(ctx, snapshot(users("", "u9"), "")))
	require.NoError(t, st.Reset(ctx, tenantsync.KindUsers))
	n, err = st.Count(ctx, tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, st.Put(ctx, snapshot(users("", "u9"), "")))
	next, err := stager.Stage(ctx, "tA")
	require.NoError(t, err)
	assert.NotEqual(t, st.ID(), next.ID())
	n, err = next.Count(ctx, tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Zero(t, n, "a new stage starts empty")
	assertKind(t, st.Put(ctx, snapshot(users("", "u10"), "")), tenantsync.ErrInvalidInput)
	_, err = m.Commit(ctx, store.Batch{TenantID: "tA", Kinds: []store.KindApply{staged("c4", "c3")}})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	require.NoError(t, next.Discard(ctx))
	require.NoError(t, next.Discard(ctx), "discarding twice is no error")
	assertKind(t, next.Put(ctx, snapshot(users("", "u10"), "")), tenantsync.ErrInvalidInput)

	// Another account cannot stage this account's tenant.
	other, ok := s.Account(h.other()).Mirror.(store.Stager)
	require.True(t, ok)
	_, err = other.Stage(ctx, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)
}
