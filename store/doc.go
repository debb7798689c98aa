// Package store declares what the sync engine remembers: connections and their sealed secrets,
// discovered tenants and their links to clients, the per-tenant mirror of each kind with its
// cursor, contact links, remembered merges and the review queue, sync state, the audit log, and
// tenant leases.
//
// Everything is reached through one account's handle, a value with one small interface per
// role:
//
//	msp := st.Account("msp-1") // no I/O
//	rec, err := msp.Tenants.Get(ctx, tenantID)
//	res, err := msp.Mirror.Commit(ctx, store.Batch{TenantID: tenantID, ...})
//	lease, err := msp.Leases.Acquire(ctx, store.LeaseRequest{TenantID: tenantID, Holder: id, Now: now, TTL: ttl})
//
// # Why it looks like this
//
//   - The account is a scope, not an argument: every stored row belongs to one MSP, and a call
//     that repeated the account beside other strings invited passing one in the place of the
//     other. Store.Account binds it once; nothing reached through the handle can name another.
//   - A consumer depends on the roles it calls (Tenants, Mirror, Leases, ...), each a handful of
//     methods with short names, rather than on one interface of every method; a test double
//     replaces one role of an Account and keeps the rest.
//   - Calls that took several arguments of one type take a request (LeaseRequest, DueRequest),
//     and a review's resolution is a typed Resolution, not a contact ID or a magic word. A
//     stored Review keeps the resolution's stored form (Review.Resolution, as databases written
//     before hold it) and reads it back typed with Review.Outcome.
//   - The default client list and contact directory (Directory) is a stand-in for a PSA, not
//     something the engine needs to remember: it is separate and optional. The stores in this
//     module offer one through Directory(account) (DirectoryProvider); ContactsFor adapts it to
//     tenantsync.Contacts, and the engine falls back to it only when given no PSA of its own.
//   - A streamed kind (store.Stager) waits in a stage of its sync run until the commit applies
//     it in its one transaction, with the cursor compare-and-set; until then the mirror shows
//     nothing of it, and a run that fails leaves the stage to be discarded.
//
// Three implementations live below: store/memory (tests and throwaway runs), store/sqlite (the
// embedded default) and store/postgres (several engine processes sharing one database).
// store/storetest is the conformance suite a third-party implementation runs to prove itself:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, keys store.KeyProvider) store.Store {
//			return mystore.New(mystore.Config{Keys: keys})
//		})
//	}
//
// # Guarantees
//
//   - Every call is scoped to an account (one MSP), through Store.Account; nothing of one
//     account is visible or changeable through another.
//   - A kind's mirror and its cursor change in one transaction, guarded by a compare-and-set on
//     the cursor the caller read, so a crash or a concurrent writer never leaves them apart.
//     Mirror.Commit extends that to a tenant's whole sync outcome.
//   - Secrets are sealed with AES-256-GCM under a KeyProvider's key, the key ID stored beside
//     the ciphertext; the plaintext never reaches storage, and Secret formats as [REDACTED].
//   - The audit log is append-only and chained per account by an HMAC keyed from the
//     KeyProvider; Audit.Verify names the first entry that does not verify. What that does and
//     does not detect is below.
//   - A tenant's lease has one holder at a time; an expired lease can be taken over.
//   - What a commit changes (items upserted and removed per kind, links, queued reviews, and
//     the entries the caller passes in Batch.Changes) is appended to the account's change feed
//     (Account.Feed) in the commit's own transaction: the feed never shows a change that was
//     rolled back, nor misses one that was stored. Entries are numbered per account in commit
//     order, so a consumer that has read up to a Seq never later finds a smaller one; each has
//     a stable ID. Retention removes old entries, and a cursor before them fails with
//     *FeedCursorError (tenantsync.ErrCursorExpired) rather than skip them silently.
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
// Audit.Verify fails with an *AuditKeyError (tenantsync.ErrNotFound) naming the key to restore.
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
// a head kept outside the database detects that. Audit.Verify returns the chain's Head (its
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
