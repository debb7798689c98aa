package graph_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// A policy scoped to a group covers the group's members, one scoped to a role covers the
// role's holders, and an exclusion (here a group) wins over both; users in neither are not
// covered. Before covers() resolved groups and roles, every one of these users read as
// uncovered.
func TestCACoverageResolvesGroupsAndRoles(t *testing.T) {
	t.Parallel()
	srv := newFake(t, 30)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	require.True(t, tn.PremiumP1 || tenantWhere(t, srv, func(x *testserver.Tenant) bool { return x.PremiumP1 }) != nil)
	if !tn.PremiumP1 {
		tn = tenantWhere(t, srv, func(x *testserver.Tenant) bool { return x.PremiumP1 && x.Consented })
	}
	var staff, glass *testserver.Group
	for _, g := range tn.Groups {
		switch g.DisplayName {
		case "IT Admins":
		case "CA Exclusion - Emergency Access":
			glass = g
		default:
			if staff == nil && g.DisplayName != "All Staff" && len(g.Members) > 0 {
				staff = g
			}
		}
	}
	require.NotNil(t, staff, "a department group")
	require.NotNil(t, glass, "the emergency-access exclusion group")
	require.NoError(t, srv.World.SetCAPolicies(tn.ID, []*testserver.CAPolicy{
		{ID: "11111111-1111-4111-8111-111111111111", DisplayName: "MFA for " + staff.DisplayName, State: "enabled", RequiresMFA: true,
			IncludeGroups: []string{staff.ID}},
		{ID: "22222222-2222-4222-8222-222222222222", DisplayName: "MFA for admins", State: "enabled", RequiresMFA: true,
			IncludeRoles: []string{strings.ToUpper(testserver.GlobalAdministratorRole)}, ExcludeGroups: []string{glass.ID}},
	}))

	res := fetch(t, newSource(t, c), tn.ID, nil, tenantsync.KindMFA, tenantsync.KindBaseline)
	mk := res.Result(tenantsync.KindMFA)
	require.Equal(t, tenantsync.Complete, mk.Mode, "%v", mk.Err)
	got := map[string]bool{}
	for _, m := range mk.MFA {
		got[m.UserID] = m.CoveredByCA
	}
	var inGroup, admin, excluded, neither int
	for _, u := range tn.ActiveUsers() {
		cov, ok := got[u.ID]
		require.True(t, ok, u.UserPrincipalName)
		switch {
		case glass.Members[u.ID]:
			excluded++
			assert.False(t, cov, "%s is excluded through the exclusion group", u.UserPrincipalName)
		case staff.Members[u.ID]:
			inGroup++
			assert.True(t, cov, "%s is in %s", u.UserPrincipalName, staff.DisplayName)
		case u.IsAdmin:
			admin++
			assert.True(t, cov, "%s holds Global Administrator", u.UserPrincipalName)
		default:
			neither++
			assert.False(t, cov, "%s is in neither scope", u.UserPrincipalName)
		}
		assert.Equal(t, tn.CoveredByCA(u), cov, u.UserPrincipalName)
	}
	assert.Positive(t, inGroup)
	assert.Positive(t, admin)
	assert.Positive(t, excluded)
	assert.Positive(t, neither)

	b := res.Result(tenantsync.KindBaseline).Baseline
	require.NotNil(t, b)
	require.NotNil(t, b.MFA)
	assert.Equal(t, inGroup+admin, b.MFA.CoveredByCA)
}

// A policy naming groups needs their members: when they cannot be read, MFA is unavailable
// rather than reporting the group's members as uncovered.
func TestCACoverageUnreadableGroupIsUnavailable(t *testing.T) {
	t.Parallel()
	srv, src, tn := sourceTest(t)
	require.NoError(t, srv.World.SetCAPolicies(tn.ID, []*testserver.CAPolicy{
		{ID: "33333333-3333-4333-8333-333333333333", DisplayName: "MFA for a group", State: "enabled", RequiresMFA: true,
			IncludeGroups: []string{tn.Groups[0].ID}},
	}))
	srv.GraphDeny(tn.ID, "/groups/", true)
	mk := fetch(t, src, tn.ID, nil, tenantsync.KindMFA).Result(tenantsync.KindMFA)
	if !tn.PremiumP1 {
		require.ErrorIs(t, mk.Err, tenantsync.ErrLicenseRequired)
		return
	}
	require.Equal(t, tenantsync.Unavailable, mk.Mode)
	assert.ErrorIs(t, mk.Err, tenantsync.ErrRoleMissing)
	assert.NotEmpty(t, tenantsync.HintOf(mk.Err))
}

func TestLaterKindsFromGraph(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := tenantWhere(t, srv, func(x *testserver.Tenant) bool { return x.PremiumP1 && x.Consented })
	kinds := []tenantsync.Kind{tenantsync.KindGroups, tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage}
	srv.ResetCounts()
	res := fetch(t, newSource(t, c), tn.ID, nil, kinds...)
	for _, k := range kinds {
		require.Equal(t, tenantsync.Complete, res.Result(k).Mode, "%s: %v", k, res.Result(k).Err)
	}
	assert.Equal(t, 1+laterKindTrips(tn), srv.Requests(testserver.ServiceGraph, tn.ID),
		"the $batch, member counts per 20 groups, and the usage report")

	groups := map[string]tenantsync.Group{}
	for _, g := range res.Result(tenantsync.KindGroups).Groups {
		groups[g.ID] = g
	}
	require.Len(t, groups, len(tn.Groups))
	types := map[string]tenantsync.GroupType{"Microsoft365": tenantsync.GroupMicrosoft365, "Security": tenantsync.GroupSecurity,
		"Distribution": tenantsync.GroupDistribution}
	seen := map[tenantsync.GroupType]bool{}
	for _, want := range tn.Groups {
		got := groups[want.ID]
		assert.Equal(t, want.DisplayName, got.DisplayName)
		assert.Equal(t, len(want.Members), got.MemberCount, want.DisplayName)
		assert.Equal(t, types[want.Type], got.Type, want.DisplayName)
		assert.Equal(t, want.Mail, got.Mail)
		seen[got.Type] = true
	}
	assert.Len(t, seen, 3, "security, Microsoft 365 and distribution groups")

	o := res.Result(tenantsync.KindOrganization).Organization
	require.NotNil(t, o)
	assert.Equal(t, tn.Name, o.DisplayName)
	assert.Equal(t, tn.Org.City, o.City)
	assert.Equal(t, tn.Org.TechnicalNotificationMails, o.TechnicalNotificationMails)
	assert.Equal(t, "ResellerPartnerDelegatedAdmin", o.PartnerTenantType)
	assert.Contains(t, o.Address(), tn.Org.PostalCode)

	signIns := res.Result(tenantsync.KindSignIns).SignIns
	require.Len(t, signIns, len(activeUsers(tn)))
	never := 0
	for _, s := range signIns {
		u := activeUsers(tn)[s.UserID]
		assert.True(t, u.LastSignIn.Equal(s.LastSignInAt), u.UserPrincipalName)
		if s.Last().IsZero() {
			never++
		}
	}
	assert.Positive(t, never, "users who never signed in read as zero times")

	usage := res.Result(tenantsync.KindMailboxUsage).MailboxUsage
	require.Len(t, usage, len(tn.Mailboxes()))
	byUPN := map[string]tenantsync.MailboxUsage{}
	for _, m := range usage {
		byUPN[m.UserPrincipalName] = m
	}
	for _, u := range tn.Mailboxes() {
		m := byUPN[strings.ToLower(u.UserPrincipalName)]
		assert.Equal(t, u.MailboxBytes, m.StorageUsedBytes, u.UserPrincipalName)
		assert.Equal(t, u.MailboxItems, m.ItemCount, u.UserPrincipalName)
	}
}

// Last sign-in needs Entra ID P1 and AuditLog.Read.All; mailbox usage needs names the tenant
// does not conceal. Each is unavailable with a hint that says what to change, and the other
// kinds are unaffected.
func TestLaterKindsUnavailableWithHints(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	basic := tenantWhere(t, srv, func(x *testserver.Tenant) bool { return !x.PremiumP1 && x.Consented })
	res := fetch(t, newSource(t, c), basic.ID, nil, tenantsync.KindSignIns, tenantsync.KindOrganization)
	si := res.Result(tenantsync.KindSignIns)
	require.Equal(t, tenantsync.Unavailable, si.Mode)
	assert.ErrorIs(t, si.Err, tenantsync.ErrLicenseRequired)
	assert.Contains(t, tenantsync.HintOf(si.Err), "signInActivity")
	assert.Contains(t, tenantsync.HintOf(si.Err), "Entra ID P1")
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindOrganization).Mode)

	premium := tenantWhere(t, srv, func(x *testserver.Tenant) bool { return x.PremiumP1 && x.Consented })
	srv.GraphGrantAppPermissions(premium.ID, "User.Read.All", "Directory.Read.All", "Reports.Read.All")
	require.NoError(t, srv.World.SetReportConcealment(premium.ID, true))
	res = fetch(t, newSource(t, c), premium.ID, nil, tenantsync.KindSignIns, tenantsync.KindMailboxUsage)
	si = res.Result(tenantsync.KindSignIns)
	require.Equal(t, tenantsync.Unavailable, si.Mode)
	assert.ErrorIs(t, si.Err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(si.Err), "AuditLog.Read.All")

	mu := res.Result(tenantsync.KindMailboxUsage)
	require.Equal(t, tenantsync.Unavailable, mu.Mode)
	assert.ErrorIs(t, mu.Err, tenantsync.ErrForbidden)
	assert.Contains(t, tenantsync.HintOf(mu.Err), "Display concealed user, group, and site names")
	assert.NotContains(t, mu.Err.Error(), "@", "no concealed or revealed name leaks into the error")

	require.NoError(t, srv.World.SetReportConcealment(premium.ID, false))
	mu = fetch(t, newSource(t, c), premium.ID, nil, tenantsync.KindMailboxUsage).Result(tenantsync.KindMailboxUsage)
	assert.Equal(t, tenantsync.Complete, mu.Mode, "revealing the names brings the kind back: %v", mu.Err)
}

// A mailbox carries its user's licence state: a user mailbox holds a licence, a shared one
// usually none.
func TestMailboxLicenceState(t *testing.T) {
	t.Parallel()
	srv, src, tn := sourceTest(t)
	_ = srv
	mk := fetch(t, src, tn.ID, nil, tenantsync.KindMailboxes).Result(tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Complete, mk.Mode, "%v", mk.Err)
	users := activeUsers(tn)
	states := map[tenantsync.MailboxLicence]int{}
	for _, m := range mk.Mailboxes {
		u := users[m.ObjectID]
		want := tenantsync.LicenceUnlicensed
		if len(u.Licenses) > 0 {
			want = tenantsync.LicenceLicensed
		}
		assert.Equal(t, want, m.Licence, u.UserPrincipalName)
		assert.ElementsMatch(t, u.Licenses, m.AssignedSKUs)
		states[m.Licence]++
	}
	assert.Positive(t, states[tenantsync.LicenceLicensed])
	assert.Positive(t, states[tenantsync.LicenceUnlicensed])
}
