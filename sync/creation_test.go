package sync

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// The cap on creates spreads a large tenant's contacts over several syncs; the status says how
// far that has come and how many syncs the rest takes, until a sync after the last create.
func TestCreationProgressAcrossCappedSyncs(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 5, func(c *Config) { c.Limits.MaxCreatesPerSync = 2 })

	steps := []struct {
		created, remaining, syncsLeft int
		text                          string
	}{
		{2, 3, 2, "created 2 of 5; the rest over the next 2 syncs"},
		{4, 1, 1, "created 4 of 5; the rest at the next sync"},
		{5, 0, 0, "created 5 of 5"},
	}
	for i, want := range steps {
		if i > 0 {
			h.syncNow("t1")
		}
		c := h.status("t1").Creation
		require.NotNil(t, c, "step %d", i)
		assert.Equal(t, want.created, c.Created, "step %d", i)
		assert.Equal(t, want.remaining, c.Remaining, "step %d", i)
		assert.Equal(t, 5, c.Total, "step %d", i)
		assert.Equal(t, 2, c.PerSync, "step %d", i)
		assert.Equal(t, want.syncsLeft, c.SyncsLeft, "step %d", i)
		assert.Equal(t, want.text, c.String(), "step %d", i)
	}
	assert.Len(t, h.contacts.All(), 5)
	h.syncNow("t1")
	assert.Nil(t, h.status("t1").Creation, "the sync after the last create clears the progress")
}

// The call budget bounds creates too: a sync creates no more than it may call the PSA.
func TestCreationPerSyncIsTheTighterLimit(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 7, func(c *Config) { c.Limits.MaxCreatesPerSync = 5; c.Limits.PSACallsPerSync = 3 })
	c := h.status("t1").Creation
	require.NotNil(t, c)
	assert.Equal(t, 3, c.PerSync)
	assert.Equal(t, 3, c.Created)
	assert.Equal(t, 4, c.Remaining, "the creates the budget stopped are owed too")
	assert.Equal(t, 2, c.SyncsLeft)
}

// A person may ask for the rest now: one sync lifts the cap and the call budget.
func TestStartSyncCreateAllCreatesTheRest(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 9, func(c *Config) { c.Limits.MaxCreatesPerSync = 2; c.Limits.PSACallsPerSync = 2 })
	require.Len(t, h.contacts.All(), 2)
	h.clock.Advance(DefaultCooldown)
	done, err := h.eng.StartSync(t.Context(), "t1", SyncOptions{CreateAll: true})
	require.NoError(t, err)
	rep := <-done
	require.NotNil(t, rep)
	require.NoError(t, rep.Err)
	assert.Equal(t, "create-all", rep.Trigger)
	assert.Equal(t, 7, rep.Contacts.Created)
	assert.Len(t, h.contacts.All(), 9)
	c := h.status("t1").Creation
	require.NotNil(t, c)
	assert.True(t, c.Done())
	assert.Equal(t, "created 9 of 9", c.String())
	_, open := <-done
	assert.False(t, open, "the channel is closed after the report")
}

// A sync that runs is named before the cooldown: "wait 30 seconds" would be wrong while it runs.
func TestSyncNowNamesARunningSyncBeforeTheCooldown(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)
	// The initial sync started moments ago (cooldown), and another engine holds the lease.
	_, err := h.st.Account(testAccount).Leases.Acquire(t.Context(), store.LeaseRequest{TenantID: "t1", Holder: "other-engine",
		Now: h.clock.Now(), TTL: DefaultCooldown * 10})
	require.NoError(t, err)
	_, err = h.eng.StartSync(t.Context(), "t1", SyncOptions{})
	require.ErrorIs(t, err, tenantsync.ErrAlreadyRunning)
	assert.Contains(t, err.Error(), "other-engine")
	_, err = h.eng.SyncNow(t.Context(), "t1")
	require.ErrorIs(t, err, tenantsync.ErrAlreadyRunning)

	require.NoError(t, h.st.Account(testAccount).Leases.Release(t.Context(), "t1", "other-engine"))
	_, err = h.eng.SyncNow(t.Context(), "t1")
	require.ErrorIs(t, err, tenantsync.ErrCooldown)
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Contains(t, tenantsync.HintOf(err), "seconds before asking again")
	assert.Positive(t, d.RetryAfter)
}
