package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// Several engine processes share one database; each opens it with the same Config. This
// example needs a server, so go test compiles it without running it; TestExampleOpen runs the
// same steps against the test server when TENANTSYNC_TEST_POSTGRES names one.
func ExampleOpen() {
	ctx := context.Background()
	key := make([]byte, 32) // use your KeyProvider (a KMS, a vault) rather than a key in memory
	_, _ = rand.Read(key)
	keys, _ := store.NewStaticKeys("k1", map[string][]byte{"k1": key})
	s, err := postgres.Open(ctx, "postgres://tenantsync@db.internal/tenantsync",
		postgres.Config{Keys: keys, Schema: "tenantsync", MaxConns: 8})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if err := claimDue(ctx, s, os.Stdout); err != nil {
		fmt.Println(err)
	}
}

// claimDue is the example's work: discover a tenant, link it and claim it for this engine.
func claimDue(ctx context.Context, s *postgres.Store, out io.Writer) error {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msp := s.Account("msp-example")
	if _, err := msp.Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tenant-a"}}, now); err != nil {
		return err
	}
	if err := msp.Tenants.Link(ctx, "tenant-a", "client-7", now); err != nil {
		return err
	}
	leases, err := msp.Leases.AcquireDue(ctx, store.DueRequest{Holder: "engine-1", Now: now, TTL: time.Minute, Max: 10})
	if err != nil {
		return err
	}
	for _, l := range leases {
		fmt.Fprintln(out, l.TenantID, l.Holder)
	}
	return nil
}

func TestExampleOpen(t *testing.T) {
	t.Parallel()
	s := open(t, storetest.NewKeys(t))
	var out bytes.Buffer
	require.NoError(t, claimDue(t.Context(), s, &out))
	assert.Equal(t, "tenant-a engine-1\n", out.String())
}
