package cipp

import (
	"context"

	"github.com/tenantsync/tenantsync"
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

// Write performs one action through the Client method of the same name. A password reset
// makes the user change the generated password at the next sign-in.
func (w *Writer) Write(ctx context.Context, req tenantsync.WriteRequest) (tenantsync.WriteResult, error) {
	if err := req.Validate(); err != nil {
		if d, ok := tenantsync.Details(err); ok {
			d.Service, d.Op = Service, string(req.Action)
		}
		return tenantsync.WriteResult{}, err
	}
	u := req.User()
	switch req.Action {
	case tenantsync.ActionBlockSignIn:
		return w.c.BlockSignIn(ctx, u)
	case tenantsync.ActionUnblockSignIn:
		return w.c.UnblockSignIn(ctx, u)
	case tenantsync.ActionSuspend:
		return w.c.Suspend(ctx, u)
	case tenantsync.ActionUnsuspend:
		return w.c.Unsuspend(ctx, u)
	case tenantsync.ActionForcePasswordReset:
		return w.c.ForcePasswordReset(ctx, u, tenantsync.PasswordReset{TemporaryPassword: req.TemporaryPassword, MustChange: true})
	case tenantsync.ActionRevokeSessions:
		return w.c.RevokeSessions(ctx, u)
	case tenantsync.ActionResetMFA:
		return w.c.ResetMFA(ctx, u)
	case tenantsync.ActionAddToGroup:
		return w.c.AddToGroup(ctx, u, req.GroupID)
	case tenantsync.ActionRemoveFromGroup:
		return w.c.RemoveFromGroup(ctx, u, req.GroupID)
	}
	// Validate accepts only known actions; one added to the root package before this route
	// learns it ends here.
	return tenantsync.WriteResult{}, w.c.newError(tenantsync.ErrUnsupported, string(req.Action), req.TenantID, 0,
		"action not supported by this version of the CIPP route", "send it through a route that performs it, or upgrade tenantsync")
}
