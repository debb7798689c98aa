package graph_test

import (
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// member returns a live, enabled member with MFA methods beyond the password.
func memberWithMethods(t *testing.T, tn *testserver.Tenant) *testserver.User {
	t.Helper()
	for _, u := range tn.Users {
		if !u.Deleted && u.AccountEnabled && u.UserType == "Member" && len(u.Methods) > 1 {
			return u
		}
	}
	t.Fatal("no member with MFA methods")
	return nil
}

func TestWrites(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	w := graph.NewWriter(c)
	tn := firstTenant(srv)
	u := memberWithMethods(t, tn)
	ctx := t.Context()
	state := func() (enabled bool, methods int) {
		srv.World.UpdateUser(tn.ID, u.ID, func(x *testserver.User) { enabled, methods = x.AccountEnabled, len(x.Methods) })
		return
	}
	write := func(a tenantsync.Action, mutate ...func(*tenantsync.WriteRequest)) tenantsync.WriteResult {
		t.Helper()
		req := tenantsync.WriteRequest{Action: a, TenantID: tn.ID, UserID: u.ID}
		for _, m := range mutate {
			m(&req)
		}
		res, err := w.Write(ctx, req)
		require.NoError(t, err, a)
		assert.Equal(t, "graph", res.Route)
		return res
	}

	assert.True(t, write(tenantsync.ActionBlockSignIn).Changed)
	enabled, _ := state()
	assert.False(t, enabled)
	assert.False(t, write(tenantsync.ActionBlockSignIn).Changed, "blocking a blocked account changes nothing")
	assert.True(t, write(tenantsync.ActionUnblockSignIn).Changed)
	enabled, _ = state()
	assert.True(t, enabled)

	before := srv.GraphRevocations(tn.ID, u.ID)
	res := write(tenantsync.ActionSuspend)
	assert.True(t, res.Changed)
	enabled, _ = state()
	assert.False(t, enabled)
	assert.Equal(t, before+1, srv.GraphRevocations(tn.ID, u.ID), "suspend revokes sessions")
	assert.True(t, write(tenantsync.ActionUnsuspend).Changed)
	enabled, _ = state()
	assert.True(t, enabled)

	assert.True(t, write(tenantsync.ActionRevokeSessions).Changed)
	assert.Equal(t, before+2, srv.GraphRevocations(tn.ID, u.ID))

	pw := write(tenantsync.ActionForcePasswordReset)
	assert.True(t, pw.Changed)
	assert.Len(t, pw.TemporaryPassword.Reveal(), 16)
	pw = write(tenantsync.ActionForcePasswordReset, func(r *tenantsync.WriteRequest) { r.TemporaryPassword = tenantsync.NewSecret("Given-Passw0rd!") })
	assert.Equal(t, "Given-Passw0rd!", pw.TemporaryPassword.Reveal())
	_, err := w.Write(ctx, tenantsync.WriteRequest{Action: tenantsync.ActionForcePasswordReset, TenantID: tn.ID, UserID: u.ID, TemporaryPassword: tenantsync.NewSecret("weak")})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "weak\"", "the password must not be echoed")

	assert.True(t, write(tenantsync.ActionResetMFA).Changed)
	_, methods := state()
	assert.Equal(t, 1, methods, "only the password method remains")
	assert.False(t, write(tenantsync.ActionResetMFA).Changed)

	var group *testserver.Group
	for _, g := range tn.Groups {
		if !g.Members[u.ID] {
			group = g
			break
		}
	}
	require.NotNil(t, group)
	withGroup := func(r *tenantsync.WriteRequest) { r.GroupID = group.ID }
	byUPN := func(r *tenantsync.WriteRequest) { r.UserID, r.UPN = "", u.UserPrincipalName }
	assert.True(t, write(tenantsync.ActionAddToGroup, withGroup).Changed)
	assert.False(t, write(tenantsync.ActionAddToGroup, withGroup, byUPN).Changed, "an existing member is success")
	assert.True(t, write(tenantsync.ActionRemoveFromGroup, withGroup, byUPN).Changed)
	assert.False(t, write(tenantsync.ActionRemoveFromGroup, withGroup).Changed, "removing a non-member is success")

	_, err = w.Write(ctx, tenantsync.WriteRequest{Action: tenantsync.ActionRemoveFromGroup, TenantID: tn.ID, UserID: u.ID, GroupID: "00000000-0000-0000-0000-000000000404"})
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
	_, err = w.Write(ctx, tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: tn.ID, UserID: "00000000-0000-0000-0000-000000000404"})
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
	d, _ := tenantsync.Details(err)
	assert.Equal(t, "Request_ResourceNotFound", d.Code)
	assert.Contains(t, d.Hint, "check the ID")
	_, err = w.Write(ctx, tenantsync.WriteRequest{Action: "explode", TenantID: tn.ID, UserID: u.ID})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Equal(t, "graph", w.Name())
}

func TestWriteDeniedNamesTheRole(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	u := memberWithMethods(t, tn)
	srv.GraphDeny(tn.ID, "/groups", true)
	ref := tenantsync.UserRef{TenantID: tn.ID, UserID: u.ID}
	_, err := c.AddToGroup(t.Context(), ref, tn.Groups[0].ID)
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(err), "Groups Administrator")
	srv.GraphDeny(tn.ID, "/users/"+u.ID+"/authentication", true)
	_, err = c.ResetMFA(t.Context(), ref)
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing)
	assert.Contains(t, tenantsync.HintOf(err), "Authentication Administrator")
}

func TestTemporaryPassword(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 20 {
		p, err := graph.TemporaryPassword()
		require.NoError(t, err)
		require.Len(t, p, 16)
		var up, lo, di, sy bool
		for _, r := range p {
			switch {
			case unicode.IsUpper(r):
				up = true
			case unicode.IsLower(r):
				lo = true
			case unicode.IsDigit(r):
				di = true
			default:
				sy = true
			}
		}
		assert.True(t, up && lo && di && sy, p)
		assert.False(t, seen[p])
		seen[p] = true
	}
}

// TestWriteMethodsTakeAUserRef calls the client's write methods directly, as a caller without
// the Writer does: by object ID or UPN, with the refusals a bad reference gets before any call.
func TestWriteMethodsTakeAUserRef(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	u := memberWithMethods(t, tn)
	ctx := t.Context()
	byUPN := tenantsync.UserRef{TenantID: tn.ID, UPN: u.UserPrincipalName}

	res, err := c.BlockSignIn(ctx, byUPN)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	res, err = c.UnblockSignIn(ctx, byUPN)
	require.NoError(t, err)
	assert.True(t, res.Changed)

	res, err = c.ForcePasswordReset(ctx, byUPN, tenantsync.PasswordReset{TemporaryPassword: tenantsync.NewSecret("Given-Passw0rd!")})
	require.NoError(t, err)
	assert.Equal(t, "Given-Passw0rd!", res.TemporaryPassword.Reveal())
	assert.NotContains(t, res.Message, "must change", "MustChange false does not force a change")
	res, err = c.ForcePasswordReset(ctx, byUPN, tenantsync.PasswordReset{MustChange: true})
	require.NoError(t, err)
	assert.Len(t, res.TemporaryPassword.Reveal(), 16, "generated when none is given")
	assert.Contains(t, res.Message, "must change")

	refusals := []struct {
		name string
		call func() error
		want string
	}{
		{"no tenant", func() error { _, err := c.RevokeSessions(ctx, tenantsync.UserRef{UserID: u.ID}); return err }, "tenant"},
		{"no user", func() error { _, err := c.ResetMFA(ctx, tenantsync.UserRef{TenantID: tn.ID, UPN: " "}); return err }, "no user"},
		{"no group", func() error { _, err := c.AddToGroup(ctx, byUPN, ""); return err }, "no group"},
	}
	for _, r := range refusals {
		err := r.call()
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, r.name)
		assert.Contains(t, err.Error(), r.want, r.name)
	}
}
