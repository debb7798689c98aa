package sync

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func TestSuggestionsAndBulkLinking(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := t.Context()
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 1))
	h.src.AddTenant(fakeTenant("t3", "Northwind Traders", "northwind.example", 1))
	clients := []tenantsync.Client{
		{ID: "c-contoso", Name: "Contoso", Domains: []string{"contoso.example"}},
		{ID: "c-fab", Name: "Fabrikam Incorporated"},
		{ID: "c-other", Name: "Wide World Importers"},
	}
	for _, c := range clients {
		require.NoError(t, dirOf(h.st, testAccount).PutClient(ctx, c))
	}
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	for _, ev := range h.sink.WaitFor(t, EventTenantDiscovered, "", 3) {
		if ev.TenantID == "t1" {
			assert.Equal(t, "c-contoso", ev.SuggestedClient, "discovery announces the best client")
			assert.True(t, ev.AutoAccept)
			assert.Positive(t, ev.Confidence)
		}
	}

	sugs, err := h.eng.Suggestions(ctx, nil)
	require.NoError(t, err)
	require.Len(t, sugs, 3)
	byTenant := map[string]int{}
	for i, s := range sugs {
		byTenant[s.TenantID] = i
	}
	contoso := sugs[byTenant["t1"]]
	assert.True(t, contoso.AutoAccept, "an exact verified domain is auto-accepted")
	assert.Equal(t, "c-contoso", contoso.ClientID)
	assert.False(t, sugs[byTenant["t3"]].AutoAccept)

	// Bulk link: only the auto-accepted suggestion is linked.
	res, err := h.eng.LinkSuggested(ctx, "alice", nil)
	require.NoError(t, err)
	linked := map[string]string{}
	for _, r := range res {
		require.NoError(t, r.Err)
		linked[r.TenantID] = r.ClientID
	}
	assert.Equal(t, "c-contoso", linked["t1"])
	assert.NotContains(t, linked, "t3")
	require.NoError(t, h.eng.Wait(ctx))
	assert.Len(t, h.users("t1"), 4, "bulk linking starts the initial syncs")

	// A person confirms the rest; a bad pair fails on its own.
	res = h.eng.LinkMany(ctx, "alice", []LinkRequest{{TenantID: "t3", ClientID: "c-other"}, {TenantID: "t1", ClientID: "c-fab"}})
	require.Len(t, res, 2)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, tenantsync.ErrAlreadyLinked)
	require.NoError(t, h.eng.Wait(ctx))

	sugs, err = h.eng.Suggestions(ctx, clients)
	require.NoError(t, err)
	for _, s := range sugs {
		assert.NotEqual(t, "t1", s.TenantID, "linked tenants get no suggestion")
		assert.NotEqual(t, "t3", s.TenantID)
	}
	h.verifyAudit()

	h.contacts.FailList(tenantsync.Errorf(tenantsync.ErrUnavailable, "", "down"))
	_, err = h.eng.LinkSuggested(ctx, "alice", clients)
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Contains(t, tenantsync.HintOf(err), "contact directory", "a hintless PSA error gets one")
}

// countingSource measures how many fetches run at once.
type countingSource struct {
	*FakeSource
	cur, peak atomic.Int32
}

func (c *countingSource) Fetch(ctx context.Context, req tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	n := c.cur.Add(1)
	defer c.cur.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(10 * time.Millisecond)
	return c.FakeSource.Fetch(ctx, req)
}

func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	src := &countingSource{FakeSource: NewFakeSource("cipp")}
	h := newHarness(t, func(c *Config) {
		c.Sources = []tenantsync.Source{src}
		c.Limits.Concurrency = 2
	})
	h.src = src.FakeSource
	ctx := t.Context()
	var reqs []LinkRequest
	for _, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
		h.src.AddTenant(fakeTenant(id, "Tenant "+id, id+".example", 1))
		reqs = append(reqs, LinkRequest{TenantID: id, ClientID: "client-" + id})
	}
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	for _, r := range h.eng.LinkMany(ctx, "alice", reqs) {
		require.NoError(t, r.Err)
	}
	require.NoError(t, h.eng.Wait(ctx))
	assert.Equal(t, int32(2), src.peak.Load(), "five initial syncs, two at a time")
	for _, r := range reqs {
		assert.Len(t, h.users(r.TenantID), 4)
	}

	// The same bound holds for scheduled syncs.
	src.peak.Store(0)
	h.clock.Advance(2 * time.Hour)
	reps, err := h.eng.RunOnce(ctx)
	require.NoError(t, err)
	assert.Len(t, reps, 2, "one cycle claims as many tenants as there are free slots")
	assert.LessOrEqual(t, src.peak.Load(), int32(2))
}

func TestAlreadyRunningInThisProcess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 4))
	h.discoverAndStoreLink("t1", "client-1")
	var during, unlinkDuring, leasedDuring error
	h.src.OnPage = func(_ string, k tenantsync.Kind, page int) {
		if k != tenantsync.KindUsers || page != 0 {
			return
		}
		h.clock.Advance(time.Minute)
		_, during = h.eng.SyncNow(context.Background(), "t1")
		unlinkDuring = h.eng.Unlink(context.Background(), "alice", "t1", 0)
		// Same holder, lease granted by the store: the in-process guard still refuses.
		_, leasedDuring = h.eng.syncLeased(context.Background(), "t1", "test", SyncOptions{}, h.clock.Now())
	}
	_, err := h.eng.SyncNow(t.Context(), "t1")
	require.NoError(t, err)
	assert.ErrorIs(t, during, tenantsync.ErrAlreadyRunning)
	assert.ErrorIs(t, unlinkDuring, tenantsync.ErrAlreadyRunning)
	assert.ErrorIs(t, leasedDuring, tenantsync.ErrAlreadyRunning)
	assert.NotEmpty(t, tenantsync.HintOf(during))
}
