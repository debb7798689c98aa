package sqlstore

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"slices"
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
}

// DefaultReadCache is how many decoded mirror items a store keeps by default: a 50,000-user
// tenant, or many small ones, at roughly a kilobyte an item.
const DefaultReadCache = 50000

var _ store.Tamperer = (*Store)(nil)

// New returns a store over db. clock stamps times the caller does not pass; readCache is how
// many decoded mirror items ReadKind keeps to skip decoding unchanged items (0 for none).
func New(db DB, d Dialect, keys store.KeyProvider, clock func() time.Time, readCache int) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{db: db, d: d, keys: keys, clock: clock, cache: kit.NewCache(readCache)}
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
		return store.TenantRecord{}, store.NotFound(op, tenantID, "no tenant %s in this account", tenantID)
	}
	if err != nil {
		return store.TenantRecord{}, err
	}
	var rec store.TenantRecord
	return rec, scanJSON(data, &rec)
}

func saveTenant(ctx context.Context, q bq, acct string, rec store.TenantRecord) error {
	_, err := q.Exec(ctx, `INSERT INTO tenants (account, tenant_id, client_id, syncing, status, record) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, tenant_id) DO UPDATE SET client_id = excluded.client_id, syncing = excluded.syncing,
		status = excluded.status, record = excluded.record`,
		acct, rec.ID, rec.ClientID, rec.Syncing, string(rec.Status), asJSON(rec))
	return err
}

// Close is a no-op; the owning package closes the database.
func (s *Store) Close() error { return nil }

// Connections

func checkConnection(op string, c store.Connection) error {
	if c.Name == "" {
		return store.Invalid(op, "name the connection", "connection without a name")
	}
	if !c.Kind.Valid() {
		return store.Invalid(op, `use "cipp", "graph" or "partnercenter"`, "connection %q has unknown kind %q", c.Name, c.Kind)
	}
	return nil
}

func (s *Store) PutConnection(ctx context.Context, acct string, c store.Connection) error {
	const op = "PutConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	if err := checkConnection(op, c); err != nil {
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

type connRow struct {
	c      store.Connection
	sealed store.Sealed
}

const connCols = `name, kind, config, key_id, secret, created_at, updated_at`

func scanConn(r interface{ Scan(...any) error }) (connRow, error) {
	var cr connRow
	var kind, config string
	var created, updated int64
	if err := r.Scan(&cr.c.Name, &kind, &config, &cr.sealed.KeyID, &cr.sealed.Box, &created, &updated); err != nil {
		return cr, err
	}
	cr.c.Kind = store.ConnectionKind(kind)
	if config != "null" {
		cr.c.Config = json.RawMessage(config)
	}
	cr.c.KeyID = cr.sealed.KeyID
	cr.c.CreatedAt, cr.c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return cr, nil
}

func (s *Store) GetConnection(ctx context.Context, acct, name string) (store.Connection, error) {
	const op = "GetConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.Connection{}, err
	}
	var cr connRow
	err := s.read(ctx, op, "", func(q bq) error {
		var err error
		cr, err = scanConn(q.QueryRow(ctx, `SELECT `+connCols+` FROM connections WHERE account = ? AND name = ?`, acct, name))
		if notFound(err) {
			return store.NotFound(op, "", "no connection %q", name)
		}
		return err
	})
	if err != nil {
		return store.Connection{}, err
	}
	return s.openConn(ctx, acct, cr)
}

func (s *Store) openConn(ctx context.Context, acct string, cr connRow) (store.Connection, error) {
	secret, err := store.Open(ctx, s.keys, acct, cr.c.Name, cr.sealed)
	if err != nil {
		return store.Connection{}, err
	}
	cr.c.Secret = secret
	return cr.c, nil
}

func (s *Store) ListConnections(ctx context.Context, acct string) ([]store.Connection, error) {
	const op = "ListConnections"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	var crs []connRow
	err := s.read(ctx, op, "", func(q bq) error {
		rows, err := q.Query(ctx, `SELECT `+connCols+` FROM connections WHERE account = ? ORDER BY name`, acct)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cr, err := scanConn(rows)
			if err != nil {
				return err
			}
			crs = append(crs, cr)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.Connection, 0, len(crs))
	for _, cr := range crs {
		c, err := s.openConn(ctx, acct, cr)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Store) DeleteConnection(ctx context.Context, acct, name string) error {
	const op = "DeleteConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		n, err := q.Exec(ctx, `DELETE FROM connections WHERE account = ? AND name = ?`, acct, name)
		if err == nil && n == 0 {
			return store.NotFound(op, "", "no connection %q", name)
		}
		return err
	})
}

func (s *Store) RotateSecrets(ctx context.Context, acct string) (int, error) {
	const op = "RotateSecrets"
	if err := store.CheckAccount(op, acct); err != nil {
		return 0, err
	}
	if s.keys == nil {
		return 0, store.Invalid(op, "configure the store with a KeyProvider", "no key provider")
	}
	current, _, err := s.keys.CurrentKey(ctx)
	if err != nil {
		return 0, store.Internal(op, "", err)
	}
	var n int
	err = s.write(ctx, op, "", func(q bq) error {
		n = 0
		rows, err := q.Query(ctx, `SELECT `+connCols+` FROM connections WHERE account = ? AND key_id <> ? ORDER BY name`+s.d.ForUpdate(), acct, current)
		if err != nil {
			return err
		}
		var crs []connRow
		for rows.Next() {
			cr, err := scanConn(rows)
			if err != nil {
				rows.Close()
				return err
			}
			crs = append(crs, cr)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, cr := range crs {
			secret, err := store.Open(ctx, s.keys, acct, cr.c.Name, cr.sealed)
			if err != nil {
				return err
			}
			sealed, err := store.Seal(ctx, s.keys, acct, cr.c.Name, secret)
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `UPDATE connections SET key_id = ?, secret = ?, updated_at = ? WHERE account = ? AND name = ?`,
				sealed.KeyID, sealed.Box, micros(s.now()), acct, cr.c.Name); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Tenants

func (s *Store) RecordDiscovery(ctx context.Context, acct, source string, tenants []tenantsync.Tenant, now time.Time) (store.Discovery, error) {
	const op = "RecordDiscovery"
	if err := kit.CheckDiscovery(op, acct, source, tenants); err != nil {
		return store.Discovery{}, err
	}
	var d store.Discovery
	err := s.write(ctx, op, "", func(q bq) error {
		d = store.Discovery{Seen: len(tenants)}
		// Discovery rewrites several tenants from one listing: two engines discovering the same
		// account at once would otherwise lose each other's source changes.
		if err := s.d.LockAccount(ctx, q.q, acct, "discovery"); err != nil {
			return err
		}
		known := map[string]store.TenantRecord{}
		rows, err := q.Query(ctx, `SELECT record FROM tenants WHERE account = ?`+s.d.ForUpdate(), acct)
		if err != nil {
			return err
		}
		for rows.Next() {
			var data []byte
			var rec store.TenantRecord
			if err := rows.Scan(&data); err != nil {
				rows.Close()
				return err
			}
			if err := scanJSON(data, &rec); err != nil {
				rows.Close()
				return err
			}
			known[rec.ID] = rec
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, t := range tenants {
			listed[t.ID] = true
			rec, ok := known[t.ID]
			if ok {
				if kit.Rediscover(&rec, t, source, now) {
					d.Returned = append(d.Returned, t.ID)
				}
			} else {
				rec = kit.NewTenant(t, source, now)
				d.New = append(d.New, t.ID)
			}
			known[t.ID] = rec
			if err := saveTenant(ctx, q, acct, rec); err != nil {
				return err
			}
		}
		for id, rec := range known {
			if listed[id] || !containsString(rec.Sources, source) {
				continue
			}
			if kit.Omitted(&rec, source, now) {
				d.Vanished = append(d.Vanished, id)
			}
			if err := saveTenant(ctx, q, acct, rec); err != nil {
				return err
			}
		}
		return nil
	})
	sortStrings(d.New, d.Returned, d.Vanished)
	return d, err
}

func (s *Store) GetTenant(ctx context.Context, acct, tenantID string) (store.TenantRecord, error) {
	const op = "GetTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.TenantRecord{}, err
	}
	var rec store.TenantRecord
	err := s.read(ctx, op, tenantID, func(q bq) error {
		var data []byte
		err := q.QueryRow(ctx, `SELECT record FROM tenants WHERE account = ? AND tenant_id = ?`, acct, tenantID).Scan(&data)
		if notFound(err) {
			return store.NotFound(op, tenantID, "no tenant %s in this account", tenantID)
		}
		if err != nil {
			return err
		}
		return scanJSON(data, &rec)
	})
	return rec, err
}

func (s *Store) ListTenants(ctx context.Context, acct string) ([]store.TenantRecord, error) {
	const op = "ListTenants"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	out := []store.TenantRecord{}
	err := s.read(ctx, op, "", func(q bq) error {
		return eachJSON(ctx, q, func(rec store.TenantRecord) { out = append(out, rec) },
			`SELECT record FROM tenants WHERE account = ? ORDER BY tenant_id`, acct)
	})
	return out, err
}

// eachJSON decodes the single JSON column of every row into a T.
func eachJSON[T any](ctx context.Context, q bq, fn func(T), query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		var v T
		if err := scanJSON(data, &v); err != nil {
			return err
		}
		fn(v)
	}
	return rows.Err()
}

func (s *Store) LinkTenant(ctx context.Context, acct, tenantID, clientID string, now time.Time) error {
	const op = "LinkTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	if clientID == "" {
		return store.Invalid(op, "pass the client ID", "no client")
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		rec, err := s.lockTenant(ctx, q, op, acct, tenantID)
		if err != nil {
			return err
		}
		switch rec.ClientID {
		case clientID:
			rec.Syncing = true
		case "":
			rec.ClientID, rec.LinkedAt, rec.Syncing = clientID, store.Time(now), true
		default:
			return store.NewAlreadyLinkedError(op, tenantID, rec.ClientID)
		}
		return saveTenant(ctx, q, acct, rec)
	})
}

func (s *Store) UnlinkTenant(ctx context.Context, acct, tenantID string, mode store.UnlinkMode) error {
	const op = "UnlinkTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		rec, err := s.lockTenant(ctx, q, op, acct, tenantID)
		if err != nil {
			return err
		}
		rec.ClientID, rec.LinkedAt, rec.Syncing = "", time.Time{}, false
		if err := saveTenant(ctx, q, acct, rec); err != nil {
			return err
		}
		if mode != store.UnlinkPurge {
			return nil
		}
		s.cache.Drop(acct, tenantID)
		for _, table := range []string{"mirror", "cursors", "contact_links", "merges", "reviews", "sync_state"} {
			if _, err := q.Exec(ctx, `DELETE FROM `+table+` WHERE account = ? AND tenant_id = ?`, acct, tenantID); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) SetSyncing(ctx context.Context, acct, tenantID string, syncing bool) error {
	const op = "SetSyncing"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		rec, err := s.lockTenant(ctx, q, op, acct, tenantID)
		if err != nil {
			return err
		}
		if syncing && !rec.Linked() {
			return store.Invalid(op, "link the tenant to a client first", "tenant %s is not linked", tenantID)
		}
		rec.Syncing = syncing
		return saveTenant(ctx, q, acct, rec)
	})
}

func (s *Store) SetEnabledKinds(ctx context.Context, acct, tenantID string, kinds []tenantsync.Kind) error {
	const op = "SetEnabledKinds"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	kinds, err := kit.CheckKinds(op, kinds)
	if err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		rec, err := s.lockTenant(ctx, q, op, acct, tenantID)
		if err != nil {
			return err
		}
		rec.EnabledKinds = kinds
		return saveTenant(ctx, q, acct, rec)
	})
}

func (s *Store) Accounts(ctx context.Context) ([]string, error) {
	out := []string{}
	err := s.read(ctx, "Accounts", "", func(q bq) error {
		rows, err := q.Query(ctx, `SELECT DISTINCT account FROM tenants ORDER BY account`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortStrings(lists ...[]string) {
	for _, l := range lists {
		slices.Sort(l)
	}
}
