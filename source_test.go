package tenantsync_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync"
)

func TestWriteRequestValidate(t *testing.T) {
	t.Parallel()
	ok := tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: "t", UserID: "u"}
	tests := []struct {
		name   string
		mutate func(*tenantsync.WriteRequest)
		want   string // "" when valid
	}{
		{"valid", func(*tenantsync.WriteRequest) {}, ""},
		{"valid by UPN", func(r *tenantsync.WriteRequest) { r.UserID, r.UPN = "", "a@b.c" }, ""},
		{"unknown action", func(r *tenantsync.WriteRequest) { r.Action = "delete_tenant" }, "unknown action"},
		{"no tenant", func(r *tenantsync.WriteRequest) { r.TenantID = "" }, "no tenant"},
		{"no user", func(r *tenantsync.WriteRequest) { r.UserID = "" }, "no user"},
		{"group action without group", func(r *tenantsync.WriteRequest) { r.Action = tenantsync.ActionAddToGroup }, "no group"},
		{"group action with group", func(r *tenantsync.WriteRequest) { r.Action, r.GroupID = tenantsync.ActionRemoveFromGroup, "g" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ok
			tt.mutate(&r)
			err := r.Validate()
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

func TestKindsAndActions(t *testing.T) {
	t.Parallel()
	for _, k := range tenantsync.AllKinds() {
		assert.True(t, k.Valid())
	}
	assert.False(t, tenantsync.Kind("teams").Valid())
	for _, k := range []tenantsync.Kind{tenantsync.KindGroups, tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage} {
		assert.Contains(t, tenantsync.AllKinds(), k)
	}
	assert.True(t, tenantsync.KindBaseline.Singleton())
	assert.True(t, tenantsync.KindOrganization.Singleton())
	assert.False(t, tenantsync.KindGroups.Singleton())
	for _, a := range tenantsync.Actions() {
		assert.True(t, a.Valid())
	}
	assert.False(t, tenantsync.Action("wipe").Valid())
	assert.True(t, tenantsync.ActionAddToGroup.NeedsGroup())
	assert.False(t, tenantsync.ActionSuspend.NeedsGroup())
}

func TestFetchResultOfMissingKindIsUnavailable(t *testing.T) {
	t.Parallel()
	var nilRes *tenantsync.FetchResult
	r := nilRes.Result(tenantsync.KindUsers)
	assert.Equal(t, tenantsync.Unavailable, r.Mode, "no answer is never an empty listing")
	assert.ErrorIs(t, r.Err, tenantsync.ErrUnsupported)

	res := &tenantsync.FetchResult{Kinds: map[tenantsync.Kind]*tenantsync.KindResult{
		tenantsync.KindDevices: {Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{{ID: "d"}}},
	}}
	assert.Equal(t, 1, res.Result(tenantsync.KindDevices).Len())
	assert.Equal(t, tenantsync.Unavailable, res.Result(tenantsync.KindMFA).Mode)
}

func TestKindResultLen(t *testing.T) {
	t.Parallel()
	cases := map[tenantsync.Kind]*tenantsync.KindResult{
		tenantsync.KindUsers:         {Kind: tenantsync.KindUsers, Users: make([]tenantsync.User, 3)},
		tenantsync.KindMailboxes:     {Kind: tenantsync.KindMailboxes, Mailboxes: make([]tenantsync.Mailbox, 3)},
		tenantsync.KindDevices:       {Kind: tenantsync.KindDevices, Devices: make([]tenantsync.Device, 3)},
		tenantsync.KindDomains:       {Kind: tenantsync.KindDomains, Domains: make([]tenantsync.Domain, 3)},
		tenantsync.KindSubscriptions: {Kind: tenantsync.KindSubscriptions, Subscriptions: make([]tenantsync.Subscription, 3)},
		tenantsync.KindMFA:           {Kind: tenantsync.KindMFA, MFA: make([]tenantsync.MFAState, 3)},
		tenantsync.KindGroups:        {Kind: tenantsync.KindGroups, Groups: make([]tenantsync.Group, 3)},
		tenantsync.KindSignIns:       {Kind: tenantsync.KindSignIns, SignIns: make([]tenantsync.SignInActivity, 3)},
		tenantsync.KindMailboxUsage:  {Kind: tenantsync.KindMailboxUsage, MailboxUsage: make([]tenantsync.MailboxUsage, 3)},
	}
	for k, r := range cases {
		assert.Equal(t, 3, r.Len(), k)
	}
	assert.Equal(t, 1, (&tenantsync.KindResult{Kind: tenantsync.KindBaseline, Baseline: &tenantsync.SecurityBaseline{}}).Len())
	assert.Equal(t, 0, (&tenantsync.KindResult{Kind: tenantsync.KindBaseline}).Len())
	assert.Equal(t, 1, (&tenantsync.KindResult{Kind: tenantsync.KindOrganization, Organization: &tenantsync.Organization{}}).Len())
	assert.Equal(t, 0, (&tenantsync.KindResult{Kind: tenantsync.KindOrganization}).Len())
	assert.Equal(t, "changes", tenantsync.Changes.String())
	assert.Equal(t, "complete", tenantsync.Complete.String())
	assert.Equal(t, "unavailable", tenantsync.Unavailable.String())
	u := tenantsync.UnavailableResult(tenantsync.KindMFA, tenantsync.ErrLicenseRequired)
	assert.Equal(t, tenantsync.Unavailable, u.Mode)
}

func TestTypeHelpers(t *testing.T) {
	t.Parallel()
	assert.True(t, tenantsync.User{UserType: "Guest"}.IsGuest())
	assert.True(t, tenantsync.User{AssignedSKUs: []string{"x"}}.IsLicensed())
	assert.True(t, tenantsync.MailboxUser.IsPerson())
	assert.True(t, tenantsync.MailboxType("").IsPerson(), "no mailbox known: a person until told otherwise")
	assert.False(t, tenantsync.MailboxShared.IsPerson())
	assert.False(t, tenantsync.MailboxRoom.IsPerson())
}

func TestKindResultIDs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		r    *tenantsync.KindResult
		want []string
	}{
		{&tenantsync.KindResult{Kind: tenantsync.KindUsers, Users: []tenantsync.User{{ObjectID: "u1"}, {ObjectID: "u2"}}}, []string{"u1", "u2"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindMailboxes, Mailboxes: []tenantsync.Mailbox{{ObjectID: "m"}}}, []string{"m"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindDevices, Devices: []tenantsync.Device{{ID: "d"}}}, []string{"d"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindDomains, Domains: []tenantsync.Domain{{Name: "contoso.com"}}}, []string{"contoso.com"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindSubscriptions, Subscriptions: []tenantsync.Subscription{{SKUID: "s"}}}, []string{"s"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindMFA, MFA: []tenantsync.MFAState{{UserID: "u1"}}}, []string{"u1"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindBaseline, Baseline: &tenantsync.SecurityBaseline{}}, nil},
		{&tenantsync.KindResult{Kind: tenantsync.KindGroups, Groups: []tenantsync.Group{{ID: "g"}}}, []string{"g"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindSignIns, SignIns: []tenantsync.SignInActivity{{UserID: "u1"}}}, []string{"u1"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindMailboxUsage, MailboxUsage: []tenantsync.MailboxUsage{{UserPrincipalName: "a@b.c"}}}, []string{"a@b.c"}},
		{&tenantsync.KindResult{Kind: tenantsync.KindOrganization, Organization: &tenantsync.Organization{}}, nil},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.r.IDs(), c.r.Kind)
	}
}
