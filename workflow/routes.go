package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
)

// Route names, as in sync.
const (
	RouteCIPP  = "cipp"
	RouteGraph = "graph"
)

// Route performs workflow steps through one service. Every step is idempotent: run again after
// it took effect, it succeeds with Changed false (or, where the service cannot tell, repeats a
// change that leaves the user as asked).
type Route interface {
	// Name is the route ("cipp", "graph").
	Name() string
	// Unsupported says why the route cannot perform a step of this kind, or "" when it can.
	Unsupported(k StepKind) string
	// Profile reads the user's current profile fields, for a plan and for the value before a
	// write-back. ErrNotFound when there is no such user.
	Profile(ctx context.Context, u tenantsync.UserRef) (Profile, error)
	// Do performs one step of req.
	Do(ctx context.Context, req Request, s Step) (StepResult, error)
}

// GraphRoute performs the steps through Microsoft Graph. Graph has no call for the Exchange
// Online steps (converting to shared, forwarding, hiding from the address lists): the route
// names them as not possible rather than skipping them.
func GraphRoute(c *graph.Client) Route { return graphRoute{c} }

type graphRoute struct{ c *graph.Client }

func (graphRoute) Name() string { return RouteGraph }

func (graphRoute) Unsupported(k StepKind) string {
	if cmd, ok := exchangeOnly[k]; ok {
		return "Microsoft Graph cannot do this: it is an Exchange Online setting (" + cmd +
			"); do it through CIPP or Exchange Online PowerShell"
	}
	return ""
}

func (r graphRoute) Profile(ctx context.Context, u tenantsync.UserRef) (Profile, error) {
	s, err := r.c.UserState(ctx, u)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{MobilePhone: s.MobilePhone, JobTitle: s.JobTitle, Department: s.Department, OfficeLocation: s.OfficeLocation}
	if len(s.BusinessPhones) > 0 {
		p.BusinessPhone = s.BusinessPhones[0]
	}
	return p, nil
}

func unchanged(msg string) StepResult { return StepResult{Outcome: OutcomeUnchanged, Message: msg} }

func changed(res tenantsync.WriteResult) StepResult {
	out := StepResult{Outcome: OutcomeSucceeded, Message: res.Message, TemporaryPassword: res.TemporaryPassword}
	if !res.Changed {
		out.Outcome = OutcomeUnchanged
	}
	return out
}

func wrap(res tenantsync.WriteResult, err error) (StepResult, error) {
	if err != nil {
		return StepResult{}, err
	}
	return changed(res), nil
}

func (r graphRoute) Do(ctx context.Context, req Request, s Step) (StepResult, error) {
	c, u := r.c, req.User()
	switch s.Kind {
	case StepCreateUser:
		o := req.Onboarding
		if _, err := c.UserState(ctx, u); err == nil {
			return unchanged("the user exists already"), nil
		} else if !errors.Is(err, tenantsync.ErrNotFound) {
			return StepResult{}, err
		}
		_, res, err := c.CreateUser(ctx, req.TenantID, graph.NewUser{UserPrincipalName: o.UserPrincipalName, DisplayName: o.DisplayName,
			GivenName: o.GivenName, Surname: o.Surname, UsageLocation: o.UsageLocation})
		return wrap(res, err)
	case StepSetUsageLocation:
		st, err := c.UserState(ctx, u)
		if err != nil {
			return StepResult{}, err
		}
		if strings.EqualFold(st.UsageLocation, req.Onboarding.UsageLocation) {
			return unchanged("the usage location is " + st.UsageLocation + " already"), nil
		}
		return wrap(c.UpdateUser(ctx, u, map[string]any{"usageLocation": req.Onboarding.UsageLocation}))
	case StepAssignLicences:
		st, err := c.UserState(ctx, u)
		if err != nil {
			return StepResult{}, err
		}
		missing := missingFrom(req.Onboarding.SKUs, st.Licenses())
		if len(missing) == 0 {
			return unchanged("the licences are assigned already"), nil
		}
		return wrap(c.AssignLicenses(ctx, u, missing, nil))
	case StepAddToGroups:
		return eachGroup(req.Onboarding.Groups, func(g string) (tenantsync.WriteResult, error) { return c.AddToGroup(ctx, u, g) })
	case StepSetManager:
		return wrap(c.SetManager(ctx, u, req.Onboarding.ManagerID))
	case StepBlockSignIn:
		return wrap(c.BlockSignIn(ctx, u))
	case StepRevokeSessions:
		return wrap(c.RevokeSessions(ctx, u))
	case StepResetPassword:
		return wrap(c.ForcePasswordReset(ctx, u, tenantsync.PasswordReset{MustChange: true}))
	case StepRemoveGroups:
		groups, err := c.UserGroups(ctx, u)
		if err != nil {
			return StepResult{}, err
		}
		ids := make([]string, 0, len(groups))
		for _, g := range groups {
			ids = append(ids, g.ID)
		}
		if len(ids) == 0 {
			return unchanged("the user is in no group"), nil
		}
		return eachGroup(ids, func(g string) (tenantsync.WriteResult, error) { return c.RemoveFromGroup(ctx, u, g) })
	case StepRemoveLicences:
		st, err := c.UserState(ctx, u)
		if err != nil {
			return StepResult{}, err
		}
		if len(st.Licenses()) == 0 {
			return unchanged("the user has no licence"), nil
		}
		res, err := c.AssignLicenses(ctx, u, nil, st.Licenses())
		if err == nil {
			res.Message = "removed the licences " + strings.Join(st.Licenses(), ", ")
		}
		return wrap(res, err)
	case StepSetAutoReply:
		return wrap(c.SetAutomaticReply(ctx, u, req.Offboarding.AutoReply))
	case StepRemoveMFAMethods:
		return wrap(c.ResetMFA(ctx, u))
	case StepSetProfileField:
		return setField(ctx, r, u, s, func(ctx context.Context) (tenantsync.WriteResult, error) {
			var v any = s.Value
			if s.Field == FieldBusinessPhone {
				v = []string{s.Value}
			}
			return c.UpdateUser(ctx, u, map[string]any{s.Field: v})
		})
	}
	return StepResult{}, notPossible(r, s)
}

// setField writes one profile field: it reads the value before, does nothing when it is the
// value asked already, and reports the value before and after.
func setField(ctx context.Context, r Route, u tenantsync.UserRef, s Step, write func(context.Context) (tenantsync.WriteResult, error)) (StepResult, error) {
	cur, err := r.Profile(ctx, u)
	if err != nil {
		return StepResult{}, err
	}
	before := cur.get(s.Field)
	if before == s.Value {
		res := unchanged(s.Field + " is " + fmt.Sprintf("%q", before) + " already")
		res.Before, res.After = before, before
		return res, nil
	}
	wr, err := write(ctx)
	if err != nil {
		return StepResult{}, err
	}
	res := changed(wr)
	res.Outcome, res.Before, res.After = OutcomeSucceeded, before, s.Value
	res.Message = fmt.Sprintf("%s changed from %q to %q", s.Field, before, s.Value)
	return res, nil
}

// eachGroup applies op to every group and reports them together; it fails when any failed,
// after trying all, naming those that failed. Done again, the groups already done succeed with
// Changed false.
func eachGroup(groups []string, op func(string) (tenantsync.WriteResult, error)) (StepResult, error) {
	var done, failed []string
	var errs []error
	changedAny := false
	for _, g := range groups {
		res, err := op(g)
		if err != nil {
			failed = append(failed, g)
			errs = append(errs, err)
			continue
		}
		done = append(done, g)
		changedAny = changedAny || res.Changed
	}
	if len(errs) > 0 {
		e := &tenantsync.Error{Class: tenantsync.ClassOf(errs[0]), Service: Service, Op: "groups",
			Message: fmt.Sprintf("%d of %d groups failed (%s)", len(failed), len(groups), strings.Join(failed, ", ")),
			Hint:    tenantsync.HintOf(errs[0]), Err: errors.Join(errs...)}
		if e.Hint == "" {
			e.Hint = "resume the run to try the failed groups again"
		}
		return StepResult{}, e
	}
	return changed(tenantsync.WriteResult{Message: "groups: " + strings.Join(done, ", "), Changed: changedAny}), nil
}

func missingFrom(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			out = append(out, w)
		}
	}
	return out
}

func notPossible(r Route, s Step) error {
	e := tenantsync.Errorf(tenantsync.ErrUnsupported, r.Unsupported(s.Kind), "the %s route cannot %s", r.Name(), s.Kind)
	e.Service, e.Op = Service, string(s.Kind)
	return e
}

// CIPPRoute performs the steps through CIPP: offboarding through ExecOffboardUser, one action
// per call so each call's answer is one step's outcome, onboarding through AddUser (which
// creates the user with its usage location, licences and manager in one call) and EditGroup,
// and the profile write-back through EditUser. Current CIPP runs an offboarding as a scheduled
// task and does not say how each action went: such a step's outcome is "submitted", and its
// result is in CIPP's task list.
func CIPPRoute(c *cipp.Client) Route { return cippRoute{c} }

type cippRoute struct{ c *cipp.Client }

func (cippRoute) Name() string                { return RouteCIPP }
func (cippRoute) Unsupported(StepKind) string { return "" }

func (r cippRoute) Profile(ctx context.Context, u tenantsync.UserRef) (Profile, error) {
	cu, err := r.user(ctx, u)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{MobilePhone: cu.MobilePhone, JobTitle: cu.JobTitle, Department: cu.Department, OfficeLocation: cu.OfficeLocation}
	if len(cu.BusinessPhones) > 0 {
		p.BusinessPhone = cu.BusinessPhones[0]
	}
	return p, nil
}

func (r cippRoute) user(ctx context.Context, u tenantsync.UserRef) (cipp.User, error) {
	id := u.UserID
	if id == "" {
		id = u.UPN
	}
	return r.c.User(ctx, u.TenantID, id)
}

// upn returns the user's UPN, looking it up when the request gave only the object ID:
// ExecOffboardUser addresses users by UPN.
func (r cippRoute) upn(ctx context.Context, u tenantsync.UserRef) (string, error) {
	if u.UPN != "" {
		return u.UPN, nil
	}
	cu, err := r.user(ctx, u)
	if err != nil {
		return "", err
	}
	return cu.UserPrincipalName, nil
}

func (r cippRoute) Do(ctx context.Context, req Request, s Step) (StepResult, error) {
	c, u := r.c, req.User()
	switch s.Kind {
	case StepCreateUser:
		o := req.Onboarding
		if _, err := r.user(ctx, u); err == nil {
			return unchanged("the user exists already"), nil
		} else if !errors.Is(err, tenantsync.ErrNotFound) {
			return StepResult{}, err
		}
		nick, domain, _ := strings.Cut(o.UserPrincipalName, "@")
		res, err := c.AddUser(ctx, cipp.NewUser{TenantID: req.TenantID, MailNickname: nick, Domain: domain, DisplayName: o.DisplayName,
			GivenName: o.GivenName, Surname: o.Surname, UsageLocation: o.UsageLocation, Licenses: o.SKUs, ManagerID: o.ManagerID})
		if err != nil {
			return StepResult{}, err
		}
		return StepResult{Outcome: OutcomeSucceeded, Message: cipp.OffboardResult{Lines: res.Lines}.Message(), TemporaryPassword: res.TemporaryPassword}, nil
	case StepSetUsageLocation, StepSetManager:
		// AddUser set them with the user; a user that existed before the run keeps its own.
		return unchanged("set by CIPP's AddUser with the user"), nil
	case StepAssignLicences:
		cu, err := r.user(ctx, u)
		if err != nil {
			return StepResult{}, err
		}
		have := make([]string, 0, len(cu.AssignedLicenses))
		for _, l := range cu.AssignedLicenses {
			have = append(have, l.SKUID)
		}
		if missing := missingFrom(req.Onboarding.SKUs, have); len(missing) > 0 {
			e := tenantsync.Errorf(tenantsync.ErrUnavailable, "assign them in CIPP (Identity > Users > Edit) or check the tenant has free licences",
				"CIPP's AddUser did not assign the licences %s", strings.Join(missing, ", "))
			e.Service, e.Op, e.Tenant = Service, string(s.Kind), req.TenantID
			return StepResult{}, e
		}
		return unchanged("assigned by CIPP's AddUser with the user"), nil
	case StepAddToGroups:
		return eachGroup(req.Onboarding.Groups, func(g string) (tenantsync.WriteResult, error) { return c.AddToGroup(ctx, u, g) })
	case StepBlockSignIn:
		// Read first: blocking a blocked account is then no call at all.
		if cu, err := r.user(ctx, u); err == nil && cu.AccountEnabled != nil && !*cu.AccountEnabled {
			return unchanged("sign-in is blocked already"), nil
		}
		return r.offboard(ctx, req, cipp.Offboarding{DisableSignIn: true})
	case StepRevokeSessions:
		return r.offboard(ctx, req, cipp.Offboarding{RevokeSessions: true})
	case StepResetPassword:
		return r.offboard(ctx, req, cipp.Offboarding{ResetPass: true})
	case StepRemoveGroups:
		return r.offboard(ctx, req, cipp.Offboarding{RemoveGroups: true})
	case StepRemoveLicences:
		return r.offboard(ctx, req, cipp.Offboarding{RemoveLicenses: true})
	case StepConvertToShared:
		return r.offboard(ctx, req, cipp.Offboarding{ConvertToShared: true})
	case StepSetAutoReply:
		return r.offboard(ctx, req, cipp.Offboarding{OutOfOffice: req.Offboarding.AutoReply})
	case StepForwardMail:
		return r.offboard(ctx, req, cipp.Offboarding{ForwardTo: req.Offboarding.ForwardTo, KeepCopy: req.Offboarding.KeepCopy})
	case StepHideFromAddressList:
		return r.offboard(ctx, req, cipp.Offboarding{HideFromGAL: true})
	case StepRemoveMFAMethods:
		return r.offboard(ctx, req, cipp.Offboarding{RemoveMFADevices: true})
	case StepSetProfileField:
		return setField(ctx, r, u, s, func(ctx context.Context) (tenantsync.WriteResult, error) {
			// Send the current value of every other non-empty field: CIPP's EditUser may
			// write each field it is given, and one it is not given must not be blanked.
			cur, err := r.Profile(ctx, u)
			if err != nil {
				return tenantsync.WriteResult{}, err
			}
			fields := map[string]string{}
			for _, f := range cur.fields() {
				fields[f[0]] = f[1]
			}
			fields[s.Field] = s.Value
			return c.EditUser(ctx, u, fields)
		})
	}
	return StepResult{}, notPossible(r, s)
}

// offboard sends one ExecOffboardUser action and reads CIPP's answer as that step's outcome:
// "scheduled" (current CIPP) is submitted; lines (older CIPP) are the action's outcome, a
// failed line failing the step.
func (r cippRoute) offboard(ctx context.Context, req Request, o cipp.Offboarding) (StepResult, error) {
	upn, err := r.upn(ctx, req.User())
	if err != nil {
		return StepResult{}, err
	}
	o.TenantID, o.UPN = req.TenantID, upn
	res, err := r.c.OffboardUser(ctx, o)
	if err != nil {
		return StepResult{}, err
	}
	if failed := res.Failed(); len(failed) > 0 {
		if notMember(res) {
			return unchanged(res.Message()), nil
		}
		e := tenantsync.Errorf(tenantsync.ErrUnavailable, "CIPP could not complete the action; the message says why. Resume the run to try it again",
			"%s", cipp.OffboardResult{Lines: failed}.Message())
		e.Service, e.Op, e.Tenant = Service, "ExecOffboardUser", req.TenantID
		return StepResult{}, e
	}
	if res.Scheduled {
		return StepResult{Outcome: OutcomeSubmitted, Message: res.Message() + " (CIPP reports the outcome in its scheduled tasks)"}, nil
	}
	out := StepResult{Outcome: OutcomeSucceeded, Message: res.Message()}
	if strings.Contains(strings.ToLower(out.Message), "not a member of any groups") {
		out.Outcome = OutcomeUnchanged
	}
	return out, nil
}

func notMember(res cipp.OffboardResult) bool {
	for _, l := range res.Failed() {
		if !strings.Contains(strings.ToLower(l.Text), "not a member") {
			return false
		}
	}
	return true
}
