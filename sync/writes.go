package sync

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Route names.
const (
	RouteCIPP  = "cipp"
	RouteGraph = "graph"
)

// Write runs one write action for actor. The order of checks is fixed and every refusal is
// audited: writes must be enabled (ErrWritesDisabled), the request valid (ErrInvalidInput), the
// actor must hold tenantsync.PermissionWrite (ErrPermissionDenied), the tenant known, and an
// Approver, when configured, must approve (ErrApprovalPending, ErrApprovalDenied; a pending
// action is resubmitted by the PSA once approved). The route is CIPP when the tenant is reached
// through the CIPP source and a CIPP writer is configured, Graph otherwise. An intent entry is
// appended to the audit log before the route is called, and a result entry after it, failures
// included; a write whose intent cannot be audited is not executed. In dry-run mode the intent
// and a "dry-run" result are audited and no route is called. A temporary password is never
// audited.
func (e *Engine) Write(ctx context.Context, actor string, req tenantsync.WriteRequest) (tenantsync.WriteResult, error) {
	w := writeAttempt{e: e, actor: actor, req: req}
	w.emit(EventWriteRequested, "", nil)

	if !e.writes.Load() {
		return w.refuse(ctx, "refused", &tenantsync.Error{Class: tenantsync.ErrWritesDisabled, Service: Service, Op: "Write",
			Tenant: req.TenantID, Message: "write actions are off for this account",
			Hint: "an administrator must enable write actions for the account first"})
	}
	if actor == "" {
		return w.refuse(ctx, "refused", &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "Write",
			Tenant: req.TenantID, Message: "no actor", Hint: "pass the ID of the person requesting the action"})
	}
	if err := req.Validate(); err != nil {
		return w.refuse(ctx, "refused", err)
	}
	if err := e.authorize(ctx, actor); err != nil {
		return w.refuse(ctx, "refused", err)
	}
	rec, err := e.acct.Tenants.Get(ctx, req.TenantID)
	if err != nil {
		if isNotFound(err) {
			err = &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: "Write", Tenant: req.TenantID,
				Message: "the account has no such tenant", Hint: "run discovery, or check the tenant ID", Err: err}
		}
		return w.refuse(ctx, "refused", err)
	}

	outcome := "requested"
	if e.cfg.Approver != nil {
		decision, note, err := e.cfg.Approver.Approve(ctx, actor, req)
		w.note = note
		switch {
		case err != nil:
			return w.refuse(ctx, "refused", hinted(err, tenantsync.ErrUnavailable, "Write",
				"the approver could not be asked, so nothing was run; check the Approver and submit the action again"))
		case decision == tenantsync.Pending:
			w.emit(EventWritePending, "", nil)
			return w.refuse(ctx, "pending", &tenantsync.Error{Class: tenantsync.ErrApprovalPending, Service: Service, Op: "Write",
				Tenant: req.TenantID, Message: "the action waits for approval",
				Hint: "resubmit the action once an approver has approved it"})
		case decision != tenantsync.Approved:
			w.emit(EventWriteDenied, "", nil)
			return w.refuse(ctx, "denied", &tenantsync.Error{Class: tenantsync.ErrApprovalDenied, Service: Service, Op: "Write",
				Tenant: req.TenantID, Message: "an approver refused the action", Hint: "ask the approver why, or do not run it"})
		}
		outcome = "approved"
		w.emit(EventWriteApproved, "", nil)
	}

	route, writer := e.route(rec.Sources)
	if writer == nil {
		return w.refuse(ctx, "refused", &tenantsync.Error{Class: tenantsync.ErrUnsupported, Service: Service, Op: "Write",
			Tenant: req.TenantID, Message: "no write route for this tenant",
			Hint: "configure a CIPP writer (when the tenant is reached through CIPP) or a Graph writer"})
	}
	w.route = route

	if _, err := w.audit(ctx, "intent", outcome, nil); err != nil {
		return tenantsync.WriteResult{}, err
	}
	if e.cfg.DryRun {
		e.counters.writesDryRun.Add(1)
		if _, err := w.audit(ctx, "result", "dry-run", nil); err != nil {
			return tenantsync.WriteResult{}, err
		}
		w.emit(EventWriteDone, "dry run: nothing was changed", nil)
		return tenantsync.WriteResult{Route: route, Message: "dry run: nothing was changed"}, nil
	}

	res, werr := writer.Write(ctx, req)
	if werr != nil {
		e.counters.writesFailed.Add(1)
		werr = redactPassword(hinted(werr, tenantsync.ErrUnavailable, "Write",
			"the action may or may not have taken effect: check the user in the admin centre before running it again"), req.TemporaryPassword.Reveal())
		w.emit(EventWriteFailed, "", werr)
		if _, err := w.audit(ctx, "result", "failed", werr); err != nil {
			return tenantsync.WriteResult{}, errors.Join(werr, err)
		}
		return tenantsync.WriteResult{}, werr
	}
	e.counters.writesSucceeded.Add(1)
	if res.Route == "" {
		res.Route = route
	}
	w.emit(EventWriteDone, redactString(res.Message, req.TemporaryPassword.Reveal()), nil)
	if _, err := w.audit(ctx, "result", "succeeded", nil); err != nil {
		return res, &tenantsync.Error{Class: tenantsync.ClassOf(err), Service: Service, Op: "Write", Tenant: req.TenantID,
			Message: "the action ran but its result could not be audited",
			Hint:    "the change is in effect; check the store and record the outcome by hand", Err: err}
	}
	return res, nil
}

func (e *Engine) authorize(ctx context.Context, actor string) error {
	if e.cfg.Authorizer == nil {
		return &tenantsync.Error{Class: tenantsync.ErrPermissionDenied, Service: Service, Op: "Write",
			Message: "no authorizer is configured", Hint: "configure an Authorizer that grants " + tenantsync.PermissionWrite}
	}
	err := e.cfg.Authorizer.Authorize(ctx, actor, tenantsync.PermissionWrite)
	if err == nil {
		return nil
	}
	if errors.Is(err, tenantsync.ErrPermissionDenied) {
		return hinted(err, tenantsync.ErrPermissionDenied, "Write", "grant the person the "+tenantsync.PermissionWrite+" permission")
	}
	return &tenantsync.Error{Class: tenantsync.ErrPermissionDenied, Service: Service, Op: "Write",
		Message: actor + " may not run write actions",
		Hint:    "grant the person the " + tenantsync.PermissionWrite + " permission", Err: err}
}

// route picks the writer: CIPP when the tenant is reached through CIPP and a CIPP writer
// exists, Graph otherwise.
func (e *Engine) route(sources []string) (string, tenantsync.Writer) {
	if slices.Contains(sources, RouteCIPP) {
		if w := e.cfg.Writers[RouteCIPP]; w != nil {
			return RouteCIPP, w
		}
	}
	if w := e.cfg.Writers[RouteGraph]; w != nil {
		return RouteGraph, w
	}
	return "", nil
}

type writeAttempt struct {
	e     *Engine
	actor string
	req   tenantsync.WriteRequest
	route string
	note  string
}

func (w *writeAttempt) emit(t EventType, msg string, err error) {
	ev := Event{Type: t, TenantID: w.req.TenantID, UserID: w.req.UserID, Action: w.req.Action, Actor: w.actor,
		Route: w.route, Message: msg}
	errorFields(&ev, err)
	w.e.emit(ev)
}

// refuse audits a write that was not executed and returns its error.
func (w *writeAttempt) refuse(ctx context.Context, outcome string, err error) (tenantsync.WriteResult, error) {
	switch outcome {
	case "refused":
		w.e.counters.writesRefused.Add(1)
		w.emit(EventWriteRefused, "", err)
	case "pending":
		w.e.counters.writesPending.Add(1)
	case "denied":
		w.e.counters.writesDenied.Add(1)
	}
	if _, aerr := w.audit(ctx, "intent", outcome, err); aerr != nil {
		return tenantsync.WriteResult{}, errors.Join(err, aerr)
	}
	return tenantsync.WriteResult{}, err
}

func (w *writeAttempt) audit(ctx context.Context, phase, outcome string, err error) (tenantsync.AuditEntry, error) {
	target := w.req.UserID
	if target == "" {
		target = w.req.UPN
	}
	detail := map[string]string{}
	if w.req.UPN != "" {
		detail["upn"] = w.req.UPN
	}
	if w.req.GroupID != "" {
		detail["group"] = w.req.GroupID
	}
	if w.note != "" {
		detail["approval_note"] = redactString(w.note, w.req.TemporaryPassword.Reveal())
	}
	if w.e.cfg.DryRun {
		detail["dry_run"] = "true"
	}
	entry := tenantsync.AuditEntry{
		At:       w.e.clock.Now(),
		Actor:    w.actor,
		Action:   string(w.req.Action),
		TenantID: w.req.TenantID,
		Target:   target,
		Phase:    phase,
		Outcome:  outcome,
		Route:    w.route,
		Detail:   detail,
	}
	if err != nil {
		entry.Error = redactString(err.Error(), w.req.TemporaryPassword.Reveal())
		detail["error_kind"] = tenantsync.ClassName(tenantsync.ClassOf(err))
		if h := tenantsync.HintOf(err); h != "" {
			detail["hint"] = h
		}
	}
	// The audit entry must land even when the caller gave up, or a failure would vanish from the log.
	actx, cancel := detached(ctx)
	defer cancel()
	out, aerr := w.e.acct.Audit.Append(actx, entry)
	if aerr != nil {
		// The caller gets aerr from the write; the event and the counter make it visible to
		// whoever watches the engine rather than the caller.
		_ = w.e.auditFailed(w.actor, string(w.req.Action), w.req.TenantID, phase+" "+outcome, aerr)
	}
	return out, aerr
}

// redactPassword keeps a temporary password a route might echo in its error out of every log.
func redactPassword(err error, password string) error {
	if password == "" || err == nil || !strings.Contains(err.Error(), password) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), password, tenantsync.Redacted), err: err}
}

func redactString(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, tenantsync.Redacted)
}

type redactedError struct {
	msg string
	err error
}

func (r *redactedError) Error() string { return r.msg }
func (r *redactedError) Unwrap() error { return r.err }
