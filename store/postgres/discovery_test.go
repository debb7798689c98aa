package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// Every engine runs discovery at each tick. A listing that changes nothing locks no tenant
// row, so it never waits for a commit holding one (nor makes the account's commits wait for
// it); a listing that changes a tenant waits for that tenant's row like any writer.
func TestDiscoveryWithoutChangesLocksNoTenant(t *testing.T) {
	s := open(t, storetest.NewKeys(t))
	ctx := t.Context()
	acct := "discovery-" + fmt.Sprint(time.Now().UnixNano())
	list := []tenantsync.Tenant{{ID: "tA", DisplayName: "Alpha"}, {ID: "tB", DisplayName: "Beta"}}
	_, err := s.Account(acct).Tenants.RecordDiscovery(ctx, "graph", list, base)
	require.NoError(t, err)

	// A commit in progress holds tA's row.
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	_, err = tx.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, "tenants"}.Sanitize()+
		` WHERE account = $1 AND tenant_id = $2 FOR NO KEY UPDATE`, acct, "tA")
	require.NoError(t, err)

	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, err := s.Account(acct).Tenants.RecordDiscovery(quick, "graph", list, base.Add(time.Minute))
	require.NoError(t, err, "an unchanged listing waited for a tenant row a commit holds")
	assert.Equal(t, 2, d.Seen)

	renamed := []tenantsync.Tenant{{ID: "tA", DisplayName: "Alpha Ltd"}, {ID: "tB", DisplayName: "Beta"}}
	short, cancel2 := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel2()
	_, err = s.Account(acct).Tenants.RecordDiscovery(short, "graph", renamed, base.Add(2*time.Minute))
	require.Error(t, err, "a listing that renames tA wrote around the lock a commit holds")

	require.NoError(t, tx.Rollback(ctx))
	_, err = s.Account(acct).Tenants.RecordDiscovery(ctx, "graph", renamed, base.Add(2*time.Minute))
	require.NoError(t, err)
	got, err := s.Account(acct).Tenants.Get(ctx, "tA")
	require.NoError(t, err)
	assert.Equal(t, "Alpha Ltd", got.DisplayName)
}
