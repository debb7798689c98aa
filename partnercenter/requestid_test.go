package partnercenter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestGraphErrorRequestID: a Graph error (GDAP relationships are read through Graph) keeps the
// response's request-id header first, then the body's innerError request ID in either of Graph's
// spellings, "request-id" (errors.md) or "requestId" (older Graph:
// {"innerError": {"requestId": …, "date": …}}), before the weaker header fallbacks.
func TestGraphErrorRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		body   string
		want   string
	}{
		{"documented shape", nil, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.",
			"innerError":{"date":"2025-02-13T10:17:06","request-id":"93b6f17e-c05d-4f45-ad2a-6665c708d8a0","client-request-id":"e70c5c1b-8b47-68c0-3171-3d22f5e0bd54"}}}`,
			"93b6f17e-c05d-4f45-ad2a-6665c708d8a0"},
		{"older requestId spelling", nil, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.",
			"innerError":{"requestId":"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b","date":"2019-07-01T10:00:00"}}}`,
			"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b"},
		{"request-id header first", map[string]string{"request-id": "hdr-rid"}, `{"error":{"code":"TooManyRequests","message":"Please retry again later.",
			"innerError":{"requestId":"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b"}}}`, "hdr-rid"},
		{"the service's ID in the body beats the client's echoed one", map[string]string{"client-request-id": "echoed-client-id"},
			`{"error":{"code":"BadRequest","message":"x","innerError":{"requestId":"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b"}}}`,
			"6e4e3d2c-8f7b-4c39-9a5e-0c1d2e3f4a5b"},
		{"both spellings: request-id first", nil, `{"error":{"code":"BadRequest","message":"x","innerError":{"requestId":"camel","request-id":"hyphen"}}}`, "hyphen"},
		{"no body ID: header fallback", map[string]string{"client-request-id": "echoed-client-id"},
			`{"error":{"code":"BadRequest","message":"x"}}`, "echoed-client-id"},
		{"nothing at all", nil, `upstream timeout`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			e := decodeGraphError("ListRelationships", http.StatusForbidden, h, []byte(tt.body), time.Now())
			assert.Equal(t, tt.want, e.RequestID)
		})
	}
}
