package testserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get sends a GET to url with the fake's client and returns the status, headers and body
// (status 0 and the error when the request failed).
func get(ctx context.Context, srv *Server, url string, header ...string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

// openIDURL is an Entra endpoint that answers 200 without credentials, for "served normally".
func openIDURL(srv *Server, tenant string) string {
	return srv.EntraURL() + "/" + tenant + "/v2.0/.well-known/openid-configuration"
}

func TestFaultErrorShapes(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 11, Tenants: 2})
	tests := []struct {
		name       string
		service    string
		base       string
		kind       FaultKind
		status     int
		retryAfter string
		wantStatus int
		check      func(t *testing.T, h http.Header, body []byte)
	}{
		{"graph throttle with Retry-After", ServiceGraph, srv.GraphURL(), Throttle, 0, "2.128", 429, func(t *testing.T, h http.Header, body []byte) {
			var e struct {
				Error struct {
					Code, Message string
					InnerError    map[string]string `json:"innerError"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, "TooManyRequests", e.Error.Code)
			assert.Equal(t, "Please retry again later.", e.Error.Message)
			assert.Equal(t, h.Get("request-id"), e.Error.InnerError["request-id"])
			assert.Equal(t, "c0ffee00-0000-4000-8000-000000000001", e.Error.InnerError["client-request-id"])
			_, err := time.Parse("2006-01-02T15:04:05", e.Error.InnerError["date"])
			assert.NoError(t, err)
			assert.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
		}},
		{"graph throttle without Retry-After", ServiceGraph, srv.GraphURL(), Throttle, 0, "", 429, func(t *testing.T, h http.Header, body []byte) {
			assert.Contains(t, string(body), `"TooManyRequests"`)
		}},
		{"graph 503", ServiceGraph, srv.GraphURL(), ServerError, 0, "5", 503, func(t *testing.T, h http.Header, body []byte) {
			assert.Contains(t, string(body), `"serviceNotAvailable"`)
		}},
		{"graph 500", ServiceGraph, srv.GraphURL(), ServerError, 500, "", 500, func(t *testing.T, h http.Header, body []byte) {
			assert.Contains(t, string(body), `"generalException"`)
		}},
		{"graph 502", ServiceGraph, srv.GraphURL(), ServerError, 502, "", 502, func(t *testing.T, h http.Header, body []byte) {
			assert.Contains(t, string(body), `"BadGateway"`)
		}},
		{"graph 504", ServiceGraph, srv.GraphURL(), ServerError, 504, "", 504, func(t *testing.T, h http.Header, body []byte) {
			assert.Contains(t, string(body), `"UnknownError"`)
		}},
		{"partner center throttle", ServicePartnerCenter, srv.PartnerCenterURL(), Throttle, 0, "57", 429, func(t *testing.T, h http.Header, body []byte) {
			assert.JSONEq(t, `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}`, string(body))
			assert.NotEmpty(t, h.Get("MS-RequestId"))
		}},
		{"partner center 503", ServicePartnerCenter, srv.PartnerCenterURL(), ServerError, 0, "", 503, func(t *testing.T, h http.Header, body []byte) {
			var e struct {
				Code        int    `json:"code"`
				Description string `json:"description"`
				Data        []any  `json:"data"`
				Source      string `json:"source"`
			}
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, 503, e.Code)
			assert.Equal(t, "PartnerApiServiceControllers", e.Source)
			assert.NotNil(t, e.Data)
		}},
		{"cipp throttle", ServiceCIPP, srv.CIPPURL(), Throttle, 0, "", 429, func(t *testing.T, h http.Header, body []byte) {
			assert.Equal(t, "text/plain; charset=utf-8", h.Get("Content-Type"))
			assert.Equal(t, "Rate limit is exceeded. Try again later.", string(body))
		}},
		{"cipp 500", ServiceCIPP, srv.CIPPURL(), ServerError, 500, "", 500, func(t *testing.T, h http.Header, body []byte) {
			assert.Equal(t, "text/plain; charset=utf-8", h.Get("Content-Type"))
			assert.Contains(t, string(body), "500")
		}},
		{"entra throttle", ServiceEntra, srv.EntraURL(), Throttle, 0, "1", 429, func(t *testing.T, h http.Header, body []byte) {
			var tr tokenResponse
			require.NoError(t, json.Unmarshal(body, &tr))
			assert.Equal(t, "temporarily_unavailable", tr.Error)
			assertAADShape(t, tr, 90055)
		}},
		{"entra 503", ServiceEntra, srv.EntraURL(), ServerError, 0, "", 503, func(t *testing.T, h http.Header, body []byte) {
			var tr tokenResponse
			require.NoError(t, json.Unmarshal(body, &tr))
			assert.Equal(t, "temporarily_unavailable", tr.Error)
			assertAADShape(t, tr, 90033)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case owns a unique path so the cases can share one server in parallel.
			t.Parallel()
			path := "/fault-shape/" + strings.ReplaceAll(tc.name, " ", "-")
			remove := srv.InjectFault(Fault{Service: tc.service, Path: path, Kind: tc.kind, Status: tc.status, RetryAfter: tc.retryAfter})
			defer remove()
			status, h, body, err := get(t.Context(), srv, tc.base+path, "client-request-id", "c0ffee00-0000-4000-8000-000000000001")
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, status)
			assert.Equal(t, tc.retryAfter, h.Get("Retry-After"))
			tc.check(t, h, body)
		})
	}
}

func TestFaultKinds(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 12, Tenants: 3})
	tenant := srv.World.Tenants[0].ID

	t.Run("latency then normal service", func(t *testing.T) {
		t.Parallel()
		defer srv.InjectFault(Fault{Service: ServiceEntra, Path: "/latency-case/", Kind: Latency, Delay: 30 * time.Millisecond})()
		start := time.Now()
		status, _, _, err := get(t.Context(), srv, srv.EntraURL()+"/latency-case/v2.0/.well-known/openid-configuration")
		require.NoError(t, err)
		// Served normally: the unknown tenant's own 400, not a fault body.
		assert.Equal(t, http.StatusBadRequest, status)
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	})
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		defer srv.InjectFault(Fault{Service: ServiceGraph, Path: "/drop-case", Kind: Drop})()
		status, _, _, err := get(t.Context(), srv, srv.GraphURL()+"/drop-case")
		require.Error(t, err)
		assert.Zero(t, status)
	})
	t.Run("truncate", func(t *testing.T) {
		t.Parallel()
		other := NewT(t, Options{Seed: 12, Tenants: 3})
		defer other.InjectFault(Fault{Service: ServiceEntra, Kind: Truncate})()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, openIDURL(other, tenant), nil)
		require.NoError(t, err)
		resp, err := other.HTTPClient().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		body, err := io.ReadAll(resp.Body)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, int(resp.ContentLength)/2, len(body))
		assert.Positive(t, resp.ContentLength)
		assert.False(t, json.Valid(body))
	})
	t.Run("hang until the client gives up", func(t *testing.T) {
		t.Parallel()
		defer srv.InjectFault(Fault{Service: ServicePartnerCenter, Path: "/hang-case", Kind: Hang})()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, _, _, err := get(ctx, srv, srv.PartnerCenterURL()+"/hang-case")
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	})
	t.Run("delay cut short by the client", func(t *testing.T) {
		t.Parallel()
		defer srv.InjectFault(Fault{Service: ServiceCIPP, Path: "/slow-case", Kind: ServerError, Delay: time.Hour})()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, _, _, err := get(ctx, srv, srv.CIPPURL()+"/slow-case")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestFaultMatching(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 13, Tenants: 3})
	a, b := srv.World.Tenants[0], srv.World.Tenants[1]

	statusOf := func(t *testing.T, url string) int {
		t.Helper()
		status, _, _, err := get(t.Context(), srv, url)
		require.NoError(t, err)
		return status
	}

	remove := srv.InjectFault(Fault{Service: ServiceEntra, Tenant: a.ID, Kind: Throttle, Count: 2})
	assert.Equal(t, 200, statusOf(t, openIDURL(srv, b.ID)), "other tenant untouched")
	assert.Equal(t, 429, statusOf(t, openIDURL(srv, a.ID)))
	assert.Equal(t, 429, statusOf(t, openIDURL(srv, a.DefaultDomain)), "tenant matched through its domain")
	assert.Equal(t, 200, statusOf(t, openIDURL(srv, a.ID)), "Count exhausted")
	remove()

	remove = srv.InjectFault(Fault{Service: ServiceEntra, Method: http.MethodPost, Kind: ServerError})
	assert.Equal(t, 200, statusOf(t, openIDURL(srv, a.ID)), "GET does not match a POST fault")
	remove()

	remove = srv.InjectFault(Fault{Service: ServiceGraph, Kind: ServerError})
	assert.Equal(t, 200, statusOf(t, openIDURL(srv, a.ID)), "other service untouched")
	remove()

	srv.InjectFault(Fault{Service: ServiceEntra, Kind: ServerError, Until: time.Now().Add(-time.Minute)})
	srv.InjectFault(Fault{Service: ServiceEntra, Kind: ServerError, From: time.Now().Add(time.Hour)})
	assert.Equal(t, 200, statusOf(t, openIDURL(srv, a.ID)), "outside the window")
	srv.InjectFault(Fault{Service: ServiceEntra, Path: "well-known", Kind: ServerError, Status: 502})
	assert.Equal(t, 502, statusOf(t, openIDURL(srv, a.ID)))
	srv.ClearFaults()
	assert.Equal(t, 200, statusOf(t, openIDURL(srv, a.ID)))

	counts := srv.FaultCounts()
	assert.Equal(t, 2, counts[Throttle])
	assert.Equal(t, 1, counts[ServerError])
}

func TestFaultRateIsReproducible(t *testing.T) {
	t.Parallel()
	pattern := func(seed int64) []bool {
		srv := NewT(t, Options{Seed: seed, Tenants: 1})
		srv.InjectFault(Fault{Service: ServiceEntra, Kind: Throttle, Rate: 0.3})
		var hits []bool
		for range 40 {
			status, _, _, err := get(t.Context(), srv, openIDURL(srv, srv.World.Tenants[0].ID))
			require.NoError(t, err)
			hits = append(hits, status == 429)
		}
		assert.Equal(t, srv.FaultCounts()[Throttle], count(hits))
		return hits
	}
	first, again, other := pattern(21), pattern(21), pattern(22)
	assert.Equal(t, first, again, "same seed, same faults")
	assert.NotEqual(t, first, other)
	assert.Greater(t, count(first), 0)
	assert.Less(t, count(first), 40)
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "2": 2, "2.128": 3, "-1": 0, "Wed, 21 Oct 2026 07:28:00 GMT": 0} {
		assert.Equal(t, want, retryAfterSeconds(in), in)
	}
}
