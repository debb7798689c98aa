package sync

import (
	"context"
	"fmt"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// A backlog of due tenants larger than Limits.Concurrency is worked through as syncs end,
// not a slot's worth per Cadence.Tick: with a tick that never comes (the clock stands still),
// Run still syncs every due tenant.
func TestRunRefillsSlotsAsSyncsEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.Concurrency = 2 })
	const n = 7
	for i := range n {
		h.src.AddTenant(fakeTenant(fmt.Sprintf("t%d", i), fmt.Sprintf("Tenant %d", i), fmt.Sprintf("t%d.example", i), 2))
	}
	for i := range n {
		h.discoverAndStoreLink(fmt.Sprintf("t%d", i), fmt.Sprintf("client-%d", i))
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- h.eng.Run(ctx) }()
	synced := func() int {
		k := 0
		for i := range n {
			if st, err := h.st.Account(testAccount).SyncStates.Get(t.Context(), fmt.Sprintf("t%d", i)); err == nil && !st.LastSuccess.IsZero() {
				k++
			}
		}
		return k
	}
	deadline := time.Now().Add(10 * time.Second)
	for synced() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, n, synced(), "tenants synced before the next tick")
	cancel()
	require.ErrorIs(t, <-ran, context.Canceled)
}

// Tenants linked one after another start their first syncs in the order they were linked,
// whatever order the runtime runs the goroutines waiting for a slot in: a person who links
// a partner's tenants expects the first linked to be synced first, and a caller that links
// its largest tenants first gets them started first.
func TestLinkedTenantsStartInLinkOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.Concurrency = 1 })
	var want []string
	for i := range 40 {
		id := fmt.Sprintf("t%02d", i)
		h.src.AddTenant(fakeTenant(id, fmt.Sprintf("Tenant %02d", i), fmt.Sprintf("t%02d.example", i), 1))
		want = append(want, id)
	}
	ctx := t.Context()
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	for _, id := range want {
		require.NoError(t, h.eng.Link(ctx, "alice", id, "client-1"))
	}
	require.NoError(t, h.eng.Wait(ctx))
	var got []string
	for _, c := range h.src.Calls() {
		got = append(got, c.TenantID)
	}
	assert.Equal(t, want, got)
}

// blockingListSource is a FakeSource whose tenant listing waits for release.
type blockingListSource struct {
	*FakeSource
	mu      stdsync.Mutex
	release chan struct{}
}

func (s *blockingListSource) ListTenants(ctx context.Context) ([]tenantsync.Tenant, error) {
	s.mu.Lock()
	release := s.release
	s.mu.Unlock()
	select {
	case <-release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.FakeSource.ListTenants(ctx)
}

// Tenants already due are synced while discovery is still listing a source's tenants: a
// tick, and an engine's start, do not hold their syncs back behind the listing's round trips.
func TestDueTenantsSyncWhileDiscoveryLists(t *testing.T) {
	t.Parallel()
	src := &blockingListSource{FakeSource: NewFakeSource("cipp"), release: make(chan struct{})}
	h := newHarness(t, func(c *Config) { c.Sources = []tenantsync.Source{src} })
	for i := range 3 {
		id := fmt.Sprintf("t%d", i)
		src.AddTenant(fakeTenant(id, fmt.Sprintf("Tenant %d", i), id+".example", 2))
	}
	close(src.release)
	for i := range 3 {
		h.discoverAndStoreLink(fmt.Sprintf("t%d", i), fmt.Sprintf("client-%d", i))
	}
	src.mu.Lock()
	src.release = make(chan struct{})
	src.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- h.eng.Run(ctx) }()
	synced := func() int {
		k := 0
		for i := range 3 {
			if st, err := h.st.Account(testAccount).SyncStates.Get(t.Context(), fmt.Sprintf("t%d", i)); err == nil && !st.LastSuccess.IsZero() {
				k++
			}
		}
		return k
	}
	deadline := time.Now().Add(10 * time.Second)
	for synced() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, 3, synced(), "due tenants synced while the listing waits")
	src.mu.Lock()
	close(src.release)
	src.mu.Unlock()
	cancel()
	require.ErrorIs(t, <-ran, context.Canceled)
}
