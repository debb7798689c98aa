package memory

import (
	"cmp"
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// Config configures a memory store. The zero Config is a store that keys its audit log with a
// key of its own lifetime and cannot hold secrets.
type Config struct {
	// Keys seal connection secrets and key the audit chain. Nil is allowed: the store then
	// refuses secrets and keys its audit chain with a random key of its own, since the log
	// lives no longer than the store, so neither does the key that verifies it.
	Keys store.KeyProvider
	// Now is the clock for times the caller does not pass (connection and review timestamps,
	// audit entries without At). Nil uses time.Now.
	Now func() time.Time
	// ChangeRetention is how long change-feed entries are kept. Zero uses
	// store.DefaultChangeRetention.
	ChangeRetention time.Duration
}

// Store is an in-memory store.Store, for tests and throwaway runs. It also holds the default
// client list and contact directory (Directory).
type Store struct {
	b *backend
}

var (
	_ store.Store                  = (*Store)(nil)
	_ store.DirectoryProvider      = (*Store)(nil)
	_ store.AssetDirectoryProvider = (*Store)(nil)
)

// New returns an empty store configured by cfg.
func New(cfg Config) *Store {
	b := &backend{keys: cfg.Keys, auditKeys: cfg.Keys, clock: cfg.Now, accounts: map[string]*account{},
		retention: kit.Retention(cfg.ChangeRetention)}
	if b.clock == nil {
		b.clock = time.Now
	}
	if cfg.Keys == nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand does not fail on supported platforms
		b.auditKeys, _ = store.NewStaticKeys("memory", map[string][]byte{"memory": key})
	}
	return &Store{b: b}
}

// Account returns the handle of one account. It does no I/O.
func (s *Store) Account(id string) store.Account { return kit.Scope(s.b, id) }

// Accounts lists the accounts that have at least one tenant, sorted.
func (s *Store) Accounts(ctx context.Context) ([]string, error) { return s.b.Accounts(ctx) }

// Directory returns the account's default client list and contact directory, kept in the
// same memory as the rest of the store.
func (s *Store) Directory(account string) store.Directory { return kit.Directory(s.b, account) }

// AssetDirectory returns the account's default asset directory, kept in the same memory as the
// rest of the store.
func (s *Store) AssetDirectory(account string) store.AssetDirectory {
	return kit.AssetDirectory(s.b, account)
}

// Close makes the store unusable: every later call fails with ErrUnavailable.
func (s *Store) Close() error { return s.b.Close() }

// backend holds the data and implements every operation with the account as an argument;
// kit.Scope binds the account for Store.Account.
type backend struct {
	keys      store.KeyProvider
	auditKeys store.KeyProvider // keys, or a key of the store's own lifetime when keys is nil
	clock     func() time.Time
	retention time.Duration

	mu       sync.Mutex
	accounts map[string]*account
	closed   bool
}

type userKey struct{ tenant, object string }
type contactKey struct{ client, contact string }

type account struct {
	conns    map[string]kit.SealedConnection
	tenants  map[string]*tenant
	owners   map[contactKey]userKey // which user each linked contact belongs to
	reviews  map[string]store.Review
	clients  map[string]tenantsync.Client
	contacts map[contactKey]tenantsync.Contact
	assets   map[assetKey]tenantsync.Asset
	audit    []tenantsync.AuditEntry
	head     store.AuditHead // recorded apart from audit, as the SQL stores record theirs
	leases   map[string]store.Lease
	feed     feed
	billing  map[billingKey]store.BillingSnapshot
	settings map[string]store.ClientSettings // by client ID, "" for the account's defaults
}

func newAccount() *account {
	return &account{
		conns: map[string]kit.SealedConnection{}, tenants: map[string]*tenant{}, owners: map[contactKey]userKey{},
		reviews: map[string]store.Review{}, clients: map[string]tenantsync.Client{},
		contacts: map[contactKey]tenantsync.Contact{}, leases: map[string]store.Lease{},
		assets:  map[assetKey]tenantsync.Asset{},
		billing: map[billingKey]store.BillingSnapshot{}, settings: map[string]store.ClientSettings{},
	}
}

type tenant struct {
	rec    store.TenantRecord
	mirror map[tenantsync.Kind]map[string]kit.Item
	// ordered holds a kind's items sorted by ID once a read needed them so, until a write to
	// the kind: a tenant's kinds are read at every sync and written far less often. Its
	// slices are never changed, only replaced.
	ordered map[tenantsync.Kind][]kit.Item
	cursors map[tenantsync.Kind]string
	links   map[string]store.ContactLink
	merges  map[string]store.Merge
	state   *store.SyncState
	stage   *memStage // the staging area of the run syncing the tenant, nil when none
}

func newTenant(rec store.TenantRecord) *tenant {
	return &tenant{
		rec: rec, mirror: map[tenantsync.Kind]map[string]kit.Item{}, cursors: map[tenantsync.Kind]string{},
		links: map[string]store.ContactLink{}, merges: map[string]store.Merge{},
	}
}

func (s *backend) now() time.Time { return store.Time(s.clock()) }

// view validates acct and runs fn under the store's lock on the account's state. An account
// with no state reads as empty; create keeps a new account's state, for writes that may be
// its first.
func (s *backend) view(op, acct string, create bool, fn func(a *account) error) error {
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.Errorf(tenantsync.ErrUnavailable, op, "", "open a new store", "store is closed")
	}
	a := s.accounts[acct]
	if a == nil {
		a = newAccount()
		if create {
			s.accounts[acct] = a
		}
	}
	return fn(a)
}

// inTenant validates its arguments and runs fn under the lock on one tenant of the account;
// ErrNotFound when the account has no such tenant.
func (s *backend) inTenant(op, acct, tenantID string, fn func(a *account, t *tenant) error) error {
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.view(op, acct, false, func(a *account) error {
		t, ok := a.tenants[tenantID]
		if !ok {
			return kit.TenantNotFound(op, tenantID)
		}
		return fn(a, t)
	})
}

// sorted returns f of each of m's values, ordered by key; never nil.
func sorted[K cmp.Ordered, V, R any](m map[K]V, f func(V) R) []R {
	out := make([]R, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, f(m[k]))
	}
	return out
}

func same[V any](v V) V { return v }

func (s *backend) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Connections

// PutConnection implements store.Connections.
func (s *backend) PutConnection(ctx context.Context, acct string, c store.Connection) error {
	const op = "PutConnection"
	if err := kit.CheckConnection(op, acct, c); err != nil {
		return err
	}
	sealed, err := store.Seal(ctx, s.keys, acct, c.Name, c.Secret)
	if err != nil {
		return err
	}
	return s.view(op, acct, true, func(a *account) error {
		now := s.now()
		c.Secret = store.Secret{}
		c.Config = slices.Clone(c.Config)
		c.KeyID = sealed.KeyID
		c.CreatedAt, c.UpdatedAt = now, now
		if old, ok := a.conns[c.Name]; ok {
			c.CreatedAt = old.Conn.CreatedAt
		}
		a.conns[c.Name] = kit.SealedConnection{Conn: c, Sealed: sealed}
		return nil
	})
}

// GetConnection implements store.Connections.
func (s *backend) GetConnection(ctx context.Context, acct, name string) (store.Connection, error) {
	const op = "GetConnection"
	var sc kit.SealedConnection
	err := s.view(op, acct, false, func(a *account) error {
		var ok bool
		if sc, ok = a.conns[name]; !ok {
			return kit.ConnectionNotFound(op, name)
		}
		return nil
	})
	if err != nil {
		return store.Connection{}, err
	}
	return kit.OpenConnection(ctx, s.keys, acct, sc)
}

// ListConnections implements store.Connections.
func (s *backend) ListConnections(ctx context.Context, acct string) ([]store.Connection, error) {
	var scs []kit.SealedConnection
	if err := s.view("ListConnections", acct, false, func(a *account) error {
		scs = sorted(a.conns, same)
		return nil
	}); err != nil {
		return nil, err
	}
	return kit.OpenConnections(ctx, s.keys, acct, scs...)
}

// DeleteConnection implements store.Connections.
func (s *backend) DeleteConnection(_ context.Context, acct, name string) error {
	const op = "DeleteConnection"
	return s.view(op, acct, false, func(a *account) error {
		if _, ok := a.conns[name]; !ok {
			return kit.ConnectionNotFound(op, name)
		}
		delete(a.conns, name)
		return nil
	})
}

// RotateSecrets implements store.Connections. Nothing changes unless every secret re-seals.
func (s *backend) RotateSecrets(ctx context.Context, acct string) (int, error) {
	const op = "RotateSecrets"
	r, err := kit.NewResealer(ctx, op, acct, s.keys)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.view(op, acct, false, func(a *account) error {
		resealed := map[string]kit.SealedConnection{}
		for name, sc := range a.conns {
			if sc.Sealed.KeyID == r.Current {
				continue
			}
			var err error
			if sc.Sealed, err = r.Reseal(ctx, name, sc.Sealed); err != nil {
				return err
			}
			sc.Conn.KeyID, sc.Conn.UpdatedAt = sc.Sealed.KeyID, s.now()
			resealed[name] = sc
		}
		maps.Copy(a.conns, resealed)
		n = len(resealed)
		return nil
	})
	return n, err
}

// Tenants

func cloneRecord(r store.TenantRecord) store.TenantRecord {
	r.Domains = slices.Clone(r.Domains)
	r.Sources = slices.Clone(r.Sources)
	r.EnabledKinds = slices.Clone(r.EnabledKinds)
	return r
}

// RecordDiscovery implements store.Tenants.
func (s *backend) RecordDiscovery(_ context.Context, acct, source string, tenants []tenantsync.Tenant, now time.Time) (store.Discovery, error) {
	const op = "RecordDiscovery"
	if err := kit.CheckDiscovery(op, acct, source, tenants); err != nil {
		return store.Discovery{}, err
	}
	var d store.Discovery
	err := s.view(op, acct, true, func(a *account) error {
		known := make(map[string]store.TenantRecord, len(a.tenants))
		for id, t := range a.tenants {
			known[id] = cloneRecord(t.rec)
		}
		var touched []string
		d, touched = kit.Discover(known, source, tenants, now)
		for _, id := range touched {
			if t, ok := a.tenants[id]; ok {
				t.rec = known[id]
			} else {
				a.tenants[id] = newTenant(known[id])
			}
		}
		return nil
	})
	return d, err
}

// GetTenant implements store.Tenants.
func (s *backend) GetTenant(_ context.Context, acct, tenantID string) (rec store.TenantRecord, err error) {
	err = s.inTenant("GetTenant", acct, tenantID, func(_ *account, t *tenant) error {
		rec = cloneRecord(t.rec)
		return nil
	})
	return rec, err
}

// ListTenants implements store.Tenants.
func (s *backend) ListTenants(_ context.Context, acct string) (out []store.TenantRecord, err error) {
	err = s.view("ListTenants", acct, false, func(a *account) error {
		out = sorted(a.tenants, func(t *tenant) store.TenantRecord { return cloneRecord(t.rec) })
		return nil
	})
	return out, err
}

// ListClientTenants implements store.ClientTenants.
func (s *backend) ListClientTenants(_ context.Context, acct, clientID string) (out []store.TenantRecord, err error) {
	// Each tenant sync of a linked tenant asks for its client's tenants: the few that match
	// are copied and sorted, not the whole account.
	err = s.view("ListClientTenants", acct, false, func(a *account) error {
		for _, t := range a.tenants {
			if t.rec.ClientID == clientID {
				out = append(out, cloneRecord(t.rec))
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b store.TenantRecord) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// LinkTenant implements store.Tenants.
func (s *backend) LinkTenant(_ context.Context, acct, tenantID, clientID string, now time.Time) error {
	const op = "LinkTenant"
	if err := kit.CheckLinkTenant(op, acct, tenantID, clientID); err != nil {
		return err
	}
	return s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		return kit.LinkTo(op, &t.rec, clientID, now)
	})
}

// UnlinkTenant implements store.Tenants.
func (s *backend) UnlinkTenant(_ context.Context, acct, tenantID string, mode store.UnlinkMode) error {
	return s.inTenant("UnlinkTenant", acct, tenantID, func(a *account, t *tenant) error {
		unlink(a, t, mode)
		return nil
	})
}

// unlink removes t's link as mode says.
func unlink(a *account, t *tenant, mode store.UnlinkMode) {
	kit.Unlink(&t.rec)
	if mode != store.UnlinkPurge {
		return
	}
	for _, l := range t.links {
		delete(a.owners, contactKey{l.ClientID, l.ContactID})
	}
	maps.DeleteFunc(a.reviews, func(_ string, r store.Review) bool { return r.TenantID == t.rec.ID })
	a.tenants[t.rec.ID] = newTenant(t.rec)
}

// SetSyncing implements store.Tenants.
func (s *backend) SetSyncing(_ context.Context, acct, tenantID string, syncing bool) error {
	const op = "SetSyncing"
	return s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		return kit.SetSyncing(op, &t.rec, syncing)
	})
}

// SetEnabledKinds implements store.Tenants.
func (s *backend) SetEnabledKinds(_ context.Context, acct, tenantID string, kinds []tenantsync.Kind) error {
	const op = "SetEnabledKinds"
	kinds, err := kit.CheckKinds(op, kinds)
	if err != nil {
		return err
	}
	return s.inTenant(op, acct, tenantID, func(_ *account, t *tenant) error {
		t.rec.EnabledKinds = kinds
		return nil
	})
}

// Accounts implements store.Tenants.
func (s *backend) Accounts(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for id, a := range s.accounts {
		if len(a.tenants) > 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
