package main

import (
	"context"
	"net/http"
	"time"

	"github.com/tenantsync/tenantsync/workflow"
)

const workflowUsage = `send {"kind": "offboard", "tenantId": "...", "upn": "...", "offboarding": {"blockSignIn": true, ...}}; ` +
	`"onboard" takes "onboarding": {"userPrincipalName", "displayName", "usageLocation", "skus", "groups", "managerId"}, ` +
	`"profile" takes "profile": {"businessPhone", "mobilePhone", "jobTitle", "department", "officeLocation"}`

func newWorkflowStepWire(s workflow.Step) workflowStepWire {
	return workflowStepWire{Index: s.Index, Kind: string(s.Kind), Field: s.Field, Value: s.Value, Change: s.Change,
		Possible: s.Possible, Reason: apiHint(s.Reason), Before: s.Before}
}

func newWorkflowRunWire(r workflow.Run, revealPasswords bool) workflowRunWire {
	target := r.Request.User().UserID
	if target == "" {
		target = r.Request.User().UPN
	}
	out := workflowRunWire{ID: r.ID, Kind: string(r.Request.Kind), TenantID: r.Request.TenantID, Target: target, Actor: r.Actor,
		Route: r.Route, State: string(r.State), StartedAt: r.StartedAt.UTC(),
		Steps: []workflowStepResultWire{}, Pending: []workflowStepWire{},
		Links: map[string]linkTarget{"self": {Method: http.MethodGet, Href: "/api/workflows/" + r.ID}}}
	for _, s := range r.Steps {
		w := workflowStepResultWire{Index: s.Index, Kind: string(s.Kind), Field: s.Field, Outcome: string(s.Outcome), Message: s.Message,
			Before: s.Before, After: s.After, Error: s.Error, ErrorKind: s.ErrorKind, Hint: apiHint(s.Hint), AuditSeq: s.AuditSeq}
		if revealPasswords {
			w.TemporaryPassword = s.TemporaryPassword.Reveal()
		}
		out.Steps = append(out.Steps, w)
	}
	for _, s := range r.Pending {
		out.Pending = append(out.Pending, newWorkflowStepWire(s))
	}
	if r.State != workflow.StateSucceeded {
		out.Links["resume"] = linkTarget{Method: http.MethodPost, Href: "/api/workflows/" + r.ID + "/resume"}
	}
	return out
}

// planWorkflow answers what a workflow would do, step by step, without changing anything.
func (a *api) planWorkflow(w http.ResponseWriter, r *http.Request) {
	var req workflow.Request
	if !decode(w, r, &req, workflowUsage) {
		return
	}
	p, err := a.workflows.Plan(r.Context(), actorFrom(r.Context()), req)
	if err != nil {
		fail(w, err)
		return
	}
	out := workflowPlanWire{Kind: string(p.Request.Kind), TenantID: p.Request.TenantID, Route: p.Route, Steps: []workflowStepWire{}}
	for _, s := range p.Steps {
		out.Steps = append(out.Steps, newWorkflowStepWire(s))
	}
	writeJSON(w, http.StatusOK, out)
}

// startWorkflow runs a workflow and answers one result per step (201, the run to read again at
// Location). A run cut short (its audit could not be written) answers the error; it is resumed
// through /api/workflows/{id}/resume.
func (a *api) startWorkflow(w http.ResponseWriter, r *http.Request) {
	var req workflow.Request
	if !decode(w, r, &req, workflowUsage) {
		return
	}
	ctx, cancel := runContext(r)
	defer cancel()
	run, err := a.workflows.Start(ctx, actorFrom(r.Context()), req)
	a.answerRun(w, run, err, http.StatusCreated)
}

func (a *api) resumeWorkflow(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := runContext(r)
	defer cancel()
	run, err := a.workflows.Resume(ctx, actorFrom(r.Context()), r.PathValue("id"))
	a.answerRun(w, run, err, http.StatusOK)
}

// runContext is the context a workflow runs in: not cut short by a caller who hangs up (a run
// stopped half-way would leave a user half offboarded until someone resumes it), bounded all
// the same.
func runContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), workflowTimeout)
}

// workflowTimeout bounds one run or resume.
const workflowTimeout = 10 * time.Minute

func (a *api) answerRun(w http.ResponseWriter, run workflow.Run, err error, status int) {
	outcome := string(run.State)
	if err != nil {
		outcome = "error"
	}
	a.metrics.add("tenantsync_workflows_total", 1, "outcome", outcome)
	if err != nil {
		fail(w, err)
		return
	}
	// A temporary password goes to this caller only: never to a cache, a log or the audit log.
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/workflows/"+run.ID)
	}
	writeJSON(w, status, newWorkflowRunWire(run, true))
}

// getWorkflow reads a run from the audit log: every step recorded so far, and those to come.
func (a *api) getWorkflow(w http.ResponseWriter, r *http.Request) {
	run, err := a.workflows.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newWorkflowRunWire(run, false))
}
