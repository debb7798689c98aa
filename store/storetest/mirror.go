package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func testApply(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")

	res, err := s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("", "u1", "u2", "u3"), "c1")})
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2", "u3"}, res.Added)
	assert.Empty(t, res.Updated)
	assert.Empty(t, res.Removed)
	assert.Equal(t, "c1", res.Cursor)
	assert.True(t, res.Changed())

	r, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, tenantsync.Complete, r.Mode)
	assert.Equal(t, "c1", r.Cursor)
	require.Len(t, r.Users, 3)
	assert.Equal(t, user("tA", "u1", "User u1"), r.Users[0], "items round-trip and carry their tenant")

	// A snapshot replaces the whole kind.
	next := users("", "u1", "u2", "u4")
	next[0].DisplayName = "Renamed"
	res, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(next, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u4"}, res.Added)
	assert.Equal(t, []string{"u1"}, res.Updated)
	assert.Equal(t, []string{"u3"}, res.Removed)
	assert.Equal(t, 1, res.Unchanged)
	assert.Equal(t, []string{"u1", "u2", "u4"}, userIDs(t, s, h.acct, "tA"))
	u1, err := s.Account(h.acct).Mirror.GetUser(ctx, "tA", "u1")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", u1.DisplayName)

	// A change set upserts and removes; removing an absent ID is not a removal.
	res, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes(users("", "u5"), []string{"u2", "ghost"}, "c3"), ExpectCursor: "c2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u5"}, res.Added)
	assert.Equal(t, []string{"u2"}, res.Removed)
	assert.Equal(t, []string{"u1", "u4", "u5"}, userIDs(t, s, h.acct, "tA"))

	// An ID listed twice counts once, the later item winning.
	dup := users("", "u5", "u5")
	dup[1].JobTitle = "Later"
	res, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes(dup, nil, "c3"), ExpectCursor: "c3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u5"}, res.Updated)
	u5, err := s.Account(h.acct).Mirror.GetUser(ctx, "tA", "u5")
	require.NoError(t, err)
	assert.Equal(t, "Later", u5.JobTitle)

	// An unchanged listing changes nothing.
	res, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes(dup[1:], nil, "c3"), ExpectCursor: "c3"})
	require.NoError(t, err)
	assert.False(t, res.Changed())
	assert.Equal(t, 1, res.Unchanged)

	// An empty complete listing removes everything (it is complete, so absence means gone).
	res, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(nil, ""), ExpectCursor: "c3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u4", "u5"}, res.Removed)
	cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tA")
	require.NoError(t, err)
	assert.Empty(t, cursors["users"])

	_, err = s.Account(h.acct).Mirror.GetUser(ctx, "tA", "u1")
	assertKind(t, err, tenantsync.ErrNotFound)

	// Unavailable results and foreign items are refused; nothing changes.
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: tenantsync.UnavailableResult(tenantsync.KindUsers, tenantsync.ErrForbidden)})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("tOther", "x"), "c9")})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot([]tenantsync.User{{DisplayName: "no id"}}, "c9")})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "missing", store.KindApply{Result: snapshot(users("", "u1"), "c1")})
	assertKind(t, err, tenantsync.ErrNotFound)
	assert.Empty(t, userIDs(t, s, h.acct, "tA"))
}

func testApplyEveryKind(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	yes := true
	results := []*tenantsync.KindResult{
		{Kind: tenantsync.KindMailboxes, Mode: tenantsync.Complete, Mailboxes: []tenantsync.Mailbox{
			{ObjectID: "u1", PrimarySMTPAddress: "a@x.example", Type: tenantsync.MailboxUser, Aliases: []string{"b@x.example"},
				Licence: tenantsync.LicenceLicensed, AssignedSKUs: []string{"sku1"}},
			{ObjectID: "room1", Type: tenantsync.MailboxRoom, Licence: tenantsync.LicenceUnlicensed}}},
		{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{
			{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1", LastSyncAt: t0, EnrolledAt: t0.Add(-time.Hour)}}},
		{Kind: tenantsync.KindDomains, Mode: tenantsync.Complete, Domains: []tenantsync.Domain{
			{Name: "contoso.example", IsDefault: true, IsVerified: true, Services: []string{"Email"}},
			{Name: "contoso.onmicrosoft.com", IsInitial: true, IsVerified: true}}},
		{Kind: tenantsync.KindSubscriptions, Mode: tenantsync.Complete, Subscriptions: []tenantsync.Subscription{
			{SKUID: "sku1", SKUPartNumber: "SPB", Enabled: 25, Consumed: 20, CapabilityStatus: "Enabled"}}},
		{Kind: tenantsync.KindMFA, Mode: tenantsync.Complete, MFA: []tenantsync.MFAState{
			{UserID: "u1", Registered: true, Capable: true, Methods: []string{"microsoftAuthenticatorPush"}, PerUserState: "disabled"}}},
		{Kind: tenantsync.KindBaseline, Mode: tenantsync.Complete, Baseline: &tenantsync.SecurityBaseline{
			SecureScore: 41.5, MaxScore: 80, SecurityDefaults: &yes, MeasuredAt: t0,
			CAPolicies: []tenantsync.CAPolicy{{ID: "p1", DisplayName: "Require MFA", State: "enabled", RequiresMFA: true}},
			MFA:        &tenantsync.MFASummary{Users: 2, Admins: 1, AdminsWithoutMFA: []string{"admin@x.example"}}}},
		{Kind: tenantsync.KindGroups, Mode: tenantsync.Complete, Groups: []tenantsync.Group{
			{ID: "g1", DisplayName: "All Staff", Type: tenantsync.GroupMicrosoft365, Mail: "all@x.example", MemberCount: 12},
			{ID: "g2", DisplayName: "IT Admins", Type: tenantsync.GroupSecurity, MemberCount: 2}}},
		{Kind: tenantsync.KindOrganization, Mode: tenantsync.Complete, Organization: &tenantsync.Organization{
			DisplayName: "Contoso Ltd", City: "Leeds", TechnicalNotificationMails: []string{"it@x.example"},
			PartnerTenantType: "ResellerPartnerDelegatedAdmin", CreatedAt: t0}},
		{Kind: tenantsync.KindSignIns, Mode: tenantsync.Complete, SignIns: []tenantsync.SignInActivity{
			{UserID: "u1", UserPrincipalName: "a@x.example", LastSignInAt: t0}}},
		{Kind: tenantsync.KindMailboxUsage, Mode: tenantsync.Complete, MailboxUsage: []tenantsync.MailboxUsage{
			{UserPrincipalName: "a@x.example", StorageUsedBytes: 5 << 30, ItemCount: 48213, ReportDate: t0}}},
	}
	var b store.Batch
	b.TenantID = "tA"
	for _, r := range results {
		r.Cursor = "cursor-" + string(r.Kind)
		b.Kinds = append(b.Kinds, store.KindApply{Result: r})
	}
	out, err := s.Account(h.acct).Mirror.Commit(ctx, b)
	require.NoError(t, err)
	require.Len(t, out.Kinds, len(results))
	counts, err := s.Account(h.acct).Mirror.Counts(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, map[tenantsync.Kind]int{"mailboxes": 2, "devices": 1, "domains": 2, "subscriptions": 1, "mfa": 1, "baseline": 1,
		"groups": 2, "organization": 1, "signins": 1, "mailbox_usage": 1}, counts)
	cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tA")
	require.NoError(t, err)
	assert.Len(t, cursors, len(results))

	for _, want := range results {
		got, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", want.Kind)
		require.NoError(t, err)
		assert.Equal(t, want.Cursor, got.Cursor)
		switch want.Kind {
		case tenantsync.KindMailboxes:
			require.Len(t, got.Mailboxes, 2)
			assert.Equal(t, "tA", got.Mailboxes[0].TenantID)
			assert.Equal(t, tenantsync.MailboxRoom, got.Mailboxes[0].Type, "items come back ordered by ID")
			assert.Equal(t, []string{"b@x.example"}, got.Mailboxes[1].Aliases)
			assert.Equal(t, tenantsync.LicenceLicensed, got.Mailboxes[1].Licence)
			assert.Equal(t, []string{"sku1"}, got.Mailboxes[1].AssignedSKUs)
			assert.Equal(t, tenantsync.LicenceUnlicensed, got.Mailboxes[0].Licence)
		case tenantsync.KindDevices:
			require.Len(t, got.Devices, 1)
			assert.True(t, got.Devices[0].LastSyncAt.Equal(t0))
			assert.Equal(t, "SN1", got.Devices[0].SerialNumber)
		case tenantsync.KindDomains:
			require.Len(t, got.Domains, 2)
			assert.True(t, got.Domains[0].IsDefault)
		case tenantsync.KindSubscriptions:
			require.Len(t, got.Subscriptions, 1)
			assert.Equal(t, 20, got.Subscriptions[0].Consumed)
		case tenantsync.KindMFA:
			require.Len(t, got.MFA, 1)
			assert.Equal(t, []string{"microsoftAuthenticatorPush"}, got.MFA[0].Methods)
		case tenantsync.KindBaseline:
			require.NotNil(t, got.Baseline)
			assert.InDelta(t, 41.5, got.Baseline.SecureScore, 1e-9)
			require.NotNil(t, got.Baseline.SecurityDefaults)
			assert.True(t, *got.Baseline.SecurityDefaults)
			assert.Equal(t, "tA", got.Baseline.TenantID)
			require.Len(t, got.Baseline.CAPolicies, 1)
			require.NotNil(t, got.Baseline.MFA)
			assert.Equal(t, []string{"admin@x.example"}, got.Baseline.MFA.AdminsWithoutMFA)
		case tenantsync.KindGroups:
			require.Len(t, got.Groups, 2)
			assert.Equal(t, tenantsync.GroupMicrosoft365, got.Groups[0].Type)
			assert.Equal(t, 12, got.Groups[0].MemberCount)
			assert.Equal(t, "tA", got.Groups[1].TenantID)
		case tenantsync.KindOrganization:
			require.NotNil(t, got.Organization)
			assert.Equal(t, "Leeds", got.Organization.City)
			assert.Equal(t, []string{"it@x.example"}, got.Organization.TechnicalNotificationMails)
			assert.True(t, got.Organization.CreatedAt.Equal(t0))
		case tenantsync.KindSignIns:
			require.Len(t, got.SignIns, 1)
			assert.True(t, got.SignIns[0].LastSignInAt.Equal(t0))
		case tenantsync.KindMailboxUsage:
			require.Len(t, got.MailboxUsage, 1)
			assert.Equal(t, int64(5<<30), got.MailboxUsage[0].StorageUsedBytes)
			assert.Equal(t, int64(48213), got.MailboxUsage[0].ItemCount)
		}
	}
	_, err = s.Account(h.acct).Mirror.ReadKind(ctx, "tA", "printers")
	assertKind(t, err, tenantsync.ErrInvalidInput)

	// A mirror that reads several kinds at once returns what ReadKind returns for each.
	kr, ok := s.Account(h.acct).Mirror.(store.KindsReader)
	if !ok {
		return
	}
	kinds := []tenantsync.Kind{tenantsync.KindUsers}
	for _, r := range results {
		kinds = append(kinds, r.Kind)
	}
	all, err := kr.ReadKinds(ctx, "tA", kinds)
	require.NoError(t, err)
	require.Len(t, all, len(kinds))
	for _, k := range kinds {
		one, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", k)
		require.NoError(t, err)
		assert.Equal(t, one, all[k], "ReadKinds' %s", k)
	}
	_, err = kr.ReadKinds(ctx, "tA", []tenantsync.Kind{tenantsync.KindUsers, "printers"})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = kr.ReadKinds(ctx, "nope", kinds)
	assertKind(t, err, tenantsync.ErrNotFound)
}

// Stores may keep decoded items between reads: neither the caller's input nor a result handed
// out may share memory with what is stored, and a change between reads must show.
func testReadCopies(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	in := users("", "u1", "u2")
	_, err := s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(in, "c1")})
	require.NoError(t, err)
	in[0].ProxyAddresses[0], in[0].DisplayName = "SMTP:caller@contoso.example", "changed by the caller"
	want := []tenantsync.User{user("tA", "u1", "User u1"), user("tA", "u2", "User u2")}

	first, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, want, first.Users, "the stored items are not the caller's")
	_ = append(first.Users[0].ProxyAddresses, "smtp:appended@contoso.example")
	assert.Equal(t, want[1].ProxyAddresses, first.Users[1].ProxyAddresses, "appending to one item's slice leaves its neighbour alone")
	first.Users[0].ProxyAddresses[0], first.Users[1].DisplayName = "SMTP:reader@contoso.example", "changed by a reader"

	again, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, want, again.Users, "a reader's changes do not reach the store")

	next := want[1]
	next.JobTitle, next.ProxyAddresses = "Lead", []string{"SMTP:u2@fabrikam.example"}
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes([]tenantsync.User{next}, nil, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	third, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.User{want[0], next}, third.Users, "a change between reads shows in the next read")
	assert.Equal(t, "c2", third.Cursor)
	u2, err := s.Account(h.acct).Mirror.GetUser(ctx, "tA", "u2")
	require.NoError(t, err)
	assert.Equal(t, next, u2)
}

// A mirror that reads chosen items returns those of the IDs it holds, ordered, each as ReadKind
// returns it, and copies as ReadKind's are.
func testReadItems(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	ir, ok := s.Account(h.acct).Mirror.(store.ItemsReader)
	if !ok {
		return
	}
	discover(t, s, h.acct, "tA")
	_, err := s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("", "u1", "u2", "u3"), "c1")})
	require.NoError(t, err)
	domains := &tenantsync.KindResult{Kind: tenantsync.KindDomains, Mode: tenantsync.Complete, Cursor: "d1", Domains: []tenantsync.Domain{
		{Name: "contoso.example", IsDefault: true}, {Name: "fabrikam.example"}}}
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: domains})
	require.NoError(t, err)
	all, err := s.Account(h.acct).Mirror.ReadKind(ctx, "tA", tenantsync.KindUsers)
	require.NoError(t, err)

	got, err := ir.ReadItems(ctx, "tA", tenantsync.KindUsers, []string{"u3", "absent", "u1", "u3"})
	require.NoError(t, err)
	assert.Equal(t, &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes,
		Users: []tenantsync.User{all.Users[0], all.Users[2]}}, got, "u1 and u3 once each, ordered; the absent ID left out")
	got.Users[0].DisplayName, got.Users[0].ProxyAddresses[0] = "changed by a reader", "SMTP:reader@contoso.example"
	again, err := ir.ReadItems(ctx, "tA", tenantsync.KindUsers, []string{"u1"})
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.User{all.Users[0]}, again.Users, "a reader's changes do not reach the store")

	next := all.Users[0]
	next.JobTitle = "Lead"
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes([]tenantsync.User{next}, []string{"u2"}, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	got, err = ir.ReadItems(ctx, "tA", tenantsync.KindUsers, []string{"u1", "u2"})
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.User{next}, got.Users, "a change and a removal since the last read show")

	got, err = ir.ReadItems(ctx, "tA", tenantsync.KindDomains, []string{"fabrikam.example"})
	require.NoError(t, err)
	require.Len(t, got.Domains, 1)
	assert.Equal(t, "fabrikam.example", got.Domains[0].Name)
	got, err = ir.ReadItems(ctx, "tA", tenantsync.KindMailboxes, []string{"u1"})
	require.NoError(t, err)
	assert.Empty(t, got.Mailboxes, "nothing mirrored of the kind")
	got, err = ir.ReadItems(ctx, "tA", tenantsync.KindUsers, nil)
	require.NoError(t, err)
	assert.Empty(t, got.Users)

	_, err = ir.ReadItems(ctx, "tA", tenantsync.KindUsers, []string{"u1", ""})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = ir.ReadItems(ctx, "tA", "printers", []string{"p1"})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = ir.ReadItems(ctx, "nope", tenantsync.KindUsers, []string{"u1"})
	assertKind(t, err, tenantsync.ErrNotFound)
}

func testCursorCAS(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	_, err := s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("", "u1"), "c1")})
	require.NoError(t, err)

	for _, expect := range []string{"", "c0", "c2"} {
		_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: snapshot(users("", "u2"), "c2"), ExpectCursor: expect})
		assertKind(t, err, tenantsync.ErrConflict)
	}
	assert.Equal(t, []string{"u1"}, userIDs(t, s, h.acct, "tA"), "a failed compare-and-set changes nothing")
	cursors, err := s.Account(h.acct).Mirror.Cursors(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, map[tenantsync.Kind]string{tenantsync.KindUsers: "c1"}, cursors)

	// Cursors of different kinds are independent.
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: &tenantsync.KindResult{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Cursor: "d1"}})
	require.NoError(t, err)
	_, err = s.Account(h.acct).Mirror.Apply(ctx, "tA", store.KindApply{Result: changes(nil, []string{"u1"}, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	assert.Empty(t, userIDs(t, s, h.acct, "tA"))
}
