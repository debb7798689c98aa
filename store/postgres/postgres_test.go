package postgres_test

import (
	"testing"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// The suite's tamper tests run on this store: they are skipped for a store without the hook.
var _ storetest.AuditTamperer = (*postgres.Store)(nil)

func TestConformance(t *testing.T) {
	needServer(t)
	storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
		return open(t, keys)
	})
}
