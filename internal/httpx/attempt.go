package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/callctx"
	"github.com/tenantsync/tenantsync/transport"
)

// attemptState is the retry policy's memory for one Do call; retryablehttp asks it whether
// to retry (check) and how long to wait (backoff).
type attemptState struct {
	c          *Client
	req        *http.Request
	tenant     string
	idempotent bool
	final      FinalFunc

	start     time.Time
	attempts  int // attempts sent
	retries   int // budgeted retries taken
	refreshed bool
	lastCost  int
	wait      time.Duration
}

func (st *attemptState) before(_ retryablehttp.Logger, _ *http.Request, _ int) { st.start = time.Now() }

func (st *attemptState) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return st.wait
}

func (st *attemptState) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st.attempts++
	retry, wait, stop := st.decide(ctx, resp, err)
	st.wait = wait
	if f := st.c.cfg.Observer; f != nil {
		a := transport.Attempt{Service: st.c.cfg.Service, Tenant: st.tenant, Method: st.req.Method, Host: st.req.URL.Host,
			Err: RedactError(err), Retry: retry, Wait: wait, Duration: time.Since(st.start)}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		if a.Err == nil && stop != nil {
			a.Err = stop
		}
		f(a)
	}
	return retry, stop
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether a failed attempt may have failed before the server acted
// (or harmlessly for an idempotent request): dropped or refused connections and timeouts.
func retryableError(ctx context.Context, err error) bool {
	if _, ok := tenantsync.Details(err); ok {
		return false
	}
	var te *tokenError
	if errors.As(err, &te) {
		return false
	}
	if isAttemptTimeout(ctx, err) {
		return true
	}
	for _, target := range []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.ECONNREFUSED,
		syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func (st *attemptState) decide(ctx context.Context, resp *http.Response, err error) (retry bool, wait time.Duration, stop error) {
	c := st.c
	if ctx.Err() != nil {
		return false, 0, ctx.Err()
	}
	if err != nil {
		if !st.idempotent || !retryableError(ctx, err) || st.retries >= c.cfg.MaxRetries {
			return false, 0, nil
		}
		cost := transport.RetryCost
		if isAttemptTimeout(ctx, err) {
			cost = transport.TimeoutCost
		}
		if !c.cfg.Budget.Take(cost) {
			return false, 0, c.errorFor(ctx, tenantsync.ErrLimitExceeded, st.req, 0, "retry budget exhausted",
				"the shared retry budget is spent: the service is failing for many requests at once. Wait a few "+
					"minutes and sync again", err)
		}
		st.retries++
		st.lastCost = cost
		return true, st.jitter(), nil
	}
	switch status := resp.StatusCode; {
	case status == http.StatusUnauthorized:
		// One retry with a fresh token covers a token revoked or rotated since it was cached.
		// The server refused before acting, so this is safe even for a POST.
		if !st.refreshed && resp.Request != nil && resp.Request.Header.Get("Authorization") != "" &&
			c.sameOrigin(resp.Request.URL) {
			if inv, ok := c.cfg.Tokens.(transport.TokenInvalidator); ok {
				inv.Invalidate(st.tenant)
				st.refreshed = true
				return true, 0, nil
			}
		}
		return false, 0, nil
	case retryableStatus(status):
		if st.final != nil && st.final(status, resp.Header, peek(resp)) {
			c.cfg.Budget.Refund(st.lastCost)
			return false, 0, nil
		}
		ra, hasRA := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if hasRA && ra > c.cfg.MaxRetryAfter {
			// Too long to wait here: the answer goes back at once, as after the last retry, so
			// the service client decodes it. An error built here from the headers alone would
			// lose the body's code, message and request ID; the client's decoder keeps them
			// and reads the wait from Retry-After.
			return false, 0, nil
		}
		// A 429 means the request was refused unprocessed, so even a POST may be repeated.
		if !(st.idempotent || status == http.StatusTooManyRequests) || st.retries >= c.cfg.MaxRetries {
			return false, 0, nil
		}
		if !c.cfg.Budget.Take(transport.RetryCost) {
			return false, 0, nil
		}
		st.retries++
		st.lastCost = transport.RetryCost
		if hasRA {
			return true, ra, nil
		}
		return true, st.jitter(), nil
	}
	c.cfg.Budget.Refund(st.lastCost)
	return false, 0, nil
}

// peek reads the start of resp's body and puts it back in front of the rest, so the caller
// still reads the whole body. A read error is left for the caller's read to meet again.
func peek(resp *http.Response) []byte {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	head := make([]byte, PeekBytes)
	n, _ := io.ReadFull(resp.Body, head)
	head = head[:n]
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return head
}

// jitter is exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
// and Jitter"): a uniform wait in [0, min(MaxBackoff, MinBackoff*2^(retry-1))].
func (st *attemptState) jitter() time.Duration {
	return Backoff(st.retries, st.c.cfg.MinBackoff, st.c.cfg.MaxBackoff, nil)
}

// authTransport adds the bearer token to requests for the configured origin, and only to them.
type authTransport struct {
	c    *Client
	next http.RoundTripper
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	if !c.sameOrigin(req.URL) {
		if req.Header.Get("Authorization") != "" {
			req = req.Clone(req.Context())
			req.Header.Del("Authorization")
		}
		return t.next.RoundTrip(req)
	}
	if c.cfg.Tokens == nil {
		return t.next.RoundTrip(req)
	}
	tok, err := c.cfg.Tokens.Token(req.Context(), callctx.Tenant(req.Context()))
	if err == nil && (tok == nil || tok.AccessToken == "") {
		err = c.errorFor(req.Context(), tenantsync.ErrUnauthorized, req, 0, "the token source returned an empty token",
			"check the connection's credentials", nil)
	}
	if err != nil {
		closeRequestBody(req)
		return nil, &tokenError{err: err}
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.next.RoundTrip(r)
}

// limitTransport waits for the (host, tenant) rate limiter and concurrency slot.
type limitTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	release, err := t.c.cfg.Limits.Wait(req.Context(), req)
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releaseBody frees a concurrency slot once the body is finished with.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// boundTransport applies the per-attempt timeout and bounds the response body.
type boundTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, t.c.cfg.Timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &boundedBody{rc: resp.Body, max: t.c.cfg.MaxBodyBytes, cancel: cancel, c: t.c, ctx: parent,
		req: req, status: resp.StatusCode}
	return resp, nil
}

// boundedBody fails, rather than truncates, a body longer than the bound, and turns a
// connection dropped mid-body into ErrUnavailable.
type boundedBody struct {
	rc     io.ReadCloser
	max, n int64
	cancel context.CancelFunc
	c      *Client
	ctx    context.Context
	req    *http.Request
	status int
	err    error
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if room := b.max - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		n -= int(b.n - b.max)
		b.n = b.max
		b.err = b.c.errorFor(b.ctx, tenantsync.ErrLimitExceeded, b.req, b.status,
			fmt.Sprintf("the response body is larger than %d bytes", b.max),
			"the response is larger than this client accepts; request smaller pages, or raise MaxBodyBytes", nil)
		b.cancel()
		return n, b.err
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		b.cancel()
	default:
		b.err = b.readError(err)
		b.cancel()
		return n, b.err
	}
	return n, err
}

func (b *boundedBody) readError(err error) error {
	if b.ctx.Err() != nil {
		return &callctx.Error{Msg: fmt.Sprintf("%s: reading the response of %s %s: %v", b.c.cfg.Service, b.req.Method,
			safeURL(b.req.URL), b.ctx.Err()), Err: b.ctx.Err()}
	}
	hint := "the connection dropped while the response was being read; retry later"
	if isAttemptTimeout(b.ctx, err) {
		hint = fmt.Sprintf("the response did not arrive in full within %s; retry later, or raise the timeout", b.c.cfg.Timeout)
	}
	return b.c.errorFor(b.ctx, tenantsync.ErrUnavailable, b.req, b.status, "reading the response failed", hint, err)
}

func (b *boundedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
