package sync

import (
	"context"
	"errors"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// blockingSource lists its tenants like a FakeSource but blocks every fetch until the fetch's
// context is done, and keeps that context's cause.
type blockingSource struct {
	*FakeSource
	entered   chan struct{}
	enterOnce stdsync.Once
	mu        stdsync.Mutex
	cause     error
}

func (b *blockingSource) Fetch(ctx context.Context, _ tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	b.enterOnce.Do(func() { close(b.entered) })
	<-ctx.Done()
	b.mu.Lock()
	b.cause = context.Cause(ctx)
	b.mu.Unlock()
	return nil, ctx.Err()
}

func (b *blockingSource) fetchCause() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cause
}

// Close stops a sync blocked in its source, whichever way it was started, and returns without
// waiting for the caller's deadline: the sync ends with context.Canceled, stores nothing of
// its run and gives its lease back.
func TestCloseCancelsASyncBlockedInFetch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// start begins the sync and returns what its starter returned, once it has.
		start func(t *testing.T, h *harness) <-chan error
	}{
		{"link", func(t *testing.T, h *harness) <-chan error {
			_, err := h.eng.Discover(t.Context())
			require.NoError(t, err)
			require.NoError(t, h.eng.Link(t.Context(), "alice", "t1", "client-1"))
			return nil
		}},
		{"run", func(t *testing.T, h *harness) <-chan error {
			h.discoverAndStoreLink("t1", "client-1")
			out := make(chan error, 1)
			go func() { out <- h.eng.Run(context.WithoutCancel(t.Context())) }()
			return out
		}},
		{"sync-now", func(t *testing.T, h *harness) <-chan error {
			h.discoverAndStoreLink("t1", "client-1")
			out := make(chan error, 1)
			go func() {
				_, err := h.eng.SyncNow(context.WithoutCancel(t.Context()), "t1")
				out <- err
			}()
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &blockingSource{FakeSource: NewFakeSource("cipp"), entered: make(chan struct{})}
			src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
			h := newHarness(t, func(c *Config) { c.Sources = []tenantsync.Source{src} })
			ctx := t.Context()

			returned := tt.start(t, h)
			<-src.entered

			// The deadline only keeps a broken Close from hanging the test; Close must not
			// need it (it returns ctx.Err() when it gave up waiting).
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			require.NoError(t, h.eng.Close(cctx))

			assert.ErrorIs(t, src.fetchCause(), context.Canceled, "the fetch saw the engine's cancellation")
			if returned != nil {
				err := <-returned
				assert.ErrorIs(t, err, context.Canceled)
			}
			st := h.state("t1")
			assert.False(t, st.Running, "the final state is written")
			require.NotNil(t, st.LastError)
			assert.True(t, st.LastSuccess.IsZero(), "nothing of the run was committed")
			assert.Empty(t, h.users("t1"))
			// The lease was given back: another engine takes the tenant at once.
			_, err := h.st.Account(testAccount).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: time.Minute})
			require.NoError(t, err)

			// A closed engine starts nothing.
			_, err = h.eng.SyncNow(ctx, "t1")
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
}

// failDueStore fails AcquireDue, so every cycle fails to claim its tenants.
type failDueStore struct {
	dirStore
}

func (s *failDueStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Leases = failDueLeases{a.Leases}
	return a
}

type failDueLeases struct{ store.Leases }

var errClaimDown = errors.New("the lease table is locked")

func (failDueLeases) AcquireDue(context.Context, store.DueRequest) ([]store.Lease, error) {
	return nil, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "store", Op: "AcquireDue", Err: errClaimDown}
}

// A cycle that fails is neither dropped by Run nor invisible: it is an event, a counter, and
// Run's error when it ends.
func TestFailingCycleShowsInEventsAndCounters(t *testing.T) {
	t.Parallel()
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		return &failDueStore{memory.New(memory.Config{Now: now})}
	})
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))

	_, err := h.eng.RunOnce(t.Context())
	require.ErrorIs(t, err, errClaimDown)
	assert.Equal(t, tenantsync.ErrUnavailable, tenantsync.ClassOf(err))
	assert.NotEmpty(t, tenantsync.HintOf(err))
	assert.Equal(t, uint64(1), h.eng.Counters().CyclesFailed)

	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- h.eng.Run(ctx) }()
	evs := h.sink.WaitFor(t, EventCycleFailed, "", 2)
	cancel()
	err = <-ran
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, errClaimDown, "Run returns the failed cycle's error")

	assert.Equal(t, "service_unavailable", evs[1].ErrClass)
	assert.Contains(t, evs[1].Error, errClaimDown.Error())
	assert.NotEmpty(t, evs[1].Hint)
	assert.GreaterOrEqual(t, h.eng.Counters().CyclesFailed, uint64(2))
	assert.Empty(t, h.sink.Events(EventSyncFailed), "no tenant's sync failed")
}

// auditDownStore refuses audit entries while down is set.
type auditDownStore struct {
	dirStore
	down atomic.Bool
}

func (s *auditDownStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Audit = auditDownAudit{a.Audit, s}
	return a
}

type auditDownAudit struct {
	store.Audit
	s *auditDownStore
}

var errAuditDown = errors.New("the audit table is full")

func (a auditDownAudit) Append(ctx context.Context, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	if a.s.down.Load() {
		return tenantsync.AuditEntry{}, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: "store", Op: "AppendAudit", Err: errAuditDown}
	}
	return a.Audit.Append(ctx, e)
}

// An admin action whose audit entry the store refuses reports it to its caller, as an event
// and in the counters; a change already made stands.
func TestAdminAuditFailureReachesTheCaller(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// act runs the action with the audit down and returns its error.
		act func(t *testing.T, h *harness) error
		// then checks the state the action left.
		then func(t *testing.T, h *harness, err error)
	}{
		{"link", func(t *testing.T, h *harness) error {
			return h.eng.Link(t.Context(), "alice", "t2", "client-2")
		}, func(t *testing.T, h *harness, _ error) {
			rec, err := h.st.Account(testAccount).Tenants.Get(t.Context(), "t2")
			require.NoError(t, err)
			assert.Equal(t, "client-2", rec.ClientID, "the link stands")
			require.NoError(t, h.eng.Wait(t.Context()))
			assert.NotEmpty(t, h.users("t2"), "its initial sync ran")
		}},
		{"link refused", func(t *testing.T, h *harness) error {
			return h.eng.Link(t.Context(), "alice", "t1", "client-2")
		}, func(t *testing.T, _ *harness, err error) {
			assert.ErrorIs(t, err, tenantsync.ErrAlreadyLinked, "the refusal is returned with the audit failure")
		}},
		{"unlink", func(t *testing.T, h *harness) error {
			return h.eng.Unlink(t.Context(), "alice", "t1", store.UnlinkKeep)
		}, func(t *testing.T, h *harness, _ error) {
			rec, err := h.st.Account(testAccount).Tenants.Get(t.Context(), "t1")
			require.NoError(t, err)
			assert.False(t, rec.Linked(), "the unlink stands")
		}},
		{"release hold refused", func(t *testing.T, h *harness) error {
			return h.eng.ReleaseHold(t.Context(), "alice", "t1", tenantsync.KindUsers)
		}, func(t *testing.T, _ *harness, err error) {
			assert.ErrorIs(t, err, tenantsync.ErrNotFound)
		}},
		{"resolve contact failure refused", func(t *testing.T, h *harness) error {
			return h.eng.ResolveContactFailure(t.Context(), "alice", "t1", "nobody", ContactResolution{Decision: ContactRetry})
		}, func(t *testing.T, _ *harness, err error) {
			assert.ErrorIs(t, err, tenantsync.ErrNotFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wrapped := &auditDownStore{}
			h := newHarnessOn(t, func(now func() time.Time) store.Store {
				wrapped.dirStore = memory.New(memory.Config{Now: now})
				return wrapped
			})
			h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 2))
			h.src.AddTenant(fakeTenant("t2", "Fabrikam", "fabrikam.example", 2))
			h.discoverAndLink("t1", "client-1")

			wrapped.down.Store(true)
			err := tt.act(t, h)
			wrapped.down.Store(false)

			require.ErrorIs(t, err, errAuditDown)
			assert.NotEmpty(t, tenantsync.HintOf(err))
			tt.then(t, h, err)
			evs := h.sink.WaitFor(t, EventAuditFailed, "", 1)
			require.Len(t, evs, 1)
			assert.Equal(t, "alice", evs[0].Actor)
			assert.Contains(t, evs[0].Error, errAuditDown.Error())
			assert.Equal(t, uint64(1), h.eng.Counters().AuditFailures)
		})
	}
}
