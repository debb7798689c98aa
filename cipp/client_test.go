package cipp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

const (
	goodTenant = "3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
	goodClient = "2b7e1f0c-9d8a-4c6b-8e5f-3a2b1c0d9e8f"
	theSecret  = "s3cr3t~Value.123"
)

func TestNewClientValidatesConfig(t *testing.T) {
	t.Parallel()
	ok := Config{BaseURL: "https://cipp-abc12.azurewebsites.net", TenantID: goodTenant, ClientID: goodClient, Secret: tenantsync.NewSecret(theSecret)}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want string // in the message
		hint string // in the hint
	}{
		{"empty URL", with(func(c *Config) { c.BaseURL = "" }), "BaseURL is empty", "Function App URL"},
		{"relative URL", with(func(c *Config) { c.BaseURL = "cipp.example.com" }), "not an absolute URL", "Function App URL"},
		{"http", with(func(c *Config) { c.BaseURL = "http://cipp-abc12.azurewebsites.net" }), "uses http", "https://"},
		{"ftp", with(func(c *Config) { c.BaseURL = "ftp://cipp-abc12.azurewebsites.net" }), `scheme "ftp"`, "Function App URL"},
		{"query", with(func(c *Config) { c.BaseURL = "https://cipp-abc12.azurewebsites.net/?code=x" }), "query", "Function App URL"},
		{"credentials in URL", with(func(c *Config) { c.BaseURL = "https://user:pw@cipp-abc12.azurewebsites.net" }), "credentials", "Function App URL"},
		{"static web app", with(func(c *Config) { c.BaseURL = "https://purple-sea-0a1b2c.azurestaticapps.net" }), "Static Web App", "not the CIPP UI URL"},
		{"tenant not a GUID", with(func(c *Config) { c.TenantID = "contoso.onmicrosoft.com" }), "not a tenant ID", "partner tenant"},
		{"client not a GUID", with(func(c *Config) { c.ClientID = "cipp-api" }), "not an application ID", "Client ID"},
		{"no secret", with(func(c *Config) { c.Secret = tenantsync.Secret{} }), "Secret is empty", "create a new secret"},
		{"bad authority", with(func(c *Config) { c.AuthorityHost = "login" }), "AuthorityHost \"login\" is not an absolute URL", "sign-in host"},
		{"negative TTL", with(func(c *Config) { c.TenantCacheTTL = -time.Second }), "TenantCacheTTL -1s is negative", "positive duration"},
		{"bad retries", with(func(c *Config) { c.MaxRetries = -1 }), "must not be negative", "NoRetries"},
		{"negative backoff", with(func(c *Config) { c.MinBackoff = -time.Second }), "MinBackoff is negative", "positive duration"},
		{"negative timeout", with(func(c *Config) { c.Timeout = -time.Second }), "Timeout is negative", "positive duration"},
		{"http without AllowInsecureHTTP", with(func(c *Config) { c.BaseURL = "http://127.0.0.1:8080" }), "uses http", "https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tt.cfg)
			require.Error(t, err)
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, tenantsync.HintOf(err), tt.hint)
			assert.NotContains(t, err.Error(), theSecret)
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, tt.cfg), theSecret)
		})
	}
}

func TestNewClientAcceptsValidConfig(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://cipp-abc12.azurewebsites.net", "https://cipp-abc12.azurewebsites.net/", "https://cipp-abc12.azurewebsites.net/api", "https://api.cipp.example/prefix/api/"} {
		c, err := NewClient(Config{BaseURL: base, TenantID: goodTenant, ClientID: goodClient, Secret: tenantsync.NewSecret(theSecret),
			TenantCacheTTL: time.Minute, Settings: transport.Settings{
				Budget: transport.NewBudget(10), Limits: transport.NewLimits(), Observer: func(transport.Attempt) {},
				Timeout: time.Minute, UserAgent: "psa/1", MaxRetries: transport.NoRetries,
			}})
		require.NoError(t, err, base)
		assert.True(t, strings.HasSuffix(c.apiBase, "/api/") && !strings.Contains(c.apiBase, "/api/api"), c.apiBase)
		assert.NotContains(t, fmt.Sprintf("%v %+v", c.cfg, c.cfg), theSecret)
	}
	// A token source makes the secret and IDs unnecessary.
	_, err := NewClient(Config{BaseURL: "https://cipp.example", TokenSource: &staticTokens{tokens: []string{"t"}}})
	require.NoError(t, err)
}

// TestCredentialsAgainstFakeEntra covers the token flow: MSAL client credentials with scope
// api://<clientId>/.default against the fake Entra ID, and its failures.
func TestCredentialsAgainstFakeEntra(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	good := srv.CIPPCredentials()

	c := clientFor(t, srv, good)
	me, err := c.Me(t.Context())
	require.NoError(t, err)
	assert.Equal(t, good.ClientID, me.ClientPrincipal.AppID)
	assert.Contains(t, []string(me.Permissions), "Identity.User.ReadWrite")

	wrong := good
	wrong.Secret = "not-the-secret"
	_, err = clientFor(t, srv, wrong).Me(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	d, _ := tenantsync.Details(err)
	require.NotNil(t, d)
	assert.Equal(t, "AADSTS7000215", d.Code)
	assert.Contains(t, d.Hint, "secret is wrong")
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), "not-the-secret")

	unknown := good
	unknown.ClientID = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
	_, err = clientFor(t, srv, unknown).Me(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Contains(t, tenantsync.HintOf(err), "no application with this client ID")

	expired := srv.NewCIPPClient("editor")
	srv.ExpireSecret(expired.ClientID)
	_, err = clientFor(t, srv, expired).Me(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Contains(t, tenantsync.HintOf(err), "expired")
}

// TestTokenForAnotherAudienceIsRefused is the v2-token / wrong-audience case: CIPP's front end
// answers 401 with no body, and the hint names the audience and Save to Azure.
func TestTokenForAnotherAudienceIsRefused(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	ts := &staticTokens{tokens: []string{"eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.bad"}}
	c := build(t, Config{BaseURL: srv.CIPPURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}}, withTokens(ts), fastRetry)
	_, err := c.ListTenants(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Equal(t, HintUnauthorized, tenantsync.HintOf(err))
	assert.Contains(t, HintUnauthorized, "api://<client ID>")
	assert.Contains(t, HintUnauthorized, "Save to Azure")
	assert.Contains(t, HintUnauthorized, "requestedAccessTokenVersion")
	assert.Equal(t, int32(1), ts.invalidated.Load(), "a 401 drops the cached token once and retries")
	assert.Equal(t, int32(2), ts.calls.Load())
}

// switchingTokens returns a stale token first and a real one after Invalidate.
type switchingTokens struct {
	real        transport.TokenSource
	invalidated atomic.Bool
}

func (s *switchingTokens) Token(ctx context.Context, tenant string) (*oauth2.Token, error) {
	if !s.invalidated.Load() {
		return &oauth2.Token{AccessToken: "revoked", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
	}
	return s.real.Token(ctx, tenant)
}

func (s *switchingTokens) Invalidate(string) { s.invalidated.Store(true) }

func TestRevokedCachedTokenIsReplacedOnce(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	cr := srv.CIPPCredentials()
	real, err := newTokenSource(Config{AuthorityHost: srv.EntraURL(), TenantID: cr.TenantID, ClientID: cr.ClientID, Secret: tenantsync.NewSecret(cr.Secret)}, srv.HTTPClient())
	require.NoError(t, err)
	st := &switchingTokens{real: real}
	c := build(t, Config{BaseURL: srv.CIPPURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}}, withTokens(st), fastRetry)
	rows, err := c.ListTenants(t.Context())
	require.NoError(t, err)
	assert.NotEmpty(t, rows)
	assert.True(t, st.invalidated.Load())
}

func TestCallRejectsBadEndpointNames(t *testing.T) {
	t.Parallel()
	c, seen := stubCIPP(t, nil)
	for _, name := range []string{"", "ListUsers?x=1", "../ListUsers", "a#b"} {
		_, err := c.Call(t.Context(), Request{Method: http.MethodGet, Endpoint: name})
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, name)
	}
	_, err := c.Call(t.Context(), Request{Method: http.MethodPost, Endpoint: "ListUsers", Body: map[string]any{"bad": func() {}}})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Empty(t, *seen, "nothing was sent")
}

func TestRequestsCarryJSONAndTenant(t *testing.T) {
	t.Parallel()
	c, seen := stubCIPP(t, map[string]stubResponse{"ExecRevokeSessions": {status: 200, ctype: "application/json", body: `{"Results":"Successfully revoked sessions for jane@contoso.com"}`}})
	_, err := c.RevokeSessions(t.Context(), tenantsync.UserRef{TenantID: contosoID, UPN: "jane@contoso.com"})
	require.NoError(t, err)
	last := (*seen)[len(*seen)-1]
	assert.Equal(t, "/prefix/api/ExecRevokeSessions", last.URL.Path)
	assert.Equal(t, http.MethodPost, last.Method)
	assert.Equal(t, "application/json", last.Header.Get("Content-Type"), "CIPP parses bodies only with this content type")
	assert.Equal(t, "tenantsync/"+tenantsync.Version+" (cipp)", last.Header.Get("User-Agent"), "every request names the release")
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.ListTenants(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled) || errors.Is(err, tenantsync.ErrUnavailable), "%v", err)
}

func TestUnknownShapesAreCounted(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, map[string]stubResponse{
		"ListUsers":   {status: 200, ctype: "application/json", body: `{"id":"8c1d4b2a-3e5f-4a6b-9c7d-1e2f3a4b5c6d","displayName":"Only One"}`},
		"ListDevices": {status: 200, ctype: "application/json", body: `true`},
		"me":          {status: 200, ctype: "application/json", body: `[]`},
	})
	users, err := c.Users(t.Context(), contosoDomain)
	require.NoError(t, err, "a lone object where an array belongs is read as one row")
	require.Len(t, users, 1)
	assert.Equal(t, int64(1), c.UnknownShapes())
	_, err = c.Devices(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	_, err = c.Me(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Equal(t, int64(3), c.UnknownShapes())
}

func TestOnAttemptSeesEveryAttempt(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	var mu sync.Mutex
	var seen []transport.Attempt
	c := adminClient(t, srv, func(c *Config) {
		c.Observer = func(a transport.Attempt) {
			mu.Lock()
			seen = append(seen, a)
			mu.Unlock()
		}
	})
	tn := managedTenant(t, c)
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListDevices", Kind: testserver.ServerError, Status: 503, Count: 1})
	_, err := c.Devices(t.Context(), tn.CustomerID)
	require.NoError(t, err, "one 503, then success")
	mu.Lock()
	defer mu.Unlock()
	var forTenant []transport.Attempt
	for _, a := range seen {
		assert.Equal(t, Service, a.Service)
		if a.Tenant == tn.CustomerID {
			forTenant = append(forTenant, a)
		}
	}
	require.Len(t, forTenant, 2, "the failed attempt and its retry")
	assert.Equal(t, 503, forTenant[0].Status)
	assert.True(t, forTenant[0].Retry)
	assert.Equal(t, 200, forTenant[1].Status)
	assert.Equal(t, 2, c.attemptCount(tn.CustomerID))
}
