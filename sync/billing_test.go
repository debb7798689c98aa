package sync

import (
	"context"
	"slices"
	"strconv"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// keyedHarness is a harness whose memory store can hold connection secrets.
func keyedHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	keys, err := store.NewStaticKeys("k1", map[string][]byte{"k1": make([]byte, 32)})
	require.NoError(t, err)
	return newHarnessOn(t, func(now func() time.Time) store.Store { return memory.New(memory.Config{Keys: keys, Now: now}) }, mutate...)
}

func auditOf(t *testing.T, h *harness, action string) []tenantsync.AuditEntry {
	t.Helper()
	all, err := h.st.Account(testAccount).Audit.List(t.Context(), store.AuditQuery{})
	require.NoError(t, err)
	var out []tenantsync.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// An actor without m365.manage changes no configuration, whatever entry point it tries, and
// every attempt is on the audit log under its name.
func TestManagePermissionRefusesAnAttacker(t *testing.T) {
	t.Parallel()
	h := keyedHarness(t, func(c *Config) {
		c.Authorizer = FakeAuthorizer{Allowed: map[string]bool{"alice": true, "mallory": true}, Managers: map[string]bool{"alice": true}}
	})
	ctx := t.Context()
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 1))
	h.discoverAndLink("t1", "client-1")
	a := h.st.Account(testAccount)
	require.NoError(t, a.Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{}`), Secret: store.NewSecret("s3cret-value")}))
	_, err := a.Reviews.Add(ctx, store.Review{TenantID: "t1", ObjectID: "t1-u000", ClientID: "client-1", Reason: "ambiguous"})
	require.NoError(t, err)
	reviews, err := a.Reviews.List(ctx, store.ReviewFilter{})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	off := false

	// mallory holds m365.write, which is not m365.manage.
	attempts := map[string]error{
		"link":     h.eng.Link(ctx, "mallory", "t2", "client-1"),
		"unlink":   h.eng.Unlink(ctx, "mallory", "t1", store.UnlinkPurge),
		"settings": h.eng.SetClientSettings(ctx, "mallory", "client-1", store.ClientSettings{AutoCreateContacts: &off}),
		"defaults": h.eng.SetDefaults(ctx, "mallory", store.ClientSettings{AutoMonitorDomains: &off}),
		"resolve_review": func() error {
			_, err := h.eng.ResolveReview(ctx, "mallory", reviews[0].ID, Decision{Action: store.ResolveIgnore})
			return err
		}(),
		"disconnect": func() error {
			_, err := h.eng.Disconnect(ctx, "mallory", DisconnectRequest{Connection: "cipp", Source: "cipp", Mode: store.UnlinkPurge})
			return err
		}(),
		"anonymous link": h.eng.Link(ctx, "", "t2", "client-1"),
		"release_hold":   h.eng.ReleaseHold(ctx, "mallory", "t1", tenantsync.KindUsers),
		"resolve_contact_failure": h.eng.ResolveContactFailure(ctx, "mallory", "t1", "t1-u000",
			ContactResolution{Decision: ContactMerge, ContactID: "any"}),
		"pause_sync":            h.eng.SetSyncing(ctx, "mallory", "t1", false),
		"set_kinds":             h.eng.SetKindsBy(ctx, "mallory", "t1", []tenantsync.Kind{tenantsync.KindDomains}),
		"anonymous kind switch": h.eng.SetKinds(ctx, "t1", []tenantsync.Kind{tenantsync.KindDomains}),
	}
	for name, err := range attempts {
		require.ErrorIs(t, err, tenantsync.ErrPermissionDenied, name)
		assert.Contains(t, tenantsync.HintOf(err), tenantsync.PermissionManage, name)
	}

	rec1, err := a.Tenants.Get(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, "client-1", rec1.ClientID, "t1 is still linked")
	assert.NotEmpty(t, h.users("t1"), "and not purged")
	rec2, err := a.Tenants.Get(ctx, "t2")
	require.NoError(t, err)
	assert.False(t, rec2.Linked(), "t2 was not linked")
	own, err := a.Settings.Client(ctx, "client-1")
	require.NoError(t, err)
	assert.True(t, own.Unset())
	def, err := a.Settings.Defaults(ctx)
	require.NoError(t, err)
	assert.True(t, def.Unset())
	open, err := a.Reviews.List(ctx, store.ReviewFilter{})
	require.NoError(t, err)
	assert.Len(t, open, 1, "the review is still open")
	_, err = a.Connections.Get(ctx, "cipp")
	assert.NoError(t, err, "the connection is still there")

	assert.True(t, rec1.Syncing, "t1 still syncs")
	assert.Greater(t, len(rec1.EnabledKinds), 1, "t1's kinds are unchanged")
	for _, action := range []string{"link", "unlink", "settings", "resolve_review", "disconnect", "release_hold", "resolve_contact_failure", "pause_sync", "set_kinds"} {
		var refused int
		for _, e := range auditOf(t, h, action) {
			if e.Actor == "mallory" {
				assert.Equal(t, "refused", e.Outcome, action)
				refused++
			}
		}
		assert.Positive(t, refused, "mallory's %s attempt is audited", action)
	}

	// alice holds m365.manage: the same calls go through.
	require.NoError(t, h.eng.Link(ctx, "alice", "t2", "client-1"))
	require.NoError(t, h.eng.SetClientSettings(ctx, "alice", "client-1", store.ClientSettings{AutoCreateContacts: &off}))
	_, err = h.eng.ResolveReview(ctx, "alice", reviews[0].ID, Decision{Action: store.ResolveIgnore})
	require.NoError(t, err)
}

func TestClientSettingsApplyOverDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // AutoCreate on in the engine's configuration
	ctx := t.Context()
	on, off := true, false
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 2))
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)

	// The account turns creation and monitoring off; client-2 turns creation back on and syncs
	// users and mailboxes only.
	require.NoError(t, h.eng.SetDefaults(ctx, "alice", store.ClientSettings{AutoCreateContacts: &off, AutoMonitorDomains: &off}))
	require.NoError(t, h.eng.SetClientSettings(ctx, "alice", "client-2", store.ClientSettings{AutoCreateContacts: &on,
		Kinds: []tenantsync.Kind{tenantsync.KindMailboxes, tenantsync.KindUsers}}))
	err = h.eng.SetClientSettings(ctx, "alice", "client-2", store.ClientSettings{Kinds: []tenantsync.Kind{"groupz"}})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)

	s1, err := h.eng.SettingsFor(ctx, "client-1")
	require.NoError(t, err)
	assert.False(t, s1.AutoCreateContacts)
	assert.False(t, s1.AutoMonitorDomains)
	assert.Equal(t, tenantsync.AllKinds(), s1.Kinds, "kinds nobody chose are the engine's")
	s2, err := h.eng.SettingsFor(ctx, "client-2")
	require.NoError(t, err)
	assert.True(t, s2.AutoCreateContacts)
	assert.False(t, s2.AutoMonitorDomains, "a field the client leaves unset takes the default")
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}, s2.Kinds)

	require.NoError(t, h.eng.Link(ctx, "alice", "t1", "client-1"))
	require.NoError(t, h.eng.Link(ctx, "alice", "t2", "client-2"))
	require.NoError(t, h.eng.Wait(ctx))

	created := map[string]int{}
	for _, c := range h.contacts.All() {
		created[c.ClientID]++
	}
	assert.Zero(t, created["client-1"], "client-1 follows the account's default: no contacts created")
	assert.Equal(t, 2, created["client-2"], "client-2's own setting creates its two people")
	h.sink.WaitFor(t, EventSyncFinished, "t1", 1)
	h.sink.WaitFor(t, EventSyncFinished, "t2", 1)
	assert.Empty(t, h.sink.Events(EventDomainSeen), "domain monitoring is off for both")

	rec2, err := h.st.Account(testAccount).Tenants.Get(ctx, "t2")
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes}, rec2.EnabledKinds, "the client's kinds apply from the link")
	counts, err := h.st.Account(testAccount).Mirror.Counts(ctx, "t2")
	require.NoError(t, err)
	assert.Zero(t, counts[tenantsync.KindDevices], "devices are not synced for client-2")

	// Monitoring back on for client-1: its next sync announces the domains it sees anew.
	require.NoError(t, h.eng.SetClientSettings(ctx, "alice", "client-1", store.ClientSettings{AutoMonitorDomains: &on}))
	h.src.Silently("t1", func(ft *FakeTenant) {
		ft.Domains = append(ft.Domains, tenantsync.Domain{TenantID: "t1", Name: "new.contoso.example", IsVerified: true})
	})
	h.syncNow("t1")
	seen := h.sink.WaitFor(t, EventDomainSeen, "t1", 1)
	require.Len(t, seen, 1)
	assert.Equal(t, "new.contoso.example", seen[0].Domain)

	entries := auditOf(t, h, "settings")
	require.Len(t, entries, 4)
	assert.Equal(t, "refused", entries[2].Outcome)
	assert.Equal(t, "defaults", entries[0].Target)
	assert.Equal(t, "false", entries[0].Detail["auto_create_contacts"])
	assert.Equal(t, "users,mailboxes", entries[1].Detail["kinds"])
}

func TestDisconnectUnlinksTheConnectionsTenants(t *testing.T) {
	t.Parallel()
	graphSrc := NewFakeSource("graph")
	h := keyedHarness(t, func(c *Config) { c.Sources = append(c.Sources, graphSrc) })
	ctx := t.Context()
	a := h.st.Account(testAccount)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 1))
	both := fakeTenant("t3", "Northwind", "northwind.example", 1)
	h.src.AddTenant(both)
	graphSrc.AddTenant(both)
	h.src.AddTenant(fakeTenant("t4", "Unlinked Co", "unlinked.example", 1))
	h.discoverAndLink("t1", "client-1")
	require.NoError(t, h.eng.Link(ctx, "alice", "t2", "client-2"))
	require.NoError(t, h.eng.Link(ctx, "alice", "t3", "client-3"))
	require.NoError(t, h.eng.Wait(ctx))
	require.NoError(t, a.Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{}`), Secret: store.NewSecret("s3cret-value")}))
	head, err := a.Feed.Head(ctx)
	require.NoError(t, err)

	_, err = h.eng.Disconnect(ctx, "alice", DisconnectRequest{Connection: "cipp", Source: "cippp"})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "cipp, graph")
	_, err = h.eng.Disconnect(ctx, "alice", DisconnectRequest{Connection: "nope", Source: "cipp"})
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
	rec1, err := a.Tenants.Get(ctx, "t1")
	require.NoError(t, err)
	require.True(t, rec1.Linked(), "a refused disconnect unlinks nothing")

	out, err := h.eng.Disconnect(ctx, "alice", DisconnectRequest{Connection: "cipp", Source: "cipp", Mode: store.UnlinkPurge})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"t1": "client-1", "t2": "client-2"}, out.Unlinked)
	assert.Equal(t, []string{"t3"}, out.Kept, "Graph still reaches t3")

	for _, id := range []string{"t1", "t2"} {
		rec, err := a.Tenants.Get(ctx, id)
		require.NoError(t, err)
		assert.False(t, rec.Linked(), id)
		assert.Empty(t, h.users(id), "purged")
	}
	rec3, err := a.Tenants.Get(ctx, "t3")
	require.NoError(t, err)
	assert.Equal(t, "client-3", rec3.ClientID)
	_, err = a.Connections.Get(ctx, "cipp")
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "the stored authorization is gone")
	assert.NotEmpty(t, h.contacts.All(), "PSA contacts are never touched")

	changes, err := a.Feed.Changes(ctx, head, 0)
	require.NoError(t, err)
	var types []store.ChangeType
	for _, c := range changes {
		types = append(types, c.Type)
	}
	assert.Equal(t, []store.ChangeType{store.ChangeTenantUnlinked, store.ChangeTenantUnlinked, store.ChangeDisconnected}, types)

	entries := auditOf(t, h, "disconnect")
	require.NotEmpty(t, entries)
	last := entries[len(entries)-1]
	assert.Equal(t, "alice", last.Actor)
	assert.Equal(t, "succeeded", last.Outcome)
	assert.Equal(t, "cipp", last.Target)
	assert.Equal(t, "t1,t2", last.Detail["unlinked"])
	assert.Equal(t, "purge", last.Detail["mode"])
	assert.Len(t, h.sink.WaitFor(t, EventTenantUnlinked, "", 2), 2)
}

// A tenant being synced fails the whole disconnect, and nothing changes.
func TestDisconnectWaitsForARunningSync(t *testing.T) {
	t.Parallel()
	h := keyedHarness(t)
	ctx := t.Context()
	a := h.st.Account(testAccount)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 1))
	h.discoverAndLink("t1", "client-1")
	require.NoError(t, h.eng.Link(ctx, "alice", "t2", "client-2"))
	require.NoError(t, h.eng.Wait(ctx))
	require.NoError(t, a.Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{}`), Secret: store.NewSecret("s3cret-value")}))
	_, err := a.Leases.Acquire(ctx, store.LeaseRequest{TenantID: "t2", Holder: "engine-b", Now: h.clock.Now(), TTL: time.Minute})
	require.NoError(t, err)

	_, err = h.eng.Disconnect(ctx, "alice", DisconnectRequest{Connection: "cipp", Source: "cipp", Mode: store.UnlinkKeep})
	require.ErrorIs(t, err, tenantsync.ErrAlreadyRunning)
	for _, id := range []string{"t1", "t2"} {
		rec, err := a.Tenants.Get(ctx, id)
		require.NoError(t, err)
		assert.True(t, rec.Linked(), id)
	}
	_, err = a.Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	_, err = a.Leases.Get(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "the leases it took are given back")
}

type fakeSignIns struct {
	last map[string]time.Time
	err  error
}

func (f fakeSignIns) LastSignIns(context.Context, string) (map[string]time.Time, error) {
	return f.last, f.err
}

func TestLicenseWaste(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	mk := func(id string, enabled bool, skus []string, created time.Time) tenantsync.User {
		return tenantsync.User{ObjectID: id, UserPrincipalName: id + "@contoso.example", AccountEnabled: enabled, UserType: "Member",
			AssignedSKUs: skus, CreatedAt: created}
	}
	old := now.Add(-400 * day)
	e3, bp := []string{"sku-e3"}, []string{"sku-e3", "sku-visio"}
	users := []tenantsync.User{
		mk("active", true, e3, old),
		mk("idle", true, bp, old),
		mk("never", true, e3, old),
		mk("newcomer", true, e3, now.Add(-3*day)),
		mk("leaver", false, bp, old),
		mk("unlicensed-leaver", false, nil, old),
		mk("unlicensed-idle", true, nil, old),
	}
	subs := []tenantsync.Subscription{{SKUID: "sku-e3", SKUPartNumber: "ENTERPRISEPACK", Enabled: 10, Consumed: 6},
		{SKUID: "sku-visio", SKUPartNumber: "VISIOCLIENT", Enabled: 2, Consumed: 2}}
	signIns := map[string]time.Time{"active": now.Add(-2 * day), "idle": now.Add(-45 * day), "leaver": now.Add(-200 * day),
		"unlicensed-idle": now.Add(-300 * day)}

	got, skus := FindLicenseWaste(WasteInput{TenantID: "t1", Users: users, Subscriptions: subs, SignIns: signIns, SignInsKnown: true, Now: now, InactiveDays: 30})
	reasons := map[string]WasteReason{}
	for _, u := range got {
		reasons[u.ObjectID] = u.Reason
	}
	assert.Equal(t, map[string]WasteReason{"idle": WasteInactive, "never": WasteNeverSignedIn, "leaver": WasteDisabled}, reasons)
	require.Len(t, skus, 2)
	assert.Equal(t, SKUWaste{TenantID: "t1", SKUID: "sku-e3", SKUPartNumber: "ENTERPRISEPACK", Seats: 3, Disabled: 1, Inactive: 2, Purchased: 10, Consumed: 6}, skus[0])
	assert.Equal(t, SKUWaste{TenantID: "t1", SKUID: "sku-visio", SKUPartNumber: "VISIOCLIENT", Seats: 2, Disabled: 1, Inactive: 1, Purchased: 2, Consumed: 2}, skus[1])

	// 60 days: idle (45 days) is no longer waste.
	got, _ = FindLicenseWaste(WasteInput{TenantID: "t1", Users: users, Subscriptions: subs, SignIns: signIns, SignInsKnown: true, Now: now, InactiveDays: 60})
	assert.Len(t, got, 2)

	// Without sign-in data only the disabled users can be judged.
	got, _ = FindLicenseWaste(WasteInput{TenantID: "t1", Users: users, Subscriptions: subs, Now: now, InactiveDays: 30})
	require.Len(t, got, 1)
	assert.Equal(t, "leaver", got[0].ObjectID)

	// Through the engine, from the mirror, per client.
	// The sign-ins kind as a source lists every user, with zero times for "never".
	var activity []tenantsync.SignInActivity
	for _, u := range users {
		activity = append(activity, tenantsync.SignInActivity{TenantID: "t1", UserID: u.ObjectID, LastSignInAt: signIns[u.ObjectID]})
	}
	noP1 := &tenantsync.Error{Class: tenantsync.ErrLicenseRequired, Message: "no P1", Hint: "buy Entra ID P1"}
	for _, tc := range []struct {
		name      string
		signIns   SignIns
		mirrored  []tenantsync.SignInActivity // the source's sign-ins kind
		kindErr   error                       // the source's sign-ins kind is unavailable
		wantUsers int
		wantGap   string
	}{
		{"with sign-ins", fakeSignIns{last: signIns}, nil, nil, 3, ""},
		{"without a SignIns, none mirrored", nil, nil, nil, 1, "Config.SignIns"},
		{"sign-ins need P1", fakeSignIns{err: noP1}, nil, nil, 1, "buy Entra ID P1"},
		{"from the mirrored sign-ins kind", nil, activity, nil, 3, ""},
		{"mirrored sign-ins kind unavailable", nil, nil, noP1, 1, "buy Entra ID P1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.SignIns = tc.signIns })
			setClock(h, now)
			ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 0)
			// Each subtest its own copies: AddTenant stamps the tenant ID into them.
			ft.Users, ft.Subscriptions = slices.Clone(users), slices.Clone(subs)
			ft.SignIns = slices.Clone(tc.mirrored)
			h.src.AddTenant(ft)
			if tc.kindErr != nil {
				h.src.SetMode("t1", tenantsync.KindSignIns, FakeUnavailable, tc.kindErr)
			}
			h.src.AddTenant(fakeTenant("t2", "Other", "other.example", 2))
			h.discoverAndLink("t1", "client-1")
			require.NoError(t, h.eng.Link(t.Context(), "alice", "t2", "client-2"))
			require.NoError(t, h.eng.Wait(t.Context()))

			rep, err := h.eng.LicenseWaste(t.Context(), LicenseWasteRequest{ClientID: "client-1"})
			require.NoError(t, err)
			assert.Equal(t, DefaultInactiveDays, rep.InactiveDays)
			assert.True(t, rep.Complete)
			assert.Len(t, rep.Users, tc.wantUsers)
			for _, u := range rep.Users {
				assert.Equal(t, "t1", u.TenantID, "only client-1's tenants")
				assert.NotEmpty(t, u.SKUs)
			}
			if tc.wantGap == "" {
				assert.Empty(t, rep.NoSignIns)
				assert.Equal(t, 5, rep.WastedSeats)
			} else {
				require.Len(t, rep.NoSignIns, 1)
				assert.Contains(t, rep.NoSignIns[0].Hint, tc.wantGap)
				assert.Equal(t, 2, rep.WastedSeats, "the leaver's two seats")
			}
		})
	}

	h := newHarness(t)
	_, err := h.eng.LicenseWaste(t.Context(), LicenseWasteRequest{ClientID: "client-1", InactiveDays: -1})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = h.eng.LicenseWaste(t.Context(), LicenseWasteRequest{})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	rep, err := h.eng.LicenseWaste(t.Context(), LicenseWasteRequest{ClientID: "client-1"})
	require.NoError(t, err)
	assert.Empty(t, rep.Users)
}

func TestBillingSnapshotsPerDay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	setClock(h, start)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 3)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")

	_, err := h.eng.RunOnce(ctx)
	require.NoError(t, err)
	hist, err := h.eng.BillingHistory(ctx, "client-1", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, 3, hist[0].Billable, "three licensed people; the shared mailbox, room and guest are not billed")
	assert.True(t, hist[0].Complete)
	assert.Equal(t, map[string]int{"t1": 3}, hist[0].PerTenant)

	// Two people join that day: the day's snapshot is retaken within the hour's cycle.
	h.src.PutUser("t1", person("t1-u900", "New", "Person", "contoso.example"))
	h.src.PutUser("t1", person("t1-u901", "Other", "Person", "contoso.example"))
	h.clock.Advance(time.Hour)
	_, err = h.eng.RunOnce(ctx)
	require.NoError(t, err)
	h.clock.Advance(time.Hour)
	_, err = h.eng.RunOnce(ctx)
	require.NoError(t, err)
	hist, err = h.eng.BillingHistory(ctx, "client-1", start, start)
	require.NoError(t, err)
	require.Len(t, hist, 1, "one snapshot per day")
	assert.Equal(t, 5, hist[0].Billable)

	// Next day, one leaves.
	h.src.RemoveUser("t1", "t1-u900")
	setClock(h, start.Add(24*time.Hour))
	_, err = h.eng.RunOnce(ctx)
	require.NoError(t, err)
	h.clock.Advance(time.Hour)
	_, err = h.eng.RunOnce(ctx)
	require.NoError(t, err)
	hist, err = h.eng.BillingHistory(ctx, "client-1", start, start.AddDate(0, 1, 0))
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, []int{5, 4}, []int{hist[0].Billable, hist[1].Billable})

	// April prorated from two days of snapshots: day 1 at 5, days 2..30 at the last known 4.
	p := Prorate(hist, start, time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, 30, p.Days)
	assert.Equal(t, 2, p.Covered)
	assert.Equal(t, 5+29*4, p.UserDays)
	assert.Equal(t, 5, p.Max)
	assert.InDelta(t, float64(5+29*4)/30, p.Average, 1e-9)
	assert.True(t, p.Complete)
	// A period starting before the first snapshot is not complete.
	p = Prorate(hist, start.AddDate(0, 0, -1), start)
	assert.False(t, p.Complete)
	assert.Equal(t, 5, p.UserDays)

	_, err = h.eng.BillingHistory(ctx, "client-1", start, start.AddDate(0, 0, -1))
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestSyncUnlinkedUsers(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.SyncUnlinkedUsers = on })
		h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
		reps, err := h.eng.RunOnce(t.Context())
		require.NoError(t, err)
		if !on {
			assert.Empty(t, reps)
			assert.Empty(t, h.users("t1"), "an unlinked tenant is not synced by default")
			continue
		}
		require.Len(t, reps, 1)
		require.NoError(t, reps[0].Err)
		assert.Len(t, h.users("t1"), 5, "its users are in the mirror")
		counts, err := h.st.Account(testAccount).Mirror.Counts(t.Context(), "t1")
		require.NoError(t, err)
		assert.Zero(t, counts[tenantsync.KindDevices], "users only")
		assert.Empty(t, h.contacts.All(), "no contacts for a tenant of no client")
		// Not due again until the quiet interval has passed.
		reps, err = h.eng.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Empty(t, reps)
		h.clock.Advance(DefaultQuietInterval)
		reps, err = h.eng.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Len(t, reps, 1)
	}
}

// setClock moves the harness's clock forward to at.
func setClock(h *harness, at time.Time) {
	h.t.Helper()
	require.False(h.t, at.Before(h.clock.Now()), "the clock only moves forward")
	h.clock.Advance(at.Sub(h.clock.Now()))
}

// takenAt returns when each client's snapshot of day was taken.
func (h *harness) takenAt(day time.Time) map[string]time.Time {
	h.t.Helper()
	snaps, err := h.eng.BillingHistory(h.t.Context(), "", day, day)
	require.NoError(h.t, err)
	out := map[string]time.Time{}
	for _, s := range snaps {
		out[s.ClientID] = s.TakenAt
	}
	return out
}

// Engines of one account take the hour's billing snapshots once between them: an engine that
// finds every client's snapshot taken within the hour, counting each of its linked tenants,
// leaves them, and is next due its stagger after their hour, so that the engine that took
// them takes them again and the others keep finding them.
func TestBillingSnapshotsTakenOnceAcrossEngines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	setClock(h, start)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.discoverAndLink("t1", "client-1")
	engine := func(id string) *Engine {
		e, err := New(Config{Store: h.st, Account: testAccount, Sources: []tenantsync.Source{h.src}, Contacts: h.contacts,
			Clock: h.clock, InstanceID: id, AutoCreate: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close(context.Background()) })
		return e
	}
	run := func(e *Engine, at time.Time) {
		t.Helper()
		setClock(h, at)
		_, err := e.RunOnce(ctx)
		require.NoError(t, err)
	}
	taken := func(at time.Time, clients ...string) map[string]time.Time {
		out := map[string]time.Time{}
		for _, c := range clients {
			out[c] = at
		}
		return out
	}

	run(h.eng, start)
	require.Equal(t, taken(start, "client-1"), h.takenAt(start))
	b := engine("engine-b")
	stagger := billingStagger("engine-b")
	require.True(t, stagger >= time.Minute && stagger < 10*time.Minute, "stagger %s", stagger)
	run(b, start.Add(10*time.Minute))
	assert.Equal(t, taken(start, "client-1"), h.takenAt(start), "engine B found engine A's of ten minutes before")

	// Hour after hour, engine A is due first and takes them; engine B, due its stagger later,
	// finds them.
	for hour := 1; hour <= 3; hour++ {
		at := start.Add(time.Duration(hour) * time.Hour)
		run(b, at)
		assert.Equal(t, taken(at.Add(-time.Hour), "client-1"), h.takenAt(start), "engine B is not due on the hour at hour %d", hour)
		run(h.eng, at)
		assert.Equal(t, taken(at, "client-1"), h.takenAt(start), "engine A at hour %d", hour)
		run(b, at.Add(stagger))
		assert.Equal(t, taken(at, "client-1"), h.takenAt(start), "engine B at hour %d found engine A's", hour)
	}
	last := start.Add(3 * time.Hour)

	// A tenant linked to the client since: a new engine takes every client's again.
	h.src.AddTenant(fakeTenant("t2", "Contoso Europe", "contoso-eu.example", 2))
	h.discoverAndLink("t2", "client-1")
	c := last.Add(20 * time.Minute)
	run(engine("engine-c"), c)
	assert.Equal(t, taken(c, "client-1"), h.takenAt(start), "client-1's snapshot did not count t2")

	// A client without a snapshot of the day: the same.
	h.src.AddTenant(fakeTenant("t3", "Northwind", "northwind.example", 2))
	h.discoverAndLink("t3", "client-2")
	d := c.Add(5 * time.Minute)
	run(engine("engine-d"), d)
	assert.Equal(t, taken(d, "client-1", "client-2"), h.takenAt(start))
}

// hookedBillingStore calls onRead before each read of the billing history and onPut before
// each snapshot stored (failing the store when it fails); the hooks are set once the harness
// exists.
type hookedBillingStore struct {
	dirStore
	onRead func()
	onPut  func() error
}

func (s *hookedBillingStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Billing = hookedBilling{a.Billing, s}
	return a
}

type hookedBilling struct {
	store.BillingHistory
	s *hookedBillingStore
}

func (b hookedBilling) PutSnapshot(ctx context.Context, s store.BillingSnapshot) error {
	if err := b.s.onPut(); err != nil {
		return err
	}
	return b.BillingHistory.PutSnapshot(ctx, s)
}

func (b hookedBilling) Snapshots(ctx context.Context, q store.BillingQuery) ([]store.BillingSnapshot, error) {
	b.s.onRead()
	return b.BillingHistory.Snapshots(ctx, q)
}

// newHookedBilling is a harness whose store's billing history calls the hooks.
func newHookedBilling(t *testing.T, onRead func(), onPut func() error) *harness {
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		return &hookedBillingStore{dirStore: memory.New(memory.Config{Now: now})}
	})
	hs := h.st.(*hookedBillingStore)
	hs.onRead, hs.onPut = onRead, onPut
	return h
}

// The engine that took the snapshots takes them again an hour after it stamped them, though
// counting took time; a snapshot that counts a tenant unlinked since is taken again; a new
// day's are taken the engine's stagger after midnight.
func TestBillingSnapshotsRetakenByTheirTaker(t *testing.T) {
	t.Parallel()
	// Reading and storing the billing history take a second of the clock each, as counting
	// takes time.
	var h *harness
	h = newHookedBilling(t, func() { h.clock.Advance(time.Second) }, func() error { h.clock.Advance(time.Second); return nil })
	ctx := t.Context()
	start := time.Date(2026, 4, 1, 22, 45, 0, 0, time.UTC)
	setClock(h, start)
	for _, id := range []string{"t1", "t2"} {
		h.src.AddTenant(fakeTenant(id, "Contoso "+id, id+".example", 2))
		h.discoverAndLink(id, "client-1")
	}
	h.src.AddTenant(fakeTenant("t3", "Fabrikam", "fabrikam.example", 2))
	h.discoverAndLink("t3", "client-2")
	run := func(e *Engine, at time.Time) {
		t.Helper()
		setClock(h, at)
		_, err := e.RunOnce(ctx)
		require.NoError(t, err)
	}

	run(h.eng, start)
	first := h.takenAt(start)
	require.Len(t, first, 2)
	require.True(t, first["client-1"].After(start), "counting took time: %v", first)
	run(h.eng, start.Add(time.Hour))
	run(h.eng, first["client-1"].Add(time.Hour))
	again := h.takenAt(start)
	assert.True(t, again["client-1"].After(first["client-2"]), "the taker took its own again an hour after it stamped them: %v then %v", first, again)

	// t2 unlinked: a new engine finds client-1's snapshot counting it and, past the window in
	// which that looks like a take in progress, takes them again.
	require.NoError(t, h.eng.Unlink(ctx, "alice", "t2", store.UnlinkKeep))
	other, err := New(Config{Store: h.st, Account: testAccount, Sources: []tenantsync.Source{h.src}, Contacts: h.contacts,
		Clock: h.clock, InstanceID: "engine-b", AutoCreate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	run(other, h.clock.Now().Add(billingInProgress+time.Minute))
	snaps, err := h.eng.BillingHistory(ctx, "client-1", start, start)
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	assert.Equal(t, map[string]int{"t1": 2}, snaps[0].PerTenant, "the unlinked tenant is no longer counted")

	// Midnight: the new day's snapshots wait for the engine's stagger.
	midnight := store.BillingDay(start).Add(24 * time.Hour)
	stagger := billingStagger(h.eng.holder)
	run(h.eng, midnight.Add(stagger-5*time.Second))
	assert.Empty(t, h.takenAt(midnight), "not before the engine's stagger")
	run(h.eng, midnight.Add(stagger))
	assert.Len(t, h.takenAt(midnight), 2)
}

// Instance IDs that differ in one character get staggers apart: a hash that keeps their
// likeness (FNV-1a, tried: "engine-1" 1m13s, "engine-2" 1m16s) would make their engines due
// together. Of 100 consecutive IDs, a few neighbours may fall within 5 s by chance (about 2
// expected), not most.
func TestBillingStaggerSpreadsSimilarIDs(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"engine-", "", "syncd-prod-"} {
		near := 0
		prev := billingStagger(prefix + "0")
		for i := 1; i <= 100; i++ {
			s := billingStagger(prefix + strconv.Itoa(i))
			require.True(t, s >= time.Minute && s < 10*time.Minute, "%s%d: %s", prefix, i, s)
			if d := s - prev; d < 5*time.Second && d > -5*time.Second {
				near++
			}
			prev = s
		}
		assert.Less(t, near, 10, "neighbours of %q within 5 s", prefix)
	}
}

// billingCounts fails the first fails snapshots stored and counts the attempts and reads.
type billingCounts struct {
	mu    stdsync.Mutex
	fails int
	puts  int
	reads int
}

func (c *billingCounts) read() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
}

func (c *billingCounts) put() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if c.fails > 0 {
		c.fails--
		return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "store", Op: "PutSnapshot", Err: errClaimDown}
	}
	return nil
}

func (c *billingCounts) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func (c *billingCounts) attempts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.puts
}

// An engine that finds today's snapshots part-taken (one client's stamped moments ago, another's
// missing) leaves them to the engine taking them and looks again after its stagger; a stamp a
// little ahead of its clock (another host's) counts; a failed take is tried again a minute
// later, not at every claim.
func TestBillingSnapshotsInProgressSkewAndRetry(t *testing.T) {
	t.Parallel()
	fs := &billingCounts{}
	h := newHookedBilling(t, fs.read, fs.put)
	ctx := t.Context()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	setClock(h, start)
	h.src.AddTenant(fakeTenant("t1", "Contoso", "contoso.example", 2))
	h.discoverAndLink("t1", "client-1")
	h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 2))
	h.discoverAndLink("t2", "client-2")
	put := func(client, tenant string, at time.Time) {
		t.Helper()
		require.NoError(t, h.st.(*hookedBillingStore).dirStore.Account(testAccount).Billing.PutSnapshot(ctx, store.BillingSnapshot{ClientID: client,
			Day: store.BillingDay(at), Billable: 2, PerTenant: map[string]int{tenant: 2}, Complete: true, TakenAt: at}))
	}
	run := func(at time.Time) {
		t.Helper()
		setClock(h, at)
		_, err := h.eng.RunOnce(ctx)
		require.NoError(t, err)
	}

	// Another engine is taking them: client-1's stamped 30 s ago, client-2's not yet.
	put("client-1", "t1", start.Add(-30*time.Second))
	run(start)
	assert.Equal(t, map[string]time.Time{"client-1": start.Add(-30 * time.Second)}, h.takenAt(start), "left to the engine taking them")
	assert.Zero(t, fs.attempts())
	// That engine finishes, its clock 30 s ahead of this one's: found after the stagger, the
	// stamp ahead counting, so the engine is next due an hour after them, not sooner.
	stagger := billingStagger(h.eng.holder)
	put("client-2", "t2", start.Add(stagger+30*time.Second))
	run(start.Add(stagger))
	assert.Zero(t, fs.attempts(), "found them after its stagger")
	reads := fs.readCount()
	run(start.Add(2 * stagger))
	assert.Equal(t, reads, fs.readCount(), "not due again until an hour after them")

	// An hour after them this engine takes them; the first attempt fails.
	at := start.Add(time.Hour + stagger)
	failOnceThenRetry(t, h, fs, run, at)
	assert.Equal(t, map[string]time.Time{"client-1": at.Add(billingRetry), "client-2": at.Add(billingRetry)}, h.takenAt(start))
}

// failOnceThenRetry has the engine's take of two clients' snapshots at at fail once, and checks
// it is tried again a minute later, not at the claim 30 s after.
func failOnceThenRetry(t *testing.T, h *harness, fs *billingCounts, run func(time.Time), at time.Time) {
	t.Helper()
	fs.mu.Lock()
	fs.fails = 1
	fs.mu.Unlock()
	run(at)
	require.Equal(t, 1, fs.attempts())
	require.NotEmpty(t, h.sink.WaitFor(t, EventBillingFailed, "", 1))
	run(at.Add(30 * time.Second))
	assert.Equal(t, 1, fs.attempts(), "not tried again at once")
	run(at.Add(billingRetry))
	assert.Equal(t, 3, fs.attempts(), "tried again a minute later: both clients")
}

// In the first hour of a day, the time that makes the snapshots due again after a look (a
// take in progress elsewhere, a failed take) falls on the day before; that must not read as a
// new day's snapshots being due, at every claim until an hour after midnight.
func TestBillingLooksAgainLaterInADaysFirstHour(t *testing.T) {
	t.Parallel()
	fs := &billingCounts{}
	h := newHookedBilling(t, fs.read, fs.put)
	ctx := t.Context()
	stagger := billingStagger(h.eng.holder)
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Add(stagger + time.Second)
	setClock(h, start)
	h.src.AddTenant(fakeTenant("t1", "Contoso", "contoso.example", 2))
	h.discoverAndLink("t1", "client-1")
	h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 2))
	h.discoverAndLink("t2", "client-2")
	run := func(at time.Time) {
		t.Helper()
		setClock(h, at)
		_, err := h.eng.RunOnce(ctx)
		require.NoError(t, err)
	}

	// Another engine is taking today's: client-1's stamped 30 s ago, client-2's not yet.
	require.NoError(t, h.st.(*hookedBillingStore).dirStore.Account(testAccount).Billing.PutSnapshot(ctx, store.BillingSnapshot{ClientID: "client-1",
		Day: store.BillingDay(start), Billable: 2, PerTenant: map[string]int{"t1": 2}, Complete: true, TakenAt: start.Add(-30 * time.Second)}))
	run(start)
	require.Zero(t, fs.attempts(), "left to the engine taking them")
	reads := fs.readCount()
	require.NotZero(t, reads)
	run(start.Add(30 * time.Second))
	assert.Equal(t, reads, fs.readCount(), "looked at again after the stagger, not at the next claim")

	// A failed take is tried again a minute later, not at the next claim.
	failOnceThenRetry(t, h, fs, run, start.Add(stagger+time.Minute))
}
