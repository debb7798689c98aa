// Package sqlite is the embedded store.Store: one SQLite file, no server, the daemon's default.
// It uses modernc.org/sqlite (pure Go) in WAL mode with a busy timeout and foreign keys on,
// applies its embedded, versioned schema migrations on open, and creates the file and its
// directory on first use, for their owner only (0600 and 0700; SQLite gives the -wal and -shm
// files the database file's mode). Readers run side by side; writers take turns.
//
// The KeyProvider seals secrets and keys the audit log, so open a file with the provider
// that wrote it; a file from before the audit log was keyed is upgraded on open with it.
//
//	s, err := sqlite.Open(ctx, "/var/lib/tenantsync/store.db", sqlite.Config{Keys: keys})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// Repeated reads of a kind decode only the items that changed since the last read: the store
// keeps up to 50,000 decoded items (Config.ReadCache), checked against each item's stored hash.
package sqlite
