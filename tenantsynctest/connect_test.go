package tenantsynctest_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// signIn runs a partner sign-in through entra.PartnerConnect against the fake Entra ID, as a
// browser would: the sign-in URL, the fake's redirect back, the callback.
func signIn(t *testing.T, fakes *tenantsynctest.Server) (*entra.PartnerAuthorization, error) {
	t.Helper()
	app := fakes.PartnerApp()
	pc, err := entra.NewPartnerConnect(entra.PartnerConnectConfig{AuthorityHost: fakes.EntraURL(), PartnerTenantID: app.TenantID,
		ClientID: app.ClientID, Secret: app.Secret, RedirectURI: "http://localhost:8765/connect/callback", HTTPClient: fakes.HTTPClient()})
	require.NoError(t, err)
	link, err := pc.AuthURL(t.Context(), "msp-1", "alice")
	require.NoError(t, err)
	hc := fakes.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return pc.Callback(t.Context(), back.Query())
}

// Each sign-in outcome reaches the partner connect flow as the failure it stands for; the
// default signs the partner admin in with a refresh token.
func TestSignInOutcomes(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 3, Tenants: 2})
	auth, err := signIn(t, fakes)
	require.NoError(t, err)
	assert.False(t, auth.RefreshToken.IsZero(), "approved: a refresh token")

	for _, tc := range []struct {
		outcome tenantsynctest.SignInOutcome
		class   error
	}{
		{tenantsynctest.SignInDeclined, tenantsync.ErrConsentRequired},
		{tenantsynctest.SignInMFARequired, nil},
		{tenantsynctest.SignInNoRefreshToken, nil},
		{tenantsynctest.SignInGuest, tenantsync.ErrForbidden},
	} {
		require.NoError(t, fakes.SetSignInOutcome(tc.outcome))
		_, err := signIn(t, fakes)
		require.Error(t, err, "outcome %d", tc.outcome)
		if tc.class != nil {
			assert.True(t, errors.Is(err, tc.class), "outcome %d: %v", tc.outcome, err)
		}
		assert.NotEmpty(t, tenantsync.HintOf(err), "outcome %d says what to do", tc.outcome)
	}
	// Not an Admin Agent, no MFA: the sign-in itself works; Partner Center refuses later.
	for _, o := range []tenantsynctest.SignInOutcome{tenantsynctest.SignInNotAdminAgent, tenantsynctest.SignInWithoutMFA} {
		require.NoError(t, fakes.SetSignInOutcome(o))
		_, err := signIn(t, fakes)
		assert.NoError(t, err, "outcome %d", o)
	}

	err = fakes.SetSignInOutcome(tenantsynctest.SignInOutcome(99))
	require.Error(t, err)
	assert.True(t, errors.Is(err, tenantsync.ErrInvalidInput))
}

// Domains reports every domain of a tenant, as Graph's /domains does: one default, one
// initial, and the names TenantInfo lists.
func TestDomains(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 1, Tenants: 6})
	unverified := 0
	for _, ti := range fakes.Tenants() {
		ds := fakes.Domains(ti.ID)
		require.NotEmpty(t, ds)
		var defaults, initials int
		var names []string
		for _, d := range ds {
			assert.Equal(t, ti.ID, d.TenantID)
			names = append(names, d.Name)
			if d.IsDefault {
				defaults++
				assert.Equal(t, ti.DefaultDomain, d.Name)
				assert.True(t, d.IsVerified, "a default domain is verified")
			}
			if d.IsInitial {
				initials++
				assert.Equal(t, ti.InitialDomain, d.Name)
			}
			if !d.IsVerified {
				unverified++
			}
		}
		assert.Equal(t, 1, defaults, ti.ID)
		assert.Equal(t, 1, initials, ti.ID)
		assert.ElementsMatch(t, ti.Domains, names)
	}
	t.Logf("%d unverified domains", unverified)
	assert.Nil(t, fakes.Domains("no-such-tenant"))
}

// MailboxTypes agrees with MailboxType for every user.
func TestMailboxTypes(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 1, Tenants: 1, Sizes: []int{80}})
	id := fakes.Tenants()[0].ID
	all := fakes.MailboxTypes(id)
	require.NotEmpty(t, all)
	kinds := map[string]bool{}
	for _, u := range fakes.Users(id) {
		assert.Equal(t, fakes.MailboxType(id, u.ObjectID), all[u.ObjectID], u.UserPrincipalName)
		kinds[all[u.ObjectID]] = true
	}
	assert.True(t, kinds["UserMailbox"] && len(kinds) > 1, "people and other mailboxes: %v", kinds)
	assert.Nil(t, fakes.MailboxTypes("no-such-tenant"))
}
