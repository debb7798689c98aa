package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	gosync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/sync"
)

// A sync a caller asks for runs in the background: the call answers 202 at once with a link to
// the run, which answers "running" until the sync ends and then its report. A large tenant's
// sync takes minutes; no HTTP request is held open for it.

// maxRuns bounds the runs kept in memory; the oldest finished ones go first.
const maxRuns = 200

// syncRuns keeps the runs started through the API since the daemon started.
type syncRuns struct {
	mu    gosync.Mutex
	byID  map[string]*syncRun
	order []string // oldest first
	seq   uint64   // the last run's seq
}

type syncRun struct {
	// seq orders the runs by start: it is the page key of the runs list.
	seq                          uint64
	id, tenantID, trigger, actor string
	started, finished            time.Time
	report                       *sync.Report
}

func newSyncRuns() *syncRuns { return &syncRuns{byID: map[string]*syncRun{}} }

func (s *syncRuns) add(r *syncRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	r.seq = s.seq
	s.byID[r.id] = r
	s.order = append(s.order, r.id)
	for i := 0; len(s.order) > maxRuns && i < len(s.order); {
		old := s.byID[s.order[i]]
		if old.finished.IsZero() {
			i++ // a running run is kept: its caller is following it
			continue
		}
		delete(s.byID, s.order[i])
		s.order = append(s.order[:i], s.order[i+1:]...)
	}
}

func (s *syncRuns) finish(id string, rep *sync.Report, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.byID[id]; r != nil {
		r.finished, r.report = at, rep
	}
}

// list returns copies of a tenant's runs, newest first.
func (s *syncRuns) list(tenantID string) []syncRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []syncRun
	for i := len(s.order) - 1; i >= 0; i-- {
		if r := s.byID[s.order[i]]; r.tenantID == tenantID {
			out = append(out, *r)
		}
	}
	return out
}

// get returns a copy of the run, so that the caller reads it without the lock.
func (s *syncRuns) get(id string) (syncRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return syncRun{}, false
	}
	return *r, true
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runWire is a sync run as the API shows it.
type runWire struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	Trigger  string `json:"trigger"`
	Actor    string `json:"actor"`
	// Status is running, succeeded, partial (some kinds unavailable or held, or contacts left
	// for later) or failed.
	Status   string                `json:"status"`
	Started  time.Time             `json:"started"`
	Finished time.Time             `json:"finished,omitzero"`
	Report   *reportWire           `json:"report,omitempty"`
	Links    map[string]linkTarget `json:"links"`
}

func runPath(tenantID, runID string) string {
	return tenantPath(tenantID) + "/sync/runs/" + url.PathEscape(runID)
}

func newRunWire(r syncRun) runWire {
	w := runWire{ID: r.id, TenantID: r.tenantID, Trigger: r.trigger, Actor: r.actor, Status: "running", Started: r.started,
		Finished: r.finished, Links: map[string]linkTarget{
			"self":   {http.MethodGet, runPath(r.tenantID, r.id)},
			"tenant": {http.MethodGet, tenantPath(r.tenantID)},
		}}
	if !r.finished.IsZero() {
		switch rep := r.report; {
		case rep == nil:
			// The engine stopped (the daemon shut down) before the sync began.
			w.Status = "failed"
		case rep.Err != nil:
			w.Status = "failed"
		case rep.Partial():
			w.Status = "partial"
		default:
			w.Status = "succeeded"
		}
		if r.report != nil {
			rw := newReportWire(r.report)
			w.Report = &rw
		}
	}
	return w
}

// syncNow starts a sync of the tenant and answers 202 with the run to follow. A tenant whose
// sync runs answers 409; one that synced moments ago 429 with Retry-After.
func (a *api) syncNow(w http.ResponseWriter, r *http.Request) {
	a.startRun(w, r, "sync_now", sync.SyncOptions{}, nil)
}

// createRemainingContacts starts a sync that creates every contact the cap on creates left for
// later syncs, at once: a person asked for them. The engine's rate limit on PSA calls still
// applies.
func (a *api) createRemainingContacts(w http.ResponseWriter, r *http.Request) {
	detail, err := a.remainingCreation(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	a.startRun(w, r, "create_remaining_contacts", sync.SyncOptions{CreateAll: true}, detail)
}

// remainingCreation checks that the cap on creates per sync left contacts of the tenant for
// later syncs, and returns the audit detail of a request to create them now.
func (a *api) remainingCreation(ctx context.Context, tenantID string) (map[string]string, error) {
	st, err := a.engine.Status(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if st.Creation == nil || st.Creation.Done() {
		return nil, &tenantsync.Error{Class: tenantsync.ErrConflict, Service: "syncd", Tenant: tenantID,
			Message: "no contact creation is waiting for a later sync",
			Hint:    "GET " + tenantPath(tenantID) + " shows sync.contactCreation while the cap on creates per sync (-max-creates-per-sync) leaves some for later syncs"}
	}
	return map[string]string{"remaining": strconv.Itoa(st.Creation.Remaining)}, nil
}

func (a *api) startRun(w http.ResponseWriter, r *http.Request, action string, opts sync.SyncOptions, detail map[string]string) {
	view, _, err := a.beginRun(r.Context(), r.PathValue("id"), action, opts, detail)
	if err != nil {
		// A refusal (nothing runs), or an audit failure (the sync runs regardless; its result is
		// audited when it ends).
		fail(w, err)
		return
	}
	w.Header().Set("Location", view.Links["self"].Href)
	writeJSON(w, http.StatusAccepted, view)
}

// beginRun starts a sync of the tenant for the request's actor, audits the request and follows
// the run in the background. started says whether the sync runs; err is the refusal when it
// does not, or the audit failure when it does. The API and the console both start runs here.
func (a *api) beginRun(ctx context.Context, tenantID, action string, opts sync.SyncOptions, detail map[string]string) (view runWire, started bool, err error) {
	actor := actorFrom(ctx)
	done, err := a.engine.StartSync(ctx, tenantID, opts)
	entry := tenantsync.AuditEntry{Action: action, TenantID: tenantID, Outcome: "requested", Phase: "intent", Detail: detail}
	if err != nil {
		// Cooldown, already running, unknown or unlinked tenant: nothing runs.
		entry.Outcome, entry.Phase = "refused", "result"
	}
	run := &syncRun{id: newRunID(), tenantID: tenantID, trigger: "sync-now", actor: actor, started: time.Now()}
	if opts.CreateAll {
		run.trigger = "create-all"
	}
	if err == nil {
		entry.Detail = withDetail(entry.Detail, "run", run.id)
	}
	aerr := a.auditAs(ctx, actor, entry, err)
	if err != nil {
		if aerr != nil {
			return runWire{}, false, aerr
		}
		return runWire{}, false, err
	}
	// The answer is rendered before the run is followed, which writes its end into it.
	view = newRunWire(*run)
	a.runs.add(run)
	go a.followRun(run, action, done)
	return view, true, aerr
}

// followRun waits for a run's report, records it and audits the result under the actor who
// asked for the sync.
func (a *api) followRun(run *syncRun, action string, done <-chan *sync.Report) {
	rep := <-done
	a.runs.finish(run.id, rep, time.Now())
	entry := tenantsync.AuditEntry{Action: action, TenantID: run.tenantID, Outcome: "succeeded",
		Detail: map[string]string{"run": run.id}}
	var err error
	switch {
	case rep == nil:
		entry.Outcome = "failed"
		err = tenantsync.Errorf(tenantsync.ErrUnavailable, "ask again once the daemon runs", "the daemon stopped before the sync began")
	case rep.Err != nil:
		entry.Outcome, err = "failed", rep.Err
	default:
		entry.Detail["contactsCreated"] = strconv.Itoa(rep.Contacts.Created)
	}
	_ = a.auditAs(context.Background(), run.actor, entry, err)
}

func withDetail(d map[string]string, k, v string) map[string]string {
	if d == nil {
		d = map[string]string{}
	}
	d[k] = v
	return d
}

// getRun answers a run started through the API: running, or its report.
func (a *api) getRun(w http.ResponseWriter, r *http.Request) {
	run, ok := a.runs.get(r.PathValue("runId"))
	if !ok || run.tenantID != r.PathValue("id") {
		fail(w, tenantsync.Errorf(tenantsync.ErrNotFound,
			"runs are kept in memory since the daemon started, the last 200 of them; GET "+tenantPath(r.PathValue("id"))+" shows the tenant's last sync",
			"no sync run %q of tenant %q", r.PathValue("runId"), r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, newRunWire(run))
}

// runKey sorts runs newest first: the complement of the start sequence, zero-padded.
func runKey(seq uint64) string { return fmt.Sprintf("%020d", math.MaxUint64-seq) }

// listRuns answers a tenant's runs started through the API and the console since the daemon
// started, newest first, paged. The scheduler's own syncs are not runs: GET /api/tenants/{id}
// shows the last of them.
func (a *api) listRuns(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	tenantID := r.PathValue("id")
	if _, err := a.engine.Status(r.Context(), tenantID); err != nil {
		fail(w, err)
		return
	}
	type keyed struct {
		key string
		run runWire
	}
	var items []keyed
	for _, run := range a.runs.list(tenantID) {
		rw := newRunWire(run)
		items = append(items, keyed{runKey(run.seq), rw})
	}
	pg := paginate(items, func(k keyed) string { return k.key }, p)
	out := page[runWire]{Items: make([]runWire, 0, len(pg.Items)), NextCursor: pg.NextCursor}
	for _, k := range pg.Items {
		out.Items = append(out.Items, k.run)
	}
	writeJSON(w, http.StatusOK, out)
}
