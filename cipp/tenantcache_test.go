package cipp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// listingKinds are the kinds whose answer is a list of items, which an empty answer could empty.
var listingKinds = []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDevices,
	tenantsync.KindDomains, tenantsync.KindSubscriptions, tenantsync.KindMFA}

// tenantListCalls counts the fake's ListTenants requests: the only CIPP calls that name no tenant.
func tenantListCalls(srv *testserver.Server) int { return srv.Requests(testserver.ServiceCIPP, "") }

// TestDroppedTenantIsNotAnEmptyListing is the stale tenant cache of issue 12: a tenant synced,
// then CIPP dropped it from its tenant list and answers 200 [] about it, while the client's
// 10-minute cache still holds it. The empty answers must not read as "the tenant has no users".
func TestDroppedTenantIsNotAnEmptyListing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  SourceConfig
	}{
		{"ListUsers", SourceConfig{}},
		{"paged users", SourceConfig{PageAllUsers: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, testserver.Options{})
			c := adminClient(t, srv)
			src := mustSource(t, c, tt.cfg)
			tn := managedTenant(t, c)
			res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
			require.NoError(t, err)
			require.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode)
			require.NotEmpty(t, res.Result(tenantsync.KindUsers).Users)

			srv.DropCIPPTenant(tn.CustomerID, true)
			srv.ResetCounts()
			res, err = src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID})
			require.NoError(t, err, "the cached list still holds the tenant, so the fetch goes ahead")
			for _, k := range append(listingKinds, tenantsync.KindBaseline) {
				kr := res.Result(k)
				assert.Equal(t, tenantsync.Unavailable, kr.Mode, "%s: an empty answer about a dropped tenant is no listing", k)
				assert.ErrorIs(t, kr.Err, tenantsync.ErrTenantNotFound, k)
				assert.Zero(t, kr.Len(), k)
			}
			users := res.Result(tenantsync.KindUsers)
			if !tt.cfg.PageAllUsers {
				assert.Equal(t, HintTenantDropped, tenantsync.HintOf(users.Err))
			}
			assert.Contains(t, tenantsync.HintOf(users.Err), "Only Clear the Tenant Cache")
			assert.Equal(t, 1, tenantListCalls(srv), "one fresh tenant list per fetch, not one per empty kind")

			// The client on its own says the same.
			_, err = c.Devices(t.Context(), tn.CustomerID)
			require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)

			// Once CIPP lists the tenant again, its users are a listing again.
			require.NoError(t, c.RefreshTenantList(t.Context()))
			res, err = src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
			require.NoError(t, err)
			require.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode, "%v", res.Result(tenantsync.KindUsers).Err)
			assert.Len(t, res.Result(tenantsync.KindUsers).Users, len(srv.World.Tenant(tn.CustomerID).ActiveUsers()))
		})
	}
}

// TestEmptyTenantIsAnEmptyListing: a tenant CIPP still lists that truly has no users (nor
// mailboxes, nor MFA states) is a complete, empty listing, confirmed by one tenant list call.
func TestEmptyTenantIsAnEmptyListing(t *testing.T) {
	t.Parallel()
	for _, paged := range []bool{false, true} {
		t.Run(map[bool]string{false: "ListUsers", true: "paged users"}[paged], func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, testserver.Options{})
			c := adminClient(t, srv)
			src := mustSource(t, c, SourceConfig{PageAllUsers: paged})
			tn := managedTenant(t, c)
			for _, u := range srv.World.Tenant(tn.CustomerID).ActiveUsers() {
				require.NoError(t, srv.World.DeleteUser(tn.CustomerID, u.ID))
			}
			srv.ResetCounts()
			res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID,
				Kinds: []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindMFA}})
			require.NoError(t, err)
			for _, k := range []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindMFA} {
				kr := res.Result(k)
				require.Equal(t, tenantsync.Complete, kr.Mode, "%s: %v", k, kr.Err)
				assert.Zero(t, kr.Len(), k)
			}
			assert.Equal(t, 1, tenantListCalls(srv), "three empty kinds, one confirmation")
		})
	}
}

// TestEmptyAnswerConfirmation drives each answer the confirming tenant list can give, after
// the cached list held the tenant and CIPP answered ListUsers with [].
func TestEmptyAnswerConfirmation(t *testing.T) {
	t.Parallel()
	const row = `{"customerId":"` + contosoID + `","defaultDomainName":"contoso.com","initialDomainName":"contoso.onmicrosoft.com","displayName":"Contoso Ltd","Excluded":%s}`
	other := `{"customerId":"0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b","defaultDomainName":"fabrikam.com","displayName":"Fabrikam","Excluded":false}`
	tests := []struct {
		name   string
		status int
		list   string
		kind   error // nil: a complete empty listing
		hint   string
	}{
		{"still listed", 200, "[" + fmt.Sprintf(row, "false") + "," + other + "]", nil, ""},
		{"dropped", 200, "[" + other + "]", tenantsync.ErrTenantNotFound, HintTenantDropped},
		{"excluded meanwhile", 200, "[" + fmt.Sprintf(row, "true") + "," + other + "]", tenantsync.ErrTenantNotFound, HintExcluded},
		{"list now empty", 200, "[]", tenantsync.ErrTenantNotFound, HintEmptyTenants},
		{"list unreadable", 500, "", tenantsync.ErrUnavailable, HintRetry},
		{"list refused", 403, "Access to this CIPP API endpoint is not allowed, you do not have the required permission: CIPP.Core.Read", tenantsync.ErrForbidden, HintCustomRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var confirming atomic.Bool
			mux := http.NewServeMux()
			mux.HandleFunc("/api/ListTenants", func(w http.ResponseWriter, _ *http.Request) {
				status, body := 200, "["+fmt.Sprintf(row, "false")+","+other+"]"
				if confirming.Load() {
					status, body = tt.status, tt.list
				}
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
			})
			mux.HandleFunc("/api/ListUsers", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`[]`)) })
			fake := httptest.NewServer(mux)
			t.Cleanup(fake.Close)
			c := build(t, Config{BaseURL: fake.URL, TokenSource: &staticTokens{tokens: []string{"t"}},
				Settings: transport.Settings{AllowInsecureHTTP: true}}, fastRetry)
			_, err := c.LookupTenant(t.Context(), contosoDomain)
			require.NoError(t, err, "the cache holds the tenant")

			confirming.Store(true)
			users, err := c.Users(t.Context(), contosoDomain)
			if tt.kind == nil {
				require.NoError(t, err)
				assert.Empty(t, users)
				return
			}
			require.ErrorIs(t, err, tt.kind)
			assert.Equal(t, tt.hint, tenantsync.HintOf(err))
			assert.NotContains(t, err.Error(), "secret")
		})
	}
}

// TestTenantListSharedWithoutBlocking: concurrent callers share one ListTenants call, and a
// caller whose context ends stops waiting at once instead of queueing behind a lock held over a
// call that can take minutes.
func TestTenantListSharedWithoutBlocking(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	c := adminClient(t, srv)
	// The first ListTenants call is slow, as CIPP's can be on a cold start.
	srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListTenants", Kind: testserver.Latency, Delay: time.Second, Count: 1})

	first, cancelFirst := context.WithCancel(t.Context())
	type answer struct {
		rows []Tenant
		err  error
	}
	firstDone := make(chan answer, 1)
	go func() {
		rows, err := c.Tenants(first)
		firstDone <- answer{rows, err}
	}()
	require.Eventually(t, func() bool { return tenantListCalls(srv) == 1 }, 10*time.Second, time.Millisecond, "the first call reached CIPP")

	// A caller that gives up is not held until the slow call ends.
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Tenants(gone)
	require.ErrorIs(t, err, context.Canceled)

	// The caller that started the shared call gives up too; the others still get its answer.
	cancelFirst()
	require.ErrorIs(t, (<-firstDone).err, context.Canceled)
	var wg sync.WaitGroup
	answers := make([]answer, 4)
	for i := range answers {
		wg.Go(func() {
			rows, err := c.Tenants(t.Context())
			answers[i] = answer{rows, err}
		})
	}
	wg.Wait()
	for _, a := range answers {
		require.NoError(t, a.err)
		assert.NotEmpty(t, a.rows)
	}
	assert.Equal(t, 1, tenantListCalls(srv), "every caller shared the one call")
}
