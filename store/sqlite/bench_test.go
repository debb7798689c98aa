package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// BenchmarkApply: bash scripts/with-postgres.sh go test -run '^$' -bench Apply -benchtime 5x ./store/sqlite/ ./store/postgres/
func BenchmarkApply(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	s := open(b, path, storetest.NewKeys(b))
	// The bare insert goes to the same file through its own handle, with the store's pragmas.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec(`CREATE TABLE bench_bare (account TEXT NOT NULL, tenant_id TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL,
		hash TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (account, tenant_id, kind, item_id))`)
	require.NoError(b, err)
	storetest.BenchmarkApply(b, s, storetest.BenchOptions{Bare: func(ctx context.Context, rows []storetest.BenchRow) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for len(rows) > 0 {
			n := min(1000, len(rows))
			query := `INSERT INTO bench_bare (account, tenant_id, kind, item_id, hash, data) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", n), ", ")
			args := make([]any, 0, 6*n)
			for _, r := range rows[:n] {
				args = append(args, r.Account, r.TenantID, r.Kind, r.ItemID, r.Hash, r.Data)
			}
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return tx.Commit()
	}})
}

// BenchmarkReadKind: go test -run '^$' -bench ReadKind ./store/sqlite/
// "cached" is the steady state of repeated reconciles; "uncached" decodes every item each time.
func BenchmarkReadKind(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int
	}{{"cached", sqlstore.DefaultReadCache}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.BenchmarkReadKind(b, openWith(b, filepath.Join(b.TempDir(), "bench.db"), sqlite.Config{Keys: storetest.NewKeys(b), ReadCache: bc.cache}))
		})
	}
}
