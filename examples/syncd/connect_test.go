package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// connectRig drives the connect page as a browser would: the API call for the link, the fake
// Entra ID's sign-in (which answers at once with the configured outcome), the redirect back.
type connectRig struct {
	td *testDaemon
	h  http.Handler
}

func newConnectRig(t *testing.T) *connectRig {
	td := newTestDaemon(t, nil)
	return &connectRig{td: td, h: td.d.connectRoutes(td.api, td.h)}
}

func (c *connectRig) serve(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec
}

// signIn asks for the link with the install token and follows it; it returns the callback URL.
func (c *connectRig) signIn(t *testing.T) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/partner/connect", nil)
	r.Host = testListen
	r.Header.Set("Authorization", "Bearer "+c.td.token)
	rec := c.serve(r)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var body struct {
		SignInURL string `json:"signInUrl"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	hc := c.td.d.fake.HTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(body.SignInURL)
	require.NoError(t, err)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "http://"+testListen+"/connect/callback?"), loc)
	return loc
}

func (c *connectRig) get(loc string) *httptest.ResponseRecorder {
	u, _ := url.Parse(loc)
	r := httptest.NewRequest(http.MethodGet, u.RequestURI(), nil)
	r.Host = testListen
	return c.serve(r)
}

func (c *connectRig) postConsent(ticket, origin string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/connect/consent", strings.NewReader(url.Values{"ticket": {ticket}}.Encode()))
	r.Host = testListen
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return c.serve(r)
}

// storedToken is the sealed partner token in the store ("" when there is none).
func storedToken(t *testing.T, c *connectRig) tenantsync.Secret {
	t.Helper()
	conn, err := c.td.d.store.Account(c.td.d.cfg.Account).Connections.Get(t.Context(), partnerTokenConnection)
	if err != nil {
		require.ErrorIs(t, err, tenantsync.ErrNotFound)
		return tenantsync.Secret{}
	}
	return conn.Secret
}

var ticketRE = regexp.MustCompile(`name="ticket" value="([^"]+)"`)

func TestConnectPageSignsInListsCustomersAndConsents(t *testing.T) {
	t.Parallel()
	c := newConnectRig(t)
	ctx := t.Context()
	before := storedToken(t, c) // the demo's configured token
	loc := c.signIn(t)

	rec := c.get(loc)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	page := rec.Body.String()
	assert.Contains(t, page, "Signed in as admin@")
	assert.Equal(t, "same-origin", rec.Header().Get("Referrer-Policy"), "the callback URL holds the code: it goes to no other site")
	customers := strings.Count(page, "<tr><td>") // one row per customer
	require.Positive(t, customers)

	conn, err := c.td.d.store.Account(c.td.d.cfg.Account).Connections.Get(ctx, partnerTokenConnection)
	require.NoError(t, err, "the authorization is kept in the store")
	assert.False(t, conn.Secret.Equal(before), "the new sign-in's token replaced the configured one")
	assert.NotContains(t, page, conn.Secret.Reveal(), "the page never shows the token")

	// The same callback again: the state was one-time.
	again := c.get(loc)
	assert.Equal(t, http.StatusBadRequest, again.Code)
	assert.Contains(t, again.Body.String(), "Your session has expired")

	m := ticketRE.FindStringSubmatch(page)
	require.Len(t, m, 2, "the page offers the bulk consent")
	assert.Equal(t, http.StatusForbidden, c.postConsent(m[1], "").Code, "a form post without the daemon's Origin is refused")
	rec = c.postConsent(m[1], "http://"+testListen)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	results := rec.Body.String()
	assert.Contains(t, results, "consented")
	assert.Equal(t, customers, strings.Count(results, "<tr><td>"), "one result per customer")
	assert.Equal(t, http.StatusBadRequest, c.postConsent(m[1], "http://"+testListen).Code, "the ticket works once")

	rotated, err := c.td.d.store.Account(c.td.d.cfg.Account).Connections.Get(ctx, partnerTokenConnection)
	require.NoError(t, err)
	assert.False(t, rotated.Secret.Equal(conn.Secret), "using the authorization rotated the stored token")

	var connects, consents int
	for _, e := range c.td.auditEntries(t) {
		switch e.Action {
		case "partner-connect":
			connects++
			assert.Equal(t, adminActor, e.Actor)
		case "app-consent":
			consents++
			assert.Equal(t, adminActor, e.Actor)
			assert.NotEmpty(t, e.TenantID)
		}
	}
	assert.Equal(t, 2, connects, "the request and its result")
	assert.Equal(t, customers, consents)
}

func TestConnectPageExplainsEachFailure(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		outcome tenantsynctest.SignInOutcome
		says    string
	}{
		"consent declined":        {tenantsynctest.SignInDeclined, "were declined"},
		"MFA not satisfied":       {tenantsynctest.SignInMFARequired, "did not complete it"},
		"no refresh token":        {tenantsynctest.SignInNoRefreshToken, "Microsoft did not provide a refresh token"},
		"not in the partner":      {tenantsynctest.SignInGuest, "does not belong to the partner tenant"},
		"lacks Admin Agent":       {tenantsynctest.SignInNotAdminAgent, "Admin Agent role"},
		"Partner Center MFA gate": {tenantsynctest.SignInWithoutMFA, "requires multifactor authentication"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newConnectRig(t)
			before := storedToken(t, c)
			require.NoError(t, c.td.d.fake.SetSignInOutcome(tc.outcome))
			rec := c.get(c.signIn(t))
			assert.Equal(t, http.StatusForbidden, rec.Code)
			assert.Contains(t, html.UnescapeString(rec.Body.String()), tc.says)
			assert.True(t, storedToken(t, c).Equal(before), "a failed connection replaces nothing")
			var failed bool
			for _, e := range c.td.auditEntries(t) {
				failed = failed || (e.Action == "partner-connect" && e.Outcome == "failed" && e.Actor == adminActor)
			}
			assert.True(t, failed, "the failure is audited under the actor who asked for the link")
		})
	}
}

func TestConnectLinkNeedsTheAPIToken(t *testing.T) {
	t.Parallel()
	c := newConnectRig(t)
	r := httptest.NewRequest(http.MethodPost, "/api/partner/connect", nil)
	r.Host = testListen
	assert.Equal(t, http.StatusUnauthorized, c.serve(r).Code)
	r = httptest.NewRequest(http.MethodGet, "/connect/callback?state=x&code=y", nil)
	r.Host = "evil.example:8765"
	assert.Equal(t, http.StatusMisdirectedRequest, c.serve(r).Code)
}

func TestPartnerCloudFlag(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		if k == "TENANTSYNC_PARTNER_SECRET" {
			return "s3cret"
		}
		return ""
	}
	partner := []string{"-data-dir", t.TempDir(), "-partner-tenant-id", "11111111-1111-1111-1111-111111111111",
		"-partner-client-id", "22222222-2222-2222-2222-222222222222"}
	cfg, err := parseConfig(append(partner, "-partner-cloud", "usgov-high"), env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "https://graph.microsoft.us", cfg.Partner.Cloud.GraphURL)
	cfg, err = parseConfig(partner, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "https://graph.microsoft.com", cfg.Partner.Cloud.GraphURL, "global by default")
	_, err = parseConfig(append(partner, "-partner-cloud", "mars"), env, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "usgov-high (GCC High)")
	_, err = parseConfig([]string{"-data-dir", t.TempDir(), "-partner-cloud", "china"}, env, io.Discard)
	require.Error(t, err, "the demo's fakes are the global cloud")
}

// A partner admin who connects again while the daemon runs replaces the authorization its
// Partner Center client uses: after a revocation, discovery through Partner Center works again
// at once, without a restart.
func TestConnectReplacesTheRunningAuthorization(t *testing.T) {
	t.Parallel()
	c := newConnectRig(t)
	ctx := t.Context()
	d := c.td.d
	_, err := d.pc.VerifyConnection(ctx)
	require.NoError(t, err)

	// An administrator revokes the partner admin's tokens; the daemon's cached access tokens
	// are dropped as a 401 would drop them.
	d.fake.RevokeRefreshTokens()
	for _, graph := range []bool{false, true} {
		cur := d.partnerAuth.current(graph)
		cur.Invalidate("")
		cur.Invalidate(d.cfg.Partner.TenantID)
	}
	_, err = d.pc.VerifyConnection(ctx)
	require.ErrorIs(t, err, tenantsync.ErrAuthorizationRevoked, "the revoked authorization no longer works")

	rec := c.get(c.signIn(t))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	_, err = d.pc.VerifyConnection(ctx)
	require.NoError(t, err, "the running daemon uses the new authorization")
	rep, err := d.engine.Discover(ctx)
	require.NoError(t, err)
	for _, s := range rep.Sources {
		assert.NoError(t, s.Err, "source %s discovers again", s.Source)
	}
	stored := storedToken(t, c)
	assert.True(t, stored.Equal(d.partnerAuth.current(false).RefreshToken()), "the stored token is the running chain's newest")
}

// Starting the partner connection needs m365.manage: whoever completes the sign-in replaces
// the partner's authorization. An actor with a token but not in -managers gets 403 and no
// link, and the attempt is audited under its name.
func TestPartnerConnectNeedsManage(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, func(c *config) { c.Managers = []string{adminActor} })
	h := td.d.connectRoutes(td.api, td.h)
	connect := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/partner/connect", nil)
		r.Host = testListen
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := connect(td.actors.tokens["alice"])
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), "signInUrl")
	e := decodeError(t, rec)
	assert.Equal(t, "permission_denied", e.Kind)
	assert.Contains(t, e.Hint, "-managers")
	entries := td.auditEntries(t)
	require.NotEmpty(t, entries)
	last := entries[len(entries)-1]
	assert.Equal(t, "partner-connect", last.Action)
	assert.Equal(t, "alice", last.Actor)
	assert.Equal(t, "refused", last.Outcome)

	rec = connect(td.token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "signInUrl")
}
