package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testCommitAtomic(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	_, err := s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("", "u1", "u2"), "c1")})
	require.NoError(t, err)
	require.NoError(t, s.Account(h.acct).Links.Set(ctx, store.ContactLink{TenantID: "tB", ObjectID: "b1", ClientID: "client-1", ContactID: "taken"}))

	before := func() {
		t.Helper()
		assert.Equal(t, []string{"u1", "u2"}, userIDs(t, s, h.acct, "tA"))
		cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tA")
		require.NoError(t, err)
		assert.Equal(t, map[tenantsync.Kind]string{tenantsync.KindUsers: "c1"}, cursors)
		links, err := s.Account(h.acct).Links.List(ctx, "tA")
		require.NoError(t, err)
		assert.Empty(t, links)
		reviews, err := s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{TenantID: "tA"})
		require.NoError(t, err)
		assert.Empty(t, reviews)
		_, err = s.Account(h.acct).SyncStates.Get(ctx, "tA")
		assertKind(t, err, tenantsync.ErrNotFound)
	}
	good := func() store.Batch {
		return store.Batch{
			TenantID: "tA",
			Kinds: []store.KindApply{
				{Result: snapshot(users("", "u1", "u3"), "c2"), ExpectCursor: "c1"},
				{Result: &tenantsync.KindResult{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{{ID: "d1"}}}},
			},
			Links:   []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: "k1"}}},
			Reviews: []store.Review{{ObjectID: "u3", ClientID: "client-1", Reason: "two candidates", Candidates: []store.ReviewCandidate{{ContactID: "k7", Score: 0.5}, {ContactID: "k8", Score: 0.5}}}},
			State:   &store.SyncState{LastStart: t0, LastSuccess: t0.Add(time.Minute), Counts: map[tenantsync.Kind]int{"users": 2}},
		}
	}

	// A later kind's compare-and-set fails: the earlier kind is not applied either.
	b := good()
	b.Kinds[1].ExpectCursor = "stale"
	_, err = s.Account(h.acct).Mirror.Commit(ctx, b)
	assertKind(t, err, tenantsync.ErrConflict)
	before()

	// A contact-link conflict after the mirror changes fails the whole batch.
	b = good()
	b.Links = append(b.Links, store.LinkChange{Link: store.ContactLink{ObjectID: "u3", ClientID: "client-1", ContactID: "taken"}})
	_, err = s.Account(h.acct).Mirror.Commit(ctx, b)
	var taken *store.ContactTakenError
	require.ErrorAs(t, err, &taken)
	before()

	// A batch naming a holder without the lease is refused.
	b = good()
	b.Holder, b.Now = "engine-1", t0
	_, err = s.Account(h.acct).Mirror.Commit(ctx, b)
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	before()

	// Invalid parts are refused before anything is written.
	b = good()
	b.Links[0].Link.TenantID = "tB"
	_, err = s.Account(h.acct).Mirror.Commit(ctx, b)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	b = good()
	b.Kinds = append(b.Kinds, b.Kinds[0])
	_, err = s.Account(h.acct).Mirror.Commit(ctx, b)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	before()

	// With the lease, the whole outcome lands together.
	_, err = s.Account(h.acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "tA", Holder: "engine-1", Now: t0, TTL: time.Minute})
	require.NoError(t, err)
	b = good()
	b.Holder, b.Now = "engine-1", t0.Add(30*time.Second)
	out, err := s.Account(h.acct).Mirror.Commit(ctx, b)
	require.NoError(t, err)
	require.Len(t, out.Kinds, 2)
	assert.Equal(t, []string{"u3"}, out.Kinds[0].Added)
	assert.Equal(t, []string{"u2"}, out.Kinds[0].Removed)
	assert.Equal(t, []string{"d1"}, out.Kinds[1].Added)
	require.Len(t, out.Reviews, 1)
	assert.NotEmpty(t, out.Reviews[0].ID)
	assert.Equal(t, "tA", out.Reviews[0].TenantID)

	assert.Equal(t, []string{"u1", "u3"}, userIDs(t, s, h.acct, "tA"))
	l, err := s.Account(h.acct).Links.Get(ctx, "tA", "u1")
	require.NoError(t, err)
	assert.Equal(t, "k1", l.ContactID)
	st, err := s.Account(h.acct).SyncStates.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, 2, st.Counts["users"])
	assert.True(t, st.LastSuccess.Equal(t0.Add(time.Minute)))
	reviews, err := s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{TenantID: "tA"})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	assert.Len(t, reviews[0].Candidates, 2)

	// After the lease expires the old holder's commit is refused.
	b = store.Batch{TenantID: "tA", Holder: "engine-1", Now: t0.Add(2 * time.Minute),
		Links: []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1"}, Delete: true}}}
	_, err = s.Account(h.acct).Mirror.Commit(ctx, b)
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	_, err = s.Account(h.acct).Links.Get(ctx, "tA", "u1")
	require.NoError(t, err)
}

// A commit of several kinds compares each kind with what is stored of that kind: an unchanged
// listing changes nothing, a changed one adds, updates and removes only its own kind's items.
func testCommitDiffsEachKind(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	devices := func(ids ...string) *tenantsync.KindResult {
		r := &tenantsync.KindResult{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete}
		for _, id := range ids {
			r.Devices = append(r.Devices, tenantsync.Device{ID: id, DeviceName: "PC " + id})
		}
		return r
	}
	domains := func(names ...string) *tenantsync.KindResult {
		r := &tenantsync.KindResult{Kind: tenantsync.KindDomains, Mode: tenantsync.Complete}
		for _, n := range names {
			r.Domains = append(r.Domains, tenantsync.Domain{Name: n, IsVerified: true})
		}
		return r
	}
	commit := func(kinds ...*tenantsync.KindResult) map[tenantsync.Kind]store.Applied {
		t.Helper()
		b := store.Batch{TenantID: "tA"}
		for _, k := range kinds {
			b.Kinds = append(b.Kinds, store.KindApply{Result: k})
		}
		res, err := s.Account(h.acct).Mirror.Commit(ctx, b)
		require.NoError(t, err)
		out := map[tenantsync.Kind]store.Applied{}
		for _, a := range res.Kinds {
			out[a.Kind] = a
		}
		return out
	}
	// The same IDs in both kinds: each kind's items are its own.
	first := commit(devices("a", "b"), domains("a", "c.example"))
	assert.Equal(t, []string{"a", "b"}, first[tenantsync.KindDevices].Added)
	assert.Equal(t, []string{"a", "c.example"}, first[tenantsync.KindDomains].Added)

	again := commit(devices("a", "b"), domains("a", "c.example"))
	for k, a := range again {
		assert.Empty(t, a.Added, "%s: nothing new", k)
		assert.Empty(t, a.Updated, "%s: nothing changed", k)
		assert.Empty(t, a.Removed, "%s: nothing gone", k)
		assert.Equal(t, 2, a.Unchanged, k)
	}

	changed := devices("a", "b")
	changed.Devices[1].DeviceName = "renamed"
	third := commit(changed, domains("c.example", "d.example"))
	dev, dom := third[tenantsync.KindDevices], third[tenantsync.KindDomains]
	assert.Equal(t, [][]string{nil, {"b"}, nil}, [][]string{dev.Added, dev.Updated, dev.Removed}, "devices: added, updated, removed")
	assert.Equal(t, 1, dev.Unchanged)
	assert.Equal(t, [][]string{{"d.example"}, nil, {"a"}}, [][]string{dom.Added, dom.Updated, dom.Removed}, "domains: added, updated, removed")
	assert.Equal(t, 1, dom.Unchanged)
}
