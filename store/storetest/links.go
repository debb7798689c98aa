package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testContactLinks(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	link := func(tenant, object, contact string) error {
		return s.Account(h.acct).Links.Set(ctx, store.ContactLink{TenantID: tenant, ObjectID: object, ClientID: "client-1", ContactID: contact, LinkedAt: t0})
	}
	require.NoError(t, link("tA", "u1", "c1"))
	require.NoError(t, link("tA", "u1", "c1"), "setting the same link again is a no-op")

	err := link("tA", "u2", "c1")
	assertKind(t, err, tenantsync.ErrConflict)
	var taken *store.ContactTakenError
	require.ErrorAs(t, err, &taken)
	assert.Equal(t, "c1", taken.ContactID)
	assert.Equal(t, "tA", taken.TenantID)
	assert.Equal(t, "u1", taken.ObjectID)
	assert.ErrorAs(t, link("tB", "x1", "c1"), &taken, "a contact belongs to one user across tenants")

	// The same contact ID under another client is another contact.
	require.NoError(t, s.Account(h.acct).Links.Set(ctx, store.ContactLink{TenantID: "tA", ObjectID: "u9", ClientID: "client-2", ContactID: "c1"}))

	// Moving u1 to another contact frees c1.
	require.NoError(t, link("tA", "u1", "c2"))
	require.NoError(t, link("tA", "u2", "c1"))
	links, err := s.Account(h.acct).Links.List(ctx, "tA")
	require.NoError(t, err)
	require.Len(t, links, 3)
	assert.Equal(t, "u1", links[0].ObjectID)
	assert.Equal(t, "c2", links[0].ContactID)
	assert.True(t, links[0].LinkedAt.Equal(t0))

	l := links[1]
	l.Deactivated = true
	require.NoError(t, s.Account(h.acct).Links.Set(ctx, l))
	got, err := s.Account(h.acct).Links.Get(ctx, "tA", "u2")
	require.NoError(t, err)
	assert.True(t, got.Deactivated)

	require.NoError(t, s.Account(h.acct).Links.Delete(ctx, "tA", "u2"))
	require.NoError(t, s.Account(h.acct).Links.Delete(ctx, "tA", "u2"))
	_, err = s.Account(h.acct).Links.Get(ctx, "tA", "u2")
	assertKind(t, err, tenantsync.ErrNotFound)
	require.NoError(t, link("tB", "x1", "c1"), "a deleted link frees its contact")

	assertKind(t, link("tA", "", "c5"), tenantsync.ErrInvalidInput)
	assertKind(t, link("tA", "u5", ""), tenantsync.ErrInvalidInput)
	assertKind(t, link("missing", "u5", "c5"), tenantsync.ErrNotFound)
}

func testMerges(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	m := store.Merge{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", ContactID: "c1", DecidedBy: "alice", DecidedAt: t0}
	require.NoError(t, s.Account(h.acct).Merges.Remember(ctx, m))
	m.ContactID, m.DecidedBy = "c2", "bob"
	require.NoError(t, s.Account(h.acct).Merges.Remember(ctx, m))
	require.NoError(t, s.Account(h.acct).Merges.Remember(ctx, store.Merge{TenantID: "tA", ObjectID: "u0", ClientID: "client-1", ContactID: "c3", DecidedBy: "alice"}))
	ms, err := s.Account(h.acct).Merges.List(ctx, "tA")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, "u0", ms[0].ObjectID)
	assert.False(t, ms[0].DecidedAt.IsZero())
	assert.Equal(t, "c2", ms[1].ContactID)
	assert.Equal(t, "bob", ms[1].DecidedBy)
	require.NoError(t, s.Account(h.acct).Merges.Forget(ctx, "tA", "u1"))
	require.NoError(t, s.Account(h.acct).Merges.Forget(ctx, "tA", "u1"))
	ms, err = s.Account(h.acct).Merges.List(ctx, "tA")
	require.NoError(t, err)
	assert.Len(t, ms, 1)
	assertKind(t, s.Account(h.acct).Merges.Remember(ctx, store.Merge{TenantID: "tA", ObjectID: "u1"}), tenantsync.ErrInvalidInput)
}
