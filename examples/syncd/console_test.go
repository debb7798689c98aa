package main

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// consoleTest is a browser's view of the console of a test daemon: its cookies and the CSRF
// token of the last page.
type consoleTest struct {
	td      *testDaemon
	h       http.Handler
	cookies map[string]*http.Cookie
	csrf    string
}

func newConsoleTest(t *testing.T) *consoleTest {
	t.Helper()
	td := newTestDaemon(t, nil)
	con, err := newConsole(td.api)
	require.NoError(t, err)
	return &consoleTest{td: td, h: con.handler(td.h), cookies: map[string]*http.Cookie{}}
}

const consoleOrigin = "http://" + testListen

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends one request as the browser would from the console's own pages: Host and Origin of
// the daemon, the cookies it holds, a form body. headers (name, value pairs) replace those, an
// empty value removing the header.
func (c *consoleTest) do(t *testing.T, method, path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Host = testListen
	if method == http.MethodPost {
		r.Header.Set("Origin", consoleOrigin)
	}
	for _, ck := range c.cookies {
		r.AddCookie(ck)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		k, v := headers[i], headers[i+1]
		switch {
		case k == "Host":
			r.Host = v
		case k == "TLS":
			r.TLS = &tls.ConnectionState{}
		case v == "":
			r.Header.Del(k)
		default:
			r.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	if m := csrfField.FindStringSubmatch(rec.Body.String()); m != nil {
		c.csrf = m[1]
	}
	return rec
}

// login logs in with token through the login form.
func (c *consoleTest) login(t *testing.T, token string) *httptest.ResponseRecorder {
	t.Helper()
	rec := c.do(t, http.MethodGet, "/login", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	return c.do(t, http.MethodPost, "/login", url.Values{"csrf": {c.csrf}, "token": {token}})
}

func (c *consoleTest) loginAs(t *testing.T, actor string) {
	t.Helper()
	rec := c.login(t, c.td.actors.tokens[actor])
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, "/", rec.Header().Get("Location"))
	rec = c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.NotEmpty(t, c.csrf)
}

func (c *consoleTest) tenantLinked(t *testing.T, tenantID string) string {
	t.Helper()
	s, err := c.td.d.engine.Status(t.Context(), tenantID)
	require.NoError(t, err)
	return s.Tenant.ClientID
}

// suggestedTenant returns the tenant whose best suggestion is the demo client clientID, and
// that client's name.
func suggestedTenant(t *testing.T, td *testDaemon, clientID string) (tenantID, clientName string) {
	t.Helper()
	sg, err := td.d.engine.Suggestions(t.Context(), nil)
	require.NoError(t, err)
	for _, s := range sg {
		if len(s.Candidates) > 0 && s.Candidates[0].ClientID == clientID {
			return s.TenantID, s.Candidates[0].ClientName
		}
	}
	t.Fatalf("no suggestion has %s first: %+v", clientID, sg)
	return "", ""
}

func TestConsoleLoginTakesTheAPIToken(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)

	rec := c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code, "a browser without a session is sent to the login form")
	assert.Equal(t, "/login", rec.Header().Get("Location"))
	rec = c.do(t, http.MethodGet, "/console/progress", nil)
	assert.Equal(t, http.StatusSeeOther, rec.Code, "the progress fragment needs a session too")

	rec = c.login(t, "not-the-token-"+newToken(t))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), "not valid")
	assert.NotContains(t, c.cookies, sessionCookie)
	assert.Empty(t, c.td.auditEntries(t), "a failed login is counted, not audited")

	rec = c.login(t, c.td.actors.tokens["alice"])
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	ck := c.cookies[sessionCookie]
	require.NotNil(t, ck)
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	assert.False(t, ck.Secure, "plain http: a Secure cookie would never come back")
	assert.Equal(t, "/", ck.Path)

	rec = c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `<strong id="actor">alice</strong>`)
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	sts, err := c.td.d.engine.Statuses(t.Context())
	require.NoError(t, err)
	for _, s := range sts {
		assert.Contains(t, body, html.EscapeString(s.Tenant.DisplayName), "every tenant is listed")
	}
	for _, want := range []string{`id="suggestions"`, `id="reviews"`, `id="clients"`, `id="refused"`, `id="audit-verify"`, "chain intact"} {
		assert.Contains(t, body, want)
	}
	entries := c.td.auditEntries(t)
	require.Len(t, entries, 1)
	assert.Equal(t, "console_login", entries[0].Action)
	assert.Equal(t, "alice", entries[0].Actor)

	rec = c.do(t, http.MethodGet, "/console/progress", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "linked tenants synced")

	// Over TLS the cookie is Secure.
	tlsC := &consoleTest{td: c.td, h: c.h, cookies: map[string]*http.Cookie{}}
	rec = tlsC.do(t, http.MethodGet, "/login", nil, "TLS", "on")
	require.Equal(t, http.StatusOK, rec.Code)
	rec = tlsC.do(t, http.MethodPost, "/login", url.Values{"csrf": {tlsC.csrf}, "token": {c.td.token}}, "TLS", "on", "Origin", "https://"+testListen)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.True(t, tlsC.cookies[sessionCookie].Secure)
}

func TestConsoleLoginFormNeedsItsCSRFToken(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	rec := c.do(t, http.MethodGet, "/login", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	rec = c.do(t, http.MethodPost, "/login", url.Values{"token": {c.td.token}})
	assert.Equal(t, http.StatusForbidden, rec.Code, "no csrf field")
	assert.NotContains(t, c.cookies, sessionCookie)
	delete(c.cookies, loginCookie)
	rec = c.do(t, http.MethodPost, "/login", url.Values{"csrf": {c.csrf}, "token": {c.td.token}})
	assert.Equal(t, http.StatusForbidden, rec.Code, "no login cookie: a form another page built")
	assert.NotContains(t, c.cookies, sessionCookie)
}

func TestConsoleFormsNeedTheSessionsCSRFToken(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	c.loginAs(t, "alice")
	sts, err := c.td.d.engine.Statuses(t.Context())
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	before := len(c.td.auditEntries(t))

	for name, csrf := range map[string][]string{"missing": nil, "wrong": {newToken(t)}, "empty": {""}} {
		rec := c.do(t, http.MethodPost, "/console/suggestions/accept", url.Values{"csrf": csrf, "tenantId": {tenantID}, "clientId": {"client-001"}})
		assert.Equal(t, http.StatusForbidden, rec.Code, name)
		assert.Contains(t, rec.Body.String(), "CSRF", name)
	}
	assert.Empty(t, c.tenantLinked(t, tenantID), "nothing was linked")
	assert.Len(t, c.td.auditEntries(t), before, "a refused form changes nothing, so nothing is audited")

	// Another session's token is no good either.
	other := &consoleTest{td: c.td, h: c.h, cookies: map[string]*http.Cookie{}}
	other.loginAs(t, "alice")
	rec := c.do(t, http.MethodPost, "/console/suggestions/accept", url.Values{"csrf": {other.csrf}, "tenantId": {tenantID}, "clientId": {"client-001"}})
	assert.Equal(t, http.StatusForbidden, rec.Code)

	rec = c.do(t, http.MethodPost, "/console/suggestions/accept", url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "clientId": {"client-001"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Equal(t, "client-001", c.tenantLinked(t, tenantID))
	entries := c.td.auditEntries(t)
	last := entries[len(entries)-1]
	assert.Equal(t, "link", last.Action)
	assert.Equal(t, "alice", last.Actor, "the session's actor, as an API call's token's")
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.Contains(t, rec.Body.String(), "its initial sync has started", "the outcome is shown once")
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.NotContains(t, rec.Body.String(), "its initial sync has started")

	// An engine refusal comes back as the error and its hint.
	rec = c.do(t, http.MethodPost, "/console/suggestions/accept", url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "clientId": {"client-x01"}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.Contains(t, rec.Body.String(), "already connected to client client-001")
	assert.Contains(t, rec.Body.String(), "What to do: unlink it from that client first")
}

func TestConsoleRefusesCrossOriginPosts(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	c.loginAs(t, "alice")
	sts, err := c.td.d.engine.Statuses(t.Context())
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	form := url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "clientId": {"client-001"}}
	for name, h := range map[string][]string{
		"another origin":             {"Origin", "http://evil.example"},
		"another port":               {"Origin", "http://127.0.0.1:9999"},
		"https for http":             {"Origin", "https://" + testListen},
		"opaque origin":              {"Origin", "null"},
		"no origin, another site":    {"Origin", "", "Sec-Fetch-Site", "cross-site"},
		"no origin, same site":       {"Origin", "", "Sec-Fetch-Site", "same-site"},
		"origin rebinding to a name": {"Origin", "http://rebind.example:8765", "Host", "rebind.example:8765"},
	} {
		rec := c.do(t, http.MethodPost, "/console/suggestions/accept", form, h...)
		assert.Contains(t, []int{http.StatusForbidden, http.StatusMisdirectedRequest}, rec.Code, name)
	}
	assert.Empty(t, c.tenantLinked(t, tenantID), "no cross-origin form linked anything")

	// The login form too: a page elsewhere cannot log the browser in under its own token.
	fresh := &consoleTest{td: c.td, h: c.h, cookies: map[string]*http.Cookie{}}
	fresh.do(t, http.MethodGet, "/login", nil)
	rec := fresh.do(t, http.MethodPost, "/login", url.Values{"csrf": {fresh.csrf}, "token": {c.td.token}}, "Origin", "http://evil.example")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.NotContains(t, fresh.cookies, sessionCookie)

	// Same origin, no Origin header (an older browser): the CSRF token carries it.
	rec = c.do(t, http.MethodPost, "/console/suggestions/accept", form, "Origin", "", "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Equal(t, "client-001", c.tenantLinked(t, tenantID))
}

func TestConsoleHostMustNameTheDaemon(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	for _, path := range []string{"/", "/login", "/console/static/console.js"} {
		rec := c.do(t, http.MethodGet, path, nil, "Host", "rebind.example:8765")
		assert.Equal(t, http.StatusMisdirectedRequest, rec.Code, path)
	}
}

func TestConsoleLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	c.loginAs(t, "alice")
	stolen := c.cookies[sessionCookie]

	rec := c.do(t, http.MethodPost, "/logout", url.Values{})
	assert.Equal(t, http.StatusForbidden, rec.Code, "logout is a form: it needs the CSRF token")
	rec = c.do(t, http.MethodPost, "/logout", url.Values{"csrf": {c.csrf}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Equal(t, "/login?out", rec.Header().Get("Location"))
	assert.NotContains(t, c.cookies, sessionCookie, "the cookie is cleared")
	rec = c.do(t, http.MethodGet, "/login?out", nil)
	assert.Contains(t, rec.Body.String(), "You are logged out")

	// The old cookie, replayed, no longer opens the console: the session ended on the server.
	c.cookies[sessionCookie] = stolen
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.Equal(t, http.StatusSeeOther, rec.Code)
	entries := c.td.auditEntries(t)
	assert.Equal(t, "console_logout", entries[len(entries)-1].Action)
	assert.Equal(t, "alice", entries[len(entries)-1].Actor)

	// The cookie holds the session's ID only, never the token (another program on the same host
	// may be sent it: cookies are not kept apart by port); an ID never issued opens nothing.
	c.loginAs(t, "alice")
	alice := c.td.actors.tokens["alice"]
	value := c.cookies[sessionCookie].Value
	for _, form := range []string{alice, base64.RawURLEncoding.EncodeToString([]byte(alice)), base64.StdEncoding.EncodeToString([]byte(alice)),
		url.QueryEscape(alice), fmt.Sprintf("%x", alice)} {
		assert.NotContains(t, value, form, "the cookie carries no form of the token")
	}
	assert.NotContains(t, value, ".")
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: newToken(t)}
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.Equal(t, http.StatusSeeOther, rec.Code, "an ID the console never issued")
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: value + "." + base64.RawURLEncoding.EncodeToString([]byte(c.td.token))}
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.Equal(t, http.StatusSeeOther, rec.Code, "admin's token added to alice's session ID takes nothing over")

	// A session ends when its token stops being valid: alice's is taken away.
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: value}
	rec = c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code, "alice's session")
	creds, err := newCredentials(c.td.api.creds.tokenFile, c.td.token, nil)
	require.NoError(t, err)
	c.td.api.creds = creds
	rec = c.do(t, http.MethodGet, "/", nil)
	assert.Equal(t, http.StatusSeeOther, rec.Code, "alice's token is no longer valid, and her session with it")
}

// The console escapes what it shows: names come from tenants and the PSA, not from us.
func TestConsoleEscapesData(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	ctx := t.Context()
	const evil = `<img src=x onerror="alert(1)">`
	dir := c.td.d.store.Directory(c.td.d.cfg.Account)
	require.NoError(t, dir.PutClient(ctx, tenantsync.Client{ID: "client-evil", Name: evil}))
	sts, err := c.td.d.engine.Statuses(ctx)
	require.NoError(t, err)
	acct := c.td.d.store.Account(c.td.d.cfg.Account)
	require.NoError(t, acct.Tenants.Link(ctx, sts[0].Tenant.ID, "client-evil", time.Now()))
	ct, err := dir.CreateContact(ctx, tenantsync.Contact{ClientID: "client-evil", FirstName: evil, Email: "x@example.com", Active: true})
	require.NoError(t, err)
	_, err = acct.Reviews.Add(ctx, store.Review{TenantID: sts[0].Tenant.ID, ObjectID: "user-1", ClientID: "client-evil", Reason: evil,
		Candidates: []store.ReviewCandidate{{ContactID: ct.ID, Score: 0.5}}})
	require.NoError(t, err)
	c.loginAs(t, "alice")
	rec := c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, rec.Body.String(), "<img")
	assert.Contains(t, rec.Body.String(), html.EscapeString(evil))
}

func TestConsoleResolvesAReviewAndAContactFailure(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	ctx := t.Context()
	sts, err := c.td.d.engine.Statuses(ctx)
	require.NoError(t, err)
	tenantID := sts[0].Tenant.ID
	acct := c.td.d.store.Account(c.td.d.cfg.Account)
	require.NoError(t, acct.Tenants.Link(ctx, tenantID, "client-001", time.Now()))
	ct, err := c.td.d.store.Directory(c.td.d.cfg.Account).CreateContact(ctx, tenantsync.Contact{ClientID: "client-001", FirstName: "Pat", LastName: "Quinn", Email: "pat.quinn@example.com", Active: true})
	require.NoError(t, err)
	rv, err := acct.Reviews.Add(ctx, store.Review{TenantID: tenantID, ObjectID: "user-1", ClientID: "client-001", Reason: "two contacts share the address",
		Candidates: []store.ReviewCandidate{{ContactID: ct.ID, Score: 0.8}}})
	require.NoError(t, err)
	now := time.Now().UTC()
	require.NoError(t, acct.SyncStates.Put(ctx, store.SyncState{TenantID: tenantID,
		ContactFailures: map[string]store.ContactFailure{"user-2": {ObjectID: "user-2", UPN: "sam@contoso.example", DisplayName: "Sam Ode",
			Op: store.ContactCreate, Kind: "invalid_input", Message: "LastName: too long", Hint: "shorten it in Entra", Attempts: 5,
			FirstAt: now, LastAt: now, NeedsPerson: true}}}))
	c.loginAs(t, "alice")
	body := c.do(t, http.MethodGet, "/", nil).Body.String()
	assert.Contains(t, body, "Pat Quinn")
	assert.Contains(t, body, "pat.quinn@example.com")
	assert.Contains(t, body, "LastName: too long")
	assert.Contains(t, body, "sam@contoso.example")

	path := "/console/reviews/" + rv.ID + "/resolve"
	rec := c.do(t, http.MethodPost, path, url.Values{"csrf": {c.csrf}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Contains(t, c.do(t, http.MethodGet, "/", nil).Body.String(), "no decision picked")
	rec = c.do(t, http.MethodPost, path, url.Values{"csrf": {c.csrf}, "decision": {"link:" + ct.ID}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	open, err := acct.Reviews.List(ctx, store.ReviewFilter{})
	require.NoError(t, err)
	assert.Empty(t, open)
	entries := c.td.auditEntries(t)
	last := entries[len(entries)-1]
	assert.Equal(t, "resolve_review", last.Action)
	assert.Equal(t, "alice", last.Actor)
	assert.Equal(t, ct.ID, last.Detail["contact"])

	rec = c.do(t, http.MethodPost, "/console/tenants/"+tenantID+"/contact-failures/user-2/resolve", url.Values{"csrf": {c.csrf}, "decision": {"ignore"}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	got, err := acct.SyncStates.Get(ctx, tenantID)
	require.NoError(t, err)
	assert.True(t, got.ContactFailures["user-2"].Ignored)
	assert.Equal(t, "alice", got.ContactFailures["user-2"].DecidedBy)
	body = c.do(t, http.MethodGet, "/", nil).Body.String()
	assert.Contains(t, body, "Decision recorded: ignore")
	assert.NotContains(t, body, "sam@contoso.example", "a contact left as it is is no longer listed")
}

// The console's paths leave the API alone: everything else still answers as the API does.
func TestConsoleLeavesTheAPIAsItIs(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	rec := c.do(t, http.MethodGet, "/api/tenants", nil)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "a console cookie is no API credential")
	c.loginAs(t, "alice")
	rec = c.do(t, http.MethodGet, "/api/tenants", nil)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "not even a logged-in browser's")
	rec = c.do(t, http.MethodGet, "/api/tenants", nil, "Authorization", "Bearer "+c.td.token)
	assert.Equal(t, http.StatusOK, rec.Code)
	rec = c.do(t, http.MethodPost, "/", url.Values{"csrf": {c.csrf}})
	assert.NotEqual(t, http.StatusOK, rec.Code)
	assert.Equal(t, fmt.Sprint(http.StatusOK), fmt.Sprint(c.do(t, http.MethodGet, "/console/static/console.css", nil).Code))
}

// A token holding bytes a cookie value cannot carry still makes a working session.
func TestConsoleSessionCarriesAnyToken(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	odd := `odd,token;"with\bytes-` + newToken(t)
	creds, err := newCredentials(c.td.api.creds.tokenFile, c.td.token, []actorToken{{Name: "bob", Token: odd}})
	require.NoError(t, err)
	c.td.api.creds = creds
	rec := c.login(t, odd)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	rec = c.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `<strong id="actor">bob</strong>`)
}

// The clients' billable counts are cached between syncs and counted again after one.
func TestConsoleBillableCountFollowsSyncs(t *testing.T) {
	t.Parallel()
	c := newConsoleTest(t)
	ctx := t.Context()
	con, err := newConsole(c.td.api)
	require.NoError(t, err)
	tenantID, _ := suggestedTenant(t, c.td, "client-001")
	require.NoError(t, c.td.d.store.Account(c.td.d.cfg.Account).Tenants.Link(ctx, tenantID, "client-001", time.Now()))
	cl, err := c.td.d.store.Directory(c.td.d.cfg.Account).GetClient(ctx, "client-001")
	require.NoError(t, err)

	rows, err := con.clientRows(ctx, []tenantsync.Client{cl})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.True(t, rows[0].BillingKnown)
	assert.Zero(t, rows[0].Billable, "nothing synced yet")
	assert.False(t, rows[0].BillingComplete)

	_, err = c.td.d.engine.SyncNow(ctx, tenantID)
	require.NoError(t, err)
	want, err := c.td.d.engine.BillableUsers(ctx, "client-001")
	require.NoError(t, err)
	require.Positive(t, want.Billable)
	rows, err = con.clientRows(ctx, []tenantsync.Client{cl})
	require.NoError(t, err)
	assert.Equal(t, want.Billable, rows[0].Billable, "the sync's finish invalidates the cached count")
	assert.Equal(t, want.Complete, rows[0].BillingComplete)
}

// The console starts syncs as the API does: sync-now within the cooldown is refused with the
// engine's hint, and the contacts the cap on creates left for later are created on request,
// both audited under the actor.
func TestConsoleStartsSyncsAndCreatesTheRemainingContacts(t *testing.T) {
	t.Parallel()
	// The cooldown runs from the sync's start; it outlasts the sync and the page loads before
	// sync-now on a loaded machine too.
	td := newTestDaemonWith(t, func(c *config) { c.MaxCreatesPerSync = 2 }, hooks{cooldown: 10 * time.Second})
	con, err := newConsole(td.api)
	require.NoError(t, err)
	c := &consoleTest{td: td, h: con.handler(td.h), cookies: map[string]*http.Cookie{}}
	ctx := t.Context()
	tenantID, _ := suggestedTenant(t, td, "client-001")
	c.loginAs(t, "alice")
	rec := c.do(t, http.MethodPost, "/console/suggestions/accept", url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "clientId": {"client-001"}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.NoError(t, td.d.engine.Wait(ctx))
	st, err := td.d.engine.Status(ctx, tenantID)
	require.NoError(t, err)
	require.NotNil(t, st.Creation, "the cap of 2 left contacts for later")
	require.False(t, st.Creation.Done())

	body := c.do(t, http.MethodGet, "/", nil).Body.String()
	assert.Contains(t, body, html.EscapeString(st.Creation.String()), "the tenant shows the creation progress")
	assert.Contains(t, body, "/console/tenants/"+tenantID+"/create-remaining")

	rec = c.do(t, http.MethodPost, "/console/tenants/"+tenantID+"/sync", url.Values{"csrf": {c.csrf}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Contains(t, c.do(t, http.MethodGet, "/", nil).Body.String(), "What to do: wait", "sync-now right after a sync meets the cooldown")

	// Once the cooldown has passed, the request starts the run.
	require.Eventually(t, func() bool {
		rec := c.do(t, http.MethodPost, "/console/tenants/"+tenantID+"/create-remaining", url.Values{"csrf": {c.csrf}})
		return rec.Code == http.StatusSeeOther && strings.Contains(c.do(t, http.MethodGet, "/", nil).Body.String(), "Creating the remaining contacts")
	}, 40*time.Second, 500*time.Millisecond)
	require.Eventually(t, func() bool {
		st, err := td.d.engine.Status(ctx, tenantID)
		return err == nil && !st.Running && st.Creation != nil && st.Creation.Done()
	}, time.Minute, 100*time.Millisecond, "every remaining contact is created")
	var actions []string
	for _, e := range td.auditEntries(t) {
		if e.Actor == "alice" {
			actions = append(actions, e.Action+"/"+e.Outcome)
		}
	}
	assert.Contains(t, actions, "sync_now/refused")
	assert.Contains(t, actions, "create_remaining_contacts/requested")
	require.Eventually(t, func() bool {
		for _, e := range td.auditEntries(t) {
			if e.Actor == "alice" && e.Action == "create_remaining_contacts" && e.Outcome == "succeeded" {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "the run's result is audited under alice")
}

// The write form offers each linked tenant's groups by name, the writable ones only, and runs
// the picked action through the engine: the group gains the member at the service, and the
// request is audited under the session's actor. A group of another tenant is refused.
func TestConsoleWriteFormPicksAGroupByName(t *testing.T) {
	t.Parallel()
	td := newTestDaemonWith(t, func(cfg *config) {
		cfg.WritesEnabled = true
		cfg.Writers = []string{"alice"}
	}, hooks{})
	con, err := newConsole(td.api)
	require.NoError(t, err)
	c := &consoleTest{td: td, h: con.handler(td.h), cookies: map[string]*http.Cookie{}}
	ctx := t.Context()
	tenantID, _ := suggestedTenant(t, td, "client-001")
	c.loginAs(t, "alice")
	rec := c.do(t, http.MethodPost, "/console/suggestions/accept", url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "clientId": {"client-001"}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.NoError(t, td.d.engine.Wait(ctx))

	groups := td.d.fake.Groups(tenantID)
	require.NotEmpty(t, groups)
	body := c.do(t, http.MethodGet, "/", nil).Body.String()
	require.Contains(t, body, `id="write-group"`)
	var target *tenantsynctest.GroupInfo
	for i, g := range groups {
		opt := `<option value="` + g.ID + `">` + html.EscapeString(g.DisplayName) + " ("
		if g.Type == "Distribution" {
			assert.NotContains(t, body, opt, "a distribution list is not offered: %s", g.DisplayName)
			continue
		}
		assert.Contains(t, body, opt, "group %s is offered by name", g.DisplayName)
		if target == nil && g.DisplayName != "All Staff" {
			target = &groups[i]
		}
	}
	require.NotNil(t, target)
	var user *tenantsync.User
	for _, u := range td.d.fake.Users(tenantID) {
		if u.AccountEnabled && u.UserType == "Member" && td.d.fake.MailboxType(tenantID, u.ObjectID) == "UserMailbox" && !slices.Contains(target.Members, u.ObjectID) {
			user = &u
			break
		}
	}
	require.NotNil(t, user)

	rec = c.do(t, http.MethodPost, "/console/writes", url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "upn": {user.UserPrincipalName},
		"action": {string(tenantsync.ActionAddToGroup)}, "groupId": {target.ID}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	body = c.do(t, http.MethodGet, "/", nil).Body.String()
	assert.Contains(t, body, html.EscapeString("Done: add to group "+target.DisplayName+" for "+user.UserPrincipalName))
	assert.True(t, memberOf(td.d.fake, tenantID, target.ID, user.ObjectID), "the service's group has the new member")
	var audited bool
	for _, e := range td.auditEntries(t) {
		audited = audited || (e.Actor == "alice" && e.Action == string(tenantsync.ActionAddToGroup) && e.Outcome == "succeeded")
	}
	assert.True(t, audited)

	// Another tenant's group, or none, is refused with what to do.
	other := ""
	for _, t2 := range td.d.fake.Tenants() {
		if gs := td.d.fake.Groups(t2.ID); t2.ID != tenantID && len(gs) > 0 {
			other = gs[0].ID
			break
		}
	}
	for _, gid := range []string{other, ""} {
		rec = c.do(t, http.MethodPost, "/console/writes", url.Values{"csrf": {c.csrf}, "tenantId": {tenantID}, "upn": {user.UserPrincipalName},
			"action": {string(tenantsync.ActionRemoveFromGroup)}, "groupId": {gid}})
		require.Equal(t, http.StatusSeeOther, rec.Code)
		body = c.do(t, http.MethodGet, "/", nil).Body.String()
		assert.Contains(t, body, "pick a group listed under the tenant you picked")
	}
	assert.True(t, memberOf(td.d.fake, tenantID, target.ID, user.ObjectID), "nothing was removed")
}

// memberOf reports whether the fake's group has the user as a member now.
func memberOf(fake *tenantsynctest.Server, tenantID, groupID, userID string) bool {
	for _, g := range fake.Groups(tenantID) {
		if g.ID == groupID {
			return slices.Contains(g.Members, userID)
		}
	}
	return false
}
