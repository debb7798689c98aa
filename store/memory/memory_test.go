package memory_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// The suite's tamper tests run on this store: they are skipped for a store without the hook.
var _ storetest.AuditTamperer = (*memory.Store)(nil)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
		s := memory.New(memory.Config{Keys: keys})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// Without a KeyProvider the store keys its audit log with a key of its own lifetime, so tests
// and throwaway runs that keep no secrets still get a verifiable log.
func TestAuditWithoutKeyProvider(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New(memory.Config{})
	for range 3 {
		e, err := s.Account("acct").Audit.Append(ctx, tenantsync.AuditEntry{Actor: "alice", Action: "link"})
		require.NoError(t, err)
		assert.NotEmpty(t, e.KeyID)
	}
	rep, err := s.Account("acct").Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%+v", rep)
	assert.Equal(t, 3, rep.Entries)
	err = s.Account("acct").Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Secret: store.NewSecret("s")})
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, "secrets still need a KeyProvider")
}
