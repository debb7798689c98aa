package graph

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestErrorRequestID: the request ID an error carries is the response's request-id header when
// there is one, else the error body's innerError request ID in either of Graph's spellings:
// "request-id" (errors.md, with "client-request-id" and "date") or "requestId" (older Graph,
// {"innerError": {"requestId": …, "date": …}}).
func TestErrorRequestID(t *testing.T) {
	t.Parallel()
	c := &Client{now: time.Now}
	tests := []struct {
		name   string
		header string
		body   string
		want   string
	}{
		{"documented shape", "", `{"error":{"code":"Request_ResourceNotFound","message":"Resource '5b31c38c' does not exist.",
			"innerError":{"date":"2021-04-20T17:22:30","request-id":"f58cc4de-b427-41de-b37c-46ee4925a26d","client-request-id":"f58cc4de-0000-41de-b37c-46ee4925a26d"}}}`,
			"f58cc4de-b427-41de-b37c-46ee4925a26d"},
		{"older requestId spelling", "", `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.",
			"innerError":{"requestId":"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b","date":"2019-07-01T10:00:00"}}}`,
			"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b"},
		{"header wins over the body", "11111111-aaaa-4bbb-8ccc-222222222222", `{"error":{"code":"TooManyRequests","message":"Please retry again later.",
			"innerError":{"requestId":"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b","date":"2019-07-01T10:00:00"}}}`,
			"11111111-aaaa-4bbb-8ccc-222222222222"},
		{"both spellings: request-id first", "", `{"error":{"code":"BadRequest","message":"x",
			"innerError":{"requestId":"camel","request-id":"hyphen"}}}`, "hyphen"},
		{"only the client's own ID is not the service's request ID", "", `{"error":{"code":"BadRequest","message":"x",
			"innerError":{"client-request-id":"mine"}}}`, ""},
		{"no innerError", "", `{"error":{"code":"BadRequest","message":"x"}}`, ""},
		{"not JSON", "", `upstream timeout`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.header != "" {
				h.Set("request-id", tt.header)
			}
			e := c.apiError("ListUsers", "t1", accessUsers, http.StatusBadRequest, h, []byte(tt.body))
			assert.Equal(t, tt.want, e.RequestID)

			// A $batch item carries the same body, with its own (often absent) headers.
			item := BatchResponse{ID: "1", Status: http.StatusForbidden, Body: []byte(tt.body)}
			if tt.header != "" {
				item.Headers = map[string]string{"request-id": tt.header}
			}
			if len(tt.body) > 0 && tt.body[0] == '{' {
				assert.Equal(t, tt.want, c.itemError("ListUsers", "t1", accessUsers, item).RequestID)
			}
		})
	}
}
