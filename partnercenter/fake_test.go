package partnercenter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// graphAudienceTokens redeems the partner admin's refresh token for Graph, the wrong audience
// for Partner Center.
func graphAudienceTokens(t *testing.T, srv *testserver.Server) transport.TokenSource {
	app := srv.PartnerApp()
	ts, err := entra.NewRefreshTokenSource(entra.Config{AuthorityHost: srv.EntraURL(), TenantID: app.TenantID,
		ClientID: app.ClientID, Secret: tenantsync.NewSecret(app.Secret), Scope: "https://graph.microsoft.com/.default",
		HTTPClient: srv.HTTPClient()}, tenantsync.NewSecret(srv.PartnerRefreshToken()), nil)
	require.NoError(t, err)
	return ts
}

func fakeClient(t *testing.T, srv *testserver.Server, mut ...func(*Config)) *Client {
	t.Helper()
	app := srv.PartnerApp()
	cfg := Config{
		PartnerTenantID:  srv.World.PartnerTenantID,
		ClientID:         app.ClientID,
		ClientSecret:     tenantsync.NewSecret(app.Secret),
		RefreshToken:     tenantsync.NewSecret(srv.PartnerRefreshToken()),
		AuthorityHost:    srv.EntraURL(),
		PartnerCenterURL: srv.PartnerCenterURL(),
		GraphURL:         srv.GraphURL(),
		Settings: transport.Settings{
			HTTPClient: srv.HTTPClient(),
			MinBackoff: time.Millisecond,
		},
	}
	for _, m := range mut {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	require.NoError(t, err)
	return c
}

func TestFakePartnerCenterCustomersAcrossPages(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 25, MinUsers: 1, MaxUsers: 2})
	c := fakeClient(t, srv, func(c *Config) { c.CustomerPageSize = 4 })
	var want []string
	for _, tn := range srv.World.Tenants {
		if tn.InPartnerCenter {
			want = append(want, tn.ID)
		}
	}
	require.Less(t, len(want), 25, "the generator leaves some tenants out of Partner Center")
	srv.ResetCounts()
	got, err := c.Customers(t.Context())
	require.NoError(t, err)
	var ids []string
	for _, cu := range got {
		ids = append(ids, cu.TenantID())
		assert.NotEmpty(t, cu.CompanyProfile.CompanyName)
		assert.True(t, strings.HasSuffix(cu.CompanyProfile.Domain, ".onmicrosoft.com"))
	}
	assert.Equal(t, want, ids)
	assert.Equal(t, (len(want)+3)/4, srv.Requests(testserver.ServicePartnerCenter, "*"), "one request per page of 4")

	cu, err := c.GetCustomer(t.Context(), want[1])
	require.NoError(t, err)
	assert.Equal(t, want[1], cu.ID)
	_, err = c.GetCustomer(t.Context(), "0f0f0f0f-0000-4000-8000-000000000000")
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "60003", d.Code)
	assert.NotEmpty(t, d.RequestID, "MS-RequestId is echoed and kept")
}

func TestFakePartnerCenterThrottling(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 5, MinUsers: 1, MaxUsers: 2})
	c := fakeClient(t, srv, func(c *Config) { c.MaxRetries = 2; c.MaxRetryAfter = 10 * time.Second })

	srv.ThrottlePartnerCenter(1, 0)
	got, err := c.Customers(t.Context())
	require.NoError(t, err, "one 429 is retried")
	assert.Len(t, got, 5)

	srv.ThrottlePartnerCenter(5, 0)
	_, err = c.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	d, _ := tenantsync.Details(err)
	assert.Contains(t, d.Message, "Rate limit is exceeded")
	srv.ClearFaults()

	remove := srv.ThrottlePartnerCenter(5, 90*time.Second)
	defer remove()
	_, err = c.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrThrottled)
	d, _ = tenantsync.Details(err)
	assert.Equal(t, 90*time.Second, d.RetryAfter, "a Retry-After beyond MaxRetryAfter fails at once with the wait")
}

func TestFakePartnerCenterRefusesAGraphToken(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 5, MinUsers: 1, MaxUsers: 2})
	c := fakeClient(t, srv, func(c *Config) { c.PartnerCenterTokens = graphAudienceTokens(t, srv) })
	_, err := c.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	assert.Contains(t, tenantsync.HintOf(err), "api.partnercenter.microsoft.com")
}

func TestFakeApplicationConsent(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 5, Tenants: 16, MinUsers: 1, MaxUsers: 2})
	c := fakeClient(t, srv)
	var target string
	for _, tn := range srv.World.Tenants {
		if !tn.Consented && tn.InPartnerCenter && len(tn.Relationships) > 0 && tn.Relationships[0].Status == "active" &&
			slices.Contains(tn.Relationships[0].Roles, RoleCloudApplicationAdministrator) &&
			time.Since(tn.Relationships[0].ActivatedAt) > 2*time.Hour {
			target = tn.ID
			break
		}
	}
	require.NotEmpty(t, target, "the world has an unconsented customer the partner administers")
	consent := ApplicationConsent{ApplicationID: srv.PartnerApp().ClientID, DisplayName: "tenantsync",
		ApplicationGrants: []ApplicationGrant{{EnterpriseApplicationID: GraphResourceAppID, Scope: "Directory.Read.All,User.ReadWrite.All"}}}

	res, err := c.GrantApplicationConsent(t.Context(), target, consent)
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.True(t, srv.World.Tenant(target).Consented, "the fake Entra now issues tokens in the tenant")
	recs := srv.Consents()
	require.Len(t, recs, 1)
	assert.Equal(t, "Directory.Read.All,User.ReadWrite.All", recs[0].Grants[0].Scope)
	assert.Equal(t, srv.PartnerUserID(), recs[0].UserID)

	res, err = c.GrantApplicationConsent(t.Context(), target, consent)
	require.NoError(t, err, "409 already exists is success")
	assert.False(t, res.Created)

	consent.ApplicationID = "0f0f0f0f-0000-4000-8000-000000000000"
	_, err = c.GrantApplicationConsent(t.Context(), target, consent)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "an unknown application is refused")
}

func TestFakeGDAPRelationshipsMergedAndFiltered(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 9, Tenants: 12, MinUsers: 1, MaxUsers: 2})
	c := fakeClient(t, srv, func(c *Config) { c.RelationshipPageSize = 2 })
	total := 0
	for _, tn := range srv.World.Tenants {
		total += len(tn.Relationships)
	}
	srv.ResetCounts()
	rels, err := c.Relationships(t.Context())
	require.NoError(t, err)
	assert.Len(t, rels, total)
	assert.GreaterOrEqual(t, srv.Requests(testserver.ServiceGraph, "*"), total/2, "pages of two")

	accesses, err := c.GDAPCustomers(t.Context())
	require.NoError(t, err)
	byID := map[string]CustomerAccess{}
	for _, a := range accesses {
		byID[a.TenantID] = a
	}
	w := srv.World.Tenants
	withMLT := byID[strings.ToLower(w[0].ID)]
	require.Len(t, withMLT.MicrosoftLed, 1, "tenant 0 has an MLT_ relationship beside its own")
	assert.Len(t, withMLT.Relationships, 1)
	for _, g := range withMLT.Roles {
		assert.NotEqual(t, RoleGlobalReader, g.RoleID, "MLT_ roles are not merged")
	}
	merged := byID[strings.ToLower(w[1].ID)]
	assert.Equal(t, 2, merged.ActiveRelationships)
	assert.Len(t, merged.Roles, 5, "the union of two relationships' roles")
	_, hasExchange := merged.Role(RoleExchangeAdministrator)
	assert.False(t, hasExchange)
	assert.False(t, byID[strings.ToLower(w[4].ID)].Active, "tenant 4's relationship expired")
	assert.False(t, byID[strings.ToLower(w[6].ID)].Active, "tenant 6's invitation is pending")

	tenants, err := c.Discovery().ListTenants(t.Context())
	require.NoError(t, err)
	want := map[string]bool{}
	for _, tn := range w {
		if tn.InPartnerCenter || byID[strings.ToLower(tn.ID)].Active {
			want[strings.ToLower(tn.ID)] = true
		}
	}
	assert.Len(t, tenants, len(want))
	for _, tn := range tenants {
		assert.True(t, want[tn.ID], tn.ID)
		assert.NotEmpty(t, tn.DisplayName)
		assert.NotEmpty(t, tn.Relationship)
	}
}

func TestFakeReadinessStates(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 9, Tenants: 8, MinUsers: 1, MaxUsers: 2})
	c := fakeClient(t, srv)
	w := srv.World.Tenants
	// The prober stands in for Graph: it refuses calls while a role propagates, as Graph does.
	p := &scriptedProber{byTen: map[string]error{strings.ToLower(w[2].ID): forbidden()}}
	rows, err := c.Readiness(t.Context(), &Checker{Prober: p}, 3)
	require.NoError(t, err)
	byID := map[string]TenantReadiness{}
	for _, r := range rows {
		byID[r.TenantID] = r
	}
	want := map[int]State{0: StateReady, 1: StateRoleMissing, 2: StatePropagating, 3: StateExpiring, 4: StateNoRelationship,
		5: StateReady, 6: StateNoRelationship}
	for i, s := range want {
		assert.Equal(t, s, byID[strings.ToLower(w[i].ID)].State(), "tenant %d", i)
	}
	missing := byID[strings.ToLower(w[1].ID)]
	for c, role := range map[Capability]string{CapabilityReadDevices: "Intune Administrator", CapabilityReadMailboxes: "Exchange Administrator"} {
		st, ok := missing.Status(c)
		require.True(t, ok)
		assert.Equal(t, StateRoleMissing, st.State)
		assert.Contains(t, st.Action, role)
	}
}

func TestFakeSAMRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 5, MinUsers: 1, MaxUsers: 2})
	first := srv.PartnerRefreshToken()
	var mu sync.Mutex
	var rotated []tenantsync.Secret
	c := fakeClient(t, srv, func(c *Config) {
		c.OnRefreshTokenRotated = func(_ context.Context, s tenantsync.Secret) error {
			mu.Lock()
			defer mu.Unlock()
			rotated = append(rotated, s)
			return nil
		}
	})
	_, err := c.Discovery().ListTenants(t.Context())
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, rotated, 2, "one redemption per resource, each rotating the refresh token")
	for _, r := range rotated {
		assert.NotEqual(t, first, r.Reveal())
		assert.Equal(t, "[REDACTED]", fmt.Sprint(r), "rotated tokens never print")
	}

	srv.RevokeRefreshTokens()
	revoked := fakeClient(t, srv, func(c *Config) { c.RefreshToken = tenantsync.NewSecret(first) })
	_, err = revoked.Customers(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrAuthorizationRevoked)
	assert.NotContains(t, err.Error(), first, "the refresh token is not in the error")
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	cfg := Config{ClientSecret: tenantsync.NewSecret("s3cret-value"), RefreshToken: tenantsync.NewSecret("0.AAAA-refresh")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(f, cfg)
		assert.NotContains(t, out, "s3cret-value", f)
		assert.NotContains(t, out, "0.AAAA-refresh", f)
	}
	b, err := json.Marshal(cfg.ClientSecret)
	require.NoError(t, err)
	assert.Equal(t, `"[REDACTED]"`, string(b))
	assert.Equal(t, "[REDACTED]", tenantsync.NewSecret("x").LogValue().String())
}

func TestSAMConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := NewClient(Config{RefreshToken: tenantsync.NewSecret("rt"), ClientID: "app"})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "PartnerTenantID")
	_, err = NewClient(Config{RefreshToken: tenantsync.NewSecret("rt"), PartnerTenantID: testPartnerTenant, ClientID: "app"})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "neither a secret nor a certificate")
	_, err = NewClient(Config{
		RefreshToken:    tenantsync.NewSecret("rt"),
		PartnerTenantID: testPartnerTenant,
		ClientID:        "app",
		ClientSecret:    tenantsync.NewSecret("s"),
		AuthorityHost:   "http://login.example",
	})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "the authority must be https")
}
