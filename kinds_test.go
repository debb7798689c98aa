package tenantsync_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func TestSummarizeMFA(t *testing.T) {
	t.Parallel()
	assert.Nil(t, tenantsync.SummarizeMFA(nil), "no states is unknown, not a tenant without gaps")
	s := tenantsync.SummarizeMFA([]tenantsync.MFAState{
		{UserPrincipalName: "jane@contoso.com", Registered: true, Capable: true, CoveredByCA: true},
		{UserPrincipalName: "admin@contoso.com", IsAdmin: true, Registered: true, Capable: false},
		{UserID: "u3", IsAdmin: true},
		{UserPrincipalName: "sd@contoso.com", SecurityDefaults: true, Registered: true},
		{UserPrincipalName: "old@contoso.com", PerUserState: "enforced", IsAdmin: true, Capable: true, Registered: true},
	})
	require.NotNil(t, s)
	assert.Equal(t, tenantsync.MFASummary{Users: 5, Registered: 4, Capable: 2, CoveredByCA: 1, Protected: 3, Admins: 3,
		AdminsWithoutMFA: []string{"admin@contoso.com", "u3"}}, *s)
}

func TestDomainHelpersOfNewKinds(t *testing.T) {
	t.Parallel()
	o := tenantsync.Organization{Street: "1 High St", City: " Leeds ", PostalCode: "LS1 1AA", Country: "United Kingdom"}
	assert.Equal(t, "1 High St, Leeds, LS1 1AA, United Kingdom", o.Address())
	assert.Empty(t, tenantsync.Organization{}.Address())

	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	s := tenantsync.SignInActivity{LastSignInAt: at, LastNonInteractiveSignInAt: at.Add(time.Hour)}
	assert.Equal(t, at.Add(time.Hour), s.Last())
	assert.True(t, tenantsync.SignInActivity{}.Last().IsZero())

	for g, want := range map[tenantsync.Group]bool{
		{Type: tenantsync.GroupSecurity}:                       true,
		{Type: tenantsync.GroupMicrosoft365}:                   true,
		{Type: tenantsync.GroupDistribution}:                   false,
		{Type: tenantsync.GroupMailEnabledSecurity}:            false,
		{Type: tenantsync.GroupSecurity, Dynamic: true}:        false,
		{Type: tenantsync.GroupSecurity, OnPremisesSync: true}: false,
	} {
		assert.Equal(t, want, g.Writable(), "%+v", g)
	}
}
