package memory_test

import (
	"testing"

	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// BenchmarkReadKind: go test -run '^$' -bench ReadKind ./store/memory/
func BenchmarkReadKind(b *testing.B) {
	storetest.BenchmarkReadKind(b, memory.New(memory.Config{Keys: storetest.NewKeys(b)}))
}
