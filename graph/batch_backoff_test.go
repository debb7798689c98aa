package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// A $batch item throttled without a Retry-After waits the transport's full-jitter backoff, a
// random draw below a ceiling that doubles per retry, so tenants throttled together do not all
// come back at once; a Retry-After is waited as given. The random draw and the sleep are
// injected: the test sees every wait and waits for none.
func TestBatchThrottledItemBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		retryAfter  string
		wantCeiling []time.Duration // the ceilings the random draw was asked for
		wantWaits   []time.Duration
	}{
		{"no Retry-After: full jitter", "",
			[]time.Duration{transport.DefaultMinBackoff, 2 * transport.DefaultMinBackoff, 4 * transport.DefaultMinBackoff},
			// the draw below returns a third of its range
			[]time.Duration{transport.DefaultMinBackoff / 3, 2 * transport.DefaultMinBackoff / 3, 4 * transport.DefaultMinBackoff / 3}},
		{"Retry-After as given", "2", nil, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			c := newClient(t, srv, func(cfg *graph.Config) { cfg.MaxRetries = 3 })
			tn := firstTenant(srv)
			srv.GraphThrottle(tn.ID, "/subscribedSkus", 3, tt.retryAfter)
			var ceilings, waits []time.Duration
			graph.SetBatchRetryForTest(c,
				func(n int64) int64 {
					ceilings = append(ceilings, time.Duration(n-1))
					return (n - 1) / 3
				},
				func(_ context.Context, d time.Duration) error {
					waits = append(waits, d)
					return nil
				})
			res, err := c.Batch(t.Context(), tn.ID, []graph.BatchRequest{{ID: "skus", Method: "GET", URL: "/subscribedSkus"}})
			require.NoError(t, err)
			assert.Equal(t, 200, res["skus"].Status, "the fourth try gets through")
			assert.Equal(t, 4, srv.Requests(testserver.ServiceGraph, tn.ID))
			assert.Equal(t, tt.wantCeiling, ceilings)
			assert.Equal(t, tt.wantWaits, waits)
		})
	}
}

// Two clients with different random draws wait differently for the same throttling: the
// retries of many tenants spread out instead of arriving in lockstep.
func TestBatchThrottledItemsDoNotRetryInLockstep(t *testing.T) {
	t.Parallel()
	waitsWith := func(draw func(n int64) int64) []time.Duration {
		srv := newFake(t)
		c := newClient(t, srv, func(cfg *graph.Config) { cfg.MaxRetries = 2 })
		tn := firstTenant(srv)
		srv.GraphThrottle(tn.ID, "/subscribedSkus", 2, "")
		var waits []time.Duration
		graph.SetBatchRetryForTest(c, draw, func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		})
		_, err := c.Batch(t.Context(), tn.ID, []graph.BatchRequest{{ID: "skus", Method: "GET", URL: "/subscribedSkus"}})
		require.NoError(t, err)
		return waits
	}
	low := waitsWith(func(int64) int64 { return 0 })
	high := waitsWith(func(n int64) int64 { return n - 1 })
	require.Len(t, low, 2)
	require.Len(t, high, 2)
	assert.NotEqual(t, low, high)
	assert.Equal(t, []time.Duration{0, 0}, low)
	assert.Equal(t, []time.Duration{transport.DefaultMinBackoff, 2 * transport.DefaultMinBackoff}, high)
}
