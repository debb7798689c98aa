package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"

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

// CreateV1 creates the database at path as version 1 of the schema left it, holding logs.
func CreateV1(t *testing.T, path string, logs map[string][]tenantsync.AuditEntry) {
	withDB(t, path, func(db sqlstore.DB, migrations fs.FS) {
		sqlstoretest.CreateV1(t, db, dialect{}, migrations, logs)
	})
}

// CreateBeforeDueQueue creates the database at path as the migrations before the one named
// before left it, holding tenants and their sync states (see sqlstoretest.CreateBeforeDueQueue).
func CreateBeforeDueQueue(t *testing.T, path, before string) {
	withDB(t, path, func(db sqlstore.DB, migrations fs.FS) {
		sqlstoretest.CreateBeforeDueQueue(t, db, dialect{}, migrations, before)
	})
}

// withDB opens the database at path and calls fill with it and the package's migrations.
func withDB(t *testing.T, path string, fill func(db sqlstore.DB, migrations fs.FS)) {
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	sub, err := fs.Sub(migrations, "migrations")
	require.NoError(t, err)
	fill(&conn{db: db}, sub)
}

// MigrationFiles is how many migrations the package embeds: what a migrated database records.
func MigrationFiles() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}
