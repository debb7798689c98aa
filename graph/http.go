package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
)

// response is a read Graph response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// allowed checks that a link from a response (nextLink, deltaLink, a stored cursor) is on the
// configured Graph origin before anything, the bearer token above all, is sent to it.
func (c *Client) allowed(op, tenant, link string) error {
	if err := c.tr.Allowed(link); err != nil {
		if tenantsync.ClassOf(err) == tenantsync.ErrHostNotAllowed {
			return withOp(err, op, tenant)
		}
		e := opError(tenantsync.ErrHostNotAllowed, op, tenant,
			"a link in a Graph response pointed away from "+c.origin+"; it was not followed and no token was sent",
			"refused link to another origin")
		e.Err = err
		return e
	}
	return nil
}

// send makes one request through the transport (tokens, rate limits, retries) and reads the body.
func (c *Client) send(ctx context.Context, op, tenant, method, rawURL string, body any) (*response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, opError(tenantsync.ErrInvalidInput, op, tenant, "the request body holds a value JSON cannot encode; check the values passed", "encode request: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(httpx.WithTenant(ctx, tenant), method, rawURL, rd)
	if err != nil {
		return nil, opError(tenantsync.ErrInvalidInput, op, tenant, "check the IDs passed: they could not be made into a Graph URL", "build request: %v", httpx.Redact(err.Error()))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.tr.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, withOp(err, op, tenant)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		if tenantsync.ClassOf(err) != nil {
			return nil, withOp(err, op, tenant)
		}
		e := opError(tenantsync.ErrUnavailable, op, tenant, "the response was cut short; the next sync will retry", "read response: %v", err)
		e.Status = resp.StatusCode
		e.RequestID = resp.Header.Get("request-id")
		return nil, e
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// get fetches a Graph URL and fails with a classified error on any non-2xx status.
func (c *Client) get(ctx context.Context, op, tenant string, need access, rawURL string) (*response, error) {
	if err := c.allowed(op, tenant, rawURL); err != nil {
		return nil, err
	}
	r, err := c.send(ctx, op, tenant, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	if r.status >= 300 {
		return nil, c.apiError(op, tenant, need, r.status, r.header, r.body)
	}
	return r, nil
}

// call sends a write (or any bodied request) and classifies failures.
func (c *Client) call(ctx context.Context, op, tenant string, need access, method, path string, body any) (*response, error) {
	if err := checkTenant(op, tenant); err != nil {
		return nil, err
	}
	r, err := c.send(ctx, op, tenant, method, c.root+path, body)
	if err != nil {
		return nil, err
	}
	if r.status >= 300 {
		return r, c.apiError(op, tenant, need, r.status, r.header, r.body)
	}
	return r, nil
}
