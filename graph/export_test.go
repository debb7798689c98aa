package graph

import (
	"context"
	"net/http"
	"time"
)

// RawBatchForTest posts a $batch without the client's validation, to see the service's answer.
func RawBatchForTest(ctx context.Context, c *Client, tenant string, reqs []BatchRequest) (int, string) {
	r, err := c.send(ctx, "Batch", tenant, http.MethodPost, c.root+"/$batch", batchBody{Requests: reqs})
	if err != nil {
		return 0, err.Error()
	}
	return r.status, string(r.body)
}

// SetBatchRetryForTest replaces the random draw and the sleep of Batch's item retries.
func SetBatchRetryForTest(c *Client, draw func(n int64) int64, pause func(ctx context.Context, d time.Duration) error) {
	c.draw, c.pause = draw, pause
}
