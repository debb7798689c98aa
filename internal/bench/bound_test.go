package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestBoundIsNeverBeatenByATenantSendingItsRequestsAtOnce: a Graph tenant sends its kinds'
// requests together, so a sync may have more requests in flight than tenants; the bound must
// still be one that no such schedule beats.
func TestBoundIsNeverBeatenByATenantSendingItsRequestsAtOnce(t *testing.T) {
	t.Parallel()
	const lat = 100 * time.Millisecond
	// Four tenants, each 10 round trips that can all go at once after its token: a chain of 2.
	costs := []cost{{trips: 10, chain: 2}, {trips: 10, chain: 2}, {trips: 10, chain: 2}, {trips: 10, chain: 2}}
	// Two tenants at a time, each done in two latencies: the best schedule takes 4 latencies.
	best := 4 * lat
	b := boundOf(costs, lat, 2, 0)
	assert.LessOrEqual(t, b.value, best, "a bound the best schedule beats is no bound")
	assert.Equal(t, best, b.value, "the chains spread over the slots are the bound here")
	// The round trips spread over the slots (40 x 100 ms / 2 = 2 s) would claim a sync of 0.4 s
	// at an efficiency of 5.
	assert.Less(t, b.value, 40*lat/2)

	// A cap on requests in flight bounds it too: 40 trips, 5 at a time, take 8 latencies.
	capped := boundOf(costs, lat, 2, 5)
	assert.Equal(t, 8*lat, capped.value)

	// The longest tenant bounds it when the others are short, and so do its rate limits.
	long := boundOf([]cost{{trips: 60, chain: 50}, {trips: 1, chain: 1}}, lat, 16, 0)
	assert.Equal(t, 50*lat, long.value)
	limited := boundOf([]cost{{trips: 6, chain: 2, wait: 2 * time.Second}}, lat, 16, 0)
	assert.Equal(t, 2*time.Second, limited.value)
}
