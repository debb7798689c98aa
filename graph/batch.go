package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
)

// BatchRequest is one request of a JSON $batch. URL is relative to the version root
// ("/users?$select=id"); Body, when set, is sent as JSON.
type BatchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      any               `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// BatchResponse is one item's answer: its own status, headers and body.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Header returns an item header, matched case-insensitively (Graph mixes "Retry-After" and
// "retry-after").
func (r BatchResponse) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (r BatchResponse) header() http.Header {
	h := make(http.Header, len(r.Headers))
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return h
}

type batchBody struct {
	Requests []BatchRequest `json:"requests"`
}

type batchReply struct {
	Responses []BatchResponse `json:"responses"`
}

// Batch sends up to 20 requests to one tenant in one $batch round trip and returns each item's
// answer by ID. Items Graph throttled (status 429), and reads that met a 503 or 504, are sent
// again, in one smaller batch, after the longest Retry-After among them (when none is given,
// the transport's exponential backoff with full jitter), up to MaxRetries times; items still failing after that are returned with
// their status. An item that failed is not an error of Batch: only a batch Graph
// refused as a whole (or could not be sent) is.
func (c *Client) Batch(ctx context.Context, tenant string, reqs []BatchRequest) (map[string]BatchResponse, error) {
	const op = "Batch"
	if err := checkTenant(op, tenant); err != nil {
		return nil, err
	}
	if err := validateBatch(tenant, reqs); err != nil {
		return nil, err
	}
	byID := make(map[string]BatchRequest, len(reqs))
	for i := range reqs {
		r := reqs[i]
		if r.Body != nil {
			h := make(map[string]string, len(r.Headers)+1)
			for k, v := range r.Headers {
				h[k] = v
			}
			if _, ok := headerValue(h, "Content-Type"); !ok {
				h["Content-Type"] = "application/json"
			}
			r.Headers = h
		}
		byID[r.ID] = r
	}
	results := make(map[string]BatchResponse, len(reqs))
	pending := reqs
	for attempt := 0; ; attempt++ {
		replies, err := c.sendBatch(ctx, op, tenant, pending, byID)
		if err != nil {
			return nil, err
		}
		for _, r := range replies {
			if _, ok := byID[r.ID]; ok {
				results[r.ID] = r
			}
		}
		retry, wait := throttled(pending, results, c.now())
		// max: NoRetries is negative and means the batch is sent once.
		if len(retry) == 0 || attempt >= max(c.cfg.MaxRetries, 0) {
			break
		}
		if wait <= 0 {
			// No Retry-After: the transport's full-jitter backoff, with the transport's bounds
			// (this client leaves them at their defaults), so throttled tenants spread out.
			wait = httpx.Backoff(attempt+1, c.cfg.MinBackoff, max(c.cfg.MaxBackoff, c.cfg.MinBackoff), c.draw)
		}
		if wait > c.cfg.MaxRetryAfter || !c.cfg.Budget.TakeRetry() {
			break
		}
		if err := c.pause(ctx, wait); err != nil {
			return nil, err
		}
		pending = retry
	}
	for _, r := range reqs {
		if _, ok := results[r.ID]; !ok {
			results[r.ID] = BatchResponse{ID: r.ID, Status: http.StatusBadGateway,
				Body: json.RawMessage(`{"error":{"code":"MissingBatchItem","message":"Graph returned no answer for this item"}}`)}
		}
	}
	return results, nil
}

func validateBatch(tenant string, reqs []BatchRequest) error {
	bad := func(hint, format string, args ...any) error {
		return opError(tenantsync.ErrInvalidInput, "Batch", tenant, hint, format, args...)
	}
	if len(reqs) == 0 {
		return bad("pass at least one request", "empty batch")
	}
	if len(reqs) > maxBatch {
		return bad("split the requests into batches of 20", "%d requests in one batch; Graph allows %d", len(reqs), maxBatch)
	}
	ids := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		switch {
		case r.ID == "":
			return bad("give every batch request an ID", "batch request without an ID")
		case ids[r.ID]:
			return bad("batch request IDs must be unique", "duplicate batch request ID %q", r.ID)
		case !strings.HasPrefix(r.URL, "/"):
			return bad("batch URLs are relative to the version root, like /users", "batch URL %q is not relative", r.URL)
		}
		ids[r.ID] = true
	}
	for _, r := range reqs {
		for _, d := range r.DependsOn {
			if !ids[d] {
				return bad("dependsOn must name another request of the same batch", "request %q depends on unknown %q", r.ID, d)
			}
		}
	}
	return nil
}

func headerValue(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// sendBatch posts one $batch and returns its items.
func (c *Client) sendBatch(ctx context.Context, op, tenant string, reqs []BatchRequest, byID map[string]BatchRequest) ([]BatchResponse, error) {
	body := batchBody{Requests: make([]BatchRequest, 0, len(reqs))}
	inBatch := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		inBatch[r.ID] = true
	}
	allGET := true
	for _, r := range reqs {
		full := byID[r.ID]
		// A retried item keeps only the dependencies that are retried with it; the others
		// already succeeded.
		var deps []string
		for _, d := range full.DependsOn {
			if inBatch[d] {
				deps = append(deps, d)
			}
		}
		full.DependsOn = deps
		if !strings.EqualFold(full.Method, http.MethodGet) {
			allGET = false
		}
		body.Requests = append(body.Requests, full)
	}
	if allGET {
		// Every item is a read, so resending the whole batch after a dropped connection is safe.
		ctx = httpx.Idempotent(ctx)
	}
	r, err := c.send(ctx, op, tenant, http.MethodPost, c.root+"/$batch", body)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, c.apiError(op, tenant, access{}, r.status, r.header, r.body)
	}
	var reply batchReply
	if err := json.Unmarshal(r.body, &reply); err != nil {
		e := opError(tenantsync.ErrUnavailable, op, tenant, "Graph sent a malformed $batch answer; the next sync will retry", "decode $batch: %v", err)
		e.RequestID = r.header.Get("request-id")
		return nil, e
	}
	return reply.Responses, nil
}

// retryable reports whether a failed item is worth sending again: a throttled item always, a
// read that met a transient server failure too (a write is not repeated after a 5xx, whose
// effect is unknown).
func retryable(r BatchRequest, status int) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return strings.EqualFold(r.Method, http.MethodGet)
	}
	return false
}

// throttled returns the requests to send again (throttled items, reads that met a transient
// failure, and items that failed with 424 because something they depend on is retried) and the
// longest Retry-After among them.
func throttled(sent []BatchRequest, results map[string]BatchResponse, now time.Time) ([]BatchRequest, time.Duration) {
	var retry []BatchRequest
	var wait time.Duration
	again := map[string]bool{}
	for _, r := range sent {
		res := results[r.ID]
		if !retryable(r, res.Status) {
			continue
		}
		again[r.ID] = true
		if d, ok := httpx.ParseRetryAfter(res.Header("Retry-After"), now); ok {
			wait = max(wait, d)
		}
	}
	if len(again) == 0 {
		return nil, 0
	}
	for changed := true; changed; {
		changed = false
		for _, r := range sent {
			if again[r.ID] || results[r.ID].Status != http.StatusFailedDependency {
				continue
			}
			for _, d := range r.DependsOn {
				if again[d] {
					again[r.ID] = true
					changed = true
					break
				}
			}
		}
	}
	for _, r := range sent {
		if again[r.ID] {
			retry = append(retry, r)
		}
	}
	return retry, wait
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// itemError classifies a failed $batch item like a failed response.
func (c *Client) itemError(op, tenant string, need access, item BatchResponse) *tenantsync.Error {
	e := c.apiError(op, tenant, need, item.Status, item.header(), item.Body)
	if item.Status == http.StatusFailedDependency {
		e.Class = tenantsync.ErrUnavailable
		e.Hint = "a request this one depended on failed; see that request's error"
	}
	return e
}
