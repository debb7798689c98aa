package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
