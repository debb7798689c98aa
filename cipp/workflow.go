package cipp

import (
	"context"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/httpx"
)

// Offboarding is the body of one ExecOffboardUser call for one user: the actions to take. A
// workflow that must resume after a crash sends one action per call, so each call's answer is
// the outcome of one step.
type Offboarding struct {
	TenantID string
	UPN      string // CIPP's offboarding addresses users by UPN only

	DisableSignIn    bool
	RevokeSessions   bool
	ResetPass        bool
	RemoveGroups     bool
	RemoveLicenses   bool
	ConvertToShared  bool
	HideFromGAL      bool
	RemoveMFADevices bool
	// OutOfOffice, when set, is the automatic reply.
	OutOfOffice string
	// ForwardTo, when set, is the address mail is forwarded to; KeepCopy keeps a copy in the
	// mailbox.
	ForwardTo string
	KeepCopy  bool
	// Reference is CIPP's "reference" field (a ticket number), shown in CIPP's task list.
	Reference string
}

// OffboardResult is ExecOffboardUser's answer. Current CIPP (10.x) runs the actions as a
// scheduled task and answers only that it was scheduled (Scheduled true, the outcome is in
// CIPP's task list); older versions ran them at once and answered one line per action.
// Generated passwords are redacted from the lines.
type OffboardResult struct {
	Scheduled bool
	Lines     []ResultLine
}

// Failed returns the lines that report a failure.
func (r OffboardResult) Failed() []ResultLine {
	var out []ResultLine
	for _, l := range r.Lines {
		if l.Failed() {
			out = append(out, l)
		}
	}
	return out
}

// Message joins the lines' texts.
func (r OffboardResult) Message() string { return resultLines(r.Lines).message() }

// OffboardUser runs ExecOffboardUser. A 200 whose lines report failures is returned with those
// lines and no error: each line is the outcome of one action, and the caller decides which
// step failed. Not retried: a retried offboarding schedules a second task.
func (c *Client) OffboardUser(ctx context.Context, o Offboarding) (OffboardResult, error) {
	const op = "ExecOffboardUser"
	upn := strings.TrimSpace(o.UPN)
	if !strings.Contains(upn, "@") {
		return OffboardResult{}, c.newError(tenantsync.ErrInvalidInput, op, o.TenantID, 0, "no UPN given", "CIPP's offboarding addresses the user by UPN: pass the user's UPN")
	}
	body := map[string]any{
		"user":             []any{map[string]string{"value": upn, "label": upn}},
		"DisableSignIn":    o.DisableSignIn,
		"RevokeSessions":   o.RevokeSessions,
		"ResetPass":        o.ResetPass,
		"RemoveGroups":     o.RemoveGroups,
		"RemoveLicenses":   o.RemoveLicenses,
		"ConvertToShared":  o.ConvertToShared,
		"HideFromGAL":      o.HideFromGAL,
		"RemoveMFADevices": o.RemoveMFADevices,
		"RemoveRules":      false, "RemoveMobile": false, "removeCalendarInvites": false, "removePermissions": false,
		"removeCalendarPermissions": false, "ClearImmutableId": false, "RemoveTeamsPhoneDID": false,
		"DisableOneDriveSharing": false, "DeleteUser": false, "disableForwarding": false,
		"KeepCopy": o.KeepCopy, "AccessNoAutomap": []any{}, "AccessAutomap": []any{}, "OnedriveAccess": []any{},
		"Scheduled":     map[string]any{"enabled": false},
		"PostExecution": map[string]any{"webhook": false, "email": false, "psa": false},
	}
	if o.OutOfOffice != "" {
		body["OOO"] = o.OutOfOffice
	}
	if o.ForwardTo != "" {
		body["forward"] = map[string]string{"value": o.ForwardTo}
	}
	if o.Reference != "" {
		body["reference"] = o.Reference
	}
	lines, err := c.action(ctx, op, o.TenantID, body)
	if err != nil && lines == nil {
		return OffboardResult{}, err
	}
	res := OffboardResult{Lines: redactLines(lines)}
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l.Text), "scheduled") {
			res.Scheduled = true
		}
	}
	return res, nil
}

// redactLines removes generated passwords from the lines (CIPP's offboarding password reset
// writes the password into its line).
func redactLines(ls resultLines) []ResultLine {
	out := make([]ResultLine, 0, len(ls))
	for _, l := range ls {
		t := l.Text
		if l.CopyField != "" {
			t = strings.ReplaceAll(t, l.CopyField, tenantsync.Redacted)
		}
		if i := strings.Index(t, "The new password is "); i >= 0 {
			t = t[:i] + "The new password is " + tenantsync.Redacted
		}
		if i := strings.Index(t, "Password: "); i >= 0 {
			t = t[:i] + "Password: " + tenantsync.Redacted
		}
		out = append(out, ResultLine{Text: httpx.Redact(t), State: l.State})
	}
	return out
}

// NewUser is the body of AddUser: a user CIPP creates with a generated password, then licenses.
type NewUser struct {
	TenantID      string
	MailNickname  string // the part of the UPN before the @
	Domain        string // the part after it
	DisplayName   string
	GivenName     string
	Surname       string
	UsageLocation string   // two letters, needed for licences
	Licenses      []string // SKU IDs
	ManagerID     string   // object ID of the manager
}

// AddUserResult is AddUser's answer: the lines (password redacted) and the generated password.
type AddUserResult struct {
	Lines             []ResultLine
	TemporaryPassword tenantsync.Secret
}

// AddUser creates a user (AddUser). CIPP answers 200 for failures too; a first line "Failed to
// create user" is returned as an error, later failed lines (a licence that could not be
// assigned) are returned in the result for the caller to report. Not retried.
func (c *Client) AddUser(ctx context.Context, u NewUser) (AddUserResult, error) {
	const op = "AddUser"
	if u.MailNickname == "" || u.Domain == "" || u.DisplayName == "" {
		return AddUserResult{}, c.newError(tenantsync.ErrInvalidInput, op, u.TenantID, 0, "incomplete user", "set the user's name, display name and domain")
	}
	body := map[string]any{
		"givenName": u.GivenName, "surname": u.Surname, "displayName": u.DisplayName,
		"username": u.MailNickname, "mailNickname": u.MailNickname,
		"primDomain":     map[string]string{"value": u.Domain, "label": u.Domain},
		"MustChangePass": true, "Autopassword": true,
	}
	if u.UsageLocation != "" {
		body["usageLocation"] = map[string]string{"value": u.UsageLocation, "label": u.UsageLocation}
	}
	if len(u.Licenses) > 0 {
		ls := make([]any, 0, len(u.Licenses))
		for _, l := range u.Licenses {
			ls = append(ls, map[string]string{"value": l, "label": l})
		}
		body["licenses"] = ls
	}
	if u.ManagerID != "" {
		body["setManager"] = map[string]string{"value": u.ManagerID}
	}
	lines, err := c.action(ctx, op, u.TenantID, body)
	if len(lines) > 0 && lines[0].Failed() || err != nil && lines == nil {
		if err == nil {
			err = c.newError(tenantsync.ErrUnavailable, op, u.TenantID, 200, redactLines(lines)[0].Text, "CIPP could not create the user; the message says why")
		}
		return AddUserResult{}, err
	}
	return AddUserResult{Lines: redactLines(lines), TemporaryPassword: tenantsync.NewSecret(lines.copyField())}, nil
}

// EditUser sets the given profile fields (EditUser): keys are Graph property names (jobTitle,
// department, officeLocation, mobilePhone, businessPhones). The caller sends the current value
// of every field it does not change: CIPP's EditUser may write every field it is given.
func (c *Client) EditUser(ctx context.Context, u tenantsync.UserRef, fields map[string]string) (tenantsync.WriteResult, error) {
	const op = "EditUser"
	user, err := c.needUser(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	body := map[string]any{"id": user, "userPrincipalName": u.UPN}
	for k, v := range fields {
		body[k] = v
	}
	lines, err := c.action(ctx, op, u.TenantID, body)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	return lines.result(true), nil
}
