package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

const connectRedirect = "https://psa.example/connect/callback"

func newPartnerConnect(t *testing.T, srv *testserver.Server, mutate ...func(*entra.PartnerConnectConfig)) *entra.PartnerConnect {
	t.Helper()
	app := srv.PartnerApp()
	cfg := entra.PartnerConnectConfig{AuthorityHost: srv.EntraURL(), PartnerTenantID: app.TenantID, ClientID: app.ClientID,
		Secret: tenantsync.NewSecret(app.Secret), RedirectURI: connectRedirect, HTTPClient: srv.HTTPClient()}
	for _, m := range mutate {
		m(&cfg)
	}
	pc, err := entra.NewPartnerConnect(cfg)
	require.NoError(t, err)
	return pc
}

// signIn plays the browser: it opens the sign-in link, which the fake answers at once with a
// redirect to the callback, and returns the callback's query.
func signIn(t *testing.T, hc *http.Client, link string) url.Values {
	t.Helper()
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(link)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc.String(), connectRedirect), "redirected to %s", loc)
	return loc.Query()
}

func TestPartnerConnectSignsInAndKeepsARotatingRefreshToken(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	pc := newPartnerConnect(t, srv)
	ctx := t.Context()

	link, err := pc.AuthURL(ctx, "msp-1", "alice")
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	q := u.Query()
	assert.Contains(t, q.Get("scope"), "offline_access")
	assert.Contains(t, q.Get("scope"), "https://api.partnercenter.microsoft.com/user_impersonation")
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.NotContains(t, link, "code_verifier", "the verifier stays on the server")

	cb := signIn(t, srv.HTTPClient(), link)
	auth, err := pc.Callback(ctx, cb)
	require.NoError(t, err)
	assert.Equal(t, "alice", auth.Actor)
	assert.Equal(t, "msp-1", auth.Account)
	assert.Equal(t, srv.PartnerApp().TenantID, auth.TenantID)
	assert.Equal(t, srv.PartnerUserID(), auth.UserID)
	require.False(t, auth.RefreshToken.IsZero())
	assert.NotContains(t, fmt.Sprintf("%+v %#v", auth, auth), auth.RefreshToken.Reveal(), "the refresh token never prints")

	// The same state again is refused, as the consent helper refuses it.
	_, err = pc.Callback(ctx, cb)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, err.Error(), "Your session has expired")

	// The token is a working SAM refresh token, rotated on every use.
	app := srv.PartnerApp()
	var stored []tenantsync.Secret
	rs, err := entra.NewRefreshTokenSource(entra.Config{AuthorityHost: srv.EntraURL(), TenantID: app.TenantID, ClientID: app.ClientID,
		Secret: tenantsync.NewSecret(app.Secret), Scope: "https://api.partnercenter.microsoft.com/user_impersonation", HTTPClient: srv.HTTPClient()},
		auth.RefreshToken, func(_ context.Context, s tenantsync.Secret) error { stored = append(stored, s); return nil })
	require.NoError(t, err)
	_, err = rs.Token(ctx, "")
	require.NoError(t, err)
	require.Len(t, stored, 1)
	assert.False(t, stored[0].Equal(auth.RefreshToken), "the redeemed token was replaced")
}

func TestPartnerConnectExplainsEachFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		outcome testserver.SignInOutcome
		kind    error
		code    string
		hint    string
	}{
		{"consent declined", testserver.SignInDeclined, tenantsync.ErrConsentRequired, "AADSTS65004", "declined"},
		{"MFA not satisfied", testserver.SignInMFARequired, tenantsync.ErrAuthorizationRevoked, "AADSTS50076", "multifactor authentication"},
		{"no refresh token", testserver.SignInNoRefreshToken, tenantsync.ErrConsentRequired, "no_refresh_token", "offline_access"},
		{"not in the partner tenant", testserver.SignInGuest, tenantsync.ErrForbidden, "", "does not belong to the partner tenant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t)
			srv.SetSignInOutcome(tc.outcome)
			pc := newPartnerConnect(t, srv)
			link, err := pc.AuthURL(t.Context(), "msp-1", "alice")
			require.NoError(t, err)
			_, err = pc.Callback(t.Context(), signIn(t, srv.HTTPClient(), link))
			require.ErrorIs(t, err, tc.kind)
			d, ok := tenantsync.Details(err)
			require.True(t, ok)
			assert.Equal(t, tc.code, d.Code)
			assert.Contains(t, d.Hint, tc.hint)
		})
	}
}

func TestPartnerConnectRefusesStaleStatesAndForeignVerifiers(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	now := time.Now()
	pc := newPartnerConnect(t, srv, func(c *entra.PartnerConnectConfig) { c.Now = func() time.Time { return now } })
	link, err := pc.AuthURL(t.Context(), "msp-1", "alice")
	require.NoError(t, err)
	cb := signIn(t, srv.HTTPClient(), link)
	now = now.Add(entra.ConnectStateTTL + time.Second)
	_, err = pc.Callback(t.Context(), cb)
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput, "a state older than 15 minutes")

	// A code redeemed with another sign-in's verifier fails: PKCE binds it to its link.
	now = time.Now()
	link, err = pc.AuthURL(t.Context(), "msp-1", "alice")
	require.NoError(t, err)
	cb = signIn(t, srv.HTTPClient(), link)
	_, err = pc.Redeem(t.Context(), cb.Get("code"), tenantsync.NewSecret(strings.Repeat("x", 43)))
	require.Error(t, err)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "AADSTS501481", d.Code)
}

func TestNewPartnerConnectValidates(t *testing.T) {
	t.Parallel()
	ok := entra.PartnerConnectConfig{PartnerTenantID: "11111111-1111-1111-1111-111111111111", ClientID: "22222222-2222-2222-2222-222222222222",
		Secret: tenantsync.NewSecret("s"), RedirectURI: "https://psa.example/cb"}
	for name, m := range map[string]func(*entra.PartnerConnectConfig){
		"plain http redirect":  func(c *entra.PartnerConnectConfig) { c.RedirectURI = "http://psa.example/cb" },
		"tenant not a GUID":    func(c *entra.PartnerConnectConfig) { c.PartnerTenantID = "contoso.onmicrosoft.com" },
		"no credential":        func(c *entra.PartnerConnectConfig) { c.Secret = tenantsync.Secret{} },
		"http authority":       func(c *entra.PartnerConnectConfig) { c.AuthorityHost = "http://login.example" },
		"redirect fragment":    func(c *entra.PartnerConnectConfig) { c.RedirectURI = "https://psa.example/cb#x" },
		"client ID not a GUID": func(c *entra.PartnerConnectConfig) { c.ClientID = "app" },
	} {
		cfg := ok
		m(&cfg)
		_, err := entra.NewPartnerConnect(cfg)
		assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, name)
	}
	_, err := entra.NewPartnerConnect(ok)
	require.NoError(t, err)
	loop := ok
	loop.RedirectURI = "http://127.0.0.1:8080/cb"
	_, err = entra.NewPartnerConnect(loop)
	require.NoError(t, err, "loopback http is allowed while developing")
}

// The callback's query comes from whoever opens the redirect URI. Whatever it holds, Callback
// answers with a typed error (never a panic, never an authorization without a token), and an
// unknown state never reaches the token endpoint.
func FuzzPartnerConnectCallback(f *testing.F) {
	f.Add("state=abc&code=xyz")
	f.Add("state=&error=access_denied&error_description=AADSTS65004%3A+declined")
	f.Add("error=interaction_required&error_description=AADSTS50076")
	f.Add("state=" + strings.Repeat("s", 300))
	f.Add("code=%zz&state=%00")
	calls := 0
	hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls++
		return nil, fmt.Errorf("no network in this test")
	})}
	pc, err := entra.NewPartnerConnect(entra.PartnerConnectConfig{PartnerTenantID: "11111111-1111-1111-1111-111111111111",
		ClientID: "22222222-2222-2222-2222-222222222222", Secret: tenantsync.NewSecret("s"), RedirectURI: "https://psa.example/cb", HTTPClient: hc})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		auth, err := pc.Callback(context.Background(), q)
		require.Error(t, err, "no state was ever issued")
		_, ok := tenantsync.Details(err)
		assert.True(t, ok, "a typed error")
		assert.True(t, auth == nil || auth.RefreshToken.IsZero())
		assert.Zero(t, calls, "an unknown state is refused before any request")
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
