package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func lastCall(t *testing.T, src *FakeSource) tenantsync.FetchRequest {
	t.Helper()
	calls := src.Calls()
	require.NotEmpty(t, calls)
	return calls[len(calls)-1]
}

func mirroredMailboxes(t *testing.T, h *harness, tenantID string) map[string]tenantsync.Mailbox {
	t.Helper()
	kr, err := h.st.Account(testAccount).Mirror.ReadKind(t.Context(), tenantID, tenantsync.KindMailboxes)
	require.NoError(t, err)
	out := map[string]tenantsync.Mailbox{}
	for _, m := range kr.Mailboxes {
		out[m.ObjectID] = m
	}
	return out
}

// A delta never reports what it missed; the periodic full listing does: it leaves every cursor
// out, removes the user the deltas kept, and still removes nothing of an unavailable kind.
func TestPeriodicFullListing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
	h.discoverAndLink("t1", "client-1")
	require.Empty(t, lastCall(t, h.src).Cursors, "the initial sync lists in full")
	listedAt := h.clock.Now()
	gone := "t1-u001"
	require.Contains(t, h.links("t1"), gone)

	// The second sync reads both kinds from their cursors.
	h.src.PutUser("t1", person("t1-u500", "Nina", "New", "contoso.example"))
	rep := h.syncNow("t1")
	assert.Equal(t, map[tenantsync.Kind]string{tenantsync.KindUsers: "t1:0", tenantsync.KindMailboxes: "t1:0"},
		lastCall(t, h.src).Cursors)
	assert.False(t, rep.FullListing)
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode)

	// A user and its mailbox vanish without a delta saying so; the mailboxes kind then fails.
	h.src.Silently("t1", func(ft *FakeTenant) {
		ft.Users = drop(ft.Users, gone, userID)
		ft.Mailboxes = drop(ft.Mailboxes, gone, mailboxID)
	})
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeUnavailable,
		tenantsync.Errorf(tenantsync.ErrThrottled, "wait and retry", "throttled"))

	// Half a minute before the full listing is due, the deltas do not see the loss.
	h.clock.Advance(DefaultFullListing - 3*DefaultCooldown)
	rep = h.syncNow("t1")
	require.Equal(t, listedAt.Add(DefaultFullListing-DefaultCooldown), h.clock.Now())
	assert.False(t, rep.FullListing)
	assert.Equal(t, "t1:1", lastCall(t, h.src).Cursors[tenantsync.KindUsers])
	assert.Contains(t, h.users("t1"), gone)
	assert.False(t, h.links("t1")[gone].Deactivated)
	before, err := h.st.Account(testAccount).Mirror.Cursors(t.Context(), "t1")
	require.NoError(t, err)

	// Cadence.FullListing after the last full listing: no cursors, and the complete users
	// listing removes the user it omits; the unavailable mailboxes remove nothing.
	rep = h.syncNow("t1")
	assert.True(t, rep.FullListing)
	assert.Empty(t, lastCall(t, h.src).Cursors, "every cursor is left out")
	ur := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Complete, ur.Mode)
	assert.Equal(t, 1, ur.Removed)
	assert.NotContains(t, h.users("t1"), gone)
	link := h.links("t1")[gone]
	assert.True(t, link.Deactivated, "the removed user's contact is deactivated")
	c, _ := h.contacts.Get(link.ContactID)
	assert.False(t, c.Active)
	assert.Equal(t, tenantsync.Unavailable, rep.Kinds[tenantsync.KindMailboxes].Mode)
	assert.Contains(t, mirroredMailboxes(t, h, "t1"), gone, "an unavailable kind removes nothing")
	after, err := h.st.Account(testAccount).Mirror.Cursors(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, before[tenantsync.KindMailboxes], after[tenantsync.KindMailboxes], "the unavailable kind's cursor is kept")
	cur, listed := unwrapCursor("cipp", after[tenantsync.KindUsers])
	assert.Equal(t, "t1:1", cur)
	assert.True(t, listed.Equal(h.clock.Now()), "the users' full listing is recorded at %v, got %v", h.clock.Now(), listed)

	// The mailboxes still owe their full listing, so the next sync lists in full again, and
	// this time the mailbox goes too.
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
	rep = h.syncNow("t1")
	assert.True(t, rep.FullListing)
	assert.Empty(t, lastCall(t, h.src).Cursors)
	assert.Equal(t, 1, rep.Kinds[tenantsync.KindMailboxes].Removed)
	assert.NotContains(t, mirroredMailboxes(t, h, "t1"), gone)

	// Then deltas again.
	rep = h.syncNow("t1")
	assert.False(t, rep.FullListing)
	assert.Len(t, lastCall(t, h.src).Cursors, 2)
}

func TestFullListingCadence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		every    time.Duration
		advance  time.Duration
		wantFull bool
	}{
		{"default, not yet due", 0, DefaultFullListing - time.Second, false},
		{"default, due", 0, DefaultFullListing, true},
		{"custom, not yet due", 2 * time.Hour, time.Hour, false},
		{"custom, due", 2 * time.Hour, 2 * time.Hour, true},
		{"disabled", -1, 1000 * DefaultFullListing, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newLinked(t, 2, func(c *Config) { c.Cadence.FullListing = tt.every })
			h.clock.Advance(tt.advance)
			rep, err := h.eng.SyncNow(t.Context(), "t1")
			require.NoError(t, err)
			assert.Equal(t, tt.wantFull, rep.FullListing)
			assert.Equal(t, tt.wantFull, len(lastCall(t, h.src).Cursors) == 0, "cursors sent: %v", lastCall(t, h.src).Cursors)
			want := tenantsync.Changes
			if tt.wantFull {
				want = tenantsync.Complete
			}
			assert.Equal(t, want, rep.Kinds[tenantsync.KindUsers].Mode)
		})
	}
}

// A cursor stored before listing times were kept has none: its full listing is due at once.
func TestStoredCursorFormat(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	assert.Equal(t, "graph@1772442000|https://graph/delta?token=a|b", wrapCursor("graph", "https://graph/delta?token=a|b", at))
	assert.Empty(t, wrapCursor("graph", "", at), "no cursor stores none")

	tests := []struct {
		stored     string
		wantCursor string
		wantListed time.Time
	}{
		{"graph@1772442000|delta-1", "delta-1", at},
		{"graph@1772442000|a|b", "a|b", at},
		{"graph|delta-1", "delta-1", time.Time{}},
		{"cipp@1772442000|delta-1", "", time.Time{}},
		{"graphx@1772442000|delta-1", "", time.Time{}},
		{"graph@soon|delta-1", "", time.Time{}},
		{"graph@1772442000", "", time.Time{}},
		{"", "", time.Time{}},
	}
	for _, tt := range tests {
		c, listed := unwrapCursor("graph", tt.stored)
		assert.Equal(t, tt.wantCursor, c, tt.stored)
		assert.True(t, listed.Equal(tt.wantListed), "%s: listed %v", tt.stored, listed)
	}

	s := newScheduler(Cadence{})
	assert.True(t, s.fullListingDue(time.Time{}, at), "an unknown listing time is due")
	assert.False(t, s.fullListingDue(at, at.Add(time.Hour)))
	assert.False(t, newScheduler(Cadence{FullListing: -1}).fullListingDue(time.Time{}, at), "disabled is never due")
}

// A mailbox converted in Exchange changes no user: the delta reconcile still looks at its user,
// and when the users could not be listed the next sync matches every user.
func TestMailboxOnlyChangesAreReconciled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		delta      bool // mailboxes answered as changes (Graph) rather than listed in full
		usersDown  bool // the users kind is unavailable in the sync that sees the conversion
		wantChange tenantsync.Mode
	}{
		{"mailbox change set", true, false, tenantsync.Changes},
		{"complete mailbox listing", false, false, tenantsync.Complete},
		{"users unavailable", true, true, tenantsync.Changes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
			sam := person("t1-u900", "Sam", "Shared", "contoso.example")
			ft.Users = append(ft.Users, sam)
			ft.Mailboxes = append(ft.Mailboxes, tenantsync.Mailbox{TenantID: "t1", ObjectID: sam.ObjectID,
				PrimarySMTPAddress: sam.Mail, Type: tenantsync.MailboxShared})
			h.src.AddTenant(ft)
			if tt.delta {
				h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
			}
			h.discoverAndLink("t1", "client-1")
			require.NotContains(t, h.links("t1"), sam.ObjectID, "a shared mailbox gets no contact")
			require.Len(t, h.contacts.All(), 2)

			converted := tenantsync.Mailbox{ObjectID: sam.ObjectID, PrimarySMTPAddress: sam.Mail, Type: tenantsync.MailboxUser}
			if tt.delta {
				h.src.PutMailbox("t1", converted)
			} else {
				h.src.Silently("t1", func(ft *FakeTenant) {
					converted.TenantID = "t1"
					ft.Mailboxes = upsert(ft.Mailboxes, converted, mailboxID)
				})
			}
			if tt.usersDown {
				h.src.SetMode("t1", tenantsync.KindUsers, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrThrottled, "retry", "throttled"))
			}
			rep := h.syncNow("t1")
			assert.Equal(t, tt.wantChange, rep.Kinds[tenantsync.KindMailboxes].Mode)
			assert.Equal(t, tenantsync.MailboxUser, mirroredMailboxes(t, h, "t1")[sam.ObjectID].Type)
			if !tt.usersDown {
				require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
				assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Fetched, "no directory change")
				assert.Equal(t, ContactReport{Created: 1}, rep.Contacts, "only the converted user was looked at")
				assert.Contains(t, h.links("t1"), sam.ObjectID)
				return
			}
			assert.Equal(t, ContactReport{}, rep.Contacts, "without the users nothing is matched")
			assert.NotContains(t, h.links("t1"), sam.ObjectID)

			// The users are back with an empty change set; the next sync matches every user.
			h.src.SetMode("t1", tenantsync.KindUsers, FakeAuto, nil)
			rep = h.syncNow("t1")
			require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
			assert.Zero(t, rep.Kinds[tenantsync.KindUsers].Fetched)
			assert.Equal(t, 1, rep.Contacts.Created)
			assert.Positive(t, rep.Contacts.Excluded, "a full pass: the shared mailbox, the room and the guest were looked at")
			assert.Contains(t, h.links("t1"), sam.ObjectID)
			assert.True(t, slices.ContainsFunc(h.contacts.All(), func(c tenantsync.Contact) bool { return c.ObjectID == sam.ObjectID }))
		})
	}
}

// The time of the last full listing is in the store: an engine started afresh on it neither
// lists in full at once nor waits a new Cadence.FullListing.
func TestFullListingSurvivesRestart(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 2)
	cfg := h.cfg
	cfg.InstanceID = "engine-b"
	restarted, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = restarted.Close(context.Background()) })

	h.clock.Advance(DefaultFullListing / 2)
	rep, err := restarted.SyncNow(t.Context(), "t1")
	require.NoError(t, err)
	assert.False(t, rep.FullListing)
	assert.NotEmpty(t, lastCall(t, h.src).Cursors)

	h.clock.Advance(DefaultFullListing / 2)
	rep, err = restarted.SyncNow(t.Context(), "t1")
	require.NoError(t, err)
	assert.True(t, rep.FullListing, "due a full Cadence.FullListing after the first engine's listing")
	assert.Empty(t, lastCall(t, h.src).Cursors)
}
