package partnercenter

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/transport"
)

func TestPartnerCenterErrorShapesMapToKinds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		tenant     string
		status     int
		header     map[string]string
		body       string
		kind       error
		code       string
		message    string
		requestID  string
		retryAfter time.Duration
		hint       string
	}{
		{name: "validation, numeric code", status: 400, tenant: "x",
			body: `{"code": 2000, "description": "Tenant Id must be a GUID.", "data": [], "source": "PartnerApiServiceControllers"}`,
			kind: tenantsync.ErrInvalidInput, code: "2000", message: "Tenant Id must be a GUID.", hint: "GUID"},
		{name: "string code", status: 403, body: `{"code":"2032","description":"Access denied","data":[],"source":"PartnerFD"}`,
			header: map[string]string{"MS-RequestId": "rid-403"},
			kind:   tenantsync.ErrForbidden, code: "2032", requestID: "rid-403", hint: "Admin Agent"},
		{name: "unauthorized", status: 401, body: `{"code":800001,"description":"Partner Token missing in request context","data":[],"source":"PartnerFD"}`,
			kind: tenantsync.ErrUnauthorized, code: "800001", hint: "api.partnercenter.microsoft.com"},
		{name: "customer not found", status: 404, tenant: tenantA, body: `{"code":60003,"description":"Tenant not found","data":[],"source":"PartnerFD"}`,
			kind: tenantsync.ErrTenantNotFound, code: "60003", hint: "refresh the tenant list"},
		{name: "tenant not found code without tenant", status: 404, body: `{"code":60003,"description":"Tenant not found"}`,
			kind: tenantsync.ErrTenantNotFound, code: "60003"},
		{name: "path not found", status: 404, body: `{"code":1000,"description":"Not found"}`, kind: tenantsync.ErrNotFound, code: "1000"},
		{name: "throttled", status: 429, header: map[string]string{"Retry-After": "57", "MS-CorrelationId": "corr-1"},
			body: `{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds." }`,
			kind: tenantsync.ErrThrottled, code: "429", message: "Try again in 57 seconds", requestID: "corr-1",
			retryAfter: 57 * time.Second, hint: "rate limiting"},
		{name: "throttled without Retry-After", status: 429, body: `{"statusCode":429,"message":"Rate limit is exceeded."}`,
			kind: tenantsync.ErrThrottled, code: "429"},
		{name: "server error", status: 503, header: map[string]string{"Retry-After": "3"},
			body: `{"code":800003,"description":"Unexpected service error"}`, kind: tenantsync.ErrUnavailable, code: "800003", retryAfter: 3 * time.Second},
		{name: "html from a proxy", status: 502, body: `<html><body>Bad gateway</body></html>`, kind: tenantsync.ErrUnavailable, message: "Bad gateway"},
		{name: "unexpected status", status: 418, body: ``, kind: tenantsync.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			e := decodePCError("Op", tt.tenant, tt.status, h, []byte(tt.body), now)
			require.ErrorIs(t, e, tt.kind)
			assert.Equal(t, "partnercenter", e.Service)
			assert.Equal(t, tt.status, e.Status)
			assert.Equal(t, tt.code, e.Code)
			assert.Contains(t, e.Message, tt.message)
			assert.Equal(t, tt.requestID, e.RequestID)
			assert.Equal(t, tt.retryAfter, e.RetryAfter)
			assert.NotEmpty(t, e.Hint)
			assert.Contains(t, e.Hint, tt.hint)
		})
	}
}

func TestGraphErrorShapesMapToKinds(t *testing.T) {
	t.Parallel()
	body := func(code, msg string) string {
		return `{"error":{"code":"` + code + `","message":"` + msg + `","innerError":{"date":"2026-11-22T00:00:00","request-id":"inner-rid","client-request-id":"c"}}}`
	}
	tests := []struct {
		status int
		header map[string]string
		body   string
		kind   error
		code   string
		rid    string
		ra     time.Duration
	}{
		{401, nil, body("InvalidAuthenticationToken", "Access token has expired or is not yet valid."), tenantsync.ErrUnauthorized, "InvalidAuthenticationToken", "inner-rid", 0},
		{403, map[string]string{"request-id": "hdr-rid"}, body("Authorization_RequestDenied", "Insufficient privileges to complete the operation."), tenantsync.ErrForbidden, "Authorization_RequestDenied", "hdr-rid", 0},
		{400, nil, body("BadRequest", "The limit of '300' for Top query has been exceeded."), tenantsync.ErrInvalidInput, "BadRequest", "inner-rid", 0},
		{404, nil, body("Request_ResourceNotFound", "Resource does not exist"), tenantsync.ErrNotFound, "Request_ResourceNotFound", "inner-rid", 0},
		{429, map[string]string{"Retry-After": "2.128"}, body("TooManyRequests", "Please retry again later."), tenantsync.ErrThrottled, "TooManyRequests", "inner-rid", 3 * time.Second},
		{504, nil, "upstream timeout", tenantsync.ErrUnavailable, "", "", 0},
		{409, nil, "", tenantsync.ErrUnavailable, "", "", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		e := decodeGraphError("ListRelationships", tt.status, h, []byte(tt.body), time.Now())
		require.ErrorIs(t, e, tt.kind, "status %d", tt.status)
		assert.Equal(t, tt.code, e.Code)
		assert.Equal(t, tt.rid, e.RequestID)
		assert.Equal(t, tt.ra, e.RetryAfter, "status %d: fractional Retry-After rounds up", tt.status)
		assert.NotEmpty(t, e.Hint)
	}
}

func TestErrorsThroughTheClientKeepTheRequestID(t *testing.T) {
	t.Parallel()
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("MS-RequestId", r.Header.Get("MS-RequestId"))
		w.Header().Set("Retry-After", "1")
		writeJSONBody(w, http.StatusTooManyRequests, []byte(`{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}`))
	}, nil)
	c := f.client(t, func(c *Config) { c.MaxRetries = 1 })
	_, err := c.ListCustomersPage(t.Context(), "")
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, time.Second, d.RetryAfter)
	assert.Len(t, d.RequestID, 36, "the MS-RequestId the client sent and the service echoed")
	assert.Equal(t, "ListCustomers", d.Op)
	assert.NotContains(t, err.Error(), "tok-", "no token in error strings")
}

func TestMalformedBodyIsIncomplete(t *testing.T) {
	t.Parallel()
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, http.StatusOK, []byte(`{"totalCount": 2, "items": [{"id": "x"`))
	}, func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, http.StatusOK, []byte(`{"value": [ {"id": 5} ]}`))
	})
	c := f.client(t)
	_, err := c.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	_, err = c.Relationships(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
	_, err = c.GetCustomer(t.Context(), tenantA)
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
}

func FuzzDecodePCError(f *testing.F) {
	f.Add(400, `{"code": 2000, "description": "Tenant Id must be a GUID.", "data": [], "source": "x"}`)
	f.Add(429, `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}`)
	f.Add(404, `{"code":"60003","description":null}`)
	f.Add(500, `<html>`)
	f.Add(401, `{"code": 1e999}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			return
		}
		e := decodePCError("Op", "", status, http.Header{"Retry-After": {"5"}}, []byte(body), time.Now())
		if e.Class == nil || e.Hint == "" {
			t.Fatalf("status %d body %q: no kind or hint", status, body)
		}
		if len(e.Message) > 310*4 {
			t.Fatalf("message not clipped: %d bytes", len(e.Message))
		}
		if strings.Contains(e.Error(), "\x00") && !strings.Contains(body, "\x00") {
			t.Fatalf("error text invented a NUL")
		}
	})
}

func TestNoRetriesSendsOnce(t *testing.T) {
	t.Parallel()
	var sends atomic.Int32
	f := newFakes(t, func(w http.ResponseWriter, r *http.Request) {
		sends.Add(1)
		writeJSONBody(w, http.StatusServiceUnavailable, []byte(`{"code":"503","description":"busy"}`))
	}, nil)
	c := f.client(t, func(c *Config) { c.MaxRetries = transport.NoRetries })
	_, err := c.ListCustomersPage(t.Context(), "")
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Equal(t, int32(1), sends.Load())
}
