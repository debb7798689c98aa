package cipp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// The fake embeds a copy of testdata (go:embed cannot reach outside its package); the copies
// must be the same bytes, or the fake and the client would be tested against different CIPPs.
func TestRecordedFilesMirroredInFake(t *testing.T) {
	t.Parallel()
	mine, err := os.ReadDir("testdata")
	require.NoError(t, err)
	theirs, err := os.ReadDir(filepath.Join("..", "internal", "testserver", "testdata", "cipp"))
	require.NoError(t, err)
	names := func(es []os.DirEntry) []string {
		var out []string
		for _, e := range es {
			if !e.IsDir() { // testdata/fuzz holds this package's fuzz corpus
				out = append(out, e.Name())
			}
		}
		return out
	}
	require.Equal(t, names(mine), names(theirs), "cp cipp/testdata/* internal/testserver/testdata/cipp/")
	for _, e := range mine {
		if e.IsDir() {
			continue
		}
		a := readTestdata(t, e.Name())
		b, err := os.ReadFile(filepath.Join("..", "internal", "testserver", "testdata", "cipp", e.Name()))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s differs between cipp/testdata and the fake's copy", e.Name())
	}
}

// TestFakeServesRecordedBytes fetches each recorded answer from the fake and compares it with
// the file, byte for byte.
func TestFakeServesRecordedBytes(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	srv.ServeCIPPRecorded(true)
	c := adminClient(t, srv)
	var page1 struct {
		Metadata GraphMetadata `json:"Metadata"`
	}
	require.NoError(t, json.Unmarshal(readTestdata(t, "ListGraphRequest-users-1.json"), &page1))
	q := func(kv ...string) url.Values {
		v := url.Values{"tenantFilter": {contosoDomain}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		method, endpoint string
		query            url.Values
		body             any
		file             string
	}{
		{"GET", "ListTenants", url.Values{"TenantFilter": {contosoID}}, nil, "ListTenants.json"},
		{"GET", "ListUsers", q(), nil, "ListUsers.json"},
		{"GET", "listusers", q(), nil, "ListUsers.json"},
		{"GET", "ListMailboxes", q(), nil, "ListMailboxes.json"},
		{"GET", "ListDevices", q(), nil, "ListDevices.json"},
		{"GET", "ListDomains", q(), nil, "ListDomains.json"},
		{"GET", "ListLicenses", q(), nil, "ListLicenses.json"},
		{"GET", "ListMFAUsers", q(), nil, "ListMFAUsers.json"},
		{"GET", "ListConditionalAccessPolicies", q(), nil, "ListConditionalAccessPolicies.json"},
		{"GET", "ListGraphRequest", q("Endpoint", "users", "manualPagination", "true"), nil, "ListGraphRequest-users-1.json"},
		{"GET", "ListGraphRequest", q("Endpoint", "users", "nextLink", page1.Metadata.NextLink), nil, "ListGraphRequest-users-2.json"},
		{"GET", "ListGraphRequest", q("Endpoint", "domains"), nil, "ListGraphRequest-domains.json"},
		{"GET", "ListGraphRequest", q("Endpoint", "security/secureScores"), nil, "ListGraphRequest-secureScores.json"},
		{"GET", "ListGraphRequest", q("Endpoint", "policies/identitySecurityDefaultsEnforcementPolicy"), nil, "ListGraphRequest-securityDefaults.json"},
		{"POST", "ExecResetPass", nil, map[string]any{"tenantFilter": contosoDomain, "ID": "jane@contoso.com", "MustChange": true}, "ExecResetPass.json"},
		{"POST", "ExecDisableUser", nil, map[string]any{"tenantFilter": contosoDomain, "ID": "jane@contoso.com", "Enable": false}, "ExecDisableUser.json"},
		{"POST", "ExecResetMFA", nil, map[string]any{"tenantFilter": contosoDomain, "ID": "jane@contoso.com"}, "ExecResetMFA.json"},
		{"POST", "ExecRevokeSessions", nil, map[string]any{"tenantFilter": contosoDomain, "id": "x", "Username": "jane@contoso.com"}, "ExecRevokeSessions.json"},
		{"POST", "EditGroup", nil, map[string]any{"tenantFilter": contosoDomain, "groupId": "g"}, "EditGroup.json"},
	}
	for _, tt := range tests {
		r, err := c.Call(t.Context(), Request{Method: tt.method, Endpoint: tt.endpoint, Tenant: contosoID, Query: tt.query, Body: tt.body})
		require.NoError(t, err, tt.file)
		assert.True(t, bytes.Equal(readTestdata(t, tt.file), r.Raw), "%s %s: the fake must serve %s verbatim", tt.method, tt.endpoint, tt.file)
	}
}

// TestFakeErrorTextsMatchRecorded checks that the fake's refusals are the recorded texts.
func TestFakeErrorTextsMatchRecorded(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	admin := adminClient(t, srv)
	tn := managedTenant(t, admin)
	readonly := clientFor(t, srv, srv.NewCIPPClient("readonly"))
	roleless := clientFor(t, srv, srv.NewCIPPClient(""))
	body := map[string]any{"tenantFilter": tn.DefaultDomainName, "ID": "x", "Enable": false}
	tests := []struct {
		c        *Client
		method   string
		endpoint string
		query    url.Values
		body     any
		status   int
		file     string
	}{
		{readonly, "POST", "ExecDisableUser", nil, body, 403, "403-readonly-write.txt"},
		{roleless, "GET", "ListUsers", nil, nil, 403, "403-roleless.txt"},
		{admin, "GET", "ListNothing", nil, nil, 404, "404-endpoint.txt"},
		{admin, "GET", "ListGraphRequest", url.Values{"tenantFilter": {"unknown.example"}, "Endpoint": {"users"}}, nil, 400, "400-ListGraphRequest-unknown-tenant.txt"},
	}
	for _, tt := range tests {
		_, err := tt.c.Call(t.Context(), Request{Method: tt.method, Endpoint: tt.endpoint, Query: tt.query, Body: tt.body})
		d, ok := tenantsync.Details(err)
		require.True(t, ok, tt.file)
		assert.Equal(t, tt.status, d.Status, tt.file)
		assert.Equal(t, string(readTestdata(t, tt.file)), d.Message, tt.file)
	}
}

// keys returns the field names of the first row of a list answer.
func keys(t *testing.T, raw []byte) []string {
	t.Helper()
	r, err := Decode(raw)
	require.NoError(t, err)
	require.NotEmpty(t, r.Items, "no rows in %s", raw)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.Items[0], &m))
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestGeneratedRowsHaveRecordedFields compares the fields of the fake's generated rows with the
// recorded rows, endpoint by endpoint: the fake cannot grow or lose a field silently.
func TestGeneratedRowsHaveRecordedFields(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)
	tn := managedTenant(t, c)
	f := tenantFilter(tn)
	tests := []struct {
		endpoint string
		query    url.Values
		file     string
	}{
		{"ListTenants", nil, "ListTenants.json"},
		{"ListUsers", url.Values{"tenantFilter": {f}}, "ListUsers.json"},
		{"ListMailboxes", url.Values{"tenantFilter": {f}}, "ListMailboxes.json"},
		{"ListDevices", url.Values{"tenantFilter": {f}}, "ListDevices.json"},
		{"ListDomains", url.Values{"tenantFilter": {f}}, "ListDomains.json"},
		{"ListLicenses", url.Values{"tenantFilter": {f}}, "ListLicenses.json"},
		{"ListMFAUsers", url.Values{"tenantFilter": {f}}, "ListMFAUsers.json"},
		{"ListGraphRequest", url.Values{"tenantFilter": {f}, "Endpoint": {"users"}, "$select": {"accountEnabled,assignedLicenses,businessPhones,companyName,createdDateTime,department,displayName,givenName,id,jobTitle,mail,mobilePhone,officeLocation,onPremisesSyncEnabled,otherMails,proxyAddresses,surname,userPrincipalName,userType"}, "manualPagination": {"true"}, "$top": {"999"}}, "ListGraphRequest-users-1.json"},
		{"ListGraphRequest", url.Values{"tenantFilter": {f}, "Endpoint": {"domains"}}, "ListGraphRequest-domains.json"},
		{"ListGraphRequest", url.Values{"tenantFilter": {f}, "Endpoint": {"security/secureScores"}, "$top": {"1"}, "NoPagination": {"true"}}, "ListGraphRequest-secureScores.json"},
		{"ListGraphRequest", url.Values{"tenantFilter": {f}, "Endpoint": {"policies/identitySecurityDefaultsEnforcementPolicy"}}, "ListGraphRequest-securityDefaults.json"},
	}
	for _, tt := range tests {
		r, err := c.Call(t.Context(), Request{Method: http.MethodGet, Endpoint: tt.endpoint, Tenant: tn.CustomerID, Query: tt.query})
		require.NoError(t, err, tt.endpoint)
		assert.Equal(t, keys(t, readTestdata(t, tt.file)), keys(t, r.Raw), "%s %v: fields differ from %s", tt.endpoint, tt.query.Get("Endpoint"), tt.file)
	}
	// Conditional access policies: pick a tenant that has some.
	found := false
	for _, tn := range mustTenants(t, c) {
		r, err := c.Call(t.Context(), Request{Method: http.MethodGet, Endpoint: "ListConditionalAccessPolicies", Tenant: tn.CustomerID, Query: url.Values{"tenantFilter": {tenantFilter(tn)}}})
		require.NoError(t, err)
		require.Equal(t, ShapeEnvelope, r.Shape)
		if len(r.Items) > 0 {
			assert.Equal(t, keys(t, readTestdata(t, "ListConditionalAccessPolicies.json")), keys(t, r.Raw))
			found = true
			break
		}
	}
	assert.True(t, found, "some generated tenant has CA policies")
}

func mustTenants(t *testing.T, c *Client) []Tenant {
	t.Helper()
	ts, err := c.Tenants(t.Context())
	require.NoError(t, err)
	return ts
}

// TestRecordedShapesDecode reads every recorded answer through the typed calls.
func TestRecordedShapesDecode(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	srv.ServeCIPPRecorded(true)
	c := adminClient(t, srv)
	ctx := t.Context()

	tn, err := c.LookupTenant(ctx, "CONTOSO.onmicrosoft.com")
	require.NoError(t, err)
	assert.Equal(t, contosoID, tn.CustomerID)
	assert.Equal(t, 2, tn.RelationshipCount.Int())
	assert.True(t, tn.HasAutoExtend)
	assert.Equal(t, time.Date(2026, 8, 7, 23, 0, 4, 112e6, time.UTC), tn.LastRefresh.Time)
	assert.Equal(t, time.Date(2026, 8, 7, 23, 0, 4, 120e6, time.UTC), tn.Timestamp.Time)

	users, err := c.Users(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, users, 4)
	assert.Equal(t, "Jane Doe", users[0].DisplayName)
	assert.Equal(t, "boss@contoso.com", users[0].Manager.UserPrincipalName)
	assert.Equal(t, "contoso.com", users[0].PrimDomain.Value)
	assert.Equal(t, "Microsoft 365 Business Standard", string(users[0].LicJoined))
	assert.Equal(t, 123456700, users[2].CreatedDateTime.Nanosecond(), "7 fraction digits")
	assert.False(t, *users[2].AccountEnabled)

	mbx, err := c.Mailboxes(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, mbx, 3)
	assert.Equal(t, "SharedMailbox", mbx[0].RecipientTypeDetails)
	assert.Equal(t, 2025, mbx[1].LitigationHoldDate.Year())

	lic, err := c.Licenses(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, lic, 2)
	assert.Equal(t, FlexInt(18), lic[0].CountUsed, "string count")
	assert.Equal(t, FlexInt(20), lic[0].TotalLicenses, "string count")
	assert.Equal(t, FlexInt(2), lic[0].CountAvailable, "number count")
	assert.Equal(t, FlexInt(143), lic[0].TermInfo[0].DaysUntilRenew)

	mfa, err := c.MFAUsers(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, mfa, 2)
	assert.Nil(t, mfa[1].MFARegistration, "null without P1")
	assert.Equal(t, []string{"microsoftAuthenticatorPush", "softwareOneTimePasscode"}, []string(mfa[0].MFAMethods))

	ca, err := c.ConditionalAccessPolicies(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, ca, 2)
	assert.True(t, ca[0].RequiresMFA())
	assert.False(t, ca[1].RequiresMFA())

	devices, err := c.Devices(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, devices, 1)
	assert.Equal(t, "5CG4123XYZ", devices[0].SerialNumber)
	assert.Equal(t, 532709100, devices[0].LastSyncDateTime.Nanosecond())

	domains, err := c.Domains(ctx, contosoID)
	require.NoError(t, err)
	assert.Len(t, domains, 2)
	gd, err := c.GraphDomains(ctx, contosoID)
	require.NoError(t, err)
	require.Len(t, gd, 3)
	assert.False(t, *gd[2].IsVerified)

	var paged []User
	for u, err := range c.GraphUsers(ctx, contosoID) {
		require.NoError(t, err)
		paged = append(paged, u)
	}
	require.Len(t, paged, 4, "two recorded pages joined through Metadata.nextLink")
	assert.Equal(t, "Guest", paged[3].UserType)

	score, err := c.SecureScore(ctx, contosoID)
	require.NoError(t, err)
	assert.InDelta(t, 412.5, score.CurrentScore, 0.001)
	assert.InDelta(t, 780, score.MaxScore, 0.001)
	sd, err := c.SecurityDefaults(ctx, contosoID)
	require.NoError(t, err)
	assert.False(t, sd.IsEnabled)
}

func TestRecordedTenantListVariants(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, map[string]stubResponse{"ListTenants": {status: 200, ctype: "application/json", body: string(readTestdata(t, "ListTenants-AllTenantSelector.json"))}})
	rows, err := c.ListTenants(t.Context())
	require.NoError(t, err)
	require.Len(t, rows, 3, "the raw list keeps every row")
	assert.True(t, rows[0].IsPseudo())
	assert.Equal(t, FlexInt(3), rows[2].GraphErrorCount, "string count")
	usable, err := c.Tenants(t.Context())
	require.NoError(t, err)
	require.Len(t, usable, 1, "pseudo row and excluded tenant dropped")
	assert.Equal(t, contosoID, usable[0].CustomerID)
	_, err = c.LookupTenant(t.Context(), "fabrikam.com")
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	assert.Equal(t, HintExcluded, tenantsync.HintOf(err))

	src := mustSource(t, c, SourceConfig{})
	ts, err := src.ListTenants(t.Context())
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, "cipp", ts[0].Source)
	assert.Equal(t, []string{"contoso.com", "contoso.onmicrosoft.com"}, ts[0].Domains)
	assert.Equal(t, "CIPP (GDAP until 2027-02-28)", ts[0].Relationship)

	r, err := Decode(readTestdata(t, "ListTenants-ClearCache.json"))
	require.NoError(t, err)
	assert.Equal(t, ShapeEnvelope, r.Shape)
	assert.Len(t, r.Items, 1)
	var me Me
	require.NoError(t, json.Unmarshal(readTestdata(t, "me.json"), &me))
	assert.Empty(t, me.ClientPrincipal.AppRole)
	assert.Contains(t, []string(me.Permissions), "Identity.User.ReadWrite")
}
