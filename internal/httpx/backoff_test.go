package httpx_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync/internal/httpx"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	top := func(n int64) int64 { return n - 1 } // the highest value of the draw's range
	tests := []struct {
		name             string
		retry            int
		minWait, maxWait time.Duration
		want             time.Duration // with top
	}{
		{"first retry", 1, 500 * time.Millisecond, 30 * time.Second, 500 * time.Millisecond},
		{"second retry doubles", 2, 500 * time.Millisecond, 30 * time.Second, time.Second},
		{"fourth retry", 4, 500 * time.Millisecond, 30 * time.Second, 4 * time.Second},
		{"capped at maxWait", 10, 500 * time.Millisecond, 30 * time.Second, 30 * time.Second},
		{"huge retry count, huge cap: no overflow", 1000, time.Second, math.MaxInt64 - 1, math.MaxInt64 - 1},
		{"largest cap", 70, time.Second, math.MaxInt64, math.MaxInt64 - 1},
		{"minWait above maxWait", 1, time.Minute, time.Second, time.Second},
		{"zero bounds", 3, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, httpx.Backoff(tt.retry, tt.minWait, tt.maxWait, top))
			assert.Equal(t, time.Duration(0), httpx.Backoff(tt.retry, tt.minWait, tt.maxWait, func(int64) int64 { return 0 }),
				"full jitter reaches down to zero")
			d := httpx.Backoff(tt.retry, tt.minWait, tt.maxWait, nil)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, tt.want, "the default draw stays in range")
		})
	}
}
