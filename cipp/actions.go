package cipp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// ActionResult is what a CIPP write action reports.
type ActionResult struct {
	Lines []ResultLine
}

// Message joins the result lines.
func (r ActionResult) Message() string {
	parts := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		if l.Text != "" {
			parts = append(parts, l.Text)
		}
	}
	return strings.Join(parts, "; ")
}

// CopyField returns the first copyField (a generated password), or "".
func (r ActionResult) CopyField() string {
	for _, l := range r.Lines {
		if l.CopyField != "" {
			return l.CopyField
		}
	}
	return ""
}

// String hides copy fields: they hold passwords.
func (r ActionResult) String() string { return redactResult(r) }

// GoString hides copy fields from %#v as well.
func (r ActionResult) GoString() string { return "cipp.ActionResult{" + redactResult(r) + "}" }

// parseResults reads an action's Results in any of its four forms.
func parseResults(raw json.RawMessage) ([]ResultLine, bool) {
	switch firstByte(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []ResultLine{{Text: s}}, true
	case '{':
		var l ResultLine
		if json.Unmarshal(raw, &l) != nil {
			return nil, false
		}
		return []ResultLine{l}, true
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil, false
		}
		var out []ResultLine
		for _, it := range items {
			ls, ok := parseResults(it)
			if !ok {
				return nil, false
			}
			out = append(out, ls...)
		}
		return out, true
	}
	return nil, false
}

// action posts one write endpoint for a checked tenant and reads its Results. A 200 whose
// Results say "Error - ..." or "Failed ..." is a failure; partial failures of a multi-line
// result (EditGroup) are returned together with the result.
func (c *Client) action(ctx context.Context, op, tenant string, body map[string]any, idempotent bool) (ActionResult, error) {
	t, err := c.LookupTenant(ctx, tenant)
	if err != nil {
		return ActionResult{}, err
	}
	body["tenantFilter"] = tenantFilter(t)
	r, err := c.call(ctx, http.MethodPost, op, t.CustomerID, nil, body, idempotent)
	if err != nil {
		if d, ok := tenantsync.Details(err); ok && d.Class == tenantsync.ErrUnavailable && d.Status == http.StatusInternalServerError && d.Message != "" {
			// CIPP reports action failures as 500 {"Results": "Failed to ..."}: a refusal of
			// this action, not an outage, unless the text says otherwise.
			d.Hint = "CIPP could not complete the action; the message says why"
		}
		return ActionResult{}, err
	}
	var res ActionResult
	switch r.Shape {
	case ShapeEnvelope:
		lines, ok := parseResults(r.Results)
		if !ok {
			c.unknownShapes.Add(1)
			return ActionResult{}, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, "unreadable Results", HintRetry)
		}
		res.Lines = lines
	case ShapeText:
		res.Lines = []ResultLine{{Text: r.Text}}
	default:
		c.unknownShapes.Add(1)
		return ActionResult{}, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, "unexpected "+r.Shape.String()+" response to an action", HintRetry)
	}
	for _, l := range res.Lines {
		if l.Failed() {
			e := c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, res.Message(), "CIPP could not complete the action; the message says why")
			applyClass(e, l.Text)
			return res, e
		}
	}
	return res, nil
}

// SetSignInEnabled blocks (enabled=false) or unblocks sign-in for a user (ExecDisableUser).
// user is an object ID or UPN.
func (c *Client) SetSignInEnabled(ctx context.Context, tenant, user string, enabled bool) (ActionResult, error) {
	if err := c.needUser("ExecDisableUser", tenant, user); err != nil {
		return ActionResult{}, err
	}
	return c.action(ctx, "ExecDisableUser", tenant, map[string]any{"ID": user, "Enable": enabled}, false)
}

// ResetPassword sets a new password CIPP generates (ExecResetPass); the result's CopyField
// holds it. mustChange makes the user change it at next sign-in. Not retried: a retry would
// set a second password.
func (c *Client) ResetPassword(ctx context.Context, tenant, user, displayName string, mustChange bool) (ActionResult, error) {
	if err := c.needUser("ExecResetPass", tenant, user); err != nil {
		return ActionResult{}, err
	}
	return c.action(ctx, "ExecResetPass", tenant, map[string]any{"ID": user, "displayName": displayName, "MustChange": mustChange}, false)
}

// RevokeSessions invalidates the user's refresh tokens (ExecRevokeSessions). upn is used in
// CIPP's message only.
func (c *Client) RevokeSessions(ctx context.Context, tenant, userID, upn string) (ActionResult, error) {
	if err := c.needUser("ExecRevokeSessions", tenant, userID); err != nil {
		return ActionResult{}, err
	}
	return c.action(ctx, "ExecRevokeSessions", tenant, map[string]any{"id": userID, "Username": upn}, false)
}

// ResetMFA removes the user's MFA methods so they must register again (ExecResetMFA).
func (c *Client) ResetMFA(ctx context.Context, tenant, user string) (ActionResult, error) {
	if err := c.needUser("ExecResetMFA", tenant, user); err != nil {
		return ActionResult{}, err
	}
	return c.action(ctx, "ExecResetMFA", tenant, map[string]any{"ID": user}, false)
}

// AddGroupMember adds a user (object ID, with UPN for distribution lists) to a group (EditGroup).
func (c *Client) AddGroupMember(ctx context.Context, tenant, groupID, userID, upn string) (ActionResult, error) {
	return c.editGroup(ctx, tenant, groupID, userID, upn, "AddMember")
}

// RemoveGroupMember removes a user from a group (EditGroup).
func (c *Client) RemoveGroupMember(ctx context.Context, tenant, groupID, userID, upn string) (ActionResult, error) {
	return c.editGroup(ctx, tenant, groupID, userID, upn, "RemoveMember")
}

func (c *Client) editGroup(ctx context.Context, tenant, groupID, userID, upn, field string) (ActionResult, error) {
	if err := c.needUser("EditGroup", tenant, userID+upn); err != nil {
		return ActionResult{}, err
	}
	if strings.TrimSpace(groupID) == "" {
		return ActionResult{}, c.newError(tenantsync.ErrInvalidInput, "EditGroup", tenant, 0, "no group given", "pass the group's object ID")
	}
	member := map[string]any{"value": userID, "addedFields": map[string]string{"userPrincipalName": upn}}
	if userID == "" {
		member["value"] = upn
	}
	body := map[string]any{"groupId": map[string]any{"value": groupID}, field: []any{member}}
	return c.action(ctx, "EditGroup", tenant, body, false)
}

func (c *Client) needUser(op, tenant, user string) error {
	if strings.TrimSpace(user) == "" {
		return c.newError(tenantsync.ErrInvalidInput, op, tenant, 0, "no user given", "pass the user's object ID or UPN")
	}
	return nil
}
