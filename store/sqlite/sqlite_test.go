package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/sqlstoretest"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/store/storetest"
)

func open(t testing.TB, path string, keys store.KeyProvider) *sqlite.Store {
	return openWith(t, path, sqlite.Config{Keys: keys})
}

func openWith(t testing.TB, path string, cfg sqlite.Config) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The suite's tamper tests run on this store: they are skipped for a store without the hook.
var _ storetest.AuditTamperer = (*sqlite.Store)(nil)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
		return open(t, filepath.Join(t.TempDir(), "store.db"), keys)
	})
}

func TestOpenCreatesFileAndMigratesOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "dir", "store.db")
	keys := storetest.NewKeys(t)
	s := open(t, path, keys)
	_, err := os.Stat(path)
	require.NoError(t, err, "the file and its directory are created on first open")
	_, err = s.Account("acct").Tenants.RecordDiscovery(t.Context(), "cipp", []tenantsync.Tenant{{ID: "t1"}}, time.Now())
	require.NoError(t, err)

	// A second store on the same file (as a second process would) sees the data and does not
	// apply the migrations again.
	again := open(t, path, keys)
	got, err := again.Account("acct").Tenants.Get(t.Context(), "t1")
	require.NoError(t, err)
	assert.Equal(t, "t1", got.ID)

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
	assert.Equal(t, sqlite.MigrationFiles(), n, "every migration applied once")
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

// A database written before the audit log was keyed keeps verifying after the upgrade, and
// its unkeyed entries are vouched for by a keyed one.
func TestOpenKeysExistingAuditLogs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	sqlstoretest.RunKeyingUpgrade(t,
		func(t *testing.T, logs map[string][]tenantsync.AuditEntry) { sqlite.CreateV1(t, path, logs) },
		func(t *testing.T, keys store.KeyProvider) (store.Store, error) {
			s, err := sqlite.Open(t.Context(), path, sqlite.Config{Keys: keys})
			if err == nil {
				t.Cleanup(func() { _ = s.Close() })
			}
			return s, err
		})
}

// A database written before the claim queue keeps its tenants' due order after the upgrade.
func TestOpenQueuesTenantsByTheirStates(t *testing.T) {
	t.Parallel()
	for _, before := range []string{"0010", "0011"} {
		t.Run(before, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			sqlite.CreateBeforeDueQueue(t, path, before)
			sqlstoretest.RunDueUpgrade(t, func(t *testing.T) (store.Store, error) {
				s, err := sqlite.Open(t.Context(), path, sqlite.Config{Keys: storetest.NewKeys(t)})
				if err == nil {
					t.Cleanup(func() { _ = s.Close() })
				}
				return s, err
			})
		})
	}
}

// The audit log of a file outlives the process, so it is keyed with the KeyProvider the file
// is opened with, and there is no writing it without one.
func TestAuditNeedsAKeyProvider(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "store.db"), nil)
	_, err := s.Account("acct").Audit.Append(t.Context(), tenantsync.AuditEntry{Actor: "alice", Action: "link"})
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "KeyProvider")
	rep, err := s.Account("acct").Audit.Verify(t.Context(), nil)
	require.NoError(t, err, "an empty log needs no key")
	assert.True(t, rep.OK())
}

func TestOpenRejectsUnusablePath(t *testing.T) {
	t.Parallel()
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o600))
	_, err := sqlite.Open(t.Context(), filepath.Join(blocker, "store.db"), sqlite.Config{Keys: storetest.NewKeys(t)})
	require.Error(t, err)
	assert.NotEmpty(t, tenantsync.HintOf(err))
	_, err = sqlite.Open(t.Context(), "", sqlite.Config{Keys: storetest.NewKeys(t)})
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

// The secret's plaintext must not reach the database: scan every byte of the file and its
// write-ahead log while the store is open and after it is closed.
func TestSecretPlaintextNeverOnDisk(t *testing.T) {
	t.Parallel()
	const plaintext = "PLAINTEXT-client-secret-Zq8wX2"
	dir := t.TempDir()
	path := filepath.Join(dir, "store.db")
	keys := storetest.NewKeys(t)
	s, err := sqlite.Open(t.Context(), path, sqlite.Config{Keys: keys})
	require.NoError(t, err)
	ctx := t.Context()
	for _, name := range []string{"cipp", "partner"} {
		require.NoError(t, s.Account("acct").Connections.Put(ctx, store.Connection{Name: name, Kind: store.ConnectionCIPP,
			Config: []byte(`{"clientId":"11111111-2222-3333-4444-555555555555"}`), Secret: store.NewSecret(plaintext)}))
	}
	c, err := s.Account("acct").Connections.Get(ctx, "cipp")
	require.NoError(t, err)
	require.Equal(t, plaintext, c.Secret.Reveal(), "the secret round-trips, so the scan below is meaningful")

	scan := func(when string) {
		files, err := filepath.Glob(path + "*")
		require.NoError(t, err)
		require.NotEmpty(t, files)
		sawConfig := false
		for _, f := range files {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			assert.False(t, bytes.Contains(data, []byte(plaintext)), "%s: plaintext found in %s", when, filepath.Base(f))
			sawConfig = sawConfig || bytes.Contains(data, []byte("11111111-2222-3333-4444-555555555555"))
		}
		assert.True(t, sawConfig, "%s: the scan must see the connection rows that were written", when)
	}
	scan("open")
	keys.Rotate(t, "k2")
	n, err := s.Account("acct").Connections.RotateSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	scan("rotated")
	require.NoError(t, s.Close())
	scan("closed")
}

func TestWritersFromTwoHandlesShareOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	keys := storetest.NewKeys(t)
	a, b := open(t, path, keys), open(t, path, keys)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for i, s := range []*sqlite.Store{a, b} {
		go func() {
			var err error
			for j := range 20 {
				if _, err = s.Account("acct").Audit.Append(ctx, tenantsync.AuditEntry{Actor: string(rune('a' + i)), Action: "link", Target: string(rune('0' + j))}); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	rep, err := a.Account("acct").Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%+v", rep)
	assert.Equal(t, 40, rep.Entries)
}

// The claim queue follows the sync states whoever writes them: an engine of an earlier version
// during an upgrade writes sync_state without the tenant row's next_due, and the database's
// triggers copy it (and reset it when the state is deleted).
func TestClaimQueueFollowsStatesWrittenDirectly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path, storetest.NewKeys(t))
	a := s.Account("acct")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	_, err := a.Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tA"}, {ID: "tB"}}, now)
	require.NoError(t, err)
	for _, id := range []string{"tA", "tB"} {
		require.NoError(t, a.Tenants.Link(ctx, id, "client-1", now))
	}
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	due := func() []string {
		t.Helper()
		ls, err := a.Leases.AcquireDue(ctx, store.DueRequest{Holder: "h", Now: now, TTL: time.Second, Max: 10})
		require.NoError(t, err)
		var ids []string
		for _, l := range ls {
			ids = append(ids, l.TenantID)
			require.NoError(t, a.Leases.Release(ctx, l.TenantID, "h"))
		}
		return ids
	}
	require.Equal(t, []string{"tA", "tB"}, due())

	_, err = db.ExecContext(ctx, `INSERT INTO sync_state (account, tenant_id, next_due, data) VALUES ('acct', 'tA', ?, '{"TenantID":"tA"}')`, now.Add(time.Hour).UnixMicro())
	require.NoError(t, err)
	assert.Equal(t, []string{"tB"}, due(), "a state inserted directly")
	_, err = db.ExecContext(ctx, `UPDATE sync_state SET next_due = ? WHERE account = 'acct' AND tenant_id = 'tA'`, now.Add(-time.Hour).UnixMicro())
	require.NoError(t, err)
	assert.Equal(t, []string{"tB", "tA"}, due(), "a state updated directly: tB, never synced, first")
	_, err = db.ExecContext(ctx, `UPDATE sync_state SET next_due = ? WHERE account = 'acct' AND tenant_id = 'tA'`, now.Add(time.Hour).UnixMicro())
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `DELETE FROM sync_state WHERE account = 'acct' AND tenant_id = 'tA'`)
	require.NoError(t, err)
	assert.Equal(t, []string{"tA", "tB"}, due(), "a state deleted directly")
}
