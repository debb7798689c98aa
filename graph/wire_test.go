package graph

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// The testdata files are Microsoft's documented responses (reference §3.1, §3.2, §4.2, §5).

func TestDecodeRecordedShapes(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/users_select_page.json")
	require.NoError(t, err)
	p, err := DecodeUsersPage(data)
	require.NoError(t, err)
	require.Len(t, p.Items, 2)
	adele := toUser("t1", p.Items[0])
	assert.Equal(t, []string{"SMTP:AdeleV@contoso.com", "smtp:adele@contoso.onmicrosoft.com"}, adele.ProxyAddresses)
	assert.True(t, adele.AccountEnabled)
	assert.False(t, adele.OnPremisesSync)
	assert.Equal(t, []string{"c7df2760-2c81-4ef7-b578-5b5392b571df"}, adele.AssignedSKUs)
	assert.Equal(t, time.Date(2021, 8, 2, 10, 36, 57, 0, time.UTC), adele.CreatedAt)
	room := toUser("t1", p.Items[1])
	assert.Empty(t, room.GivenName, "null decodes as empty")
	assert.False(t, room.AccountEnabled, "an unselected accountEnabled is not true")
	assert.Contains(t, p.Next, "$skiptoken=")

	mb := toMailbox("t1", p.Items[0], "shared")
	assert.Equal(t, tenantsync.MailboxShared, mb.Type)
	assert.Equal(t, "AdeleV@contoso.com", mb.PrimarySMTPAddress)
	assert.Equal(t, []string{"adele@contoso.onmicrosoft.com"}, mb.Aliases)

	data, err = os.ReadFile("testdata/users_delta_page.json")
	require.NoError(t, err)
	d, err := DecodeUsersPage(data)
	require.NoError(t, err)
	require.Len(t, d.Items, 2)
	assert.Nil(t, d.Items[0].Removed)
	require.NotNil(t, d.Items[1].Removed)
	assert.Equal(t, "deleted", d.Items[1].Removed.Reason)

	_, err = DecodeUsersPage([]byte(`{"error":{"code":"x"}}`))
	require.Error(t, err)
	_, err = DecodeUsersPage([]byte(`not json`))
	require.Error(t, err)
}

func TestRecordedErrorShapes(t *testing.T) {
	t.Parallel()
	c := &Client{now: time.Now, cfg: Config{}}
	raw, err := os.ReadFile("testdata/batch_item_403.json")
	require.NoError(t, err)
	var item BatchResponse
	require.NoError(t, json.Unmarshal(raw, &item))
	e := c.itemError("ListManagedDevices", "t1", accessDevices, item)
	assert.ErrorIs(t, e, tenantsync.ErrRoleMissing)
	assert.Equal(t, "93b6f17e-c05d-4f45-ad2a-6665c708d8a0", e.RequestID)
	assert.Equal(t, "Authorization_RequestDenied", e.Code)

	body, err := os.ReadFile("testdata/throttled_429.json")
	require.NoError(t, err)
	h := http.Header{"Retry-After": {"2.128"}}
	e = c.apiError("ListUsers", "t1", accessUsers, http.StatusTooManyRequests, h, body)
	assert.ErrorIs(t, e, tenantsync.ErrThrottled)
	assert.Equal(t, 3*time.Second, e.RetryAfter, "fractional Retry-After rounds up")
	assert.Equal(t, "94fb3b52-452a-4535-a601-69e0a90e3aa2", e.RequestID)

	for status, kind := range map[int]error{
		http.StatusGone: tenantsync.ErrCursorExpired, http.StatusServiceUnavailable: tenantsync.ErrUnavailable,
		http.StatusNotImplemented: tenantsync.ErrUnsupported, http.StatusTeapot: tenantsync.ErrInvalidInput,
		http.StatusUnauthorized: tenantsync.ErrUnauthorized, http.StatusNotFound: tenantsync.ErrNotFound,
	} {
		e := c.apiError("op", "t1", accessUsers, status, http.Header{}, []byte("plain text body"))
		assert.ErrorIs(t, e, kind, status)
		assert.NotEmpty(t, e.Hint, "every failure says what to do: %d", status)
		assert.Equal(t, "plain text body", e.Message, "a body that is not JSON is kept as the message")
	}
}

func TestCAPolicyCoverage(t *testing.T) {
	t.Parallel()
	const (
		sales      = "6f1c0a52-0000-4000-8000-000000000001"
		breakGlass = "6f1c0a52-0000-4000-8000-000000000002"
		globalAdm  = "62e90394-69f5-4237-9190-012177145e10"
		helpdesk   = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	)
	// u1 is in Sales and holds Global Administrator; u2 is in no group and holds no role.
	dir := directory{
		groups: map[string]map[string]bool{sales: {"u1": true}, breakGlass: {}},
		roles:  map[string]map[string]bool{globalAdm: {"u1": true}, helpdesk: {"u2": true}},
	}
	mfa := &GrantControls{BuiltInControls: []string{"mfa"}}
	scope := func(u CAUsers) *CAConditions { return &CAConditions{Users: &u} }
	users := func(in, ex []string) *CAConditions { return scope(CAUsers{IncludeUsers: in, ExcludeUsers: ex}) }
	enabled := func(c *CAConditions) CAPolicy { return CAPolicy{State: "enabled", GrantControls: mfa, Conditions: c} }
	for name, tc := range map[string]struct {
		p    CAPolicy
		want bool
	}{
		"all users":     {enabled(users([]string{"All"}, nil)), true},
		"named user":    {enabled(users([]string{"u1"}, nil)), true},
		"named, case":   {enabled(users([]string{"U1"}, nil)), true},
		"other user":    {enabled(users([]string{"u2"}, nil)), false},
		"excluded":      {enabled(users([]string{"All"}, []string{"u1"})), false},
		"none":          {enabled(users([]string{"None"}, nil)), false},
		"report only":   {CAPolicy{State: "enabledForReportingButNotEnforced", GrantControls: mfa, Conditions: users([]string{"All"}, nil)}, false},
		"no mfa":        {CAPolicy{State: "enabled", GrantControls: &GrantControls{BuiltInControls: []string{"block"}}, Conditions: users([]string{"All"}, nil)}, false},
		"no grant":      {CAPolicy{State: "enabled", Conditions: users([]string{"All"}, nil)}, false},
		"no conditions": {CAPolicy{State: "enabled", GrantControls: mfa}, false},

		"group scoped, member":        {enabled(scope(CAUsers{IncludeGroups: []string{sales}})), true},
		"group scoped, upper case ID": {enabled(scope(CAUsers{IncludeGroups: []string{strings.ToUpper(sales)}})), true},
		"group scoped, not a member":  {enabled(scope(CAUsers{IncludeGroups: []string{breakGlass}})), false},
		"role scoped, holder":         {enabled(scope(CAUsers{IncludeRoles: []string{globalAdm}})), true},
		"role scoped, other role":     {enabled(scope(CAUsers{IncludeRoles: []string{helpdesk}})), false},
		"all, excluded by group":      {enabled(scope(CAUsers{IncludeUsers: []string{"All"}, ExcludeGroups: []string{sales}})), false},
		"all, excluded by role":       {enabled(scope(CAUsers{IncludeUsers: []string{"All"}, ExcludeRoles: []string{globalAdm}})), false},
		"named, excluded by group":    {enabled(scope(CAUsers{IncludeUsers: []string{"u1"}, ExcludeGroups: []string{sales}})), false},
		"group in, role out":          {enabled(scope(CAUsers{IncludeGroups: []string{sales}, ExcludeRoles: []string{globalAdm}})), false},
		"role in, excluded by name":   {enabled(scope(CAUsers{IncludeRoles: []string{globalAdm}, ExcludeUsers: []string{"u1"}})), false},
		"unknown group excluded":      {enabled(scope(CAUsers{IncludeUsers: []string{"All"}, ExcludeGroups: []string{"deleted-group"}})), true},
		"guests only":                 {enabled(users([]string{"GuestsOrExternalUsers"}, nil)), false},
	} {
		assert.Equal(t, tc.want, tc.p.covers("u1", false, dir), name)
		assert.Equal(t, tc.want, toMFA("t", RegistrationDetail{ID: "u1"}, []CAPolicy{tc.p}, false, dir).CoveredByCA, name)
	}
	guests := enabled(users([]string{"GuestsOrExternalUsers"}, nil))
	assert.True(t, toMFA("t", RegistrationDetail{ID: "g1", UserType: "guest"}, []CAPolicy{guests}, false, dir).CoveredByCA)
	// Without the directory a scoped policy covers no one: what covers() did before it resolved
	// groups and roles.
	assert.False(t, enabled(scope(CAUsers{IncludeGroups: []string{sales}})).covers("u1", false, directory{}))

	groups, roles := scopeNeeds([]CAPolicy{
		enabled(scope(CAUsers{IncludeGroups: []string{sales}, ExcludeGroups: []string{breakGlass, strings.ToUpper(sales)}})),
		{State: "disabled", GrantControls: mfa, Conditions: scope(CAUsers{IncludeRoles: []string{globalAdm}})},
	})
	assert.Equal(t, []string{sales, breakGlass}, groups, "each group once; disabled policies need nothing")
	assert.False(t, roles)
}

func TestMailboxPurposeForms(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]MailboxPurpose{
		`{"value":"shared"}`:         "shared",
		`{"value":{"value":"room"}}`: "room",
		`{"value":42}`:               "",
		`{"@odata.context":"x"}`:     "",
	} {
		var pb purposeBody
		require.NoError(t, json.Unmarshal([]byte(raw), &pb))
		assert.Equal(t, want, pb.purpose(), raw)
	}
	for p, want := range map[MailboxPurpose]tenantsync.MailboxType{
		"user": tenantsync.MailboxUser, "linked": tenantsync.MailboxUser, "shared": tenantsync.MailboxShared,
		"room": tenantsync.MailboxRoom, "equipment": tenantsync.MailboxEquipment, "others": tenantsync.MailboxOther,
	} {
		assert.Equal(t, want, mailboxType(p), p)
	}
}
