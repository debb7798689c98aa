package sync

import (
	"context"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// tenantSnapshot is everything the store and the PSA hold for one tenant.
type tenantSnapshot struct {
	Kinds    map[tenantsync.Kind]*tenantsync.KindResult
	Cursors  map[tenantsync.Kind]string
	Links    map[string]store.ContactLink
	Reviews  []store.Review
	Merges   []store.Merge
	Contacts []tenantsync.Contact
}

func snapshot(t *testing.T, h *harness, tenantID string) tenantSnapshot {
	t.Helper()
	ctx := context.Background()
	s := tenantSnapshot{Kinds: map[tenantsync.Kind]*tenantsync.KindResult{}}
	for _, k := range tenantsync.AllKinds() {
		kr, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, tenantID, k)
		require.NoError(t, err)
		kr.FetchedAt = time.Time{}
		s.Kinds[k] = kr
	}
	var err error
	s.Cursors, err = h.st.Account(testAccount).Mirror.Cursors(ctx, tenantID)
	require.NoError(t, err)
	s.Links = h.links(tenantID)
	s.Reviews, err = h.st.Account(testAccount).Reviews.List(ctx, store.ReviewFilter{TenantID: tenantID, IncludeResolved: true})
	require.NoError(t, err)
	s.Merges, err = h.st.Account(testAccount).Merges.List(ctx, tenantID)
	require.NoError(t, err)
	s.Contacts = h.contacts.All()
	return s
}

func TestInterruptedSyncStoresNothingThenResyncsCleanly(t *testing.T) {
	t.Parallel()
	points := []struct {
		name string
		hook func(h *harness, cancel context.CancelFunc)
	}{
		{"between pages of users", func(h *harness, cancel context.CancelFunc) {
			h.src.OnPage = func(_ string, k tenantsync.Kind, page int) {
				if k == tenantsync.KindUsers && page == 0 {
					cancel()
				}
			}
		}},
		{"between kinds", func(h *harness, cancel context.CancelFunc) {
			h.src.OnKind = func(_ string, k tenantsync.Kind) {
				if k == tenantsync.KindDevices {
					cancel()
				}
			}
		}},
		{"after the last kind", func(h *harness, cancel context.CancelFunc) {
			h.src.OnKind = func(_ string, k tenantsync.Kind) {
				if k == tenantsync.KindMFA {
					cancel()
				}
			}
		}},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newLinked(t, 6)

			// Changes waiting at the source: an edit, a removal, a newcomer, a device retired.
			edited := person("t1-u001", "First1", "Last1", "contoso.example")
			edited.JobTitle = "CFO"
			h.src.PutUser("t1", edited)
			h.src.RemoveUser("t1", "t1-u003")
			h.src.PutUser("t1", person("t1-u600", "Nina", "New", "contoso.example"))
			h.src.mu.Lock()
			h.src.tenants["t1"].Devices = h.src.tenants["t1"].Devices[:1]
			h.src.mu.Unlock()

			h.src.SetPageSize(1)
			before := snapshot(t, h, "t1")
			ctx, cancel := context.WithCancel(t.Context())
			p.hook(h, cancel)
			h.clock.Advance(DefaultCooldown)
			_, err := h.eng.SyncNow(ctx, "t1")
			require.Error(t, err)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, before, snapshot(t, h, "t1"), "the interrupted sync changed nothing")
			st := h.state("t1")
			assert.False(t, st.Running)
			require.NotNil(t, st.LastError)
			assert.NotEmpty(t, st.LastError.Hint)
			_, err = h.st.Account(testAccount).Leases.Get(t.Context(), "t1")
			assert.ErrorIs(t, err, tenantsync.ErrNotFound, "the lease was released")

			// A clean resync applies everything.
			h.src.OnPage, h.src.OnKind = nil, nil
			rep := h.syncNow("t1")
			require.NoError(t, rep.Err)
			users := h.users("t1")
			assert.Equal(t, "CFO", users["t1-u001"].JobTitle)
			assert.NotContains(t, users, "t1-u003")
			assert.Contains(t, h.links("t1"), "t1-u600")
			gone, _ := h.contacts.Get(h.links("t1")["t1-u003"].ContactID)
			assert.False(t, gone.Active)
			devices, err := h.st.Account(testAccount).Mirror.ReadKind(t.Context(), "t1", tenantsync.KindDevices)
			require.NoError(t, err)
			assert.Len(t, devices.Devices, 1)
			assert.Nil(t, h.state("t1").LastError)
		})
	}
}

func TestTenantTimeoutStoresNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.TenantTimeout = 50 * time.Millisecond })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 4))
	h.discoverAndStoreLink("t1", "client-1")
	h.src.OnPage = func(string, tenantsync.Kind, int) { time.Sleep(100 * time.Millisecond) }
	_, err := h.eng.SyncNow(t.Context(), "t1")
	require.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
	assert.Contains(t, tenantsync.HintOf(err), "TenantTimeout")
	assert.Empty(t, h.users("t1"))
}

func TestUnlinkKeepVersusPurge(t *testing.T) {
	t.Parallel()
	for _, mode := range []store.UnlinkMode{store.UnlinkKeep, store.UnlinkPurge} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			h, _ := newLinked(t, 3)
			ctx := t.Context()
			contactsBefore := h.contacts.All()
			require.Len(t, contactsBefore, 3)

			require.NoError(t, h.eng.Unlink(ctx, "alice", "t1", mode))
			rec, err := h.st.Account(testAccount).Tenants.Get(ctx, "t1")
			require.NoError(t, err)
			assert.False(t, rec.Linked())
			assert.Equal(t, contactsBefore, h.contacts.All(), "PSA contacts are never touched")
			_, err = h.eng.SyncNow(ctx, "t1")
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "an unlinked tenant is not synced")
			err = h.eng.Unlink(ctx, "alice", "t1", mode)
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)

			cursors, err := h.st.Account(testAccount).Mirror.Cursors(ctx, "t1")
			require.NoError(t, err)
			if mode == store.UnlinkKeep {
				assert.Len(t, h.users("t1"), 6)
				assert.Len(t, h.links("t1"), 3)
				assert.NotEmpty(t, cursors[tenantsync.KindUsers])
			} else {
				assert.Empty(t, h.users("t1"))
				assert.Empty(t, h.links("t1"))
				assert.Empty(t, cursors)
			}

			// Relinking resumes (keep: from the cursor, the same links) or starts over (purge:
			// contacts are matched again by address, not duplicated).
			h.clock.Advance(time.Minute)
			require.NoError(t, h.eng.Link(ctx, "alice", "t1", "client-1"))
			require.NoError(t, h.eng.Wait(ctx))
			calls := h.src.Calls()
			last := calls[len(calls)-1]
			if mode == store.UnlinkKeep {
				assert.NotEmpty(t, last.Cursors[tenantsync.KindUsers])
			} else {
				assert.Empty(t, last.Cursors)
			}
			assert.Len(t, h.links("t1"), 3)
			assert.Len(t, h.contacts.All(), 3)
			h.verifyAudit()
			es := auditEntries(t, h)
			var unlinks []tenantsync.AuditEntry
			for _, e := range es {
				if e.Action == "unlink" {
					unlinks = append(unlinks, e)
				}
			}
			require.Len(t, unlinks, 1)
			assert.Equal(t, mode.String(), unlinks[0].Detail["mode"])
			h.sink.WaitFor(t, EventTenantUnlinked, "t1", 1)
		})
	}
}

func TestUnlinkWhileAnotherEngineSyncs(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)
	_, err := h.st.Account(testAccount).Leases.Acquire(t.Context(), store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: time.Minute})
	require.NoError(t, err)
	require.ErrorIs(t, h.eng.Unlink(t.Context(), "alice", "t1", store.UnlinkPurge), tenantsync.ErrAlreadyRunning)
	assert.Len(t, h.users("t1"), 4)
}

func TestDiscoveryMergesSourcesAndFlagsOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	graph := NewFakeSource("graph")
	h := newHarness(t, func(c *Config) { c.Sources = append(c.Sources, graph) })
	ctx := t.Context()
	both := fakeTenant("t1", "Contoso Ltd", "contoso.example", 1)
	h.src.AddTenant(both)
	graph.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	graph.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 1))

	rep, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"t1", "t2"}, rep.New)
	rec, err := h.st.Account(testAccount).Tenants.Get(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, []string{"cipp", "graph"}, rec.Sources, "one tenant, reached through two sources")
	assert.Len(t, h.sink.WaitFor(t, EventTenantDiscovered, "", 2), 2)

	// Graph's listing fails: nothing is flagged, even though CIPP does not list t2.
	graph.SetListError(tenantsync.Errorf(tenantsync.ErrUnavailable, "retry later", "503"))
	rep, err = h.eng.Discover(ctx)
	require.NoError(t, err, "one source answered")
	assert.Empty(t, rep.Vanished)
	assert.ErrorIs(t, rep.Sources[1].Err, tenantsync.ErrUnavailable)
	rec, err = h.st.Account(testAccount).Tenants.Get(ctx, "t2")
	require.NoError(t, err)
	assert.Equal(t, store.TenantActive, rec.Status)
	failed := h.sink.WaitFor(t, EventDiscoveryFailed, "", 1)
	assert.Equal(t, "retry later", failed[0].Hint)
	assert.Contains(t, failed[0].Message, "graph")
	assert.Empty(t, h.sink.Events(EventSyncFailed), "a failed tenant list is not a failed sync")

	// Every source fails: an error, and still nothing flagged.
	h.src.SetListError(tenantsync.Errorf(tenantsync.ErrUnauthorized, "rotate the secret", "401"))
	_, err = h.eng.Discover(ctx)
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	h.src.SetListError(nil)
	graph.SetListError(nil)

	// CIPP drops t1 but Graph still reaches it: not vanished, and writes now route to Graph.
	h.src.DropTenant("t1")
	rep, err = h.eng.Discover(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.Vanished)
	rec, err = h.st.Account(testAccount).Tenants.Get(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, []string{"graph"}, rec.Sources)

	// Graph drops t2: no source reports it, it is flagged, not deleted; it returns later.
	graph.DropTenant("t2")
	rep, err = h.eng.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"t2"}, rep.Vanished)
	rec, err = h.st.Account(testAccount).Tenants.Get(ctx, "t2")
	require.NoError(t, err)
	assert.Equal(t, store.TenantVanished, rec.Status)
	h.sink.WaitFor(t, EventTenantVanished, "t2", 1)
	graph.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 1))
	rep, err = h.eng.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"t2"}, rep.Returned)
	h.sink.WaitFor(t, EventTenantReturned, "t2", 1)
}

func TestFetchFallsBackToTheNextSource(t *testing.T) {
	t.Parallel()
	graph := NewFakeSource("graph")
	h := newHarness(t, func(c *Config) { c.Sources = append(c.Sources, graph) })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	graph.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.src.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrTenantNotFound, "refresh CIPP's tenant cache", "stale"))
	h.discoverAndLink("t1", "client-1")
	st := h.state("t1")
	assert.Nil(t, st.LastError)
	cursors, err := h.st.Account(testAccount).Mirror.Cursors(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, wrapCursor("graph", "t1:0", h.clock.Now()), cursors[tenantsync.KindUsers])

	// CIPP recovers: its fetch gets no cursor (the stored one is Graph's) and lists in full.
	h.src.SetFetchError("t1", nil)
	rep := h.syncNow("t1")
	assert.Equal(t, "cipp", rep.Source)
	assert.Equal(t, tenantsync.Complete, rep.Kinds[tenantsync.KindUsers].Mode)

	// Both fail: the sync fails with both errors.
	h.src.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrTenantNotFound, "refresh", "stale"))
	graph.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrConsentRequired, "consent", "no"))
	h.clock.Advance(DefaultCooldown)
	_, err = h.eng.SyncNow(t.Context(), "t1")
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
}

func TestKindSwitches(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	ctx := t.Context()
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, h.eng.SetKindsBy(ctx, "alice", "t1", []tenantsync.Kind{"printers"}), tenantsync.ErrInvalidInput)
	require.NoError(t, h.eng.SetKindsBy(ctx, "alice", "t1", []tenantsync.Kind{tenantsync.KindDomains, tenantsync.KindUsers}))
	var set []tenantsync.AuditEntry
	for _, e := range auditOf(t, h, "set_kinds") {
		if e.Outcome == "succeeded" {
			set = append(set, e)
		}
	}
	require.Len(t, set, 1, "a kind switch is audited")
	assert.Equal(t, "alice", set[0].Actor)
	assert.Equal(t, "domains,users", set[0].Detail["kinds"])
	assert.Contains(t, set[0].Detail["before"], "devices", "with the kinds it replaced")
	require.NoError(t, h.eng.Link(ctx, "alice", "t1", "client-1"))
	require.NoError(t, h.eng.Wait(ctx))
	calls := h.src.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains}, calls[0].Kinds)
	devices, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, "t1", tenantsync.KindDevices)
	require.NoError(t, err)
	assert.Empty(t, devices.Devices)
	// Mailboxes are off: a shared mailbox cannot be told from a person, so nothing is created.
	assert.Empty(t, h.links("t1"))
	assert.Empty(t, h.contacts.All())
	// Creation is off rather than waiting: no user is reported deferred, and delta syncs stay
	// delta syncs instead of a full pass each time.
	h.src.PutUser("t1", person("t1-u900", "Nina", "New", "contoso.example"))
	rep := h.syncNow("t1")
	assert.Equal(t, ContactReport{}, rep.Contacts, "nothing created, nothing reported waiting")
	rep = h.syncNow("t1")
	assert.Equal(t, ContactReport{}, rep.Contacts, "the unchanged tenant is not walked again")
	assert.Empty(t, h.contacts.All())

	// Pausing stops the schedule.
	require.NoError(t, h.eng.SetSyncing(ctx, "alice", "t1", false))
	h.clock.Advance(2 * time.Hour)
	reps, err := h.eng.RunOnce(ctx)
	require.NoError(t, err)
	assert.Empty(t, reps)
}

func TestDomainsFillEmptyClientDomainsAndAreAnnounced(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 1))
	require.NoError(t, dirOf(h.st, testAccount).PutClient(ctx, tenantsync.Client{ID: "client-1", Name: "Contoso"}))
	require.NoError(t, dirOf(h.st, testAccount).PutClient(ctx, tenantsync.Client{ID: "client-2", Name: "Fabrikam", Domains: []string{"fabrikam.test"}}))
	h.discoverAndLink("t1", "client-1")
	h.discoverAndLink("t2", "client-2")

	c1, err := dirOf(h.st, testAccount).GetClient(ctx, "client-1")
	require.NoError(t, err)
	assert.Equal(t, []string{"contoso.example"}, c1.Domains, "verified, not onmicrosoft.com, not unverified")
	c2, err := dirOf(h.st, testAccount).GetClient(ctx, "client-2")
	require.NoError(t, err)
	assert.Equal(t, []string{"fabrikam.test"}, c2.Domains, "domains the PSA set are kept")

	seen := h.sink.WaitFor(t, EventDomainSeen, "t1", 2)
	var names []string
	for _, ev := range seen {
		names = append(names, ev.Domain)
	}
	assert.ElementsMatch(t, []string{"contoso.example", "cont.onmicrosoft.com"}, names)

	// Domains already seen are not announced again; a new one is.
	h.src.mu.Lock()
	h.src.tenants["t1"].Domains = append(h.src.tenants["t1"].Domains, tenantsync.Domain{TenantID: "t1", Name: "contoso.shop", IsVerified: true})
	h.src.mu.Unlock()
	h.syncNow("t1")
	seen = h.sink.WaitFor(t, EventDomainSeen, "t1", 3)
	assert.Len(t, seen, 3)
	assert.Equal(t, "contoso.shop", seen[2].Domain)
}

func TestBillableUsers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		def  BillingDefinition
		want int
	}{
		{"default: enabled licensed people, no guests", BillingDefinition{}, 3},
		{"with disabled", BillingDefinition{IncludeDisabled: true}, 4},
		{"with unlicensed", BillingDefinition{IncludeUnlicensed: true}, 4},
		{"with guests and unlicensed", BillingDefinition{IncludeGuests: true, IncludeUnlicensed: true}, 5},
		{"with shared and rooms", BillingDefinition{IncludeNonPerson: true, IncludeUnlicensed: true}, 6},
		{"one SKU only", BillingDefinition{SKUs: []string{"sku-bp"}}, 1},
		{"free SKU ignored", BillingDefinition{ExcludeSKUs: []string{"sku-free"}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.Billing = tc.def })
			ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 5)
			ft.Users[0].AccountEnabled = false
			ft.Users[1].AssignedSKUs = nil
			ft.Users[2].AssignedSKUs = []string{"sku-free"}
			ft.Users[3].AssignedSKUs = []string{"sku-bp", "sku-e3"}
			h.src.AddTenant(ft)
			got, err := h.eng.BillableUsers(t.Context(), "client-1")
			require.NoError(t, err)
			assert.Equal(t, 0, got.Billable)
			assert.True(t, got.Complete, "no tenant linked yet: nothing missing")

			h.discoverAndLink("t1", "client-1")
			got, err = h.eng.BillableUsers(t.Context(), "client-1")
			require.NoError(t, err)
			assert.True(t, got.Complete)
			assert.Equal(t, tc.want, got.Billable)
			assert.Equal(t, tc.want, got.PerTenant["t1"])
		})
	}
}

func TestBillingIncompleteBeforeTheFirstListing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.src.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrUnavailable, "retry", "down"))
	h.discoverAndLink("t1", "client-1")
	got, err := h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	assert.False(t, got.Complete)
}

// Until mailbox types are known a licensed shared mailbox looks like a person, so the count
// is not offered as complete.
func TestBillingIncompleteWithoutMailboxTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	ft.Users[2].AssignedSKUs = []string{"sku-e3"} // the shared mailbox holds a licence
	require.Equal(t, "t1-shared", ft.Users[2].ObjectID)
	h.src.AddTenant(ft)
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrForbidden, "grant Exchange Administrator", "no"))
	h.discoverAndLink("t1", "client-1")
	got, err := h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	assert.False(t, got.Complete)
	assert.Equal(t, 3, got.Billable, "the shared mailbox cannot be told apart yet")

	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeAuto, nil)
	h.syncNow("t1")
	got, err = h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	assert.True(t, got.Complete)
	assert.Equal(t, 2, got.Billable)
}

func TestStatusShowsProgressWhileRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 7))
	h.discoverAndStoreLink("t1", "client-1")

	var during TenantStatus
	var clientDuring ClientStatus
	h.src.OnPage = func(_ string, k tenantsync.Kind, page int) {
		if k == tenantsync.KindUsers && page == 2 {
			var err error
			during, err = h.eng.Status(context.Background(), "t1")
			require.NoError(t, err)
			clientDuring, err = h.eng.ClientStatus(context.Background(), "client-1")
			require.NoError(t, err)
			h.clock.Advance(3 * time.Second)
		}
	}
	rep, err := h.eng.SyncNow(t.Context(), "t1")
	require.NoError(t, err)

	assert.True(t, during.Running)
	assert.Equal(t, 6, during.Progress[tenantsync.KindUsers], "three pages of two")
	assert.Equal(t, rep.Started, during.Since)
	assert.Equal(t, 1, clientDuring.Running)
	progress := h.sink.WaitFor(t, EventSyncProgress, "t1", 5)
	assert.Equal(t, tenantsync.KindUsers, progress[0].Kind)

	after, err := h.eng.Status(t.Context(), "t1")
	require.NoError(t, err)
	assert.False(t, after.Running)
	assert.Empty(t, after.Progress)
	assert.Equal(t, 3*time.Second, after.State.Duration)
	assert.Equal(t, 10, after.State.Counts[tenantsync.KindUsers])
	assert.Equal(t, 10, rep.Kinds[tenantsync.KindUsers].Total)
	assert.True(t, after.Healthy())
	all, err := h.eng.Statuses(t.Context())
	require.NoError(t, err)
	require.Len(t, all, 1)
	cs, err := h.eng.ClientStatus(t.Context(), "client-1")
	require.NoError(t, err)
	assert.Equal(t, after.State.LastSuccess, cs.LastSuccess)
	assert.Equal(t, rep.Started.Add(3*time.Second), cs.LastSuccess, "stamped when the data was committed")
	_, err = h.eng.Status(t.Context(), "nope")
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
}

func TestEventsNeverBlockTheEngine(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var handled atomic.Int64
	blocking := SinkFunc(func(ctx context.Context, ev Event) {
		handled.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	h := newHarness(t, func(c *Config) {
		c.Sink = blocking
		c.Limits.EventBuffer = 4
		c.Limits.EventTimeout = time.Hour
	})
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 20))
	h.discoverAndLink("t1", "client-1")
	assert.Len(t, h.links("t1"), 20, "the sync finished while the sink was stuck")
	assert.Positive(t, h.eng.DroppedEvents())

	// Close gives up on a stuck sink when its context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h.eng.Close(ctx), context.DeadlineExceeded)
	close(release)
	before := h.eng.DroppedEvents()
	h.eng.emit(Event{Type: EventSyncStarted})
	assert.Equal(t, before+1, h.eng.DroppedEvents(), "events after Close are dropped, not queued")
	assert.Positive(t, handled.Load())
}

func TestRunLoopSyncsLinkedTenantsOnItsOwn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Cadence.Tick = time.Minute })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()

	h.sink.WaitFor(t, EventTenantDiscovered, "t1", 1)
	require.NoError(t, h.st.Account(testAccount).Tenants.Link(ctx, "t1", "client-1", h.clock.Now()))
	// A new tenant appears later (a new GDAP relationship): the next tick discovers it.
	h.src.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 1))
	for range 100 {
		if len(h.sink.Events(EventTenantDiscovered)) == 2 && len(h.sink.Events(EventSyncFinished)) >= 1 {
			break
		}
		h.clock.Advance(time.Minute)
		time.Sleep(5 * time.Millisecond)
	}
	h.sink.WaitFor(t, EventTenantDiscovered, "t2", 1)
	h.sink.WaitFor(t, EventSyncFinished, "t1", 1)
	assert.Len(t, h.users("t1"), 4)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestStatusForgetsAHolderThatDied(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)
	ctx := t.Context()
	// Another engine started a sync, stored its progress, then died.
	_, err := h.st.Account(testAccount).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: time.Minute})
	require.NoError(t, err)
	st := h.state("t1")
	st.Running = true
	st.Progress = map[tenantsync.Kind]int{tenantsync.KindUsers: 500}
	require.NoError(t, h.st.Account(testAccount).SyncStates.Put(ctx, st))

	status, err := h.eng.Status(ctx, "t1")
	require.NoError(t, err)
	assert.True(t, status.Running, "its lease is live")
	assert.Equal(t, 500, status.Progress[tenantsync.KindUsers])

	h.clock.Advance(2 * time.Minute)
	status, err = h.eng.Status(ctx, "t1")
	require.NoError(t, err)
	assert.False(t, status.Running, "its lease expired")
	assert.Empty(t, status.Progress)
}

func TestDefaultKindsForNewTenants(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1, func(c *Config) { c.Kinds = []tenantsync.Kind{tenantsync.KindSubscriptions, tenantsync.KindUsers} })
	rec, err := h.st.Account(testAccount).Tenants.Get(t.Context(), "t1")
	require.NoError(t, err)
	assert.ElementsMatch(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindSubscriptions}, rec.EnabledKinds)
	calls := h.src.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindSubscriptions}, calls[0].Kinds)
}

// A tenant unlinked with its data kept and linked to another client is matched against that
// client's contacts; the old client's contacts and links are left as they are.
func TestRelinkToAnotherClientMatchesItsContacts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.AutoCreate = false })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	h.src.AddTenant(ft)
	u := ft.Users[0]
	old := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "Old", Email: u.Mail, Active: true})
	h.discoverAndLink("t1", "client-1")
	require.Equal(t, old.ID, h.links("t1")[u.ObjectID].ContactID)

	ctx := t.Context()
	require.NoError(t, h.eng.Unlink(ctx, "alice", "t1", store.UnlinkKeep))
	moved := h.contacts.Add(tenantsync.Contact{ClientID: "client-2", FirstName: "New", Email: u.Mail, Active: true})
	h.clock.Advance(time.Minute)
	require.NoError(t, h.eng.Link(ctx, "alice", "t1", "client-2"))
	require.NoError(t, h.eng.Wait(ctx))

	require.Nil(t, h.state("t1").LastError)
	l := h.links("t1")[u.ObjectID]
	assert.Equal(t, moved.ID, l.ContactID, "the user is linked to the new client's contact")
	assert.Equal(t, "client-2", l.ClientID)
	c, _ := h.contacts.Get(old.ID)
	assert.True(t, c.Active, "the old client's contact is not touched")

	// A user removed later deactivates only the new client's contact.
	h.src.RemoveUser("t1", u.ObjectID)
	h.syncNow("t1")
	c, _ = h.contacts.Get(old.ID)
	assert.True(t, c.Active)
	c, _ = h.contacts.Get(moved.ID)
	assert.False(t, c.Active)
}

// cancelAfterCommit is a store that cancels the sync's context right after a commit succeeded,
// as a shutdown or a lost lease would at the worst moment.
type cancelAfterCommit struct {
	dirStore
	mu     stdsync.Mutex
	cancel context.CancelFunc
}

func (s *cancelAfterCommit) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Mirror = cancelAfterCommitMirror{a.Mirror, s}
	return a
}

type cancelAfterCommitMirror struct {
	store.Mirror
	s *cancelAfterCommit
}

func (m cancelAfterCommitMirror) Commit(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	s := m.s
	res, err := m.Mirror.Commit(ctx, b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil && err == nil {
		s.cancel()
	}
	return res, err
}

// A sync whose context ends after its commit succeeded did store its run: it reports success
// and announces its contacts, rather than "nothing was stored".
func TestCancelAfterCommitIsASuccess(t *testing.T) {
	t.Parallel()
	var st *cancelAfterCommit
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		st = &cancelAfterCommit{dirStore: memory.New(memory.Config{Now: now})}
		return st
	})
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.discoverAndStoreLink("t1", "client-1")

	ctx, cancel := context.WithCancel(t.Context())
	st.mu.Lock()
	st.cancel = cancel
	st.mu.Unlock()
	rep, err := h.eng.SyncNow(ctx, "t1")
	require.NoError(t, err)
	require.NoError(t, rep.Err)
	assert.Len(t, h.users("t1"), 5)
	state := h.state("t1")
	assert.Nil(t, state.LastError, "the stored run is not reported as lost")
	assert.False(t, state.LastSuccess.IsZero())
	h.sink.WaitFor(t, EventContactCreated, "t1", 2)
	h.sink.WaitFor(t, EventSyncFinished, "t1", 1)
	assert.Empty(t, h.sink.Events(EventSyncFailed))
}

// discoveryOnly is a TenantLister that cannot fetch, as partnercenter.Discovery is.
type discoveryOnly struct{ tenants []tenantsync.Tenant }

func (d discoveryOnly) Name() string { return "partnercenter" }
func (d discoveryOnly) ListTenants(context.Context) ([]tenantsync.Tenant, error) {
	return d.tenants, nil
}

func TestDiscoveryListersAreAskedBesideSources(t *testing.T) {
	t.Parallel()
	pc := discoveryOnly{tenants: []tenantsync.Tenant{fakeTenant("t1", "Contoso Ltd", "contoso.example", 1).Tenant}}
	h := newHarness(t, func(c *Config) { c.Discovery = []tenantsync.TenantLister{pc} })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	_, err := h.eng.Discover(t.Context())
	require.NoError(t, err)
	rec, err := h.st.Account(testAccount).Tenants.Get(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, []string{"cipp", "partnercenter"}, rec.Sources)

	_, err = New(Config{Store: h.st, Account: testAccount, Sources: []tenantsync.Source{h.src},
		Discovery: []tenantsync.TenantLister{discoveryOnly{}, discoveryOnly{}}})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "two listers with one name")
}

// A kind switch is checked, refused and audited as every managed change is: a person without
// the permission is refused before the kinds are read, an unknown tenant is ErrTenantNotFound,
// and the entry records the kinds as stored (each once) and those they replaced.
func TestKindSwitchesRefusedAndRecorded(t *testing.T) {
	t.Parallel()
	h := keyedHarness(t, func(c *Config) {
		c.Authorizer = FakeAuthorizer{Allowed: map[string]bool{"mallory": true, "alice": true}, Managers: map[string]bool{"alice": true}}
	})
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	ctx := t.Context()
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)

	err = h.eng.SetKindsBy(ctx, "mallory", "t1", []tenantsync.Kind{"printers"})
	require.ErrorIs(t, err, tenantsync.ErrPermissionDenied, "refused before the kinds are checked")
	err = h.eng.SetKindsBy(ctx, "alice", "t1", []tenantsync.Kind{"printers"})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	err = h.eng.SetKindsBy(ctx, "alice", "nope", []tenantsync.Kind{tenantsync.KindUsers})
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	require.NoError(t, h.eng.SetKindsBy(ctx, "alice", "t1", []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains, tenantsync.KindUsers}))

	var got []string
	for _, e := range auditOf(t, h, "set_kinds") {
		got = append(got, e.Actor+" "+e.TenantID+" "+e.Outcome+" "+e.Detail["kinds"])
	}
	assert.Equal(t, []string{"mallory t1 refused printers", "alice t1 refused printers", "alice nope refused users", "alice t1 succeeded users,domains"}, got)
	rec, err := h.st.Account(testAccount).Tenants.Get(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDomains}, rec.EnabledKinds)
}
