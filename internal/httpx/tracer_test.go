package httpx_test

import (
	"context"
	"net/http"
	gosync "sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

type spanKey struct{}

// recordingTracer keeps what it was told, and puts a marker in the context it returns.
type recordingTracer struct {
	mu       gosync.Mutex
	started  []transport.Request
	outcomes []transport.RequestOutcome
	seen     atomic.Bool // the marker reached the token source
}

func (r *recordingTracer) StartRequest(ctx context.Context, req transport.Request) (context.Context, func(transport.RequestOutcome)) {
	r.mu.Lock()
	r.started = append(r.started, req)
	r.mu.Unlock()
	return context.WithValue(ctx, spanKey{}, "span-1"), func(o transport.RequestOutcome) {
		r.mu.Lock()
		r.outcomes = append(r.outcomes, o)
		r.mu.Unlock()
	}
}

// One StartRequest and one end per request, however many attempts: the retried 429 is one
// span with two attempts and one retry; the path is there, the query and the token are not.
func TestTracerSeesOneSpanPerRequest(t *testing.T) {
	t.Parallel()
	rt := &recordingTracer{}
	var n atomic.Int32
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}, func(c *httpx.Config) {
		c.Tracer = rt
		c.Tokens = tokenFunc(func(ctx context.Context) {
			if ctx.Value(spanKey{}) == "span-1" {
				rt.seen.Store(true)
			}
		})
	})
	resp, err := f.get(t, httpx.WithTenant(t.Context(), "contoso"), "/api/users?$filter=mail%20eq%20'jane@contoso.com'")
	require.NoError(t, err)
	resp.Body.Close()

	rt.mu.Lock()
	defer rt.mu.Unlock()
	require.Len(t, rt.started, 1)
	require.Len(t, rt.outcomes, 1)
	assert.Equal(t, transport.Request{Service: "test", Tenant: "contoso", Method: http.MethodGet,
		Host: f.srv.Listener.Addr().String(), Path: "/api/users"}, rt.started[0], "no query")
	o := rt.outcomes[0]
	assert.Equal(t, 200, o.Status)
	assert.Equal(t, 2, o.Attempts)
	assert.Equal(t, 1, o.Retries)
	assert.NoError(t, o.Err)
	assert.Positive(t, o.Duration)
	assert.True(t, rt.seen.Load(), "the request runs in the tracer's context")
	assert.Equal(t, 2, f.attemptCount(), "the Observer still sees every attempt")
}

// tokenFunc is a token source that reports the context it is asked with.
type tokenFunc func(ctx context.Context)

func (f tokenFunc) Token(ctx context.Context, _ string) (*oauth2.Token, error) {
	f(ctx)
	return &oauth2.Token{AccessToken: "tok", TokenType: "Bearer"}, nil
}
