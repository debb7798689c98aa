package sync

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// fakeUsers returns a copy of a fake tenant's users as the source holds them now.
func fakeUsers(h *harness, tenantID string) []tenantsync.User {
	var users []tenantsync.User
	h.src.Silently(tenantID, func(ft *FakeTenant) { users = slices.Clone(ft.Users) })
	return users
}

// blockUsers blocks the sign-in of the given users, as a change the source's delta reports.
func blockUsers(h *harness, tenantID string, ids ...string) {
	for _, u := range fakeUsers(h, tenantID) {
		if slices.Contains(ids, u.ObjectID) {
			u.AccountEnabled = false
			h.src.PutUser(tenantID, u)
		}
	}
}

// peopleIDs returns the object IDs t1-u<from> to t1-u<to-1>.
func peopleIDs(from, to int) []string {
	var ids []string
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("t1-u%03d", i))
	}
	return ids
}

// onlyHold returns the tenant's one hold, failing the test when there is none or several.
func (h *harness) onlyHold(tenantID string) HoldStatus {
	h.t.Helper()
	hs := h.status(tenantID).Holds
	require.Len(h.t, hs, 1)
	return hs[0]
}

// recentTotal sums a kind's rolling window as stored.
func recentTotal(st store.SyncState, k tenantsync.Kind) store.RecentLoss {
	var sum store.RecentLoss
	for _, r := range st.Recent[k] {
		sum.Removed += r.Removed
		sum.Disabled += r.Disabled
		sum.Approved += r.Approved
	}
	return sum
}

// guardBlockedUsers: a source that keeps the users but reports them blocked would deactivate
// every contact as surely as one that drops them; the guard holds it, from a change set and
// from a complete listing alike, and a release applies it.
func guardBlockedUsers(t *testing.T, h *harness) {
	ctx := t.Context()
	linkedPeople(t, h, 40)
	before := h.kindState("t1", tenantsync.KindUsers)
	var rest []string
	for _, u := range fakeUsers(h, "t1") {
		rest = append(rest, u.ObjectID)
	}
	// One delta round removes five users and reports every other one (38) blocked.
	for _, id := range peopleIDs(0, 5) {
		h.src.RemoveUser("t1", id)
	}
	blockUsers(h, "t1", rest[5:]...)
	rep := h.syncNow("t1")
	heldAt := h.clock.Now()
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Changes, kr.Mode)
	assert.True(t, kr.Held)
	assert.Equal(t, 5, kr.WouldRemove)
	assert.Equal(t, 38, kr.WouldDisable)
	assert.Equal(t, before, h.kindState("t1", tenantsync.KindUsers), "nothing of the users changed, cursor included")
	assert.Zero(t, h.deactivated(), "no contact is deactivated")
	for _, l := range h.links("t1") {
		assert.False(t, l.Deactivated, "link of %s", l.ObjectID)
	}
	hold := h.onlyHold("t1")
	assert.Equal(t, 5, hold.Removals)
	assert.Equal(t, 38, hold.Disabled)
	assert.Equal(t, 43, hold.Held)
	assert.Equal(t, 43, hold.Of)
	assert.Contains(t, hold.Hint, "43 of the 43 users")
	assert.Contains(t, hold.Hint, "(5 removed, 38 newly disabled)")
	assert.Contains(t, hold.Hint, "deleted or blocked")
	ev := h.sink.WaitFor(t, EventDeletionHeld, "t1", 1)[0]
	assert.Equal(t, 43, ev.Count)
	assert.Contains(t, ev.Message, "38 newly disabled")

	// A complete listing that says the same is the same removal: still held, from the same time.
	h.src.SetMode("t1", tenantsync.KindUsers, FakeCursorExpired, nil)
	rep = h.syncNow("t1")
	kr = rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Complete, kr.Mode)
	assert.True(t, kr.FullAfterExpiry)
	assert.True(t, kr.Held)
	assert.Equal(t, 38, kr.WouldDisable)
	hold = h.onlyHold("t1")
	assert.True(t, hold.Since.Equal(heldAt))
	assert.Equal(t, tenantsync.Complete, hold.Mode)
	assert.Zero(t, h.deactivated())
	assert.Len(t, h.sink.Events(EventDeletionHeld), 1)

	require.NoError(t, h.eng.ReleaseHold(ctx, "carol", "t1", tenantsync.KindUsers))
	released := h.auditEntries("release_hold")
	require.Len(t, released, 1)
	assert.Equal(t, "43", released[0].Detail["held"])
	assert.Equal(t, "38", released[0].Detail["disabled"])
	rep = h.syncNow("t1")
	kr = rep.Kinds[tenantsync.KindUsers]
	assert.False(t, kr.Held)
	assert.Equal(t, 5, kr.Removed)
	assert.Equal(t, 40, rep.Contacts.Deactivated)
	assert.Equal(t, 40, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
	for id, u := range h.users("t1") {
		assert.False(t, u.AccountEnabled, "user %s", id)
	}
	applied := h.sink.WaitFor(t, EventDeletionApplied, "t1", 1)[0]
	assert.Equal(t, 43, applied.Count)
	assert.Contains(t, applied.Message, "5 users removed, 38 newly disabled")
	audits := h.auditEntries("apply_hold")
	require.Len(t, audits, 1)
	assert.Equal(t, "carol", audits[0].Actor)
	assert.Equal(t, map[string]string{"kind": "users", "source": "cipp", "applied": "43", "removed": "5", "disabled": "38",
		"beyond_held": "0", "held_afresh": "0", "since": heldAt.UTC().Format(time.RFC3339)}, audits[0].Detail)
	assert.Equal(t, store.RecentLoss{Approved: 5}, recentTotal(h.state("t1"), tenantsync.KindUsers),
		"the released removal widens the window's mirror and counts for nothing")
}

// guardReleaseCoversHeldOnly: a person releases a hold of 30 removals; by the next sync 20 more
// are gone, which the percentage alone would have let ride along (20 of 103). The release
// applies the 30 it covers and holds the 20 afresh.
func guardReleaseCoversHeldOnly(t *testing.T, h *harness) {
	ctx := t.Context()
	linkedPeople(t, h, 100)
	h.src.SetMode("t1", tenantsync.KindUsers, FakeCursorExpired, nil) // every sync lists the users in full
	for _, id := range peopleIDs(0, 30) {
		h.src.RemoveUser("t1", id)
	}
	rep := h.syncNow("t1")
	require.True(t, rep.Kinds[tenantsync.KindUsers].Held, "30 of 103 is held")
	require.NoError(t, h.eng.ReleaseHold(ctx, "carol", "t1", tenantsync.KindUsers))
	cursor := h.kindState("t1", tenantsync.KindUsers).Cursor

	for _, id := range peopleIDs(30, 50) {
		h.src.RemoveUser("t1", id)
	}
	rep = h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Complete, kr.Mode)
	assert.Equal(t, 30, kr.Removed, "a release of 30 removals applies 30")
	assert.Equal(t, 30, h.deactivated())
	assert.True(t, kr.Held)
	assert.Equal(t, 20, kr.WouldRemove)
	users := h.users("t1")
	assert.Len(t, users, 73)
	for _, id := range peopleIDs(30, 50) {
		assert.Contains(t, users, id, "kept in the mirror as it was")
	}
	assert.Equal(t, cursor, h.kindState("t1", tenantsync.KindUsers).Cursor)
	hold := h.onlyHold("t1")
	assert.False(t, hold.Released)
	assert.Equal(t, 20, hold.Held)
	assert.Equal(t, 73, hold.Of)
	assert.True(t, hold.Since.Equal(h.clock.Now()))
	applied := h.sink.WaitFor(t, EventDeletionApplied, "t1", 1)[0]
	assert.Equal(t, 30, applied.Count)
	audits := h.auditEntries("apply_hold")
	require.Len(t, audits, 1)
	assert.Equal(t, "carol", audits[0].Actor)
	assert.Equal(t, "30", audits[0].Detail["applied"])
	assert.Equal(t, "20", audits[0].Detail["held_afresh"])

	// The rest stays held until a person or a confirmation says so, though 20 of the 103 the
	// mirror held before would fit the allowance on their own.
	rep = h.syncNow("t1")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.Equal(t, 30, h.deactivated())

	require.NoError(t, h.eng.ReleaseHold(ctx, "carol", "t1", tenantsync.KindUsers))
	rep = h.syncNow("t1")
	assert.False(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Equal(t, 20, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.Equal(t, 50, h.deactivated())
	assert.Empty(t, h.status("t1").Holds)
}

// guardSpreadRemoval: ten removals a sync stay under the per-fetch threshold, and five syncs
// would empty a 43-user mirror; the rolling window adds them up and holds the second ten.
func guardSpreadRemoval(t *testing.T, h *harness) {
	linkedPeople(t, h, 40)
	for _, id := range peopleIDs(0, 10) {
		h.src.RemoveUser("t1", id)
	}
	rep := h.syncNow("t1")
	assert.False(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Equal(t, 10, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.Equal(t, store.RecentLoss{Removed: 10}, recentTotal(h.state("t1"), tenantsync.KindUsers), "the window is in the store")

	for round := 1; round < 5; round++ {
		for _, id := range peopleIDs(round*10, min(round*10+10, 43)) {
			h.src.RemoveUser("t1", id)
		}
		rep = h.syncNow("t1")
		kr := rep.Kinds[tenantsync.KindUsers]
		assert.True(t, kr.Held, "round %d", round)
		assert.Zero(t, kr.Removed, "round %d", round)
	}
	assert.Equal(t, 10, h.deactivated(), "only the first ten went through")
	assert.Len(t, h.users("t1"), 33)
	hold := h.onlyHold("t1")
	assert.Equal(t, 10, hold.Recent)
	assert.Equal(t, 30, hold.Removals)
	assert.Contains(t, hold.Hint, "within 24 hours, counted with the 10 users taken away without a hold in the 24 hours before")
}

// Newly blocked users count with removals; users the mirror has blocked already do not.
func TestDeletionGuardCountsBlockedUsers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// pre users are blocked before the tenant is linked; the sync under test changes them
		// (a new job title), blocks the next block users and removes the next remove.
		pre, block, remove int
		wantHeld           bool
	}{
		{"ten blocked", 0, 10, 0, false},
		{"eleven blocked of 43", 0, 11, 0, true},
		{"six blocked and six removed", 0, 6, 6, true},
		{"five blocked and five removed", 0, 5, 5, false},
		{"changes to users blocked already", 20, 5, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 40)
			for i := range tc.pre {
				ft.Users[i].AccountEnabled = false
			}
			h.src.AddTenant(ft)
			h.discoverAndLink("t1", "client-1")
			deactivated := h.deactivated()
			for _, u := range fakeUsers(h, "t1")[:tc.pre] {
				u.JobTitle = "Former employee"
				h.src.PutUser("t1", u)
			}
			blockUsers(h, "t1", peopleIDs(tc.pre, tc.pre+tc.block)...)
			for _, id := range peopleIDs(tc.pre+tc.block, tc.pre+tc.block+tc.remove) {
				h.src.RemoveUser("t1", id)
			}
			rep := h.syncNow("t1")
			kr := rep.Kinds[tenantsync.KindUsers]
			require.Equal(t, tenantsync.Changes, kr.Mode)
			assert.Equal(t, tc.wantHeld, kr.Held)
			if tc.wantHeld {
				assert.Equal(t, tc.block, kr.WouldDisable)
				assert.Equal(t, tc.remove, kr.WouldRemove)
				assert.Equal(t, deactivated, h.deactivated())
				return
			}
			assert.Equal(t, deactivated+tc.block+tc.remove, h.deactivated())
			assert.Equal(t, store.RecentLoss{Removed: tc.remove, Disabled: tc.block}, recentTotal(h.state("t1"), tenantsync.KindUsers))
		})
	}
}

// The rolling window holds a second removal of ten within it and lets one through after it.
func TestDeletionGuardWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		guard    DeletionGuard
		gap      time.Duration // between the two removals of ten
		wantHeld bool
	}{
		{"within the default window", DeletionGuard{}, 23 * time.Hour, true},
		{"after the default window", DeletionGuard{}, 25 * time.Hour, false},
		{"a shorter window, within", DeletionGuard{Window: 2 * time.Hour}, time.Hour, true},
		{"a shorter window, after", DeletionGuard{Window: 2 * time.Hour}, 3 * time.Hour, false},
		{"each fetch alone", DeletionGuard{Window: -1}, time.Minute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.DeletionGuard = tc.guard })
			linkedPeople(t, h, 40)
			for _, id := range peopleIDs(0, 10) {
				h.src.RemoveUser("t1", id)
			}
			require.False(t, h.syncNow("t1").Kinds[tenantsync.KindUsers].Held)
			h.clock.Advance(tc.gap)
			for _, id := range peopleIDs(10, 20) {
				h.src.RemoveUser("t1", id)
			}
			rep := h.syncNow("t1")
			assert.Equal(t, tc.wantHeld, rep.Kinds[tenantsync.KindUsers].Held)
			want := 20
			if tc.wantHeld {
				want = 10
			}
			assert.Equal(t, want, h.deactivated())
			if tc.guard.Window < 0 {
				assert.Empty(t, h.state("t1").Recent, "no window is kept")
			}
		})
	}
}

// A hold the window placed is not lifted by the window moving on: its items are still missing,
// so it waits for a person or its confirmation.
func TestDeletionGuardWindowHoldWaitsForConfirmation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	linkedPeople(t, h, 40)
	for _, id := range peopleIDs(0, 10) {
		h.src.RemoveUser("t1", id)
	}
	h.syncNow("t1")
	h.clock.Advance(time.Hour)
	for _, id := range peopleIDs(10, 20) {
		h.src.RemoveUser("t1", id)
	}
	require.True(t, h.syncNow("t1").Kinds[tenantsync.KindUsers].Held)
	heldAt := h.clock.Now()

	h.clock.Advance(DefaultGuardWindow - 30*time.Minute) // the first ten have left the window
	rep := h.syncNow("t1")
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held, "the ten alone would fit, but they are held")
	assert.Empty(t, h.state("t1").Recent, "the first ten have left the window")
	assert.Equal(t, 10, h.deactivated())

	h.clock.Advance(heldAt.Add(DefaultConfirmAfter).Sub(h.clock.Now()))
	rep = h.syncNow("t1")
	assert.False(t, rep.Kinds[tenantsync.KindUsers].Held)
	assert.Equal(t, 10, rep.Kinds[tenantsync.KindUsers].Removed, "confirmed a day after the hold began")
	assert.Equal(t, 20, h.deactivated())
	audits := h.auditEntries("apply_hold")
	require.Len(t, audits, 1)
	assert.Equal(t, confirmActor, audits[0].Actor)
	assert.Equal(t, "10", audits[0].Detail["applied"])
}

func TestDeletionGuardTripsWithWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		n, of   int
		w       window
		tripped bool
	}{
		{"nothing taken", 0, 10, window{removed: 50}, false},
		{"alone within", 10, 43, window{}, false},
		{"with the window past both", 10, 33, window{removed: 10}, true},
		{"disabled count too", 6, 43, window{disabled: 5}, true},
		{"disabled ones stay in the mirror measured against", 1, 50, window{disabled: 10}, true},
		{"approved widen the mirror only", 15, 50, window{approved: 50}, false},
		{"without the approved ones it trips", 15, 50, window{}, true},
	}
	g := DeletionGuard{}.withDefaults()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.tripped, g.tripsWith(tc.n, tc.of, tc.w))
		})
	}
}

// The window's tally merges syncs into stretches of a 24th of the window and forgets a stretch
// once its last sync is older than the window, so it stays small whatever the sync cadence.
func TestDeletionGuardWindowTally(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	g := DeletionGuard{}.withDefaults()
	var recent []store.RecentLoss
	// A removal every ten minutes for two days.
	for i := range 6 * 48 {
		now := t0.Add(time.Duration(i) * 10 * time.Minute)
		var w window
		recent, w = g.windowed(recent, now)
		assert.LessOrEqual(t, w.removed, 6*25, "at %v", now)
		recent = g.record(recent, now, 1, 0, 0)
	}
	assert.LessOrEqual(t, len(recent), 26)
	now := t0.Add(48 * time.Hour)
	_, w := g.windowed(recent, now)
	assert.GreaterOrEqual(t, w.removed, 6*24, "a day of removals counts")

	// Merging copies: a stored tally is never changed under its reader.
	stored := []store.RecentLoss{{From: t0, To: t0, Removed: 1}}
	merged := g.record(stored, t0.Add(time.Minute), 2, 3, 4)
	assert.Equal(t, store.RecentLoss{From: t0, To: t0, Removed: 1}, stored[0])
	assert.Equal(t, []store.RecentLoss{{From: t0, To: t0.Add(time.Minute), Removed: 3, Disabled: 3, Approved: 4}}, merged)
	assert.Len(t, g.record(stored, t0.Add(time.Hour), 1, 0, 0), 2, "a new stretch after a 24th of the window")
	assert.Equal(t, stored, g.record(stored, t0.Add(time.Minute), 0, 0, 0), "nothing lost, nothing recorded")

	kept, w := g.windowed(stored, t0.Add(DefaultGuardWindow))
	assert.Empty(t, kept)
	assert.Equal(t, window{}, w)
	off := DeletionGuard{Window: -1}.withDefaults()
	kept, _ = off.windowed(stored, t0)
	assert.Empty(t, kept)
	assert.Empty(t, off.record(nil, t0, 5, 5, 5))
}
