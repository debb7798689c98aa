// Package memory is a store.Store held in process memory: for tests, examples and runs that
// need nothing kept. It has the full semantics of the durable stores (sealed secrets, cursor
// compare-and-set, atomic commits, keyed audit chain, leases), guarded by one mutex. Mirror
// items are kept decoded, so reading a kind copies values rather than decoding JSON.
//
//	keys, _ := store.NewStaticKeys("k1", map[string][]byte{"k1": key})
//	s := memory.New(memory.Config{Keys: keys})
//	rec, err := s.Account("msp-1").Tenants.Get(ctx, tenantID)
package memory
