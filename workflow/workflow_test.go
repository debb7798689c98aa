package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/transport"
	"github.com/tenantsync/tenantsync/workflow"
)

const (
	account = "msp-1"
	tech    = "tech@msp.example"
)

// allow grants m365.write to the actors listed.
type allow []string

func (a allow) Authorize(_ context.Context, actor, permission string) error {
	if permission == tenantsync.PermissionWrite && slices.Contains(a, actor) {
		return nil
	}
	return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "ask for m365.write", "%s lacks %s", actor, permission)
}

type rig struct {
	srv    *testserver.Server
	st     *memory.Store
	acct   store.Account
	tenant *testserver.Tenant
	routes map[string]workflow.Route
}

// newRig starts a fake and a store that knows one tenant, reached through route.
func newRig(t *testing.T, route string) *rig {
	t.Helper()
	srv := testserver.NewT(t, testserver.Options{Seed: 11, Tenants: 4, MinUsers: 12, MaxUsers: 20})
	var tn *testserver.Tenant
	for _, c := range srv.World.Tenants {
		if route == workflow.RouteCIPP && c.InCIPP && !c.CIPPStale || route == workflow.RouteGraph && c.Consented {
			tn = c
			break
		}
	}
	require.NotNil(t, tn, "no tenant for the %s route", route)

	creds := srv.CIPPCredentials()
	cc, err := cipp.NewClient(cipp.Config{BaseURL: srv.CIPPURL(), TenantID: creds.TenantID, ClientID: creds.ClientID,
		Secret: tenantsync.NewSecret(creds.Secret), AuthorityHost: srv.EntraURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}})
	require.NoError(t, err)
	app := srv.PartnerApp()
	gc, err := graph.NewClient(graph.Config{PartnerTenantID: app.TenantID, ClientID: app.ClientID, ClientSecret: tenantsync.NewSecret(app.Secret),
		BaseURL: srv.GraphURL(), AuthorityHost: srv.EntraURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient(), MaxRetryAfter: time.Second}})
	require.NoError(t, err)

	st := memory.New(memory.Config{})
	acct := st.Account(account)
	_, err = acct.Tenants.RecordDiscovery(t.Context(), route, []tenantsync.Tenant{{ID: tn.ID, DisplayName: tn.Name, DefaultDomain: tn.DefaultDomain}}, time.Now())
	require.NoError(t, err)
	routes := map[string]workflow.Route{workflow.RouteGraph: workflow.GraphRoute(gc)}
	if route == workflow.RouteCIPP {
		routes[workflow.RouteCIPP] = workflow.CIPPRoute(cc)
	}
	return &rig{srv: srv, st: st, acct: acct, tenant: tn, routes: routes}
}

func (r *rig) runner(t *testing.T, mutate ...func(*workflow.Config)) *workflow.Runner {
	t.Helper()
	cfg := workflow.Config{Account: r.acct, Routes: r.routes, Authorizer: allow{tech}, WritesEnabled: true, ProfileWriteBack: true}
	for _, m := range mutate {
		m(&cfg)
	}
	wr, err := workflow.New(cfg)
	require.NoError(t, err)
	return wr
}

// leaver picks an enabled, licensed member with a mailbox, in at least one group, with MFA
// methods to remove.
func (r *rig) leaver(t *testing.T) *testserver.User {
	t.Helper()
	for _, u := range r.tenant.Users {
		if u.Deleted || !u.AccountEnabled || u.UserType != "Member" || u.MailboxType != "UserMailbox" || len(u.Licenses) == 0 || u.IsAdmin {
			continue
		}
		groups := 0
		for _, g := range r.tenant.Groups {
			if g.Members[u.ID] {
				groups++
			}
		}
		if groups > 0 && len(u.MFAMethods) > 0 {
			return u
		}
	}
	t.Fatal("no leaver in the tenant")
	return nil
}

// crashAfter is an audit log that fails every append from the intent of step n+1 of a run on,
// as a process that dies after its step n has finished.
type crashAfter struct {
	store.Audit
	step    string
	crashed atomic.Bool
}

var errCrash = errors.New("injected crash")

func (c *crashAfter) Append(ctx context.Context, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	if c.crashed.Load() || e.Detail["step"] == c.step && e.Phase == "intent" {
		c.crashed.Store(true)
		return tenantsync.AuditEntry{}, errCrash
	}
	return c.Audit.Append(ctx, e)
}

// writes returns the calls of the log that change something.
func writes(calls []testserver.ServedCall) []testserver.ServedCall {
	var out []testserver.ServedCall
	for _, c := range calls {
		if c.Method == http.MethodGet || c.Service == testserver.ServiceCIPP && strings.HasPrefix(strings.ToLower(c.Path), "list") {
			continue
		}
		out = append(out, c)
	}
	return out
}

func key(c testserver.ServedCall) string { return c.Method + " " + c.Path + " " + c.Body }

// TestOffboardingResumesAfterCrash offboards a user on each route with a crash after step 3,
// resumes, and checks from the fake's log that no completed step was sent twice, the user is
// offboarded, and the audit log holds one workflow with its steps.
func TestOffboardingResumesAfterCrash(t *testing.T) {
	t.Parallel()
	for _, route := range []string{workflow.RouteCIPP, workflow.RouteGraph} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			r := newRig(t, route)
			u := r.leaver(t)
			req := workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UserID: u.ID, UPN: u.UserPrincipalName}
			off := workflow.FullOffboarding("I have left the company.", "manager@"+r.tenant.DefaultDomain)
			req.Offboarding = &off

			plan, err := r.runner(t).Plan(ctx, tech, req)
			require.NoError(t, err)
			assert.Equal(t, route, plan.Route)
			require.Len(t, plan.Steps, 10)
			assert.Empty(t, writes(r.srv.ServedCalls("")), "a plan sends no change")
			for _, s := range plan.Steps {
				assert.NotEmpty(t, s.Change)
				exchangeOnly := s.Kind == workflow.StepConvertToShared || s.Kind == workflow.StepForwardMail || s.Kind == workflow.StepHideFromAddressList
				assert.Equal(t, !(route == workflow.RouteGraph && exchangeOnly), s.Possible, "%s", s.Kind)
			}

			crash := &crashAfter{Audit: r.acct.Audit, step: "4"}
			first := r.runner(t, func(c *workflow.Config) { c.Account.Audit = crash })
			run, err := first.Start(ctx, tech, req)
			require.ErrorIs(t, err, errCrash)
			require.Len(t, run.Steps, 3, "the run stopped after step 3")
			firstWrites := writes(r.srv.ServedCalls(""))
			require.NotEmpty(t, firstWrites)

			got, err := r.runner(t).Get(ctx, run.ID)
			require.NoError(t, err)
			assert.Equal(t, workflow.StateRunning, got.State)
			assert.Len(t, got.Steps, 3)
			assert.Len(t, got.Pending, 7)

			resumed, err := r.runner(t).Resume(ctx, tech, run.ID)
			require.NoError(t, err)
			require.Len(t, resumed.Steps, 10)
			all := writes(r.srv.ServedCalls(""))
			seen := map[string]int{}
			for _, c := range all {
				seen[key(c)]++
			}
			for k, n := range seen {
				assert.Equal(t, 1, n, "sent %d times: %s", n, k)
			}
			assert.Greater(t, len(all), len(firstWrites), "the resumed run sent the remaining steps")
			for i, s := range resumed.Steps {
				assert.Equal(t, i+1, s.Index)
				if route == workflow.RouteGraph && (s.Kind == workflow.StepConvertToShared || s.Kind == workflow.StepForwardMail || s.Kind == workflow.StepHideFromAddressList) {
					assert.Equal(t, workflow.OutcomeNotPossible, s.Outcome, "%s", s.Kind)
					assert.Contains(t, s.Hint, "Exchange Online")
					continue
				}
				assert.Contains(t, []workflow.Outcome{workflow.OutcomeSucceeded, workflow.OutcomeUnchanged}, s.Outcome, "%s: %s %s", s.Kind, s.Message, s.Error)
			}
			if route == workflow.RouteGraph {
				assert.Equal(t, workflow.StatePartial, resumed.State, "the Exchange-only steps were not possible")
			} else {
				assert.Equal(t, workflow.StateSucceeded, resumed.State)
			}

			// The user is offboarded.
			r.srv.World.Tenant(r.tenant.ID)
			var after testserver.User
			require.NoError(t, r.srv.World.UpdateUser(r.tenant.ID, u.ID, func(x *testserver.User) { after = *x }))
			assert.False(t, after.AccountEnabled)
			assert.Empty(t, after.Licenses)
			assert.Empty(t, after.MFAMethods)
			assert.Equal(t, "I have left the company.", after.AutoReply)
			if route == workflow.RouteCIPP {
				assert.Equal(t, "SharedMailbox", after.MailboxType)
				assert.True(t, after.HiddenFromGAL)
				assert.Equal(t, "manager@"+r.tenant.DefaultDomain, after.ForwardTo)
			}
			for _, g := range r.tenant.Groups {
				assert.False(t, g.Members[u.ID], "still in %s", g.DisplayName)
			}

			// The audit shows one workflow with its steps.
			entries, err := r.acct.Audit.List(ctx, store.AuditQuery{})
			require.NoError(t, err)
			var starts, results, closes int
			stepResults := map[string]int{}
			for _, e := range entries {
				assert.Equal(t, tech, e.Actor)
				assert.NotContains(t, e.Detail["message"], "The new password is X", "no password in the audit")
				if strings.Contains(e.Detail["message"], "The new password is ") {
					assert.Contains(t, e.Detail["message"], "The new password is "+tenantsync.Redacted)
				}
				switch {
				case fmt.Sprint(e.Seq) == run.ID:
					starts++
					assert.Equal(t, "workflow.offboard", e.Action)
					assert.Equal(t, route, e.Route)
				case e.Detail["workflow_run"] != run.ID:
					t.Errorf("an entry outside the run: %+v", e)
				case e.Action == "workflow.offboard" && e.Phase == "result":
					closes++
				case e.Phase == "result":
					results++
					stepResults[e.Detail["step"]]++
				}
			}
			assert.Equal(t, 1, starts)
			assert.Equal(t, 1, closes)
			assert.Equal(t, 10, results, "one result per step")
			assert.Len(t, stepResults, 10)
			v, err := r.acct.Audit.Verify(ctx, nil)
			require.NoError(t, err)
			assert.True(t, v.OK())

			// Resuming a finished run sends nothing more.
			before := len(writes(r.srv.ServedCalls("")))
			again, err := r.runner(t).Resume(ctx, tech, run.ID)
			require.NoError(t, err)
			assert.Len(t, again.Steps, 10)
			if route == workflow.RouteCIPP {
				assert.Equal(t, before, len(writes(r.srv.ServedCalls(""))))
			}
		})
	}
}

// TestCIPPScheduledOffboarding: current CIPP schedules the task and says nothing of each action;
// the steps are then "submitted", not claimed as done.
func TestCIPPScheduledOffboarding(t *testing.T) {
	t.Parallel()
	r := newRig(t, workflow.RouteCIPP)
	r.srv.CIPPOffboardScheduled(true)
	u := r.leaver(t)
	run, err := r.runner(t).Start(t.Context(), tech, workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UPN: u.UserPrincipalName,
		Offboarding: &workflow.Offboarding{RevokeSessions: true, RemoveLicences: true}})
	require.NoError(t, err)
	require.Len(t, run.Steps, 2)
	for _, s := range run.Steps {
		assert.Equal(t, workflow.OutcomeSubmitted, s.Outcome)
		assert.Contains(t, s.Message, "scheduled")
	}
	assert.Equal(t, workflow.StateSucceeded, run.State)
}

// TestOffboardingPartialFailure: a step CIPP fails mid-workflow fails alone; the others run,
// the run is partial, and resuming retries only the failed step.
func TestOffboardingPartialFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRig(t, workflow.RouteGraph)
	u := r.leaver(t)
	r.srv.GraphFail(r.tenant.ID, "/users/"+u.ID+"/assignLicense", 1, http.StatusInternalServerError, "UnknownError")
	req := workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UserID: u.ID,
		Offboarding: &workflow.Offboarding{BlockSignIn: true, RemoveLicences: true, RemoveMFAMethods: true}}
	run, err := r.runner(t).Start(ctx, tech, req)
	require.NoError(t, err)
	require.Len(t, run.Steps, 3)
	assert.Equal(t, workflow.OutcomeSucceeded, run.Steps[0].Outcome)
	assert.Equal(t, workflow.OutcomeFailed, run.Steps[1].Outcome)
	assert.NotEmpty(t, run.Steps[1].Hint)
	assert.Equal(t, workflow.OutcomeSucceeded, run.Steps[2].Outcome)
	assert.Equal(t, workflow.StatePartial, run.State)

	r.srv.ResetServedCalls()
	again, err := r.runner(t).Resume(ctx, tech, run.ID)
	require.NoError(t, err)
	assert.Equal(t, workflow.StateSucceeded, again.State)
	for _, c := range writes(r.srv.ServedCalls("")) {
		assert.Contains(t, c.Path, "assignLicense", "only the failed step ran again")
	}
}

// TestOnboarding creates a user on the Graph route with licences, groups and a manager.
func TestOnboarding(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRig(t, workflow.RouteGraph)
	mgr := r.leaver(t)
	sku := r.tenant.SKUs[0].ID
	grp := r.tenant.Groups[0].ID
	upn := "new.starter@" + r.tenant.DefaultDomain
	req := workflow.Request{Kind: workflow.KindOnboard, TenantID: r.tenant.ID, Onboarding: &workflow.Onboarding{
		UserPrincipalName: upn, DisplayName: "New Starter", UsageLocation: "GB", SKUs: []string{sku}, Groups: []string{grp}, ManagerID: mgr.ID}}
	run, err := r.runner(t).Start(ctx, tech, req)
	require.NoError(t, err)
	require.Len(t, run.Steps, 5)
	assert.Equal(t, workflow.StateSucceeded, run.State, "%+v", run.Steps)
	pw := run.Steps[0].TemporaryPassword.Reveal()
	assert.NotEmpty(t, pw, "the caller gets the temporary password")
	entries, err := r.acct.Audit.List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, fmt.Sprintf("%v", e), pw, "the password is never audited")
	}
	var nu *testserver.User
	for _, x := range r.tenant.Users {
		if x.UserPrincipalName == upn {
			nu = x
		}
	}
	require.NotNil(t, nu)
	assert.Equal(t, []string{sku}, nu.Licenses)
	assert.Equal(t, mgr.ID, nu.ManagerID)
	assert.True(t, r.tenant.Groups[0].Members[nu.ID])

	// Run again: every step finds its work done.
	again, err := r.runner(t).Start(ctx, tech, req)
	require.NoError(t, err)
	for _, s := range again.Steps {
		if s.Kind != workflow.StepSetManager { // PUT manager/$ref is idempotent in Graph
			assert.Equal(t, workflow.OutcomeUnchanged, s.Outcome, "%s", s.Kind)
		}
	}
}

// TestProfileWriteBack writes a profile on each route: an empty field is left as is, a field
// already right is not written, and each change is audited with its value before and after.
func TestProfileWriteBack(t *testing.T) {
	t.Parallel()
	for _, route := range []string{workflow.RouteCIPP, workflow.RouteGraph} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			r := newRig(t, route)
			u := r.leaver(t)
			require.NoError(t, r.srv.World.UpdateUser(r.tenant.ID, u.ID, func(x *testserver.User) {
				x.JobTitle, x.Department, x.OfficeLocation, x.MobilePhone, x.BusinessPhones = "Analyst", "Finance", "HQ", "+44 7700 900001", []string{"+44 20 7946 0001"}
			}))
			req := workflow.Request{Kind: workflow.KindProfile, TenantID: r.tenant.ID, UserID: u.ID, UPN: u.UserPrincipalName,
				Profile: &workflow.Profile{JobTitle: "Senior Analyst", MobilePhone: "+44 7700 900001", OfficeLocation: "Floor 3"}}
			plan, err := r.runner(t).Plan(ctx, tech, req)
			require.NoError(t, err)
			require.Len(t, plan.Steps, 3, "empty fields are not steps")
			assert.Equal(t, "Analyst", plan.Steps[1].Before)

			run, err := r.runner(t).Start(ctx, tech, req)
			require.NoError(t, err)
			require.Len(t, run.Steps, 3)
			byField := map[string]workflow.StepResult{}
			for _, s := range run.Steps {
				byField[s.Field] = s
			}
			assert.Equal(t, workflow.OutcomeUnchanged, byField[workflow.FieldMobilePhone].Outcome)
			assert.Equal(t, workflow.OutcomeSucceeded, byField[workflow.FieldJobTitle].Outcome)
			assert.Equal(t, "Analyst", byField[workflow.FieldJobTitle].Before)
			assert.Equal(t, "Senior Analyst", byField[workflow.FieldJobTitle].After)

			var after testserver.User
			require.NoError(t, r.srv.World.UpdateUser(r.tenant.ID, u.ID, func(x *testserver.User) { after = *x }))
			assert.Equal(t, "Senior Analyst", after.JobTitle)
			assert.Equal(t, "Floor 3", after.OfficeLocation)
			assert.Equal(t, "Finance", after.Department, "never blanked")
			assert.Equal(t, []string{"+44 20 7946 0001"}, after.BusinessPhones, "never blanked")
			for _, c := range writes(r.srv.ServedCalls("")) {
				assert.NotContains(t, c.Body, `"department":""`)
				assert.NotContains(t, c.Body, `"businessPhones":[]`)
			}

			entries, err := r.acct.Audit.List(ctx, store.AuditQuery{})
			require.NoError(t, err)
			var audited []string
			for _, e := range entries {
				if e.Phase == "result" && e.Action == string(workflow.StepSetProfileField) {
					audited = append(audited, fmt.Sprintf("%s %s: %q -> %q", e.Outcome, e.Detail["field"], e.Detail["before"], e.Detail["after"]))
				}
			}
			assert.ElementsMatch(t, []string{
				`succeeded jobTitle: "Analyst" -> "Senior Analyst"`,
				`unchanged mobilePhone: "+44 7700 900001" -> "+44 7700 900001"`,
				`succeeded officeLocation: "HQ" -> "Floor 3"`,
			}, audited)

			// Off unless the account opted in, even with writes on.
			_, err = r.runner(t, func(c *workflow.Config) { c.ProfileWriteBack = false }).Start(ctx, tech, req)
			assert.ErrorIs(t, err, tenantsync.ErrWritesDisabled)
		})
	}
}

type approver tenantsync.Decision

func (a approver) Approve(context.Context, string, tenantsync.WriteRequest) (tenantsync.Decision, string, error) {
	return tenantsync.Decision(a), "", nil
}

// TestRefusals is the attacker's test: without the permission, with writes off, on a tenant
// the account does not have, or held by the approver, a workflow sends nothing and the refusal
// is audited.
func TestRefusals(t *testing.T) {
	t.Parallel()
	r := newRig(t, workflow.RouteCIPP)
	u := r.leaver(t)
	off := workflow.FullOffboarding("bye", "")
	req := workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UPN: u.UserPrincipalName, Offboarding: &off}
	tests := []struct {
		name   string
		actor  string
		req    workflow.Request
		cfg    func(*workflow.Config)
		want   error
		outcom string
	}{
		{"no permission", "attacker@evil.example", req, nil, tenantsync.ErrPermissionDenied, "refused"},
		{"no authorizer", tech, req, func(c *workflow.Config) { c.Authorizer = nil }, tenantsync.ErrPermissionDenied, "refused"},
		{"writes off", tech, req, func(c *workflow.Config) { c.WritesEnabled = false }, tenantsync.ErrWritesDisabled, "refused"},
		{"no actor", "", req, nil, tenantsync.ErrInvalidInput, "refused"},
		{"other tenant", tech, func() workflow.Request { x := req; x.TenantID = "00000000-0000-0000-0000-000000000001"; return x }(), nil, tenantsync.ErrTenantNotFound, "refused"},
		{"pending", tech, req, func(c *workflow.Config) { c.Approver = approver(tenantsync.Pending) }, tenantsync.ErrApprovalPending, "pending"},
		{"denied", tech, req, func(c *workflow.Config) { c.Approver = approver(tenantsync.Denied) }, tenantsync.ErrApprovalDenied, "denied"},
		{"nothing chosen", tech, workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UPN: u.UserPrincipalName, Offboarding: &workflow.Offboarding{}}, nil, tenantsync.ErrInvalidInput, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			r.srv.ResetServedCalls()
			var cfgs []func(*workflow.Config)
			if tt.cfg != nil {
				cfgs = append(cfgs, tt.cfg)
			}
			n0, err := r.acct.Audit.List(ctx, store.AuditQuery{})
			require.NoError(t, err)
			_, err = r.runner(t, cfgs...).Start(ctx, tt.actor, tt.req)
			require.ErrorIs(t, err, tt.want)
			assert.NotEmpty(t, tenantsync.HintOf(err))
			assert.Empty(t, r.srv.ServedCalls(""), "nothing sent")
			n1, err := r.acct.Audit.List(ctx, store.AuditQuery{})
			require.NoError(t, err)
			require.Len(t, n1, len(n0)+1, "the refusal is audited")
			last := n1[len(n1)-1]
			assert.Equal(t, tt.outcom, last.Outcome)
			assert.Equal(t, tt.actor, last.Actor)
		})
	}
	// Plan and Resume need the permission too.
	_, err := r.runner(t).Plan(t.Context(), "attacker@evil.example", req)
	assert.ErrorIs(t, err, tenantsync.ErrPermissionDenied)
	run, err := r.runner(t).Start(t.Context(), tech, workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UPN: u.UserPrincipalName,
		Offboarding: &workflow.Offboarding{BlockSignIn: true}})
	require.NoError(t, err)
	r.srv.ResetServedCalls()
	_, err = r.runner(t).Resume(t.Context(), "attacker@evil.example", run.ID)
	assert.ErrorIs(t, err, tenantsync.ErrPermissionDenied)
	assert.Empty(t, r.srv.ServedCalls(""))
}

// crashMidStep fails the append of step n's result, as a process that dies while the step
// runs: its intent is recorded, its result is not.
type crashMidStep struct {
	store.Audit
	step    string
	crashed atomic.Bool
}

func (c *crashMidStep) Append(ctx context.Context, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	if c.crashed.Load() || e.Detail["step"] == c.step && e.Phase == "result" {
		c.crashed.Store(true)
		return tenantsync.AuditEntry{}, errCrash
	}
	return c.Audit.Append(ctx, e)
}

// TestResumeRepeatsAnInterruptedStepHarmlessly: a step whose result was never recorded runs
// again on resume, and finds its work done.
func TestResumeRepeatsAnInterruptedStepHarmlessly(t *testing.T) {
	t.Parallel()
	for _, route := range []string{workflow.RouteCIPP, workflow.RouteGraph} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			r := newRig(t, route)
			u := r.leaver(t)
			req := workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UserID: u.ID, UPN: u.UserPrincipalName,
				Offboarding: &workflow.Offboarding{RevokeSessions: true, BlockSignIn: true, RemoveLicences: true}}
			crash := &crashMidStep{Audit: r.acct.Audit, step: "1"}
			run, err := r.runner(t, func(c *workflow.Config) { c.Account.Audit = crash }).Start(ctx, tech, req)
			require.ErrorIs(t, err, errCrash)
			got, err := r.runner(t).Get(ctx, run.ID)
			require.NoError(t, err)
			assert.Empty(t, got.Steps, "the interrupted step has no result")
			require.Len(t, got.Pending, 3)

			resumed, err := r.runner(t).Resume(ctx, tech, run.ID)
			require.NoError(t, err)
			require.Len(t, resumed.Steps, 3)
			assert.Equal(t, workflow.StepBlockSignIn, resumed.Steps[0].Kind)
			assert.Equal(t, workflow.OutcomeUnchanged, resumed.Steps[0].Outcome, "blocked before the crash: %s", resumed.Steps[0].Message)
			assert.Equal(t, workflow.StateSucceeded, resumed.State)
		})
	}
}

// TestOnboardingThroughCIPP creates a user with CIPP's AddUser, which assigns the licences and
// the manager with the user; the groups follow through EditGroup.
func TestOnboardingThroughCIPP(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := newRig(t, workflow.RouteCIPP)
	mgr := r.leaver(t)
	sku := r.tenant.SKUs[0].ID
	grp := r.tenant.Groups[0].ID
	upn := "new.starter@" + r.tenant.DefaultDomain
	req := workflow.Request{Kind: workflow.KindOnboard, TenantID: r.tenant.ID, Onboarding: &workflow.Onboarding{
		UserPrincipalName: upn, DisplayName: "New Starter", UsageLocation: "GB", SKUs: []string{sku}, Groups: []string{grp}, ManagerID: mgr.ID}}
	run, err := r.runner(t).Start(ctx, tech, req)
	require.NoError(t, err)
	require.Len(t, run.Steps, 5)
	assert.Equal(t, workflow.StateSucceeded, run.State, "%+v", run.Steps)
	assert.Equal(t, workflow.OutcomeSucceeded, run.Steps[0].Outcome)
	pw := run.Steps[0].TemporaryPassword.Reveal()
	require.NotEmpty(t, pw, "the caller gets CIPP's generated password")
	assert.NotContains(t, run.Steps[0].Message, pw)
	var adds int
	for _, c := range writes(r.srv.ServedCalls(testserver.ServiceCIPP)) {
		if c.Path == "AddUser" {
			adds++
			assert.Equal(t, "GB", c.Field("usageLocation"))
		}
	}
	assert.Equal(t, 1, adds)
	var nu *testserver.User
	for _, x := range r.tenant.Users {
		if x.UserPrincipalName == upn {
			nu = x
		}
	}
	require.NotNil(t, nu)
	assert.Equal(t, []string{sku}, nu.Licenses)
	assert.Equal(t, mgr.ID, nu.ManagerID)
	assert.True(t, r.tenant.Groups[0].Members[nu.ID])

	// A second run creates nothing.
	again, err := r.runner(t).Start(ctx, tech, req)
	require.NoError(t, err)
	assert.Equal(t, workflow.OutcomeUnchanged, again.Steps[0].Outcome)
	adds = 0
	for _, c := range writes(r.srv.ServedCalls(testserver.ServiceCIPP)) {
		if c.Path == "AddUser" {
			adds++
		}
	}
	assert.Equal(t, 1, adds)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	tests := []struct {
		name string
		req  workflow.Request
		want string // "" when valid
	}{
		{"offboard", workflow.Request{Kind: workflow.KindOffboard, TenantID: "t", UPN: "a@b.c", Offboarding: &workflow.Offboarding{BlockSignIn: true}}, ""},
		{"unknown kind", workflow.Request{Kind: "delete", TenantID: "t", UPN: "a@b.c"}, "unknown workflow"},
		{"no tenant", workflow.Request{Kind: workflow.KindOffboard, UPN: "a@b.c", Offboarding: &workflow.Offboarding{BlockSignIn: true}}, "no tenant"},
		{"no user", workflow.Request{Kind: workflow.KindOffboard, TenantID: "t", Offboarding: &workflow.Offboarding{BlockSignIn: true}}, "no user"},
		{"no steps", workflow.Request{Kind: workflow.KindOffboard, TenantID: "t", UPN: "a@b.c", Offboarding: &workflow.Offboarding{}}, "nothing to do"},
		{"empty profile", workflow.Request{Kind: workflow.KindProfile, TenantID: "t", UPN: "a@b.c", Profile: &workflow.Profile{JobTitle: "  "}}, "nothing to do"},
		{"onboard without UPN", workflow.Request{Kind: workflow.KindOnboard, TenantID: "t", Onboarding: &workflow.Onboarding{DisplayName: "A"}}, "incomplete user"},
		{"licences without location", workflow.Request{Kind: workflow.KindOnboard, TenantID: "t", Onboarding: &workflow.Onboarding{UserPrincipalName: "a@b.c", DisplayName: "A", SKUs: []string{"s"}}}, "usage location"},
		{"too many groups", workflow.Request{Kind: workflow.KindOnboard, TenantID: "t", Onboarding: &workflow.Onboarding{UserPrincipalName: "a@b.c", DisplayName: "A", Groups: many}}, "too many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.req.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotEmpty(t, tenantsync.HintOf(err))
		})
	}
}

func TestWriteBackFromContact(t *testing.T) {
	t.Parallel()
	req := workflow.WriteBack(tenantsync.Contact{TenantID: "t", ObjectID: "u", Phone: "+1 555 0100", JobTitle: "CFO"})
	require.NoError(t, req.Validate())
	assert.Equal(t, workflow.KindProfile, req.Kind)
	assert.Equal(t, "u", req.UserID)
	assert.Equal(t, workflow.Profile{BusinessPhone: "+1 555 0100", JobTitle: "CFO"}, *req.Profile, "an empty mobile stays empty: left as is")
}

// TestCancelledRunStopsForResume: a caller that gives up stops the run where it is, without
// recording the remaining steps as failed.
func TestCancelledRunStopsForResume(t *testing.T) {
	t.Parallel()
	r := newRig(t, workflow.RouteGraph)
	u := r.leaver(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := workflow.Request{Kind: workflow.KindOffboard, TenantID: r.tenant.ID, UserID: u.ID, Offboarding: &workflow.Offboarding{BlockSignIn: true, RevokeSessions: true}}
	run, err := r.runner(t).Start(ctx, tech, req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, run.Steps)
	assert.Empty(t, writes(r.srv.ServedCalls("")))
	resumed, err := r.runner(t).Resume(t.Context(), tech, run.ID)
	require.NoError(t, err)
	assert.Equal(t, workflow.StateSucceeded, resumed.State)
}
