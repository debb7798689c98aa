package cipp

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// normalised drops what legitimately differs between a live read and the reporting
// database's: when and how it was read, and the order of rows.
func normalised(kr *tenantsync.KindResult) *tenantsync.KindResult {
	cp := *kr
	cp.FetchedAt, cp.Cursor = time.Time{}, ""
	if cp.Baseline != nil {
		b := *cp.Baseline
		b.CAPolicies = nil
		// The reporting database holds no connector or protection states: the bulk route
		// leaves Defender unread (nil), which the live route reads.
		b.Defender = nil
		cp.Baseline = &b
	}
	return &cp
}

func TestBulkReadsEveryTenantInAFewCalls(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 12})
	refresh := time.Now().Add(-5 * time.Hour).Truncate(time.Second).UTC()
	srv.SetCIPPReportRefresh(refresh)
	c := adminClient(t, srv)
	live := mustSource(t, c, SourceConfig{})
	bulk := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	tenants, err := bulk.ListTenants(t.Context())
	require.NoError(t, err)
	require.Greater(t, len(tenants), 5)

	srv.ResetCounts()
	got := map[string]*tenantsync.FetchResult{}
	for _, tn := range tenants {
		res, err := bulk.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: sevenKinds})
		require.NoError(t, err)
		got[tn.ID] = res
	}
	// One countsOnly call, one fresh tenant list, one call per type: for every tenant.
	assert.Equal(t, 2+len(testserver.CIPPDBTypes), srv.Requests(testserver.ServiceCIPP, "*"))
	assert.Equal(t, 1+len(testserver.CIPPDBTypes), srv.CIPPDBCacheRequests())

	for _, tn := range tenants {
		want, err := live.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: sevenKinds})
		require.NoError(t, err)
		for _, k := range sevenKinds {
			b, l := got[tn.ID].Result(k), want.Result(k)
			require.Equal(t, tenantsync.Complete, b.Mode, "%s %s: %v", tn.ID, k, b.Err)
			assert.Equal(t, refresh, b.FetchedAt.UTC(), "FetchedAt is CIPP's refresh time, never now")
			assert.Equal(t, normalised(l), normalised(b), "%s %s", tn.ID, k)
		}
		assert.ElementsMatch(t, want.Result(tenantsync.KindBaseline).Baseline.CAPolicies, got[tn.ID].Result(tenantsync.KindBaseline).Baseline.CAPolicies)
	}
}

func TestBulkFallsBackToLiveReads(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 8})
	var two []*testserver.Tenant
	for _, tn := range srv.World.Tenants {
		if tn.InCIPP && !tn.CIPPStale && len(two) < 2 {
			two = append(two, tn)
		}
	}
	require.Len(t, two, 2)
	a, b := two[0], two[1]
	fetch := func(src *Source, id string, fresh bool) *tenantsync.FetchResult {
		t.Helper()
		res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: id, Fresh: fresh, Kinds: sevenKinds})
		require.NoError(t, err)
		for _, k := range sevenKinds {
			require.Equal(t, tenantsync.Complete, res.Result(k).Mode, "%s: %v", k, res.Result(k).Err)
		}
		return res
	}

	// A type missing for one tenant: that tenant reads the kind live, the other does not.
	srv.DropCIPPReportType(a.ID, "ManagedDevices", true)
	src := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	srv.ResetCounts()
	fetch(src, a.ID, false)
	assert.Equal(t, 1, srv.Requests(testserver.ServiceCIPP, a.ID), "ListDevices alone")
	fetch(src, b.ID, false)
	assert.Zero(t, srv.Requests(testserver.ServiceCIPP, b.ID))

	// Someone asked for this sync: live.
	srv.ResetCounts()
	fetch(src, b.ID, true)
	assert.Equal(t, 11, srv.Requests(testserver.ServiceCIPP, b.ID))

	// The database is older than the configured age: live.
	srv.SetCIPPReportRefresh(time.Now().Add(-3 * time.Hour))
	old := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true, BulkMaxAge: 2 * time.Hour})
	srv.ResetCounts()
	fetch(old, b.ID, false)
	assert.Equal(t, 11, srv.Requests(testserver.ServiceCIPP, b.ID))

	// An instance older than v10.1 answers 400: live, and not asked again for every tenant.
	srv.SetCIPPBeforeDBCache(true)
	before := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	srv.ResetCounts()
	asked := srv.CIPPDBCacheRequests()
	fetch(before, a.ID, false)
	fetch(before, b.ID, false)
	assert.Equal(t, 1, srv.CIPPDBCacheRequests()-asked, "one countsOnly call, then live reads")
	assert.Equal(t, 11, srv.Requests(testserver.ServiceCIPP, b.ID))
	_, err := before.c.DBCacheCounts(t.Context())
	require.ErrorIs(t, err, tenantsync.ErrUnsupported)
	assert.Contains(t, tenantsync.HintOf(err), "v10.1")
}

func TestBulkNeverHandsOutOlderData(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 6})
	refresh := time.Now().Add(-time.Hour).Truncate(time.Second)
	srv.SetCIPPReportRefresh(refresh)
	src := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	tn := managedTenant(t, src.c)
	users := []tenantsync.Kind{tenantsync.KindUsers}

	// A live read (a sync someone asked for) is newer than the database...
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: users, Fresh: true})
	require.NoError(t, err)
	cursor := res.Result(tenantsync.KindUsers).Cursor
	require.NotEmpty(t, cursor, "bulk mode dates every kind's data in its cursor")
	// ...so the next fetch reads live again, in this Source or in one started anew that gets
	// the stored cursor.
	fresh := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	for _, s := range []*Source{src, fresh} {
		srv.ResetCounts()
		res, err = s.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: users, Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: cursor}})
		require.NoError(t, err)
		assert.Equal(t, tenantsync.Complete, res.Result(tenantsync.KindUsers).Mode)
		assert.Equal(t, 1, srv.Requests(testserver.ServiceCIPP, tn.CustomerID), "ListUsers: the database is older than the mirror")
	}

	// Data the mirror holds already comes back as no change, without a call.
	other := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	res, err = other.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: users})
	require.NoError(t, err)
	kr := res.Result(tenantsync.KindUsers)
	require.Equal(t, tenantsync.Complete, kr.Mode)
	srv.ResetCounts()
	res, err = other.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: users, Cursors: map[tenantsync.Kind]string{tenantsync.KindUsers: kr.Cursor}})
	require.NoError(t, err)
	assert.Equal(t, tenantsync.Changes, res.Result(tenantsync.KindUsers).Mode)
	assert.Empty(t, res.Result(tenantsync.KindUsers).Users)
	assert.Zero(t, srv.Requests(testserver.ServiceCIPP, "*"))
}

// inFlight counts the requests a transport has open at once.
type inFlight struct {
	base     http.RoundTripper
	now, max atomic.Int64
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	n := f.now.Add(1)
	defer f.now.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	return f.base.RoundTrip(r)
}

func TestTenantKindsInParallelWithinTheLimit(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 4, Latency: 30 * time.Millisecond})
	for _, limit := range []int{1, 3} {
		hc := srv.HTTPClient()
		tr := &inFlight{base: hc.Transport}
		hc.Transport = tr
		c := adminClient(t, srv, func(cfg *Config) { cfg.HTTPClient = hc; cfg.Concurrency = limit })
		src := mustSource(t, c, SourceConfig{})
		tn := managedTenant(t, c)
		tr.max.Store(0)
		res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.CustomerID, Kinds: sevenKinds})
		require.NoError(t, err)
		// Seven lists, two more for the baseline's score and security defaults, two for its
		// Defender state (ListLicenses is shared with the subscriptions).
		assert.Equal(t, 11, res.RoundTrips)
		assert.Equal(t, int64(limit), tr.max.Load(), "the kinds go at once, never more than the limit")
	}
	_, err := NewClient(Config{BaseURL: srv.CIPPURL(), TenantID: "3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", ClientID: "3f8a2c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
		Secret: tenantsync.NewSecret("s"), Concurrency: -1})
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

// The reporting database's rows are a complete listing only when they are the rows its counts
// announced: a tenant whose type serves fewer (or more) rows than counted (the nightly refresh
// ran between the two calls, or rows were lost) reads the kind live, as a listing short of
// rows would remove items. And a refresh time ahead of the clock is not taken as fresh.
func TestBulkReadsLiveWhatItCannotVouchFor(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{Tenants: 8})
	var two []*testserver.Tenant
	for _, tn := range srv.World.Tenants {
		if tn.InCIPP && !tn.CIPPStale && len(tn.Users) > 2 && len(two) < 2 {
			two = append(two, tn)
		}
	}
	require.Len(t, two, 2)
	a, b := two[0], two[1]
	users := func(src *Source, id string) *tenantsync.KindResult {
		t.Helper()
		res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: id, Kinds: []tenantsync.Kind{tenantsync.KindUsers}})
		require.NoError(t, err)
		kr := res.Result(tenantsync.KindUsers)
		require.Equal(t, tenantsync.Complete, kr.Mode, "%v", kr.Err)
		return kr
	}
	live := users(mustSource(t, adminClient(t, srv), SourceConfig{}), a.ID)

	for _, skew := range []int{3, -1} {
		srv.SkewCIPPReportCount(a.ID, "Users", skew)
		src := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
		srv.ResetCounts()
		got := users(src, a.ID)
		assert.Positive(t, srv.Requests(testserver.ServiceCIPP, a.ID), "skew %d: read live", skew)
		assert.Len(t, got.Users, len(live.Users), "skew %d: every user", skew)
		users(src, b.ID)
		assert.Zero(t, srv.Requests(testserver.ServiceCIPP, b.ID), "skew %d: the other tenant from the database", skew)
	}
	srv.SkewCIPPReportCount(a.ID, "Users", 0)

	srv.SetCIPPReportRefresh(time.Now().Add(365 * 24 * time.Hour))
	ahead := mustSource(t, adminClient(t, srv), SourceConfig{Bulk: true})
	srv.ResetCounts()
	got := users(ahead, b.ID)
	assert.Positive(t, srv.Requests(testserver.ServiceCIPP, b.ID), "a refresh a year ahead: read live")
	assert.False(t, got.FetchedAt.After(time.Now().Add(time.Minute)), "FetchedAt is not in the future: %s", got.FetchedAt)
}
