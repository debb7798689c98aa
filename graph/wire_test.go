package graph

import (
	"encoding/json"
	"net/http"
	"os"
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
	mfa := &GrantControls{BuiltInControls: []string{"mfa"}}
	users := func(in, ex []string) *CAConditions {
		return &CAConditions{Users: &CAUsers{IncludeUsers: in, ExcludeUsers: ex}}
	}
	for name, tc := range map[string]struct {
		p    CAPolicy
		want bool
	}{
		"all users":     {CAPolicy{State: "enabled", GrantControls: mfa, Conditions: users([]string{"All"}, nil)}, true},
		"named user":    {CAPolicy{State: "enabled", GrantControls: mfa, Conditions: users([]string{"u1"}, nil)}, true},
		"other user":    {CAPolicy{State: "enabled", GrantControls: mfa, Conditions: users([]string{"u2"}, nil)}, false},
		"excluded":      {CAPolicy{State: "enabled", GrantControls: mfa, Conditions: users([]string{"All"}, []string{"u1"})}, false},
		"report only":   {CAPolicy{State: "enabledForReportingButNotEnforced", GrantControls: mfa, Conditions: users([]string{"All"}, nil)}, false},
		"no mfa":        {CAPolicy{State: "enabled", GrantControls: &GrantControls{BuiltInControls: []string{"block"}}, Conditions: users([]string{"All"}, nil)}, false},
		"no grant":      {CAPolicy{State: "enabled", Conditions: users([]string{"All"}, nil)}, false},
		"no conditions": {CAPolicy{State: "enabled", GrantControls: mfa}, false},
	} {
		assert.Equal(t, tc.want, tc.p.covers("u1"), name)
		assert.Equal(t, tc.want, toMFA("t", RegistrationDetail{ID: "u1"}, []CAPolicy{tc.p}, false).CoveredByCA, name)
	}
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
