package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// api serves the daemon's JSON API. Every route is scoped to the daemon's one account.
type api struct {
	account   string
	engine    *sync.Engine
	store     store.Store
	metrics   *metrics
	readiness func(ctx context.Context) map[string]partnercenter.TenantReadiness
	log       *slog.Logger
	// initialDone is closed once the initial sync of the tenants linked at start has ended.
	initialDone <-chan struct{}
}

// actorHeader names the person acting; the PSA in front of the daemon sets it.
const actorHeader = "X-Actor"

func (a *api) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /metrics", a.metricsHandler)
	mux.HandleFunc("GET /api/tenants", a.listTenants)
	mux.HandleFunc("GET /api/tenants/{id}", a.getTenant)
	mux.HandleFunc("POST /api/tenants/{id}/link", a.link)
	mux.HandleFunc("POST /api/tenants/{id}/unlink", a.unlink)
	mux.HandleFunc("POST /api/tenants/{id}/sync", a.syncNow)
	mux.HandleFunc("GET /api/suggestions", a.suggestions)
	mux.HandleFunc("POST /api/suggestions/accept", a.acceptSuggestions)
	mux.HandleFunc("GET /api/clients", a.listClients)
	mux.HandleFunc("GET /api/clients/{id}", a.getClient)
	mux.HandleFunc("GET /api/clients/{id}/contacts", a.clientContacts)
	mux.HandleFunc("POST /api/clients/{id}/active", a.markActive)
	mux.HandleFunc("GET /api/reviews", a.listReviews)
	mux.HandleFunc("POST /api/reviews/{id}/resolve", a.resolveReview)
	mux.HandleFunc("POST /api/writes", a.write)
	mux.HandleFunc("GET /api/audit", a.audit)
	return a.logged(mux)
}

func (a *api) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
			a.log.Debug("api", "method", r.Method, "path", r.URL.Path, "status", rec.status, "took", time.Since(start).Round(time.Millisecond))
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
	_ = enc.Encode(v)
}

// fail maps an error's kind to an HTTP status and writes it with its hint.
func fail(w http.ResponseWriter, err error) {
	kind := tenantsync.KindOf(err)
	status := http.StatusInternalServerError
	switch kind {
	case tenantsync.ErrInvalidInput:
		status = http.StatusBadRequest
	case tenantsync.ErrNotFound, tenantsync.ErrTenantNotFound:
		status = http.StatusNotFound
	case tenantsync.ErrAlreadyRunning, tenantsync.ErrAlreadyLinked, tenantsync.ErrConflict:
		status = http.StatusConflict
	case tenantsync.ErrCooldown, tenantsync.ErrThrottled:
		status = http.StatusTooManyRequests
	case tenantsync.ErrPermissionDenied, tenantsync.ErrWritesDisabled, tenantsync.ErrApprovalDenied, tenantsync.ErrForbidden, tenantsync.ErrRoleMissing, tenantsync.ErrLicenseRequired:
		status = http.StatusForbidden
	case tenantsync.ErrApprovalPending:
		status = http.StatusAccepted
	case tenantsync.ErrUnauthorized, tenantsync.ErrConsentRequired, tenantsync.ErrAuthorizationRevoked:
		status = http.StatusBadGateway
	case tenantsync.ErrUnavailable:
		status = http.StatusServiceUnavailable
	}
	body := apiError{Error: err.Error(), Hint: tenantsync.HintOf(err)}
	if kind != nil {
		body.Kind = tenantsync.KindName(kind)
	}
	if d, ok := tenantsync.Details(err); ok && d.RetryAfter > 0 {
		secs := int(math.Ceil(d.RetryAfter.Seconds()))
		body.RetryAfter = secs
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, status, body)
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	fail(w, tenantsync.Errorf(tenantsync.ErrInvalidInput, "see the API section of the README", format, args...))
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %v", err)
	}
	return nil
}

func actor(r *http.Request) string { return strings.TrimSpace(r.Header.Get(actorHeader)) }

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := a.store.ListClients(r.Context(), a.account); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable", "error": err.Error()})
		return
	}
	initial := "running"
	select {
	case <-a.initialDone:
		initial = "done"
	default:
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "initialSync": initial})
}

func (a *api) metricsHandler(w http.ResponseWriter, r *http.Request) {
	if sts, err := a.engine.Statuses(r.Context()); err == nil {
		counts := map[string]int{"linked": 0, "unlinked": 0, "vanished": 0, "running": 0, "failing": 0}
		for _, s := range sts {
			switch {
			case s.Tenant.Status == store.TenantVanished:
				counts["vanished"]++
			case s.Tenant.Linked():
				counts["linked"]++
			default:
				counts["unlinked"]++
			}
			if s.Running {
				counts["running"]++
			}
			if s.Tenant.Linked() && !s.Healthy() {
				counts["failing"]++
			}
		}
		for state, n := range counts {
			a.metrics.set("tenantsync_tenants", float64(n), "state", state)
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	a.metrics.writeTo(w)
}

// tenantView is a tenant as the API shows it.
type tenantView struct {
	sync.TenantStatus
	Readiness *partnercenter.TenantReadiness `json:"readiness,omitempty"`
}

func (a *api) listTenants(w http.ResponseWriter, r *http.Request) {
	sts, err := a.engine.Statuses(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	ready := a.readinessMap(r.Context())
	out := make([]tenantView, 0, len(sts))
	for _, s := range sts {
		v := tenantView{TenantStatus: s}
		if rd, ok := ready[s.Tenant.ID]; ok {
			v.Readiness = &rd
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant.DisplayName < out[j].Tenant.DisplayName })
	writeJSON(w, http.StatusOK, out)
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
	v := tenantView{TenantStatus: s}
	if rd, ok := a.readinessMap(r.Context())[s.Tenant.ID]; ok {
		v.Readiness = &rd
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) link(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID string `json:"clientId"`
	}
	if err := decodeBody(r, &body); err != nil || body.ClientID == "" {
		badRequest(w, `send {"clientId": "..."}`)
		return
	}
	if err := a.engine.Link(r.Context(), actor(r), r.PathValue("id"), body.ClientID); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "linked; initial sync started"})
}

func (a *api) unlink(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Mode string `json:"mode"`
	}
	if err := decodeBody(r, &body); err != nil {
		badRequest(w, `send {"mode": "keep"} or {"mode": "purge"}`)
		return
	}
	mode := store.UnlinkKeep
	switch body.Mode {
	case "", "keep":
	case "purge":
		mode = store.UnlinkPurge
	default:
		badRequest(w, `mode %q: use "keep" (data kept, syncing stops) or "purge" (mirror and links deleted)`, body.Mode)
		return
	}
	if err := a.engine.Unlink(r.Context(), actor(r), r.PathValue("id"), mode); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "unlinked", "mode": mode.String()})
}

func (a *api) syncNow(w http.ResponseWriter, r *http.Request) {
	rep, err := a.engine.SyncNow(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reportView(rep))
}

// reportView renders a sync report with its errors as text (error values do not marshal).
func reportView(rep *sync.Report) map[string]any {
	kinds := map[string]any{}
	for k, kr := range rep.Kinds {
		v := map[string]any{"mode": kr.Mode.String(), "fetched": kr.Fetched, "added": kr.Added, "updated": kr.Updated, "removed": kr.Removed, "total": kr.Total}
		if kr.Err != nil {
			v["error"] = kr.Err.Error()
			v["hint"] = tenantsync.HintOf(kr.Err)
		}
		kinds[string(k)] = v
	}
	out := map[string]any{"tenantId": rep.TenantID, "clientId": rep.ClientID, "source": rep.Source, "trigger": rep.Trigger,
		"started": rep.Started, "durationMs": rep.Duration.Milliseconds(), "kinds": kinds, "contacts": rep.Contacts, "roundTrips": rep.RoundTrips}
	if rep.Err != nil {
		out["error"] = rep.Err.Error()
		out["hint"] = tenantsync.HintOf(rep.Err)
	}
	return out
}

func (a *api) suggestions(w http.ResponseWriter, r *http.Request) {
	sg, err := a.engine.Suggestions(r.Context(), nil)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sg)
}

// acceptSuggestions links a list of tenant/client pairs a person confirmed, each on its own.
func (a *api) acceptSuggestions(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Links []sync.LinkRequest `json:"links"`
	}
	if err := decodeBody(r, &body); err != nil || len(body.Links) == 0 {
		badRequest(w, `send {"links": [{"TenantID": "...", "ClientID": "..."}]}`)
		return
	}
	res := a.engine.LinkMany(r.Context(), actor(r), body.Links)
	out := make([]map[string]string, 0, len(res))
	for _, lr := range res {
		m := map[string]string{"tenantId": lr.TenantID, "clientId": lr.ClientID, "status": "linked"}
		if lr.Err != nil {
			m["status"], m["error"], m["hint"] = "failed", lr.Err.Error(), tenantsync.HintOf(lr.Err)
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// clientView is a client with its tenants, domains and billing count.
type clientView struct {
	tenantsync.Client
	Status  sync.ClientStatus  `json:"status"`
	Billing *sync.BillingCount `json:"billing,omitempty"`
}

func (a *api) clientView(ctx context.Context, c tenantsync.Client) (clientView, error) {
	st, err := a.engine.ClientStatus(ctx, c.ID)
	if err != nil {
		return clientView{}, err
	}
	v := clientView{Client: c, Status: st}
	if b, err := a.engine.BillableUsers(ctx, c.ID); err == nil {
		v.Billing = &b
	}
	return v, nil
}

func (a *api) listClients(w http.ResponseWriter, r *http.Request) {
	cs, err := a.store.ListClients(r.Context(), a.account)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]clientView, 0, len(cs))
	for _, c := range cs {
		v, err := a.clientView(r.Context(), c)
		if err != nil {
			fail(w, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.GetClient(r.Context(), a.account, r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	v, err := a.clientView(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// contactView is a PSA contact with the M365 user it is linked to, if any.
type contactView struct {
	tenantsync.Contact
	Link *store.ContactLink `json:"m365,omitempty"`
}

func (a *api) clientContacts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	clientID := r.PathValue("id")
	if _, err := a.store.GetClient(ctx, a.account, clientID); err != nil {
		fail(w, err)
		return
	}
	contacts, err := a.store.ListContacts(ctx, a.account, clientID)
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
		ls, err := a.store.ListContactLinks(ctx, a.account, ts.Tenant.ID)
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
	out := make([]contactView, 0, len(contacts))
	for _, c := range contacts {
		v := contactView{Contact: c}
		if l, ok := links[c.ID]; ok {
			v.Link = &l
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) markActive(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Minutes int `json:"minutes"`
	}
	if err := decodeBody(r, &body); err != nil || body.Minutes < 0 {
		badRequest(w, `send {"minutes": 120} (0 ends the active period)`)
		return
	}
	var until time.Time
	if body.Minutes > 0 {
		until = time.Now().Add(time.Duration(body.Minutes) * time.Minute)
	}
	if err := a.engine.MarkActive(r.Context(), r.PathValue("id"), until); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"activeUntil": until})
}

func (a *api) listReviews(w http.ResponseWriter, r *http.Request) {
	rs, err := a.store.ListReviews(r.Context(), a.account, store.ReviewFilter{
		TenantID:        r.URL.Query().Get("tenant"),
		IncludeResolved: r.URL.Query().Get("resolved") == "true",
	})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (a *api) resolveReview(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Resolution string `json:"resolution"`
	}
	if err := decodeBody(r, &body); err != nil || body.Resolution == "" {
		badRequest(w, `send {"resolution": "<contact ID>" | "create" | "ignore"}`)
		return
	}
	if actor(r) == "" {
		badRequest(w, "set the %s header to the person resolving the review", actorHeader)
		return
	}
	rv, err := a.engine.ResolveReview(r.Context(), actor(r), r.PathValue("id"), body.Resolution)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}

func (a *api) write(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Action   string `json:"action"`
		TenantID string `json:"tenantId"`
		UserID   string `json:"userId"`
		UPN      string `json:"upn"`
		GroupID  string `json:"groupId"`
	}
	if err := decodeBody(r, &body); err != nil {
		badRequest(w, `send {"action": "block_sign_in", "tenantId": "...", "userId": "..."}: %v`, err)
		return
	}
	req := tenantsync.WriteRequest{Action: tenantsync.Action(body.Action), TenantID: body.TenantID, UserID: body.UserID, UPN: body.UPN, GroupID: body.GroupID}
	res, err := a.engine.Write(r.Context(), actor(r), req)
	outcome := "done"
	if err != nil {
		outcome = tenantsync.KindName(tenantsync.KindOf(err))
	}
	a.metrics.add("tenantsync_writes_total", 1, "outcome", outcome)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *api) audit(w http.ResponseWriter, r *http.Request) {
	q := store.AuditQuery{TenantID: r.URL.Query().Get("tenant")}
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			badRequest(w, "after=%q is not a sequence number", v)
			return
		}
		q.AfterSeq = n
	}
	entries, err := a.store.ListAudit(r.Context(), a.account, q)
	if err != nil {
		fail(w, err)
		return
	}
	// expect is a head an earlier call returned, kept outside the database: it is what detects
	// a log cut back together with its head.
	var expect *store.AuditHead
	if v := r.URL.Query().Get("expect"); v != "" {
		h, err := store.ParseAuditHead(v)
		if err != nil {
			badRequest(w, "expect=%q is not an audit head: pass the head /api/audit returned (seq:hash)", v)
			return
		}
		expect = &h
	}
	rep, err := a.store.VerifyAudit(r.Context(), a.account, expect)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"verified": rep.OK(), "entriesChecked": rep.Entries, "firstBroken": rep.FirstBroken, "reason": rep.Reason,
		"head": rep.Head.String(), "entries": entries,
	})
}
