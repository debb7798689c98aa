package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Service names the package in errors.
const Service = "workflow"

// Step is one planned step: what it will change, and whether the route can do it.
type Step struct {
	Index  int      `json:"index"` // 1, 2, ...
	Kind   StepKind `json:"kind"`
	Field  string   `json:"field,omitempty"` // a profile step's field
	Value  string   `json:"value,omitempty"` // a profile step's new value
	Change string   `json:"change"`          // what the step will change, in words
	// Possible is false when the route cannot perform the step; Reason says why and what to do.
	Possible bool   `json:"possible"`
	Reason   string `json:"reason,omitempty"`
	// Before is a profile field's current value, read for the plan ("" when unknown or empty).
	Before string `json:"before,omitempty"`
}

// Plan is what a workflow will do, step by step, on the route it will take. It changes nothing.
type Plan struct {
	Request Request `json:"request"`
	Route   string  `json:"route"`
	Steps   []Step  `json:"steps"`
}

// Outcome is how a step ended.
type Outcome string

// Step outcomes.
const (
	OutcomeSucceeded   Outcome = "succeeded"    // the step changed what it was to change
	OutcomeUnchanged   Outcome = "unchanged"    // it was already as asked
	OutcomeSubmitted   Outcome = "submitted"    // CIPP accepted it as a scheduled task
	OutcomeNotPossible Outcome = "not-possible" // the route cannot do it (Exchange-only steps on Graph)
	OutcomeFailed      Outcome = "failed"
)

// done reports whether a step with this outcome is not run again on resume.
func (o Outcome) done() bool {
	return o == OutcomeSucceeded || o == OutcomeUnchanged || o == OutcomeSubmitted || o == OutcomeNotPossible
}

// StepResult is one step's outcome.
type StepResult struct {
	Index   int      `json:"index"`
	Kind    StepKind `json:"kind"`
	Field   string   `json:"field,omitempty"`
	Outcome Outcome  `json:"outcome"`
	Message string   `json:"message,omitempty"`
	// Before and After are a profile field's values around the write.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Error, ErrorKind and Hint explain a failed or impossible step.
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"errorKind,omitempty"`
	Hint      string `json:"hint,omitempty"`
	// AuditSeq is the audit entry recording the outcome.
	AuditSeq int64 `json:"auditSeq,omitempty"`
	// TemporaryPassword is the password a create or reset step set, in the result the run
	// returns to its caller only: never audited, never in Get's answer.
	TemporaryPassword tenantsync.Secret `json:"-"`
}

// State is where a run is.
type State string

// Run states.
const (
	// StateRunning: started and not finished; after a crash, a run stays here until resumed.
	StateRunning State = "running"
	// StateSucceeded: every step succeeded, was unchanged or was submitted.
	StateSucceeded State = "succeeded"
	// StatePartial: the run ended with a step failed or not possible; resuming retries the
	// failed ones.
	StatePartial State = "partial"
	// StateFailed: a step the others depend on (creating the user) failed; the others did not run.
	StateFailed State = "failed"
)

// Run is one workflow run, as its audit entries record it.
type Run struct {
	ID        string       `json:"id"` // the Seq of the audit entry that started it
	Request   Request      `json:"request"`
	Actor     string       `json:"actor"`
	Route     string       `json:"route"`
	State     State        `json:"state"`
	StartedAt time.Time    `json:"startedAt"`
	Steps     []StepResult `json:"steps"` // the steps that ran, latest outcome each, in order
	// Pending are the steps still to run (none when the run ended).
	Pending []Step `json:"pending,omitempty"`
}

// Config configures a Runner for one account.
type Config struct {
	// Account is the account's store: its tenants (to route and to refuse unknown ones) and its
	// audit log, where runs are kept.
	Account store.Account
	// Routes perform the steps, keyed "cipp" and "graph". A tenant reached through CIPP takes
	// the CIPP route when there is one, every other tenant the Graph route.
	Routes map[string]Route
	// Authorizer must grant tenantsync.PermissionWrite to the actor; without one every run is
	// refused. Approver, when set, may hold or deny a run (asked once, when it starts).
	Authorizer tenantsync.Authorizer
	Approver   tenantsync.Approver
	// WritesEnabled turns workflows on, as sync.Config.WritesEnabled does single writes.
	WritesEnabled bool
	// ProfileWriteBack turns on the profile write-back, which is off even when writes are on.
	ProfileWriteBack bool
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Runner plans, runs, resumes and reads workflow runs of one account.
type Runner struct {
	cfg Config
	mu  sync.Mutex
	// running are the runs this Runner is executing: a second Start or Resume of one is refused.
	running map[string]bool
}

// New returns a Runner.
func New(cfg Config) (*Runner, error) {
	if cfg.Account.Audit == nil || cfg.Account.Tenants == nil {
		return nil, invalid("pass the account's store handle (store.Store.Account)", "workflow: no store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Runner{cfg: cfg, running: map[string]bool{}}, nil
}

func refusal(class error, op, tenant, msg, hint string) *tenantsync.Error {
	return &tenantsync.Error{Class: class, Service: Service, Op: op, Tenant: tenant, Message: msg, Hint: hint}
}

// check applies the rules every write follows, in sync.Engine.Write's order: writes on (and the
// profile write-back, for a profile), an actor, a valid request, the m365.write permission, a
// known tenant. It returns the route.
func (r *Runner) check(ctx context.Context, op, actor string, req Request, needWrites bool) (Route, error) {
	switch {
	case needWrites && !r.cfg.WritesEnabled:
		return nil, refusal(tenantsync.ErrWritesDisabled, op, req.TenantID, "write actions are off for this account",
			"an administrator must enable write actions for the account first")
	case needWrites && req.Kind == KindProfile && !r.cfg.ProfileWriteBack:
		return nil, refusal(tenantsync.ErrWritesDisabled, op, req.TenantID, "the profile write-back is off for this account",
			"an administrator must enable the profile write-back (it is separate from other write actions)")
	case actor == "":
		return nil, refusal(tenantsync.ErrInvalidInput, op, req.TenantID, "no actor", "pass the ID of the person requesting the workflow")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if r.cfg.Authorizer == nil {
		return nil, refusal(tenantsync.ErrPermissionDenied, op, req.TenantID, "no authorizer is configured",
			"configure an Authorizer that grants "+tenantsync.PermissionWrite)
	}
	if err := r.cfg.Authorizer.Authorize(ctx, actor, tenantsync.PermissionWrite); err != nil {
		// The Authorizer's own hint says how its users grant the permission.
		hint := tenantsync.HintOf(err)
		if hint == "" {
			hint = "grant the person the " + tenantsync.PermissionWrite + " permission"
		}
		return nil, &tenantsync.Error{Class: tenantsync.ErrPermissionDenied, Service: Service, Op: op, Tenant: req.TenantID,
			Message: actor + " may not run workflows", Hint: hint, Err: err}
	}
	rec, err := r.cfg.Account.Tenants.Get(ctx, req.TenantID)
	if err != nil {
		if errors.Is(err, tenantsync.ErrNotFound) {
			return nil, &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: op, Tenant: req.TenantID,
				Message: "the account has no such tenant", Hint: "run discovery, or check the tenant ID", Err: err}
		}
		return nil, err
	}
	if slices.Contains(rec.Sources, RouteCIPP) && r.cfg.Routes[RouteCIPP] != nil {
		return r.cfg.Routes[RouteCIPP], nil
	}
	if rt := r.cfg.Routes[RouteGraph]; rt != nil {
		return rt, nil
	}
	return nil, refusal(tenantsync.ErrUnsupported, op, req.TenantID, "no route for this tenant",
		"configure a CIPP route (when the tenant is reached through CIPP) or a Graph route")
}

// plan lists req's steps on route rt; with read it reads a profile's current values.
func plan(ctx context.Context, rt Route, req Request, read bool) (Plan, error) {
	p := Plan{Request: req, Route: rt.Name()}
	var cur *Profile
	if read && req.Kind == KindProfile {
		c, err := rt.Profile(ctx, req.User())
		if err != nil {
			return Plan{}, err
		}
		cur = &c
	}
	for i, s := range req.steps() {
		st := Step{Index: i + 1, Kind: s.kind, Field: s.field, Value: s.value, Change: req.describe(s), Possible: true}
		if why := rt.Unsupported(s.kind); why != "" {
			st.Possible, st.Reason = false, why
		}
		if cur != nil {
			st.Before = cur.get(s.field)
			if st.Before == s.value {
				st.Change = s.field + " is " + strconvQuote(s.value) + " already: nothing to change"
			} else {
				st.Change = "change " + s.field + " from " + strconvQuote(st.Before) + " to " + strconvQuote(s.value)
			}
		}
		p.Steps = append(p.Steps, st)
	}
	return p, nil
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// Plan is the dry run: the steps the workflow would take on the route it would take, and what
// each would change (for a profile, each field's value now). It needs the same permission as a
// run and changes nothing.
func (r *Runner) Plan(ctx context.Context, actor string, req Request) (Plan, error) {
	rt, err := r.check(ctx, "Plan", actor, req, false)
	if err != nil {
		return Plan{}, err
	}
	return plan(ctx, rt, req, true)
}

// Start runs a workflow: checked as a single write is (writes on, an actor, a valid request,
// m365.write, a known tenant, the Approver), then audited as one workflow entry followed by an
// intent and a result entry per step, and a closing entry. Every refusal is audited. Steps run
// in order; a failed step does not stop the others (each stands alone), except creating the
// user, which the others need. The returned Run has one result per step; an error is returned
// only when the run could not be started or its audit could not be written (the run then stops
// where it was and Resume continues it).
func (r *Runner) Start(ctx context.Context, actor string, req Request) (Run, error) {
	rt, err := r.check(ctx, "Start", actor, req, true)
	if err != nil {
		return Run{}, r.refuse(ctx, actor, req, "", "refused", err)
	}
	outcome := "requested"
	if r.cfg.Approver != nil {
		wr := tenantsync.WriteRequest{Action: req.Kind.Action(), TenantID: req.TenantID, UserID: req.User().UserID, UPN: req.User().UPN}
		decision, _, aerr := r.cfg.Approver.Approve(ctx, actor, wr)
		switch {
		case aerr != nil:
			return Run{}, r.refuse(ctx, actor, req, rt.Name(), "refused", &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: Service,
				Op: "Start", Tenant: req.TenantID, Message: "the approver could not be asked", Hint: "check the Approver and start the workflow again", Err: aerr})
		case decision == tenantsync.Pending:
			return Run{}, r.refuse(ctx, actor, req, rt.Name(), "pending", refusal(tenantsync.ErrApprovalPending, "Start", req.TenantID,
				"the workflow waits for approval", "start it again once an approver has approved it"))
		case decision != tenantsync.Approved:
			return Run{}, r.refuse(ctx, actor, req, rt.Name(), "denied", refusal(tenantsync.ErrApprovalDenied, "Start", req.TenantID,
				"an approver refused the workflow", "ask the approver why, or do not run it"))
		}
		outcome = "approved"
	}
	p, err := plan(ctx, rt, req, false)
	if err != nil {
		return Run{}, err
	}
	raw, _ := json.Marshal(req)
	steps := make([]string, 0, len(p.Steps))
	for _, s := range p.Steps {
		steps = append(steps, s.Kind.withField(s.Field))
	}
	entry, err := r.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: string(req.Kind.Action()), TenantID: req.TenantID,
		Target: target(req), Phase: "intent", Outcome: outcome, Route: rt.Name(),
		Detail: map[string]string{"workflow": string(req.Kind), "request": string(raw), "steps": strings.Join(steps, ",")}})
	if err != nil {
		return Run{}, err
	}
	run := Run{ID: strconv.FormatInt(entry.Seq, 10), Request: req, Actor: actor, Route: rt.Name(), State: StateRunning, StartedAt: entry.At}
	return r.execute(ctx, actor, rt, run, p.Steps, nil)
}

func (k StepKind) withField(field string) string {
	if field != "" {
		return string(k) + ":" + field
	}
	return string(k)
}

func target(req Request) string {
	u := req.User()
	if u.UserID != "" {
		return u.UserID
	}
	return u.UPN
}

// Resume continues a run that stopped before its end (a crash, a lost audit write, a shut
// down): the steps whose result is recorded as succeeded, unchanged, submitted or not possible
// are not run again; a step that failed, or whose intent is recorded without a result (the
// process stopped while it ran), runs again: every step is idempotent. Resuming a finished run
// that had failures retries its failed steps. The actor needs m365.write; the approval given
// when the run started stands.
func (r *Runner) Resume(ctx context.Context, actor, runID string) (Run, error) {
	run, done, err := r.load(ctx, runID)
	if err != nil {
		return Run{}, err
	}
	rt, err := r.check(ctx, "Resume", actor, run.Request, true)
	if err != nil {
		return Run{}, r.refuse(ctx, actor, run.Request, "", "refused", err)
	}
	if rt.Name() != run.Route {
		return Run{}, refusal(tenantsync.ErrInvalidInput, "Resume", run.Request.TenantID,
			"the run started on the "+run.Route+" route and the tenant now takes the "+rt.Name()+" route",
			"check the steps done in the run's audit entries, then start a new run for the rest")
	}
	if run.State == StateSucceeded {
		return run, nil
	}
	p, err := plan(ctx, rt, run.Request, false)
	if err != nil {
		return Run{}, err
	}
	if _, err := r.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: string(run.Request.Kind.Action()), TenantID: run.Request.TenantID,
		Target: target(run.Request), Phase: "intent", Outcome: "resumed", Route: rt.Name(),
		Detail: map[string]string{"workflow": string(run.Request.Kind), "workflow_run": run.ID}}); err != nil {
		return Run{}, err
	}
	run.State = StateRunning
	return r.execute(ctx, actor, rt, run, p.Steps, done)
}

// execute runs the steps not in done, auditing each.
func (r *Runner) execute(ctx context.Context, actor string, rt Route, run Run, steps []Step, done map[int]StepResult) (Run, error) {
	r.mu.Lock()
	if r.running[run.ID] {
		r.mu.Unlock()
		return run, refusal(tenantsync.ErrAlreadyRunning, "Run", run.Request.TenantID, "the run is running already", "wait for it to end, then read it")
	}
	r.running[run.ID] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, run.ID)
		r.mu.Unlock()
	}()

	results := map[int]StepResult{}
	for k, v := range done {
		results[k] = v
	}
	base := func(s Step) map[string]string {
		d := map[string]string{"workflow": string(run.Request.Kind), "workflow_run": run.ID, "step": strconv.Itoa(s.Index)}
		if s.Field != "" {
			d["field"] = s.Field
		}
		return d
	}
	stopped := false
	for _, s := range steps {
		if prev, ok := results[s.Index]; ok && prev.Outcome.done() {
			continue
		}
		if err := ctx.Err(); err != nil {
			// The caller gave up: stop where the run is, for Resume to continue.
			return r.finishLoaded(run, steps, results, false), err
		}
		entry := tenantsync.AuditEntry{Actor: actor, Action: string(s.Kind), TenantID: run.Request.TenantID, Target: target(run.Request),
			Route: rt.Name(), Detail: base(s)}
		if stopped {
			continue
		}
		var res StepResult
		var serr error
		if !s.Possible {
			serr = notPossible(rt, s)
			res = StepResult{Outcome: OutcomeNotPossible}
		} else {
			entry.Phase, entry.Outcome = "intent", "requested"
			if _, err := r.audit(ctx, entry); err != nil {
				// A step whose intent cannot be audited is not run.
				return r.finishLoaded(run, steps, results, false), err
			}
			res, serr = rt.Do(ctx, run.Request, s)
			if serr != nil {
				res = StepResult{Outcome: OutcomeFailed}
			}
		}
		res.Index, res.Kind, res.Field = s.Index, s.Kind, s.Field
		if serr != nil {
			res.Error = redact(serr.Error(), res.TemporaryPassword)
			res.ErrorKind = tenantsync.ClassName(tenantsync.ClassOf(serr))
			res.Hint = tenantsync.HintOf(serr)
		}
		res.Message = redact(res.Message, res.TemporaryPassword)
		entry.Phase, entry.Outcome, entry.Error = "result", string(res.Outcome), res.Error
		entry.Detail = base(s)
		for k, v := range map[string]string{"message": res.Message, "error_kind": res.ErrorKind, "hint": res.Hint} {
			if v != "" {
				entry.Detail[k] = v
			}
		}
		if s.Kind == StepSetProfileField {
			entry.Detail["before"], entry.Detail["after"] = res.Before, res.After
		}
		stored, err := r.audit(ctx, entry)
		res.AuditSeq = stored.Seq
		results[s.Index] = res
		if err != nil {
			return r.finishLoaded(run, steps, results, false), err
		}
		if res.Outcome == OutcomeFailed && s.Kind == StepCreateUser {
			stopped = true
		}
	}
	run = r.finishLoaded(run, steps, results, true)
	if stopped {
		run.State = StateFailed
	}
	_, err := r.audit(ctx, tenantsync.AuditEntry{Actor: actor, Action: string(run.Request.Kind.Action()), TenantID: run.Request.TenantID,
		Target: target(run.Request), Phase: "result", Outcome: string(run.State), Route: rt.Name(),
		Detail: map[string]string{"workflow": string(run.Request.Kind), "workflow_run": run.ID}})
	return run, err
}

// finishLoaded fills run's steps and pending steps from results; ended says the loop ran to
// its end (the state is then final).
func (r *Runner) finishLoaded(run Run, steps []Step, results map[int]StepResult, ended bool) Run {
	run.Steps, run.Pending = nil, nil
	partial := false
	for _, s := range steps {
		res, ok := results[s.Index]
		if !ok {
			run.Pending = append(run.Pending, s)
			continue
		}
		run.Steps = append(run.Steps, res)
		if !res.Outcome.done() || res.Outcome == OutcomeNotPossible {
			partial = true
		}
	}
	switch {
	case !ended:
		run.State = StateRunning
	case len(run.Pending) > 0:
		run.State = StateFailed
	case partial:
		run.State = StatePartial
	default:
		run.State = StateSucceeded
	}
	return run
}

func redact(s string, pw tenantsync.Secret) string {
	if p := pw.Reveal(); p != "" {
		s = strings.ReplaceAll(s, p, tenantsync.Redacted)
	}
	return s
}

// refuse audits a workflow that was not started, and returns err.
func (r *Runner) refuse(ctx context.Context, actor string, req Request, route, outcome string, err error) error {
	raw, _ := json.Marshal(req)
	e := tenantsync.AuditEntry{Actor: actor, Action: string(req.Kind.Action()), TenantID: req.TenantID, Target: target(req),
		Phase: "intent", Outcome: outcome, Route: route, Error: err.Error(),
		Detail: map[string]string{"workflow": string(req.Kind), "request": string(raw), "error_kind": tenantsync.ClassName(tenantsync.ClassOf(err))}}
	if h := tenantsync.HintOf(err); h != "" {
		e.Detail["hint"] = h
	}
	if _, aerr := r.audit(ctx, e); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// audit appends e; the entry must land even when the caller gave up, or a step would vanish.
func (r *Runner) audit(ctx context.Context, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	if e.At.IsZero() {
		e.At = r.cfg.Now()
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return r.cfg.Account.Audit.Append(actx, e)
}

// auditPage is how many audit entries load reads at a time.
const auditPage = 500

// Get reads a run from the audit log.
func (r *Runner) Get(ctx context.Context, runID string) (Run, error) {
	run, _, err := r.load(ctx, runID)
	return run, err
}

// load rebuilds a run from its audit entries: the entry that started it (whose Seq is the run
// ID) and every later entry naming it. It reads the log from the run's start on, a page at a
// time.
func (r *Runner) load(ctx context.Context, runID string) (Run, map[int]StepResult, error) {
	seq, err := strconv.ParseInt(runID, 10, 64)
	if err != nil || seq <= 0 {
		return Run{}, nil, refusal(tenantsync.ErrInvalidInput, "Get", "", "no run "+strconv.Quote(runID), "pass the run ID a started workflow returned")
	}
	notFound := refusal(tenantsync.ErrNotFound, "Get", "", "no run "+runID, "pass the run ID a started workflow returned")
	var run Run
	results := map[int]StepResult{}
	ended := false
	after := seq - 1
	for {
		page, err := r.cfg.Account.Audit.List(ctx, store.AuditQuery{AfterSeq: after, Limit: auditPage})
		if err != nil {
			return Run{}, nil, err
		}
		for _, e := range page {
			after = e.Seq
			if e.Seq == seq {
				if e.Detail["workflow"] == "" || e.Detail["request"] == "" || e.Phase != "intent" || (e.Outcome != "requested" && e.Outcome != "approved") {
					return Run{}, nil, notFound
				}
				if err := json.Unmarshal([]byte(e.Detail["request"]), &run.Request); err != nil {
					return Run{}, nil, notFound
				}
				run.ID, run.Actor, run.Route, run.StartedAt = runID, e.Actor, e.Route, e.At
				continue
			}
			if e.Detail["workflow_run"] != runID {
				continue
			}
			if e.Action == string(run.Request.Kind.Action()) {
				// The closing entry ends the run; a later "resumed" opens it again.
				ended = e.Phase == "result"
				continue
			}
			idx, _ := strconv.Atoi(e.Detail["step"])
			if e.Phase != "result" || idx == 0 {
				continue
			}
			results[idx] = StepResult{Index: idx, Kind: StepKind(e.Action), Field: e.Detail["field"], Outcome: Outcome(e.Outcome),
				Message: e.Detail["message"], Before: e.Detail["before"], After: e.Detail["after"], Error: e.Error,
				ErrorKind: e.Detail["error_kind"], Hint: e.Detail["hint"], AuditSeq: e.Seq}
		}
		if run.ID == "" {
			return Run{}, nil, notFound
		}
		if len(page) < auditPage {
			break
		}
	}
	var steps []Step
	for i, s := range run.Request.steps() {
		steps = append(steps, Step{Index: i + 1, Kind: s.kind, Field: s.field, Value: s.value, Change: run.Request.describe(s), Possible: true})
	}
	run = r.finishLoaded(run, steps, results, ended)
	return run, results, nil
}
