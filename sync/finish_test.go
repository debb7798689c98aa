package sync

import (
	"context"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// finishCountStore counts the engine's reads of the mirror's counts and its writes of sync
// states.
type finishCountStore struct {
	dirStore
	mu     stdsync.Mutex
	counts int
	puts   int
	// onCommit, when set, runs as a commit begins; an error it returns is the commit's.
	onCommit func() error
}

func (s *finishCountStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Mirror = finishCountMirror{a.Mirror, s}
	a.SyncStates = finishCountStates{a.SyncStates, s}
	return a
}

// took returns the counts read and states written since the last call, and starts again.
func (s *finishCountStore) took() (counts, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts, puts = s.counts, s.puts
	s.counts, s.puts = 0, 0
	return counts, puts
}

type finishCountMirror struct {
	store.Mirror
	s *finishCountStore
}

func (m finishCountMirror) Counts(ctx context.Context, tenantID string) (map[tenantsync.Kind]int, error) {
	m.s.mu.Lock()
	m.s.counts++
	m.s.mu.Unlock()
	return m.Mirror.Counts(ctx, tenantID)
}

func (m finishCountMirror) Commit(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	m.s.mu.Lock()
	hook := m.s.onCommit
	m.s.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return store.BatchResult{}, err
		}
	}
	return m.Mirror.Commit(ctx, b)
}

func (m finishCountMirror) Stage(ctx context.Context, tenantID string) (store.Stage, error) {
	return m.Mirror.(store.Stager).Stage(ctx, tenantID)
}

func (m finishCountMirror) ReadKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error) {
	return m.Mirror.(store.KindsReader).ReadKinds(ctx, tenantID, kinds)
}

func (m finishCountMirror) ReadItems(ctx context.Context, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error) {
	return m.Mirror.(store.ItemsReader).ReadItems(ctx, tenantID, kind, ids)
}

type finishCountStates struct {
	store.SyncStates
	s *finishCountStore
}

func (st finishCountStates) Put(ctx context.Context, state store.SyncState) error {
	st.s.mu.Lock()
	st.s.puts++
	st.s.mu.Unlock()
	return st.SyncStates.Put(ctx, state)
}

// finishHarness is a harness whose memory store counts the engine's reads of the mirror's
// counts and writes of sync states, with tenant t1 of users people synced once, linked to
// client-1.
func finishHarness(t *testing.T, users int) (*harness, *finishCountStore, *FakeTenant) {
	wrapped := &finishCountStore{}
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		wrapped.dirStore = memory.New(memory.Config{Now: now})
		return wrapped
	})
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", users)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	return h, wrapped, ft
}

// A sync whose commit leaves counts known beforehand (complete listings, change sets that name
// nothing) stores its final state with the commit: the mirror's counts are read once (for the
// guard) and the state written once, at the start. A change set that names items, or
// a held kind, has its counts read after the commit and the final state written on its own.
// Either way the stored state is the final one and its counts are the mirror's.
func TestFinalStateStoredWithTheCommit(t *testing.T) {
	t.Parallel()
	h, wrapped, ft := finishHarness(t, 30)

	check := func(name string, wantCounts, wantPuts int) {
		t.Helper()
		counts, puts := wrapped.took()
		assert.Equal(t, wantCounts, counts, "%s: reads of the mirror's counts", name)
		assert.Equal(t, wantPuts, puts, "%s: sync states written", name)
		assertFinalState(t, h, "t1", name)
	}
	sync := func(name string) *Report {
		t.Helper()
		wrapped.took()
		h.clock.Advance(time.Hour)
		rep := h.syncNow("t1")
		require.NoError(t, rep.Err, name)
		st := h.state("t1")
		assert.False(t, st.LastFinish.After(rep.Finished), "%s: the state ends by the report's end", name)
		assert.Equal(t, st.LastFinish.Sub(rep.Started), st.Duration, name)
		assert.False(t, st.LastFinish.Before(st.LastSuccess), "%s: a successful run ends at its commit or after", name)
		assert.Equal(t, rep.Started.Add(h.eng.sched.cad.Quiet), st.NextDue, "%s: due again at the quiet interval", name)
		for k, kr := range rep.Kinds {
			if kr.Mode != tenantsync.Unavailable {
				assert.Equal(t, st.Counts[k], kr.Total, "%s: the report's total of %s", name, k)
			}
		}
		return rep
	}

	sync("complete listings")
	check("complete listings", 1, 1)

	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
	rep := sync("users' change set that names nothing, mailboxes listed with a cursor")
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
	check("users' change set that names nothing", 1, 1)
	rep = sync("change sets that name nothing")
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode)
	check("change sets that name nothing", 1, 1)

	u := ft.Users[3]
	u.JobTitle = "Head of Sales"
	h.src.PutUser("t1", u)
	sync("a change set that names an update")
	check("a change set that names an update", 2, 2)

	h.src.RemoveUser("t1", ft.Users[4].ObjectID)
	rep = sync("a change set that names a removal")
	require.Equal(t, 1, rep.Kinds[tenantsync.KindUsers].Removed)
	check("a change set that names a removal", 2, 2)

	for _, u := range slices.Clone(ft.Users[5:25]) { // RemoveUser changes ft.Users
		h.src.RemoveUser("t1", u.ObjectID)
	}
	rep = sync("a held removal")
	require.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	check("a held removal", 2, 2)
}

// assertFinalState checks that the tenant's stored state is a finished run's, counting what
// the mirror holds.
func assertFinalState(t *testing.T, h *harness, tenantID, name string) {
	t.Helper()
	st := h.state(tenantID)
	assert.False(t, st.Running, "%s: the stored state is the final one", name)
	assert.Nil(t, st.Progress, name)
	mirror, err := h.st.Account(testAccount).Mirror.Counts(t.Context(), tenantID)
	require.NoError(t, err)
	for k, n := range mirror {
		assert.Equal(t, n, st.Counts[k], "%s: the state's count of %s is the mirror's", name, k)
	}
	for k, n := range st.Counts {
		assert.Equal(t, mirror[k], n, "%s: the state counts %s as the mirror does", name, k)
	}
}

// A run that fails stores its final state, with its error, on its own.
func TestFailedRunStoresItsFinalState(t *testing.T) {
	t.Parallel()
	h, wrapped, _ := finishHarness(t, 5)
	h.src.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrUnavailable, "", "the source is down"))
	wrapped.took()
	h.clock.Advance(time.Hour)
	rep, err := h.eng.SyncNow(t.Context(), "t1")
	require.Error(t, err)
	require.Error(t, rep.Err)
	_, puts := wrapped.took()
	assert.Equal(t, 2, puts, "the start's state and the final one")
	st := h.state("t1")
	assert.False(t, st.Running)
	require.NotNil(t, st.LastError)
	assert.Equal(t, rep.Finished, st.LastFinish)
}

// A client marked active while a run's commit stores the final state (MarkActive leaves a
// running tenant's next due time to its sync) still makes the tenant due at the active
// interval.
func TestActivityDuringTheCommitIsKept(t *testing.T) {
	t.Parallel()
	h, wrapped, _ := finishHarness(t, 5)
	h.clock.Advance(time.Hour)
	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	require.Equal(t, rep.Started.Add(h.eng.sched.cad.Quiet), h.state("t1").NextDue, "a quiet client")

	var marked error
	wrapped.mu.Lock()
	wrapped.onCommit = func() error {
		wrapped.mu.Lock()
		wrapped.onCommit = nil
		wrapped.mu.Unlock()
		marked = h.eng.MarkActive(t.Context(), "client-1", h.clock.Now().Add(time.Hour))
		return nil
	}
	wrapped.mu.Unlock()
	wrapped.took()
	h.clock.Advance(time.Hour)
	rep = h.syncNow("t1")
	require.NoError(t, rep.Err)
	require.NoError(t, marked)
	_, puts := wrapped.took()
	assert.Equal(t, 2, puts, "the start's state, and the final one again for the new next due time")
	assert.Equal(t, rep.Started.Add(h.eng.sched.cad.Active), h.state("t1").NextDue, "due at the active interval")
}

// A commit that fails after the run's final state was prepared for it leaves the state the
// run's failure writes: not running, with the error, due again.
func TestRefusedCommitStoresItsFinalState(t *testing.T) {
	t.Parallel()
	h, wrapped, _ := finishHarness(t, 5)
	before := h.state("t1")
	wrapped.mu.Lock()
	wrapped.onCommit = func() error {
		return tenantsync.Errorf(tenantsync.ErrConflict, "", "another writer moved the cursor")
	}
	wrapped.mu.Unlock()
	h.clock.Advance(time.Hour)
	rep, err := h.eng.SyncNow(t.Context(), "t1")
	require.Error(t, err)
	require.ErrorIs(t, rep.Err, tenantsync.ErrConflict)
	st := h.state("t1")
	assert.False(t, st.Running)
	require.NotNil(t, st.LastError)
	assert.Equal(t, rep.Finished, st.LastFinish)
	assert.Equal(t, before.LastSuccess, st.LastSuccess, "no success recorded")
	assert.Equal(t, before.Counts, st.Counts, "the counts of the last commit")
}
