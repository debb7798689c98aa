package postgres_test

import (
	"testing"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/storetest"
)

func TestConformance(t *testing.T) {
	needServer(t)
	storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
		return open(t, keys)
	})
}
