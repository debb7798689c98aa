package cipp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// writeFixture is a fake with an editor client, a tenant, a licensed enabled user with MFA
// methods, and a group the user is not in.
type writeFixture struct {
	srv    *testserver.Server
	c      *Client
	w      *Writer
	tenant *testserver.Tenant
	user   *testserver.User
	group  *testserver.Group
}

func newWriteFixture(t *testing.T) writeFixture {
	t.Helper()
	srv := newFake(t, testserver.Options{})
	c := clientFor(t, srv, srv.NewCIPPClient("editor"))
	f := writeFixture{srv: srv, c: c, w: NewWriter(c)}
	tn := managedTenant(t, c)
	f.tenant = srv.World.Tenant(tn.CustomerID)
	require.NotNil(t, f.tenant)
	for _, u := range f.tenant.ActiveUsers() {
		if u.AccountEnabled && u.UserType == "Member" && len(u.MFAMethods) > 0 && u.MailboxType == "UserMailbox" {
			f.user = u
			break
		}
	}
	require.NotNil(t, f.user, "a licensed user with MFA")
	for _, g := range f.tenant.Groups {
		if !g.Members[f.user.ID] {
			f.group = g
			break
		}
	}
	require.NotNil(t, f.group)
	return f
}

func (f writeFixture) req(a tenantsync.Action) tenantsync.WriteRequest {
	return tenantsync.WriteRequest{Action: a, TenantID: f.tenant.ID, UserID: f.user.ID, UPN: f.user.UserPrincipalName, GroupID: f.group.ID}
}

func (f writeFixture) enabled(t *testing.T) bool {
	t.Helper()
	u, err := f.c.User(t.Context(), f.tenant.ID, f.user.ID)
	require.NoError(t, err)
	return *u.AccountEnabled
}

func TestWriterSignInAndSuspend(t *testing.T) {
	t.Parallel()
	f := newWriteFixture(t)
	ctx := t.Context()
	assert.Equal(t, "cipp", f.w.Name())

	// One user through a sequence of writes; each step's state is read back from the fake.
	steps := []struct {
		action  tenantsync.Action
		changed bool
		enabled bool
		revoked int // the user's ExecRevokeSessions calls so far
		message string
	}{
		{tenantsync.ActionBlockSignIn, true, false, 0, "Successfully set account enabled state to False"},
		{tenantsync.ActionBlockSignIn, false, false, 0, "sign-in already blocked for " + f.user.ID}, // no second write
		{tenantsync.ActionUnblockSignIn, true, true, 0, "Successfully set account enabled state to True"},
		// Suspend blocks, then revokes sessions: both answers are in the message.
		{tenantsync.ActionSuspend, true, false, 1, "Successfully set account enabled state to False for " + f.user.ID + "; Successfully revoked sessions"},
		{tenantsync.ActionUnsuspend, true, true, 1, "Successfully set account enabled state to True"},
		{tenantsync.ActionRevokeSessions, true, true, 2, "Successfully revoked sessions"},
	}
	for i, st := range steps {
		res, err := f.w.Write(ctx, f.req(st.action))
		require.NoError(t, err, "step %d: %s", i, st.action)
		assert.Equal(t, st.changed, res.Changed, "step %d: %s", i, st.action)
		assert.Equal(t, "cipp", res.Route)
		require.NotEmpty(t, st.message, "step %d names the answer it expects", i)
		assert.Contains(t, res.Message, st.message, "step %d", i)
		assert.Equal(t, st.enabled, f.enabled(t), "step %d: a later read shows the write", i)
		assert.Equal(t, st.revoked, f.srv.CIPPSessionsRevoked(f.user.ID), "step %d", i)
	}

	// By UPN alone.
	byUPN := f.req(tenantsync.ActionBlockSignIn)
	byUPN.UserID = ""
	_, err := f.w.Write(ctx, byUPN)
	require.NoError(t, err)
	assert.False(t, f.enabled(t))
}

func TestWriterPasswordAndMFA(t *testing.T) {
	t.Parallel()
	f := newWriteFixture(t)
	ctx := t.Context()

	res, err := f.w.Write(ctx, f.req(tenantsync.ActionForcePasswordReset))
	require.NoError(t, err)
	pw := res.TemporaryPassword.Reveal()
	require.NotEmpty(t, pw)
	assert.NotContains(t, res.Message, pw, "the password never sits in the message")
	assert.Contains(t, strings.ToLower(res.Message), "[redacted]")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", res, res, res), pw, "the result prints without the password")

	given := f.req(tenantsync.ActionForcePasswordReset)
	given.TemporaryPassword = tenantsync.NewSecret("Chosen-Pass-1")
	_, err = f.w.Write(ctx, given)
	require.ErrorIs(t, err, tenantsync.ErrUnsupported)
	assert.Contains(t, tenantsync.HintOf(err), "leave TemporaryPassword empty")

	res, err = f.w.Write(ctx, f.req(tenantsync.ActionResetMFA))
	require.NoError(t, err)
	assert.True(t, res.Changed)
	mfa, err := f.c.MFAUsers(ctx, f.tenant.ID)
	require.NoError(t, err)
	for _, m := range mfa {
		if m.ID == f.user.ID {
			assert.Empty(t, m.MFAMethods, "a later read shows the methods gone")
		}
	}
	res, err = f.w.Write(ctx, f.req(tenantsync.ActionResetMFA))
	require.NoError(t, err)
	assert.False(t, res.Changed, "no methods left")
}

func TestWriterGroups(t *testing.T) {
	t.Parallel()
	f := newWriteFixture(t)
	ctx := t.Context()

	res, err := f.w.Write(ctx, f.req(tenantsync.ActionAddToGroup))
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Contains(t, res.Message, "Success - Added member")
	assert.True(t, f.member(), "a later read shows the member")

	res, err = f.w.Write(ctx, f.req(tenantsync.ActionAddToGroup))
	require.NoError(t, err, "already a member is success")
	assert.False(t, res.Changed)

	res, err = f.w.Write(ctx, f.req(tenantsync.ActionRemoveFromGroup))
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.False(t, f.member())

	res, err = f.w.Write(ctx, f.req(tenantsync.ActionRemoveFromGroup))
	require.NoError(t, err)
	assert.False(t, res.Changed)

	bad := f.req(tenantsync.ActionAddToGroup)
	bad.GroupID = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
	_, err = f.w.Write(ctx, bad)
	require.Error(t, err, "an unknown group is a failure, not 'already done'")
	assert.Contains(t, err.Error(), "does not exist")
}

func (f writeFixture) member() bool {
	var c int
	// The fake's World is the truth; read it as a test of the fake's write path.
	for _, g := range f.tenant.Groups {
		if g.ID == f.group.ID && g.Members[f.user.ID] {
			c++
		}
	}
	return c == 1
}

func TestWriterFailures(t *testing.T) {
	t.Parallel()
	f := newWriteFixture(t)
	ctx := t.Context()

	_, err := f.w.Write(ctx, tenantsync.WriteRequest{Action: "explode", TenantID: f.tenant.ID, UserID: f.user.ID})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	d, _ := tenantsync.Details(err)
	require.NotNil(t, d)
	assert.Equal(t, "cipp", d.Service)

	ghost := f.req(tenantsync.ActionBlockSignIn)
	ghost.UserID, ghost.UPN = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b", ""
	_, err = f.w.Write(ctx, ghost)
	require.ErrorIs(t, err, tenantsync.ErrNotFound)

	ghost.Action = tenantsync.ActionRevokeSessions
	_, err = f.w.Write(ctx, ghost)
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "CIPP's 500 'does not exist' is not-found")

	ghost.Action = tenantsync.ActionResetMFA
	_, err = f.w.Write(ctx, ghost)
	require.ErrorIs(t, err, tenantsync.ErrNotFound)

	ghost.Action = tenantsync.ActionForcePasswordReset
	_, err = f.w.Write(ctx, ghost)
	require.ErrorIs(t, err, tenantsync.ErrNotFound)

	_, err = f.c.BlockSignIn(ctx, tenantsync.UserRef{TenantID: f.tenant.ID, UPN: " "})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	_, err = f.c.AddToGroup(ctx, tenantsync.UserRef{TenantID: f.tenant.ID, UserID: f.user.ID}, "")
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)

	other := f.req(tenantsync.ActionBlockSignIn)
	other.TenantID = "nobody.example"
	_, err = f.w.Write(ctx, other)
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound, "not CIPP's silent success")
}

// A write action CIPP answers 200 with a text that does not say it was done is not reported
// as done: PowerShell may have continued past an error it did not catch (cipp-api.md). The
// error says the change may or may not have been made, and what to check; a generated
// password in such an answer goes nowhere.
func TestWriteActionsNeedAnAnswerThatSaysDone(t *testing.T) {
	t.Parallel()
	user := tenantsync.UserRef{TenantID: contosoID, UserID: "7d1f0c2e-4b5a-4c3d-9e8f-0a1b2c3d4e5f", UPN: "jane@contoso.com"}
	listUsers := stubResponse{status: 200, ctype: "application/json",
		body: `[{"id":"7d1f0c2e-4b5a-4c3d-9e8f-0a1b2c3d4e5f","userPrincipalName":"jane@contoso.com","accountEnabled":true}]`}
	for _, text := range []string{
		`"The user is synced from on-premises; nothing was changed"`,
		`""`,
		`[]`,
		`{"resultText":"Could not find the user","state":"warning"}`,
		`{"resultText":"Password set","state":"info","copyField":"Xy7#secret-pass"}`,
	} {
		body := `{"Results":` + text + `}`
		routes := map[string]stubResponse{"ListUsers": listUsers}
		for _, op := range []string{"ExecDisableUser", "ExecRevokeSessions", "ExecResetMFA", "ExecResetPass", "EditGroup"} {
			routes[op] = stubResponse{status: 200, ctype: "application/json", body: body}
		}
		c, _ := stubCIPP(t, routes)
		for name, call := range map[string]func() (tenantsync.WriteResult, error){
			"BlockSignIn":    func() (tenantsync.WriteResult, error) { return c.BlockSignIn(t.Context(), user) },
			"RevokeSessions": func() (tenantsync.WriteResult, error) { return c.RevokeSessions(t.Context(), user) },
			"ResetMFA":       func() (tenantsync.WriteResult, error) { return c.ResetMFA(t.Context(), user) },
			"ForcePasswordReset": func() (tenantsync.WriteResult, error) {
				return c.ForcePasswordReset(t.Context(), user, tenantsync.PasswordReset{MustChange: true})
			},
			"AddToGroup": func() (tenantsync.WriteResult, error) {
				return c.AddToGroup(t.Context(), user, "a1b2c3d4-0000-4000-8000-000000000001")
			},
		} {
			res, err := call()
			require.ErrorIs(t, err, tenantsync.ErrUnavailable, "%s answered %s", name, text)
			assert.Zero(t, res, name)
			d, _ := tenantsync.Details(err)
			require.NotNil(t, d)
			assert.Contains(t, d.Message, "does not say", name)
			assert.Contains(t, d.Hint, "may or may not have been made", name)
			assert.NotContains(t, fmt.Sprintf("%v %+v", err, d), "Xy7#secret-pass", "a generated password never reaches an error")
		}
	}
	// The answers CIPP gives when it did the action, or had nothing to do, still succeed.
	routes := map[string]stubResponse{
		"ListUsers":          listUsers,
		"ExecDisableUser":    {status: 200, ctype: "application/json", body: `{"Results":"Successfully set account enabled state to False for jane@contoso.com"}`},
		"ExecRevokeSessions": {status: 200, ctype: "application/json", body: `{"Results":"Successfully revoked sessions for jane@contoso.com"}`},
		"ExecResetMFA":       {status: 200, ctype: "application/json", body: `{"Results":"No MFA methods found for user jane@contoso.com"}`},
		"ExecResetPass":      {status: 200, ctype: "application/json", body: `{"Results":{"resultText":"Reset the password for Jane Doe","copyField":"Xy7#new","state":"success"}}`},
		"EditGroup":          {status: 200, ctype: "application/json", body: `{"Results":["Success - Added member jane@contoso.com to Sales group"]}`},
	}
	c, _ := stubCIPP(t, routes)
	res, err := c.BlockSignIn(t.Context(), user)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	_, err = c.RevokeSessions(t.Context(), user)
	require.NoError(t, err)
	res, err = c.ResetMFA(t.Context(), user)
	require.NoError(t, err)
	assert.False(t, res.Changed, "no methods: nothing changed")
	res, err = c.ForcePasswordReset(t.Context(), user, tenantsync.PasswordReset{MustChange: true})
	require.NoError(t, err)
	assert.Equal(t, "Xy7#new", res.TemporaryPassword.Reveal())
	_, err = c.AddToGroup(t.Context(), user, "a1b2c3d4-0000-4000-8000-000000000001")
	require.NoError(t, err)
}

// What an answer opening with "Success" may still hide: a part that failed, a password where
// no copyField marks it; and what a suspension whose revocation is unclear says.
func TestWriteAnswersThatAreNotQuiteDone(t *testing.T) {
	t.Parallel()
	user := tenantsync.UserRef{TenantID: contosoID, UserID: "7d1f0c2e-4b5a-4c3d-9e8f-0a1b2c3d4e5f", UPN: "jane@contoso.com"}
	routes := func(op, body string) map[string]stubResponse {
		return map[string]stubResponse{
			"ListUsers": {status: 200, ctype: "application/json",
				body: `[{"id":"7d1f0c2e-4b5a-4c3d-9e8f-0a1b2c3d4e5f","userPrincipalName":"jane@contoso.com","accountEnabled":true}]`},
			op: {status: 200, ctype: "application/json", body: body},
		}
	}
	c, _ := stubCIPP(t, routes("ExecResetMFA",
		`{"Results":"Successfully removed MFA methods (phoneMethod) for user jane@contoso.com. However, failed to remove (microsoftAuthenticatorMethod). User may still have MFA methods assigned."}`))
	res, err := c.ResetMFA(t.Context(), user)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable, "a partial MFA reset is not done: %+v", res)

	for _, body := range []string{
		`{"Results":"Reset the password for jane@contoso.com. The new password is Xy7#secret-pass"}`,
		`{"Results":{"resultText":"Password for jane@contoso.com: Xy7#secret-pass","state":"info"}}`,
		`{"Results":[{"resultText":"Xy7#secret-pass","state":"info"}]}`,
	} {
		c, _ := stubCIPP(t, routes("ExecResetPass", body))
		_, err := c.ForcePasswordReset(t.Context(), user, tenantsync.PasswordReset{MustChange: true})
		require.ErrorIs(t, err, tenantsync.ErrUnavailable, body)
		d, _ := tenantsync.Details(err)
		assert.NotContains(t, fmt.Sprintf("%v %+v", err, d), "Xy7#secret-pass", body)
	}

	r := routes("ExecDisableUser", `{"Results":"Successfully set account enabled state to False for jane@contoso.com"}`)
	r["ExecRevokeSessions"] = stubResponse{status: 200, ctype: "application/json", body: `{"Results":""}`}
	c, _ = stubCIPP(t, r)
	_, err = c.Suspend(t.Context(), user)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	d, _ := tenantsync.Details(err)
	require.NotNil(t, d)
	assert.Contains(t, d.Message, "sign-in is blocked")
	assert.Contains(t, d.Hint, "the block stands")
}
