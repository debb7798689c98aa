package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// simClock is the engines' shared notion of now, advanced by every step they take, so the test
// controls lease expiry without sleeping.
type simClock struct{ offset atomic.Int64 }

var base = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func (c *simClock) advance(d time.Duration) time.Time {
	return base.Add(time.Duration(c.offset.Add(int64(d))))
}

// Two engine processes (two stores, two pools) with four workers each claim due tenants from one
// database, sync them and release them, as fast as they can. No tenant is ever held by two
// workers at once, every commit is made under a live lease, and both engines get work.
func TestLeasesTwoEnginesNeverShareATenant(t *testing.T) {
	t.Parallel()
	keys := storetest.NewKeys(t)
	engines := []*struct {
		name  string
		s     store.Store
		syncs atomic.Int64
	}{{name: "engine-a", s: open(t, keys)}, {name: "engine-b", s: open(t, keys)}}
	ctx := t.Context()
	acct := "lease-acct-" + fmt.Sprint(time.Now().UnixNano())
	var ids []string
	var tenants []tenantsync.Tenant
	for i := range 24 {
		id := fmt.Sprintf("tenant-%02d", i)
		ids = append(ids, id)
		tenants = append(tenants, tenantsync.Tenant{ID: id})
	}
	_, err := engines[0].s.Account(acct).Tenants.RecordDiscovery(ctx, "cipp", tenants, base)
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, engines[0].s.Account(acct).Tenants.Link(ctx, id, "client", base))
	}

	const workers, rounds, ttl = 4, 12, time.Hour
	var clock simClock
	var mu sync.Mutex
	holding := map[string]string{}
	synced := map[string]int{}
	var violations []string
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for _, e := range engines {
		for w := range workers {
			holder := fmt.Sprintf("%s/worker-%d", e.name, w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- work(ctx, e.s, acct, holder, rounds, ttl, &clock, func(tenant string, start bool) {
					mu.Lock()
					defer mu.Unlock()
					if !start {
						delete(holding, tenant)
						return
					}
					if other, ok := holding[tenant]; ok {
						violations = append(violations, fmt.Sprintf("%s claimed %s while %s held it", holder, tenant, other))
					}
					holding[tenant] = holder
					synced[tenant]++
					e.syncs.Add(1)
				})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Empty(t, violations, "a tenant was held by two workers at once")
	assert.Len(t, synced, len(ids), "every tenant was synced")
	for _, e := range engines {
		assert.Positive(t, e.syncs.Load(), "%s got no work", e.name)
	}
	t.Logf("syncs: %s %d, %s %d", engines[0].name, engines[0].syncs.Load(), engines[1].name, engines[1].syncs.Load())
}

// work is one engine worker: claim due tenants, sync each under its lease, release.
func work(ctx context.Context, s store.Store, acct, holder string, rounds int, ttl time.Duration, clock *simClock, mark func(tenant string, start bool)) error {
	for range rounds {
		leases, err := s.Account(acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: holder, Now: clock.advance(time.Second), TTL: ttl, Max: 2})
		if err != nil {
			return err
		}
		for _, l := range leases {
			if l.Holder != holder {
				return fmt.Errorf("lease of %s names %s, not %s", l.TenantID, l.Holder, holder)
			}
			mark(l.TenantID, true)
			if _, err := s.Account(acct).Leases.Renew(ctx, store.LeaseRequest{TenantID: l.TenantID, Holder: holder, Now: clock.advance(time.Second), TTL: ttl}); err != nil {
				return fmt.Errorf("renew %s: %w", l.TenantID, err)
			}
			cursors, err := s.Account(acct).Mirror.Cursors(ctx, l.TenantID)
			if err != nil {
				return err
			}
			now := clock.advance(time.Second)
			_, err = s.Account(acct).Mirror.Commit(ctx, store.Batch{
				TenantID: l.TenantID, Holder: holder, Now: now,
				Kinds: []store.KindApply{{
					Result:       &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Users: []tenantsync.User{{ObjectID: holder}}, Cursor: fmt.Sprint(now.UnixNano())},
					ExpectCursor: cursors[tenantsync.KindUsers],
				}},
				// Due again at once, so the engines keep competing for the same tenants.
				State: &store.SyncState{LastSuccess: now, NextDue: now},
			})
			if err != nil {
				return fmt.Errorf("commit %s under lease: %w", l.TenantID, err)
			}
			mark(l.TenantID, false)
			if err := s.Account(acct).Leases.Release(ctx, l.TenantID, holder); err != nil {
				return err
			}
		}
	}
	return nil
}

// An engine that stops renewing keeps its tenants until its leases expire, and loses them to
// the other engine afterwards; its late renewals and commits are refused.
func TestLeasesOfAStoppedHolderExpireAndAreTakenOver(t *testing.T) {
	t.Parallel()
	keys := storetest.NewKeys(t)
	a, b := open(t, keys), open(t, keys)
	ctx := t.Context()
	acct := "expiry-acct-" + fmt.Sprint(time.Now().UnixNano())
	var tenants []tenantsync.Tenant
	for i := range 10 {
		tenants = append(tenants, tenantsync.Tenant{ID: fmt.Sprintf("tenant-%02d", i)})
	}
	_, err := a.Account(acct).Tenants.RecordDiscovery(ctx, "cipp", tenants, base)
	require.NoError(t, err)
	for _, tn := range tenants {
		require.NoError(t, a.Account(acct).Tenants.Link(ctx, tn.ID, "client", base))
	}
	const ttl = 2 * time.Minute

	dead, err := b.Account(acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "engine-b", Now: base, TTL: ttl, Max: 6})
	require.NoError(t, err)
	require.Len(t, dead, 6)
	deadIDs := map[string]bool{}
	for _, l := range dead {
		deadIDs[l.TenantID] = true
	}

	// engine-b stops here. Before expiry, engine-a only gets the other four.
	got, err := a.Account(acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "engine-a", Now: base.Add(ttl - time.Second), TTL: ttl, Max: 100})
	require.NoError(t, err)
	require.Len(t, got, 4)
	for _, l := range got {
		assert.False(t, deadIDs[l.TenantID], "%s was taken while engine-b's lease was live", l.TenantID)
		require.NoError(t, a.Account(acct).Leases.Release(ctx, l.TenantID, "engine-a"))
		require.NoError(t, a.Account(acct).SyncStates.Put(ctx, store.SyncState{TenantID: l.TenantID, NextDue: base.Add(24 * time.Hour)}))
	}
	for id := range deadIDs {
		_, err := a.Account(acct).Leases.Acquire(ctx, store.LeaseRequest{TenantID: id, Holder: "engine-a", Now: base.Add(ttl - time.Second), TTL: ttl})
		var held *store.LeaseHeldError
		require.ErrorAs(t, err, &held)
		assert.Equal(t, "engine-b", held.Holder)
		assert.True(t, held.Until.Equal(base.Add(ttl)))
	}

	// After expiry engine-a takes every one of them.
	got, err = a.Account(acct).Leases.AcquireDue(ctx, store.DueRequest{Holder: "engine-a", Now: base.Add(ttl), TTL: ttl, Max: 100})
	require.NoError(t, err)
	require.Len(t, got, len(deadIDs))
	for _, l := range got {
		assert.True(t, deadIDs[l.TenantID])
		assert.Equal(t, "engine-a", l.Holder)
	}

	// engine-b wakes up: its renewals and commits are refused, naming the new holder.
	for id := range deadIDs {
		_, err := b.Account(acct).Leases.Renew(ctx, store.LeaseRequest{TenantID: id, Holder: "engine-b", Now: base.Add(ttl + time.Second), TTL: ttl})
		var held *store.LeaseHeldError
		require.ErrorAs(t, err, &held)
		assert.Equal(t, "engine-a", held.Holder)
		_, err = b.Account(acct).Mirror.Commit(ctx, store.Batch{TenantID: id, Holder: "engine-b", Now: base.Add(ttl + time.Second),
			Kinds: []store.KindApply{{Result: &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: []tenantsync.User{{ObjectID: "stale"}}}}}})
		require.True(t, errors.Is(err, tenantsync.ErrAlreadyRunning), "stale commit: %v", err)
		_, err = a.Account(acct).Mirror.GetUser(ctx, id, "stale")
		assert.ErrorIs(t, err, tenantsync.ErrNotFound, "the stale commit wrote nothing")
	}
}
