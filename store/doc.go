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
//   - The audit log is append-only and chained per account by an HMAC keyed from the
//     KeyProvider; VerifyAudit names the first entry that does not verify. What that does and
//     does not detect is below.
//   - A tenant's lease has one holder at a time; an expired lease can be taken over.
//   - The SQLite file, its -wal and -shm files, and a directory Open creates for it are
//     readable by their owner only.
//   - Errors are *tenantsync.Error values (or types embedding one) with Service "store".
//
// # The audit log and who can rewrite it
//
// Each entry's Hash is an HMAC-SHA256 over every field of the entry, its Seq, its account and
// its predecessor's Hash included. The HMAC key is derived with HKDF-SHA256 from the
// KeyProvider's key named by the entry's KeyID (so the AES key that seals secrets is never
// used for anything else), and new entries use the current key. Keys rotate: an entry keyed
// under an old key verifies as long as the provider still returns that key; once it does not,
// VerifyAudit fails with an *AuditKeyError (tenantsync.ErrNotFound) naming the key to restore.
// Keep retired keys for as long as the entries they keyed.
//
// The threat is someone who can write to the database but does not hold the key: a leaked
// database credential, a backup restored by hand, another application sharing the server.
// Without the key they cannot, undetected:
//
//   - change any field of an entry (actor, outcome, time, detail, ...), even recomputing
//     hashes: a recomputed unkeyed hash, or a MAC under any other key, does not verify;
//   - insert, forge, reorder or remove an entry in the middle of the chain;
//   - copy entries from another account, or move them to other positions;
//   - remove entries from the end while leaving the recorded head behind.
//
// They can still remove entries from the end of an account's log and roll the recorded head
// back to match, or remove the log altogether: what remains is a valid, shorter chain. Only
// a head kept outside the database detects that. VerifyAudit returns the chain's Head (its
// Seq and Hash) with every verification; record it somewhere the database's writers cannot
// reach (the daemon's log shipper, a ticket, a write-once bucket, a second system), and pass
// the last recorded head as expect to later verifications: the chain must still hold that
// exact entry and must not end before it, so a log cut back, even one written on afterwards,
// fails. Heads are not secret. Anyone holding the key can of course rewrite anything; the
// key belongs with the application, not beside the database.
//
// Databases written before the audit log was keyed (schema version 1) hold entries chained by
// an unkeyed SHA-256 (AuditHash) and no key ID. The migration to version 2 appends to every
// such account, in the same transaction and under the current key, a "key_audit_log" entry
// chained to the unkeyed ones, which vouches for them. Those entries keep verifying under the
// unkeyed rule, but only as a prefix a keyed entry follows: an unkeyed entry after a keyed one,
// or a log of unkeyed entries alone, is reported broken, so rewriting a log as unkeyed entries
// does not pass. The upgrade trusts the log as it finds it: entries tampered with before it
// are not detected by it. It needs the KeyProvider: opening such a database without one fails
// and leaves it as it was.
package store
