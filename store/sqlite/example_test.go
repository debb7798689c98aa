package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/sqlite"
)

// Open takes a Config; the KeyProvider seals connection secrets and keys the audit log, so a
// file must be opened again with the provider that wrote it.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tenantsync-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys, _ := store.NewStaticKeys("k1", map[string][]byte{"k1": key})

	s, err := sqlite.Open(ctx, filepath.Join(dir, "store.db"), sqlite.Config{Keys: keys})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	msp := s.Account("msp-1")
	err = msp.Connections.Put(ctx, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP,
		Config: []byte(`{"url":"https://cipp.example"}`), Secret: store.NewSecret("api-key")})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := msp.Connections.Get(ctx, "cipp")
	fmt.Println(c.Name, c.Secret, c.KeyID)

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	_, _ = msp.Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{{ID: "tenant-a"}}, now)
	_ = msp.Tenants.Link(ctx, "tenant-a", "client-7", now)
	leases, _ := msp.Leases.AcquireDue(ctx, store.DueRequest{Holder: "engine-1", Now: now, TTL: time.Minute, Max: 10})
	fmt.Println(len(leases), leases[0].TenantID)
	// Output:
	// cipp [REDACTED] k1
	// 1 tenant-a
}
