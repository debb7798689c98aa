package cipp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// sevenKinds are the kinds before groups, organization, sign-ins and mailbox usage, which the
// reporting database (bulk mode) does not serve yet.
var sevenKinds = []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDevices, tenantsync.KindDomains,
	tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline}

// cippTenant is a tenant CIPP manages (listed, not stale) for which f holds.
func cippTenant(t *testing.T, srv *testserver.Server, f func(*testserver.Tenant) bool) *testserver.Tenant {
	t.Helper()
	for _, tn := range srv.World.Tenants {
		if tn.InCIPP && !tn.CIPPStale && f(tn) {
			return tn
		}
	}
	t.Skip("no such CIPP tenant in this world")
	return nil
}

func TestLaterKindsFromCIPP(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 8})
	c := adminClient(t, srv)
	tn := cippTenant(t, srv, func(tn *testserver.Tenant) bool { return tn.PremiumP1 && len(tn.CAPolicies) > 0 })
	res, err := mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: tenantsync.AllKinds()})
	require.NoError(t, err)
	for _, k := range tenantsync.AllKinds() {
		require.Equal(t, tenantsync.Complete, res.Result(k).Mode, "%s: %v", k, res.Result(k).Err)
	}

	groups := map[string]tenantsync.Group{}
	for _, g := range res.Result(tenantsync.KindGroups).Groups {
		groups[g.ID] = g
	}
	require.Len(t, groups, len(tn.Groups))
	for _, want := range tn.Groups {
		assert.Equal(t, len(want.Members), groups[want.ID].MemberCount, want.DisplayName)
		assert.Equal(t, want.Mail, groups[want.ID].Mail, want.DisplayName)
	}
	assert.Equal(t, tenantsync.GroupMicrosoft365, groups[tn.Groups[0].ID].Type, "All Staff")

	o := res.Result(tenantsync.KindOrganization).Organization
	require.NotNil(t, o)
	assert.Equal(t, tn.Org.Street, o.Street)
	assert.Equal(t, tn.Org.TechnicalNotificationMails, o.TechnicalNotificationMails)
	assert.Equal(t, tn.Org.PartnerTenantType, o.PartnerTenantType)

	users := map[string]*testserver.User{}
	for _, u := range tn.ActiveUsers() {
		users[u.ID] = u
	}
	signIns := res.Result(tenantsync.KindSignIns).SignIns
	require.Len(t, signIns, len(users))
	for _, s := range signIns {
		assert.True(t, users[s.UserID].LastSignIn.Equal(s.LastSignInAt), s.UserPrincipalName)
	}
	usage := res.Result(tenantsync.KindMailboxUsage).MailboxUsage
	require.Len(t, usage, len(tn.Mailboxes()))
	for _, m := range usage {
		assert.Positive(t, m.StorageUsedBytes, m.UserPrincipalName)
		assert.Equal(t, strings.ToLower(m.UserPrincipalName), m.UserPrincipalName)
	}

	// The mailboxes learn their licence state from the users read with them.
	for _, m := range res.Result(tenantsync.KindMailboxes).Mailboxes {
		u := users[m.ObjectID]
		require.NotNil(t, u, m.PrimarySMTPAddress)
		assert.Equal(t, len(u.Licenses) > 0, m.Licence == tenantsync.LicenceLicensed, m.PrimarySMTPAddress)
		assert.NotEqual(t, tenantsync.LicenceUnknown, m.Licence)
	}
	// CIPP's coverage is its own evaluation; the fake's agrees with Entra ID's.
	covered := 0
	for _, m := range res.Result(tenantsync.KindMFA).MFA {
		assert.Equal(t, tn.CoveredByCA(users[m.UserID]), m.CoveredByCA, m.UserPrincipalName)
		if m.CoveredByCA {
			covered++
		}
	}
	b := res.Result(tenantsync.KindBaseline).Baseline
	require.NotNil(t, b.MFA)
	assert.Equal(t, covered, b.MFA.CoveredByCA)

	// Mailboxes alone: their licence state is unknown, not "unlicensed".
	res, err = mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindMailboxes}})
	require.NoError(t, err)
	for _, m := range res.Result(tenantsync.KindMailboxes).Mailboxes {
		assert.Equal(t, tenantsync.LicenceUnknown, m.Licence)
	}
}

func TestLaterKindsUnavailableFromCIPP(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 8})
	c := adminClient(t, srv)
	basic := cippTenant(t, srv, func(tn *testserver.Tenant) bool { return !tn.PremiumP1 })
	require.NoError(t, srv.World.SetReportConcealment(basic.ID, true))
	res, err := mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: basic.ID,
		Kinds: []tenantsync.Kind{tenantsync.KindSignIns, tenantsync.KindMailboxUsage, tenantsync.KindGroups}})
	require.NoError(t, err)
	si := res.Result(tenantsync.KindSignIns)
	require.Equal(t, tenantsync.Unavailable, si.Mode)
	assert.ErrorIs(t, si.Err, tenantsync.ErrLicenseRequired)
	assert.NotEmpty(t, tenantsync.HintOf(si.Err))
	mu := res.Result(tenantsync.KindMailboxUsage)
	require.Equal(t, tenantsync.Unavailable, mu.Mode)
	assert.ErrorIs(t, mu.Err, tenantsync.ErrForbidden)
	assert.Contains(t, tenantsync.HintOf(mu.Err), "Display concealed user, group, and site names")
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindGroups).Mode, "the other kinds are unaffected")
}

func TestToGroupCountsFromCSV(t *testing.T) {
	t.Parallel()
	g := ToGroup("t", Group{ID: "g", GroupTypes: []string{"Unified"}, MembersCSV: "a@x.example, b@x.example"})
	assert.Equal(t, 2, g.MemberCount, "without inlined members, membersCsv counts")
	assert.Equal(t, tenantsync.GroupMicrosoft365, g.Type)
	g = ToGroup("t", Group{ID: "g", SecurityEnabled: true, Members: []GroupMember{}, MembersCSV: "a@x.example"})
	assert.Equal(t, 0, g.MemberCount, "inlined members win")
}
