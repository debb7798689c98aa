package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/sqlstoretest"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// freshSchema returns the name of a schema of the test's own, dropped when it ends.
func freshSchema(t *testing.T, what string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	fresh := schema + "_" + what + "_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{fresh}.Sanitize()+` CASCADE`)
			_ = c.Close(ctx)
		}
	})
	return fresh
}

// A database written before the audit log was keyed keeps verifying after the upgrade, and
// its unkeyed entries are vouched for by a keyed one.
func TestOpenKeysExistingAuditLogs(t *testing.T) {
	t.Parallel()
	needServer(t)
	fresh := freshSchema(t, "v1")
	sqlstoretest.RunKeyingUpgrade(t,
		func(t *testing.T, logs map[string][]tenantsync.AuditEntry) { postgres.CreateV1(t, dsn, fresh, logs) },
		func(t *testing.T, keys store.KeyProvider) (store.Store, error) {
			s, err := postgres.Open(t.Context(), dsn, postgres.Config{Keys: keys, Schema: fresh, MaxConns: 2})
			if err == nil {
				t.Cleanup(func() { _ = s.Close() })
			}
			return s, err
		})
}

// A database written before the claim queue keeps its tenants' due order after the upgrade.
func TestOpenQueuesTenantsByTheirStates(t *testing.T) {
	t.Parallel()
	needServer(t)
	for _, before := range []string{"0010", "0011"} {
		t.Run(before, func(t *testing.T) {
			fresh := freshSchema(t, "due")
			postgres.CreateBeforeDueQueue(t, dsn, fresh, before)
			sqlstoretest.RunDueUpgrade(t, func(t *testing.T) (store.Store, error) {
				s, err := postgres.Open(t.Context(), dsn, postgres.Config{Keys: storetest.NewKeys(t), Schema: fresh, MaxConns: 2})
				if err == nil {
					t.Cleanup(func() { _ = s.Close() })
				}
				return s, err
			})
		})
	}
}

// Engines starting together against an empty database migrate it once: the advisory lock
// makes the others wait and then find the migrations applied.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	needServer(t)
	fresh := freshSchema(t, "open")
	keys := storetest.NewKeys(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(t.Context(), dsn, postgres.Config{Keys: keys, Schema: fresh, MaxConns: 2,
				Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
			errs[i] = err
			if err == nil {
				_ = s.Close()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	s, err := postgres.Open(t.Context(), dsn, postgres.Config{Keys: keys, Schema: fresh})
	require.NoError(t, err)
	defer s.Close()
	var applied int
	require.NoError(t, s.Pool().QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied))
	assert.Equal(t, postgres.MigrationFiles(), applied, "every migration applied once")
}

func TestOpenFailsClearly(t *testing.T) {
	t.Parallel()
	keys := storetest.NewKeys(t)
	_, err := postgres.Open(t.Context(), "postgres://user:pa55word-XYZ@host:notaport/db", postgres.Config{Keys: keys})
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "pa55word-XYZ")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, "postgres://user:pa55word-XYZ@127.0.0.1:1/db?connect_timeout=2&sslmode=disable", postgres.Config{Keys: keys})
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.NotEmpty(t, tenantsync.HintOf(err))
	assert.NotContains(t, err.Error(), "pa55word-XYZ")
}

// The claim queue's trigger updates the tenants of the schema whose state is written, whatever
// the writing session's search_path: an administrator's session naming another store's schema
// first, or none, writing this schema's states by qualified name.
func TestClaimQueueTriggerKeepsToItsSchema(t *testing.T) {
	t.Parallel()
	needServer(t)
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	open := func(name string) (store.Account, string) {
		fresh := freshSchema(t, name)
		s, err := postgres.Open(ctx, dsn, postgres.Config{Keys: storetest.NewKeys(t), Schema: fresh, MaxConns: 2})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		a := s.Account("acct")
		_, err = a.Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tA"}}, now)
		require.NoError(t, err)
		require.NoError(t, a.Tenants.Link(ctx, "tA", "client-1", now))
		return a, fresh
	}
	a, schemaA := open("qa")
	b, schemaB := open("qb")
	due := func(acct store.Account) int {
		t.Helper()
		ls, err := acct.Leases.AcquireDue(ctx, store.DueRequest{Holder: "h", Now: now, TTL: time.Second, Max: 10})
		require.NoError(t, err)
		for _, l := range ls {
			require.NoError(t, acct.Leases.Release(ctx, l.TenantID, "h"))
		}
		return len(ls)
	}
	write := func(searchPath string, due time.Time) {
		t.Helper()
		c, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, `SELECT set_config('search_path', $1, false)`, searchPath)
		require.NoError(t, err)
		_, err = c.Exec(ctx, `INSERT INTO `+pgx.Identifier{schemaA, "sync_state"}.Sanitize()+` (account, tenant_id, next_due, data)
			VALUES ('acct', 'tA', $1, '{"TenantID":"tA"}') ON CONFLICT (account, tenant_id) DO UPDATE SET next_due = excluded.next_due`, due.UnixMicro())
		require.NoError(t, err)
	}
	write(pgx.Identifier{schemaB}.Sanitize()+", "+pgx.Identifier{schemaA}.Sanitize(), now.Add(time.Hour))
	assert.Equal(t, 0, due(a), "the state written in schema A moved A's tenant")
	assert.Equal(t, 1, due(b), "and left B's alone")
	write("", now.Add(-time.Hour))
	assert.Equal(t, 1, due(a), "a session without a search_path")
}

// A schema named with capitals (or anything SQL would fold or split) is the schema the store
// creates and uses.
func TestOpenInAMixedCaseSchema(t *testing.T) {
	t.Parallel()
	needServer(t)
	ctx := t.Context()
	fresh := freshSchema(t, "Mixed Case")
	s, err := postgres.Open(ctx, dsn, postgres.Config{Keys: storetest.NewKeys(t), Schema: fresh, MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Account("acct").Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tA"}}, time.Now())
	require.NoError(t, err)
	c, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer c.Close(context.Background())
	var n int
	require.NoError(t, c.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{fresh, "tenants"}.Sanitize()).Scan(&n))
	assert.Equal(t, 1, n, "the tenant is in the schema named")
}
