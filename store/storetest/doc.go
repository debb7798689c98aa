// Package storetest is the conformance suite of store.Store. An implementation proves itself by
// calling Run from a test with a function that returns a fresh, empty store sealing secrets with
// the given keys:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
//			s := mystore.New(mystore.Config{Keys: keys})
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite covers account isolation, connections and secret rotation, discovery, linking,
// transactional apply with cursor compare-and-set, contact-link uniqueness, reviews, sync state,
// the default Directory (when the store is a store.DirectoryProvider; the checks that need it
// are skipped for a store without one), the keyed audit chain with key rotation and expected heads, leases with
// expiry and takeover, unlink keep versus purge, and concurrent writers. Run it with -race.
//
// Tamper detection needs the suite to reach the stored audit log as someone with write access
// to the database would: a store whose tests implement AuditTamperer (in an export_test.go,
// so the hook never reaches its users) gets every tampering the suite knows tried on it.
package storetest
