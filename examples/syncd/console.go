package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// The console's pages, its style sheet and its one script (live progress). Everything is
// served from the binary: no build step, no CDN.
//
//go:embed console/*.html console/console.css console/console.js
var consoleFiles embed.FS

const (
	// sessionCookie holds the session's ID, a random 256-bit value, and nothing else: the
	// session on the server holds the actor and the digest of the token it logged in with,
	// checked against the credentials at every request; it ends at logout or after sessionTTL.
	// The API token never goes into a cookie:
	// browsers do not keep cookies apart by port, so another program listening on the same
	// host could be sent it.
	sessionCookie = "syncd_session"
	// loginCookie holds the login form's CSRF token (double submit): a page on another origin
	// cannot log a browser in under the attacker's token.
	loginCookie = "syncd_login"

	sessionTTL  = 12 * time.Hour
	maxSessions = 1024
	// maxForm bounds a console form body; the largest is a review decision.
	maxForm = 16 << 10

	// Rows a section shows; the API pages through the rest.
	maxRows = 200
	// auditRows is how many audit entries one page of the log shows.
	auditRows = 50
)

// console is the daemon's web console: server-rendered pages over the same engine and store
// calls the API handlers make, authenticated with the same tokens, with its own session cookie
// and CSRF checks because a browser, unlike a script, sends cookies by itself.
type console struct {
	api   *api
	pages *template.Template
	now   func() time.Time

	mu       gosync.Mutex
	sessions map[string]*consoleSession
	billing  map[string]billingEntry // by client ID
	waste    map[string]wasteEntry   // by client ID
}

// billingEntry is a client's billable count and the state of its tenants it was counted at.
type billingEntry struct {
	key   string
	count sync.BillingCount
}

type consoleSession struct {
	id      string
	actor   string
	token   [sha256.Size]byte // the digest of the token the session logged in with
	csrf    string
	expires time.Time
	flash   *flash // the outcome of the last action, shown once
}

// flash is the outcome of a console action, shown at the top of the next page.
type flash struct {
	OK      bool
	Message string
	Hint    string
}

func newConsole(a *api) (*console, error) {
	pages, err := template.New("console").Funcs(consoleFuncs).ParseFS(consoleFiles, "console/*.html")
	if err != nil {
		return nil, err
	}
	return &console{api: a, pages: pages, now: time.Now, sessions: map[string]*consoleSession{}, billing: map[string]billingEntry{},
		waste: map[string]wasteEntry{}}, nil
}

// handler serves the console's paths and hands every other request to next (the API).
func (c *console) handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.page(c.home))
	mux.HandleFunc("GET /console/progress", c.page(c.progressFragment))
	mux.HandleFunc("GET /login", c.secure(c.loginForm))
	mux.HandleFunc("POST /login", c.secure(c.login))
	mux.HandleFunc("POST /logout", c.form(c.logout))
	mux.HandleFunc("POST /console/suggestions/accept", c.form(c.acceptSuggestion))
	mux.HandleFunc("POST /console/reviews/{id}/resolve", c.form(c.resolveReview))
	mux.HandleFunc("POST /console/tenants/{id}/contact-failures/{userId}/resolve", c.form(c.resolveContactFailure))
	mux.HandleFunc("POST /console/tenants/{id}/asset-reviews/{deviceId}/resolve", c.form(c.resolveAssetReview))
	mux.HandleFunc("POST /console/tenants/{id}/asset-hold/release", c.form(c.releaseAssetHold))
	mux.HandleFunc("POST /console/tenants/{id}/sync", c.form(c.syncNow))
	mux.HandleFunc("POST /console/tenants/{id}/create-remaining", c.form(c.createRemaining))
	mux.HandleFunc("POST /console/partner/connect", c.form(c.partnerConnect))
	mux.HandleFunc("POST /console/writes", c.form(c.write))
	mux.HandleFunc("GET /console/static/{file}", c.secure(c.static))
	mux.Handle("/", next)
	return mux
}

// secure checks the Host header as the API does and sets the headers every console answer
// carries: no framing, no sniffing, scripts from the daemon only, nothing cached.
func (c *console) secure(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		if !c.api.hosts.allows(r.Host) {
			c.refuse(w, r, http.StatusMisdirectedRequest, "This daemon does not answer for host "+strconv.Quote(r.Host)+".",
				"Open the console at http://"+net.JoinHostPort(c.api.hosts.configured, c.api.hosts.port)+"/ (or localhost with the same port).")
			return
		}
		h(w, r)
	}
}

// page serves a GET for a logged-in browser; anyone else is sent to the login form.
func (c *console) page(h func(http.ResponseWriter, *http.Request, *consoleSession)) http.HandlerFunc {
	return c.secure(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), actorKey, s.actor)), s)
	})
}

// form serves a POST from a console form: it must come from the console's own origin, carry
// a valid session and that session's CSRF token. The handler runs with the session's actor as
// the request's actor, as an API call runs with its token's.
func (c *console) form(h func(http.ResponseWriter, *http.Request, *consoleSession)) http.HandlerFunc {
	return c.secure(func(w http.ResponseWriter, r *http.Request) {
		if !c.sameOrigin(r) {
			c.refuse(w, r, http.StatusForbidden, "This form was sent from another site and was refused.",
				"Use the console's own pages; reload the console and try again.")
			return
		}
		s, ok := c.session(r)
		if !ok {
			c.refuse(w, r, http.StatusUnauthorized, "You are not logged in, or your session has ended.", "Log in again with your API token.")
			return
		}
		if !c.parseForm(w, r) {
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
			c.refuse(w, r, http.StatusForbidden, "This form carries no valid CSRF token and was refused.",
				"Reload the console and send the form again from the page.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), actorKey, s.actor)), s)
	})
}

// sameOrigin reports whether a POST comes from the console's own origin: Origin, which every
// current browser sends on a POST, must name the scheme and host the request came to (a host
// the daemon answers for); without Origin, Sec-Fetch-Site must not say another site.
func (c *console) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != scheme(r) || u.Path != "" || u.User != nil || u.RawQuery != "" {
			return false
		}
		return strings.EqualFold(u.Host, r.Host) && c.api.hosts.allows(u.Host)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func (c *console) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if isTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		c.refuse(w, r, status, "The form could not be read.", "Send it again from the console's page.")
		return false
	}
	return true
}

// session returns the live session the request's cookie names, its token still valid.
func (c *console) session(r *http.Request) (*consoleSession, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	s := c.sessions[ck.Value]
	c.mu.Unlock()
	if s == nil || !c.now().Before(s.expires) {
		return nil, false
	}
	if actor, ok := c.api.creds.actorOf(s.token); !ok || actor != s.actor {
		return nil, false
	}
	return s, true
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSession starts a session for actor, dropping expired ones and, past maxSessions, the
// oldest, so a flood of logins with a valid token cannot grow memory without bound.
func (c *console) newSession(actor, token string) *consoleSession {
	now := c.now()
	s := &consoleSession{id: randomToken(), actor: actor, token: sha256.Sum256([]byte(token)), csrf: randomToken(), expires: now.Add(sessionTTL)}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, old := range c.sessions {
		if !now.Before(old.expires) {
			delete(c.sessions, id)
		}
	}
	for len(c.sessions) >= maxSessions {
		var oldest *consoleSession
		for _, old := range c.sessions {
			if oldest == nil || old.expires.Before(oldest.expires) {
				oldest = old
			}
		}
		delete(c.sessions, oldest.id)
	}
	c.sessions[s.id] = s
	return s
}

func (c *console) setFlash(s *consoleSession, f flash) {
	c.mu.Lock()
	s.flash = &f
	c.mu.Unlock()
}

func (c *console) takeFlash(s *consoleSession) *flash {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

func (c *console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

type loginData struct {
	CSRF      string
	Error     string
	Hint      string
	Retry     int
	LoggedOut bool
}

func (c *console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, loginData{LoggedOut: r.URL.Query().Has("out")})
}

func (c *console) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.CSRF = randomToken()
	http.SetCookie(w, c.cookie(r, loginCookie, d.CSRF, 3600))
	c.render(w, status, "login.html", d)
}

// login takes the API token from the form, authenticates it as the API does (failures
// counted per address, past the limit refused with Retry-After, never logged or audited) and
// starts a session.
func (c *console) login(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.refuse(w, r, http.StatusForbidden, "This login was sent from another site and was refused.", "Open the console's login page and log in there.")
		return
	}
	if !c.parseForm(w, r) {
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.renderLogin(w, r, http.StatusForbidden, loginData{Error: "The login form had expired or was not the console's own.",
			Hint: "Log in again on this page."})
		return
	}
	actor, ok := c.api.creds.actor(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		hint := "Paste the install token from " + c.api.creds.tokenFile + " (actor admin), or your own token from the -actors-file."
		if ok, wait := c.api.failures.allow(host); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			c.renderLogin(w, r, http.StatusTooManyRequests, loginData{Error: "Too many failed logins from " + host + ".", Hint: hint, Retry: secs})
			return
		}
		c.renderLogin(w, r, http.StatusUnauthorized, loginData{Error: "That API token is not valid.", Hint: hint})
		return
	}
	s := c.newSession(actor, strings.TrimSpace(r.PostFormValue("token")))
	http.SetCookie(w, c.cookie(r, loginCookie, "", -1))
	http.SetCookie(w, c.cookie(r, sessionCookie, s.id, int(sessionTTL/time.Second)))
	ctx := context.WithValue(r.Context(), actorKey, actor)
	if err := c.api.auditCall(ctx, tenantsync.AuditEntry{Action: "console_login", Outcome: "succeeded"}, nil); err != nil {
		c.setFlash(s, flash{Message: err.Error(), Hint: tenantsync.HintOf(err)})
	}
	c.api.log.Info("console login", "actor", actor)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *console) logout(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	c.mu.Lock()
	delete(c.sessions, s.id)
	c.mu.Unlock()
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	_ = c.api.auditCall(r.Context(), tenantsync.AuditEntry{Action: "console_logout", Outcome: "succeeded"}, nil)
	http.Redirect(w, r, "/login?out", http.StatusSeeOther)
}

// acceptSuggestion links a tenant to the client a person picked, through the calls the API's
// POST /api/suggestions/accept makes: the engine checks and audits the link under the actor.
func (c *console) acceptSuggestion(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	ctx := r.Context()
	tenantID, clientID := r.PostFormValue("tenantId"), r.PostFormValue("clientId")
	err := c.api.clientExists(ctx, clientID)
	if err == nil {
		err = c.api.engine.Link(ctx, actorFrom(ctx), tenantID, clientID)
	}
	c.done(w, r, s, err, fmt.Sprintf("Linked %s to %s; its initial sync has started.", c.tenantName(ctx, tenantID), c.clientName(ctx, clientID)), "#progress")
}

// resolveReview closes a review with the decision picked in its form: "link:<contact>",
// "create" or "ignore", through the engine's ResolveReview as the API does.
func (c *console) resolveReview(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	var d sync.Decision
	switch v := r.PostFormValue("decision"); {
	case strings.HasPrefix(v, "link:"):
		d = sync.Decision{Action: store.ResolveLink, ContactID: strings.TrimPrefix(v, "link:")}
	case v == string(store.ResolveCreate), v == string(store.ResolveIgnore):
		d.Action = store.ResolutionAction(v)
	default:
		c.done(w, r, s, tenantsync.Errorf(tenantsync.ErrInvalidInput, "pick one of the choices of the review, then Resolve",
			"no decision picked"), "", "#reviews")
		return
	}
	rv, err := c.api.engine.ResolveReview(r.Context(), actorFrom(r.Context()), r.PathValue("id"), d)
	msg := ""
	if err == nil {
		msg = "Review resolved (" + describeOutcome(rv.Outcome()) + "); the next sync applies it."
	}
	c.done(w, r, s, err, msg, "#reviews")
}

// resolveContactFailure is a person's decision about a contact the PSA refused: write it
// again or leave the user without it.
func (c *console) resolveContactFailure(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	var res sync.ContactResolution
	switch r.PostFormValue("decision") {
	case "retry":
		res.Decision = sync.ContactRetry
	case "ignore":
		res.Decision = sync.ContactIgnore
	default:
		c.done(w, r, s, tenantsync.Errorf(tenantsync.ErrInvalidInput, "press Retry or Leave it", "no decision picked"), "", "#refused")
		return
	}
	err := c.api.engine.ResolveContactFailure(r.Context(), actorFrom(r.Context()), r.PathValue("id"), r.PathValue("userId"), res)
	c.done(w, r, s, err, "Decision recorded: "+r.PostFormValue("decision")+".", "#refused")
}

// syncNow starts a sync of the tenant as POST /api/tenants/{id}/sync does: the engine's
// cooldown and running checks apply, and the request and its result are audited under the
// actor. The progress section follows it.
func (c *console) syncNow(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	id := r.PathValue("id")
	_, _, err := c.api.beginRun(r.Context(), id, "sync_now", sync.SyncOptions{}, nil)
	c.done(w, r, s, err, "Sync of "+c.tenantName(r.Context(), id)+" started.", "#progress")
}

// createRemaining starts a sync that creates every contact the cap on creates per sync left
// for later syncs, as POST /api/tenants/{id}/contacts/create-remaining does.
func (c *console) createRemaining(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	ctx := r.Context()
	id := r.PathValue("id")
	detail, err := c.api.remainingCreation(ctx, id)
	if err == nil {
		_, _, err = c.api.beginRun(ctx, id, "create_remaining_contacts", sync.SyncOptions{CreateAll: true}, detail)
	}
	c.done(w, r, s, err, "Creating the remaining contacts of "+c.tenantName(ctx, id)+" now.", "#progress")
}

// done shows an action's outcome on the next page (post, redirect, get): reloading the page
// never sends a form twice.
func (c *console) done(w http.ResponseWriter, r *http.Request, s *consoleSession, err error, msg, anchor string) {
	if err != nil {
		f := flash{Message: err.Error(), Hint: tenantsync.HintOf(err)}
		if strings.Contains(f.Message, f.Hint) {
			f.Hint = "" // the message says it already
		}
		c.setFlash(s, f)
	} else {
		c.setFlash(s, flash{OK: true, Message: msg})
	}
	http.Redirect(w, r, "/"+anchor, http.StatusSeeOther)
}

func (c *console) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	var ctype string
	switch name {
	case "console.css":
		ctype = "text/css; charset=utf-8"
	case "console.js":
		ctype = "text/javascript; charset=utf-8"
	default:
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(consoleFiles, "console/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(b)
}

type refusalData struct {
	Status  int
	Message string
	Hint    string
}

func (c *console) refuse(w http.ResponseWriter, _ *http.Request, status int, msg, hint string) {
	c.render(w, status, "refused.html", refusalData{Status: status, Message: msg, Hint: hint})
}

func (c *console) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := c.pages.ExecuteTemplate(&b, name, data); err != nil {
		c.api.log.Error("console template", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// homeData is everything the console's page shows.
type homeData struct {
	Actor       string
	CSRF        string
	Flash       *flash
	Problems    []string // sections that could not be read, and why
	Tenants     []tenantRow
	Progress    progressData
	Suggestions []suggestionRow
	Reviews     []reviewRow
	MoreReviews int
	Clients     []clientRow
	Refused     []refusedRow
	Waste       []wasteRow
	Assets      []assetRow
	Audit       auditData
	TenantNames map[string]string // by tenant ID, for the audit log
	Partner     partnerRow
	Writes      writeForm
}

// partnerRow is the partner connection as the console shows it.
type partnerRow struct {
	// Off says why connecting is not available ("" when it is).
	Off        string
	Connected  bool
	SignedInAs string
}

type tenantRow struct {
	ID, Name, Domain, Status string
	Client                   string
	Syncing, Running         bool
	LastSuccess              time.Time
	LastError                *store.SyncError
	Unavailable              []string
	Holds                    int
	Users                    int
	Readiness                *readinessRow
	// Creation is "created 500 of 8,934; the rest over the next 17 syncs" while the cap on
	// creates per sync leaves contacts for later syncs.
	Creation        string
	CreationPending bool
}

type readinessRow struct {
	State        partnercenter.State
	Relationship string
	Caps         []capCell
	Remedies     []partnercenter.Remedy
}

type capCell struct {
	Label string
	State partnercenter.State
}

type progressData struct {
	Running []runningRow
	Recent  []finishedRow
	Linked  int
	Synced  int
}

type runningRow struct {
	Name  string
	Since time.Time
	Kinds []kindCount
}

type kindCount struct {
	Kind  tenantsync.Kind
	Count int
}

type finishedRow struct {
	Name     string
	At       time.Time
	Users    int
	Duration time.Duration
	Error    *store.SyncError
	Pending  int
	Creation string
}

type suggestionRow struct {
	TenantID, TenantName, Reason string
	AutoAccept                   bool
	Candidates                   []candidateRow
}

type candidateRow struct {
	ClientID, ClientName string
	Confidence           float64
	Evidence             []string
}

type reviewRow struct {
	ID, Tenant, Client, Reason string
	UserName, UPN, Mail        string
	InMirror                   bool
	Created                    time.Time
	Candidates                 []reviewCandidateRow
}

type reviewCandidateRow struct {
	ContactID, Name, Email, JobTitle, Reason string
	Score                                    float64
	Missing                                  bool
}

type clientRow struct {
	ID, Name        string
	Tenants         []string
	Billable        int
	BillingComplete bool
	BillingKnown    bool
	LastSuccess     time.Time
	Failing, Held   int
	ContactFailures int
	ContactsPending int
}

type refusedRow struct {
	TenantID, Tenant string
	store.ContactFailure
}

type auditData struct {
	Verified       bool
	Checked        int
	FirstBroken    int64
	Reason         string
	Head           string
	Entries        []tenantsync.AuditEntry
	Older, Newer   int64 // the auditBefore of the older and newer pages, 0 when none
	VerifyProblem  string
	ListingProblem string
}

func (c *console) home(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	ctx := r.Context()
	d := homeData{Actor: s.actor, CSRF: s.csrf, Flash: c.takeFlash(s)}
	problem := func(section string, err error) {
		msg := section + ": " + err.Error()
		if h := tenantsync.HintOf(err); h != "" && !strings.Contains(msg, h) {
			msg += " (what to do: " + h + ")"
		}
		d.Problems = append(d.Problems, msg)
	}
	sts, err := c.api.engine.Statuses(ctx)
	if err != nil {
		problem("tenants", err)
	}
	clients, err := c.api.store.Directory(c.api.account).ListClients(ctx)
	if err != nil {
		problem("clients", err)
	}
	clientNames := map[string]string{}
	for _, cl := range clients {
		clientNames[cl.ID] = cl.Name
	}
	d.TenantNames = map[string]string{}
	for _, s := range sts {
		d.TenantNames[s.Tenant.ID] = name(s.Tenant)
	}
	d.Tenants = c.tenantRows(ctx, sts, clientNames)
	d.Partner = c.partnerRow(ctx)
	d.Progress = progressOf(sts)
	if d.Suggestions, err = c.suggestionRows(ctx); err != nil {
		problem("suggestions", err)
	}
	if d.Reviews, d.MoreReviews, err = c.reviewRows(ctx, sts, clientNames); err != nil {
		problem("review queue", err)
	}
	if d.Clients, err = c.clientRows(ctx, clients); err != nil {
		problem("clients", err)
	}
	d.Refused = refusedRows(sts)
	if d.Waste, err = c.wasteRows(ctx, clientNames); err != nil {
		problem("licence waste", err)
	}
	if d.Assets, err = c.assetRows(ctx, sts, clientNames); err != nil {
		problem("assets", err)
	}
	d.Audit = c.auditPage(ctx, r.URL.Query().Get("auditBefore"))
	d.Writes = c.writeForm(ctx, d.Tenants, problem)
	c.render(w, http.StatusOK, "home.html", d)
}

func (c *console) progressFragment(w http.ResponseWriter, r *http.Request, _ *consoleSession) {
	sts, err := c.api.engine.Statuses(r.Context())
	if err != nil {
		http.Error(w, "status unavailable", http.StatusServiceUnavailable)
		return
	}
	c.render(w, http.StatusOK, "progress", progressOf(sts))
}

func name(t store.TenantRecord) string { return nonEmpty(t.DisplayName, t.ID) }

func (c *console) tenantRows(ctx context.Context, sts []sync.TenantStatus, clientNames map[string]string) []tenantRow {
	ready := c.api.readinessMap(ctx)
	out := make([]tenantRow, 0, len(sts))
	for _, s := range sts {
		row := tenantRow{ID: s.Tenant.ID, Name: name(s.Tenant), Domain: s.Tenant.DefaultDomain, Status: string(s.Tenant.Status),
			Syncing: s.Tenant.Syncing, Running: s.Running, LastSuccess: s.State.LastSuccess, LastError: s.State.LastError,
			Holds: len(s.Holds), Users: s.State.Counts[tenantsync.KindUsers]}
		if s.Tenant.Linked() {
			row.Client = nonEmpty(clientNames[s.Tenant.ClientID], s.Tenant.ClientID)
		}
		for k := range s.State.KindErrors {
			row.Unavailable = append(row.Unavailable, string(k))
		}
		slices.Sort(row.Unavailable)
		if cr := s.Creation; cr != nil {
			row.Creation, row.CreationPending = cr.String(), !cr.Done()
		}
		if rd, ok := ready[s.Tenant.ID]; ok {
			rr := &readinessRow{State: rd.State(), Relationship: rd.Relationship, Remedies: rd.Remedies()}
			for _, cs := range rd.Capabilities {
				rr.Caps = append(rr.Caps, capCell{Label: cs.Capability.Label(), State: cs.State})
			}
			row.Readiness = rr
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// progressOf is the live part of the page: the syncs running now with what they have fetched
// so far, and the latest ones to finish.
func progressOf(sts []sync.TenantStatus) progressData {
	var p progressData
	for _, s := range sts {
		if !s.Tenant.Linked() {
			continue
		}
		p.Linked++
		if !s.State.LastSuccess.IsZero() {
			p.Synced++
		}
		if s.Running {
			row := runningRow{Name: name(s.Tenant), Since: s.Since}
			for k, n := range s.Progress {
				row.Kinds = append(row.Kinds, kindCount{Kind: k, Count: n})
			}
			slices.SortFunc(row.Kinds, func(a, b kindCount) int { return strings.Compare(string(a.Kind), string(b.Kind)) })
			p.Running = append(p.Running, row)
			continue
		}
		if !s.State.LastFinish.IsZero() {
			f := finishedRow{Name: name(s.Tenant), At: s.State.LastFinish, Users: s.State.Counts[tenantsync.KindUsers],
				Duration: s.State.Duration, Error: s.State.LastError, Pending: s.ContactsPending}
			if s.Creation != nil {
				f.Creation = s.Creation.String()
			}
			p.Recent = append(p.Recent, f)
		}
	}
	sort.Slice(p.Running, func(i, j int) bool { return p.Running[i].Since.Before(p.Running[j].Since) })
	sort.Slice(p.Recent, func(i, j int) bool { return p.Recent[i].At.After(p.Recent[j].At) })
	if len(p.Recent) > 10 {
		p.Recent = p.Recent[:10]
	}
	return p
}

func (c *console) suggestionRows(ctx context.Context) ([]suggestionRow, error) {
	sg, err := c.api.engine.Suggestions(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := make([]suggestionRow, 0, min(len(sg), maxRows))
	for _, s := range sg {
		if len(out) == maxRows {
			break
		}
		row := suggestionRow{TenantID: s.TenantID, TenantName: nonEmpty(s.TenantName, s.TenantID), Reason: s.Reason, AutoAccept: s.AutoAccept}
		for _, cd := range s.Candidates {
			cr := candidateRow{ClientID: cd.ClientID, ClientName: nonEmpty(cd.ClientName, cd.ClientID), Confidence: cd.Confidence}
			for _, sig := range cd.Signals {
				e := string(sig.Evidence)
				if sig.Detail != "" {
					e += ": " + sig.Detail
				}
				cr.Evidence = append(cr.Evidence, e)
			}
			row.Candidates = append(row.Candidates, cr)
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].TenantName) < strings.ToLower(out[j].TenantName) })
	return out, nil
}

// reviewRows are the open reviews with the user's name and UPN from the mirror and each
// candidate contact's name and address from the contact directory.
func (c *console) reviewRows(ctx context.Context, sts []sync.TenantStatus, clientNames map[string]string) ([]reviewRow, int, error) {
	acct := c.api.store.Account(c.api.account)
	rs, err := acct.Reviews.List(ctx, store.ReviewFilter{})
	if err != nil {
		return nil, 0, err
	}
	more := max(0, len(rs)-maxRows)
	rs = rs[:min(len(rs), maxRows)]
	tenantNames := map[string]string{}
	for _, s := range sts {
		tenantNames[s.Tenant.ID] = name(s.Tenant)
	}
	dir := c.api.store.Directory(c.api.account)
	out := make([]reviewRow, 0, len(rs))
	for _, rv := range rs {
		row := reviewRow{ID: rv.ID, Tenant: nonEmpty(tenantNames[rv.TenantID], rv.TenantID), Client: nonEmpty(clientNames[rv.ClientID], rv.ClientID),
			Reason: rv.Reason, Created: rv.CreatedAt, UPN: rv.ObjectID}
		u, err := acct.Mirror.GetUser(ctx, rv.TenantID, rv.ObjectID)
		switch {
		case err == nil:
			row.InMirror, row.UserName, row.UPN, row.Mail = true, u.DisplayName, u.UserPrincipalName, u.Mail
		case !errors.Is(err, tenantsync.ErrNotFound):
			return nil, 0, err
		}
		for _, cd := range rv.Candidates {
			cr := reviewCandidateRow{ContactID: cd.ContactID, Score: cd.Score, Reason: cd.Reason}
			ct, err := dir.GetContact(ctx, rv.ClientID, cd.ContactID)
			switch {
			case err == nil:
				cr.Name = strings.TrimSpace(ct.FirstName + " " + ct.LastName)
				cr.Email, cr.JobTitle = ct.Email, ct.JobTitle
			case errors.Is(err, tenantsync.ErrNotFound):
				cr.Missing = true
			default:
				return nil, 0, err
			}
			row.Candidates = append(row.Candidates, cr)
		}
		out = append(out, row)
	}
	return out, more, nil
}

func (c *console) clientRows(ctx context.Context, clients []tenantsync.Client) ([]clientRow, error) {
	out := make([]clientRow, 0, len(clients))
	for _, cl := range clients {
		st, err := c.api.engine.ClientStatus(ctx, cl.ID)
		if err != nil {
			return out, err
		}
		row := clientRow{ID: cl.ID, Name: nonEmpty(cl.Name, cl.ID), LastSuccess: st.LastSuccess, Failing: st.Failing, Held: st.Held,
			ContactFailures: st.ContactFailures, ContactsPending: st.ContactsPending}
		for _, t := range st.Tenants {
			row.Tenants = append(row.Tenants, name(t.Tenant))
		}
		if len(st.Tenants) > 0 {
			if b, ok := c.billable(ctx, st); ok {
				row.Billable, row.BillingComplete, row.BillingKnown = b.Billable, b.Complete, true
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// billable counts a client's billable users, from a cache while none of its tenants has
// finished a sync since: the count reads every mirrored user of every tenant (10,500 for the
// demo's large one), and only a sync, a link or an unlink changes it.
func (c *console) billable(ctx context.Context, st sync.ClientStatus) (sync.BillingCount, bool) {
	var key strings.Builder
	for _, t := range st.Tenants {
		fmt.Fprintf(&key, "%s@%d;", t.Tenant.ID, t.State.LastFinish.UnixNano())
	}
	c.mu.Lock()
	hit, ok := c.billing[st.ClientID]
	c.mu.Unlock()
	if ok && hit.key == key.String() {
		return hit.count, true
	}
	b, err := c.api.engine.BillableUsers(ctx, st.ClientID)
	if err != nil {
		return sync.BillingCount{}, false
	}
	c.mu.Lock()
	c.billing[st.ClientID] = billingEntry{key: key.String(), count: b}
	c.mu.Unlock()
	return b, true
}

func refusedRows(sts []sync.TenantStatus) []refusedRow {
	var out []refusedRow
	for _, s := range sts {
		for _, f := range s.ContactFailures {
			if !f.Ignored {
				out = append(out, refusedRow{TenantID: s.Tenant.ID, Tenant: name(s.Tenant), ContactFailure: f})
			}
		}
	}
	return out
}

// auditPage verifies the account's audit chain and reads one page of it, newest first: the
// latest entries, or those before the sequence number before names.
func (c *console) auditPage(ctx context.Context, before string) auditData {
	var d auditData
	log := c.api.store.Account(c.api.account).Audit
	rep, err := log.Verify(ctx, nil)
	if err != nil {
		d.VerifyProblem = err.Error()
	} else {
		d.Verified, d.Checked, d.FirstBroken, d.Reason, d.Head = rep.OK(), rep.Entries, rep.FirstBroken, rep.Reason, rep.Head.String()
	}
	var upTo int64 // 0: the newest
	if n, err := strconv.ParseInt(before, 10, 64); err == nil && n > 1 {
		upTo = n - 1
	}
	from := int64(0)
	switch {
	case upTo > 0:
		from = max(0, upTo-auditRows)
	case err == nil && rep.Head.Seq > 0:
		from = max(0, rep.Head.Seq-auditRows)
	}
	// Read forward from there, keeping the last page: past a broken entry the chain's head
	// is behind the log's end, and the entries after it are what a person must see.
	var page []tenantsync.AuditEntry
	for {
		es, err := log.List(ctx, store.AuditQuery{AfterSeq: from, Limit: 500})
		if err != nil {
			d.ListingProblem = err.Error()
			break
		}
		for _, e := range es {
			if upTo > 0 && e.Seq > upTo {
				break
			}
			page = append(page, e)
		}
		if len(page) > auditRows {
			page = page[len(page)-auditRows:]
		}
		if len(es) < 500 || (upTo > 0 && es[len(es)-1].Seq >= upTo) {
			break
		}
		from = es[len(es)-1].Seq
	}
	slices.Reverse(page)
	d.Entries = page
	if len(page) > 0 {
		if oldest := page[len(page)-1].Seq; oldest > 1 {
			d.Older = oldest
		}
		if upTo > 0 {
			d.Newer = page[0].Seq + auditRows + 1
		}
	}
	return d
}

func (c *console) tenantName(ctx context.Context, id string) string {
	if s, err := c.api.engine.Status(ctx, id); err == nil {
		return name(s.Tenant)
	}
	return id
}

func (c *console) clientName(ctx context.Context, id string) string {
	if cl, err := c.api.store.Directory(c.api.account).GetClient(ctx, id); err == nil && cl.Name != "" {
		return cl.Name
	}
	return id
}

func describeOutcome(o store.Resolution) string {
	if o.Action == store.ResolveLink {
		return "linked to contact " + o.ContactID
	}
	return string(o.Action)
}

// stateClass is the badge colour of a readiness state.
func stateClass(s partnercenter.State) string {
	switch s {
	case partnercenter.StateReady:
		return "ok"
	case partnercenter.StateExpiring, partnercenter.StatePropagating, partnercenter.StateUnknown:
		return "warn"
	}
	return "bad"
}

var consoleFuncs = template.FuncMap{
	"stateClass": stateClass,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := time.Since(t)
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%ds ago", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%dh ago", int(d.Hours()))
		}
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	},
	"elapsed": func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
	"round":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"pct":     func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"join":    strings.Join,
	"detail": func(m map[string]string) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+m[k])
		}
		return strings.Join(parts, " ")
	},
}

// partnerRow reads the partner connection's state: whether connecting is available, and who
// connected last.
func (c *console) partnerRow(ctx context.Context) partnerRow {
	f := c.api.connect
	if f == nil {
		return partnerRow{Off: "the connect page is not mounted"}
	}
	if f.off != nil {
		return partnerRow{Off: f.off.Error()}
	}
	row := partnerRow{Connected: f.d.partnerAuth.connected()}
	if conn, err := c.api.store.Account(c.api.account).Connections.Get(ctx, partnerTokenConnection); err == nil {
		var cfg struct {
			SignedInAs string `json:"signedInAs"`
		}
		if json.Unmarshal(conn.Config, &cfg) == nil {
			row.SignedInAs = cfg.SignedInAs
		}
	}
	return row
}

// partnerConnect starts the partner admin's sign-in for the session's actor, as POST
// /api/partner/connect does, and shows the sign-in link. The link is followed by the person,
// not by a redirect: the console's pages allow form posts to the daemon only, and a browser
// applies that to where a form's answer redirects.
func (c *console) partnerConnect(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	f := c.api.connect
	var err error
	switch {
	case f == nil:
		err = tenantsync.Errorf(tenantsync.ErrInvalidInput, "run syncd with a partner app", "connecting is not available")
	default:
		err = f.authorize(r.Context(), actorFrom(r.Context()))
		if err == nil {
			err = f.off
		}
	}
	var link string
	if err == nil {
		link, err = f.signInLink(r.Context(), actorFrom(r.Context()))
	}
	if err != nil {
		c.done(w, r, s, err, "", "#partner")
		return
	}
	f.page(w, http.StatusOK, connectPage{Title: "Connect the partner tenant", SignInURL: link})
}
