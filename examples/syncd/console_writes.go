package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// writeForm is the console's write-action form: the linked tenants, each with the groups a
// group action can pick by name.
type writeForm struct {
	Tenants []writeTenant
	Actions []tenantsync.Action
}

type writeTenant struct {
	ID, Name string
	Groups   []groupOption
	Listed   bool
}

type groupOption struct {
	ID, Name, Type string
	Members        int
}

// consoleActions are the write actions the form offers: a password reset is left to the API,
// which hands its temporary password to the caller alone.
func consoleActions() []tenantsync.Action {
	return []tenantsync.Action{tenantsync.ActionAddToGroup, tenantsync.ActionRemoveFromGroup, tenantsync.ActionBlockSignIn,
		tenantsync.ActionUnblockSignIn, tenantsync.ActionRevokeSessions, tenantsync.ActionSuspend, tenantsync.ActionUnsuspend,
		tenantsync.ActionResetMFA}
}

// writeForm lists the linked tenants and the groups whose members a write can change, by name.
func (c *console) writeForm(ctx context.Context, tenants []tenantRow, problem func(string, error)) writeForm {
	f := writeForm{Actions: consoleActions()}
	for _, t := range tenants {
		if t.Client == "" {
			continue
		}
		gs, listed, err := c.api.tenantGroups(ctx, t.ID)
		if err != nil {
			problem("groups of "+t.Name, err)
			continue
		}
		wt := writeTenant{ID: t.ID, Name: t.Name, Listed: listed}
		for _, g := range gs {
			if g.Writable() {
				wt.Groups = append(wt.Groups, groupOption{ID: g.ID, Name: g.DisplayName, Type: groupTypeLabel(g.Type), Members: g.MemberCount})
			}
		}
		f.Tenants = append(f.Tenants, wt)
	}
	return f
}

func groupTypeLabel(t tenantsync.GroupType) string {
	switch t {
	case tenantsync.GroupMicrosoft365:
		return "Microsoft 365"
	case tenantsync.GroupSecurity:
		return "security"
	}
	return string(t)
}

// write runs the action picked in the form through the engine's Write, as POST /api/writes
// does: permission, approval and audit under the session's actor. A group action's group is
// one of the chosen tenant's groups, picked by name.
func (c *console) write(w http.ResponseWriter, r *http.Request, s *consoleSession) {
	ctx := r.Context()
	action := tenantsync.Action(r.PostFormValue("action"))
	tenantID, upn := r.PostFormValue("tenantId"), strings.TrimSpace(r.PostFormValue("upn"))
	req := tenantsync.WriteRequest{Action: action, TenantID: tenantID, UPN: upn}
	invalid := func(hint, format string, args ...any) {
		c.done(w, r, s, tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...), "", "#writes")
	}
	switch {
	case !action.Valid() || action == tenantsync.ActionForcePasswordReset:
		invalid("pick one of the actions the form offers", "unknown action %q", action)
		return
	case tenantID == "":
		invalid("pick the tenant of the user", "no tenant picked")
		return
	case upn == "":
		invalid("type the user's sign-in name (user principal name)", "no user given")
		return
	}
	groupName := ""
	if action.NeedsGroup() {
		gs, _, err := c.api.tenantGroups(ctx, tenantID)
		if err != nil {
			c.done(w, r, s, err, "", "#writes")
			return
		}
		id := r.PostFormValue("groupId")
		for _, g := range gs {
			if g.ID == id {
				req.GroupID, groupName = g.ID, g.DisplayName
			}
		}
		if req.GroupID == "" {
			invalid("pick a group listed under the tenant you picked (sync the tenant if the group is new)",
				"no group of %s picked", c.tenantName(ctx, tenantID))
			return
		}
	}
	res, err := c.api.engine.Write(ctx, actorFrom(ctx), req)
	msg := ""
	if err == nil {
		what := strings.ReplaceAll(string(action), "_", " ")
		if groupName != "" {
			what += " " + groupName
		}
		msg = fmt.Sprintf("Done: %s for %s via %s.", what, upn, res.Route)
		if !res.Changed {
			msg = fmt.Sprintf("Nothing to do: %s for %s was already in effect.", what, upn)
		}
	}
	c.done(w, r, s, err, msg, "#writes")
}
