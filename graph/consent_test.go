package graph_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

const (
	testApp    = "11111111-2222-3333-4444-555555555555"
	testTenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// stubRoles is a RoleReader answering with fixed grants, recording the tenants asked about.
type stubRoles struct {
	roles []string
	err   error
	asked []string
}

func (s *stubRoles) GrantedRoles(_ context.Context, tenant string) ([]string, error) {
	s.asked = append(s.asked, tenant)
	return s.roles, s.err
}

func newConsent(t *testing.T, mutate ...func(*graph.ConsentConfig)) (*graph.Consent, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := graph.ConsentConfig{ClientID: testApp, RedirectURI: "https://psa.example.com/m365/callback", Now: clk.now,
		Roles: &stubRoles{roles: []string{"User.Read.All"}}}
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
		assert.True(t, res.Verified, "the grants are always read through Graph")
		assert.Equal(t, []string{"User.Read.All"}, res.Granted)
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
	t.Run("the redirect's scope is not trusted", func(t *testing.T) {
		roles := &stubRoles{roles: []string{"User.Read.All"}}
		c, _ := newConsent(t, func(cfg *graph.ConsentConfig) {
			cfg.Required = []string{"User.Read.All", "AuditLog.Read.All"}
			cfg.Roles = roles
		})
		link, _ := c.URL(ctx, testTenant, "acct-1")
		q := ok(stateOf(t, link))
		// An edited redirect claims every permission; Graph says otherwise.
		q.Set("scope", "https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/AuditLog.Read.All")
		res, err := c.Callback(ctx, q)
		require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
		assert.Contains(t, tenantsync.HintOf(err), "AuditLog.Read.All")
		assert.Equal(t, []string{"User.Read.All"}, res.Granted, "what Graph reports, not what the URL says")
		assert.True(t, res.Verified)
		assert.Equal(t, []string{testTenant}, roles.asked, "the tenant of the state, read through Graph")

		roles.roles = []string{"AuditLog.Read.All", "User.Read.All"}
		link, _ = c.URL(ctx, testTenant, "acct-1")
		res, err = c.Callback(ctx, ok(stateOf(t, link)))
		require.NoError(t, err, "nothing listed in the redirect, everything granted")
		assert.True(t, res.Verified)
		assert.ElementsMatch(t, []string{"User.Read.All", "AuditLog.Read.All"}, res.Granted)
	})
	t.Run("grants that cannot be read", func(t *testing.T) {
		roles := &stubRoles{err: tenantsync.Errorf(tenantsync.ErrRoleMissing, "add Application.Read.All", "403")}
		c, _ := newConsent(t, func(cfg *graph.ConsentConfig) { cfg.Roles = roles })
		link, _ := c.URL(ctx, testTenant, "acct-1")
		q := ok(stateOf(t, link))
		q.Set("scope", "https://graph.microsoft.com/User.Read.All")
		res, err := c.Callback(ctx, q)
		require.ErrorIs(t, err, tenantsync.ErrRoleMissing, "unverified is an error, whatever the redirect lists")
		assert.False(t, res.Verified)
		assert.Empty(t, res.Granted)
		assert.Equal(t, testTenant, res.TenantID)
		assert.Equal(t, "acct-1", res.Account)
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
	roles := &stubRoles{}
	for name, cfg := range map[string]graph.ConsentConfig{
		"no client":     {RedirectURI: "https://x.example/cb", Roles: roles},
		"bad redirect":  {ClientID: testApp, RedirectURI: "http://x.example/cb", Roles: roles},
		"bad authority": {ClientID: testApp, RedirectURI: "https://x.example/cb", AuthorityHost: "http://login.example", Roles: roles},
		"no roles":      {ClientID: testApp, RedirectURI: "https://x.example/cb"},
	} {
		_, err := graph.NewConsent(cfg)
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, name)
		assert.NotEmpty(t, tenantsync.HintOf(err), name)
	}
}

// The redirect URI carries the authorization response: https, or plain http on a loopback
// host while developing, and nothing else.
func TestNewConsentRedirectURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://psa.example.com/m365/callback", true},
		{"https://psa.example.com:8443/cb?x=1", true},
		{"http://localhost/cb", true},
		{"http://LOCALHOST:3000/cb", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://127.45.6.7/cb", true},
		{"http://[::1]:8080/cb", true},
		{"http://psa.example.com/cb", false},
		{"http://10.0.0.5/cb", false},
		{"http://128.0.0.1/cb", false},
		{"http://localhost.evil.example/cb", false},
		{"http://127.0.0.1.nip.io/cb", false},
		{"http://[::2]/cb", false},
		{"ftp://localhost/cb", false},
		{"javascript://localhost/%0aalert(1)", false},
		{"myapp://callback", false},
		{"file:///etc/passwd", false},
		{"https://user:pass@psa.example.com/cb", false},
		{"https://psa.example.com/cb#frag", false},
		{"/relative/cb", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			t.Parallel()
			_, err := graph.NewConsent(graph.ConsentConfig{ClientID: testApp, RedirectURI: tt.uri, Roles: &stubRoles{}})
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, tenantsync.HintOf(err), "https")
			assert.Contains(t, tenantsync.HintOf(err), "localhost")
		})
	}
}

// GrantedRoles reads the app role assignments of the partner app's service principal through
// Graph: what consent granted, whatever any redirect or cached token says.
func TestGrantedRoles(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)

	roles, err := c.GrantedRoles(t.Context(), tn.ID)
	require.NoError(t, err)
	assert.Equal(t, testserver.DefaultAppPermissions(), roles)

	srv.GraphGrantAppPermissions(tn.ID, "User.Read.All", "Application.Read.All", "AuditLog.Read.All")
	roles, err = c.GrantedRoles(t.Context(), tn.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"Application.Read.All", "AuditLog.Read.All", "User.Read.All"}, roles, "sorted, as granted now")

	// Without a permission to read applications the grants cannot be verified: the error
	// names what to add.
	srv.GraphGrantAppPermissions(tn.ID, "User.Read.All")
	_, err = c.GrantedRoles(t.Context(), tn.ID)
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(err), "Application.Read.All")

	notConsented := tenantWhere(t, srv, func(tn *testserver.Tenant) bool { return !tn.Consented })
	_, err = c.GrantedRoles(t.Context(), notConsented.ID)
	require.ErrorIs(t, err, tenantsync.ErrConsentRequired)

	_, err = c.GrantedRoles(t.Context(), "common")
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

// A consent callback through the fake: the redirect claims every permission, Graph reports
// what the tenant really granted.
func TestConsentCallbackVerifiesThroughGraph(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	required := []string{"User.Read.All", "AuditLog.Read.All", "Policy.Read.All"}
	consent, err := graph.NewConsent(graph.ConsentConfig{ClientID: srv.PartnerApp().ClientID,
		RedirectURI: "http://127.0.0.1:8080/m365/consent", Required: required, Roles: c})
	require.NoError(t, err)
	callback := func() url.Values {
		link, err := consent.URL(t.Context(), tn.ID, "acct-1")
		require.NoError(t, err)
		return url.Values{"admin_consent": {"True"}, "tenant": {tn.ID}, "state": {stateOf(t, link)},
			"scope": {"https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/AuditLog.Read.All https://graph.microsoft.com/Policy.Read.All"}}
	}

	srv.GraphGrantAppPermissions(tn.ID, "Application.Read.All", "User.Read.All")
	res, err := consent.Callback(t.Context(), callback())
	require.ErrorIs(t, err, tenantsync.ErrConsentRequired)
	assert.Contains(t, tenantsync.HintOf(err), "AuditLog.Read.All, Policy.Read.All")
	assert.Equal(t, []string{"Application.Read.All", "User.Read.All"}, res.Granted)

	srv.GraphGrantAppPermissions(tn.ID, "Application.Read.All", "User.Read.All", "AuditLog.Read.All", "Policy.Read.All")
	res, err = consent.Callback(t.Context(), callback())
	require.NoError(t, err)
	assert.True(t, res.Verified)
	assert.Subset(t, res.Granted, required)
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
			if tenantsync.ClassOf(err) == nil {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if cb.Error == "" && (!cb.AdminConsent || cb.Tenant == "" || cb.State == "") {
			t.Fatalf("accepted an incomplete callback: %+v", cb)
		}
	})
}

// Whatever NewConsent accepts as a redirect URI is https, or plain http to a loopback host.
func FuzzConsentRedirectURI(f *testing.F) {
	for _, s := range []string{"https://psa.example.com/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb",
		"http://localhost/cb", "http://localhost.evil.example/", "javascript://localhost/x", "HTTP://127.0.0.1/",
		"http://[::ffff:127.0.0.1]/", "http://0x7f.1/", "https://a/#", "//localhost/cb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := graph.NewConsent(graph.ConsentConfig{ClientID: testApp, RedirectURI: raw, Roles: &stubRoles{}})
		if err != nil {
			if !errors.Is(err, tenantsync.ErrInvalidInput) {
				t.Fatalf("%q: untyped error %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("%q accepted but does not parse: %v", raw, perr)
		}
		switch {
		case u.Scheme == "https" && u.Host != "":
		case u.Scheme == "http" && (strings.EqualFold(u.Hostname(), "localhost") || isLoopbackIP(u.Hostname())):
		default:
			t.Fatalf("accepted %q (scheme %q, host %q)", raw, u.Scheme, u.Hostname())
		}
		if u.User != nil || strings.Contains(raw, "#") {
			t.Fatalf("accepted %q with user info or a fragment", raw)
		}
	})
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
