package match_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

func TestDedupContacts(t *testing.T) {
	t.Parallel()
	contacts := []tenantsync.Contact{
		{ID: "a1", ClientID: "A", Email: "Jane@Contoso.com"},
		{ID: "a2", ClientID: "A", Email: "jane@contoso.com "},
		{ID: "a3", ClientID: "A", Email: "john@contoso.com", AltEmails: []string{"jd@contoso.com"}},
		{ID: "a4", ClientID: "A", Email: "j.doe@contoso.com", AltEmails: []string{"JD@contoso.com", "johnny@contoso.com"}},
		{ID: "a5", ClientID: "A", Email: "johnny@contoso.com"},
		{ID: "a6", ClientID: "A", Email: "janedoe@contoso.com"}, // dots differ: not a duplicate
		{ID: "b1", ClientID: "B", Email: "jane@contoso.com"},    // another client: not a duplicate
		{ID: "b2", ClientID: "B", Email: "not an address"},
		{ID: "b3", ClientID: "B", Email: "josé@bücher.de"},
		{ID: "b4", ClientID: "B", Email: "jose\u0301@xn--bcher-kva.de"},
	}
	rep := match.Dedup(contacts, nil)
	assert.Equal(t, 10, rep.ContactsSeen)
	assert.Equal(t, 1, rep.UnusableEmails)
	require.Len(t, rep.Duplicates, 3)

	jane := rep.Duplicates[0]
	assert.Equal(t, match.SameAddress, jane.Kind)
	assert.Equal(t, "A", jane.ClientID)
	assert.Equal(t, []string{"a1", "a2"}, jane.ContactIDs)
	assert.Equal(t, []string{"jane@contoso.com"}, jane.Addresses)
	assert.NotEmpty(t, jane.Reason)
	assert.NotEmpty(t, jane.Action)

	john := rep.Duplicates[1]
	assert.Equal(t, match.AliasOverlap, john.Kind, "grouped transitively through alternative emails")
	assert.Equal(t, []string{"a3", "a4", "a5"}, john.ContactIDs)
	assert.Equal(t, []string{"jd@contoso.com", "johnny@contoso.com"}, john.Addresses)

	jose := rep.Duplicates[2]
	assert.Equal(t, "B", jose.ClientID)
	assert.Equal(t, []string{"b3", "b4"}, jose.ContactIDs)
	assert.Equal(t, match.SameAddress, jose.Kind)

	// The report does not depend on input order.
	reversed := make([]tenantsync.Contact, len(contacts))
	for i, c := range contacts {
		reversed[len(contacts)-1-i] = c
	}
	again := match.Dedup(reversed, nil)
	require.Len(t, again.Duplicates, 3)
	for i := range again.Duplicates {
		assert.Equal(t, rep.Duplicates[i].ContactIDs, again.Duplicates[i].ContactIDs)
		assert.Equal(t, rep.Duplicates[i].Addresses, again.Duplicates[i].Addresses)
	}
}

func TestDedupUsersAcrossTenants(t *testing.T) {
	t.Parallel()
	users := []tenantsync.User{
		{TenantID: "t1", ObjectID: "m1", Mail: "Jane@Contoso.com", ProxyAddresses: []string{"SMTP:Jane@Contoso.com"}, UserPrincipalName: "jane@contoso.com"},
		{TenantID: "t2", ObjectID: "g1", UserType: "Guest", UserPrincipalName: "jane_contoso.com#EXT#@fabrikam.onmicrosoft.com"},
		{TenantID: "t3", ObjectID: "g2", UserType: "Guest", Mail: "jane@contoso.com", UserPrincipalName: "jane_contoso.com#EXT#@tailspin.onmicrosoft.com"},
		// Two users of one tenant sharing nothing but an onmicrosoft alias pattern are not reported.
		{TenantID: "t1", ObjectID: "m2", Mail: "john@contoso.com", UserPrincipalName: "john@contoso.onmicrosoft.com"},
		{TenantID: "t2", ObjectID: "m3", Mail: "john@fabrikam.com", UserPrincipalName: "john@contoso.onmicrosoft.com"},
		// The same address twice in one tenant is Entra's problem, not a cross-tenant duplicate.
		{TenantID: "t4", ObjectID: "x1", Mail: "ops@tailspin.com"},
		{TenantID: "t4", ObjectID: "x2", Mail: "ops@tailspin.com"},
	}
	rep := match.Dedup(nil, users)
	assert.Equal(t, 7, rep.UsersSeen)
	require.Len(t, rep.Duplicates, 1)
	d := rep.Duplicates[0]
	assert.Equal(t, match.SameUserTwoTenants, d.Kind)
	assert.Equal(t, []match.Identity{{TenantID: "t1", ObjectID: "m1"}, {TenantID: "t2", ObjectID: "g1"}, {TenantID: "t3", ObjectID: "g2"}}, d.Users)
	assert.Equal(t, []string{"jane@contoso.com"}, d.Addresses)
	assert.Contains(t, d.Reason, "3 tenants")
	assert.NotEmpty(t, d.Action)
}
