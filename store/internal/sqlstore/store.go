package sqlstore

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// Store implements store.Store over a DB and Dialect.
type Store struct {
	db    DB
	d     Dialect
	keys  store.KeyProvider
	clock func() time.Time
	binds sync.Map // query -> rebound query
	cache *kit.Cache
	// retention is how long the change feed keeps entries.
	retention time.Duration
}

// DefaultReadCache is how many decoded mirror items a store keeps by default: a 50,000-user
// tenant, or many small ones, at roughly a kilobyte an item.
const DefaultReadCache = 50000

// New returns a store over db. clock stamps times the caller does not pass; readCache is how
// many decoded mirror items ReadKind keeps to skip decoding unchanged items (0 for none).
func New(db DB, d Dialect, keys store.KeyProvider, clock func() time.Time, readCache int) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{db: db, d: d, keys: keys, clock: clock, cache: kit.NewCache(readCache), retention: store.DefaultChangeRetention}
}

func (s *Store) now() time.Time { return store.Time(s.clock()) }

// bq rebinds placeholders for the dialect, caching each query's rebound form.
type bq struct {
	q Q
	s *Store
}

func (s *Store) bind(query string) string {
	if v, ok := s.binds.Load(query); ok {
		return v.(string)
	}
	b := s.d.Rebind(query)
	s.binds.Store(query, b)
	return b
}

func (b bq) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return b.q.Exec(ctx, b.s.bind(query), args...)
}

func (b bq) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return b.q.Query(ctx, b.s.bind(query), args...)
}

func (b bq) QueryRow(ctx context.Context, query string, args ...any) Row {
	return b.q.QueryRow(ctx, b.s.bind(query), args...)
}

// later runs a write whose result (rows affected) the caller does not need: sent with the
// transaction's next statement where q is a Deferrer, at once elsewhere.
func (b bq) later(ctx context.Context, query string, args ...any) error {
	if d, ok := b.q.(Deferrer); ok {
		return d.Later(ctx, b.s.bind(query), args...)
	}
	_, err := b.Exec(ctx, query, args...)
	return err
}

const maxAttempts = 5

// write runs fn in a write transaction, retrying when the database reports a unique violation
// or serialisation failure that a fresh attempt resolves (two writers racing to create the
// same row); fn must start from scratch each time.
func (s *Store) write(ctx context.Context, op, tenant string, fn func(q bq) error) error {
	var err error
	for range maxAttempts {
		err = s.db.Write(ctx, func(q Q) error { return fn(bq{q, s}) })
		if err == nil || !s.d.Retryable(err) {
			break
		}
	}
	return wrap(op, tenant, err)
}

func (s *Store) read(ctx context.Context, op, tenant string, fn func(q bq) error) error {
	return wrap(op, tenant, s.db.Read(ctx, func(q Q) error { return fn(bq{q, s}) }))
}

// readOne is read for an fn that issues one statement: outside a transaction where the
// database can (OneReader).
func (s *Store) readOne(ctx context.Context, op, tenant string, fn func(q bq) error) error {
	if o, ok := s.db.(OneReader); ok {
		return wrap(op, tenant, o.ReadOne(ctx, func(q Q) error { return fn(bq{q, s}) }))
	}
	return s.read(ctx, op, tenant, fn)
}

func scanJSON(data []byte, v any) error { return json.Unmarshal(data, v) }

// jsonArg encodes v as a JSON statement argument; an encoding failure fails the statement
// rather than the process.
type jsonArg struct{ v any }

func (j jsonArg) Value() (driver.Value, error) { return json.Marshal(j.v) }

func asJSON(v any) jsonArg { return jsonArg{v} }

func notFound(err error) bool { return errors.Is(err, ErrNoRows) }

// lockTenant reads a tenant's record and locks its row until the transaction ends, so writers
// of one tenant (commits, links, unlinks) take turns and a cursor compare-and-set cannot race.
func (s *Store) lockTenant(ctx context.Context, q bq, op, acct, tenantID string) (store.TenantRecord, error) {
	var data []byte
	err := q.QueryRow(ctx, `SELECT record FROM tenants WHERE account = ? AND tenant_id = ?`+s.d.ForUpdate(), acct, tenantID).Scan(&data)
	if notFound(err) {
		return store.TenantRecord{}, kit.TenantNotFound(op, tenantID)
	}
	if err != nil {
		return store.TenantRecord{}, err
	}
	var rec store.TenantRecord
	return rec, scanJSON(data, &rec)
}

// updateTenant locks a tenant's record, lets fn change it and saves it.
func (s *Store) updateTenant(ctx context.Context, op, acct, tenantID string, fn func(rec *store.TenantRecord) error) error {
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		rec, err := s.lockTenant(ctx, q, op, acct, tenantID)
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
		return saveTenant(ctx, q, acct, rec)
	})
}

// tenantExists fails with ErrNotFound unless the account has the tenant.
func tenantExists(ctx context.Context, q bq, op, acct, tenantID string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM tenants WHERE account = ? AND tenant_id = ?`, acct, tenantID).Scan(&one)
	if notFound(err) {
		return kit.TenantNotFound(op, tenantID)
	}
	return err
}

// scanAll runs query and returns its rows as scan reads them; never nil.
func scanAll[T any](ctx context.Context, q bq, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanJSONRow reads a row of one JSON column.
func scanJSONRow[T any](r Row) (T, error) {
	var data []byte
	var v T
	if err := r.Scan(&data); err != nil {
		return v, err
	}
	return v, scanJSON(data, &v)
}

func scanString(r Row) (string, error) {
	var v string
	return v, r.Scan(&v)
}

func saveTenant(ctx context.Context, q bq, acct string, rec store.TenantRecord) error {
	return q.later(ctx, `INSERT INTO tenants (account, tenant_id, client_id, syncing, status, record) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, tenant_id) DO UPDATE SET client_id = excluded.client_id, syncing = excluded.syncing,
		status = excluded.status, record = excluded.record`,
		acct, rec.ID, rec.ClientID, rec.Syncing, string(rec.Status), asJSON(rec))
}

// Close is a no-op; the owning package closes the database.
func (s *Store) Close() error { return nil }

// Connections

// PutConnection implements store.Connections.
func (s *Store) PutConnection(ctx context.Context, acct string, c store.Connection) error {
	const op = "PutConnection"
	if err := kit.CheckConnection(op, acct, c); err != nil {
		return err
	}
	sealed, err := store.Seal(ctx, s.keys, acct, c.Name, c.Secret)
	if err != nil {
		return err
	}
	config := string(c.Config)
	if config == "" {
		config = "null"
	}
	now := micros(s.now())
	return s.write(ctx, op, "", func(q bq) error {
		_, err := q.Exec(ctx, `INSERT INTO connections (account, name, kind, config, key_id, secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, name) DO UPDATE SET kind = excluded.kind, config = excluded.config,
			key_id = excluded.key_id, secret = excluded.secret, updated_at = excluded.updated_at`,
			acct, c.Name, string(c.Kind), config, sealed.KeyID, sealed.Box, now, now)
		return err
	})
}

const connCols = `name, kind, config, key_id, secret, created_at, updated_at`

func scanConn(r Row) (kit.SealedConnection, error) {
	var cr kit.SealedConnection
	var kind, config string
	var created, updated int64
	if err := r.Scan(&cr.Conn.Name, &kind, &config, &cr.Sealed.KeyID, &cr.Sealed.Box, &created, &updated); err != nil {
		return cr, err
	}
	cr.Conn.Kind = store.ConnectionKind(kind)
	if config != "null" {
		cr.Conn.Config = json.RawMessage(config)
	}
	cr.Conn.KeyID = cr.Sealed.KeyID
	cr.Conn.CreatedAt, cr.Conn.UpdatedAt = fromMicros(created), fromMicros(updated)
	return cr, nil
}

// GetConnection implements store.Connections.
func (s *Store) GetConnection(ctx context.Context, acct, name string) (store.Connection, error) {
	const op = "GetConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.Connection{}, err
	}
	var cr kit.SealedConnection
	err := s.read(ctx, op, "", func(q bq) error {
		var err error
		cr, err = scanConn(q.QueryRow(ctx, `SELECT `+connCols+` FROM connections WHERE account = ? AND name = ?`, acct, name))
		if notFound(err) {
			return kit.ConnectionNotFound(op, name)
		}
		return err
	})
	if err != nil {
		return store.Connection{}, err
	}
	return kit.OpenConnection(ctx, s.keys, acct, cr)
}

// ListConnections implements store.Connections.
func (s *Store) ListConnections(ctx context.Context, acct string) ([]store.Connection, error) {
	const op = "ListConnections"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	var crs []kit.SealedConnection
	err := s.read(ctx, op, "", func(q bq) (err error) {
		crs, err = scanAll(ctx, q, scanConn, `SELECT `+connCols+` FROM connections WHERE account = ? ORDER BY name`, acct)
		return err
	})
	if err != nil {
		return nil, err
	}
	return kit.OpenConnections(ctx, s.keys, acct, crs...)
}

// DeleteConnection implements store.Connections.
func (s *Store) DeleteConnection(ctx context.Context, acct, name string) error {
	const op = "DeleteConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		n, err := q.Exec(ctx, `DELETE FROM connections WHERE account = ? AND name = ?`, acct, name)
		if err == nil && n == 0 {
			return kit.ConnectionNotFound(op, name)
		}
		return err
	})
}

// RotateSecrets implements store.Connections. Nothing changes unless every secret re-seals.
func (s *Store) RotateSecrets(ctx context.Context, acct string) (int, error) {
	const op = "RotateSecrets"
	r, err := kit.NewResealer(ctx, op, acct, s.keys)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.write(ctx, op, "", func(q bq) error {
		n = 0
		crs, err := scanAll(ctx, q, scanConn, `SELECT `+connCols+` FROM connections WHERE account = ? AND key_id <> ? ORDER BY name`+s.d.ForUpdate(), acct, r.Current)
		if err != nil {
			return err
		}
		for _, cr := range crs {
			sealed, err := r.Reseal(ctx, cr.Conn.Name, cr.Sealed)
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `UPDATE connections SET key_id = ?, secret = ?, updated_at = ? WHERE account = ? AND name = ?`,
				sealed.KeyID, sealed.Box, micros(s.now()), acct, cr.Conn.Name); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Tenants

// RecordDiscovery implements store.Tenants.
func (s *Store) RecordDiscovery(ctx context.Context, acct, source string, tenants []tenantsync.Tenant, now time.Time) (store.Discovery, error) {
	const op = "RecordDiscovery"
	if err := kit.CheckDiscovery(op, acct, source, tenants); err != nil {
		return store.Discovery{}, err
	}
	var d store.Discovery
	err := s.write(ctx, op, "", func(q bq) error {
		// Discovery rewrites several tenants from one listing: two engines discovering the same
		// account at once would otherwise lose each other's source changes.
		if err := s.d.LockAccount(ctx, q.q, acct, "discovery"); err != nil {
			return err
		}
		// Most listings change nothing (kit.Discover leaves a record seen recently as it is),
		// so the records are read unlocked first: locking them would make every commit of the
		// account wait for each engine's discovery. Only a listing that changes something reads
		// them again locked and decides on what is current.
		var known map[string]store.TenantRecord
		var touched []string
		for i, lock := range []string{"", s.d.ForUpdate()} {
			if i > 0 && lock == "" {
				break // a database without row locks (SQLite) runs one writer at a time anyway
			}
			recs, err := scanAll(ctx, q, scanJSONRow[store.TenantRecord], `SELECT record FROM tenants WHERE account = ?`+lock, acct)
			if err != nil {
				return err
			}
			known = make(map[string]store.TenantRecord, len(recs))
			for _, rec := range recs {
				known[rec.ID] = rec
			}
			if d, touched = kit.Discover(known, source, tenants, now); len(touched) == 0 {
				return nil
			}
		}
		for _, id := range touched {
			if err := saveTenant(ctx, q, acct, known[id]); err != nil {
				return err
			}
		}
		return nil
	})
	return d, err
}

// GetTenant implements store.Tenants.
func (s *Store) GetTenant(ctx context.Context, acct, tenantID string) (store.TenantRecord, error) {
	const op = "GetTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.TenantRecord{}, err
	}
	var rec store.TenantRecord
	err := s.readOne(ctx, op, tenantID, func(q bq) (err error) {
		rec, err = scanJSONRow[store.TenantRecord](q.QueryRow(ctx, `SELECT record FROM tenants WHERE account = ? AND tenant_id = ?`, acct, tenantID))
		if notFound(err) {
			return kit.TenantNotFound(op, tenantID)
		}
		return err
	})
	return rec, err
}

// ListTenants implements store.Tenants.
func (s *Store) ListTenants(ctx context.Context, acct string) ([]store.TenantRecord, error) {
	return listJSON[store.TenantRecord](ctx, s, "ListTenants", acct, "", `SELECT record FROM tenants WHERE account = ? ORDER BY tenant_id`, acct)
}

// ListClientTenants implements store.ClientTenants.
func (s *Store) ListClientTenants(ctx context.Context, acct, clientID string) ([]store.TenantRecord, error) {
	return listJSON[store.TenantRecord](ctx, s, "ListClientTenants", acct, "",
		`SELECT record FROM tenants WHERE account = ? AND client_id = ? ORDER BY tenant_id`, acct, clientID)
}

// listJSON validates acct and returns the rows of a query of one JSON column.
func listJSON[T any](ctx context.Context, s *Store, op, acct, tenantID, query string, args ...any) ([]T, error) {
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	var out []T
	err := s.readOne(ctx, op, tenantID, func(q bq) (err error) {
		out, err = scanAll(ctx, q, scanJSONRow[T], query, args...)
		return err
	})
	return out, err
}

// LinkTenant implements store.Tenants.
func (s *Store) LinkTenant(ctx context.Context, acct, tenantID, clientID string, now time.Time) error {
	const op = "LinkTenant"
	if err := kit.CheckLinkTenant(op, acct, tenantID, clientID); err != nil {
		return err
	}
	return s.updateTenant(ctx, op, acct, tenantID, func(rec *store.TenantRecord) error {
		return kit.LinkTo(op, rec, clientID, now)
	})
}

// UnlinkTenant implements store.Tenants.
func (s *Store) UnlinkTenant(ctx context.Context, acct, tenantID string, mode store.UnlinkMode) error {
	const op = "UnlinkTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	err := s.write(ctx, op, tenantID, func(q bq) error {
		rec, err := s.lockTenant(ctx, q, op, acct, tenantID)
		if err != nil {
			return err
		}
		return unlinkIn(ctx, q, acct, rec, mode)
	})
	if err == nil && mode == store.UnlinkPurge {
		s.cache.Drop(acct, tenantID)
	}
	return err
}

// unlinkIn removes the link of the locked tenant rec as mode says, within q's transaction.
func unlinkIn(ctx context.Context, q bq, acct string, rec store.TenantRecord, mode store.UnlinkMode) error {
	kit.Unlink(&rec)
	if err := saveTenant(ctx, q, acct, rec); err != nil {
		return err
	}
	if mode != store.UnlinkPurge {
		return nil
	}
	for _, table := range []string{"mirror", "cursors", "contact_links", "merges", "reviews", "sync_state", "staged_items", "stages"} {
		if _, err := q.Exec(ctx, `DELETE FROM `+table+` WHERE account = ? AND tenant_id = ?`, acct, rec.ID); err != nil {
			return err
		}
	}
	return nil
}

// SetSyncing implements store.Tenants.
func (s *Store) SetSyncing(ctx context.Context, acct, tenantID string, syncing bool) error {
	const op = "SetSyncing"
	return s.updateTenant(ctx, op, acct, tenantID, func(rec *store.TenantRecord) error {
		return kit.SetSyncing(op, rec, syncing)
	})
}

// SetEnabledKinds implements store.Tenants.
func (s *Store) SetEnabledKinds(ctx context.Context, acct, tenantID string, kinds []tenantsync.Kind) error {
	const op = "SetEnabledKinds"
	kinds, err := kit.CheckKinds(op, kinds)
	if err != nil {
		return err
	}
	return s.updateTenant(ctx, op, acct, tenantID, func(rec *store.TenantRecord) error {
		rec.EnabledKinds = kinds
		return nil
	})
}

// Accounts implements store.Tenants.
func (s *Store) Accounts(ctx context.Context) (out []string, err error) {
	err = s.read(ctx, "Accounts", "", func(q bq) (err error) {
		out, err = scanAll(ctx, q, scanString, `SELECT DISTINCT account FROM tenants ORDER BY account`)
		return err
	})
	return out, err
}
