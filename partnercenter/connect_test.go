package partnercenter_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/transport"
)

// connectPartner runs the partner admin's sign-in against the fake with the given outcome and
// returns a Partner Center client on the resulting refresh token, with every rotated token
// handed to *stored.
func connectPartner(t *testing.T, srv *testserver.Server, outcome testserver.SignInOutcome, stored *[]tenantsync.Secret) *partnercenter.Client {
	t.Helper()
	srv.SetSignInOutcome(outcome)
	app := srv.PartnerApp()
	pc, err := entra.NewPartnerConnect(entra.PartnerConnectConfig{AuthorityHost: srv.EntraURL(), PartnerTenantID: app.TenantID,
		ClientID: app.ClientID, Secret: tenantsync.NewSecret(app.Secret), RedirectURI: "https://psa.example/cb", HTTPClient: srv.HTTPClient()})
	require.NoError(t, err)
	link, err := pc.AuthURL(t.Context(), "msp-1", "alice")
	require.NoError(t, err)
	hc := srv.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	auth, err := pc.Callback(t.Context(), loc.Query())
	require.NoError(t, err)
	c, err := partnercenter.NewClient(partnercenter.Config{PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		ClientSecret: tenantsync.NewSecret(app.Secret), RefreshToken: auth.RefreshToken, AuthorityHost: srv.EntraURL(),
		OnRefreshTokenRotated: func(_ context.Context, s tenantsync.Secret) error { *stored = append(*stored, s); return nil },
		PartnerCenterURL:      srv.PartnerCenterURL(), GraphURL: srv.GraphURL(),
		Settings: transport.Settings{HTTPClient: srv.HTTPClient(), MaxRetries: transport.NoRetries}})
	require.NoError(t, err)
	return c
}

func TestVerifyConnectionListsCustomersAndRotatesTheToken(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 6, MinUsers: 2, MaxUsers: 3})
	var stored []tenantsync.Secret
	c := connectPartner(t, srv, testserver.SignInApprove, &stored)
	customers, err := c.VerifyConnection(t.Context())
	require.NoError(t, err)
	assert.NotEmpty(t, customers)
	require.Len(t, stored, 1, "the first use rotated the refresh token and stored the new one")
}

func TestVerifyConnectionExplainsPartnerCenterRefusals(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		outcome testserver.SignInOutcome
		kind    error
		hint    string
	}{
		"lacks Admin Agent": {testserver.SignInNotAdminAgent, tenantsync.ErrForbidden, "Admin Agent"},
		"MFA not satisfied": {testserver.SignInWithoutMFA, tenantsync.ErrAuthorizationRevoked, "multifactor authentication"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 2, MinUsers: 2, MaxUsers: 3})
			var stored []tenantsync.Secret
			_, err := connectPartner(t, srv, tc.outcome, &stored).VerifyConnection(t.Context())
			require.ErrorIs(t, err, tc.kind)
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.Contains(t, d.Hint, tc.hint)
			assert.Equal(t, "VerifyConnection", d.Op)
		})
	}
}

func TestGrantApplicationConsentsGivesOneOutcomePerCustomer(t *testing.T) {
	t.Parallel()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 8, MinUsers: 2, MaxUsers: 3})
	var stored []tenantsync.Secret
	c := connectPartner(t, srv, testserver.SignInApprove, &stored)
	customers, err := c.VerifyConnection(t.Context())
	require.NoError(t, err)
	ids := make([]string, 0, len(customers))
	for _, cu := range customers {
		ids = append(ids, cu.TenantID())
	}
	consent := partnercenter.ApplicationConsent{ApplicationID: srv.PartnerApp().ClientID, DisplayName: "Partner Sync App",
		ApplicationGrants: []partnercenter.ApplicationGrant{{EnterpriseApplicationID: partnercenter.GraphResourceAppID, Scope: "User.Read.All"}}}
	out, err := c.GrantApplicationConsents(t.Context(), ids, consent, 3)
	require.NoError(t, err)
	require.Len(t, out, len(ids))
	created, existed, failed := partnercenter.ConsentSummary(out)
	t.Logf("consent: %d granted, %d already, %d refused", created, existed, failed)
	assert.Equal(t, len(ids), created+existed+failed)
	assert.Positive(t, created+existed, "customers whose GDAP roles allow consent are consented")
	for i, o := range out {
		assert.Equal(t, ids[i], o.TenantID, "outcomes keep the order given")
		tn := srv.World.Tenant(o.TenantID)
		require.NotNil(t, tn)
		if o.Err != nil {
			assert.ErrorIs(t, o.Err, tenantsync.ErrForbidden)
			d, _ := tenantsync.Details(o.Err)
			assert.Contains(t, d.Hint, "GDAP relationship")
			continue
		}
		assert.True(t, tn.Consented, "Partner Center recorded the consent for %s", o.TenantID)
	}

	_, err = c.GrantApplicationConsents(t.Context(), []string{"not-a-guid"}, consent, 0)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "bad input fails the whole call before any request")
}

func TestCloudWithoutGDAPSaysSo(t *testing.T) {
	t.Parallel()
	high, err := entra.CloudByName("usgov-high")
	require.NoError(t, err)
	srv := testserver.NewT(t, testserver.Options{Seed: 3, Tenants: 2, MinUsers: 2, MaxUsers: 3})
	app := srv.PartnerApp()
	c, err := partnercenter.NewClient(partnercenter.Config{Cloud: high, PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		ClientSecret: tenantsync.NewSecret(app.Secret), RefreshToken: tenantsync.NewSecret(srv.PartnerRefreshToken()),
		Settings: transport.Settings{HTTPClient: srv.CloudHTTPClient(), MaxRetries: transport.NoRetries}})
	require.NoError(t, err)
	_, err = c.Relationships(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnsupported)
	d, _ := tenantsync.Details(err)
	assert.Contains(t, d.Message, "US Government GCC High")
	assert.Contains(t, d.Hint, "only in the global cloud")
	_, err = c.Readiness(t.Context(), &partnercenter.Checker{}, 1)
	assert.ErrorIs(t, err, tenantsync.ErrUnsupported, "readiness names what the cloud does not offer")

	customers, err := c.Discovery().ListTenants(t.Context())
	require.NoError(t, err, "discovery falls back to Partner Center alone")
	assert.NotEmpty(t, customers)

	_, err = partnercenter.NewClient(partnercenter.Config{Cloud: high, PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		ClientSecret: tenantsync.NewSecret(app.Secret), RefreshToken: tenantsync.NewSecret("x"), PartnerCenterURL: srv.PartnerCenterURL()})
	assert.ErrorIs(t, err, tenantsync.ErrHostNotAllowed, "tokens of a GCC High connection go only to its cloud's hosts")
}
