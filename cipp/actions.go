package cipp

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
)

// resultLines are the Results of one write action.
type resultLines []ResultLine

// message joins the lines' texts.
func (ls resultLines) message() string {
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		if l.Text != "" {
			parts = append(parts, l.Text)
		}
	}
	return strings.Join(parts, "; ")
}

// copyField returns the first copyField (a generated password), or "".
func (ls resultLines) copyField() string {
	for _, l := range ls {
		if l.CopyField != "" {
			return l.CopyField
		}
	}
	return ""
}

// redacted is the lines' message with generated passwords removed: they go to the caller in
// WriteResult.TemporaryPassword only, never into messages that get logged or audited.
func (ls resultLines) redacted() string {
	msg := ls.message()
	for _, l := range ls {
		if l.CopyField != "" {
			msg = strings.ReplaceAll(msg, l.CopyField, tenantsync.Redacted)
		}
	}
	return httpx.Redact(msg)
}

// result is the WriteResult of an action that answered with ls.
func (ls resultLines) result(changed bool) tenantsync.WriteResult {
	return tenantsync.WriteResult{Route: Service, Message: ls.redacted(), Changed: changed}
}

// parseResults reads an action's Results in any of its four forms.
func parseResults(raw json.RawMessage) (resultLines, bool) {
	switch firstByte(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return resultLines{{Text: s}}, true
	case '{':
		var l ResultLine
		if json.Unmarshal(raw, &l) != nil {
			return nil, false
		}
		return resultLines{l}, true
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil, false
		}
		var out resultLines
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
// Results say "Error - ..." or "Failed ..." is a failure; the lines of a multi-line result
// (EditGroup) are returned with the error, so a caller can tell partial from total failure.
func (c *Client) action(ctx context.Context, op, tenant string, body map[string]any) (resultLines, error) {
	t, err := c.LookupTenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	body["tenantFilter"] = tenantFilter(t)
	// Never retried: a retried password reset sets a second password, and a retried write
	// after a lost answer repeats a change the tenant's audit log already shows.
	r, err := c.call(ctx, http.MethodPost, op, t.CustomerID, nil, body, false)
	if err != nil {
		if d, ok := tenantsync.Details(err); ok && d.Class == tenantsync.ErrUnavailable && d.Status == http.StatusInternalServerError && d.Message != "" {
			// CIPP reports action failures as 500 {"Results": "Failed to ..."}: a refusal of
			// this action, not an outage, unless the text says otherwise.
			d.Hint = "CIPP could not complete the action; the message says why"
		}
		return nil, err
	}
	var lines resultLines
	switch r.Shape {
	case ShapeEnvelope:
		var ok bool
		if lines, ok = parseResults(r.Results); !ok {
			c.unknownShapes.Add(1)
			return nil, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, "unreadable Results", HintRetry)
		}
	case ShapeText:
		lines = resultLines{{Text: r.Text}}
	default:
		c.unknownShapes.Add(1)
		return nil, c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, "unexpected "+r.Shape.String()+" response to an action", HintRetry)
	}
	for _, l := range lines {
		if l.Failed() {
			e := c.newError(tenantsync.ErrUnavailable, op, t.CustomerID, http.StatusOK, lines.redacted(), "CIPP could not complete the action; the message says why")
			applyClass(e, l.Text)
			return lines, e
		}
	}
	return lines, nil
}

// confirm returns an error unless a line of lines says the action was done: state "success",
// a text CIPP opens with "Success" ("Successfully set account enabled state …", "Success -
// Added member …"), or one of noop, texts of an action that had nothing to change. CIPP's
// write actions may answer 200 without doing anything, when PowerShell continued past an error
// it did not catch (cipp-api.md): any other text is not taken for success. The error is
// ErrUnavailable, as for an answer lost on the way, and says the change may or may not have
// been made.
//
// A text that opens with "Success" but goes on to say part of the action failed
// ("Successfully removed MFA methods (…). However, failed to remove (…)") is not done either.
// The answer to a password reset is not quoted in the error: it may hold the new password
// where no copyField marks it.
func (c *Client) confirm(op, tenant string, lines resultLines, noop ...string) error {
	done := false
	for _, l := range lines {
		t := strings.ToLower(strings.TrimSpace(l.Text))
		if strings.Contains(t, "failed") || strings.Contains(t, "however") {
			done = false
			break
		}
		if strings.EqualFold(l.State, "success") || strings.HasPrefix(t, "success") ||
			slices.ContainsFunc(noop, func(n string) bool { return strings.HasPrefix(t, strings.ToLower(n)) }) {
			done = true
		}
	}
	if done {
		return nil
	}
	c.unknownShapes.Add(1)
	msg := "CIPP answered " + strconv.Quote(lines.redacted()) + ", which does not say the action was done"
	if op == opResetPass {
		msg = "CIPP's answer does not say the password was reset (its text is left out: it may hold the new password)"
	}
	return c.newError(tenantsync.ErrUnavailable, op, tenant, http.StatusOK, msg,
		"look at the user in the tenant (or CIPP's log) before repeating the action: it may or may not have been made")
}

// opResetPass is CIPP's password reset endpoint.
const opResetPass = "ExecResetPass"

// BlockSignIn blocks the user's sign-in (ExecDisableUser). The user's state is read first, so
// blocking a blocked account succeeds with Changed false and leaves no entry in the tenant's
// audit log.
func (c *Client) BlockSignIn(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setSignIn(ctx, u, false)
}

// UnblockSignIn allows the user's sign-in again (ExecDisableUser); Changed is false when it
// was allowed already.
func (c *Client) UnblockSignIn(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setSignIn(ctx, u, true)
}

// Suspend blocks the user's sign-in and then revokes their sessions (ExecDisableUser, then
// ExecRevokeSessions). Changed reports the block only: revoking always has an effect, but a
// repeated suspension changes nothing a PSA sees.
func (c *Client) Suspend(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	block, err := c.BlockSignIn(ctx, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	revoke, err := c.RevokeSessions(ctx, u)
	if err != nil {
		// The block stands: say so, not only what the revocation answered.
		e := &tenantsync.Error{Class: tenantsync.ClassOf(err), Service: Service, Op: "Suspend", Tenant: u.TenantID,
			Message: "sign-in is blocked (" + block.Message + "), but revoking the user's sessions did not complete", Err: err}
		if d, ok := tenantsync.Details(err); ok {
			e.Status, e.Message, e.Hint = d.Status, e.Message+": "+d.Message, "the block stands; revoke the sessions again (RevokeSessions): "+d.Hint
		}
		return tenantsync.WriteResult{}, e
	}
	block.Message = strings.Join([]string{block.Message, revoke.Message}, "; ")
	return block, nil
}

// Unsuspend allows the user's sign-in again. Sessions revoked by Suspend stay revoked: the
// user signs in afresh.
func (c *Client) Unsuspend(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	return c.setSignIn(ctx, u, true)
}

// setSignIn reads the user's current state first, so a repeated block is a no-op rather than
// another change in the tenant's audit log.
func (c *Client) setSignIn(ctx context.Context, u tenantsync.UserRef, enable bool) (tenantsync.WriteResult, error) {
	const op = "ExecDisableUser"
	user, err := c.needUser(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	cur, err := c.User(ctx, u.TenantID, user)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	if cur.AccountEnabled != nil && *cur.AccountEnabled == enable {
		state := "blocked"
		if enable {
			state = "allowed"
		}
		return resultLines{{Text: "sign-in already " + state + " for " + user}}.result(false), nil
	}
	lines, err := c.action(ctx, op, u.TenantID, map[string]any{"ID": user, "Enable": enable})
	if err == nil {
		err = c.confirm(op, u.TenantID, lines)
	}
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	return lines.result(true), nil
}

// ForcePasswordReset sets a new password that CIPP generates (ExecResetPass) and returns it in
// WriteResult.TemporaryPassword, never in the message. CIPP cannot set a given password, so a
// non-zero p.TemporaryPassword is refused with ErrUnsupported. Not retried: a retry would set
// a second password.
func (c *Client) ForcePasswordReset(ctx context.Context, u tenantsync.UserRef, p tenantsync.PasswordReset) (tenantsync.WriteResult, error) {
	const op = opResetPass
	user, err := c.needUser(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	if !p.TemporaryPassword.IsZero() {
		return tenantsync.WriteResult{}, c.newError(tenantsync.ErrUnsupported, op, u.TenantID, 0,
			"CIPP generates the new password itself and cannot set a given one", "leave TemporaryPassword empty; the generated password is returned in the result")
	}
	// displayName appears in CIPP's message only.
	lines, err := c.action(ctx, op, u.TenantID, map[string]any{"ID": user, "displayName": u.UPN, "MustChange": p.MustChange})
	if err == nil {
		err = c.confirm(op, u.TenantID, lines)
	}
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	res := lines.result(true)
	res.TemporaryPassword = tenantsync.NewSecret(lines.copyField())
	return res, nil
}

// RevokeSessions invalidates the user's refresh tokens (ExecRevokeSessions). The UPN appears
// in CIPP's message only.
func (c *Client) RevokeSessions(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	const op = "ExecRevokeSessions"
	user, err := c.needUser(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	lines, err := c.action(ctx, op, u.TenantID, map[string]any{"id": user, "Username": u.UPN})
	if err == nil {
		err = c.confirm(op, u.TenantID, lines)
	}
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	return lines.result(true), nil
}

// noMFAMethods opens ExecResetMFA's answer for a user who had none.
const noMFAMethods = "No MFA methods found"

// ResetMFA removes the user's MFA methods so they must register again (ExecResetMFA).
// Changed is false when the user had none.
func (c *Client) ResetMFA(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error) {
	const op = "ExecResetMFA"
	user, err := c.needUser(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	lines, err := c.action(ctx, op, u.TenantID, map[string]any{"ID": user})
	if err == nil {
		err = c.confirm(op, u.TenantID, lines, noMFAMethods)
	}
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	return lines.result(!strings.HasPrefix(lines.message(), noMFAMethods)), nil
}

// AddToGroup adds the user (object ID, with the UPN for distribution lists) to a group
// (EditGroup). An existing member is success with Changed false.
func (c *Client) AddToGroup(ctx context.Context, u tenantsync.UserRef, groupID string) (tenantsync.WriteResult, error) {
	return c.editGroup(ctx, u, groupID, "AddMember")
}

// RemoveFromGroup removes the user from a group (EditGroup). A user who is not a member is
// success with Changed false.
func (c *Client) RemoveFromGroup(ctx context.Context, u tenantsync.UserRef, groupID string) (tenantsync.WriteResult, error) {
	return c.editGroup(ctx, u, groupID, "RemoveMember")
}

func (c *Client) editGroup(ctx context.Context, u tenantsync.UserRef, groupID, field string) (tenantsync.WriteResult, error) {
	const op = "EditGroup"
	user, err := c.needUser(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	if strings.TrimSpace(groupID) == "" {
		return tenantsync.WriteResult{}, c.newError(tenantsync.ErrInvalidInput, op, u.TenantID, 0, "no group given", "pass the group's object ID")
	}
	member := map[string]any{"value": user, "addedFields": map[string]string{"userPrincipalName": u.UPN}}
	body := map[string]any{"groupId": map[string]any{"value": groupID}, field: []any{member}}
	lines, err := c.action(ctx, op, u.TenantID, body)
	if err == nil {
		err = c.confirm(op, u.TenantID, lines)
	}
	switch {
	case err == nil:
		return lines.result(true), nil
	case alreadyDone(lines):
		return lines.result(false), nil
	}
	return tenantsync.WriteResult{}, err
}

// needUser returns the user CIPP is to address: the object ID when given, else the UPN.
func (c *Client) needUser(op string, u tenantsync.UserRef) (string, error) {
	if id := strings.TrimSpace(u.UserID); id != "" {
		return id, nil
	}
	if upn := strings.TrimSpace(u.UPN); upn != "" {
		return upn, nil
	}
	return "", c.newError(tenantsync.ErrInvalidInput, op, u.TenantID, 0, "no user given", "pass the user's object ID or UPN")
}

// alreadyDone reports whether every failed line of an EditGroup result says the membership was
// already as requested.
func alreadyDone(lines resultLines) bool {
	failed := 0
	for _, l := range lines {
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
