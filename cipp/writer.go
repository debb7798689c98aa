package cipp

import (
	"context"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/transport"
)

var _ tenantsync.Writer = (*Writer)(nil)

// Writer adapts a Client's write actions to tenantsync.Writer. Actions already in effect
// (sign-in already blocked, already a member) succeed with Changed false.
type Writer struct {
	c *Client
}

// NewWriter returns a Writer acting through c. The API client needs the editor role.
func NewWriter(c *Client) *Writer { return &Writer{c: c} }

// Name returns "cipp".
func (w *Writer) Name() string { return Service }

// Write performs one action.
func (w *Writer) Write(ctx context.Context, req tenantsync.WriteRequest) (tenantsync.WriteResult, error) {
	if err := req.Validate(); err != nil {
		if d, ok := tenantsync.Details(err); ok {
			d.Service, d.Op = Service, string(req.Action)
		}
		return tenantsync.WriteResult{}, err
	}
	user := req.UserID
	if user == "" {
		user = req.UPN
	}
	out := tenantsync.WriteResult{Route: Service, Changed: true}
	var res ActionResult
	var err error
	switch req.Action {
	case tenantsync.ActionBlockSignIn, tenantsync.ActionUnblockSignIn, tenantsync.ActionUnsuspend:
		enable := req.Action != tenantsync.ActionBlockSignIn
		var changed bool
		res, changed, err = w.setSignIn(ctx, req.TenantID, user, enable)
		out.Changed = changed
	case tenantsync.ActionSuspend:
		var changed bool
		res, changed, err = w.setSignIn(ctx, req.TenantID, user, false)
		if err == nil {
			var rev ActionResult
			rev, err = w.c.RevokeSessions(ctx, req.TenantID, user, req.UPN)
			res.Lines = append(res.Lines, rev.Lines...)
			// Revoking is always an effect, but a repeated suspend changes nothing a PSA sees.
			out.Changed = changed
		}
	case tenantsync.ActionForcePasswordReset:
		if req.TemporaryPassword != "" {
			return tenantsync.WriteResult{}, w.c.newError(tenantsync.ErrUnsupported, string(req.Action), req.TenantID, 0,
				"CIPP generates the new password itself and cannot set a given one", "leave TemporaryPassword empty; the generated password is returned in the result")
		}
		res, err = w.c.ResetPassword(ctx, req.TenantID, user, req.UPN, true)
		out.TemporaryPassword = res.CopyField()
	case tenantsync.ActionRevokeSessions:
		res, err = w.c.RevokeSessions(ctx, req.TenantID, user, req.UPN)
	case tenantsync.ActionResetMFA:
		res, err = w.c.ResetMFA(ctx, req.TenantID, user)
		if err == nil && strings.HasPrefix(res.Message(), "No MFA methods found") {
			out.Changed = false
		}
	case tenantsync.ActionAddToGroup, tenantsync.ActionRemoveFromGroup:
		if req.Action == tenantsync.ActionAddToGroup {
			res, err = w.c.AddGroupMember(ctx, req.TenantID, req.GroupID, req.UserID, req.UPN)
		} else {
			res, err = w.c.RemoveGroupMember(ctx, req.TenantID, req.GroupID, req.UserID, req.UPN)
		}
		if err != nil && alreadyDone(res) {
			err, out.Changed = nil, false
		}
	}
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	out.Message = redactResult(res)
	return out, nil
}

// setSignIn reads the user's current state first, so a repeated block is a no-op rather than
// another change in the tenant's audit log.
func (w *Writer) setSignIn(ctx context.Context, tenant, user string, enable bool) (ActionResult, bool, error) {
	u, err := w.c.User(ctx, tenant, user)
	if err != nil {
		return ActionResult{}, false, err
	}
	if u.AccountEnabled != nil && *u.AccountEnabled == enable {
		state := "blocked"
		if enable {
			state = "allowed"
		}
		return ActionResult{Lines: []ResultLine{{Text: "sign-in already " + state + " for " + user}}}, false, nil
	}
	res, err := w.c.SetSignInEnabled(ctx, tenant, user, enable)
	return res, err == nil, err
}

// alreadyDone reports whether every failed line of an EditGroup result says the membership was
// already as requested.
func alreadyDone(res ActionResult) bool {
	failed := 0
	for _, l := range res.Lines {
		if !l.Failed() {
			continue
		}
		failed++
		t := strings.ToLower(l.Text)
		if !strings.Contains(t, "already a member") && !strings.Contains(t, "removed object references do not exist") && !strings.Contains(t, "is not a member") {
			return false
		}
	}
	return failed > 0
}

// redactResult removes generated passwords from a result's text: they go to the caller in
// WriteResult.TemporaryPassword only, never into messages that get logged or audited.
func redactResult(res ActionResult) string {
	msg := res.Message()
	for _, l := range res.Lines {
		if l.CopyField != "" {
			msg = strings.ReplaceAll(msg, l.CopyField, tenantsync.Redacted)
		}
	}
	return transport.Redact(msg)
}
