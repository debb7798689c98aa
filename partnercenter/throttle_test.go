package partnercenter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// TestThrottledBeyondMaxRetryAfterKeepsTheServiceError: a 429 whose Retry-After exceeds
// MaxRetryAfter fails at once, and the error still carries what the service said (code,
// message, request ID) next to ErrThrottled and the wait, for Partner Center and for the GDAP
// calls to Graph alike.
func TestThrottledBeyondMaxRetryAfterKeepsTheServiceError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   testserver.Fault
		call    func(*Client) error
		code    string
		message string
		wait    time.Duration
	}{
		{"partner center", testserver.Fault{Service: testserver.ServicePartnerCenter, Kind: testserver.Throttle, RetryAfter: "90"},
			func(c *Client) error { _, err := c.Customers(t.Context()); return err },
			"429", "Rate limit is exceeded. Try again in 90 seconds.", 90 * time.Second},
		{"graph relationships", testserver.Fault{Service: testserver.ServiceGraph, Kind: testserver.Throttle, RetryAfter: "3600"},
			func(c *Client) error { _, err := c.Relationships(t.Context()); return err },
			"TooManyRequests", "Please retry again later.", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 2, MinUsers: 1, MaxUsers: 2})
			c := fakeClient(t, srv, func(c *Config) { c.MaxRetryAfter = 10 * time.Second })
			srv.InjectFault(tt.fault)
			err := tt.call(c)
			require.ErrorIs(t, err, tenantsync.ErrThrottled)
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.Equal(t, tt.wait, d.RetryAfter)
			assert.Equal(t, tt.code, d.Code)
			assert.Equal(t, tt.message, d.Message)
			assert.NotEmpty(t, d.RequestID)
			assert.Equal(t, 429, d.Status)
			assert.NotEmpty(t, d.Hint)
			assert.Equal(t, 1, srv.FaultCounts()[testserver.Throttle], "not retried")
		})
	}
}
