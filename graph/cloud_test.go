package graph_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store/memory"
	tsync "github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

// A GCC High partner connects (the partner admin's sign-in on the US Government authority),
// discovers its customers through Partner Center and syncs one through Graph: every request of
// the whole run goes to the GCC High cloud's hosts, as the fake's request log shows.
func TestGCCHighConnectionSyncsOnlyThroughItsCloudsHosts(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 21, Tenants: 4, MinUsers: 8, MaxUsers: 12})
	cloud, err := entra.CloudByName("usgov-high")
	require.NoError(t, err)
	hc := srv.CloudHTTPClient()
	app := srv.PartnerApp()
	ctx := t.Context()

	pcon, err := entra.NewPartnerConnect(entra.PartnerConnectConfig{Cloud: cloud, PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		Secret: tenantsync.NewSecret(app.Secret), RedirectURI: "https://psa.example/cb", HTTPClient: hc})
	require.NoError(t, err)
	link, err := pcon.AuthURL(ctx, "msp-1", "alice")
	require.NoError(t, err)
	require.Contains(t, link, "https://login.microsoftonline.us/")
	browser := *hc
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	auth, err := pcon.Callback(ctx, loc.Query())
	require.NoError(t, err)

	// One rotation chain for both clients, as the daemon builds it.
	var stored []tenantsync.Secret
	rotate := func(_ context.Context, s tenantsync.Secret) error { stored = append(stored, s); return nil }
	pcTokens, err := entra.NewRefreshTokenSource(entra.Config{AuthorityHost: cloud.AuthorityHost, TenantID: app.TenantID, ClientID: app.ClientID,
		Secret: tenantsync.NewSecret(app.Secret), Scope: cloud.PartnerCenterScope(), HTTPClient: hc}, auth.RefreshToken, rotate)
	require.NoError(t, err)
	graphTokens, err := pcTokens.ForScope(cloud.GraphScope())
	require.NoError(t, err)
	settings := transport.Settings{HTTPClient: hc, MaxRetries: transport.NoRetries}
	pc, err := partnercenter.NewClient(partnercenter.Config{Cloud: cloud, PartnerTenantID: app.TenantID, PartnerCenterTokens: pcTokens, Settings: settings})
	require.NoError(t, err)
	g, err := graph.NewClient(graph.Config{Cloud: cloud, PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		Auth: graph.PartnerUser, TokenSource: graphTokens, Settings: settings})
	require.NoError(t, err)
	assert.Equal(t, "https://graph.microsoft.us", g.BaseURL())
	src, err := graph.NewSource(g, graph.SourceConfig{TenantLister: pc.Discovery()})
	require.NoError(t, err)

	var tn *testserver.Tenant
	for _, c := range srv.World.Tenants {
		if c.InPartnerCenter && c.Consented && c.HasActiveRelationship(time.Now()) {
			tn = c
			break
		}
	}
	require.NotNil(t, tn, "the seed has a reachable customer")

	contacts := tenantsynctest.NewContacts(nil)
	contacts.AddClient("client-1", tn.Name)
	eng, err := tsync.New(tsync.Config{Store: memory.New(memory.Config{}), Account: "msp-1", Sources: []tenantsync.Source{src},
		Contacts: contacts, AutoCreate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	rep, err := eng.Discover(ctx)
	require.NoError(t, err)
	require.True(t, slices.Contains(rep.New, tn.ID), "Partner Center listed the customer")
	require.NoError(t, eng.Link(ctx, "alice", tn.ID, "client-1"))
	require.NoError(t, eng.Wait(ctx))
	st, err := eng.Status(ctx, tn.ID)
	require.NoError(t, err)
	require.Nil(t, st.State.LastError, "%+v", st.State.LastError)
	assert.Positive(t, st.State.Counts[tenantsync.KindUsers])
	assert.NotEmpty(t, stored, "rotated refresh tokens were handed over for storage")

	hosts := map[string]int{}
	for _, r := range srv.RequestLog() {
		hosts[r.Host]++
	}
	t.Logf("requests by host: %v", hosts)
	for h := range hosts {
		assert.Contains(t, cloud.Hosts(), h, "a request left the GCC High cloud")
	}
	assert.Positive(t, hosts["login.microsoftonline.us"])
	assert.Positive(t, hosts["graph.microsoft.us"])
	assert.Positive(t, hosts["api.partnercenter.microsoft.com"])
}

// The fake holds national clouds apart as Microsoft does, so a client that mixed them would
// fail rather than pass unnoticed: a token from the global authority does not open GCC High's
// Graph, and the US authority has no global Graph resource.
func TestTokensDoNotCrossClouds(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 21, Tenants: 2, MinUsers: 2, MaxUsers: 3})
	app := srv.PartnerApp()
	tn := srv.World.Tenants[0]
	for name, cfg := range map[string]graph.Config{
		"global token at graph.microsoft.us": {BaseURL: "https://graph.microsoft.us", AuthorityHost: "https://login.microsoftonline.com"},
	} {
		cfg.PartnerTenantID, cfg.ClientID, cfg.ClientSecret = app.TenantID, app.ClientID, tenantsync.NewSecret(app.Secret)
		cfg.Settings = transport.Settings{HTTPClient: srv.CloudHTTPClient(), MaxRetries: transport.NoRetries}
		cfg.Auth, cfg.RefreshToken = graph.PartnerUser, tenantsync.NewSecret(srv.PartnerRefreshToken())
		c, err := graph.NewClient(cfg)
		require.NoError(t, err, name)
		_, err = c.GrantedRoles(t.Context(), tn.ID)
		assert.ErrorIs(t, err, tenantsync.ErrUnauthorized, name)
	}

	// A GCC High connection asking the US authority for the global Graph is refused there.
	high, _ := entra.CloudByName("usgov-high")
	ts, err := entra.NewRefreshTokenSource(entra.Config{AuthorityHost: high.AuthorityHost, TenantID: app.TenantID, ClientID: app.ClientID,
		Secret: tenantsync.NewSecret(app.Secret), Scope: "https://graph.microsoft.com/.default", HTTPClient: srv.CloudHTTPClient()},
		tenantsync.NewSecret(srv.PartnerRefreshToken()), nil)
	require.NoError(t, err)
	_, err = ts.Token(t.Context(), tn.ID)
	require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "AADSTS500011", d.Code)
}

func TestCloudConfigAllowsExactlyItsHosts(t *testing.T) {
	t.Parallel()
	high, err := entra.CloudByName("usgov-high")
	require.NoError(t, err)
	base := graph.Config{Cloud: high, PartnerTenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
		ClientSecret: tenantsync.NewSecret("s3cr8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")}
	c, err := graph.NewClient(base)
	require.NoError(t, err)
	assert.Equal(t, "https://graph.microsoft.us", c.BaseURL())
	for name, m := range map[string]func(*graph.Config){
		"global Graph":        func(c *graph.Config) { c.BaseURL = "https://graph.microsoft.com" },
		"DoD Graph":           func(c *graph.Config) { c.BaseURL = "https://dod-graph.microsoft.us" },
		"global authority":    func(c *graph.Config) { c.AuthorityHost = "https://login.microsoftonline.com" },
		"another host at all": func(c *graph.Config) { c.BaseURL = "https://graph.example" },
	} {
		cfg := base
		m(&cfg)
		_, err := graph.NewClient(cfg)
		assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed, name)
	}
	_, err = graph.NewClient(graph.Config{Cloud: high, PartnerTenantID: base.PartnerTenantID, ClientID: base.ClientID,
		ClientSecret: base.ClientSecret, BaseURL: "https://graph.microsoft.us/v1.0"})
	require.NoError(t, err, "the cloud's own host, with a path, is its origin")
}

// App-only tokens (MSAL's client credentials) follow the cloud too: authority, scope and Graph.
func TestGCCHighAppOnlyStaysOnItsHosts(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 21, Tenants: 2, MinUsers: 2, MaxUsers: 3})
	high, err := entra.CloudByName("usgov-high")
	require.NoError(t, err)
	app := srv.PartnerApp()
	tn := srv.World.Tenants[0]
	srv.SetConsent(tn.ID, true)
	c, err := graph.NewClient(graph.Config{Cloud: high, PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		ClientSecret: tenantsync.NewSecret(app.Secret), Settings: transport.Settings{HTTPClient: srv.CloudHTTPClient(), MaxRetries: transport.NoRetries}})
	require.NoError(t, err)
	roles, err := c.GrantedRoles(t.Context(), tn.ID)
	require.NoError(t, err)
	assert.NotEmpty(t, roles)
	for _, r := range srv.RequestLog() {
		assert.Contains(t, []string{"login.microsoftonline.us", "graph.microsoft.us"}, r.Host, "%s %s", r.Method, r.Path)
	}
}
