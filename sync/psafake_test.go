package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// fakeClock lets the public fake PSA read the engine's clock: its latency and Timeout sleeps
// move the clock forward, as tenantsynctest.ManualClock does.
type fakeClock struct{ *ManualClock }

func (c fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// The PSA-side scenarios again, against tenantsynctest.Contacts, the fake PSA the SDK ships for
// its users' tests: an hourly quota, a lost create answer for a user without an email in a PSA
// that keeps no identity, and a refused record while the PSA has an outage.
func TestPSAScenariosWithThePublicFake(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(t *testing.T, h *harness, psa *tenantsynctest.Contacts)
	}{
		{"HourlyQuotaSpreadsTheInitialSync", publicFakeHourlyQuota},
		{"LostResponseMakesNoDuplicate", publicFakeLostResponse},
		{"RefusedRecordDuringAnOutage", publicFakeRefusedRecordAndOutage},
		{"LostCreateThenUserRemovedIdentityStored", publicFakeLostCreateThenRemoved(tenantsynctest.IdentityStored)},
		{"LostCreateThenUserRemovedIdentityIgnored", publicFakeLostCreateThenRemoved(tenantsynctest.IdentityIgnored)},
	}
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					var psa *tenantsynctest.Contacts
					h := newHarnessOn(t, func(now func() time.Time) store.Store { return sc.open(t, now) }, func(c *Config) {
						psa = tenantsynctest.NewContacts(fakeClock{c.Clock.(*ManualClock)})
						psa.AddClient("client-1", "Contoso")
						c.Contacts = psa
					})
					s.run(t, h, psa)
					assert.Empty(t, psa.Duplicates(), "no person has two contacts")
				})
			}
		})
	}
}

// A PSA allowing 20 calls an hour, and a tenant of 50 people: each hourly sync writes what
// the quota lets through, stores its mirror, and pauses for the PSA's Retry-After.
func publicFakeHourlyQuota(t *testing.T, h *harness, psa *tenantsynctest.Contacts) {
	psa.SetQuota(20, time.Hour)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 50))
	h.discoverAndLink("t1", "client-1")
	require.Nil(t, h.state("t1").LastError)
	assert.Len(t, h.users("t1"), 53)
	assert.Len(t, h.links("t1"), 19, "one listing and 19 creates")
	assert.Equal(t, 31, h.status("t1").ContactsPending)
	psaStatus := h.eng.PSAStatus()
	require.True(t, psaStatus.Paused(h.clock.Now()))
	assert.Equal(t, "throttled", psaStatus.Cause.Kind)

	for _, want := range []int{38, 50} {
		h.clock.Advance(time.Hour)
		rep := h.syncNow("t1")
		assert.Len(t, h.links("t1"), want)
		assert.Equal(t, 50-want, rep.Contacts.Pending)
	}
	assert.True(t, h.status("t1").Healthy())
	assert.Len(t, psa.All(), 50, "one contact per person")
	assert.Equal(t, 50+2, psa.Calls()[tenantsynctest.OpCreateContact], "every person once, and the two creates the quota refused")
}

// The PSA carries out the create of a user without an email and the answer is lost; the PSA
// keeps no identity. After a restart, the contact is found, not made again.
func publicFakeLostResponse(t *testing.T, h *harness, psa *tenantsynctest.Contacts) {
	psa.SetIdentity(tenantsynctest.IdentityIgnored)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 4)
	nomail := withoutMail(ft)
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}, Ops: []tenantsynctest.Op{tenantsynctest.OpCreateContact},
		Match: func(c tenantsync.Contact) bool { return c.ObjectID == nomail.ObjectID }, Times: 1}))
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	require.Len(t, psa.All(), 2, "the contact whose answer was lost exists")
	assert.NotContains(t, h.links("t1"), nomail.ObjectID)

	eng := h.restart()
	h.clock.Advance(DefaultPSAMaxBackoff)
	rep, err := eng.SyncNow(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Contacts.Recovered)
	assert.Len(t, h.links("t1"), 4)
	assert.Len(t, psa.All(), 4)
	assert.Equal(t, 4, psa.Calls()[tenantsynctest.OpCreateContact], "one create per user: the lost one was not sent again")
}

// One record the PSA refuses (a surname too long for it) and a 503 outage of a minute: the
// refused user fails alone, the outage pauses the PSA, and the syncs after it finish the rest.
func publicFakeRefusedRecordAndOutage(t *testing.T, h *harness, psa *tenantsynctest.Contacts) {
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 20)
	long := &ft.Users[3]
	long.Surname = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessenschafewarenwohlgepflegeundsorgfaltigkeitbeschutzenvor"
	psa.AddRule(tenantsynctest.MaxLength(tenantsynctest.FieldLastName, 50))
	h.src.AddTenant(ft)
	h.discoverAndStoreLink("t1", "client-1")
	require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.ServerError{Status: 503}, Ops: []tenantsynctest.Op{tenantsynctest.OpCreateContact},
		For: time.Minute}))
	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	assert.Empty(t, h.links("t1"), "the outage met the first create")
	assert.Len(t, h.users("t1"), 23)
	require.ErrorIs(t, rep.Contacts.Stopped, tenantsync.ErrUnavailable)

	h.clock.Advance(2 * time.Minute)
	h.syncNow("t1")
	h.clock.Advance(DefaultPSAMaxBackoff)
	h.syncNow("t1")
	assert.Len(t, h.links("t1"), 19)
	failures := h.status("t1").ContactFailures
	require.Len(t, failures, 1)
	assert.Equal(t, long.ObjectID, failures[0].ObjectID)
	assert.Equal(t, "invalid_input", failures[0].Kind)
	assert.Contains(t, failures[0].Message, "cannot be longer than 50 characters", "the PSA's own message")
	assert.Zero(t, h.status("t1").ContactsPending)
}

// The PSA carries out a user's create and the answer is lost; the user is removed from the
// tenant before the next sync. The contact the PSA made is that user's: the next sync links it
// and deactivates it, as it does a linked contact of a removed user, rather than leave an
// active contact nobody links for a user who no longer exists. Whether or not the PSA keeps
// the identity (found by the identity, or by the create intent).
func publicFakeLostCreateThenRemoved(identity tenantsynctest.Identity) func(t *testing.T, h *harness, psa *tenantsynctest.Contacts) {
	return func(t *testing.T, h *harness, psa *tenantsynctest.Contacts) {
		psa.SetIdentity(identity)
		ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 4)
		gone := ft.Users[2]
		require.NoError(t, psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}, Ops: []tenantsynctest.Op{tenantsynctest.OpCreateContact},
			Match: func(c tenantsync.Contact) bool { return c.ObjectID == gone.ObjectID }, Times: 1}))
		h.src.AddTenant(ft)
		h.discoverAndLink("t1", "client-1")
		require.True(t, slices.ContainsFunc(psa.All(), func(c tenantsync.Contact) bool { return c.ObjectID == gone.ObjectID }),
			"the contact whose answer was lost exists")
		require.NotContains(t, h.links("t1"), gone.ObjectID)

		h.src.RemoveUser("t1", gone.ObjectID)
		h.clock.Advance(DefaultPSAMaxBackoff)
		rep := h.syncNow("t1")
		require.NoError(t, rep.Err)
		assert.Len(t, psa.All(), 4, "one contact per user: the pending user's is made, the lost one is not made again")
		links := h.links("t1")
		require.Contains(t, links, gone.ObjectID, "the contact the lost create made is linked to its user")
		l := links[gone.ObjectID]
		assert.True(t, l.Deactivated)
		c, ok := psa.Get(l.ContactID)
		require.True(t, ok)
		assert.False(t, c.Active, "the removed user's contact is deactivated")
		assert.Equal(t, gone.ObjectID, c.ObjectID, "it is the contact made for the removed user")
		for _, other := range psa.All() {
			if other.ID != c.ID {
				assert.True(t, other.Active, "contact %s of a present user stays active", other.ID)
			}
		}
		assert.Equal(t, 1, rep.Contacts.Deactivated)
		assert.Empty(t, h.state("t1").CreateIntents)
		assert.Empty(t, h.status("t1").ContactFailures)
	}
}
