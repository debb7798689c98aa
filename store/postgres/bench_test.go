package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// BenchmarkApply: bash scripts/with-postgres.sh go test -run '^$' -bench Apply -benchtime 5x ./store/sqlite/ ./store/postgres/
func BenchmarkApply(b *testing.B) {
	s := open(b, storetest.NewKeys(b))
	ctx := b.Context()
	// The bare insert goes to a table shaped like the mirror in the same schema, through the
	// store's own pool.
	_, err := s.Pool().Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_bare (account TEXT NOT NULL, tenant_id TEXT NOT NULL, kind TEXT NOT NULL,
		item_id TEXT NOT NULL, hash TEXT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (account, tenant_id, kind, item_id))`)
	require.NoError(b, err)
	storetest.BenchmarkApply(b, s, storetest.BenchOptions{Bare: func(ctx context.Context, rows []storetest.BenchRow) error {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		for len(rows) > 0 {
			n := min(1000, len(rows))
			var q strings.Builder
			q.WriteString(`INSERT INTO bench_bare (account, tenant_id, kind, item_id, hash, data) VALUES `)
			args := make([]any, 0, 6*n)
			for i, r := range rows[:n] {
				if i > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", 6*i+1, 6*i+2, 6*i+3, 6*i+4, 6*i+5, 6*i+6)
				args = append(args, r.Account, r.TenantID, r.Kind, r.ItemID, r.Hash, r.Data)
			}
			if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return tx.Commit(ctx)
	}, Settle: func(ctx context.Context) error {
		_, err := s.Pool().Exec(ctx, `ANALYZE mirror`)
		return err
	}})
}

// BenchmarkReadKind: bash scripts/with-postgres.sh go test -run '^$' -bench ReadKind ./store/postgres/
// "cached" is the steady state of repeated reconciles; "uncached" decodes every item each time.
func BenchmarkReadKind(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int
	}{{"cached", sqlstore.DefaultReadCache}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.BenchmarkReadKind(b, openWith(b, postgres.Config{Keys: storetest.NewKeys(b), ReadCache: bc.cache}))
		})
	}
}
