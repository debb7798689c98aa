package postgres

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
)

// A read of one statement runs outside a transaction, so a second statement, which would not
// see the first one's snapshot, fails instead of running.
func TestReadOneRefusesASecondStatement(t *testing.T) {
	dsn := os.Getenv("TENANTSYNC_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("TENANTSYNC_TEST_POSTGRES is not set")
	}
	pool, err := pgxpool.New(t.Context(), dsn)
	require.NoError(t, err)
	defer pool.Close()
	c := &conn{pool: pool}
	for name, second := range map[string]func(q sqlstore.Q) error{
		"QueryRow": func(q sqlstore.Q) error { var n int; return q.QueryRow(t.Context(), "SELECT 2").Scan(&n) },
		"Query": func(q sqlstore.Q) error {
			rows, err := q.Query(t.Context(), "SELECT 2")
			if err == nil {
				rows.Close()
			}
			return err
		},
		"Exec": func(q sqlstore.Q) error { _, err := q.Exec(t.Context(), "SELECT 2"); return err },
	} {
		var n int
		err := c.ReadOne(t.Context(), func(q sqlstore.Q) error {
			if err := q.QueryRow(t.Context(), "SELECT 1").Scan(&n); err != nil {
				return err
			}
			return second(q)
		})
		assert.Equal(t, 1, n, name)
		assert.ErrorIs(t, err, errSecondStatement, name)
	}
}
