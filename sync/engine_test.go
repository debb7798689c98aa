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
	"github.com/tenantsync/tenantsync/store/memory"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	st := memory.New(memory.Config{})
	src := NewFakeSource("cipp")
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{Account: "a", Sources: []tenantsync.Source{src}}},
		{"no account", Config{Store: st, Sources: []tenantsync.Source{src}}},
		{"no sources", Config{Store: st, Account: "a"}},
		{"nil source", Config{Store: st, Account: "a", Sources: []tenantsync.Source{nil}}},
		{"duplicate names", Config{Store: st, Account: "a", Sources: []tenantsync.Source{src, NewFakeSource("cipp")}}},
		{"bad kind", Config{Store: st, Account: "a", Sources: []tenantsync.Source{src}, Kinds: []tenantsync.Kind{"printers"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
			assert.NotEmpty(t, tenantsync.HintOf(err))
		})
	}
	e, err := New(Config{Store: st, Account: "a", Sources: []tenantsync.Source{src}})
	require.NoError(t, err)
	assert.Contains(t, e.InstanceID(), "engine-")
	assert.Equal(t, tenantsync.AllKinds(), e.kinds)
	require.NoError(t, e.Close(t.Context()))
}

func TestInitialSyncOnLinkCreatesPeopleOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))

	h.discoverAndLink("t1", "client-1")

	users := h.users("t1")
	assert.Len(t, users, 6, "3 people, a shared mailbox, a room and a guest are mirrored")
	st := h.state("t1")
	assert.False(t, st.Running)
	assert.Nil(t, st.LastError)
	assert.Equal(t, 6, st.Counts[tenantsync.KindUsers])
	assert.Equal(t, 2, st.Counts[tenantsync.KindDevices])
	assert.Equal(t, h.clock.Now(), st.LastSuccess)

	// Contacts were created for the three people only: not the shared mailbox, not the room,
	// not the guest.
	contacts := h.contacts.All()
	require.Len(t, contacts, 3)
	links := h.links("t1")
	require.Len(t, links, 3)
	for _, c := range contacts {
		assert.Equal(t, "client-1", c.ClientID)
		assert.True(t, c.Active)
		assert.Contains(t, c.Email, "@contoso.example")
		assert.Equal(t, "Engineer", c.JobTitle)
		assert.Equal(t, c.ID, links[c.ObjectID].ContactID)
	}
	for _, id := range []string{"t1-shared", "t1-room", "t1-guest"} {
		assert.NotContains(t, links, id)
	}

	// The initial sync was announced and its contacts too.
	assert.Len(t, h.sink.WaitFor(t, EventContactCreated, "t1", 3), 3)
	h.sink.WaitFor(t, EventSyncFinished, "t1", 1)
	h.sink.WaitFor(t, EventTenantDiscovered, "t1", 1)
	h.sink.WaitFor(t, EventTenantLinked, "t1", 1)
	started := h.sink.WaitFor(t, EventSyncStarted, "t1", 1)
	assert.Equal(t, "initial", started[0].Message)

	// Linking is audited.
	rep := h.verifyAudit()
	assert.Equal(t, 1, rep.Entries)
	entries, err := h.st.Account(testAccount).Audit.List(t.Context(), store.AuditQuery{})
	require.NoError(t, err)
	assert.Equal(t, "link", entries[0].Action)
	assert.Equal(t, "alice", entries[0].Actor)

	// A second sync with nothing new changes nothing in the PSA, and does not even look.
	rep2 := h.syncNow("t1")
	assert.Equal(t, ContactReport{}, rep2.Contacts)
	assert.Len(t, h.contacts.All(), 3)
}

func TestLinkTwiceNamesTheClient(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)

	err := h.eng.Link(t.Context(), "alice", "t1", "client-2")
	require.ErrorIs(t, err, tenantsync.ErrAlreadyLinked)
	assert.Contains(t, err.Error(), "already connected to client client-1")
	var al *store.AlreadyLinkedError
	require.ErrorAs(t, err, &al)
	assert.Equal(t, "client-1", al.ClientID)

	// Linking to the same client again is harmless.
	require.NoError(t, h.eng.Link(t.Context(), "alice", "t1", "client-1"))
	require.NoError(t, h.eng.Wait(t.Context()))

	err = h.eng.Link(t.Context(), "alice", "nope", "client-1")
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	require.ErrorIs(t, h.eng.Link(t.Context(), "alice", "", "client-1"), tenantsync.ErrInvalidInput)

	rep := h.verifyAudit()
	assert.Equal(t, 4, rep.Entries, "links and refusals are audited")
}

func TestCadenceQuietAndActive(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)
	ctx := t.Context()
	t0 := h.clock.Now()
	assert.Equal(t, t0.Add(time.Hour), h.state("t1").NextDue, "a quiet client syncs hourly")

	synced := func() int {
		reps, err := h.eng.RunOnce(ctx)
		require.NoError(t, err)
		return len(reps)
	}
	h.clock.Advance(11 * time.Minute)
	assert.Equal(t, 0, synced(), "quiet: not due after 11 minutes")

	// The PSA reports activity: the tenant becomes due at once (it waited more than 10 min).
	require.NoError(t, h.eng.MarkActive(ctx, "client-1", t0.Add(45*time.Minute)))
	st, err := h.eng.Status(ctx, "t1")
	require.NoError(t, err)
	assert.True(t, st.Active)
	assert.Equal(t, 1, synced())
	t1 := h.clock.Now()
	assert.Equal(t, t1.Add(10*time.Minute), h.state("t1").NextDue, "active: every 10 minutes")

	h.clock.Advance(5 * time.Minute)
	assert.Equal(t, 0, synced())
	h.clock.Advance(5 * time.Minute)
	assert.Equal(t, 1, synced(), "active: due again after 10 minutes")

	// The activity expires at t0+45m: back to hourly.
	h.clock.Advance(25 * time.Minute)
	assert.Equal(t, 1, synced())
	t3 := h.clock.Now()
	assert.Equal(t, t3.Add(time.Hour), h.state("t1").NextDue, "quiet again after the activity expired")
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, 0, synced())
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, 1, synced())

	// A stored client's ActiveUntil counts too, and a zero time clears MarkActive.
	require.NoError(t, dirOf(h.st, testAccount).PutClient(ctx, tenantsync.Client{ID: "client-1", Name: "Contoso"}))
	require.NoError(t, h.eng.MarkActive(ctx, "client-1", h.clock.Now().Add(time.Hour)))
	c, err := dirOf(h.st, testAccount).GetClient(ctx, "client-1")
	require.NoError(t, err)
	assert.Equal(t, h.clock.Now().Add(time.Hour), c.ActiveUntil)
	require.NoError(t, h.eng.MarkActive(ctx, "client-1", time.Time{}))
	st, err = h.eng.Status(ctx, "t1")
	require.NoError(t, err)
	assert.False(t, st.Active)
}

func TestSyncNowCooldown(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)
	ctx := t.Context()

	h.clock.Advance(10 * time.Second)
	_, err := h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrCooldown, "the initial sync started 10 s ago")
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, 20*time.Second, d.RetryAfter)
	assert.Contains(t, d.Hint, "wait 20 seconds", "the hint says the wait a Retry-After header carries")

	h.clock.Advance(20 * time.Second)
	rep, err := h.eng.SyncNow(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, "sync-now", rep.Trigger)

	h.clock.Advance(29 * time.Second)
	_, err = h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrCooldown)
	d, _ = tenantsync.Details(err)
	assert.Equal(t, time.Second, d.RetryAfter)

	// Unknown and unlinked tenants are clear errors, not cooldowns.
	_, err = h.eng.SyncNow(ctx, "nope")
	require.ErrorIs(t, err, tenantsync.ErrTenantNotFound)
	h.src.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 1))
	_, err = h.eng.Discover(ctx)
	require.NoError(t, err)
	_, err = h.eng.SyncNow(ctx, "t2")
	require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func TestLeaseConflictAndExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.LeaseTTL = 2 * time.Minute })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	_, err := h.eng.Discover(t.Context())
	require.NoError(t, err)
	ctx := t.Context()

	// Another engine holds the tenant; it then dies without releasing.
	_, err = h.st.Account(testAccount).Leases.Acquire(ctx, store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: 2 * time.Minute})
	require.NoError(t, err)
	require.NoError(t, h.eng.Link(ctx, "alice", "t1", "client-1"))
	require.NoError(t, h.eng.Wait(ctx))
	_, err = h.st.Account(testAccount).SyncStates.Get(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "the initial sync waits for the lease")

	_, err = h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrAlreadyRunning)
	var held *store.LeaseHeldError
	require.ErrorAs(t, err, &held)
	assert.Equal(t, "engine-b", held.Holder)
	reps, err := h.eng.RunOnce(ctx)
	require.NoError(t, err)
	assert.Empty(t, reps, "a held tenant is not claimed")

	// The dead holder's lease expires; the tenant is taken over.
	h.clock.Advance(2*time.Minute + time.Second)
	reps, err = h.eng.RunOnce(ctx)
	require.NoError(t, err)
	require.Len(t, reps, 1)
	assert.NoError(t, reps[0].Err)
	_, err = h.st.Account(testAccount).Leases.Get(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrNotFound, "the lease is released after the sync")
	assert.Len(t, h.users("t1"), 4)
}

func TestLeaseRenewedDuringLongSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.LeaseTTL = 3 * time.Minute })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 9)
	h.src.AddTenant(ft)
	h.discoverAndStoreLink("t1", "client-1")

	// Each page takes "a minute"; the whole users listing takes longer than the TTL.
	renewals, storedProgress := 0, 0
	h.src.OnPage = func(tenantID string, kind tenantsync.Kind, page int) {
		if kind != tenantsync.KindUsers {
			return
		}
		if st, err := h.st.Account(testAccount).SyncStates.Get(context.Background(), "t1"); err == nil && st.Running {
			storedProgress = max(storedProgress, st.Progress[tenantsync.KindUsers])
		}
		before, err := h.st.Account(testAccount).Leases.Get(context.Background(), "t1")
		require.NoError(t, err)
		// The renewal goroutine's timer must be set before time moves.
		for i := 0; i < 500 && h.clock.Timers() == 0; i++ {
			time.Sleep(time.Millisecond)
		}
		h.clock.Advance(time.Minute + time.Second)
		// Wait for the renewal goroutine to extend the lease past the new now.
		for range 500 {
			l, err := h.st.Account(testAccount).Leases.Get(context.Background(), "t1")
			if err == nil && l.ExpiresAt.After(before.ExpiresAt) {
				renewals++
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	rep, err := h.eng.SyncNow(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, 5, renewals, "the lease was renewed at every page while the sync ran")
	assert.Greater(t, rep.Duration, 3*time.Minute)
	assert.Len(t, h.users("t1"), 12)
	assert.Positive(t, storedProgress, "renewals store the progress for other engines to show")
	st := h.state("t1")
	assert.False(t, st.Running)
	assert.Empty(t, st.Progress)
}

func TestLeaseLostStopsTheSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.LeaseTTL = 3 * time.Minute })
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 5))
	h.discoverAndStoreLink("t1", "client-1")

	// Another engine steals the lease mid-sync (as if this one had stalled past its TTL).
	h.src.OnPage = func(tenantID string, kind tenantsync.Kind, page int) {
		if kind != tenantsync.KindUsers || page != 0 {
			return
		}
		h.clock.Advance(4 * time.Minute)
		_, err := h.st.Account(testAccount).Leases.Acquire(context.Background(), store.LeaseRequest{TenantID: "t1", Holder: "engine-b", Now: h.clock.Now(), TTL: 3 * time.Minute})
		require.NoError(t, err)
	}
	_, err := h.eng.SyncNow(t.Context(), "t1")
	require.Error(t, err)
	assert.True(t, errors.Is(err, tenantsync.ErrAlreadyRunning) || errors.Is(err, tenantsync.ErrConflict), "got %v", err)
	assert.Empty(t, h.users("t1"), "a holder that lost its lease stores nothing")
	l, err := h.st.Account(testAccount).Leases.Get(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, "engine-b", l.Holder, "the new holder keeps its lease")
}

func TestTwoEnginesShareAStoreAndNeverSyncTheSameTenant(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 4))
	h.src.AddTenant(fakeTenant("t2", "Fabrikam Inc", "fabrikam.example", 4))
	other, err := New(Config{Store: h.st, Account: testAccount, Sources: []tenantsync.Source{h.src}, Contacts: h.contacts,
		Clock: h.clock, InstanceID: "engine-b", AutoCreate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	ctx := t.Context()
	_, err = h.eng.Discover(ctx)
	require.NoError(t, err)
	require.NoError(t, h.st.Account(testAccount).Tenants.Link(ctx, "t1", "client-1", h.clock.Now()))
	require.NoError(t, h.st.Account(testAccount).Tenants.Link(ctx, "t2", "client-2", h.clock.Now()))

	// While engine A syncs t1, engine B runs a cycle: it must take t2 only.
	var bReports []*Report
	var bSoon, bNow error
	h.src.OnPage = func(tenantID string, k tenantsync.Kind, page int) {
		if tenantID != "t1" || k != tenantsync.KindUsers || page != 0 || bReports != nil {
			return
		}
		bReports, _ = other.RunOnce(context.Background())
		_, bSoon = other.SyncNow(context.Background(), "t1")
		h.clock.Advance(DefaultCooldown)
		_, bNow = other.SyncNow(context.Background(), "t1")
	}
	rep, err := h.eng.SyncNow(ctx, "t1")
	require.NoError(t, err)
	require.NoError(t, rep.Err)
	require.Len(t, bReports, 1)
	assert.Equal(t, "t2", bReports[0].TenantID)
	assert.ErrorIs(t, bSoon, tenantsync.ErrAlreadyRunning, "a running sync is named before the cooldown, through the store")
	assert.ErrorIs(t, bNow, tenantsync.ErrAlreadyRunning)
	assert.Len(t, h.users("t1"), 7)
	assert.Len(t, h.users("t2"), 7)
	assert.Len(t, h.contacts.All(), 8, "no tenant was reconciled twice")
}

// afterCommitStore runs a hook right after each successful Commit, where a SIGKILL would leave
// the store as the commit left it.
type afterCommitStore struct {
	dirStore
	mu    stdsync.Mutex
	after func()
}

func (s *afterCommitStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Mirror = afterCommitMirror{a.Mirror, s}
	return a
}

type afterCommitMirror struct {
	store.Mirror
	s *afterCommitStore
}

func (m afterCommitMirror) Commit(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	s := m.s
	res, err := m.Mirror.Commit(ctx, b)
	s.mu.Lock()
	after := s.after
	s.mu.Unlock()
	if err == nil && after != nil {
		after()
	}
	return res, err
}

// A process killed after the commit, and after a lease renewal that landed behind the commit,
// leaves a sync state whose counts are the mirror's and whose last success is the commit's.
func TestKillAfterCommitLeavesTheStateTrue(t *testing.T) {
	t.Parallel()
	wrapped := &afterCommitStore{}
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		wrapped.dirStore = memory.New(memory.Config{Now: now})
		return wrapped
	}, func(c *Config) { c.Limits.LeaseTTL = 3 * time.Minute })
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 4)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	require.Equal(t, 7, h.state("t1").Counts[tenantsync.KindUsers])

	h.src.RemoveUser("t1", ft.Users[0].ObjectID)
	h.src.PutUser("t1", person("t1-u900", "New", "Comer", "contoso.example"))
	h.src.PutUser("t1", person("t1-u901", "Other", "Comer", "contoso.example"))
	var killed store.SyncState
	var mirror map[tenantsync.Kind]int
	var committedAt time.Time
	wrapped.mu.Lock()
	wrapped.after = func() {
		committedAt = h.clock.Now()
		// Let this run's renewal fire once and come back around to its timer, so its write
		// (if any) has landed.
		for i := 0; i < 1000 && h.clock.Timers() == 0; i++ {
			time.Sleep(time.Millisecond)
		}
		h.clock.Advance(time.Minute + time.Second)
		time.Sleep(time.Millisecond)
		for i := 0; i < 1000 && h.clock.Timers() == 0; i++ {
			time.Sleep(time.Millisecond)
		}
		var err error
		killed, err = wrapped.Account(testAccount).SyncStates.Get(context.Background(), "t1")
		require.NoError(t, err)
		mirror, err = wrapped.Account(testAccount).Mirror.Counts(context.Background(), "t1")
		require.NoError(t, err)
	}
	wrapped.mu.Unlock()
	// Timers left by the first sync's renewal fire now, so the only timer during the run is
	// this run's renewal.
	h.clock.Advance(h.cfg.Limits.LeaseTTL)
	h.syncNow("t1")

	require.NotNil(t, mirror, "the commit ran")
	assert.Equal(t, 8, mirror[tenantsync.KindUsers])
	assert.True(t, killed.LastSuccess.Equal(committedAt), "the renewal did not roll the state back to before the commit")
	for k, n := range killed.Counts {
		assert.Equal(t, mirror[k], n, "count of %s", k)
	}
	assert.Contains(t, killed.Counts, tenantsync.KindMailboxes, "an unchanged kind keeps its count")
	// The final write restores every count.
	assert.Equal(t, 8, h.state("t1").Counts[tenantsync.KindUsers])
}

func TestCommittedCounts(t *testing.T) {
	t.Parallel()
	prev := map[tenantsync.Kind]int{tenantsync.KindUsers: 5, tenantsync.KindMailboxes: 4, tenantsync.KindDevices: 3, tenantsync.KindMFA: 2, tenantsync.KindDomains: 1}
	tests := []struct {
		name    string
		results map[tenantsync.Kind]*tenantsync.KindResult
		want    map[tenantsync.Kind]int
	}{
		{"nothing listed keeps every count", nil, prev},
		{"a change set with changes drops its count", map[tenantsync.Kind]*tenantsync.KindResult{
			tenantsync.KindUsers:     {Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Removed: []string{"u1"}},
			tenantsync.KindMailboxes: {Kind: tenantsync.KindMailboxes, Mode: tenantsync.Changes, Mailboxes: []tenantsync.Mailbox{{ObjectID: "m"}}},
			tenantsync.KindDevices:   {Kind: tenantsync.KindDevices, Mode: tenantsync.Changes},
			tenantsync.KindMFA:       {Kind: tenantsync.KindMFA, Mode: tenantsync.Unavailable},
		}, map[tenantsync.Kind]int{tenantsync.KindDevices: 3, tenantsync.KindMFA: 2, tenantsync.KindDomains: 1}},
		{"a complete listing counts distinct IDs", map[tenantsync.Kind]*tenantsync.KindResult{
			tenantsync.KindUsers:         {Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: []tenantsync.User{{ObjectID: "a"}, {ObjectID: "b"}, {ObjectID: "a"}}},
			tenantsync.KindMailboxes:     {Kind: tenantsync.KindMailboxes, Mode: tenantsync.Complete, Mailboxes: []tenantsync.Mailbox{{ObjectID: "a"}}},
			tenantsync.KindDevices:       {Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{{ID: "d"}, {ID: "d"}}},
			tenantsync.KindDomains:       {Kind: tenantsync.KindDomains, Mode: tenantsync.Complete},
			tenantsync.KindSubscriptions: {Kind: tenantsync.KindSubscriptions, Mode: tenantsync.Complete, Subscriptions: []tenantsync.Subscription{{SKUID: "s1"}, {SKUID: "s2"}}},
			tenantsync.KindMFA:           {Kind: tenantsync.KindMFA, Mode: tenantsync.Complete, MFA: []tenantsync.MFAState{{UserID: "a"}, {UserID: "b"}, {UserID: "c"}}},
			tenantsync.KindBaseline:      {Kind: tenantsync.KindBaseline, Mode: tenantsync.Complete, Baseline: &tenantsync.SecurityBaseline{}},
		}, map[tenantsync.Kind]int{tenantsync.KindUsers: 2, tenantsync.KindMailboxes: 1, tenantsync.KindDevices: 1, tenantsync.KindDomains: 0,
			tenantsync.KindSubscriptions: 2, tenantsync.KindMFA: 3, tenantsync.KindBaseline: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, committedCounts(prev, tc.results))
		})
	}
}
