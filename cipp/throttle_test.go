package cipp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// TestThrottledBeyondMaxRetryAfterKeepsCIPPsAnswer: a 429 whose Retry-After exceeds the
// transport's MaxRetryAfter (5 minutes) fails at once, with the text and request ID of the
// answer next to ErrThrottled and the wait.
func TestThrottledBeyondMaxRetryAfterKeepsCIPPsAnswer(t *testing.T) {
	t.Parallel()
	c, seen := stubCIPP(t, map[string]stubResponse{"ListUsers": {status: 429, ctype: "text/plain",
		body:   "Rate limit is exceeded. Try again later.",
		header: map[string]string{"Retry-After": "3600", "x-ms-request-id": "req-429"}}})
	_, err := c.Users(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, time.Hour, d.RetryAfter)
	assert.Equal(t, "Rate limit is exceeded. Try again later.", d.Message)
	assert.Equal(t, "req-429", d.RequestID)
	assert.Equal(t, 429, d.Status)
	assert.NotEmpty(t, d.Hint)
	users := 0
	for _, r := range *seen {
		if r.URL.Path == "/prefix/api/ListUsers" {
			users++
		}
	}
	assert.Equal(t, 1, users, "not retried")
}
