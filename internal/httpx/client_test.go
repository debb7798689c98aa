package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

const testToken = "tok-0123456789abcdef"

// tokens is a TokenSource that counts calls and invalidations and hands out numbered tokens.
type tokens struct {
	mu          sync.Mutex
	calls       int
	invalidated []string
	gen         int
	err         error
}

func (s *tokens) Token(_ context.Context, tenant string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	return &oauth2.Token{AccessToken: fmt.Sprintf("%s-%s-%d", testToken, tenant, s.gen), TokenType: "Bearer"}, nil
}

func (s *tokens) Invalidate(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tenant)
	s.gen++
}

// fixture is a TLS server with a scripted handler and a Client pointed at it.
type fixture struct {
	srv      *httptest.Server
	client   *httpx.Client
	hits     atomic.Int64
	attempts []transport.Attempt
	mu       sync.Mutex
}

func newFixture(t *testing.T, h http.HandlerFunc, mod func(*httpx.Config)) *fixture {
	t.Helper()
	f := &fixture{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	cfg := httpx.Config{
		Service: "test",
		BaseURL: f.srv.URL + "/api",
		Settings: transport.Settings{
			HTTPClient: f.srv.Client(),
			MinBackoff: time.Millisecond,
			MaxBackoff: 4 * time.Millisecond,
			Observer: func(a transport.Attempt) {
				f.mu.Lock()
				f.attempts = append(f.attempts, a)
				f.mu.Unlock()
			},
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := httpx.New(cfg)
	require.NoError(t, err)
	f.client = c
	return f
}

func (f *fixture) get(t *testing.T, ctx context.Context, path string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+path, nil)
	require.NoError(t, err)
	return f.client.Do(req)
}

func (f *fixture) attemptCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.attempts)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  httpx.Config
		want string
	}{
		{"empty base", httpx.Config{}, "base URL is empty"},
		{"relative", httpx.Config{BaseURL: "cipp.example.com/api"}, "not an absolute URL"},
		{"http", httpx.Config{BaseURL: "http://cipp.example.com"}, "does not use https"},
		{"ftp", httpx.Config{BaseURL: "ftp://cipp.example.com", Settings: transport.Settings{AllowInsecureHTTP: true}}, "does not use https"},
		{"userinfo", httpx.Config{BaseURL: "https://user:hunter2@cipp.example.com"}, "user name or password"},
		{"negative backoff", httpx.Config{BaseURL: "https://x.example", Settings: transport.Settings{MinBackoff: -1}}, "MinBackoff is negative"},
		{"negative retries", httpx.Config{BaseURL: "https://x.example", Settings: transport.Settings{MaxRetries: -1}}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := httpx.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotEmpty(t, tenantsync.HintOf(err))
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
	c, err := httpx.New(httpx.Config{BaseURL: "http://127.0.0.1:1", Settings: transport.Settings{AllowInsecureHTTP: true}})
	require.NoError(t, err)
	assert.NotNil(t, c)
}

func TestDoSendsTokenToOrigin(t *testing.T) {
	t.Parallel()
	var gotAuth, gotUA string
	src := &tokens{}
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotUA = r.Header.Get("Authorization"), r.Header.Get("User-Agent")
		_, _ = io.WriteString(w, "ok")
	}, func(c *httpx.Config) { c.Tokens = src; c.UserAgent = "tenantsync-test/1" })
	resp, err := f.get(t, httpx.WithTenant(t.Context(), "contoso"), "/api/users")
	require.NoError(t, err)
	assert.Equal(t, "ok", readAll(t, resp))
	assert.Equal(t, "Bearer "+testToken+"-contoso-0", gotAuth)
	assert.Equal(t, "tenantsync-test/1 tenantsync/"+tenantsync.Version, gotUA, "the caller's product, then tenantsync's")
	require.Equal(t, 1, f.attemptCount())
	assert.Equal(t, "contoso", f.attempts[0].Tenant)
	assert.Equal(t, 200, f.attempts[0].Status)
	assert.False(t, f.attempts[0].Retry)
}

func TestRetriesRetryableStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		wantHits  int64
		wantFinal int
	}{
		{http.StatusTooManyRequests, 2, 200},
		{http.StatusInternalServerError, 2, 200},
		{http.StatusBadGateway, 2, 200},
		{http.StatusServiceUnavailable, 2, 200},
		{http.StatusGatewayTimeout, 2, 200},
		{http.StatusBadRequest, 1, 400},
		{http.StatusNotFound, 1, 404},
		{http.StatusNotImplemented, 1, 501},
		{http.StatusForbidden, 1, 403},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.WriteHeader(tt.status)
					_, _ = io.WriteString(w, `{"error":{"code":"x"}}`)
					return
				}
				_, _ = io.WriteString(w, "ok")
			}, nil)
			resp, err := f.get(t, t.Context(), "/api/x")
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.wantFinal, resp.StatusCode)
			assert.Equal(t, tt.wantHits, f.hits.Load())
			assert.Equal(t, int(tt.wantHits), f.attemptCount())
			assert.Equal(t, tt.wantHits > 1, f.attempts[0].Retry)
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "0", 0},
		{"fraction rounds up", "0.2", time.Second},
		{"http date in the past", past, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.header)
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}, nil)
			resp, err := f.get(t, t.Context(), "/api/x")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusNoContent, resp.StatusCode)
			require.Equal(t, 2, f.attemptCount())
			assert.True(t, f.attempts[0].Retry)
			assert.Equal(t, tt.want, f.attempts[0].Wait)
			assert.Equal(t, 429, f.attempts[0].Status)
		})
	}
}

func TestExhaustedRetriesReturnLastResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "busy")
	}, func(c *httpx.Config) { c.MaxRetries = 2 })
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "busy", readAll(t, resp))
	assert.Equal(t, int64(3), f.hits.Load())
	assert.False(t, f.attempts[2].Retry)
}

// TestRetryAfterAboveMaxReturnsAtOnce: a wait longer than MaxRetryAfter is not taken, and the
// answer comes back whole, headers and body, for the service client to decode: an error built
// from the headers would lose the service's code, message and request ID.
func TestRetryAfterAboveMaxReturnsAtOnce(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			body := `{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"request-id":"req-42"}}}`
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.Header().Set("request-id", "req-42")
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
			}, func(c *httpx.Config) { c.MaxRetryAfter = time.Minute })
			resp, err := f.get(t, httpx.WithTenant(t.Context(), "fabrikam"), "/api/x")
			require.NoError(t, err)
			assert.Equal(t, status, resp.StatusCode)
			assert.Equal(t, "3600", resp.Header.Get("Retry-After"))
			assert.Equal(t, "req-42", resp.Header.Get("request-id"))
			assert.Equal(t, body, readAll(t, resp), "the service's error body is intact")
			assert.Equal(t, int64(1), f.hits.Load(), "not retried")
			require.Len(t, f.attempts, 1)
			assert.False(t, f.attempts[0].Retry)
		})
	}
}

func TestBudgetExhaustion(t *testing.T) {
	t.Parallel()
	budget := transport.NewBudget(2 * transport.RetryCost)
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}, func(c *httpx.Config) { c.Budget = budget; c.MaxRetries = 10 })
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err, "an empty budget returns the last response")
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Equal(t, int64(3), f.hits.Load())
	st := budget.Stats()
	assert.Equal(t, transport.BudgetStats{Capacity: 10, Available: 0, Retries: 2, Refused: 1}, st)

	resp, err = f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int64(4), f.hits.Load(), "no retry once the budget is empty")
	assert.Equal(t, int64(2), budget.Stats().Refused)
}

func TestBudgetExhaustedOnConnectionErrors(t *testing.T) {
	t.Parallel()
	budget := transport.NewBudget(transport.RetryCost)
	f := newFixture(t, hangUp, func(c *httpx.Config) { c.Budget = budget })
	_, err := f.get(t, httpx.WithTenant(t.Context(), "t1"), "/api/x")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
	assert.Contains(t, tenantsync.HintOf(err), "retry budget")
	assert.Equal(t, int64(2), f.hits.Load())
	assert.Equal(t, int64(1), budget.Stats().Refused)
}

func TestBudgetRefill(t *testing.T) {
	t.Parallel()
	budget := transport.NewBudget(20)
	var n atomic.Int64
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}, func(c *httpx.Config) { c.Budget = budget })
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 20, budget.Stats().Available, "a success after a retry returns the retry's cost")
	assert.Equal(t, int64(1), budget.Stats().Retries)
	assert.Equal(t, transport.BudgetStats{}, (*transport.Budget)(nil).Stats())
	assert.Equal(t, transport.DefaultBudgetCapacity, transport.NewBudget(0).Stats().Capacity)
}

// hangUp closes the connection without answering.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestConnectionDropsRetried(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			hangUp(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}, nil)
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	assert.Equal(t, "ok", readAll(t, resp))
	assert.Equal(t, int64(2), f.hits.Load())
	require.Equal(t, 2, f.attemptCount())
	assert.Error(t, f.attempts[0].Err)
	assert.Equal(t, 0, f.attempts[0].Status)
}

func TestConnectionFailureIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hangUp, func(c *httpx.Config) { c.MaxRetries = 1 })
	_, err := f.get(t, httpx.WithTenant(t.Context(), "t9"), "/api/x?sig=SIGSECRET123")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "t9", d.Tenant)
	assert.Contains(t, d.Hint, "retry later")
	assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), "SIGSECRET123")
	assert.Equal(t, int64(2), f.hits.Load())
}

func TestAttemptTimeoutRetried(t *testing.T) {
	t.Parallel()
	budget := transport.NewBudget(100)
	var n atomic.Int64
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			hang(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}, func(c *httpx.Config) { c.Timeout = time.Second; c.Budget = budget })
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	assert.Equal(t, "ok", readAll(t, resp))
	assert.Equal(t, int64(1), budget.Stats().Retries)
	assert.Equal(t, 100, budget.Stats().Available, "the success refunds the timeout cost")
	require.Equal(t, 2, f.attemptCount())
	assert.ErrorIs(t, f.attempts[0].Err, context.DeadlineExceeded)
}

// hang never answers: it waits for the client to give up, then aborts the connection. A
// handler that simply returned would send an empty 200, and the client's transport hands back
// a response that races its own cancellation, so the timeout would sometimes read as success.
func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
	panic(http.ErrAbortHandler)
}

func TestTimeoutWithoutRetryIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/api/warm" {
			return
		}
		hang(w, r)
	}, func(c *httpx.Config) { c.Timeout = 300 * time.Millisecond })
	// A first request opens the connection, so the timed request is not spent in a TLS handshake.
	resp, err := f.get(t, t.Context(), "/api/warm")
	require.NoError(t, err)
	resp.Body.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/api/x", strings.NewReader("{}"))
	require.NoError(t, err)
	_, err = f.client.Do(req)
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Contains(t, tenantsync.HintOf(err), "did not answer within 300ms")
	assert.Equal(t, int64(2), f.hits.Load(), "the POST is not retried")
}

func TestCancellationDuringBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}, func(c *httpx.Config) {
		c.Observer = func(a transport.Attempt) {
			if a.Retry {
				cancel()
			}
		}
	})
	_, err := f.get(t, ctx, "/api/x")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), f.hits.Load())
}

func TestCancelledBeforeSend(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.get(t, ctx, "/api/x")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(0), f.hits.Load())
}

func TestCancellationDuringRateLimitWait(t *testing.T) {
	t.Parallel()
	limits := transport.NewLimits(transport.Rule{Rate: 0.001, Burst: 1})
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {}, func(c *httpx.Config) { c.Limits = limits })
	resp, err := f.get(t, httpx.WithTenant(t.Context(), "a"), "/api/x")
	require.NoError(t, err)
	resp.Body.Close()

	ctx, cancel := context.WithCancel(httpx.WithTenant(t.Context(), "a"))
	done := make(chan error, 1)
	go func() {
		_, err := f.get(t, ctx, "/api/x")
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	err = <-done
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), f.hits.Load())

	// Another tenant has its own limiter and is not held up.
	resp, err = f.get(t, httpx.WithTenant(t.Context(), "b"), "/api/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int64(2), f.hits.Load())

	// A deadline the limiter cannot meet fails at once with ErrLimitExceeded.
	dctx, dcancel := context.WithTimeout(httpx.WithTenant(t.Context(), "a"), time.Minute)
	defer dcancel()
	_, err = f.get(t, dctx, "/api/x")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestBodyBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"under", 9, false},
		{"exact", 10, false},
		{"over by one", 11, true},
		{"far over", 100000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(strings.Repeat("x", tt.size)))
			}, func(c *httpx.Config) { c.MaxBodyBytes = 10 })
			resp, err := f.get(t, httpx.WithTenant(t.Context(), "big"), "/api/x")
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if !tt.wantErr {
				require.NoError(t, err)
				assert.Len(t, b, tt.size)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
			assert.Len(t, b, 10, "no byte past the bound is delivered")
			d, _ := tenantsync.Details(err)
			assert.Equal(t, "big", d.Tenant)
			_, err = resp.Body.Read(make([]byte, 4))
			assert.ErrorIs(t, err, tenantsync.ErrLimitExceeded, "the error sticks")
		})
	}
}

func TestTruncatedBodyIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, `{"value":[`)
	}, nil)
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, tenantsync.HintOf(err), "connection dropped")
}

func TestNonIdempotentNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		idempotent bool
		handler    http.HandlerFunc
		wantHits   int64
	}{
		{"POST 503", http.MethodPost, false, failOnce(http.StatusServiceUnavailable), 1},
		{"POST dropped", http.MethodPost, false, dropOnce(), 1},
		{"PATCH 500", http.MethodPatch, false, failOnce(http.StatusInternalServerError), 1},
		{"POST 429 refused unprocessed", http.MethodPost, false, failOnce(http.StatusTooManyRequests), 2},
		{"POST marked 503", http.MethodPost, true, failOnce(http.StatusServiceUnavailable), 2},
		{"PATCH marked dropped", http.MethodPatch, true, dropOnce(), 2},
		{"PUT 503", http.MethodPut, false, failOnce(http.StatusServiceUnavailable), 2},
		{"DELETE 502", http.MethodDelete, false, failOnce(http.StatusBadGateway), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var bodies []string
			var mu sync.Mutex
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				tt.handler(w, r)
			}, nil)
			ctx := t.Context()
			if tt.idempotent {
				ctx = httpx.Idempotent(ctx)
			}
			req, err := http.NewRequestWithContext(ctx, tt.method, f.srv.URL+"/api/write", strings.NewReader(`{"accountEnabled":false}`))
			require.NoError(t, err)
			resp, err := f.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			assert.Equal(t, tt.wantHits, f.hits.Load())
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bodies {
				if b != "" {
					assert.Equal(t, `{"accountEnabled":false}`, b, "the body is replayed intact")
				}
			}
			if tt.wantHits == 2 {
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			}
		})
	}
}

func failOnce(status int) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func dropOnce() http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			hangUp(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		acceptGen  string // the token generation the server accepts
		wantStatus int
		wantHits   int64
	}{
		{"fresh token accepted", "-1", http.StatusOK, 2},
		{"still refused", "-7", http.StatusUnauthorized, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &tokens{}
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.Header.Get("Authorization"), tt.acceptGen) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.WriteHeader(http.StatusOK)
			}, func(c *httpx.Config) { c.Tokens = src })
			req, err := http.NewRequestWithContext(httpx.WithTenant(t.Context(), "contoso"), http.MethodPost,
				f.srv.URL+"/api/ExecDisableUser", strings.NewReader("{}"))
			require.NoError(t, err)
			resp, err := f.client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantHits, f.hits.Load())
			assert.Equal(t, []string{"contoso"}, src.invalidated)
			assert.Equal(t, 2, src.calls)
		})
	}
}

func TestUnauthorizedWithoutTokenNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }, nil)
	resp, err := f.get(t, t.Context(), "/api/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, int64(1), f.hits.Load())
}

func TestTokenErrorsPassThrough(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantKind error
	}{
		{"typed", &tenantsync.Error{Class: tenantsync.ErrConsentRequired, Service: "entra", Hint: "consent"}, tenantsync.ErrConsentRequired},
		{"plain", errors.New("token endpoint said: client_secret=abcSECRETdef rejected"), tenantsync.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {}, func(c *httpx.Config) {
				c.Tokens = &tokens{err: tt.err}
			})
			_, err := f.get(t, t.Context(), "/api/x")
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantKind)
			assert.NotEmpty(t, tenantsync.HintOf(err))
			assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), "abcSECRETdef")
			assert.Equal(t, int64(0), f.hits.Load())
		})
	}
}

func TestEmptyTokenRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {}, func(c *httpx.Config) {
		c.Tokens = emptyTokens{}
	})
	_, err := f.get(t, t.Context(), "/api/x")
	assert.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Equal(t, int64(0), f.hits.Load())
}

type emptyTokens struct{}

func (emptyTokens) Token(context.Context, string) (*oauth2.Token, error) { return &oauth2.Token{}, nil }

func TestTokenNotSentToOtherHost(t *testing.T) {
	t.Parallel()
	var otherAuth atomic.Value
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(other.Close)
	src := &tokens{}
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {}, func(c *httpx.Config) { c.Tokens = src })

	// A request the caller built for another origin, even with its own Authorization header.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, other.URL+"/steal", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer caller-set")
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "", otherAuth.Load())
	assert.Equal(t, 0, src.calls, "no token is even fetched for another host")

	err = f.client.Allowed(other.URL + "/v1.0/users?$skiptoken=x")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
	assert.Contains(t, tenantsync.HintOf(err), "configured host")
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	c, err := httpx.New(httpx.Config{Service: "graph", BaseURL: "https://graph.microsoft.com/v1.0"})
	require.NoError(t, err)
	insecure, err := httpx.New(httpx.Config{BaseURL: "http://127.0.0.1:8080", Settings: transport.Settings{AllowInsecureHTTP: true}})
	require.NoError(t, err)
	tests := []struct {
		client *httpx.Client
		url    string
		ok     bool
	}{
		{c, "https://graph.microsoft.com/v1.0/users?$skiptoken=abc", true},
		{c, "https://GRAPH.microsoft.com:443/v1.0/users", true},
		{c, "https://graph.microsoft.com./v1.0/users", true},
		{c, "http://graph.microsoft.com/v1.0/users", false},
		{c, "https://graph.microsoft.com:8443/v1.0/users", false},
		{c, "https://graph.microsoft.com.evil.example/v1.0/users", false},
		{c, "https://graph.microsoft.com@evil.example/v1.0/users", false},
		{c, "https://user:pw@graph.microsoft.com/v1.0/users", false},
		{c, "/v1.0/users", false},
		{c, "::not a url", false},
		{c, "ftp://graph.microsoft.com/x", false},
		{insecure, "http://127.0.0.1:8080/x", true},
		{insecure, "http://127.0.0.1:8081/x", false},
		{insecure, "https://127.0.0.1:8080/x", false},
	}
	for _, tt := range tests {
		err := tt.client.Allowed(tt.url)
		if tt.ok {
			assert.NoError(t, err, tt.url)
			continue
		}
		require.Error(t, err, tt.url)
		assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed, tt.url)
		assert.NotEmpty(t, tenantsync.HintOf(err))
		assert.NotContains(t, err.Error(), ":pw@")
	}
}

func TestInsecureRequestRefused(t *testing.T) {
	t.Parallel()
	c, err := httpx.New(httpx.Config{BaseURL: "https://cipp.example.com"})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://cipp.example.com/api/ListTenants", nil)
	require.NoError(t, err)
	_, err = c.Do(req)
	assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
	_, err = c.Do(nil)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestRedirectToOtherHostDropsToken(t *testing.T) {
	t.Parallel()
	var otherAuth, originAuth atomic.Value
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth.Store(r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "other")
	}))
	t.Cleanup(other.Close)
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/away":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		case "/api/here":
			http.Redirect(w, r, "/api/final", http.StatusTemporaryRedirect)
		case "/api/final":
			originAuth.Store(r.Header.Get("Authorization"))
			_, _ = io.WriteString(w, "final")
		}
	}, func(c *httpx.Config) { c.Tokens = &tokens{} })

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/api/away", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer caller-set")
	resp, err := f.client.Do(req)
	require.NoError(t, err)
	assert.Equal(t, "other", readAll(t, resp))
	assert.Equal(t, "", otherAuth.Load(), "no Authorization header crosses to another origin")

	resp, err = f.get(t, t.Context(), "/api/here")
	require.NoError(t, err)
	assert.Equal(t, "final", readAll(t, resp))
	assert.Contains(t, originAuth.Load(), testToken, "a same-origin redirect keeps the token")
}

// TestRedirectOfABodyToOtherHostIsRefused: net/http resends a body on a 307 or 308 (and turns
// a POST into a GET on a 302), so a redirect of a request carrying data to another origin is an
// error, and the other host receives nothing; on the same origin it is followed.
func TestRedirectOfABodyToOtherHostIsRefused(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			var reached atomic.Int64
			other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Add(1)
			}))
			t.Cleanup(other.Close)
			var sameOrigin atomic.Value
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/away":
					http.Redirect(w, r, other.URL+"/landing", status)
				case "/api/here":
					http.Redirect(w, r, "/api/final", status)
				case "/api/final":
					b, _ := io.ReadAll(r.Body)
					sameOrigin.Store(r.Method + " " + string(b))
				}
			}, func(c *httpx.Config) { c.Tokens = &tokens{} })

			for _, method := range []string{http.MethodPost, http.MethodPatch, http.MethodPut} {
				req, err := http.NewRequestWithContext(httpx.Idempotent(t.Context()), method, f.srv.URL+"/api/away",
					strings.NewReader(`{"passwordProfile":{"password":"Xy7#pq!Lm2"}}`))
				require.NoError(t, err)
				_, err = f.client.Do(req)
				require.Error(t, err, method)
				assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed, method)
				assert.Contains(t, tenantsync.HintOf(err), "base URL", method)
			}
			assert.Zero(t, reached.Load(), "the other host received a request")

			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/api/here", strings.NewReader("data"))
			require.NoError(t, err)
			resp, err := f.client.Do(req)
			require.NoError(t, err, "a same-origin redirect of a body is followed")
			_ = readAll(t, resp)
			assert.NotEmpty(t, sameOrigin.Load())
		})
	}
}

func TestRedirectLimitsAndDowngrade(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/loop":
			http.Redirect(w, r, "/api/loop", http.StatusFound)
		case "/api/plain":
			http.Redirect(w, r, "http://example.invalid/x", http.StatusFound)
		}
	}, nil)
	_, err := f.get(t, t.Context(), "/api/loop")
	assert.ErrorIs(t, err, tenantsync.ErrLimitExceeded)
	_, err = f.get(t, t.Context(), "/api/plain")
	assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
}

func TestConcurrencyCap(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	}, nil)
	limits := transport.NewLimits(transport.Rule{Host: strings.TrimPrefix(f.srv.URL, "https://"), Concurrency: 2})
	c, err := httpx.New(httpx.Config{BaseURL: f.srv.URL, Settings: transport.Settings{HTTPClient: f.srv.Client(), Limits: limits}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(httpx.WithTenant(t.Context(), "x"), http.MethodGet, f.srv.URL+"/api/x", nil)
			resp, err := c.Do(req)
			if assert.NoError(t, err) {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for f.hits.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int64(2), f.hits.Load(), "the third request waits for a slot")
	close(release)
	wg.Wait()
	assert.Equal(t, int64(5), f.hits.Load())
	assert.Equal(t, int64(2), peak.Load())
}

// A connection's cloud names the only hosts its base URL may be on; the tokens of a GCC High
// connection never reach the global Graph because the client is never built for it.
func TestNewRefusesAHostOutsideTheCloud(t *testing.T) {
	t.Parallel()
	high := []string{"login.microsoftonline.us", "graph.microsoft.us", "api.partnercenter.microsoft.com"}
	_, err := httpx.New(httpx.Config{Service: "graph", BaseURL: "https://graph.microsoft.com", Hosts: high})
	require.ErrorIs(t, err, tenantsync.ErrHostNotAllowed)
	assert.Contains(t, tenantsync.HintOf(err), "cloud")
	c, err := httpx.New(httpx.Config{Service: "graph", BaseURL: "https://GRAPH.microsoft.us", Hosts: high})
	require.NoError(t, err, "host names compare case-insensitively")
	require.NoError(t, c.Allowed("https://graph.microsoft.us/v1.0/users?$skiptoken=x"))
	assert.ErrorIs(t, c.Allowed("https://api.partnercenter.microsoft.com/v1/customers"), tenantsync.ErrHostNotAllowed,
		"a link to another host of the same cloud still gets no token: one client, one origin")
}

// A request that carries its own User-Agent (a generated SDK's) keeps it and gains tenantsync's
// product token; token requests, sent outside the stack, carry it too.
func TestUserAgentNamesTheRelease(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("User-Agent"))
	}))
	defer srv.Close()
	hc := httpx.NoCrossOriginRedirects(srv.Client(), "entra")
	resp, err := hc.Get(srv.URL + "/token")
	require.NoError(t, err)
	resp.Body.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/sdk", nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", "kiota-go/1.0")
	resp, err = hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Len(t, got, 2)
	assert.Equal(t, "tenantsync/"+tenantsync.Version+" (entra)", got[0])
	assert.Equal(t, "kiota-go/1.0 tenantsync/"+tenantsync.Version, got[1])
	assert.Equal(t, "psa/2 tenantsync/"+tenantsync.Version, httpx.UserAgent("psa/2", "graph"))
	assert.Equal(t, "psa/2 tenantsync/"+tenantsync.Version, httpx.UserAgent("psa/2 tenantsync/"+tenantsync.Version, "graph"), "not twice")
}
