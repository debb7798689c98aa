package memory

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// Store is an in-memory store.Store.
type Store struct {
	keys  store.KeyProvider
	clock func() time.Time

	mu       sync.Mutex
	accounts map[string]*account
	closed   bool
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Tamperer = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for times the caller does not pass (connection and review
// timestamps, audit entries without At).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

// New returns an empty store sealing secrets with keys.
func New(keys store.KeyProvider, opts ...Option) *Store {
	s := &Store{keys: keys, clock: time.Now, accounts: map[string]*account{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

type userKey struct{ tenant, object string }
type contactKey struct{ client, contact string }

type account struct {
	conns    map[string]sealedConn
	tenants  map[string]*tenant
	owners   map[contactKey]userKey // which user each linked contact belongs to
	reviews  map[string]store.Review
	clients  map[string]tenantsync.Client
	contacts map[contactKey]tenantsync.Contact
	audit    []tenantsync.AuditEntry
	leases   map[string]store.Lease
}

type sealedConn struct {
	c      store.Connection // Secret left empty
	sealed store.Sealed
}

type tenant struct {
	rec     store.TenantRecord
	mirror  map[tenantsync.Kind]map[string]kit.Item
	cursors map[tenantsync.Kind]string
	links   map[string]store.ContactLink
	merges  map[string]store.Merge
	state   *store.SyncState
}

func (s *Store) now() time.Time { return store.Time(s.clock()) }

// lock takes the mutex and returns the account's state, created when create is set (nil
// otherwise when absent).
func (s *Store) lock(op string, create bool, acct string) (*account, func(), error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, store.Errorf(tenantsync.ErrUnavailable, op, "", "open a new store", "store is closed")
	}
	a := s.accounts[acct]
	if a == nil && create {
		a = &account{
			conns: map[string]sealedConn{}, tenants: map[string]*tenant{}, owners: map[contactKey]userKey{},
			reviews: map[string]store.Review{}, clients: map[string]tenantsync.Client{},
			contacts: map[contactKey]tenantsync.Contact{}, leases: map[string]store.Lease{},
		}
		s.accounts[acct] = a
	}
	return a, s.mu.Unlock, nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Connections

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
	a, unlock, err := s.lock(op, true, acct)
	if err != nil {
		return err
	}
	defer unlock()
	now := s.now()
	c.Secret = store.Secret{}
	c.Config = slices.Clone(c.Config)
	c.KeyID = sealed.KeyID
	c.CreatedAt, c.UpdatedAt = now, now
	if old, ok := a.conns[c.Name]; ok {
		c.CreatedAt = old.c.CreatedAt
	}
	a.conns[c.Name] = sealedConn{c: c, sealed: sealed}
	return nil
}

func checkConnection(op string, c store.Connection) error {
	if c.Name == "" {
		return store.Invalid(op, "name the connection", "connection without a name")
	}
	if !c.Kind.Valid() {
		return store.Invalid(op, `use "cipp", "graph" or "partnercenter"`, "connection %q has unknown kind %q", c.Name, c.Kind)
	}
	return nil
}

func (s *Store) open(ctx context.Context, acct string, sc sealedConn) (store.Connection, error) {
	c := sc.c
	c.Config = slices.Clone(c.Config)
	secret, err := store.Open(ctx, s.keys, acct, c.Name, sc.sealed)
	if err != nil {
		return store.Connection{}, err
	}
	c.Secret = secret
	return c, nil
}

func (s *Store) GetConnection(ctx context.Context, acct, name string) (store.Connection, error) {
	const op = "GetConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.Connection{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.Connection{}, err
	}
	var sc sealedConn
	var ok bool
	if a != nil {
		sc, ok = a.conns[name]
	}
	unlock()
	if !ok {
		return store.Connection{}, store.NotFound(op, "", "no connection %q", name)
	}
	return s.open(ctx, acct, sc)
}

func (s *Store) ListConnections(ctx context.Context, acct string) ([]store.Connection, error) {
	const op = "ListConnections"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	var scs []sealedConn
	if a != nil {
		for _, name := range slices.Sorted(maps.Keys(a.conns)) {
			scs = append(scs, a.conns[name])
		}
	}
	unlock()
	out := make([]store.Connection, 0, len(scs))
	for _, sc := range scs {
		c, err := s.open(ctx, acct, sc)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Store) DeleteConnection(_ context.Context, acct, name string) error {
	const op = "DeleteConnection"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	if a == nil {
		return store.NotFound(op, "", "no connection %q", name)
	}
	if _, ok := a.conns[name]; !ok {
		return store.NotFound(op, "", "no connection %q", name)
	}
	delete(a.conns, name)
	return nil
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
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if a == nil {
		return 0, nil
	}
	resealed := map[string]sealedConn{}
	for name, sc := range a.conns {
		if sc.sealed.KeyID == current {
			continue
		}
		secret, err := store.Open(ctx, s.keys, acct, name, sc.sealed)
		if err != nil {
			return 0, err
		}
		sealed, err := store.Seal(ctx, s.keys, acct, name, secret)
		if err != nil {
			return 0, err
		}
		sc.sealed = sealed
		sc.c.KeyID = sealed.KeyID
		sc.c.UpdatedAt = s.now()
		resealed[name] = sc
	}
	maps.Copy(a.conns, resealed)
	return len(resealed), nil
}

// Tenants

func cloneRecord(r store.TenantRecord) store.TenantRecord {
	r.Domains = slices.Clone(r.Domains)
	r.Sources = slices.Clone(r.Sources)
	r.EnabledKinds = slices.Clone(r.EnabledKinds)
	return r
}

func (s *Store) RecordDiscovery(_ context.Context, acct, source string, tenants []tenantsync.Tenant, now time.Time) (store.Discovery, error) {
	const op = "RecordDiscovery"
	if err := kit.CheckDiscovery(op, acct, source, tenants); err != nil {
		return store.Discovery{}, err
	}
	a, unlock, err := s.lock(op, true, acct)
	if err != nil {
		return store.Discovery{}, err
	}
	defer unlock()
	d := store.Discovery{Seen: len(tenants)}
	listed := map[string]bool{}
	for _, t := range tenants {
		listed[t.ID] = true
		if cur, ok := a.tenants[t.ID]; ok {
			if kit.Rediscover(&cur.rec, t, source, now) {
				d.Returned = append(d.Returned, t.ID)
			}
			continue
		}
		a.tenants[t.ID] = newTenant(kit.NewTenant(t, source, now))
		d.New = append(d.New, t.ID)
	}
	for id, cur := range a.tenants {
		if !listed[id] && kit.Omitted(&cur.rec, source, now) {
			d.Vanished = append(d.Vanished, id)
		}
	}
	slices.Sort(d.New)
	slices.Sort(d.Returned)
	slices.Sort(d.Vanished)
	return d, nil
}

func newTenant(rec store.TenantRecord) *tenant {
	return &tenant{
		rec: rec, mirror: map[tenantsync.Kind]map[string]kit.Item{}, cursors: map[tenantsync.Kind]string{},
		links: map[string]store.ContactLink{}, merges: map[string]store.Merge{},
	}
}

// tenantOf returns the account's tenant or ErrNotFound.
func tenantOf(op string, a *account, id string) (*tenant, error) {
	if a != nil {
		if t, ok := a.tenants[id]; ok {
			return t, nil
		}
	}
	return nil, store.NotFound(op, id, "no tenant %s in this account", id)
}

func (s *Store) GetTenant(_ context.Context, acct, tenantID string) (store.TenantRecord, error) {
	const op = "GetTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.TenantRecord{}, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return store.TenantRecord{}, err
	}
	defer unlock()
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		return store.TenantRecord{}, err
	}
	return cloneRecord(t.rec), nil
}

func (s *Store) ListTenants(_ context.Context, acct string) ([]store.TenantRecord, error) {
	const op = "ListTenants"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []store.TenantRecord{}
	if a != nil {
		for _, id := range slices.Sorted(maps.Keys(a.tenants)) {
			out = append(out, cloneRecord(a.tenants[id].rec))
		}
	}
	return out, nil
}

func (s *Store) LinkTenant(_ context.Context, acct, tenantID, clientID string, now time.Time) error {
	const op = "LinkTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	if clientID == "" {
		return store.Invalid(op, "pass the client ID", "no client")
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		return err
	}
	switch t.rec.ClientID {
	case clientID:
		t.rec.Syncing = true
	case "":
		t.rec.ClientID, t.rec.LinkedAt, t.rec.Syncing = clientID, store.Time(now), true
	default:
		return store.NewAlreadyLinkedError(op, tenantID, t.rec.ClientID)
	}
	return nil
}

func (s *Store) UnlinkTenant(_ context.Context, acct, tenantID string, mode store.UnlinkMode) error {
	const op = "UnlinkTenant"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		return err
	}
	t.rec.ClientID, t.rec.LinkedAt, t.rec.Syncing = "", time.Time{}, false
	if mode == store.UnlinkPurge {
		for _, l := range t.links {
			delete(a.owners, contactKey{l.ClientID, l.ContactID})
		}
		for id, r := range a.reviews {
			if r.TenantID == tenantID {
				delete(a.reviews, id)
			}
		}
		t.mirror = map[tenantsync.Kind]map[string]kit.Item{}
		t.cursors = map[tenantsync.Kind]string{}
		t.links = map[string]store.ContactLink{}
		t.merges = map[string]store.Merge{}
		t.state = nil
	}
	return nil
}

func (s *Store) SetSyncing(_ context.Context, acct, tenantID string, syncing bool) error {
	const op = "SetSyncing"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		return err
	}
	if syncing && !t.rec.Linked() {
		return store.Invalid(op, "link the tenant to a client first", "tenant %s is not linked", tenantID)
	}
	t.rec.Syncing = syncing
	return nil
}

func (s *Store) SetEnabledKinds(_ context.Context, acct, tenantID string, kinds []tenantsync.Kind) error {
	const op = "SetEnabledKinds"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	kinds, err := kit.CheckKinds(op, kinds)
	if err != nil {
		return err
	}
	a, unlock, err := s.lock(op, false, acct)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := tenantOf(op, a, tenantID)
	if err != nil {
		return err
	}
	t.rec.EnabledKinds = kinds
	return nil
}

func (s *Store) Accounts(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for id, a := range s.accounts {
		if len(a.tenants) > 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}
