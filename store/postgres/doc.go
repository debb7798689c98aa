// Package postgres is the store.Store for several engine processes sharing one PostgreSQL
// database. It uses pgx/v5 with a connection pool, applies its embedded, versioned schema
// migrations on open under an advisory lock (so processes starting together migrate once), and
// hands out tenant leases with FOR UPDATE SKIP LOCKED and expiry, so engines spread the tenants
// between them, never sync one tenant twice at once, and take over the tenants of an engine
// that died once its leases expire.
//
//	s, err := postgres.Open(ctx, "postgres://tenantsync@db.internal/tenantsync", postgres.Config{Keys: keys})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// Writers of one tenant take turns on the tenant's row lock; audit appends and discovery of an
// account take a transaction-scoped advisory lock per account.
//
// Repeated reads of a kind decode only the items that changed since the last read: the store
// keeps up to 50,000 decoded items (Config.ReadCache), checked against each item's stored hash.
package postgres
