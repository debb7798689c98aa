package graph_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

type staticTokens string

func (s staticTokens) Token(context.Context, string) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	good := graph.Config{PartnerTenantID: testTenant, ClientID: testApp, ClientSecret: tenantsync.NewSecret("abc8Q~secret-value")}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key := tenantsync.NewPrivateKey(ecKey)
	for name, tc := range map[string]struct {
		mutate func(*graph.Config)
		hint   string
	}{
		"no tenant":                    {func(c *graph.Config) { c.PartnerTenantID = " " }, "PartnerTenantID"},
		"common tenant":                {func(c *graph.Config) { c.PartnerTenantID = "common" }, "not a multi-tenant alias"},
		"no client":                    {func(c *graph.Config) { c.ClientID = "" }, "ClientID"},
		"client not a GUID":            {func(c *graph.Config) { c.ClientID = "my-app" }, "GUID"},
		"no credential":                {func(c *graph.Config) { c.ClientSecret = tenantsync.Secret{} }, "ClientSecret"},
		"secret ID as secret":          {func(c *graph.Config) { c.ClientSecret = tenantsync.NewSecret(testTenant) }, "Value"},
		"two credentials":              {func(c *graph.Config) { c.Certificates = []*x509.Certificate{{}}; c.PrivateKey = key }, "either"},
		"half a certificate":           {func(c *graph.Config) { c.ClientSecret = tenantsync.Secret{}; c.PrivateKey = key }, "both"},
		"http base":                    {func(c *graph.Config) { c.BaseURL = "http://graph.microsoft.com" }, "https"},
		"relative base":                {func(c *graph.Config) { c.BaseURL = "graph" }, "origin"},
		"user info":                    {func(c *graph.Config) { c.AuthorityHost = "https://u:p@login.example" }, "credentials"},
		"partner user":                 {func(c *graph.Config) { c.Auth = graph.PartnerUser }, "RefreshToken"},
		"auth mode":                    {func(c *graph.Config) { c.Auth = 7 }, "AppOnly"},
		"negative retries":             {func(c *graph.Config) { c.MaxRetries = -1 }, "transport.NoRetries"},
		"http base, not allowed":       {func(c *graph.Config) { c.BaseURL = "http://127.0.0.1:8080" }, "https"},
		"http authority, even allowed": {func(c *graph.Config) { c.AllowInsecureHTTP = true; c.AuthorityHost = "http://127.0.0.1:8080" }, "https"},
		"negative pages":               {func(c *graph.Config) { c.MaxPages = -1 }, "MaxPages"},
		"negative retry wait":          {func(c *graph.Config) { c.MaxRetryAfter = -time.Second }, "MaxRetryAfter"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.mutate(&cfg)
			_, err := graph.NewClient(cfg)
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, tenantsync.HintOf(err), tc.hint)
		})
	}
	// A token source stands in for every credential.
	c, err := graph.NewClient(graph.Config{PartnerTenantID: testTenant, ClientID: testApp, TokenSource: staticTokens("t"), Now: time.Now})
	require.NoError(t, err)
	require.NotNil(t, c)
	_, err = graph.NewSource(c, graph.SourceConfig{Mailboxes: 9})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "MailboxesPerUser")
	_, err = graph.NewSource(nil, graph.SourceConfig{})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	cfg := graph.Config{PartnerTenantID: testTenant, ClientID: testApp, ClientSecret: tenantsync.NewSecret("abc8Q~topsecretvalue"), RefreshToken: tenantsync.NewSecret("1.AQrefresh-secret")}
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.ClientSecret),
		fmt.Sprintf("%x %q %s", cfg.ClientSecret, cfg.RefreshToken, cfg.ClientSecret)} {
		assert.NotContains(t, s, "topsecretvalue")
		assert.NotContains(t, s, "refresh-secret")
	}
	b, err := json.Marshal(map[string]any{"secret": cfg.ClientSecret})
	require.NoError(t, err)
	assert.NotContains(t, string(b), "topsecretvalue")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "secret", cfg.ClientSecret)
	assert.NotContains(t, buf.String(), "topsecretvalue")
}

func TestInvalidTenantArguments(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	for _, bad := range []string{"", "common", "a/b", "x?y"} {
		_, err := c.UsersPage(t.Context(), bad, "")
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, bad)
		_, err = newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: bad, Kinds: tenantsync.AllKinds()})
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, bad)
	}
	_, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: firstTenant(srv).ID, Kinds: []tenantsync.Kind{"bogus"}})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: firstTenant(srv).ID})
	require.NoError(t, err)
	assert.Empty(t, res.Kinds)
}

func TestSourceListTenants(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	listed := []tenantsync.Tenant{{ID: testTenant, DisplayName: "Contoso"}}
	src := newSource(t, newClient(t, srv), graph.SourceConfig{Tenants: listed})
	assert.Equal(t, "graph", src.Name())
	ts, err := src.ListTenants(t.Context())
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, "graph", ts[0].Source)
	assert.Empty(t, listed[0].Source, "the configured list is not modified")

	boom := errors.New("partner center down")
	_, err = newSource(t, newClient(t, srv), graph.SourceConfig{TenantLister: failingLister{boom}}).ListTenants(t.Context())
	require.ErrorIs(t, err, boom)

	_, err = newSource(t, newClient(t, srv)).ListTenants(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnsupported)
}

func TestMailboxesOff(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	src := newSource(t, newClient(t, srv), graph.SourceConfig{Mailboxes: graph.MailboxesOff})
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: firstTenant(srv).ID, Kinds: []tenantsync.Kind{tenantsync.KindMailboxes}})
	require.NoError(t, err)
	assert.ErrorIs(t, res.Result(tenantsync.KindMailboxes).Err, tenantsync.ErrUnsupported)
}

type failingLister struct{ err error }

func (failingLister) Name() string { return "partnercenter" }
func (l failingLister) ListTenants(context.Context) ([]tenantsync.Tenant, error) {
	return nil, l.err
}

func TestMailboxesWithUsersCursor(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	d, err := c.UsersDelta(t.Context(), tn.ID, "")
	require.NoError(t, err)
	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID,
		Kinds:   []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes},
		Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: d.Cursor}})
	require.NoError(t, err)
	assert.Equal(t, tenantsync.Changes, res.Result(tenantsync.KindUsers).Mode)
	mb := res.Result(tenantsync.KindMailboxes)
	require.Equal(t, tenantsync.Complete, mb.Mode, "%v", mb.Err)
	assert.Len(t, mb.Mailboxes, len(tn.Mailboxes()))
	assert.Contains(t, mb.Cursor, "/users/delta?", "a full mailboxes listing returns its own cursor")
}

func TestProbe(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	p1 := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return tn.PremiumP1 && tn.Consented })
	basic := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return !tn.PremiumP1 && tn.Consented })
	for _, capability := range []string{graph.CapReadUsers, graph.CapReadMFA, graph.CapReadDevices, graph.CapReadMailboxes, graph.CapWriteUsers, graph.CapWriteGroups} {
		assert.NoError(t, c.Probe(t.Context(), p1.ID, capability), capability)
	}
	require.ErrorIs(t, c.Probe(t.Context(), basic.ID, graph.CapReadMFA), tenantsync.ErrLicenseRequired)
	srv.GraphDeny(p1.ID, "/users", true)
	err := c.Probe(t.Context(), p1.ID, graph.CapReadMailboxes)
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing)
	srv.GraphDeny(p1.ID, "/users", false)
	for _, u := range p1.Users {
		if u.Mail != "" {
			srv.GraphDeny(p1.ID, "/users/"+u.ID+"/mailboxSettings", true)
			break
		}
	}
	require.ErrorIs(t, c.Probe(t.Context(), p1.ID, graph.CapReadMailboxes), tenantsync.ErrRoleMissing)
	require.ErrorIs(t, c.Probe(t.Context(), p1.ID, "read_everything"), tenantsync.ErrInvalidInput)
	require.ErrorIs(t, c.Probe(t.Context(), "", graph.CapReadUsers), tenantsync.ErrInvalidInput)
}

func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"1","accountEnabled":true,"createdDateTime":"2021-08-02T10:36:57Z","@removed":{"reason":"deleted"}}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`{"error":{"code":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := graph.DecodeUsersPage(data)
		if err != nil {
			return
		}
		if p.Items == nil && !bytes.Contains(data, []byte("value")) {
			t.Fatalf("decoded a page without a value array")
		}
	})
}

func TestClientAccessors(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	assert.Equal(t, srv.GraphURL(), c.BaseURL())
	assert.NotNil(t, c.Transport())
	tok, err := c.TokenSource().Token(t.Context(), firstTenant(srv).ID)
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
}
