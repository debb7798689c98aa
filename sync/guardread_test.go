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

// readCountStore records the mirror reads of the engine: ReadKind's kinds, each ReadKinds
// call's, and the items ReadItems read by kind.
type readCountStore struct {
	dirStore
	mu    stdsync.Mutex
	one   []tenantsync.Kind
	batch [][]tenantsync.Kind
	named map[tenantsync.Kind][]string
	// omit is left out of what ReadKinds returns, as a store of another module might.
	omit tenantsync.Kind
}

func (s *readCountStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Mirror = readCountMirror{a.Mirror, s}
	return a
}

func (s *readCountStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.one, s.batch, s.named = nil, nil, nil
}

// whole returns whether the engine read kind k's whole mirror since the last reset.
func (s *readCountStore) whole(k tenantsync.Kind) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.one, k) || slices.ContainsFunc(s.batch, func(ks []tenantsync.Kind) bool { return slices.Contains(ks, k) })
}

type readCountMirror struct {
	store.Mirror
	s *readCountStore
}

func (m readCountMirror) ReadKind(ctx context.Context, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error) {
	m.s.mu.Lock()
	m.s.one = append(m.s.one, kind)
	m.s.mu.Unlock()
	return m.Mirror.ReadKind(ctx, tenantID, kind)
}

func (m readCountMirror) ReadKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error) {
	m.s.mu.Lock()
	m.s.batch = append(m.s.batch, slices.Clone(kinds))
	omit := m.s.omit
	m.s.mu.Unlock()
	out, err := m.Mirror.(store.KindsReader).ReadKinds(ctx, tenantID, kinds)
	delete(out, omit)
	return out, err
}

func (m readCountMirror) ReadItems(ctx context.Context, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error) {
	m.s.mu.Lock()
	if m.s.named == nil {
		m.s.named = map[tenantsync.Kind][]string{}
	}
	m.s.named[kind] = append(m.s.named[kind], ids...)
	m.s.mu.Unlock()
	return m.Mirror.(store.ItemsReader).ReadItems(ctx, tenantID, kind, ids)
}

// readCountHarness is a harness whose memory store records the engine's mirror reads, with one
// 30-user tenant t1 in its source.
func readCountHarness(t *testing.T) (*harness, *readCountStore, *FakeTenant) {
	wrapped := &readCountStore{}
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		wrapped.dirStore = memory.New(memory.Config{Now: now})
		return wrapped
	})
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 30)
	h.src.AddTenant(ft)
	return h, wrapped, ft
}

// The mirrors the deletion guard compares a sync's complete listings with are read together,
// by one ReadKinds, not one ReadKind a kind; and the guard still holds a mass removal.
func TestGuardReadsTheMirrorsTogether(t *testing.T) {
	t.Parallel()
	h, wrapped, ft := readCountHarness(t)
	h.discoverAndLink("t1", "client-1")

	wrapped.reset()
	h.clock.Advance(time.Hour)
	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	wrapped.mu.Lock()
	batch, one := wrapped.batch, wrapped.one
	wrapped.mu.Unlock()
	require.Len(t, batch, 1, "one read for the guard's mirrors")
	guarded := []tenantsync.Kind{tenantsync.KindDevices, tenantsync.KindDomains, tenantsync.KindSubscriptions, tenantsync.KindMFA}
	for _, k := range guarded {
		assert.Contains(t, batch[0], k, "every complete listing of a kind with items is compared")
		// No one reads these one by one.
		assert.NotContains(t, one, k, "read one by one: %v", one)
	}

	// Most users gone at once: held, as when each kind was read on its own.
	for _, u := range slices.Clone(ft.Users[:20]) { // RemoveUser changes ft.Users
		h.src.RemoveUser("t1", u.ObjectID)
	}
	h.clock.Advance(time.Hour)
	rep = h.syncNow("t1")
	require.NoError(t, rep.Err)
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held, "the removal of 20 of 30 users is held")
	assert.Len(t, h.users("t1"), 30+3, "nothing removed")
}

// A delta sync reads of the users and mailboxes mirrors only the items its change sets name,
// for the deletion guard and the contact match alike, and the guard still sees what they take
// away: a removal of one user applies, of most users is held.
func TestDeltaSyncReadsTheItemsItNames(t *testing.T) {
	t.Parallel()
	h, wrapped, ft := readCountHarness(t)
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
	h.discoverAndLink("t1", "client-1")

	gone, changed, other := ft.Users[3], ft.Users[4], ft.Users[5]
	h.src.RemoveUser("t1", gone.ObjectID)
	h.src.RemoveMailbox("t1", gone.ObjectID)
	changed.JobTitle = "Head of Sales"
	h.src.PutUser("t1", changed)
	wrapped.reset()
	h.clock.Advance(time.Hour)
	rep := h.syncNow("t1")
	require.NoError(t, rep.Err)
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode)
	assert.False(t, wrapped.whole(tenantsync.KindUsers), "the users mirror is not read whole")
	assert.False(t, wrapped.whole(tenantsync.KindMailboxes), "the mailboxes mirror is not read whole")
	wrapped.mu.Lock()
	named := wrapped.named
	wrapped.mu.Unlock()
	assert.Contains(t, named[tenantsync.KindUsers], gone.ObjectID, "the guard reads the removed user")
	assert.NotContains(t, named[tenantsync.KindUsers], other.ObjectID, "and not a user the delta does not name")
	assert.Equal(t, 1, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.Len(t, h.users("t1"), 30+3-1)

	for _, u := range slices.Clone(ft.Users[5:25]) { // RemoveUser changes ft.Users
		h.src.RemoveUser("t1", u.ObjectID)
	}
	h.clock.Advance(time.Hour)
	rep = h.syncNow("t1")
	require.NoError(t, rep.Err)
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held, "the removal of 20 of 32 users is held")
	assert.Len(t, h.users("t1"), 30+3-1, "nothing removed")
}

// A mailbox a change set removes, or one it adds or retypes, has its user matched again: a
// delta reads of the mailboxes mirror only what the change set names, and the removed ones
// are among them.
func TestRetypedUsersReadsTheMailboxesAChangeSetNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
	h.src.SetMode("t1", tenantsync.KindMailboxes, FakeDelta, nil)
	h.discoverAndLink("t1", "client-1")

	kr := &tenantsync.KindResult{Kind: tenantsync.KindMailboxes, Mode: tenantsync.Changes, Removed: []string{"t1-shared"},
		Mailboxes: []tenantsync.Mailbox{{ObjectID: "t1-room", Type: tenantsync.MailboxShared}, {ObjectID: "t1-u001", Type: tenantsync.MailboxUser}}}
	got, err := h.eng.retypedUsers(t.Context(), "t1", kr, mirrorReads{})
	require.NoError(t, err)
	assert.Equal(t, []string{"t1-room", "t1-shared"}, got, "the removed mailbox and the retyped one; not the unchanged user's")
}

// A billing count reads each tenant's users and mailboxes by one ReadKinds; a kind the store's
// ReadKinds leaves out is read on its own rather than counted as empty (or dereferenced).
func TestBillingReadsUsersAndMailboxesTogether(t *testing.T) {
	t.Parallel()
	h, wrapped, _ := readCountHarness(t)
	h.src.mu.Lock()
	for i, u := range h.src.tenants["t1"].Users {
		if u.ObjectID == "t1-shared" {
			h.src.tenants["t1"].Users[i].AssignedSKUs = []string{"sku-e3"} // a licensed shared mailbox
		}
	}
	h.src.mu.Unlock()
	h.discoverAndLink("t1", "client-1")
	want, err := h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	require.Positive(t, want.Billable)

	wrapped.reset()
	got, err := h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	wrapped.mu.Lock()
	assert.Equal(t, [][]tenantsync.Kind{{tenantsync.KindUsers, tenantsync.KindMailboxes}}, wrapped.batch)
	assert.Empty(t, wrapped.one)
	wrapped.omit = tenantsync.KindMailboxes
	wrapped.mu.Unlock()

	wrapped.reset()
	got, err = h.eng.BillableUsers(t.Context(), "client-1")
	require.NoError(t, err)
	assert.Equal(t, want, got, "the mailboxes read on their own: a licensed shared mailbox is still no person")
	wrapped.mu.Lock()
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindMailboxes}, wrapped.one)
	wrapped.mu.Unlock()
}
