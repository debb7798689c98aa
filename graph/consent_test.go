package graph_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
)

const (
	testApp    = "11111111-2222-3333-4444-555555555555"
	testTenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newConsent(t *testing.T, mutate ...func(*graph.ConsentConfig)) (*graph.Consent, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := graph.ConsentConfig{ClientID: testApp, RedirectURI: "https://psa.example.com/m365/callback", Now: clk.now}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := graph.NewConsent(cfg)
	require.NoError(t, err)
	return c, clk
}

func stateOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("state")
}

func TestConsentURL(t *testing.T) {
	t.Parallel()
	c, _ := newConsent(t)
	link, err := c.URL(t.Context(), testTenant, "acct-1")
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, "https", u.Scheme)
	assert.Equal(t, "login.microsoftonline.com", u.Host)
	assert.Equal(t, "/"+testTenant+"/v2.0/adminconsent", u.Path)
	q := u.Query()
	assert.Equal(t, testApp, q.Get("client_id"))
	assert.Equal(t, "https://psa.example.com/m365/callback", q.Get("redirect_uri"))
	assert.Equal(t, "https://graph.microsoft.com/.default", q.Get("scope"))
	assert.GreaterOrEqual(t, len(q.Get("state")), 40)
	other, err := c.URL(t.Context(), testTenant, "acct-1")
	require.NoError(t, err)
	assert.NotEqual(t, q.Get("state"), stateOf(t, other), "every link has its own state")

	_, err = c.URL(t.Context(), "common", "acct-1")
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestConsentCallback(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ok := func(state string) url.Values {
		return url.Values{"admin_consent": {"True"}, "tenant": {testTenant}, "state": {state}}
	}
	t.Run("success", func(t *testing.T) {
		c, _ := newConsent(t)
		link, _ := c.URL(ctx, testTenant, "acct-1")
		res, err := c.Callback(ctx, ok(stateOf(t, link)))
		require.NoError(t, err)
		assert.Equal(t, testTenant, res.TenantID)
		assert.Equal(t, "acct-1", res.Account)
		assert.False(t, res.Verified)
	})
	t.Run("reused state", func(t *testing.T) {
		c, _ := newConsent(t)
		link, _ := c.URL(ctx, testTenant, "acct-1")
		_, err := c.Callback(ctx, ok(stateOf(t, link)))
		require.NoError(t, err)
		_, err = c.Callback(ctx, ok(stateOf(t, link)))
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		assert.Equal(t, "Your session has expired. Please try connecting again.", tenantsync.HintOf(err))
	})
	t.Run("expired state", func(t *testing.T) {
		c, clk := newConsent(t)
		link, _ := c.URL(ctx, testTenant, "acct-1")
		clk.t = clk.t.Add(15*time.Minute + time.Second)
		_, err := c.Callback(ctx, ok(stateOf(t, link)))
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		assert.Contains(t, err.Error(), "Your session has expired")
	})
	t.Run("unknown state", func(t *testing.T) {
		c, _ := newConsent(t)
		_, err := c.Callback(ctx, ok("forged"))
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		_, err = c.Callback(ctx, url.Values{"admin_consent": {"True"}, "tenant": {testTenant}})
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	})
	t.Run("declined", func(t *testing.T) {
		c, _ := newConsent(t)
		for _, q := range []url.Values{
			{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent to access the app."}},
			{"error": {"consent_required"}, "error_description": {"AADSTS65004: User declined to consent to access the app.\r\nTrace ID: x"}},
		} {
			link, _ := c.URL(ctx, testTenant, "acct-1")
			q.Set("state", stateOf(t, link))
			_, err := c.Callback(ctx, q)
			require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
			assert.Contains(t, tenantsync.HintOf(err), "declined")
			d, _ := tenantsync.Details(err)
			assert.Equal(t, testTenant, d.Tenant)
		}
	})
	t.Run("other error", func(t *testing.T) {
		c, _ := newConsent(t)
		link, _ := c.URL(ctx, testTenant, "acct-1")
		_, err := c.Callback(ctx, url.Values{"state": {stateOf(t, link)}, "error": {"invalid_request"},
			"error_description": {"AADSTS50011: The redirect URI specified in the request does not match."}})
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		d, _ := tenantsync.Details(err)
		assert.Equal(t, "AADSTS50011", d.Code)
		assert.Contains(t, d.Hint, "Redirect URIs")
	})
	t.Run("wrong tenant", func(t *testing.T) {
		c, _ := newConsent(t)
		link, _ := c.URL(ctx, testTenant, "acct-1")
		q := ok(stateOf(t, link))
		q.Set("tenant", "99999999-bbbb-cccc-dddd-eeeeeeeeeeee")
		_, err := c.Callback(ctx, q)
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
	})
	t.Run("not everything granted (scope in callback)", func(t *testing.T) {
		c, _ := newConsent(t, func(cfg *graph.ConsentConfig) { cfg.Required = []string{"User.Read.All", "AuditLog.Read.All"} })
		link, _ := c.URL(ctx, testTenant, "acct-1")
		q := ok(stateOf(t, link))
		q.Set("scope", "https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/.default")
		res, err := c.Callback(ctx, q)
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		assert.Contains(t, tenantsync.HintOf(err), "AuditLog.Read.All")
		assert.True(t, res.Verified)

		link, _ = c.URL(ctx, testTenant, "acct-1")
		q = ok(stateOf(t, link))
		q.Set("scope", "https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/AuditLog.Read.All")
		res, err = c.Callback(ctx, q)
		require.NoError(t, err)
		assert.True(t, res.Verified)
		assert.ElementsMatch(t, []string{"User.Read.All", "AuditLog.Read.All"}, res.Granted)
	})
	t.Run("not everything granted (roles claim)", func(t *testing.T) {
		granted := []string{"User.Read.All"}
		var verr error
		c, _ := newConsent(t, func(cfg *graph.ConsentConfig) {
			cfg.Required = []string{"User.Read.All", "Policy.Read.All"}
			cfg.GrantedRoles = func(context.Context, string) ([]string, error) { return granted, verr }
		})
		link, _ := c.URL(ctx, testTenant, "acct-1")
		_, err := c.Callback(ctx, ok(stateOf(t, link)))
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		assert.Contains(t, err.Error(), "Policy.Read.All")

		granted = []string{"User.Read.All", "Policy.Read.All"}
		link, _ = c.URL(ctx, testTenant, "acct-1")
		res, err := c.Callback(ctx, ok(stateOf(t, link)))
		require.NoError(t, err)
		assert.True(t, res.Verified)

		verr = errors.New("token refused")
		link, _ = c.URL(ctx, testTenant, "acct-1")
		_, err = c.Callback(ctx, ok(stateOf(t, link)))
		require.ErrorContains(t, err, "token refused")
	})
	t.Run("no admin_consent", func(t *testing.T) {
		c, _ := newConsent(t)
		link, _ := c.URL(ctx, testTenant, "acct-1")
		_, err := c.Callback(ctx, url.Values{"state": {stateOf(t, link)}, "tenant": {testTenant}})
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
	})
}

func TestNewConsentValidation(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]graph.ConsentConfig{
		"no client":     {RedirectURI: "https://x.example/cb"},
		"bad redirect":  {ClientID: testApp, RedirectURI: "http://x.example/cb"},
		"bad authority": {ClientID: testApp, RedirectURI: "https://x.example/cb", AuthorityHost: "http://login.example"},
	} {
		_, err := graph.NewConsent(cfg)
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, name)
	}
}

func TestGrantedRoles(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	roles, err := c.GrantedRoles(t.Context(), firstTenant(srv).ID)
	// The fake's tokens carry no roles claim: the answer is an empty list, not an error.
	require.NoError(t, err)
	assert.Empty(t, roles)

	bad, err := graph.NewClient(baseConfig(srv), graph.WithTokenSource(staticTokens("not-a-jwt")))
	require.NoError(t, err)
	_, err = bad.GrantedRoles(t.Context(), firstTenant(srv).ID)
	require.ErrorIs(t, err, tenantsync.ErrUnsupported)
}

func FuzzConsentCallback(f *testing.F) {
	f.Add("admin_consent=True&tenant=" + testTenant + "&state=abc&scope=https%3A%2F%2Fgraph.microsoft.com%2FUser.Read.All")
	f.Add("error=access_denied&error_description=AADSTS65004%3A+declined&state=abc")
	f.Add("state=&tenant=common")
	f.Add("state=abc&error_description=AADSTS&error=x")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cb, err := graph.ParseConsentCallback(q)
		if err != nil {
			if tenantsync.KindOf(err) == nil {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if cb.Error == "" && (!cb.AdminConsent || cb.Tenant == "" || cb.State == "") {
			t.Fatalf("accepted an incomplete callback: %+v", cb)
		}
	})
}
