package sync

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// The engine's guarantees hold on the embedded SQLite store too, where Commit is a real
// database transaction.
func TestEngineOnSQLite(t *testing.T) {
	t.Parallel()
	h := newHarnessOn(t, func(now func() time.Time) store.Store {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tenantsync.db"), sqlite.Config{Keys: storetest.NewKeys(t), Now: now})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	})
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 5)
	h.src.AddTenant(ft)
	h.discoverAndLink("t1", "client-1")
	ctx := t.Context()
	require.Nil(t, h.state("t1").LastError)
	assert.Len(t, h.users("t1"), 8)
	assert.Len(t, h.links("t1"), 5)

	// Delta with a removal: the contact is deactivated, the cursor advances.
	h.src.RemoveUser("t1", "t1-u000")
	rep := h.syncNow("t1")
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindUsers].Mode)
	assert.Equal(t, 1, rep.Contacts.Deactivated)

	// A partial failure stores the rest and keeps the failed kind.
	h.src.SetMode("t1", tenantsync.KindDevices, FakeUnavailable, tenantsync.Errorf(tenantsync.ErrRoleMissing, "grant Intune Administrator", "403"))
	h.src.mu.Lock()
	h.src.tenants["t1"].Devices = nil
	h.src.mu.Unlock()
	h.src.PutUser("t1", person("t1-u800", "Sam", "Late", "contoso.example"))
	rep = h.syncNow("t1")
	assert.True(t, rep.Partial())
	devices, err := h.st.Account(testAccount).Mirror.ReadKind(ctx, "t1", tenantsync.KindDevices)
	require.NoError(t, err)
	assert.Len(t, devices.Devices, 2)
	assert.Contains(t, h.users("t1"), "t1-u800")

	// An interrupted sync changes nothing.
	h.src.RemoveUser("t1", "t1-u001")
	h.src.SetPageSize(1)
	before := snapshot(t, h, "t1")
	cctx, cancel := context.WithCancel(ctx)
	h.src.OnKind = func(_ string, k tenantsync.Kind) {
		if k == tenantsync.KindMailboxes {
			cancel()
		}
	}
	h.clock.Advance(DefaultCooldown)
	_, err = h.eng.SyncNow(cctx, "t1")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, snapshot(t, h, "t1"))
	h.src.OnKind = nil
	h.syncNow("t1")
	assert.NotContains(t, h.users("t1"), "t1-u001")

	// Unlink with purge empties the mirror and keeps the contacts.
	n := len(h.contacts.All())
	require.NoError(t, h.eng.Unlink(ctx, "alice", "t1", store.UnlinkPurge))
	assert.Empty(t, h.users("t1"))
	assert.Len(t, h.contacts.All(), n)
	h.verifyAudit()
}
