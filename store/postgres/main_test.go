package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/postgres"
)

// The server the tests use, from TENANTSYNC_TEST_POSTGRES (scripts/with-postgres.sh sets it).
// Each run works in a schema of its own, dropped afterwards, so packages and runs sharing a
// server do not collide.
var (
	dsn    string
	schema string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dsn = os.Getenv("TENANTSYNC_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			fmt.Println("store/postgres: FAIL: TENANTSYNC_TEST_POSTGRES is not set under CI; run the tests through scripts/with-postgres.sh (make test)")
			return 1
		}
		fmt.Println("store/postgres: SKIP: TENANTSYNC_TEST_POSTGRES is not set; run `bash scripts/with-postgres.sh go test ./store/postgres/` to test against a throwaway PostgreSQL")
		return m.Run()
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "tenantsync_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	version, err := serverVersion(ctx)
	cancel()
	if err != nil {
		fmt.Println("store/postgres: FAIL: cannot reach the server named by TENANTSYNC_TEST_POSTGRES:", err)
		return 1
	}
	fmt.Printf("store/postgres: running the PostgreSQL suite against %s in schema %s\n", version, schema)
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		_, _ = c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		_ = c.Close(ctx)
	}
	return code
}

func serverVersion(ctx context.Context) (string, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	var v string
	err = c.QueryRow(ctx, `SHOW server_version`).Scan(&v)
	return "PostgreSQL " + v, err
}

// needServer skips (locally) when no server is configured; under CI, TestMain has already failed.
func needServer(t testing.TB) {
	t.Helper()
	if dsn == "" {
		t.Skip("TENANTSYNC_TEST_POSTGRES is not set")
	}
}

// open returns a store in the run's schema, closed when the test ends.
func open(t testing.TB, keys store.KeyProvider) *postgres.Store {
	return openWith(t, postgres.Config{Keys: keys})
}

// openWith opens a store in the run's schema with cfg, closed when the test ends.
func openWith(t testing.TB, cfg postgres.Config) *postgres.Store {
	t.Helper()
	needServer(t)
	cfg.Schema, cfg.MaxConns = schema, 8
	s, err := postgres.Open(context.Background(), dsn, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}
