package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/workflow"
)

// api serves the daemon's JSON API. Every route is scoped to the daemon's one account.
type api struct {
	account   string
	engine    *sync.Engine
	store     daemonStore
	metrics   *metrics
	readiness func(ctx context.Context) map[string]partnercenter.TenantReadiness
	log       *slog.Logger
	// refresh brings the state-derived metrics up to date before /metrics answers.
	refresh func(ctx context.Context)
	// initialDone is closed once the initial sync of the tenants linked at start has ended.
	initialDone <-chan struct{}

	hosts    hostPolicy
	creds    *credentials
	failures *failureLimiter
	runs     *syncRuns
	// workflows plans and runs onboarding, offboarding and profile workflows.
	workflows *workflow.Runner
	// deliverer pushes the change feed to the webhook endpoint; nil when none is configured.
	deliverer *webhook
	// connect is the partner connect flow, set when its routes are mounted; the console
	// starts sign-ins through it.
	connect *connectFlow
	// healthLog lets a failed health check be logged once a minute: /healthz needs no token.
	healthLog *rate.Limiter
}

// route is one API endpoint: a ServeMux pattern and its handler.
type route struct {
	pattern string
	handler http.HandlerFunc
}

func (a *api) endpoints() []route {
	return []route{
		{"GET /healthz", a.healthz},
		{"GET /metrics", a.metricsHandler},
		{"GET /openapi.json", a.openAPI},
		{"GET /api/tenants", a.listTenants},
		{"GET /api/tenants/{id}", a.getTenant},
		{"POST /api/tenants/{id}/link", a.link},
		{"POST /api/tenants/{id}/unlink", a.unlink},
		{"POST /api/tenants/{id}/sync", a.syncNow},
		{"GET /api/tenants/{id}/sync/runs", a.listRuns},
		{"GET /api/tenants/{id}/sync/runs/{runId}", a.getRun},
		{"GET /api/tenants/{id}/groups", a.listGroups},
		{"POST /api/tenants/{id}/contacts/create-remaining", a.createRemainingContacts},
		{"POST /api/tenants/{id}/holds/{kind}/release", a.releaseHold},
		{"POST /api/tenants/{id}/contact-failures/{userId}/resolve", a.resolveContactFailure},
		{"POST /api/tenants/{id}/asset-reviews/{deviceId}/resolve", a.resolveAssetReview},
		{"POST /api/tenants/{id}/asset-hold/release", a.releaseAssetHold},
		{"GET /api/suggestions", a.suggestions},
		{"POST /api/suggestions/accept", a.acceptSuggestions},
		{"GET /api/clients", a.listClients},
		{"GET /api/clients/{id}", a.getClient},
		{"GET /api/clients/{id}/contacts", a.clientContacts},
		{"GET /api/clients/{id}/assets", a.clientAssets},
		{"POST /api/clients/{id}/active", a.markActive},
		{"GET /api/reviews", a.listReviews},
		{"POST /api/reviews/{id}/resolve", a.resolveReview},
		{"POST /api/writes", a.write},
		{"POST /api/workflows/plan", a.planWorkflow},
		{"POST /api/workflows", a.startWorkflow},
		{"GET /api/workflows/{id}", a.getWorkflow},
		{"POST /api/workflows/{id}/resume", a.resumeWorkflow},
		{"GET /api/audit", a.audit},
		{"GET /api/changes", a.changes},
		{"GET /api/webhooks/deliveries", a.webhookDeliveries},
		{"GET /api/clients/{id}/license-waste", a.licenseWaste},
		{"GET /api/billing", a.billingHistory},
		{"GET /api/settings", a.getSettings},
		{"PUT /api/settings", a.putSettings},
		{"GET /api/clients/{id}/settings", a.getSettings},
		{"PUT /api/clients/{id}/settings", a.putSettings},
		{"GET /api/connections", a.listConnections},
		{"POST /api/connections/{name}/disconnect", a.disconnect},
	}
}

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range a.endpoints() {
		mux.HandleFunc(r.pattern, r.handler)
	}
	return a.guard(a.logged(answerUnrouted(mux)))
}

func (a *api) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
			a.log.Debug("api", "actor", actorFrom(r.Context()), "method", r.Method, "path", r.URL.Path, "status", rec.status, "took", time.Since(start).Round(time.Millisecond))
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// apiError is the body of every error answer: what went wrong, its kind and what to do.
type apiError struct {
	Error      string `json:"error"`
	Kind       string `json:"kind,omitempty"`
	Hint       string `json:"hint,omitempty"`
	RetryAfter int    `json:"retryAfterSeconds,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Hints quote headers such as "Bearer <token>"; the answer is JSON, never HTML.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// statusOf maps an error class to the HTTP status the API answers with.
func statusOf(kind error) int {
	switch kind {
	case tenantsync.ErrInvalidInput:
		return http.StatusBadRequest
	case tenantsync.ErrNotFound, tenantsync.ErrTenantNotFound, tenantsync.ErrClientNotFound:
		return http.StatusNotFound
	case tenantsync.ErrAlreadyRunning, tenantsync.ErrAlreadyLinked, tenantsync.ErrConflict:
		return http.StatusConflict
	case tenantsync.ErrCooldown, tenantsync.ErrThrottled:
		return http.StatusTooManyRequests
	case tenantsync.ErrPermissionDenied, tenantsync.ErrWritesDisabled, tenantsync.ErrApprovalDenied, tenantsync.ErrForbidden, tenantsync.ErrRoleMissing, tenantsync.ErrLicenseRequired:
		return http.StatusForbidden
	case tenantsync.ErrApprovalPending:
		return http.StatusAccepted
	case tenantsync.ErrUnauthorized, tenantsync.ErrConsentRequired, tenantsync.ErrAuthorizationRevoked:
		// The daemon's own credentials for a service were refused: the caller is not at fault.
		return http.StatusBadGateway
	case tenantsync.ErrLimitExceeded:
		return http.StatusRequestEntityTooLarge
	case tenantsync.ErrUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail writes err with the status its kind maps to, its kind and its hint.
func fail(w http.ResponseWriter, err error) {
	failStatus(w, statusOf(tenantsync.ClassOf(err)), err)
}

// failStatus writes err with the given status.
func failStatus(w http.ResponseWriter, status int, err error) {
	kind := tenantsync.ClassOf(err)
	body := apiError{Error: apiMessage(err), Hint: apiHint(tenantsync.HintOf(err))}
	if kind != nil {
		body.Kind = tenantsync.ClassName(kind)
	}
	if d, ok := tenantsync.Details(err); ok && d.RetryAfter > 0 {
		secs := int(math.Ceil(d.RetryAfter.Seconds()))
		body.RetryAfter = secs
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, status, body)
}

func badRequest(w http.ResponseWriter, hint, format string, args ...any) {
	fail(w, tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...))
}

// decode reads the request body, one JSON value of v's shape and nothing after it, or answers
// 400 (413 past the size cap) with usage as the hint and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any, usage string) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Anything but white space after the value is refused: a body means one thing only.
		switch err = dec.Decode(&json.RawMessage{}); {
		case err == io.EOF:
			return true
		case !isTooLarge(err):
			badRequest(w, usage, "request body: nothing may follow the JSON value")
			return false
		}
	}
	switch {
	case isTooLarge(err):
		tooLarge(w)
	case err == io.EOF:
		badRequest(w, usage, "request body: empty")
	default:
		badRequest(w, usage, "request body: %v", err)
	}
	return false
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := a.store.Directory(a.account).ListClients(r.Context()); err != nil {
		// /healthz answers without a token: the cause (a database's host, user or file path)
		// goes to the daemon's log, not to the caller, at most once a minute however often it
		// is asked.
		if a.healthLog.Allow() {
			a.log.Error("health check: the store did not answer", "err", err)
		}
		writeJSON(w, http.StatusServiceUnavailable, healthWire{Status: "store unavailable",
			Error: "the store did not answer; the daemon's log has the cause"})
		return
	}
	initial := "running"
	select {
	case <-a.initialDone:
		initial = "done"
	default:
	}
	writeJSON(w, http.StatusOK, healthWire{Status: "ok", InitialSync: initial, Version: tenantsync.Version})
}

func (a *api) metricsHandler(w http.ResponseWriter, r *http.Request) {
	if a.refresh != nil {
		a.refresh(r.Context())
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	a.metrics.writeTo(w)
}

func (a *api) listTenants(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	sts, err := a.engine.Statuses(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	ready := a.readinessMap(r.Context())
	out := make([]tenantWire, 0, len(sts))
	for _, s := range sts {
		var rd *partnercenter.TenantReadiness
		if v, ok := ready[s.Tenant.ID]; ok {
			rd = &v
		}
		out = append(out, newTenantWire(s, rd))
	}
	key := func(t tenantWire) string { return t.DisplayName + "\x00" + t.ID }
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	writeJSON(w, http.StatusOK, paginate(out, key, p))
}

func (a *api) readinessMap(ctx context.Context) map[string]partnercenter.TenantReadiness {
	if a.readiness == nil {
		return nil
	}
	return a.readiness(ctx)
}

func (a *api) getTenant(w http.ResponseWriter, r *http.Request) {
	s, err := a.engine.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	var rd *partnercenter.TenantReadiness
	if v, ok := a.readinessMap(r.Context())[s.Tenant.ID]; ok {
		rd = &v
	}
	writeJSON(w, http.StatusOK, newTenantWire(s, rd))
}

func (a *api) link(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID string `json:"clientId"`
	}
	const usage = `send {"clientId": "..."}`
	if !decode(w, r, &body, usage) {
		return
	}
	if body.ClientID == "" {
		badRequest(w, usage, "clientId is missing")
		return
	}
	if err := a.clientExists(r.Context(), body.ClientID); err != nil {
		fail(w, err)
		return
	}
	if err := a.engine.Link(r.Context(), actorFrom(r.Context()), r.PathValue("id"), body.ClientID); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, statusWire{Status: "linked; initial sync started"})
}

func (a *api) unlink(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Mode string `json:"mode"`
	}
	const usage = `send {"mode": "keep"} (data kept, syncing stops) or {"mode": "purge"} (mirror and links deleted)`
	if !decode(w, r, &body, usage) {
		return
	}
	mode := store.UnlinkKeep
	switch body.Mode {
	case "", "keep":
	case "purge":
		mode = store.UnlinkPurge
	default:
		badRequest(w, usage, "mode %q is neither keep nor purge", body.Mode)
		return
	}
	if err := a.engine.Unlink(r.Context(), actorFrom(r.Context()), r.PathValue("id"), mode); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusWire{Status: "unlinked", Mode: mode.String()})
}

// releaseHold lets the deletion guard's held removal of one kind apply at the tenant's next
// sync, which it starts at once. The engine audits the release with the caller's actor.
func (a *api) releaseHold(w http.ResponseWriter, r *http.Request) {
	kind := tenantsync.Kind(r.PathValue("kind"))
	if !kind.Valid() {
		fail(w, tenantsync.Errorf(tenantsync.ErrInvalidInput,
			"name a held kind as the tenant shows it under holds (users, mailboxes, devices, domains, subscriptions, mfa)",
			"unknown kind %q", kind))
		return
	}
	if err := a.engine.ReleaseHold(r.Context(), actorFrom(r.Context()), r.PathValue("id"), kind); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, statusWire{Status: "released", Kind: string(kind)})
}

// resolveContactFailure is a person's decision about a user whose contact the PSA keeps
// refusing: write it again, take an existing contact of the client, or leave the user without
// one. The engine audits it with the caller's actor.
func (a *api) resolveContactFailure(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision  string `json:"decision"`
		ContactID string `json:"contactId"`
	}
	const usage = `send {"decision": "retry"}, {"decision": "merge", "contactId": "..."} or {"decision": "ignore"}`
	if !decode(w, r, &body, usage) {
		return
	}
	res := sync.ContactResolution{ContactID: body.ContactID}
	switch body.Decision {
	case "retry":
		res.Decision = sync.ContactRetry
	case "merge":
		res.Decision = sync.ContactMerge
		if body.ContactID == "" {
			badRequest(w, usage, "decision merge needs contactId: the client's contact that is this user")
			return
		}
	case "ignore":
		res.Decision = sync.ContactIgnore
	default:
		badRequest(w, usage, "decision %q is not retry, merge or ignore", body.Decision)
		return
	}
	err := a.engine.ResolveContactFailure(r.Context(), actorFrom(r.Context()), r.PathValue("id"), r.PathValue("userId"), res)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statusWire{Status: "resolved", Decision: body.Decision})
}

// auditCall appends the result of a state-changing call the engine does not audit itself,
// under the authenticated actor.
func (a *api) auditCall(ctx context.Context, e tenantsync.AuditEntry, callErr error) error {
	e.Phase = "result"
	return a.auditAs(ctx, actorFrom(ctx), e, callErr)
}

// auditAs appends e under actor; a call that ran after its request ended (a sync run) names
// the actor who asked for it.
func (a *api) auditAs(ctx context.Context, actor string, e tenantsync.AuditEntry, callErr error) error {
	e.At, e.Actor = time.Now(), actor
	if e.Phase == "" {
		e.Phase = "result"
	}
	if callErr != nil {
		e.Error = callErr.Error()
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		e.Detail["error_kind"] = tenantsync.ClassName(tenantsync.ClassOf(callErr))
	}
	// The entry must land even when the caller hung up, or the call would vanish from the log.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := a.store.Account(a.account).Audit.Append(actx, e); err != nil {
		a.log.Error("audit append failed", "action", e.Action, "actor", e.Actor, "err", err)
		return &tenantsync.Error{Class: tenantsync.ClassOf(err), Service: "syncd", Op: e.Action,
			Message: "the call was made but could not be audited",
			Hint:    "check the store; the call's effect is in the tenant's or client's status", Err: err}
	}
	return nil
}

// clientExists fails with ErrNotFound when the account has no such client: linking a tenant to
// it, or marking it active, would otherwise succeed and leave a dangling reference.
func (a *api) clientExists(ctx context.Context, clientID string) error {
	_, err := a.store.Directory(a.account).GetClient(ctx, clientID)
	if err != nil && errors.Is(err, tenantsync.ErrNotFound) {
		return &tenantsync.Error{Class: tenantsync.ErrNotFound, Service: "syncd", Message: "the account has no client " + clientID,
			Hint: "list the clients with GET /api/clients and use one of their IDs", Err: err}
	}
	return err
}

func (a *api) suggestions(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	sg, err := a.engine.Suggestions(r.Context(), nil)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]suggestionWire, 0, len(sg))
	for _, s := range sg {
		out = append(out, newSuggestionWire(s))
	}
	key := func(s suggestionWire) string { return s.TenantName + "\x00" + s.TenantID }
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	writeJSON(w, http.StatusOK, paginate(out, key, p))
}

// acceptSuggestions links a list of tenant/client pairs a person confirmed, each on its own.
func (a *api) acceptSuggestions(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Links []struct {
			TenantID string `json:"tenantId"`
			ClientID string `json:"clientId"`
		} `json:"links"`
	}
	const usage = `send {"links": [{"tenantId": "...", "clientId": "..."}]}: the tenants and clients GET /api/suggestions names`
	if !decode(w, r, &body, usage) {
		return
	}
	if len(body.Links) == 0 {
		badRequest(w, usage, "links is empty")
		return
	}
	ctx := r.Context()
	for i, l := range body.Links {
		if l.TenantID == "" || l.ClientID == "" {
			badRequest(w, usage, "links[%d] needs tenantId and clientId", i)
			return
		}
	}
	out := make([]linkResultWire, 0, len(body.Links))
	for _, l := range body.Links {
		err := a.clientExists(ctx, l.ClientID)
		if err == nil {
			err = a.engine.Link(ctx, actorFrom(ctx), l.TenantID, l.ClientID)
		}
		lr := linkResultWire{TenantID: l.TenantID, ClientID: l.ClientID, Status: "linked"}
		if err != nil {
			lr.Status, lr.Error, lr.Hint = "failed", apiMessage(err), apiHint(tenantsync.HintOf(err))
		}
		out = append(out, lr)
	}
	// The answer is the whole request's outcome, one result per link asked for, in order.
	writeJSON(w, http.StatusOK, page[linkResultWire]{Items: out})
}

func (a *api) clientWire(ctx context.Context, c tenantsync.Client) (clientWire, error) {
	st, err := a.engine.ClientStatus(ctx, c.ID)
	if err != nil {
		return clientWire{}, err
	}
	var billing *sync.BillingCount
	if b, err := a.engine.BillableUsers(ctx, c.ID); err == nil {
		billing = &b
	}
	return newClientWire(c, st, billing), nil
}

func (a *api) listClients(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	cs, err := a.store.Directory(a.account).ListClients(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	// Only the page's clients are described: each costs a status and a billing count.
	pg := paginate(cs, func(c tenantsync.Client) string { return c.ID }, p)
	out := page[clientWire]{Items: make([]clientWire, 0, len(pg.Items)), NextCursor: pg.NextCursor}
	for _, c := range pg.Items {
		v, err := a.clientWire(r.Context(), c)
		if err != nil {
			fail(w, err)
			return
		}
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Directory(a.account).GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	v, err := a.clientWire(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) clientContacts(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	clientID := r.PathValue("id")
	if _, err := a.store.Directory(a.account).GetClient(ctx, clientID); err != nil {
		fail(w, err)
		return
	}
	contacts, err := a.store.Directory(a.account).ListContacts(ctx, clientID)
	if err != nil {
		fail(w, err)
		return
	}
	st, err := a.engine.ClientStatus(ctx, clientID)
	if err != nil {
		fail(w, err)
		return
	}
	links := map[string]store.ContactLink{}
	for _, ts := range st.Tenants {
		ls, err := a.store.Account(a.account).Links.List(ctx, ts.Tenant.ID)
		if err != nil {
			fail(w, err)
			return
		}
		for _, l := range ls {
			if l.ClientID == clientID {
				links[l.ContactID] = l
			}
		}
	}
	out := make([]contactWire, 0, len(contacts))
	for _, c := range contacts {
		var link *store.ContactLink
		if l, ok := links[c.ID]; ok {
			link = &l
		}
		out = append(out, newContactWire(c, link))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, paginate(out, func(c contactWire) string { return c.ID }, p))
}

// maxActiveMinutes bounds an active period to a week: longer is a mistake, and a huge value
// would overflow time.Duration into a time in the past.
const maxActiveMinutes = 7 * 24 * 60

func (a *api) markActive(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Minutes json.Number `json:"minutes"`
	}
	usage := fmt.Sprintf(`send {"minutes": 120}: minutes is a whole number from 1 to %d (one week)`, maxActiveMinutes)
	if !decode(w, r, &body, usage) {
		return
	}
	minutes, err := strconv.ParseInt(body.Minutes.String(), 10, 64)
	if err != nil || minutes < 1 || minutes > maxActiveMinutes {
		badRequest(w, usage, "minutes %q is not from 1 to %d", body.Minutes, maxActiveMinutes)
		return
	}
	ctx := r.Context()
	clientID := r.PathValue("id")
	if err := a.clientExists(ctx, clientID); err != nil {
		fail(w, err)
		return
	}
	until := time.Now().Add(time.Duration(minutes) * time.Minute)
	err = a.engine.MarkActive(ctx, clientID, until)
	entry := tenantsync.AuditEntry{Action: "mark_active", Target: clientID, Outcome: "succeeded",
		Detail: map[string]string{"minutes": strconv.FormatInt(minutes, 10)}}
	if err != nil {
		entry.Outcome = "failed"
	}
	if aerr := a.auditCall(ctx, entry, err); aerr != nil {
		fail(w, aerr)
		return
	}
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, activeWire{ActiveUntil: until})
}

func (a *api) listReviews(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	rs, err := a.store.Account(a.account).Reviews.List(r.Context(), store.ReviewFilter{
		TenantID:        r.URL.Query().Get("tenant"),
		IncludeResolved: r.URL.Query().Get("resolved") == "true",
	})
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]reviewWire, 0, len(rs))
	for _, rv := range rs {
		out = append(out, newReviewWire(rv))
	}
	key := func(rv reviewWire) string { return rv.CreatedAt.UTC().Format(time.RFC3339Nano) + "\x00" + rv.ID }
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	writeJSON(w, http.StatusOK, paginate(out, key, p))
}

func (a *api) resolveReview(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision  string `json:"decision"`
		ContactID string `json:"contactId"`
	}
	const usage = `send {"decision": "link", "contactId": "..."}, {"decision": "create"} or {"decision": "ignore"}`
	if !decode(w, r, &body, usage) {
		return
	}
	d := sync.Decision{ContactID: body.ContactID}
	switch body.Decision {
	case "link":
		d.Action = store.ResolveLink
		if body.ContactID == "" {
			badRequest(w, usage, "decision link needs contactId: the client's contact that is this user")
			return
		}
	case "create", "ignore":
		d.Action = store.ResolutionAction(body.Decision)
		if body.ContactID != "" {
			badRequest(w, usage, "decision %s takes no contactId; to link the user to that contact, send decision link", body.Decision)
			return
		}
	default:
		badRequest(w, usage, "decision %q is not link, create or ignore", body.Decision)
		return
	}
	rv, err := a.engine.ResolveReview(r.Context(), actorFrom(r.Context()), r.PathValue("id"), d)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newReviewWire(rv))
}

func (a *api) write(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Action   string `json:"action"`
		TenantID string `json:"tenantId"`
		UserID   string `json:"userId"`
		UPN      string `json:"upn"`
		GroupID  string `json:"groupId"`
	}
	if !decode(w, r, &body, `send {"action": "block_sign_in", "tenantId": "...", "userId": "..."}; add_to_group and remove_from_group also take "groupId"`) {
		return
	}
	if !tenantsync.Action(body.Action).Valid() {
		fail(w, tenantsync.Errorf(tenantsync.ErrInvalidInput, apiHint("use one of the tenantsync.Action constants"), "unknown action %q", body.Action))
		return
	}
	req := tenantsync.WriteRequest{Action: tenantsync.Action(body.Action), TenantID: body.TenantID, UserID: body.UserID, UPN: body.UPN, GroupID: body.GroupID}
	res, err := a.engine.Write(r.Context(), actorFrom(r.Context()), req)
	outcome := "done"
	if err != nil {
		outcome = tenantsync.ClassName(tenantsync.ClassOf(err))
	}
	a.metrics.add("tenantsync_writes_total", 1, "outcome", outcome)
	if err != nil {
		fail(w, err)
		return
	}
	// A password reset's temporary password goes to this caller only: never to a cache, a log,
	// an event or the audit log.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, writeReply{Route: res.Route, Message: res.Message, Changed: res.Changed,
		TemporaryPassword: res.TemporaryPassword.Reveal()})
}

// audit answers the account's audit log a page at a time, oldest first, with the verification
// of the whole chain. after=<seq> is the same as a cursor past that entry.
func (a *api) audit(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	q := store.AuditQuery{TenantID: r.URL.Query().Get("tenant"), Limit: p.limit + 1}
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			badRequest(w, "pass after=<sequence number of the last entry you have>, or the cursor of the previous page", "after=%q is not a sequence number", v)
			return
		}
		q.AfterSeq = n
	}
	if p.after != "" {
		n, err := strconv.ParseInt(p.after, 10, 64)
		if err != nil {
			badRequest(w, pageUsage, "the cursor is not one of GET /api/audit")
			return
		}
		q.AfterSeq = max(q.AfterSeq, n)
	}
	entries, err := a.store.Account(a.account).Audit.List(r.Context(), q)
	if err != nil {
		fail(w, err)
		return
	}
	// expect is a head an earlier call returned, kept outside the database: it is what detects
	// a log cut back together with its head.
	var expect *store.AuditHead
	if raw := r.URL.Query().Get("expect"); raw != "" {
		h, err := store.ParseAuditHead(raw)
		if err != nil {
			badRequest(w, "pass as expect the verification.head an earlier GET /api/audit returned (seq:hash)", "expect=%q is not an audit head", raw)
			return
		}
		expect = &h
	}
	v, err := a.verifyAudit(r.Context(), expect)
	if err != nil {
		fail(w, err)
		return
	}
	out := auditPage{Items: make([]auditEntryWire, 0, min(len(entries), p.limit)), Verification: v}
	for i, e := range entries {
		if i == p.limit {
			// One more than the page exists: the page ends at its predecessor.
			out.NextCursor = encodeCursor(strconv.FormatInt(entries[i-1].Seq, 10))
			break
		}
		out.Items = append(out.Items, newAuditEntryWire(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// verifyAudit checks the account's audit chain, against expect when given, and describes the
// result with the head to keep for the next check.
func (a *api) verifyAudit(ctx context.Context, expect *store.AuditHead) (auditVerificationWire, error) {
	rep, err := a.store.Account(a.account).Audit.Verify(ctx, expect)
	if err != nil {
		return auditVerificationWire{}, err
	}
	return auditVerificationWire{Verified: rep.OK(), EntriesChecked: rep.Entries, FirstBroken: rep.FirstBroken,
		Reason: rep.Reason, Head: rep.Head.String()}, nil
}
