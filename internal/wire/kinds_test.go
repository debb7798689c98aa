package wire

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func TestDecodeMailboxUsageCSV(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/getMailboxUsageDetail-D7.csv")
	require.NoError(t, err)
	require.True(t, IsCSV(data))
	rows, err := DecodeMailboxUsageCSV(data)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	u := rows[0].ToMailboxUsage("t1")
	assert.Equal(t, tenantsync.MailboxUsage{TenantID: "t1", UserPrincipalName: "jane.doe@contoso.com", DisplayName: "Doe, Jane",
		StorageUsedBytes: 5368709120, ItemCount: 48213, DeletedItemCount: 412, DeletedItemBytes: 10485760,
		ProhibitSendReceiveQuotaBytes: 107374182400, HasArchive: true,
		LastActivity: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ReportDate: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}, u)
	assert.True(t, rows[1].ToMailboxUsage("t1").LastActivity.IsZero(), "no activity is an empty cell")
	assert.False(t, rows[0].Concealed())

	_, err = DecodeMailboxUsageCSV([]byte("Report Refresh Date,Display Name\n2026-11-02,x\n"))
	assert.ErrorContains(t, err, "User Principal Name", "rows without identity are refused")
	_, err = DecodeMailboxUsageCSV(nil)
	assert.Error(t, err)
	_, err = DecodeMailboxUsageCSV([]byte("User Principal Name,Item Count\na@b.c,many\n"))
	assert.Error(t, err, "a count that is not a number fails the report rather than reading as 0")
}

func TestMailboxUsageJSONAndConcealment(t *testing.T) {
	t.Parallel()
	body := `{"reportRefreshDate":"2026-11-02","userPrincipalName":"3F2A9C0E5B7D41A8B6C2E9F0D1A3B5C7","displayName":"8B1E",` +
		`"isDeleted":false,"lastActivityDate":null,"itemCount":"17","storageUsedInBytes":1024,"hasArchive":"False","reportPeriod":"7"}`
	var r MailboxUsageRow
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	assert.True(t, r.Concealed())
	assert.False(t, IsCSV([]byte(body)))
	m := r.ToMailboxUsage("t1")
	assert.Equal(t, int64(17), m.ItemCount)
	assert.False(t, m.HasArchive)
	assert.Contains(t, ConcealedNamesHint, "Display concealed user, group, and site names")
}

func TestGroupTypes(t *testing.T) {
	t.Parallel()
	for want, g := range map[tenantsync.GroupType]Group{
		tenantsync.GroupMicrosoft365:        {GroupTypes: []string{"Unified"}, MailEnabled: true},
		tenantsync.GroupSecurity:            {SecurityEnabled: true},
		tenantsync.GroupMailEnabledSecurity: {SecurityEnabled: true, MailEnabled: true},
		tenantsync.GroupDistribution:        {MailEnabled: true},
		tenantsync.GroupOther:               {},
	} {
		assert.Equal(t, want, g.ToGroup("t", 0).Type)
	}
	rule := "user.department -eq \"Sales\""
	assert.True(t, Group{GroupTypes: []string{"DynamicMembership"}}.ToGroup("t", 0).Dynamic)
	assert.True(t, Group{MembershipRule: &rule}.ToGroup("t", 0).Dynamic)
}

func TestSignInNulls(t *testing.T) {
	t.Parallel()
	var u SignInUser
	require.NoError(t, json.Unmarshal([]byte(`{"id":"u1","userPrincipalName":"a@b.c","signInActivity":{"lastSignInDateTime":null,`+
		`"lastNonInteractiveSignInDateTime":"2026-10-30T08:00:00Z","lastSuccessfulSignInDateTime":null}}`), &u))
	s := u.ToSignIn("t")
	assert.True(t, s.LastSignInAt.IsZero())
	assert.Equal(t, time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC), s.LastNonInteractiveSignInAt)
	require.NoError(t, json.Unmarshal([]byte(`{"id":"u2","signInActivity":null}`), &u))
	assert.True(t, u.ToSignIn("t").Last().IsZero())
}

func FuzzDecodeMailboxUsageCSV(f *testing.F) {
	data, err := os.ReadFile("testdata/getMailboxUsageDetail-D7.csv")
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte("User Principal Name\n\"unterminated"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := DecodeMailboxUsageCSV(b)
		if err != nil {
			return
		}
		for _, r := range rows {
			_ = r.ToMailboxUsage("t")
		}
	})
}
