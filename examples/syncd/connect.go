package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/transport"
)

// partnerTokenConnection names the stored (sealed) partner admin refresh token; partnerCenter
// reads it back at start.
const partnerTokenConnection = "partner-refresh-token"

// consentScopes are the Graph application permissions the bulk consent grants in each customer:
// what the sync reads and the write actions change (DeviceManagementServiceConfig.Read.All: the
// baseline's Intune connector to Defender for Endpoint).
const consentScopes = "Directory.Read.All,User.ReadWrite.All,AuditLog.Read.All,DeviceManagementManagedDevices.Read.All," +
	"DeviceManagementServiceConfig.Read.All," +
	"Policy.Read.All,SecurityEvents.Read.All,MailboxSettings.Read,GroupMember.ReadWrite.All,UserAuthenticationMethod.ReadWrite.All"

// connectFlow is the daemon's partner connect page: POST /api/partner/connect (with the API
// token) answers the sign-in link; Entra ID sends the browser back to GET /connect/callback,
// which redeems the code, verifies the connection by listing Partner Center customers, keeps
// the refresh token sealed in the store and offers the application consent across customers;
// POST /connect/consent runs it and shows one result per customer.
//
// The two browser routes carry no API token: the callback is authorized by its one-time state
// (made for the actor who asked for the link, 15 minutes, taken once), the consent form by a
// one-time ticket the callback page holds, and both check the Host header, the consent form
// also the Origin.
type connectFlow struct {
	d  *daemon
	a  *api
	pc *entra.PartnerConnect
	// off explains why connecting is unavailable (no partner app configured, a listen address
	// Entra ID will not redirect to over http).
	off error

	authority, pcURL, graphURL string
	hc                         *http.Client

	mu      gosync.Mutex
	tickets map[string]consentTicket
}

// consentTicket lets the page that showed a connection's customers start their consent once.
type consentTicket struct {
	actor     string
	customers []string
	expires   time.Time
}

// connectRoutes puts the connect flow's routes in front of the API's handler.
// connectAPIRoute is the connect flow's one API route (documented in openapi.json like the
// routes of api.endpoints); the callback and consent pages are for the browser.
const connectAPIRoute = "POST /api/partner/connect"

func (d *daemon) connectRoutes(a *api, next http.Handler) http.Handler {
	f := &connectFlow{d: d, a: a, tickets: map[string]consentTicket{}}
	p := d.cfg.Partner
	if d.fake != nil {
		f.authority, f.pcURL, f.graphURL, f.hc = d.fake.EntraURL(), d.fake.PartnerCenterURL(), d.fake.GraphURL(), d.fake.HTTPClient()
	}
	if !p.set() || p.Secret.IsZero() {
		f.off = tenantsync.Errorf(tenantsync.ErrInvalidInput,
			"start syncd with -partner-tenant-id, -partner-client-id and the partner app's secret", "no partner app is configured")
	} else {
		redirect := "http://" + net.JoinHostPort(a.hosts.configured, a.hosts.port) + "/connect/callback"
		cfg := entra.PartnerConnectConfig{AuthorityHost: f.authority, PartnerTenantID: p.TenantID,
			ClientID: p.ClientID, Secret: p.Secret, RedirectURI: redirect, HTTPClient: f.hc}
		if d.fake == nil {
			cfg.Cloud = p.Cloud
		}
		f.pc, f.off = entra.NewPartnerConnect(cfg)
	}
	a.connect = f
	mux := http.NewServeMux()
	mux.Handle(connectAPIRoute, a.guard(http.HandlerFunc(f.start)))
	mux.HandleFunc("GET /connect/callback", f.callback)
	mux.HandleFunc("POST /connect/consent", f.consent)
	mux.Handle("/", next)
	return mux
}

// start answers the sign-in link for the authenticated actor.
func (f *connectFlow) start(w http.ResponseWriter, r *http.Request) {
	if err := f.authorize(r.Context(), actorFrom(r.Context())); err != nil {
		fail(w, err)
		return
	}
	if f.off != nil {
		failStatus(w, http.StatusConflict, f.off)
		return
	}
	link, err := f.signInLink(r.Context(), actorFrom(r.Context()))
	if err != nil {
		failStatus(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signInUrl": link, "expiresInSeconds": int(entra.ConnectStateTTL.Seconds()),
		"next": "open signInUrl in a browser and sign in as a partner admin of the partner tenant"})
}

// authorize refuses, and audits the refusal of, an actor without m365.manage (-managers):
// whoever completes the sign-in replaces the partner's authorization, as a disconnect removes
// it. It comes before anything else the request could learn.
func (f *connectFlow) authorize(ctx context.Context, actor string) error {
	err := f.d.cfg.permissions().Authorize(ctx, actor, tenantsync.PermissionManage)
	if err != nil {
		f.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: "partner-connect", Phase: "result", Outcome: "refused",
			Error: err.Error(), Detail: map[string]string{"error_kind": tenantsync.ClassName(tenantsync.ErrPermissionDenied)}})
	}
	return err
}

// signInLink makes the one-time sign-in link for actor, who authorize let through, and audits
// the request.
func (f *connectFlow) signInLink(ctx context.Context, actor string) (string, error) {
	link, err := f.pc.AuthURL(ctx, f.d.cfg.Account, actor)
	if err != nil {
		return "", err
	}
	f.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: "partner-connect", Phase: "intent", Outcome: "requested"})
	return link, nil
}

// callback finishes the sign-in Entra ID redirected back.
func (f *connectFlow) callback(w http.ResponseWriter, r *http.Request) {
	if !f.browserAllowed(w, r, false) {
		return
	}
	ctx := r.Context()
	auth, err := f.pc.Callback(ctx, r.URL.Query())
	actor := "unknown"
	if auth != nil {
		actor = auth.Actor
	}
	if err != nil {
		if auth != nil { // the state was valid: someone we know tried
			f.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: "partner-connect", Phase: "result", Outcome: "failed",
				Error: err.Error(), Detail: map[string]string{"error_kind": tenantsync.ClassName(tenantsync.ClassOf(err))}})
		}
		f.page(w, pageStatus(err), connectPage{Title: "The partner connection did not complete", Err: err.Error(), Hint: tenantsync.HintOf(err)})
		return
	}
	// Rotations during the verification are kept here and stored only once it succeeds: a
	// sign-in that cannot read Partner Center is no connection to keep.
	var latestMu gosync.Mutex
	latest := auth.RefreshToken
	client, err := f.partnerCenter(auth.RefreshToken, func(_ context.Context, s tenantsync.Secret) error {
		latestMu.Lock()
		latest = s
		latestMu.Unlock()
		return nil
	})
	var customers []partnercenter.Customer
	if err == nil {
		customers, err = client.VerifyConnection(ctx)
	}
	if err == nil {
		latestMu.Lock()
		rt := latest
		latestMu.Unlock()
		err = f.d.saveConnection(ctx, partnerTokenConnection, store.ConnectionPartnerCenter,
			map[string]string{"tenantId": auth.TenantID, "signedInAs": auth.UserPrincipalName}, rt)
		if err == nil {
			// The running daemon switches to the new authorization: no restart.
			err = f.d.usePartnerAuthorization(rt)
		}
	}
	detail := map[string]string{"signed_in_as": auth.UserPrincipalName}
	if err != nil {
		detail["error_kind"] = tenantsync.ClassName(tenantsync.ClassOf(err))
		f.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: "partner-connect", Phase: "result", Outcome: "failed", Error: err.Error(), Detail: detail})
		f.page(w, pageStatus(err), connectPage{Title: "The partner connection did not complete", Err: err.Error(), Hint: tenantsync.HintOf(err)})
		return
	}
	detail["customers"] = strconv.Itoa(len(customers))
	f.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: "partner-connect", Phase: "result", Outcome: "succeeded", Detail: detail})
	page := connectPage{Title: "Partner connected", SignedInAs: auth.UserPrincipalName}
	var ids []string
	for _, c := range customers {
		page.Customers = append(page.Customers, customerRow{TenantID: c.TenantID(), Name: c.CompanyProfile.CompanyName, Domain: c.CompanyProfile.Domain})
		ids = append(ids, c.TenantID())
	}
	if len(ids) > 0 {
		page.Ticket = f.newTicket(actor, ids)
	}
	f.page(w, http.StatusOK, page)
}

// consent runs the application consent across the customers the callback page listed.
func (f *connectFlow) consent(w http.ResponseWriter, r *http.Request) {
	if !f.browserAllowed(w, r, true) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		f.page(w, http.StatusBadRequest, connectPage{Title: "Consent was not started", Err: "the form did not arrive",
			Hint: "use the button on the connection page"})
		return
	}
	t, ok := f.takeTicket(r.PostForm.Get("ticket"))
	if !ok {
		f.page(w, http.StatusBadRequest, connectPage{Title: "Consent was not started", Err: "Your session has expired. Please try connecting again.",
			Hint: "connect again; the consent button works once, within 15 minutes"})
		return
	}
	ctx := r.Context()
	// The daemon's own Partner Center client, on the authorization the callback just put in
	// place: a second client on the stored token would start a second rotation chain, and the
	// daemon's chain would hold a token this one had already replaced.
	client := f.d.pc
	var err error
	if client == nil || !f.d.partnerAuth.connected() {
		err = tenantsync.Errorf(tenantsync.ErrUnauthorized, "connect again", "the partner authorization is not in place")
	}
	var outcomes []partnercenter.ConsentOutcome
	if err == nil {
		outcomes, err = client.GrantApplicationConsents(ctx, t.customers, partnercenter.ApplicationConsent{
			ApplicationID: f.d.cfg.Partner.ClientID, DisplayName: "tenantsync",
			ApplicationGrants: []partnercenter.ApplicationGrant{{EnterpriseApplicationID: partnercenter.GraphResourceAppID, Scope: consentScopes}},
		}, 4)
	}
	if err != nil {
		f.audit(ctx, tenantsync.AuditEntry{Actor: t.actor, Action: "app-consent", Phase: "result", Outcome: "failed", Error: err.Error()})
		f.page(w, pageStatus(err), connectPage{Title: "Consent was not granted", Err: err.Error(), Hint: tenantsync.HintOf(err)})
		return
	}
	page := connectPage{Title: "Application consent across customers"}
	for _, o := range outcomes {
		row := consentRow{TenantID: o.TenantID, Result: "consented"}
		e := tenantsync.AuditEntry{Actor: t.actor, Action: "app-consent", TenantID: o.TenantID, Phase: "result", Outcome: "succeeded",
			Detail: map[string]string{"scopes": consentScopes}}
		switch {
		case o.Err != nil:
			row.Result, row.Err, row.Hint = "failed", o.Err.Error(), tenantsync.HintOf(o.Err)
			e.Outcome, e.Error = "failed", o.Err.Error()
		case !o.Created:
			row.Result = "already consented"
		}
		f.audit(ctx, e)
		page.Consents = append(page.Consents, row)
	}
	page.Granted, page.Existed, page.Failed = partnercenter.ConsentSummary(outcomes)
	f.page(w, http.StatusOK, page)
}

// partnerCenter builds a Partner Center client on a partner admin refresh token.
func (f *connectFlow) partnerCenter(rt tenantsync.Secret, rotate func(context.Context, tenantsync.Secret) error) (*partnercenter.Client, error) {
	p := f.d.cfg.Partner
	cfg := partnercenter.Config{PartnerTenantID: p.TenantID, ClientID: p.ClientID, ClientSecret: p.Secret,
		RefreshToken: rt, OnRefreshTokenRotated: rotate, AuthorityHost: f.authority, PartnerCenterURL: f.pcURL, GraphURL: f.graphURL,
		Settings: transport.Settings{HTTPClient: f.hc}}
	if f.d.fake == nil {
		cfg.Cloud = p.Cloud
	}
	return partnercenter.NewClient(cfg)
}

// browserAllowed applies the API's Host rule to a browser route, and for a form post requires
// the daemon's own Origin (a browser always sends one with a POST).
func (f *connectFlow) browserAllowed(w http.ResponseWriter, r *http.Request, post bool) bool {
	if f.off != nil {
		f.page(w, http.StatusConflict, connectPage{Title: "Connecting is not available", Err: f.off.Error(), Hint: tenantsync.HintOf(f.off)})
		return false
	}
	if !f.a.hosts.allows(r.Host) {
		failStatus(w, http.StatusMisdirectedRequest, tenantsync.Errorf(tenantsync.ErrForbidden,
			"open the link syncd gave; it names this daemon's address", "this daemon does not answer for host %q", r.Host))
		return false
	}
	if post && !f.a.hosts.allowsOrigin(r.Header.Get("Origin")) {
		failStatus(w, http.StatusForbidden, tenantsync.Errorf(tenantsync.ErrForbidden,
			"use the button on the connection page syncd showed", "form posts from origin %q are refused", r.Header.Get("Origin")))
		return false
	}
	return true
}

func (f *connectFlow) newTicket(actor string, customers []string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for k, t := range f.tickets {
		if now.After(t.expires) {
			delete(f.tickets, k)
		}
	}
	f.tickets[tok] = consentTicket{actor: actor, customers: customers, expires: now.Add(entra.ConnectStateTTL)}
	return tok
}

func (f *connectFlow) takeTicket(tok string) (consentTicket, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tickets[tok]
	delete(f.tickets, tok)
	return t, ok && time.Now().Before(t.expires)
}

func (f *connectFlow) audit(ctx context.Context, e tenantsync.AuditEntry) {
	e.At = time.Now()
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := f.d.store.Account(f.d.cfg.Account).Audit.Append(actx, e); err != nil {
		f.d.log.Error("audit append failed", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// pageStatus is the HTTP status of a failed connect step.
func pageStatus(err error) int {
	switch {
	case errors.Is(err, tenantsync.ErrInvalidInput):
		return http.StatusBadRequest
	case errors.Is(err, tenantsync.ErrForbidden), errors.Is(err, tenantsync.ErrConsentRequired),
		errors.Is(err, tenantsync.ErrAuthorizationRevoked), errors.Is(err, tenantsync.ErrUnauthorized):
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}

type customerRow struct{ TenantID, Name, Domain string }

type consentRow struct{ TenantID, Result, Err, Hint string }

type connectPage struct {
	Title, Err, Hint, SignedInAs string
	// SignInURL is the link to the partner admin's sign-in, on the page the console's Connect
	// button shows.
	SignInURL                string
	Customers                []customerRow
	Ticket                   string
	Consents                 []consentRow
	Granted, Existed, Failed int
}

var connectTemplate = template.Must(template.New("connect").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · syncd</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem}td,th{padding:.2rem .6rem;text-align:left}
.err{color:#a00}.hint{background:#fff6d5;padding:.6rem}</style></head><body>
<h1>{{.Title}}</h1>
{{if .SignInURL}}<p>Sign in as a partner admin of the partner tenant (Admin Agent role, with multifactor authentication) and
accept the permissions: Microsoft sends you back here. The link works once, within 15 minutes.</p>
<p><a id="sign-in" href="{{.SignInURL}}">Sign in with Microsoft</a></p>{{end}}
{{if .Err}}<p class="err" id="error">{{.Err}}</p>{{if .Hint}}<p class="hint" id="hint">What to do: {{.Hint}}</p>{{end}}{{end}}
{{if .SignedInAs}}<p id="signed-in">Signed in as {{.SignedInAs}}. The authorization is stored sealed and renewed on every use.</p>
<h2>Partner Center customers ({{len .Customers}})</h2>
<table id="customers"><tr><th>Customer</th><th>Domain</th><th>Tenant ID</th></tr>
{{range .Customers}}<tr><td>{{.Name}}</td><td>{{.Domain}}</td><td>{{.TenantID}}</td></tr>{{end}}</table>
{{if .Ticket}}<form method="post" action="/connect/consent"><input type="hidden" name="ticket" value="{{.Ticket}}">
<p>Grant the partner app consent in every customer listed above, through Partner Center's application consent:</p>
<button type="submit" id="consent">Grant consent in {{len .Customers}} customers</button></form>{{end}}{{end}}
{{if .Consents}}<p id="summary">{{.Granted}} consented, {{.Existed}} already consented, {{.Failed}} failed.</p>
<table id="consents"><tr><th>Tenant ID</th><th>Result</th><th>What to do</th></tr>
{{range .Consents}}<tr><td>{{.TenantID}}</td><td>{{.Result}}{{if .Err}}: {{.Err}}{{end}}</td><td>{{.Hint}}</td></tr>{{end}}</table>{{end}}
</body></html>`))

func (f *connectFlow) page(w http.ResponseWriter, status int, p connectPage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The callback's URL holds the authorization code: no page it shows may pass it to another
	// site. same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with
	// the consent form's post, which the Origin check must refuse (the browser test found it).
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The hint has its own box (and column): the error's text need not repeat it.
	p.Err = withoutHint(p.Err, p.Hint)
	for i := range p.Consents {
		p.Consents[i].Err = withoutHint(p.Consents[i].Err, p.Consents[i].Hint)
	}
	if err := connectTemplate.Execute(w, p); err != nil {
		f.d.log.Warn("connect page", "err", err)
	}
}

// withoutHint cuts the "What to do" an error's text ends with when the hint is shown apart.
func withoutHint(msg, hint string) string {
	if i := strings.Index(msg, ". What to do: "); i >= 0 && hint != "" && strings.Contains(msg[i:], hint) {
		return msg[:i+1]
	}
	return msg
}
