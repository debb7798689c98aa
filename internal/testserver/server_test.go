package testserver

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServerCountsAndLatency(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 31, Tenants: 2})
	a := srv.World.Tenants[0]
	for range 3 {
		status, _, _, err := get(t.Context(), srv, openIDURL(srv, a.DefaultDomain))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	status, _, _, err := get(t.Context(), srv, openIDURL(srv, "unknown.example"))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, status)

	assert.Equal(t, 3, srv.Requests(ServiceEntra, a.ID), "counted under the tenant's ID, not the domain")
	assert.Equal(t, 1, srv.Requests(ServiceEntra, "unknown.example"))
	assert.Equal(t, 4, srv.Requests(ServiceEntra, "*"))
	assert.Zero(t, srv.Requests(ServiceGraph, "*"))
	srv.ResetCounts()
	assert.Zero(t, srv.Requests(ServiceEntra, "*"))

	srv.SetLatency(40 * time.Millisecond)
	start := time.Now()
	_, _, _, err = get(t.Context(), srv, openIDURL(srv, a.ID))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond)
	srv.SetLatency(0)

	assert.Contains(t, srv.String(), srv.EntraURL())
	assert.Contains(t, srv.String(), srv.PartnerCenterURL())
}

// With RecordSpans every request is kept with its tenant, caller and times, the latency
// inside its span; without it nothing is kept.
func TestServerRecordsSpans(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 33, Tenants: 2, RecordSpans: true, Latency: 20 * time.Millisecond})
	a := srv.World.Tenants[0]
	_, _, _, err := get(t.Context(), srv, openIDURL(srv, a.ID))
	require.NoError(t, err)
	spans := srv.RequestSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, ServiceEntra, spans[0].Service)
	assert.Equal(t, a.ID, spans[0].Tenant)
	assert.NotEmpty(t, spans[0].UserAgent)
	assert.GreaterOrEqual(t, spans[0].Done.Sub(spans[0].Arrived), 20*time.Millisecond)
	srv.ResetCounts()
	assert.Empty(t, srv.RequestSpans())

	off := NewT(t, Options{Seed: 33, Tenants: 1})
	_, _, _, err = get(t.Context(), off, openIDURL(off, off.World.Tenants[0].ID))
	require.NoError(t, err)
	assert.Nil(t, off.RequestSpans())
}

func TestServerCACertificate(t *testing.T) {
	t.Parallel()
	srv := NewT(t, Options{Seed: 32, Tenants: 1})
	block, _ := pem.Decode(srv.CACertPEM())
	require.NotNil(t, block)
	assert.Equal(t, "CERTIFICATE", block.Type)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	for _, u := range []string{srv.EntraURL(), srv.CIPPURL(), srv.GraphURL(), srv.PartnerCenterURL()} {
		require.True(t, strings.HasPrefix(u, "https://127.0.0.1:"), u)
	}
	// Every listener presents a certificate that the PEM alone verifies.
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"})
	assert.NoError(t, err)
	// A client that does not trust the CA is refused.
	_, err = http.Get(srv.EntraURL())
	assert.Error(t, err)
}

func TestServerOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"negative size", Options{Sizes: []int{-1}}, "negative user count"},
		{"negative latency", Options{Latency: -time.Second}, "must not be negative"},
		{"world without partner", Options{World: &World{}}, "PartnerTenantID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(tc.opts)
			require.Error(t, err)
			assert.Nil(t, srv)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// A World built by hand is served as it is.
	w := Generate(Options{Seed: 33, Tenants: 2})
	w.Tenants = w.Tenants[:1]
	srv := NewT(t, Options{World: w})
	assert.Same(t, w, srv.World)
	assert.Nil(t, srv.World.Tenant(Generate(Options{Seed: 33, Tenants: 2}).Tenants[1].ID))
	assert.NotNil(t, srv.World.Tenant(w.Tenants[0].ID))
	srv.Close()
	srv.Close() // idempotent
}

func TestQuietLogDropsOnlyHandshakeErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	q := quietLog{&b}
	n, err := q.Write([]byte("http: TLS handshake error from 127.0.0.1:5555: EOF\n"))
	require.NoError(t, err)
	assert.Equal(t, 51, n, "a dropped line still reports itself written")
	_, err = q.Write([]byte("http: panic serving 127.0.0.1:5555: boom\n"))
	require.NoError(t, err)
	assert.Equal(t, "http: panic serving 127.0.0.1:5555: boom\n", b.String())

	srv := NewT(t, Options{Seed: 31, Tenants: 1})
	for _, l := range []*httptest.Server{srv.entra, srv.cipp, srv.graph, srv.pc} {
		require.NotNil(t, l.Config.ErrorLog)
		_, quiet := l.Config.ErrorLog.Writer().(quietLog)
		assert.True(t, quiet)
	}
}
