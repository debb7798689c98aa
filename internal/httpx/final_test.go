package httpx_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/transport"
)

// exceptionText is a body longer than PeekBytes, so the test sees that the caller still reads
// all of it after the transport looked at its start.
var exceptionText = "We cannot access this tenant as consent has not been given. " + strings.Repeat("x", httpx.PeekBytes)

func TestFinalWhen(t *testing.T) {
	t.Parallel()
	textIsFinal := func(status int, _ http.Header, head []byte) bool {
		return status == http.StatusInternalServerError && bytes.HasPrefix(head, []byte("We cannot access"))
	}
	tests := []struct {
		name     string
		status   int
		body     string
		final    httpx.FinalFunc
		wantHits int64
		wantCode int
	}{
		{"500 with the answer is final", http.StatusInternalServerError, exceptionText, textIsFinal, 1, 500},
		{"500 without it is retried", http.StatusInternalServerError, "", textIsFinal, 2, 200},
		{"503 is retried", http.StatusServiceUnavailable, exceptionText, textIsFinal, 2, 200},
		{"no FinalFunc retries", http.StatusInternalServerError, exceptionText, nil, 2, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.WriteHeader(tt.status)
					_, _ = io.WriteString(w, tt.body)
					return
				}
				_, _ = io.WriteString(w, "ok")
			}, nil)
			ctx := t.Context()
			if tt.final != nil {
				ctx = httpx.FinalWhen(ctx, tt.final)
			}
			resp, err := f.get(t, ctx, "/api/x")
			require.NoError(t, err)
			body := readAll(t, resp)
			assert.Equal(t, tt.wantCode, resp.StatusCode)
			assert.Equal(t, tt.wantHits, f.hits.Load())
			if tt.wantCode == 500 {
				assert.Equal(t, tt.body, body, "the caller reads the whole body")
				assert.False(t, f.attempts[0].Retry)
			}
		})
	}
}

func TestFinalWhenDoesNotStopConnectionRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dropOnce(), nil)
	ctx := httpx.FinalWhen(t.Context(), func(int, http.Header, []byte) bool { return true })
	resp, err := f.get(t, ctx, "/api/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(2), f.hits.Load())
}

func TestNoRetries(t *testing.T) {
	t.Parallel()
	for _, h := range []http.HandlerFunc{failOnce(http.StatusServiceUnavailable), dropOnce()} {
		f := newFixture(t, h, func(c *httpx.Config) { c.MaxRetries = transport.NoRetries })
		resp, err := f.get(t, t.Context(), "/api/x")
		if err == nil {
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			resp.Body.Close()
		} else {
			assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
		}
		assert.Equal(t, int64(1), f.hits.Load(), "NoRetries sends the request once")
	}
	_, err := httpx.New(httpx.Config{BaseURL: "https://x.example", Settings: transport.Settings{MaxRetries: -2}})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "NoRetries")
}
