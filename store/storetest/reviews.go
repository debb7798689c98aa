package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testReviews(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	r1, err := s.Account(h.acct).Reviews.Add(ctx, store.Review{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", Reason: "two contacts share the address",
		Candidates: []store.ReviewCandidate{{ContactID: "c1", Score: 0.7, Reason: "email"}, {ContactID: "c2", Score: 0.7}}, CreatedAt: t0})
	require.NoError(t, err)
	assert.NotEmpty(t, r1.ID)
	assert.False(t, r1.Resolved)

	again, err := s.Account(h.acct).Reviews.Add(ctx, store.Review{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", Reason: "three now",
		Candidates: []store.ReviewCandidate{{ContactID: "c1"}, {ContactID: "c2"}, {ContactID: "c3"}}, CreatedAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, r1.ID, again.ID, "a user has one open review")
	assert.True(t, again.CreatedAt.Equal(t0))

	r2, err := s.Account(h.acct).Reviews.Add(ctx, store.Review{TenantID: "tB", ObjectID: "u2", Reason: "x", CreatedAt: t0.Add(time.Minute)})
	require.NoError(t, err)

	open, err := s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{})
	require.NoError(t, err)
	require.Len(t, open, 2)
	assert.Equal(t, r1.ID, open[0].ID)
	assert.Equal(t, "three now", open[0].Reason)
	assert.Len(t, open[0].Candidates, 3)
	assert.InDelta(t, 0, open[0].Candidates[0].Score, 1e-9)

	done, err := s.Account(h.acct).Reviews.Resolve(ctx, r1.ID, store.Resolution{Action: store.ResolveLink, ContactID: "c2", By: "alice", At: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	assert.True(t, done.Resolved)
	assert.Equal(t, "link:c2", done.Resolution, "a link is stored marked as one")
	assert.Equal(t, "alice", done.ResolvedBy)
	assert.Equal(t, store.Resolution{Action: store.ResolveLink, ContactID: "c2", By: "alice", At: t0.Add(2 * time.Hour)}, done.Outcome())
	_, err = s.Account(h.acct).Reviews.Resolve(ctx, r1.ID, store.Resolution{Action: store.ResolveIgnore, By: "bob", At: t0})
	assertKind(t, err, tenantsync.ErrConflict)
	_, err = s.Account(h.acct).Reviews.Resolve(ctx, "no-such-review", store.Resolution{Action: store.ResolveLink, ContactID: "c1", By: "bob", At: t0})
	assertKind(t, err, tenantsync.ErrNotFound)
	for _, bad := range []struct {
		name string
		r    store.Resolution
	}{
		{"link without a contact", store.Resolution{Action: store.ResolveLink, By: "bob", At: t0}},
		{"create with a contact", store.Resolution{Action: store.ResolveCreate, ContactID: "c1", By: "bob", At: t0}},
		{"ignore with a contact", store.Resolution{Action: store.ResolveIgnore, ContactID: "c1", By: "bob", At: t0}},
		{"no action", store.Resolution{By: "bob", At: t0}},
		{"unknown action", store.Resolution{Action: "merge", ContactID: "c1", By: "bob", At: t0}},
	} {
		_, err = s.Account(h.acct).Reviews.Resolve(ctx, r2.ID, bad.r)
		assertKind(t, err, tenantsync.ErrInvalidInput)
		assert.NotEmpty(t, tenantsync.HintOf(err), bad.name)
	}

	open, err = s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{})
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, r2.ID, open[0].ID)
	all, err := s.Account(h.acct).Reviews.List(ctx, store.ReviewFilter{TenantID: "tA", IncludeResolved: true})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.True(t, all[0].Resolved)
	assert.True(t, all[0].ResolvedAt.Equal(t0.Add(2*time.Hour)))

	r3, err := s.Account(h.acct).Reviews.Add(ctx, store.Review{TenantID: "tA", ObjectID: "u1", Reason: "ambiguous again"})
	require.NoError(t, err)
	assert.NotEqual(t, r1.ID, r3.ID, "a resolved review is not reopened")
	_, err = s.Account(h.acct).Reviews.Add(ctx, store.Review{TenantID: "tA"})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Reviews.Add(ctx, store.Review{TenantID: "tA", ObjectID: "u7", Candidates: []store.ReviewCandidate{{ContactID: "c1", Score: math.NaN()}}})
	assertKind(t, err, tenantsync.ErrInvalidInput)
}
