// Package store declares what the sync engine remembers, behind one interface, Store, composed
// of small ones: connections and their sealed secrets, discovered tenants and their links to
// clients, the per-tenant mirror of each kind with its cursor, contact links, remembered merges
// and the review queue, sync state, a default client list and contact directory, the audit log,
// and tenant leases.
//
// Three implementations live below: store/memory (tests and throwaway runs), store/sqlite (the
// embedded default) and store/postgres (several engine processes sharing one database).
// store/storetest is the conformance suite a third-party implementation runs to prove itself:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
//			return mystore.New(keys)
//		})
//	}
//
// # Guarantees
//
//   - Every call is scoped to an account (one MSP); nothing of one account is visible or
//     changeable through another.
//   - A kind's mirror and its cursor change in one transaction, guarded by a compare-and-set on
//     the cursor the caller read, so a crash or a concurrent writer never leaves them apart.
//     Commit extends that to a tenant's whole sync outcome.
//   - Secrets are sealed with AES-256-GCM under a KeyProvider's key, the key ID stored beside
//     the ciphertext; the plaintext never reaches storage, and Secret formats as [REDACTED].
//   - The audit log is append-only and hash-chained per account; VerifyAudit names the first
//     entry that does not verify.
//   - A tenant's lease has one holder at a time; an expired lease can be taken over.
//   - Errors are *tenantsync.Error values (or types embedding one) with Service "store".
package store
