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

// readCountStore records the mirror reads of the engine: ReadKind's kinds and each ReadKinds
// call's.
type readCountStore struct {
	dirStore
	mu    stdsync.Mutex
	one   []tenantsync.Kind
	batch [][]tenantsync.Kind
}

func (s *readCountStore) Account(id string) store.Account {
	a := s.dirStore.Account(id)
	a.Mirror = readCountMirror{a.Mirror, s}
	return a
}

func (s *readCountStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.one, s.batch = nil, nil
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
	m.s.mu.Unlock()
	return m.Mirror.(store.KindsReader).ReadKinds(ctx, tenantID, kinds)
}

// The mirrors the deletion guard compares a sync's complete listings with are read together,
// by one ReadKinds, not one ReadKind a kind; and the guard still holds a mass removal.
func TestGuardReadsTheMirrorsTogether(t *testing.T) {
	t.Parallel()
	wrapped := &readCountStore{}
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		wrapped.dirStore = memory.New(memory.Config{Now: now})
		return wrapped
	})
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 30)
	h.src.AddTenant(ft)
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
		// The contact match reads the users and mailboxes again; no one reads these one by one.
		assert.NotContains(t, one, k, "read one by one: %v", one)
	}

	// Most users gone at once: held, as when each kind was read on its own.
	for _, u := range ft.Users[:20] {
		h.src.RemoveUser("t1", u.ObjectID)
	}
	h.clock.Advance(time.Hour)
	rep = h.syncNow("t1")
	require.NoError(t, rep.Err)
	assert.True(t, rep.Kinds[tenantsync.KindUsers].Held, "the removal of 20 of 30 users is held")
	assert.Len(t, h.users("t1"), 30+3, "nothing removed")
}
