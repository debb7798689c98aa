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

// revokedListSource lists no tenant in hidden but still fetches it, as when a customer ended
// the GDAP relationship and the partner app's consent in its tenant remains; its listing
// takes a while, as a listing's round trips do.
type revokedListSource struct {
	*FakeSource
	mu     stdsync.Mutex
	hidden map[string]bool
}

func (s *revokedListSource) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	time.Sleep(200 * time.Millisecond)
	all, err := s.FakeSource.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tenantsync.Tenant
	for _, t := range all {
		if !s.hidden[t.ID] {
			out = append(out, t)
		}
	}
	return out, nil
}

// A tenant no source lists any more is not synced by a cycle whose engine has no recent
// discovery (its first, or after a pause): nothing is claimed on statuses as old as the pause
// before discovery has marked it vanished.
func TestTenantNoLongerListedIsNotSyncedBeforeDiscovery(t *testing.T) {
	t.Parallel()
	src := &revokedListSource{FakeSource: NewFakeSource("cipp"), hidden: map[string]bool{}}
	h := newHarness(t, func(c *Config) { c.Sources = []tenantsync.Source{src} })
	src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.discoverAndLink("t1", "client-1")
	before := len(src.Calls())

	src.mu.Lock()
	src.hidden["t1"] = true
	src.mu.Unlock()
	h.clock.Advance(3 * time.Hour)
	reps, err := h.eng.RunOnce(t.Context())
	require.NoError(t, err)
	rec, err := h.st.Account(testAccount).Tenants.Get(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, store.TenantVanished, rec.Status)
	for _, r := range reps {
		assert.NotEqual(t, "t1", r.TenantID, "a tenant no source lists any more was synced: %v", r.Err)
	}
	assert.Equal(t, before, len(src.Calls()), "the vanished tenant was fetched")
}

// The billing snapshot does not wait on the lease table: a cycle whose claim fails still
// takes the hour's snapshot.
func TestBillingTakenWhenClaimFails(t *testing.T) {
	t.Parallel()
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		return &failDueStore{memory.New(memory.Config{Now: now})}
	})
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.discoverAndStoreLink("t1", "client-1")
	_, err := h.eng.RunOnce(t.Context())
	require.ErrorIs(t, err, errClaimDown)
	hist, err := h.eng.BillingHistory(t.Context(), "client-1", time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Len(t, hist, 1, "the billing snapshot was taken")
}

type failOnceDueStore struct {
	dirStore
	n atomic.Int32
}

func (s *failOnceDueStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Leases = failOnceDueLeases{a.Leases, s}
	return a
}

type failOnceDueLeases struct {
	store.Leases
	s *failOnceDueStore
}

func (l failOnceDueLeases) AcquireDue(ctx context.Context, r store.DueRequest) ([]store.Lease, error) {
	if l.s.n.Add(1) == 1 {
		return nil, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "store", Op: "AcquireDue", Err: errClaimDown}
	}
	return l.Leases.AcquireDue(ctx, r)
}

// A claim before discovery that fails is reported, even when the claim after it succeeds.
func TestFailedClaimBeforeDiscoveryIsReported(t *testing.T) {
	t.Parallel()
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		return &failOnceDueStore{dirStore: memory.New(memory.Config{Now: now})}
	})
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
	h.discoverAndStoreLink("t1", "client-1")
	reps, err := h.eng.RunOnce(t.Context())
	require.ErrorIs(t, err, errClaimDown)
	// The sink receives events asynchronously: RunOnce can return before it has this one.
	assert.Len(t, h.sink.WaitFor(t, EventCycleFailed, "", 1), 1)
	require.Len(t, reps, 1, "the claim after discovery synced the tenant")
	assert.NoError(t, reps[0].Err)
}

// settingsCountStore counts the reads of a client's own settings.
type settingsCountStore struct {
	dirStore
	reads atomic.Int32
}

func (s *settingsCountStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Settings = settingsCount{a.Settings, s}
	return a
}

type settingsCount struct {
	store.Settings
	s *settingsCountStore
}

func (c settingsCount) Client(ctx context.Context, clientID string) (store.ClientSettings, error) {
	c.s.reads.Add(1)
	return c.Settings.Client(ctx, clientID)
}

// A sync reads its client's settings once, however many of its steps ask (the contact match,
// the asset sync, the domain monitor), and the next sync reads them anew.
func TestSyncReadsItsClientSettingsOnce(t *testing.T) {
	t.Parallel()
	wrapped := &settingsCountStore{}
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		wrapped.dirStore = memory.New(memory.Config{Now: now})
		return wrapped
	})
	h.assetsOn(true)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.discoverAndLink("t1", "client-1")

	on := true
	require.NoError(t, h.eng.SetClientSettings(t.Context(), "alice", "client-1", store.ClientSettings{AutoMonitorDomains: &on}))
	// A new domain, so the domain monitor asks too.
	h.src.Silently("t1", func(ft *FakeTenant) {
		ft.Domains = append(ft.Domains, tenantsync.Domain{Name: "new.example", IsVerified: true})
	})
	// And a new user, so the contact match asks.
	h.src.PutUser("t1", person("t1-u900", "New", "Comer", "contoso.example"))
	wrapped.reads.Store(0)
	h.clock.Advance(time.Hour)
	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	assert.Equal(t, int32(1), wrapped.reads.Load(), "client settings read once in the sync")
	s, err := h.eng.SettingsFor(t.Context(), "client-1")
	require.NoError(t, err)
	assert.True(t, s.AutoMonitorDomains)
	off := false
	require.NoError(t, h.eng.SetClientSettings(t.Context(), "alice", "client-1", store.ClientSettings{AutoMonitorDomains: &off}))
	s, err = h.eng.SettingsFor(t.Context(), "client-1")
	require.NoError(t, err)
	assert.False(t, s.AutoMonitorDomains, "a read outside a sync sees the stored settings")
}
