package tenantsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
)

// writeActions is the write vocabulary every route's client speaks: one method per
// tenantsync.Action, the same names, request types and result type on CIPP and on Graph.
type writeActions interface {
	BlockSignIn(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error)
	UnblockSignIn(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error)
	Suspend(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error)
	Unsuspend(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error)
	ForcePasswordReset(ctx context.Context, u tenantsync.UserRef, p tenantsync.PasswordReset) (tenantsync.WriteResult, error)
	RevokeSessions(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error)
	ResetMFA(ctx context.Context, u tenantsync.UserRef) (tenantsync.WriteResult, error)
	AddToGroup(ctx context.Context, u tenantsync.UserRef, groupID string) (tenantsync.WriteResult, error)
	RemoveFromGroup(ctx context.Context, u tenantsync.UserRef, groupID string) (tenantsync.WriteResult, error)
}

// Both clients speak it: a method renamed or re-typed on one route stops this compiling.
var (
	_ writeActions = (*cipp.Client)(nil)
	_ writeActions = (*graph.Client)(nil)
)

// TestWriteActionsNameEveryAction keeps the vocabulary and the Action constants together: an
// action added to the root package without a method of its name on both clients fails here.
func TestWriteActionsNameEveryAction(t *testing.T) {
	t.Parallel()
	methodOf := func(a tenantsync.Action) string {
		var b strings.Builder
		for _, w := range strings.Split(string(a), "_") {
			if w == "mfa" { // an initialism keeps its case, as Go names do
				b.WriteString("MFA")
				continue
			}
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
		return b.String()
	}
	iface := reflect.TypeFor[writeActions]()
	var want []string
	for _, a := range tenantsync.Actions() {
		want = append(want, methodOf(a))
	}
	var got []string
	for i := range iface.NumMethod() {
		got = append(got, iface.Method(i).Name)
	}
	assert.ElementsMatch(t, want, got)
	for _, client := range []reflect.Type{reflect.TypeFor[*cipp.Client](), reflect.TypeFor[*graph.Client]()} {
		for _, name := range want {
			m, ok := client.MethodByName(name)
			if assert.True(t, ok, "%s has no %s", client, name) {
				im, _ := iface.MethodByName(name)
				// The receiver is the method's first input; the rest must match the interface.
				assert.Equal(t, im.Type.NumIn(), m.Type.NumIn()-1, "%s.%s", client, name)
			}
		}
	}
}

func TestUserRefValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ref  tenantsync.UserRef
		want string // "" when valid
	}{
		{"by object ID", tenantsync.UserRef{TenantID: "t", UserID: "u"}, ""},
		{"by UPN", tenantsync.UserRef{TenantID: "t", UPN: "a@b.c"}, ""},
		{"no tenant", tenantsync.UserRef{UserID: "u"}, "no tenant"},
		{"blank tenant", tenantsync.UserRef{TenantID: " ", UserID: "u"}, "no tenant"},
		{"no user", tenantsync.UserRef{TenantID: "t"}, "no user"},
		{"blank user", tenantsync.UserRef{TenantID: "t", UserID: " ", UPN: "\t"}, "no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.ref.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotEmpty(t, tenantsync.HintOf(err))
		})
	}
	req := tenantsync.WriteRequest{Action: tenantsync.ActionResetMFA, TenantID: "t", UserID: "u", UPN: "a@b.c", GroupID: "g"}
	assert.Equal(t, tenantsync.UserRef{TenantID: "t", UserID: "u", UPN: "a@b.c"}, req.User())
}

// TestPasswordResetNeverPrints renders a reset request every way a log line or an error could.
func TestPasswordResetNeverPrints(t *testing.T) {
	t.Parallel()
	const pw = "Hunter2-Temporary!"
	p := tenantsync.PasswordReset{TemporaryPassword: tenantsync.NewSecret(pw), MustChange: true}
	j, err := json.Marshal(p)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", p, p, p), fmt.Sprint(p), string(j)} {
		assert.NotContains(t, out, pw)
		assert.NotContains(t, out, fmt.Sprintf("%x", pw))
	}
	assert.Equal(t, pw, p.TemporaryPassword.Reveal())
}
