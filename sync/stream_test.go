package sync

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// A source that streams (FetchRequest.Sink) syncs as one that hands over whole listings: the
// mirror, counts and contacts come out the same, on every store.
func TestStreamedSync(t *testing.T) {
	t.Parallel()
	scenarios := map[string]func(t *testing.T, h *harness){
		"CompleteListingIsStoredAndReconciled": streamedComplete,
		"ListingCutShortStoresNothing":         streamedCutShort,
		"CursorMovedMeanwhileStoresNothing":    streamedCursorConflict,
	}
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for name, run := range scenarios {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					h := newHarnessOn(t, func(now func() time.Time) store.Store { return sc.open(t, now) })
					h.src.Stream = true
					run(t, h)
				})
			}
		})
	}
}

func streamedComplete(t *testing.T, h *harness) {
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 25)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	calls := h.src.Calls()
	require.NotEmpty(t, calls)
	assert.NotNil(t, calls[0].Sink, "the engine offers the source its stage")

	users := h.users("t1")
	assert.Len(t, users, 28, "25 people, a shared mailbox, a room and a guest")
	assert.Equal(t, "First7", users["t1-u007"].GivenName)
	assert.Len(t, h.links("t1"), 25, "every person got a contact, read back from the stage")
	st := h.status("t1")
	assert.Equal(t, 28, st.State.Counts[tenantsync.KindUsers])
	assert.Equal(t, 2, st.State.Counts[tenantsync.KindDevices], "a streamed kind read back whole syncs as before")
	assert.True(t, st.Healthy())

	// A person matched by address to an existing contact of another sync is linked, and a
	// rename arrives through the next streamed listing.
	h.src.SetMode("t1", tenantsync.KindUsers, FakeCursorExpired, nil) // listed in full every sync
	h.src.Silently("t1", func(ft *FakeTenant) { ft.Users[3].JobTitle = "Director" })
	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Complete, kr.Mode)
	assert.Equal(t, 28, kr.Fetched)
	assert.Equal(t, 1, kr.Updated)
	assert.Equal(t, 28, kr.Total)
	assertFinalState(t, h, "t1", "a streamed complete listing")
	assert.Equal(t, "Director", h.users("t1")[ft.Users[3].ObjectID].JobTitle)
	assert.Len(t, h.links("t1"), 25)

	// A removal within the guard's allowance applies, and the user's contact is deactivated.
	gone := ft.Users[5].ObjectID
	h.src.RemoveUser("t1", gone)
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.NotContains(t, h.users("t1"), gone)
	assert.Equal(t, 1, rep.Contacts.Deactivated)
	assert.True(t, h.links("t1")[gone].Deactivated)
	assertFinalState(t, h, "t1", "a streamed listing with a removal")
}

func streamedCutShort(t *testing.T, h *harness) {
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 20)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	h.src.SetMode("t1", tenantsync.KindUsers, FakeCursorExpired, nil)
	before := h.kindState("t1", tenantsync.KindUsers)
	links := h.links("t1")

	// Half the users leave and one is renamed; the listing fails after two pages.
	h.src.Silently("t1", func(ft *FakeTenant) {
		ft.Users[0].DisplayName = "Renamed"
		ft.Users = ft.Users[:len(ft.Users)/2]
	})
	h.src.StreamFailAfter = 2
	rep := h.syncNow("t1")
	kr := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Unavailable, kr.Mode)
	assert.ErrorIs(t, kr.Err, tenantsync.ErrIncomplete)
	assert.Equal(t, before, h.kindState("t1", tenantsync.KindUsers), "nothing of the users changed, cursor included")
	assert.Equal(t, links, h.links("t1"))
	assert.Zero(t, rep.Contacts.Deactivated)

	// The next complete listing is judged whole: 12 of 23 gone is held by the guard.
	h.src.StreamFailAfter = 0
	rep = h.syncNow("t1")
	kr = rep.Kinds[tenantsync.KindUsers]
	assert.True(t, kr.Held)
	assert.Equal(t, 12, kr.WouldRemove)
	assert.Len(t, h.users("t1"), 23)
}

func streamedCursorConflict(t *testing.T, h *harness) {
	ctx := t.Context()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 10)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	h.src.SetMode("t1", tenantsync.KindUsers, FakeCursorExpired, nil)
	h.src.Silently("t1", func(ft *FakeTenant) { ft.Users[0].DisplayName = "Renamed" })

	// Another writer moves the users' cursor while the listing streams.
	m := h.st.Account(testAccount).Mirror
	h.src.OnPage = func(tenantID string, k tenantsync.Kind, page int) {
		if k != tenantsync.KindUsers || page != 1 {
			return
		}
		cursors, err := m.Cursors(context.Background(), "t1")
		require.NoError(t, err)
		_, err = m.Apply(context.Background(), "t1", store.KindApply{
			Result:       &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Cursor: "other-writer"},
			ExpectCursor: cursors[tenantsync.KindUsers]})
		require.NoError(t, err)
	}
	before := h.kindState("t1", tenantsync.KindUsers)
	h.clock.Advance(DefaultCooldown)
	_, err := h.eng.SyncNow(ctx, "t1")
	require.ErrorIs(t, err, tenantsync.ErrConflict)
	after := h.kindState("t1", tenantsync.KindUsers)
	assert.Equal(t, "other-writer", after.Cursor)
	assert.Equal(t, before.Items.Users, after.Items.Users, "nothing of the streamed listing was stored")
}
