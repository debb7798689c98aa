package cipp

import (
	"context"
	"net/http"
	"net/url"
)

// Request is one call to a CIPP-API endpoint this package does not wrap.
type Request struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// Endpoint is the endpoint's name, the part after /api/ (ListUsers, ExecDisableUser).
	Endpoint string
	// Tenant names the customer tenant in errors and selects its rate limiter. It is neither
	// checked nor sent: pass tenantFilter in Query or Body as the endpoint expects.
	Tenant string
	// Query is sent as the query string; nil sends none.
	Query url.Values
	// Body is sent as JSON; nil sends no body.
	Body any
}

// Call sends req to /api/<Endpoint> and decodes the answer's shape. It is not retried after a
// failed send, since this package cannot know whether the endpoint is safe to repeat.
func (c *Client) Call(ctx context.Context, req Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return c.call(ctx, method, req.Endpoint, req.Tenant, req.Query, req.Body, false)
}
