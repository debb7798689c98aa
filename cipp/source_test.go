package cipp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

func TestUnknownTenantIsNotFoundNotEmpty(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)

	// CIPP itself answers 200 [] for a tenant it does not manage...
	r, err := c.Call(t.Context(), Request{Method: http.MethodGet, Endpoint: "ListUsers", Query: url.Values{"tenantFilter": {"nobody.example"}}})
	require.NoError(t, err)
	assert.Equal(t, ShapeArray, r.Shape)
	assert.Empty(t, r.Items)
	// ...and reports success for a write that did nothing.
	r, err = c.Call(t.Context(), Request{Method: http.MethodPost, Endpoint: "ExecDisableUser", Body: map[string]any{"tenantFilter": "nobody.example", "ID": "x", "Enable": false}})
	require.NoError(t, err)
	assert.Contains(t, r.Text, "Successfully")

	// The client says what is wrong instead.
	for _, tenant := range []string{"nobody.example", "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"} {
		_, err = c.Users(t.Context(), tenant)
		require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
		assert.Equal(t, HintRefreshTenants, tenantsync.HintOf(err))
		assert.Contains(t, HintRefreshTenants, "Only Clear the Tenant Cache", "the Refresh button above a tenant table only reloads the page")
		_, err = c.BlockSignIn(t.Context(), tenantsync.UserRef{TenantID: tenant, UserID: "x"})
		require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
		_, err = mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tenant})
		require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	}
	for _, bad := range []string{"", "  ", "AllTenants"} {
		_, err = c.LookupTenant(t.Context(), bad)
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, bad)
	}
}

func TestStaleTenantAppearsAfterRefresh(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 8})
	var stale *testserver.Tenant
	for _, tn := range srv.World.Tenants {
		if tn.CIPPStale {
			stale = tn
		}
	}
	require.NotNil(t, stale, "the generator marks one CIPP tenant stale")
	c := adminClient(t, srv)
	_, err := c.LookupTenant(t.Context(), stale.DefaultDomain)
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	assert.Equal(t, HintRefreshTenants, tenantsync.HintOf(err))

	require.NoError(t, c.RefreshTenantList(t.Context()))
	got, err := c.LookupTenant(t.Context(), stale.ID)
	require.NoError(t, err, "the refresh finished in the background; the next lookup reloads")
	assert.Equal(t, stale.Name, got.DisplayName)
	users, err := c.Users(t.Context(), stale.InitialDomain)
	require.NoError(t, err)
	assert.NotEmpty(t, users)
}

func TestClearCacheShape(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 8})
	c := adminClient(t, srv)
	r, err := c.Call(t.Context(), Request{Method: http.MethodPost, Endpoint: "ListTenants", Body: map[string]any{"ClearCache": true, "TenantsOnly": true}})
	require.NoError(t, err)
	require.Equal(t, ShapeEnvelope, r.Shape)
	var lines []map[string]string
	require.NoError(t, json.Unmarshal(r.Results, &lines))
	assert.Equal(t, "Cache has been cleared and a tenant refresh is queued.", lines[0]["Results"])
	assert.Contains(t, string(r.Metadata), "Cache cleanup complete")
}

func TestEmptyTenantListExplainsScope(t *testing.T) {
	t.Parallel()
	c, _ := stubCIPP(t, map[string]stubResponse{"ListTenants": {status: 200, ctype: "application/json", body: `[]`}})
	_, err := c.Users(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	assert.Equal(t, HintEmptyTenants, tenantsync.HintOf(err))
	_, err = mustSource(t, c, SourceConfig{}).ListTenants(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrIncomplete, "an empty list is not 'every tenant is gone'")
	assert.Equal(t, HintEmptyTenants, tenantsync.HintOf(err))
}

func TestRoleRules(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	readonly := clientFor(t, srv, srv.NewCIPPClient("readonly"))
	tn := managedTenant(t, readonly)
	users, err := readonly.Users(t.Context(), tn.CustomerID)
	require.NoError(t, err, "readonly reads")
	var enabled tenantsync.UserRef
	for _, u := range users {
		if u.AccountEnabled != nil && *u.AccountEnabled {
			enabled = tenantsync.UserRef{TenantID: tn.CustomerID, UserID: u.ID}
			break
		}
	}
	require.NotEmpty(t, enabled.UserID, "an enabled user, so a block is a write and not a no-op")

	_, err = readonly.BlockSignIn(t.Context(), enabled)
	require.ErrorIs(t, err, tenantsync.ErrForbidden)
	assert.Equal(t, HintWriteRole, tenantsync.HintOf(err))
	assert.Contains(t, HintWriteRole, "editor")
	assert.Contains(t, HintWriteRole, "CIPP → Integrations → CIPP-API")
	assert.Contains(t, HintWriteRole, "Save to Azure")
	_, err = NewWriter(readonly).Write(t.Context(), tenantsync.WriteRequest{Action: tenantsync.ActionRevokeSessions, TenantID: tn.CustomerID, UserID: users[0].ID})
	require.ErrorIs(t, err, tenantsync.ErrForbidden)

	roleless := clientFor(t, srv, srv.NewCIPPClient(""))
	me, err := roleless.Me(t.Context())
	require.NoError(t, err, "/api/me answers a roleless client")
	assert.Empty(t, me.Permissions)
	_, err = roleless.Tenants(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrForbidden)
	assert.Equal(t, HintNoRole, tenantsync.HintOf(err))

	editor := clientFor(t, srv, srv.NewCIPPClient("editor"))
	res, err := editor.BlockSignIn(t.Context(), enabled)
	require.NoError(t, err)
	assert.True(t, res.Changed)
}

func TestGraphPagingOnALargeTenant(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 1, Sizes: []int{1050}})
	c := adminClient(t, srv)
	tn := managedTenant(t, c)

	page, err := c.ListGraphRequestPage(t.Context(), tn.CustomerID, GraphRequest{Endpoint: "users", Select: UserSelect(), Top: 999}, "")
	require.NoError(t, err)
	assert.Len(t, page.Items, 999)
	require.NotEmpty(t, page.Next, "a cursor to persist")
	assert.True(t, strings.HasPrefix(page.Next, "https://graph.microsoft.com/"))
	next, err := c.ListGraphRequestPage(t.Context(), tn.CustomerID, GraphRequest{Endpoint: "users"}, page.Next)
	require.NoError(t, err)
	assert.Len(t, next.Items, len(srv.World.Tenants[0].ActiveUsers())-999)
	assert.Empty(t, next.Next, "the last page has none")

	srv.ResetCounts()
	var pages []int
	var mu sync.Mutex
	src := mustSource(t, c, SourceConfig{PageAllUsers: true})
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.DefaultDomainName, Kinds: []tenantsync.Kind{tenantsync.KindUsers}, Progress: func(k tenantsync.Kind, n int) {
		mu.Lock()
		pages = append(pages, n)
		mu.Unlock()
	}})
	require.NoError(t, err)
	users := res.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Complete, users.Mode, "%v", users.Err)
	assert.Len(t, users.Users, len(srv.World.Tenants[0].ActiveUsers()))
	assert.Equal(t, []int{999, len(users.Users)}, pages)
	assert.Equal(t, 2, res.RoundTrips)
	assert.Equal(t, 2, srv.Requests(testserver.ServiceCIPP, tn.CustomerID))
	ids := map[string]bool{}
	for _, u := range users.Users {
		assert.False(t, ids[u.ObjectID], "no duplicates across pages")
		ids[u.ObjectID] = true
	}
}

func TestFailedPageMakesUsersUnavailable(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)
	tn := managedTenant(t, c)
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "skiptoken", Kind: testserver.ServerError, Status: 500})

	// A page after the first fails: the iterator yields the rows it had, then the error.
	rows, failed := 0, false
	for _, err := range c.ListGraphRequest(t.Context(), tn.CustomerID, GraphRequest{Endpoint: "users", Top: 10}) {
		if err != nil {
			require.ErrorIs(t, err, tenantsync.ErrUnavailable)
			failed = true
			break
		}
		rows++
	}
	assert.True(t, failed)
	assert.Equal(t, 10, rows)

	// Through the Source the whole kind is unavailable, never a shorter list.
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "Endpoint=users", Kind: testserver.ServerError, Status: 502})
	src := mustSource(t, c, SourceConfig{PageAllUsers: true})
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID})
	require.NoError(t, err)
	users := res.Result(tenantsync.KindUsers)
	assert.Equal(t, tenantsync.Unavailable, users.Mode, "a listing cut short is unavailable, never shorter")
	assert.Empty(t, users.Users)
	assert.ErrorIs(t, users.Err, tenantsync.ErrUnavailable)
	for _, k := range []tenantsync.Kind{tenantsync.KindMailboxes, tenantsync.KindDevices, tenantsync.KindDomains, tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline} {
		assert.Equal(t, tenantsync.Complete, res.Result(k).Mode, "%s: %v", k, res.Result(k).Err)
	}
}

func TestListUsersFailureFallsBackToPaging(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)
	tn := managedTenant(t, c)
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListUsers", Kind: testserver.ServerError, Status: 504})
	res, err := mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
	require.NoError(t, err)
	users := res.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Complete, users.Mode, "a ListUsers timeout on a big tenant is retried page by page")
	assert.Len(t, users.Users, len(srv.World.Tenant(tn.CustomerID).ActiveUsers()))
}

func TestSourceFetchesEveryKind(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 6})
	c := adminClient(t, srv)
	src := mustSource(t, c, SourceConfig{})
	assert.Equal(t, "cipp", src.Name())
	tenants, err := src.ListTenants(t.Context())
	require.NoError(t, err)
	want := 0
	for _, tn := range srv.World.Tenants {
		if tn.InCIPP && !tn.CIPPStale {
			want++
		}
	}
	require.Len(t, tenants, want)
	var wt *testserver.Tenant
	for _, tn := range srv.World.Tenants {
		if tn.ID == tenants[0].ID {
			wt = tn
		}
	}
	require.NotNil(t, wt)
	assert.Equal(t, wt.Name, tenants[0].DisplayName)
	assert.Equal(t, "cipp", tenants[0].Source)

	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: wt.ID, Kinds: append(tenantsync.AllKinds(), tenantsync.KindUsers)})
	require.NoError(t, err)
	assert.Equal(t, "cipp", res.Source)
	assert.Equal(t, wt.ID, res.TenantID)
	for _, k := range tenantsync.AllKinds() {
		kr := res.Result(k)
		require.Equal(t, tenantsync.Complete, kr.Mode, "%s: %v", k, kr.Err)
		assert.Empty(t, kr.Cursor, "CIPP has no delta")
		assert.False(t, kr.FetchedAt.IsZero())
	}
	assert.Len(t, res.Result(tenantsync.KindUsers).Users, len(wt.ActiveUsers()))
	assert.Len(t, res.Result(tenantsync.KindMailboxes).Mailboxes, len(wt.Mailboxes()))
	assert.Len(t, res.Result(tenantsync.KindDevices).Devices, len(wt.Devices))
	assert.Len(t, res.Result(tenantsync.KindDomains).Domains, len(wt.Domains))
	assert.Len(t, res.Result(tenantsync.KindSubscriptions).Subscriptions, len(wt.SKUs))
	assert.Len(t, res.Result(tenantsync.KindMFA).MFA, len(wt.ActiveUsers()))
	b := res.Result(tenantsync.KindBaseline).Baseline
	require.NotNil(t, b)
	assert.InDelta(t, wt.SecureScore.Current, b.SecureScore, 0.001)
	require.NotNil(t, b.SecurityDefaults)
	assert.Equal(t, wt.SecurityDefaults, *b.SecurityDefaults)
	assert.Len(t, b.CAPolicies, len(wt.CAPolicies))
	assert.Equal(t, 15, res.RoundTrips, "one call per list, five for the baseline (ListLicenses shared with the subscriptions); groups, details, sign-ins and usage one each")

	// Every mailbox type is mapped.
	types := map[tenantsync.MailboxType]int{}
	for _, m := range res.Result(tenantsync.KindMailboxes).Mailboxes {
		types[m.Type]++
		assert.NotEmpty(t, m.ObjectID)
	}
	for _, u := range wt.Mailboxes() {
		types[MailboxTypeOf(u.MailboxType)]--
	}
	for k, n := range types {
		assert.Zero(t, n, k)
	}
	// Users larger than the paging threshold on the last fetch are paged next time.
	small := mustSource(t, c, SourceConfig{PagedUsersAbove: 1})
	_, err = small.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: wt.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
	require.NoError(t, err)
	srv.ResetCounts()
	res, err = small.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: wt.ID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
	require.NoError(t, err)
	assert.Len(t, res.Result(tenantsync.KindUsers).Users, len(wt.ActiveUsers()))
}

func TestOneKindFailingLeavesOthersIntact(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)
	tn := managedTenant(t, c)
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListMailboxes", Kind: testserver.ServerError, Status: 500})
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "identitySecurityDefaults", Kind: testserver.ServerError, Status: 500})
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "Endpoint=domains", Kind: testserver.ServerError, Status: 500})
	res, err := mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDomains, tenantsync.KindBaseline, "bogus"}})
	require.NoError(t, err)
	mb := res.Result(tenantsync.KindMailboxes)
	assert.Equal(t, tenantsync.Unavailable, mb.Mode)
	assert.ErrorIs(t, mb.Err, tenantsync.ErrUnavailable)
	assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode)
	dom := res.Result(tenantsync.KindDomains)
	assert.Equal(t, tenantsync.Complete, dom.Mode, "ListDomains stands in when Graph domains fail")
	assert.NotEmpty(t, dom.Domains)
	bl := res.Result(tenantsync.KindBaseline)
	require.Equal(t, tenantsync.Complete, bl.Mode, "%v", bl.Err)
	assert.Nil(t, bl.Baseline.SecurityDefaults, "unknown, not false")
	assert.ErrorIs(t, res.Result("bogus").Err, tenantsync.ErrUnsupported)
}

func TestUnauthorizedFetchIsAnError(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)
	tn := managedTenant(t, c) // warms the tenant cache with a good token
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Kind: testserver.ServerError, Status: 401})
	_, err := mustSource(t, c, SourceConfig{}).Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices}})
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
}

func TestGraphPagingGuards(t *testing.T) {
	t.Parallel()
	env := func(next string) stubResponse {
		b, _ := json.Marshal(map[string]any{"Results": []map[string]string{{"id": "a"}}, "Metadata": map[string]string{"nextLink": next}})
		return stubResponse{status: 200, ctype: "application/json", body: string(b)}
	}
	c, _ := stubCIPP(t, map[string]stubResponse{"ListGraphRequest": env("https://evil.example/beta/users?$skiptoken=x")})
	var err error
	for _, e := range c.ListGraphRequest(t.Context(), contosoDomain, GraphRequest{Endpoint: "users"}) {
		if e != nil {
			err = e
		}
	}
	require.ErrorIs(t, err, tenantsync.ErrHostNotAllowed, "a nextLink off Graph is never passed on")
	assert.Contains(t, tenantsync.HintOf(err), "NextLink")

	c, seen := stubCIPP(t, map[string]stubResponse{"ListGraphRequest": env("https://graph.microsoft.com/beta/users?$skiptoken=same")})
	n := 0
	for _, e := range c.ListGraphRequest(t.Context(), contosoDomain, GraphRequest{Endpoint: "users", Filter: "accountEnabled eq true", Version: "v1.0"}) {
		if e != nil {
			err = e
			break
		}
		n++
	}
	require.ErrorIs(t, err, tenantsync.ErrLimitExceeded, "a repeating nextLink is a loop")
	assert.Equal(t, 2, n)
	first := (*seen)[1].URL.Query()
	assert.Equal(t, "accountEnabled eq true", first.Get("$filter"))
	assert.Equal(t, "v1.0", first.Get("Version"))
	assert.Equal(t, "true", first.Get("manualPagination"))
	assert.Equal(t, "https://graph.microsoft.com/beta/users?$skiptoken=same", (*seen)[2].URL.Query().Get("nextLink"), "the link goes back to CIPP as a parameter")

	c, _ = stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: string(readTestdata(t, "ListGraphRequest-queued.json"))}})
	_, err = c.ListGraphRequestPage(t.Context(), contosoDomain, GraphRequest{Endpoint: "users"}, "")
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Equal(t, HintQueued, tenantsync.HintOf(err))
	assert.Contains(t, err.Error(), "Loading 12345 rows")

	_, err = c.ListGraphRequestPage(t.Context(), contosoDomain, GraphRequest{}, "")
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)

	c, _ = stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: `{"Results":{"id":"p","isEnabled":true},"Metadata":null}`}})
	sd, err := c.SecurityDefaults(t.Context(), contosoDomain)
	require.NoError(t, err, "a single-object Results")
	assert.True(t, sd.IsEnabled)

	c, _ = stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: `{"Results":null,"Metadata":null}`}})
	_, err = c.SecureScore(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "no score yet")
	_, err = c.SecurityDefaults(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
	assert.Contains(t, tenantsync.HintOf(err), HintPermCheck)

	c, _ = stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: `{"Results":"Graph Error: Insufficient privileges to complete the operation."}`}})
	_, err = c.ListGraphRequestPage(t.Context(), contosoDomain, GraphRequest{Endpoint: "users"}, "")
	require.ErrorIs(t, err, tenantsync.ErrRoleMissing, "IgnoreErrors-style 200 with the error text")

	c, _ = stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: `[{"id":"bare"}]`}})
	p, err := c.ListGraphRequestPage(t.Context(), contosoDomain, GraphRequest{Endpoint: "users"}, "")
	require.NoError(t, err, "a bare array is read too")
	assert.Len(t, p.Items, 1)
	assert.Equal(t, int64(1), c.UnknownShapes())

	c, _ = stubCIPP(t, map[string]stubResponse{"ListGraphRequest": {status: 200, ctype: "application/json", body: `{"Results":[{"id":5}],"Metadata":null}`}})
	_, err = c.GraphDomains(t.Context(), contosoDomain)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	require.ErrorIs(t, err, tenantsync.ErrIncomplete)
}

// TestFailingTenantErrorShapes drives CIPP's endpoint-specific error shapes (500 text, 403
// ["msg"], 500 ["msg"], 400 "Graph Error: ...", 200 [] for CA policies, 500 {"Results"} for
// actions, 200 "Error - " lines for EditGroup) through the client for each failure cause.
func TestFailingTenantErrorShapes(t *testing.T) {
	t.Parallel()
	causes := []struct {
		msg  string
		kind error
		hint string
	}{
		{testserver.CIPPErrConsent, tenantsync.ErrConsentRequired, HintConsent},
		{testserver.CIPPErrTokenExpired, tenantsync.ErrAuthorizationRevoked, HintCIPPTokens},
		{testserver.CIPPErrPermissions, tenantsync.ErrRoleMissing, HintCPV},
		{testserver.CIPPErrLicence, tenantsync.ErrLicenseRequired, HintLicence},
	}
	for _, cause := range causes {
		t.Run(cause.kind.Error(), func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, testserver.Options{})
			c := adminClient(t, srv)
			tn := managedTenant(t, c)
			srv.FailCIPPTenant(tn.CustomerID, cause.msg)
			ctx := t.Context()
			id := tn.CustomerID
			u := tenantsync.UserRef{TenantID: id, UserID: "u", UPN: "u@x"}
			calls := map[string]func() error{
				"ListUsers":        func() error { _, err := c.Users(ctx, id); return err },
				"ListMailboxes":    func() error { _, err := c.Mailboxes(ctx, id); return err },
				"ListDevices":      func() error { _, err := c.Devices(ctx, id); return err },
				"ListDomains":      func() error { _, err := c.Domains(ctx, id); return err },
				"ListLicenses":     func() error { _, err := c.Licenses(ctx, id); return err },
				"ListMFAUsers":     func() error { _, err := c.MFAUsers(ctx, id); return err },
				"ListGraphRequest": func() error { _, err := c.SecureScore(ctx, id); return err },
				"ExecDisableUser":  func() error { _, err := c.BlockSignIn(ctx, u); return err },
				"ExecResetPass": func() error {
					_, err := c.ForcePasswordReset(ctx, u, tenantsync.PasswordReset{MustChange: true})
					return err
				},
				"ExecRevokeSessions": func() error { _, err := c.RevokeSessions(ctx, u); return err },
				"ExecResetMFA":       func() error { _, err := c.ResetMFA(ctx, u); return err },
				"EditGroup":          func() error { _, err := c.AddToGroup(ctx, u, "g"); return err },
			}
			for name, call := range calls {
				err := call()
				require.Error(t, err, name)
				assert.ErrorIs(t, err, cause.kind, name)
				assert.Equal(t, cause.hint, tenantsync.HintOf(err), name)
			}
			ca, err := c.ConditionalAccessPolicies(ctx, id)
			require.NoError(t, err, "CIPP swallows this endpoint's errors")
			assert.Empty(t, ca)

			res, err := mustSource(t, c, SourceConfig{}).Fetch(ctx, tenantsync.FetchRequest{TenantID: id})
			if cause.kind == tenantsync.ErrConsentRequired || cause.kind == tenantsync.ErrAuthorizationRevoked {
				require.ErrorIs(t, err, cause.kind, "no access at all is one error")
				return
			}
			require.NoError(t, err)
			for _, k := range tenantsync.AllKinds() {
				assert.Equal(t, tenantsync.Unavailable, res.Result(k).Mode, k)
			}
			srv.FailCIPPTenant(id, "")
			res, err = mustSource(t, c, SourceConfig{}).Fetch(ctx, tenantsync.FetchRequest{TenantID: id, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
			require.NoError(t, err)
			assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode)
		})
	}
}

// TestDefiniteFailuresAreAskedOnce counts what a tenant without consent costs with the default
// four retries: CIPP's 500 with the exception's text is its answer, so each call is one request,
// while a 500 from the front end is still retried.
func TestDefiniteFailuresAreAskedOnce(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv, func(c *Config) { c.MaxRetries = 0 })
	tn := managedTenant(t, c)
	id := tn.CustomerID
	srv.FailCIPPTenant(id, testserver.CIPPErrConsent)
	for name, call := range map[string]func() error{
		"ListUsers":    func() error { _, err := c.Users(t.Context(), id); return err },
		"ListLicenses": func() error { _, err := c.Licenses(t.Context(), id); return err },
		"ListDomains":  func() error { _, err := c.Domains(t.Context(), id); return err },
	} {
		srv.ResetCounts()
		require.ErrorIs(t, call(), tenantsync.ErrConsentRequired, name)
		assert.Equal(t, 1, srv.Requests(testserver.ServiceCIPP, id), name)
	}

	srv.FailCIPPTenant(id, "")
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListUsers", Kind: testserver.ServerError, Status: 500})
	srv.ResetCounts()
	_, err := c.Users(t.Context(), id)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Equal(t, 1+transport.DefaultMaxRetries, srv.Requests(testserver.ServiceCIPP, id), "a front-end failure is retried")
}
