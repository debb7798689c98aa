package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// TestThrottledBeyondMaxRetryAfterKeepsGraphsError: a 429 whose Retry-After exceeds
// MaxRetryAfter fails at once, with Graph's code, message and request ID next to ErrThrottled
// and the wait.
func TestThrottledBeyondMaxRetryAfterKeepsGraphsError(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv) // MaxRetryAfter 10s
	tn := firstTenant(srv)
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceGraph, Tenant: tn.ID, Path: "/organization",
		Kind: testserver.Throttle, RetryAfter: "3600"})
	_, err := c.Organization(t.Context(), tn.ID)
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, time.Hour, d.RetryAfter)
	assert.Equal(t, "TooManyRequests", d.Code)
	assert.Equal(t, "Please retry again later.", d.Message)
	assert.NotEmpty(t, d.RequestID)
	assert.Equal(t, 429, d.Status)
	assert.Equal(t, tn.ID, d.Tenant)
	assert.Equal(t, 1, srv.FaultCounts()[testserver.Throttle], "not retried")
}
