package cipp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

const (
	contosoID     = testserver.CIPPRecordedTenantID
	contosoDomain = testserver.CIPPRecordedDomain
)

// fastRetry keeps tests quick: one retry with millisecond backoff.
func fastRetry(c *Config) {
	c.MaxRetries, c.MinBackoff, c.MaxBackoff = 1, time.Millisecond, 2*time.Millisecond
}

// build applies the test's changes to cfg and builds the client.
func build(t *testing.T, cfg Config, mods ...func(*Config)) *Client {
	t.Helper()
	for _, m := range mods {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	require.NoError(t, err)
	return c
}

// withTokens replaces the client-credentials token source.
func withTokens(ts transport.TokenSource) func(*Config) {
	return func(c *Config) { c.TokenSource = ts }
}

func newFake(t *testing.T, opts testserver.Options) *testserver.Server {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	if opts.Tenants == 0 && opts.World == nil {
		opts.Tenants = 5
	}
	if opts.MaxUsers == 0 {
		opts.MinUsers, opts.MaxUsers = 30, 40
	}
	return testserver.NewT(t, opts)
}

// clientFor builds a Client that reaches the fake with the given API client's credentials.
func clientFor(t *testing.T, srv *testserver.Server, creds testserver.Credentials, mods ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: srv.CIPPURL(), TenantID: creds.TenantID, ClientID: creds.ClientID, Secret: tenantsync.NewSecret(creds.Secret),
		AuthorityHost: srv.EntraURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}}
	return build(t, cfg, append([]func(*Config){fastRetry}, mods...)...)
}

func adminClient(t *testing.T, srv *testserver.Server, mods ...func(*Config)) *Client {
	return clientFor(t, srv, srv.CIPPCredentials(), mods...)
}

// managedTenant returns a tenant CIPP lists, with at least minUsers users.
func managedTenant(t *testing.T, c *Client) Tenant {
	t.Helper()
	ts, err := c.Tenants(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, ts)
	return ts[0]
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// staticTokens hands out fixed tokens in turn and counts invalidations.
type staticTokens struct {
	tokens      []string
	calls       atomic.Int32
	invalidated atomic.Int32
}

func (s *staticTokens) Token(context.Context, string) (*oauth2.Token, error) {
	i := int(s.calls.Add(1)) - 1
	tok := s.tokens[min(i, len(s.tokens)-1)]
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func (s *staticTokens) Invalidate(string) { s.invalidated.Add(1) }

// stubResponse is one canned answer of the stub CIPP.
type stubResponse struct {
	status int
	ctype  string
	body   string
	header map[string]string
}

// stubCIPP serves canned answers under a non-root path (catching absolute-URL mistakes);
// ListTenants answers with the recorded tenant list unless routes say otherwise. It returns a
// client for it and the requests it saw.
func stubCIPP(t *testing.T, routes map[string]stubResponse, mods ...func(*Config)) (*Client, *[]*http.Request) {
	t.Helper()
	var seen []*http.Request
	tenants := string(readTestdata(t, "ListTenants.json"))
	mux := http.NewServeMux()
	mux.HandleFunc("/prefix/api/", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Clone(context.Background()))
		if got := r.Header.Get("Authorization"); got != "Bearer good-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/prefix/api/")
		resp, ok := routes[name]
		if !ok && name == "ListTenants" {
			resp, ok = stubResponse{status: 200, ctype: "application/json", body: tenants}, true
		}
		if !ok {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("Endpoint not found"))
			return
		}
		for k, v := range resp.header {
			w.Header().Set(k, v)
		}
		if resp.ctype != "" {
			w.Header().Set("Content-Type", resp.ctype)
		}
		w.WriteHeader(resp.status)
		_, _ = w.Write([]byte(resp.body))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL + "/prefix/", TokenSource: &staticTokens{tokens: []string{"good-token"}},
		Settings: transport.Settings{AllowInsecureHTTP: true}}
	return build(t, cfg, append([]func(*Config){fastRetry}, mods...)...), &seen
}

func mustSource(t *testing.T, c *Client, cfg SourceConfig) *Source {
	t.Helper()
	s, err := NewSource(c, cfg)
	require.NoError(t, err)
	return s
}
