package memory_test

import (
	"testing"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
		s := memory.New(keys)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
