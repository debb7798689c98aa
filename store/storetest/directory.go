package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testClientsAndContacts(t *testing.T, h *harness) {
	ctx := t.Context()
	c := tenantsync.Client{ID: "client-1", Name: "Contoso", Domains: []string{"contoso.example"}, TenantIDs: []string{"tA"}, ActiveUntil: t0}
	require.NoError(t, h.dir(t, h.acct).PutClient(ctx, c))
	require.NoError(t, h.dir(t, h.acct).PutClient(ctx, tenantsync.Client{ID: "client-0", Name: "Aardvark"}))
	got, err := h.dir(t, h.acct).GetClient(ctx, "client-1")
	require.NoError(t, err)
	assert.Equal(t, c.Name, got.Name)
	assert.Equal(t, c.Domains, got.Domains)
	assert.Equal(t, c.TenantIDs, got.TenantIDs)
	assert.True(t, got.ActiveUntil.Equal(t0))
	list, err := h.dir(t, h.acct).ListClients(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "client-0", list[0].ID)
	_, err = h.dir(t, h.acct).GetClient(ctx, "nope")
	assertKind(t, err, tenantsync.ErrNotFound)
	assertKind(t, h.dir(t, h.acct).PutClient(ctx, tenantsync.Client{Name: "no id"}), tenantsync.ErrInvalidInput)

	dir := store.ContactsFor(h.dir(t, h.acct))
	created, err := dir.CreateContact(ctx, tenantsync.Contact{ClientID: "client-1", FirstName: "Ada", LastName: "L", Email: "ada@contoso.example", AltEmails: []string{"a@contoso.example"}, Active: true, TenantID: "tA", ObjectID: "u1"})
	require.NoError(t, err)
	assert.NotEmpty(t, created.ID)
	_, err = dir.CreateContact(ctx, tenantsync.Contact{ID: "fixed", ClientID: "client-1", FirstName: "Bob", Active: true})
	require.NoError(t, err)
	_, err = dir.CreateContact(ctx, tenantsync.Contact{ID: "fixed", ClientID: "client-1"})
	assertKind(t, err, tenantsync.ErrConflict)
	_, err = dir.CreateContact(ctx, tenantsync.Contact{FirstName: "no client"})
	assertKind(t, err, tenantsync.ErrInvalidInput)

	created.JobTitle = "CTO"
	require.NoError(t, dir.UpdateContact(ctx, created))
	require.NoError(t, dir.SetContactActive(ctx, "client-1", "fixed", false))
	cs, err := dir.ListContacts(ctx, "client-1")
	require.NoError(t, err)
	require.Len(t, cs, 2)
	byID := map[string]tenantsync.Contact{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	assert.Equal(t, created, byID[created.ID])
	assert.False(t, byID["fixed"].Active, "deactivated, not deleted")
	none, err := dir.ListContacts(ctx, "client-0")
	require.NoError(t, err)
	assert.Empty(t, none)
	assertKind(t, dir.UpdateContact(ctx, tenantsync.Contact{ID: "ghost", ClientID: "client-1"}), tenantsync.ErrNotFound)
	assertKind(t, dir.SetContactActive(ctx, "client-0", "fixed", true), tenantsync.ErrNotFound)
	one, err := h.dir(t, h.acct).GetContact(ctx, "client-1", created.ID)
	require.NoError(t, err)
	assert.Equal(t, "CTO", one.JobTitle)
}
