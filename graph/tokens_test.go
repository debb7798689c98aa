package graph_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

func fetchUsers(t *testing.T, c *graph.Client, tenant string) error {
	t.Helper()
	_, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tenant, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
	return err
}

func TestTokenErrorsFromEntra(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tn := firstTenant(srv)

	t.Run("consent missing", func(t *testing.T) {
		t.Parallel()
		unconsented := tenantWhere(t, srv, func(x *testserver.Tenant) bool { return !x.Consented })
		err := fetchUsers(t, newClient(t, srv), unconsented.ID)
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		assert.Contains(t, tenantsync.HintOf(err), "consent")
		d, _ := tenantsync.Details(err)
		assert.Equal(t, unconsented.ID, d.Tenant)
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		err := fetchUsers(t, newClient(t, srv, func(c *graph.Config) {
			c.ClientSecret = tenantsync.NewSecret("not~the~secret~value~at~all~000000000000")
		}), tn.ID)
		require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
		assert.Contains(t, tenantsync.HintOf(err), "Value")
		assert.NotContains(t, err.Error(), "not~the~secret")
	})
	t.Run("unknown tenant", func(t *testing.T) {
		t.Parallel()
		err := fetchUsers(t, newClient(t, srv), "6a1d0c59-54c4-4b5f-9a43-2f3c3d8f0bad")
		require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
		assert.Contains(t, tenantsync.HintOf(err), "does not exist")
	})
	t.Run("expired secret", func(t *testing.T) {
		t.Parallel()
		s2 := newFake(t)
		a2 := s2.PartnerApp()
		s2.ExpireSecret(a2.ClientID)
		err := fetchUsers(t, newClient(t, s2), firstTenant(s2).ID)
		require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
		assert.Contains(t, tenantsync.HintOf(err), "expired")
		assert.NotContains(t, fmt.Sprintf("%+v", err), a2.Secret)
	})
	// The partner admin's SAM refresh token redeemed for a customer tenant, failing.
	for name, tc := range map[string]struct {
		spoil      func(*testserver.Server)
		unconsent  bool
		want       error
		code, hint string
	}{
		"revoked refresh token":                 {spoil: (*testserver.Server).RevokeRefreshTokens, want: tenantsync.ErrAuthorizationRevoked, hint: "sign in again"},
		"expired refresh token":                 {spoil: (*testserver.Server).ExpireRefreshTokens, want: tenantsync.ErrAuthorizationRevoked, hint: "sign in again"},
		"partner user in an unconsented tenant": {unconsent: true, want: tenantsync.ErrConsentRequired, code: "AADSTS65001", hint: "admin-consent"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s2 := newFake(t)
			rt := s2.PartnerRefreshToken()
			if tc.spoil != nil {
				tc.spoil(s2)
			}
			tenant := firstTenant(s2)
			if tc.unconsent {
				tenant = tenantWhere(t, s2, func(x *testserver.Tenant) bool { return !x.Consented })
			}
			c := newClient(t, s2, func(c *graph.Config) { c.Auth, c.RefreshToken = graph.PartnerUser, tenantsync.NewSecret(rt) })
			err := fetchUsers(t, c, tenant.ID)
			require.ErrorIs(t, err, tc.want)
			d, _ := tenantsync.Details(err)
			require.NotNil(t, d)
			assert.Contains(t, d.Hint, tc.hint)
			if tc.code != "" {
				assert.Equal(t, tc.code, d.Code)
			}
			assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), rt)
		})
	}
	t.Run("partner user tokens rotate", func(t *testing.T) {
		t.Parallel()
		s2 := newFake(t)
		rt := s2.PartnerRefreshToken()
		var rotated []tenantsync.Secret
		c := newClient(t, s2, func(c *graph.Config) {
			c.Auth, c.RefreshToken = graph.PartnerUser, tenantsync.NewSecret(rt)
			c.OnRefreshTokenRotated = func(_ context.Context, s tenantsync.Secret) error {
				rotated = append(rotated, s)
				return nil
			}
		})
		require.NoError(t, fetchUsers(t, c, firstTenant(s2).ID))
		require.NotEmpty(t, rotated)
		assert.NotEqual(t, rt, rotated[len(rotated)-1].Reveal())
	})
	t.Run("app not consented at Graph", func(t *testing.T) {
		t.Parallel()
		s2 := newFake(t)
		c := newClient(t, s2)
		tn2 := firstTenant(s2)
		require.NoError(t, fetchUsers(t, c, tn2.ID))
		tok, err := c.TokenSource().Token(t.Context(), tn2.ID)
		require.NoError(t, err)
		// Consent withdrawn after the token was issued: Graph itself refuses the app.
		s2.SetConsent(tn2.ID, false)
		held, err := graph.NewClient(withTokens(baseConfig(s2), staticTokens(tok.AccessToken)))
		require.NoError(t, err)
		err = fetchUsers(t, held, tn2.ID)
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		d, _ := tenantsync.Details(err)
		assert.Equal(t, "Authorization_IdentityNotFound", d.Code)
		assert.Equal(t, 401, d.Status)
		assert.NotEmpty(t, d.RequestID)

		// The client with a real token source drops the refused token, asks Entra ID again and
		// hears that the app is not consented.
		err = fetchUsers(t, c, tn2.ID)
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		assert.Contains(t, tenantsync.HintOf(err), "consent")
	})
}

// fakeTokens fails with a given Entra error.
type fakeTokens struct{ err error }

func (f fakeTokens) Token(context.Context, string) (*oauth2.Token, error) { return nil, f.err }

func TestTokenErrorHints(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	tn := firstTenant(srv)
	for _, tc := range []struct {
		code string
		kind error
		hint string
	}{
		{"AADSTS65001", tenantsync.ErrConsentRequired, "admin-consent"},
		{"AADSTS700016", tenantsync.ErrConsentRequired, "not consented"},
		{"AADSTS90099", tenantsync.ErrConsentRequired, "Partner Center"},
		{"AADSTS7000215", tenantsync.ErrUnauthorized, "not its Secret ID"},
		{"AADSTS7000222", tenantsync.ErrUnauthorized, "every tenant is affected"},
		{"AADSTS90002", tenantsync.ErrTenantNotFound, "refresh the tenant list"},
		{"AADSTS700082", tenantsync.ErrAuthorizationRevoked, "sign in again"},
		{"AADSTS50173", tenantsync.ErrAuthorizationRevoked, "sign in again"},
		{"invalid_grant", tenantsync.ErrAuthorizationRevoked, "sign in again"},
		{"AADSTS50011", tenantsync.ErrInvalidInput, "Redirect URIs"},
		{"AADSTS700027", tenantsync.ErrUnauthorized, "certificate"},
		{"AADSTS53003", tenantsync.ErrForbidden, "Conditional Access"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			c, err := graph.NewClient(withTokens(baseConfig(srv), fakeTokens{&tenantsync.Error{Class: tc.kind, Service: "entra", Code: tc.code}}))
			require.NoError(t, err)
			err = fetchUsers(t, c, tn.ID)
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, tenantsync.HintOf(err), tc.hint)
			d, _ := tenantsync.Details(err)
			assert.Equal(t, tn.ID, d.Tenant)
		})
	}
	t.Run("plain error", func(t *testing.T) {
		c, err := graph.NewClient(withTokens(baseConfig(srv), fakeTokens{errors.New("dial tcp: connection refused")}))
		require.NoError(t, err)
		err = fetchUsers(t, c, tn.ID)
		require.ErrorIs(t, err, tenantsync.ErrUnavailable)
		assert.NotEmpty(t, tenantsync.HintOf(err))
	})
	t.Run("canceled", func(t *testing.T) {
		c, err := graph.NewClient(withTokens(baseConfig(srv), fakeTokens{context.Canceled}))
		require.NoError(t, err)
		require.ErrorIs(t, fetchUsers(t, c, tn.ID), context.Canceled)
	})
}

func TestPartnerUserNeedsGDAPRoles(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 7, Tenants: 40, MinUsers: 5, MaxUsers: 10})
	rt := srv.PartnerRefreshToken()
	c := newClient(t, srv, func(c *graph.Config) { c.Auth, c.RefreshToken = graph.PartnerUser, tenantsync.NewSecret(rt) })
	now := time.Now()
	const (
		directoryReaders = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
		intuneAdmin      = "3a2c62db-5318-420d-8d74-23affee5d9d5"
		globalReader     = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
		globalAdmin      = "62e90394-69f5-4237-9190-012177145e10"
	)
	tn := tenantWhere(t, srv, func(x *testserver.Tenant) bool {
		return x.Consented && x.RoleAccess(now, directoryReaders) == testserver.RoleEffective &&
			x.RoleAccess(now, intuneAdmin, globalReader, globalAdmin) == testserver.RoleAbsent
	})
	res, err := newSource(t, c).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID,
		Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices}})
	require.NoError(t, err)
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode, "%v", res.Result(tenantsync.KindUsers).Err)
	dev := res.Result(tenantsync.KindDevices)
	require.ErrorIs(t, dev.Err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(dev.Err), "Intune Administrator")
}
