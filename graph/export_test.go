package graph

import (
	"context"
	"net/http"
)

// RawBatchForTest posts a $batch without the client's validation, to see the service's answer.
func RawBatchForTest(ctx context.Context, c *Client, tenant string, reqs []BatchRequest) (int, string) {
	r, err := c.send(ctx, "Batch", tenant, http.MethodPost, c.root+"/$batch", batchBody{Requests: reqs})
	if err != nil {
		return 0, err.Error()
	}
	return r.status, string(r.body)
}
