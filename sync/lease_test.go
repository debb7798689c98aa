package sync

import (
	"context"
	"errors"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// leaseFaultStore is a store whose lease renewals and commits a test can intercept.
type leaseFaultStore struct {
	store.Store
	mu stdsync.Mutex
	// renew, when set, answers Renew instead of the store.
	renew func(ctx context.Context, r store.LeaseRequest) (store.Lease, error)
	// commit, when set, runs before each commit reaches the store.
	commit func(b store.Batch)
}

func (s *leaseFaultStore) Account(id string) store.Account {
	a := s.Store.Account(id)
	a.Leases = faultLeases{a.Leases, s}
	m := faultMirror{a.Mirror, s}
	if st, ok := a.Mirror.(store.Stager); ok {
		// SQLite and PostgreSQL stage streamed pages; the engine finds that out by assertion.
		a.Mirror = stagingFaultMirror{m, st}
	} else {
		a.Mirror = m
	}
	return a
}

func (s *leaseFaultStore) hooks() (func(context.Context, store.LeaseRequest) (store.Lease, error), func(store.Batch)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renew, s.commit
}

type faultLeases struct {
	store.Leases
	s *leaseFaultStore
}

func (l faultLeases) Renew(ctx context.Context, r store.LeaseRequest) (store.Lease, error) {
	if renew, _ := l.s.hooks(); renew != nil {
		return renew(ctx, r)
	}
	return l.Leases.Renew(ctx, r)
}

type faultMirror struct {
	store.Mirror
	s *leaseFaultStore
}

func (m faultMirror) Commit(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	if _, commit := m.s.hooks(); commit != nil {
		commit(b)
	}
	return m.Mirror.Commit(ctx, b)
}

type stagingFaultMirror struct {
	faultMirror
	st store.Stager
}

func (m stagingFaultMirror) Stage(ctx context.Context, tenantID string) (store.Stage, error) {
	return m.st.Stage(ctx, tenantID)
}

// ctxSource hands a test the context each fetch runs in, so it can see when the engine cancels
// the sync.
type ctxSource struct {
	tenantsync.Source
	mu  *stdsync.Mutex
	ctx *context.Context
}

func (s ctxSource) Fetch(ctx context.Context, r tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	s.mu.Lock()
	*s.ctx = ctx
	s.mu.Unlock()
	return s.Source.Fetch(ctx, r)
}

// newLeaseHarness is a harness on sc's store, wrapped so a test intercepts renewals and
// commits, with a lease TTL of 3 minutes (the sync may go on 162 s after a renewal landed).
func newLeaseHarness(t *testing.T, sc storeCase) (*harness, *leaseFaultStore, func() context.Context) {
	t.Helper()
	faults := &leaseFaultStore{}
	var mu stdsync.Mutex
	var fetchCtx context.Context
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		faults.Store = sc.open(t, now)
		return faults
	}, func(c *Config) {
		c.Limits.LeaseTTL = 3 * time.Minute
		c.Sources = []tenantsync.Source{ctxSource{Source: c.Sources[0], mu: &mu, ctx: &fetchCtx}}
	})
	return h, faults, func() context.Context {
		mu.Lock()
		defer mu.Unlock()
		return fetchCtx
	}
}

// leaseLostAudits returns the sync_lease_lost entries of the tenant.
func leaseLostAudits(t *testing.T, h *harness, tenantID string) []tenantsync.AuditEntry {
	t.Helper()
	all, err := h.st.Account(testAccount).Audit.List(context.Background(), store.AuditQuery{TenantID: tenantID})
	require.NoError(t, err)
	var out []tenantsync.AuditEntry
	for _, a := range all {
		if a.Action == auditLeaseLost {
			out = append(out, a)
		}
	}
	return out
}

// A sync whose lease renewals stop landing (the store fails them, or hangs on them) stops
// before its lease expires, so no other process can claim the tenant while it still runs, and
// commits nothing.
func TestLeaseRenewalsThatStopLandingStopTheSyncBeforeTheTTL(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name  string
		renew func(ctx context.Context, r store.LeaseRequest) (store.Lease, error)
	}{
		{"renewals fail", func(context.Context, store.LeaseRequest) (store.Lease, error) {
			return store.Lease{}, tenantsync.Errorf(tenantsync.ErrUnavailable, "", "connection refused")
		}},
		{"renewals hang", func(ctx context.Context, _ store.LeaseRequest) (store.Lease, error) {
			<-ctx.Done()
			return store.Lease{}, ctx.Err()
		}},
	}
	for _, sc := range engineStores() {
		for _, f := range faults {
			t.Run(sc.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				h, fs, fetchCtx := newLeaseHarness(t, sc)
				h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 5))
				h.discoverAndStoreLink("t1", "client-1")
				fs.mu.Lock()
				fs.renew = f.renew
				fs.mu.Unlock()
				claimed := h.clock.Now()
				ttl := 3 * time.Minute

				var stoppedAt time.Time
				var runningAt150 bool
				h.src.OnPage = func(tenantID string, kind tenantsync.Kind, page int) {
					if kind != tenantsync.KindUsers || page != 0 {
						return
					}
					ctx := fetchCtx()
					// Past two failed renewal beats (60 s and 120 s), still inside the safe part.
					for range 5 {
						h.clock.Advance(30 * time.Second)
						time.Sleep(5 * time.Millisecond)
					}
					runningAt150 = ctx.Err() == nil
					// Past TTL - TTL/10 = 162 s, before the lease's expiry at 180 s.
					h.clock.Advance(15 * time.Second)
					select {
					case <-ctx.Done():
						stoppedAt = h.clock.Now()
					case <-time.After(5 * time.Second):
					}
				}
				_, err := h.eng.SyncNow(t.Context(), "t1")
				require.Error(t, err)
				assert.True(t, runningAt150, "a renewal that fails for a passing reason does not end the sync at once")
				require.False(t, stoppedAt.IsZero(), "the sync was not stopped after its renewals stopped landing")
				assert.Less(t, stoppedAt.Sub(claimed), ttl, "stopped before the lease could expire")
				assert.ErrorIs(t, err, tenantsync.ErrConflict)
				assert.Contains(t, err.Error(), "renewals stopped landing")
				assert.NotEmpty(t, tenantsync.HintOf(err))
				assert.Empty(t, h.users("t1"), "a sync that stopped for its lease stores nothing")
				st := h.state("t1")
				assert.Nil(t, st.Counts, "no count was stored")
				require.NotNil(t, st.LastError)

				audits := leaseLostAudits(t, h, "t1")
				require.Len(t, audits, 1)
				a := audits[0]
				assert.Equal(t, "engine-a", a.Actor)
				assert.Equal(t, "failed", a.Outcome)
				assert.Equal(t, lostRenewals, a.Detail["reason"])
				assert.Equal(t, claimed.UTC().Format(time.RFC3339Nano), a.Detail["last_renewal"], "no renewal landed after the claim")
				assert.NotEmpty(t, a.Error)
			})
		}
	}
}

// A commit whose lease another engine took over is refused by the store, inside the commit,
// and the store checks the lease at the commit's own instant.
func TestCommitRefusedWhenTheLeaseWasTakenOver(t *testing.T) {
	t.Parallel()
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			h, fs, _ := newLeaseHarness(t, sc)
			h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 5))
			h.discoverAndStoreLink("t1", "client-1")
			claimed := h.clock.Now()

			// The reconcile's PSA calls take 100 s: the commit comes well after the guard. The
			// renewal due at 60 s lands meanwhile (waited for, so it cannot meet the takeover).
			var once stdsync.Once
			h.contacts.OnChange(func(tenantsync.Contact) {
				once.Do(func() {
					h.clock.Advance(100 * time.Second)
					want := claimed.Add(100*time.Second + 3*time.Minute)
					for range 1000 {
						if l, err := h.st.Account(testAccount).Leases.Get(context.Background(), "t1"); err == nil && !l.ExpiresAt.Before(want) {
							return
						}
						time.Sleep(2 * time.Millisecond)
					}
					t.Error("the renewal due at 60 s did not land")
				})
			})
			var committedAt []time.Time
			fs.mu.Lock()
			fs.commit = func(b store.Batch) {
				if b.TenantID != "t1" {
					return
				}
				committedAt = append(committedAt, b.Now)
				// Another engine takes the tenant over just before the commit lands.
				leases := h.st.Account(testAccount).Leases
				require.NoError(t, leases.Release(context.Background(), "t1", "engine-a"))
				_, err := leases.Acquire(context.Background(), store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: 3 * time.Minute})
				require.NoError(t, err)
			}
			fs.mu.Unlock()

			_, err := h.eng.SyncNow(t.Context(), "t1")
			require.Error(t, err)
			require.Len(t, committedAt, 1, "the engine committed once, naming its lease")
			assert.True(t, committedAt[0].Equal(claimed.Add(100*time.Second)), "the lease is checked at the commit's instant, not the guard's: %s", committedAt[0].Sub(claimed))
			assert.ErrorIs(t, err, tenantsync.ErrConflict)
			var held *store.LeaseHeldError
			require.True(t, errors.As(err, &held), "the store's refusal is kept: %v", err)
			assert.Equal(t, "engine-b", held.Holder)
			assert.Empty(t, h.users("t1"), "the refused commit stored nothing")
			assert.Empty(t, h.links("t1"))
			l, err := h.st.Account(testAccount).Leases.Get(t.Context(), "t1")
			require.NoError(t, err)
			assert.Equal(t, "engine-b", l.Holder, "the new holder keeps its lease")

			audits := leaseLostAudits(t, h, "t1")
			require.Len(t, audits, 1)
			assert.Equal(t, lostAtCommit, audits[0].Detail["reason"])
			assert.Equal(t, "engine-b", audits[0].Detail["new_holder"])
		})
	}
}

// A renewal that lands moves the deadline: a sync that renews keeps going past the TTL, and a
// renewal that finds another holder ends the sync at once, before the deadline.
func TestLeaseRenewalFindingAnotherHolderStopsTheSyncAtOnce(t *testing.T) {
	t.Parallel()
	h, _, fetchCtx := newLeaseHarness(t, engineStores()[0])
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 5))
	h.discoverAndStoreLink("t1", "client-1")
	claimed := h.clock.Now()

	var stoppedAt time.Time
	h.src.OnPage = func(tenantID string, kind tenantsync.Kind, page int) {
		if kind != tenantsync.KindUsers || page != 0 {
			return
		}
		ctx := fetchCtx()
		leases := h.st.Account(testAccount).Leases
		// Renewals land at 60, 120 and 180 s: the sync outlives its first TTL.
		for i := range 3 {
			h.clock.Advance(time.Minute)
			want := claimed.Add(time.Duration(i+1)*time.Minute + 3*time.Minute)
			for range 500 {
				if l, err := leases.Get(context.Background(), "t1"); err == nil && !l.ExpiresAt.Before(want) {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		require.NoError(t, ctx.Err(), "a sync whose renewals land goes on past the TTL")
		// An operator's tool (or a bug) hands the tenant to another engine.
		require.NoError(t, leases.Release(context.Background(), "t1", "engine-a"))
		_, err := leases.Acquire(context.Background(), store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: 3 * time.Minute})
		require.NoError(t, err)
		h.clock.Advance(time.Minute)
		select {
		case <-ctx.Done():
			stoppedAt = h.clock.Now()
		case <-time.After(5 * time.Second):
		}
	}
	_, err := h.eng.SyncNow(t.Context(), "t1")
	require.Error(t, err)
	require.False(t, stoppedAt.IsZero(), "the sync went on after its renewal found another holder")
	assert.Equal(t, 4*time.Minute, stoppedAt.Sub(claimed))
	assert.ErrorIs(t, err, tenantsync.ErrConflict)
	assert.Empty(t, h.users("t1"))
	audits := leaseLostAudits(t, h, "t1")
	require.Len(t, audits, 1)
	assert.Equal(t, lostTakenOver, audits[0].Detail["reason"])
	assert.Equal(t, "engine-b", audits[0].Detail["new_holder"])
	assert.Equal(t, claimed.Add(3*time.Minute).UTC().Format(time.RFC3339Nano), audits[0].Detail["last_renewal"])
}
