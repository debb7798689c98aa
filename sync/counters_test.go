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

// blockingSink takes one event and then blocks until released, so nearly every event after
// it is dropped.
type blockingSink struct {
	release chan struct{}
	got     atomic.Int64
}

func (s *blockingSink) Handle(ctx context.Context, _ Event) {
	s.got.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
}

// The counters a daemon shows are the engine's own: a sink that drops nearly every event
// changes none of them.
func TestCountersDoNotDependOnEvents(t *testing.T) {
	t.Parallel()
	sink := &blockingSink{release: make(chan struct{})}
	h := newHarness(t, func(c *Config) {
		c.Sink = sink
		c.Limits.EventBuffer = 1
		c.Limits.EventTimeout = time.Hour
		c.WritesEnabled = true
	})
	// Runs before the harness closes the engine, which delivers what is buffered.
	t.Cleanup(func() { close(sink.release) })
	ctx := t.Context()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 20)
	h.src.AddTenant(ft)
	h.discoverAndStoreLink("t1", "client-1")

	var reps []*Report
	run := func() *Report {
		t.Helper()
		rep := h.syncNow("t1")
		reps = append(reps, rep)
		return rep
	}
	// The initial sync creates the contacts.
	require.Equal(t, 20, run().Contacts.Created)
	// A delta: a person leaves, another gets a desk phone, a third is blocked.
	h.src.RemoveUser("t1", "t1-u000")
	changed := ft.Users[1]
	changed.BusinessPhones = []string{"+44 20 7946 0001"}
	h.src.PutUser("t1", changed)
	blocked := ft.Users[2]
	blocked.AccountEnabled = false
	h.src.PutUser("t1", blocked)
	rep := run()
	require.Equal(t, 2, rep.Contacts.Deactivated)
	// The devices cannot be listed: a partial sync.
	h.src.SetMode("t1", tenantsync.KindDevices, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrRoleMissing, "grant Intune read", "403"))
	require.True(t, run().Partial())
	h.src.SetMode("t1", tenantsync.KindDevices, FakeAuto, nil)
	// The blocked person is back, and the users' listing comes back empty: held.
	blocked.AccountEnabled = true
	h.src.PutUser("t1", blocked)
	h.src.SetMode("t1", tenantsync.KindUsers, FakeEmpty, nil)
	require.True(t, run().Kinds[tenantsync.KindUsers].Held)
	h.src.SetMode("t1", tenantsync.KindUsers, FakeAuto, nil)
	rep = run()
	require.Equal(t, 1, rep.Contacts.Reactivated, "the hold cleared and the delta resumed")
	// The tenant cannot be reached at all.
	h.src.SetFetchError("t1", tenantsync.Errorf(tenantsync.ErrUnauthorized, "renew the secret", "401"))
	h.clock.Advance(DefaultCooldown)
	failed, err := h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrUnauthorized)
	reps = append(reps, failed)

	// Writes: one done, one refused.
	_, err = h.eng.Write(ctx, "alice", tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: "t1", UserID: "t1-u003"})
	require.NoError(t, err)
	_, err = h.eng.Write(ctx, "mallory", tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: "t1", UserID: "t1-u003"})
	require.ErrorIs(t, err, tenantsync.ErrPermissionDenied)

	var want Counters
	want.Errors = map[string]uint64{}
	for _, r := range reps {
		switch {
		case r.Err != nil:
			want.SyncsFailed++
			want.Errors[tenantsync.ClassName(tenantsync.ClassOf(r.Err))]++
			continue
		case r.Partial():
			want.SyncsPartial++
		default:
			want.SyncsOK++
		}
		for k, kr := range r.Kinds {
			if kr.Err != nil {
				want.Errors[tenantsync.ClassName(tenantsync.ClassOf(kr.Err))]++
			}
			if kr.Err != nil || kr.Held {
				continue
			}
			want.ItemsSynced += uint64(kr.Fetched)
			if k == tenantsync.KindUsers {
				want.UsersSynced += uint64(kr.Fetched)
			}
			want.ItemsAdded += uint64(kr.Added)
			want.ItemsUpdated += uint64(kr.Updated)
			want.ItemsRemoved += uint64(kr.Removed)
		}
		want.ContactsLinked += uint64(r.Contacts.Linked)
		want.ContactsCreated += uint64(r.Contacts.Created)
		want.ContactsUpdated += uint64(r.Contacts.Updated)
		want.ContactsDeactivated += uint64(r.Contacts.Deactivated)
		want.ContactsReactivated += uint64(r.Contacts.Reactivated)
	}
	want.HoldsPlaced, want.HoldsCleared = 1, 1
	want.WritesSucceeded, want.WritesRefused = 1, 1

	got := h.eng.Counters()
	assert.Positive(t, got.DroppedEvents, "the sink dropped events")
	assert.Equal(t, h.eng.DroppedEvents(), got.DroppedEvents)
	assert.LessOrEqual(t, sink.got.Load(), int64(1), "the sink took one event and blocked")
	want.DroppedEvents = got.DroppedEvents
	want.ContactErrors = map[string]uint64{}
	// Every contact change went through the engine's PSA gate, besides a listing per reconcile.
	assert.Greater(t, got.PSACalls, got.ContactsCreated+got.ContactsUpdated+got.ContactsDeactivated+got.ContactsReactivated)
	want.PSACalls = got.PSACalls
	assert.Equal(t, want, got)
	// The sums are the scenario's, not zero on both sides.
	assert.Equal(t, uint64(5), got.SyncsOK+got.SyncsPartial)
	assert.Equal(t, uint64(2), got.SyncsPartial)
	assert.Equal(t, uint64(1), got.SyncsFailed)
	assert.Equal(t, map[string]uint64{"role_missing": 1, "unauthorized": 1}, got.Errors)
	assert.Equal(t, uint64(20), got.ContactsCreated)
	assert.Equal(t, uint64(2), got.ContactsDeactivated)
	assert.Equal(t, uint64(1), got.ContactsReactivated)
	assert.Equal(t, uint64(1), got.ContactsUpdated, "the desk phone filled in")
	assert.Positive(t, got.ItemsSynced)
	assert.Equal(t, uint64(1), got.ItemsRemoved, "the person who left")
	assert.Equal(t, uint64(23+2+1), got.UsersSynced, "initial listing, first delta, delta after the hold")
}
