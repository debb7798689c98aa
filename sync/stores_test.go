package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// storeCase opens one kind of store for an engine scenario, closed when the test ends.
type storeCase struct {
	name string
	open func(t *testing.T, now func() time.Time) store.Store
}

// engineStores are the stores the engine's scenarios that must hold everywhere run on: the
// in-memory store, SQLite (a real transaction per commit) and PostgreSQL (the shared store,
// from TENANTSYNC_TEST_POSTGRES; scripts/with-postgres.sh starts a throwaway one).
func engineStores() []storeCase {
	return []storeCase{
		{"memory", func(_ *testing.T, now func() time.Time) store.Store {
			return memory.New(memory.Config{Now: now})
		}},
		{"sqlite", func(t *testing.T, now func() time.Time) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tenantsync.db"), sqlite.Config{Keys: storetest.NewKeys(t), Now: now})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{"postgres", openPostgres},
	}
}

// openPostgres opens a PostgreSQL store in a schema of the test's own, dropped afterwards (the
// scenarios share the account name, so they cannot share a schema). Without a server the test
// skips, except under CI, where a missing server is a failure.
func openPostgres(t *testing.T, now func() time.Time) store.Store {
	t.Helper()
	dsn := os.Getenv("TENANTSYNC_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TENANTSYNC_TEST_POSTGRES is not set under CI; run the tests through scripts/with-postgres.sh")
		}
		t.Skip("TENANTSYNC_TEST_POSTGRES is not set; run `bash scripts/with-postgres.sh go test ./sync/` to include PostgreSQL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "tenantsync_sync_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, dsn, postgres.Config{Keys: storetest.NewKeys(t), Schema: schema, Now: now, MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = st.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
			_ = c.Close(ctx)
		}
	})
	return st
}
