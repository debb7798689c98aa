package entra_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/httpx"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// These tests run the token sources and the HTTP stack against the shared fake, whose
// Entra ID, Graph and CIPP verify the tokens they are given.

func newTestServer(t *testing.T) *testserver.Server {
	t.Helper()
	srv, err := testserver.New(testserver.Options{Seed: 7, Tenants: 3, MinUsers: 3, MaxUsers: 5})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func consentedTenant(t *testing.T, srv *testserver.Server) string {
	t.Helper()
	for _, tn := range srv.World.Tenants {
		if tn.Consented {
			return tn.ID
		}
	}
	tn := srv.World.Tenants[0]
	srv.SetConsent(tn.ID, true)
	return tn.ID
}

func partnerConfig(srv *testserver.Server, scope string) entra.Config {
	app := srv.PartnerApp()
	return entra.Config{
		AuthorityHost: srv.EntraURL(), TenantID: app.TenantID, ClientID: app.ClientID,
		Secret: tenantsync.NewSecret(app.Secret), Scope: scope, HTTPClient: srv.HTTPClient(), Service: "graph",
	}
}

func TestTestserverClientCredentialsGraph(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	tenant := consentedTenant(t, srv)
	cc, err := entra.NewClientCredentials(partnerConfig(srv, "https://graph.microsoft.com/.default"))
	require.NoError(t, err)
	c, err := httpx.New(httpx.Config{
		Service: "graph",
		BaseURL: srv.GraphURL(),
		Tokens:  cc,
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(),
			Limits:     transport.NewLimits(transport.GraphRules(hostOf(t, srv.GraphURL()))...),
		},
	})
	require.NoError(t, err)

	ctx := httpx.WithTenant(t.Context(), tenant)
	entraCalls := -1
	for range 2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.GraphURL()+"/v1.0/users?$select=id", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Contains(t, string(body), `"value"`)
		if entraCalls < 0 {
			entraCalls = srv.Requests(testserver.ServiceEntra, tenant)
			assert.Positive(t, entraCalls)
		}
	}
	assert.Equal(t, entraCalls, srv.Requests(testserver.ServiceEntra, tenant), "the token is cached across calls")

	// Consent withdrawn: a new token is refused with the consent hint.
	srv.SetConsent(tenant, false)
	cc.Invalidate(tenant)
	_, err = cc.Token(t.Context(), tenant)
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrConsentRequired)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "AADSTS700016", d.Code)
	assert.NotEmpty(t, d.RequestID)

	_, err = cc.Token(t.Context(), "00000000-0000-0000-0000-00000000abcd")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
}

func TestTestserverExpiredSecret(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	cfg := partnerConfig(srv, "https://graph.microsoft.com/.default")
	srv.ExpireSecret(cfg.ClientID)
	cc, err := entra.NewClientCredentials(cfg)
	require.NoError(t, err)
	_, err = cc.Token(t.Context(), "")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Contains(t, tenantsync.HintOf(err), "expired")
	assert.NotContains(t, err.Error(), cfg.Secret.Reveal())
}

func TestTestserverCIPPToken(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	creds := srv.CIPPCredentials()
	cc, err := entra.NewClientCredentials(entra.Config{
		AuthorityHost: srv.EntraURL(), TenantID: creds.TenantID, ClientID: creds.ClientID,
		Secret: tenantsync.NewSecret(creds.Secret), Scope: "api://" + creds.ClientID + "/.default",
		HTTPClient: srv.HTTPClient(), Service: "cipp",
	})
	require.NoError(t, err)
	c, err := httpx.New(httpx.Config{Service: "cipp", BaseURL: srv.CIPPURL(), Tokens: cc, Settings: transport.Settings{HTTPClient: srv.HTTPClient()}})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.CIPPURL()+"/api/ListTenants", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
}

func TestTestserverRefreshToken(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	tenant := srv.World.Tenants[0].ID
	var mu sync.Mutex
	var stored []tenantsync.Secret
	rs, err := entra.NewRefreshTokenSource(partnerConfig(srv, "https://graph.microsoft.com/.default"),
		tenantsync.NewSecret(srv.PartnerRefreshToken()), func(_ context.Context, rt tenantsync.Secret) error {
			mu.Lock()
			defer mu.Unlock()
			stored = append(stored, rt)
			return nil
		})
	require.NoError(t, err)
	tok, err := rs.Token(t.Context(), tenant)
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.True(t, tok.Expiry.After(time.Now()))
	mu.Lock()
	require.Len(t, stored, 1, "the rotated refresh token is persisted")
	assert.Equal(t, rs.RefreshToken().Reveal(), stored[0].Reveal())
	mu.Unlock()

	srv.RevokeRefreshTokens()
	rs.Invalidate(tenant)
	_, err = rs.Token(t.Context(), tenant)
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrAuthorizationRevoked)
	assert.Contains(t, tenantsync.HintOf(err), "sign in again")
}

func TestTestserverFaults(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	tenant := consentedTenant(t, srv)
	cc, err := entra.NewClientCredentials(partnerConfig(srv, "https://graph.microsoft.com/.default"))
	require.NoError(t, err)
	budget := transport.NewBudget(0)
	c, err := httpx.New(httpx.Config{
		Service: "graph",
		BaseURL: srv.GraphURL(),
		Tokens:  cc,
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(),
			Budget:     budget,
			MinBackoff: time.Millisecond,
			MaxBackoff: 5 * time.Millisecond,
		},
	})
	require.NoError(t, err)
	tests := []struct {
		name  string
		fault testserver.Fault
	}{
		{"throttle with Retry-After", testserver.Fault{Kind: testserver.Throttle, RetryAfter: "0", Count: 2}},
		{"throttle without Retry-After", testserver.Fault{Kind: testserver.Throttle, Count: 1}},
		{"server error", testserver.Fault{Kind: testserver.ServerError, Status: 502, Count: 1}},
		{"dropped connection", testserver.Fault{Kind: testserver.Drop, Count: 1}},
	}
	// net/http itself resends an idempotent request whose reused connection was dropped, so
	// a Drop fault may not reach the retry budget; the others must.
	for _, tt := range tests {
		tt.fault.Service, tt.fault.Tenant, tt.fault.Path = testserver.ServiceGraph, tenant, "/v1.0/domains"
		remove := srv.InjectFault(tt.fault)
		before := srv.FaultCounts()[tt.fault.Kind]
		req, err := http.NewRequestWithContext(httpx.WithTenant(t.Context(), tenant), http.MethodGet, srv.GraphURL()+"/v1.0/domains", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err, tt.name)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, tt.name)
		if tt.fault.Kind != testserver.Drop {
			assert.Positive(t, budget.Stats().Retries, tt.name)
		}
		assert.Greater(t, srv.FaultCounts()[tt.fault.Kind], before, tt.name)
		remove()
	}

	remove := srv.InjectFault(testserver.Fault{Service: testserver.ServiceGraph, Tenant: tenant, Kind: testserver.Truncate, Path: "/v1.0/organization"})
	defer remove()
	req, err := http.NewRequestWithContext(httpx.WithTenant(t.Context(), tenant), http.MethodGet, srv.GraphURL()+"/v1.0/organization", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable, "a truncated body is an error, not a short answer")
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	return req.URL.Host
}

func TestTestserverCertificateCredentials(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tenantsync test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	creds := srv.RegisterApp(testserver.App{DisplayName: "cert app", Certs: []*x509.Certificate{cert}})
	cfg := entra.Config{AuthorityHost: srv.EntraURL(), TenantID: creds.TenantID, ClientID: creds.ClientID,
		Certificates: []*x509.Certificate{cert}, Key: tenantsync.NewPrivateKey(key), Scope: "https://graph.microsoft.com/.default", HTTPClient: srv.HTTPClient()}

	cc, err := entra.NewClientCredentials(cfg)
	require.NoError(t, err)
	tok, err := cc.Token(t.Context(), "")
	require.NoError(t, err, "MSAL's certificate assertion is accepted")
	assert.NotEmpty(t, tok.AccessToken)

	// The hand-written assertion of the refresh-token source is accepted too: the request gets
	// as far as the (unknown) refresh token.
	rs, err := entra.NewRefreshTokenSource(cfg, tenantsync.NewSecret("not-a-refresh-token"), nil)
	require.NoError(t, err)
	_, err = rs.Token(t.Context(), "")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrAuthorizationRevoked)

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	cfg.Key = tenantsync.NewPrivateKey(other)
	rs, err = entra.NewRefreshTokenSource(cfg, tenantsync.NewSecret("not-a-refresh-token"), nil)
	require.NoError(t, err)
	_, err = rs.Token(t.Context(), "")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrUnauthorized, "a key that does not match the certificate is refused")
	assert.Contains(t, tenantsync.HintOf(err), "certificate")

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cfg.Key = tenantsync.NewPrivateKey(ecKey)
	_, err = entra.NewRefreshTokenSource(cfg, tenantsync.NewSecret("rt"), nil)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, "Entra ID takes only RSA keys")
	_, err = entra.NewClientCredentials(cfg)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, "Entra ID takes only RSA keys")

	cfg.Key = tenantsync.NewPrivateKey((*rsa.PrivateKey)(nil))
	_, err = entra.NewClientCredentials(cfg)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, "a nil key is no key")
}

// pathRecorder records the path of every request it carries.
type pathRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, req.URL.Path)
	p.mu.Unlock()
	return p.next.RoundTrip(req)
}

func (p *pathRecorder) with(suffix string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.paths {
		if strings.HasSuffix(s, suffix) {
			out = append(out, s)
		}
	}
	return out
}

// MSAL fetches the OpenID configuration of the first customer tenant only: the others are
// answered from its template, and the tokens MSAL then gets from the fake are good for Graph.
func TestTestserverClientCredentialsFetchOneOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	var tenants []string
	for _, tn := range srv.World.Tenants {
		srv.SetConsent(tn.ID, true)
		tenants = append(tenants, tn.ID)
	}
	require.GreaterOrEqual(t, len(tenants), 3)
	hc := srv.HTTPClient()
	rec := &pathRecorder{next: hc.Transport}
	cfg := partnerConfig(srv, "https://graph.microsoft.com/.default")
	cfg.HTTPClient = &http.Client{Transport: rec}
	cc, err := entra.NewClientCredentials(cfg)
	require.NoError(t, err)
	for _, tenant := range tenants {
		tok, err := cc.Token(t.Context(), tenant)
		require.NoError(t, err, tenant)
		// The fake's Graph accepts only a token its Entra ID issued.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.GraphURL()+"/v1.0/organization", nil)
		require.NoError(t, err)
		tok.SetAuthHeader(req)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, tenant)
	}
	assert.Equal(t, []string{"/" + tenants[0] + "/v2.0/.well-known/openid-configuration"}, rec.with("/openid-configuration"))
	assert.Len(t, rec.with("/oauth2/v2.0/token"), len(tenants), "one token request per tenant")

	// An unknown tenant fails as it did when its configuration was fetched: the token
	// endpoint names it.
	_, err = cc.Token(t.Context(), "00000000-0000-4000-8000-0000000000ff")
	require.Error(t, err)
	assert.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
}
