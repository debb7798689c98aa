// Package sqlstore is the store.Store both SQL implementations share. It is written once in
// portable SQL (placeholders as ?, ON CONFLICT upserts) against a small database interface;
// store/sqlite and store/postgres supply the connection, the DDL and a Dialect for what
// differs: placeholders, row locks, account locks and which errors a retry resolves.
//
// Concurrency rests on three locks: the tenant's row (every write of one tenant's mirror,
// cursors, links, reviews and state takes it first, so a cursor compare-and-set cannot race),
// an account lock for discovery and audit appends, and a conditional upsert for leases that only
// succeeds on a free or expired lease, whatever snapshot the candidate was read from.
//
// ReadKind keeps the decoded items of recently read kinds (kit.Cache). A read fetches every
// item's ID and hash, takes the items whose hash is unchanged from the cache and reads and
// decodes only the others, all in one read transaction, so it returns that transaction's
// snapshot while a repeated reconcile of an unchanged tenant decodes nothing.
package sqlstore
