package postgres

import (
	"context"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
	"github.com/tenantsync/tenantsync/store/internal/sqlstoretest"
)

// RawAudit and SetRawAudit implement storetest.AuditTamperer for this package's tests only:
// they reach the audit tables as someone with write access to the database would, so the
// conformance suite can prove VerifyAudit notices what they do.

func (s *Store) RawAudit(ctx context.Context, acct string) ([]tenantsync.AuditEntry, store.AuditHead, error) {
	return sqlstore.RawAudit(ctx, s.b, acct)
}

func (s *Store) SetRawAudit(ctx context.Context, acct string, entries []tenantsync.AuditEntry, head store.AuditHead) error {
	return sqlstore.SetRawAudit(ctx, s.b, acct, entries, head)
}

// CreateV1 creates the named schema in the database dsn names and fills it as version 1 of
// the store's schema left it, holding logs.
func CreateV1(t *testing.T, dsn, schema string, logs map[string][]tenantsync.AuditEntry) {
	withSchema(t, dsn, schema, func(db sqlstore.DB, migrations fs.FS) {
		sqlstoretest.CreateV1(t, db, dialect{}, migrations, logs)
	})
}

// CreateBeforeDueQueue creates the named schema in the database dsn names as the migrations
// before the one named before left it, holding tenants and their sync states (see
// sqlstoretest.CreateBeforeDueQueue).
func CreateBeforeDueQueue(t *testing.T, dsn, schema, before string) {
	withSchema(t, dsn, schema, func(db sqlstore.DB, migrations fs.FS) {
		sqlstoretest.CreateBeforeDueQueue(t, db, dialect{}, migrations, before)
	})
}

// withSchema creates the named schema in the database dsn names and calls fill with a
// connection to it and the package's migrations.
func withSchema(t *testing.T, dsn, schema string, fill func(db sqlstore.DB, migrations fs.FS)) {
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	require.NoError(t, createSchema(t.Context(), cfg.ConnConfig.Copy(), schema))
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	defer pool.Close()
	sub, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	fill(&conn{pool: pool}, sub)
}

// MigrationFiles is how many migrations the package embeds: what a migrated database records.
func MigrationFiles() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}

// DB returns the package's transactions over pool, for the tests of how a write runs.
func DB(pool *pgxpool.Pool) sqlstore.DB { return &conn{pool: pool} }
