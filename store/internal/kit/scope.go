package kit

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// The backend interfaces are what an implementation writes once, every method taking the
// account; Scope and Directory bind the account and present them as the account-scoped roles
// of package store. They are unexported so that no interface of this size is part of any API:
// an implementation satisfies backend by having the methods.

type connBackend interface {
	PutConnection(ctx context.Context, account string, c store.Connection) error
	GetConnection(ctx context.Context, account, name string) (store.Connection, error)
	ListConnections(ctx context.Context, account string) ([]store.Connection, error)
	DeleteConnection(ctx context.Context, account, name string) error
	RotateSecrets(ctx context.Context, account string) (int, error)
}

type tenantBackend interface {
	RecordDiscovery(ctx context.Context, account, source string, tenants []tenantsync.Tenant, now time.Time) (store.Discovery, error)
	GetTenant(ctx context.Context, account, tenantID string) (store.TenantRecord, error)
	ListTenants(ctx context.Context, account string) ([]store.TenantRecord, error)
	ListClientTenants(ctx context.Context, account, clientID string) ([]store.TenantRecord, error)
	LinkTenant(ctx context.Context, account, tenantID, clientID string, now time.Time) error
	UnlinkTenant(ctx context.Context, account, tenantID string, mode store.UnlinkMode) error
	SetSyncing(ctx context.Context, account, tenantID string, syncing bool) error
	SetEnabledKinds(ctx context.Context, account, tenantID string, kinds []tenantsync.Kind) error
}

type mirrorBackend interface {
	Apply(ctx context.Context, account, tenantID string, change store.KindApply) (store.Applied, error)
	Commit(ctx context.Context, account string, b store.Batch) (store.BatchResult, error)
	ReadKind(ctx context.Context, account, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error)
	GetUser(ctx context.Context, account, tenantID, objectID string) (tenantsync.User, error)
	Cursors(ctx context.Context, account, tenantID string) (map[tenantsync.Kind]string, error)
	MirrorCounts(ctx context.Context, account, tenantID string) (map[tenantsync.Kind]int, error)
}

// kindsBackend is a mirror backend that reads several kinds in one transaction.
type kindsBackend interface {
	ReadKinds(ctx context.Context, account, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error)
}

// itemsBackend is a mirror backend that reads chosen items of a kind.
type itemsBackend interface {
	ReadItems(ctx context.Context, account, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error)
}

type linkBackend interface {
	SetContactLink(ctx context.Context, account string, l store.ContactLink) error
	DeleteContactLink(ctx context.Context, account, tenantID, objectID string) error
	GetContactLink(ctx context.Context, account, tenantID, objectID string) (store.ContactLink, error)
	ListContactLinks(ctx context.Context, account, tenantID string) ([]store.ContactLink, error)
	RememberMerge(ctx context.Context, account string, m store.Merge) error
	ForgetMerge(ctx context.Context, account, tenantID, objectID string) error
	ListMerges(ctx context.Context, account, tenantID string) ([]store.Merge, error)
}

type reviewBackend interface {
	AddReview(ctx context.Context, account string, r store.Review) (store.Review, error)
	ListReviews(ctx context.Context, account string, f store.ReviewFilter) ([]store.Review, error)
	ResolveReview(ctx context.Context, account, id, resolution, by string, at time.Time) (store.Review, error)
	PutSyncState(ctx context.Context, account string, s store.SyncState) error
	GetSyncState(ctx context.Context, account, tenantID string) (store.SyncState, error)
	ListSyncStates(ctx context.Context, account string) ([]store.SyncState, error)
}

type auditBackend interface {
	AppendAudit(ctx context.Context, account string, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error)
	ListAudit(ctx context.Context, account string, q store.AuditQuery) ([]tenantsync.AuditEntry, error)
	VerifyAudit(ctx context.Context, account string, expect *store.AuditHead) (store.AuditVerification, error)
	AcquireLease(ctx context.Context, account, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, account, tenantID, holder string, now time.Time, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, account, tenantID, holder string) error
	AcquireDue(ctx context.Context, account, holder string, now time.Time, ttl time.Duration, limit int) ([]store.Lease, error)
	GetLease(ctx context.Context, account, tenantID string) (store.Lease, error)
}

type feedBackend interface {
	Changes(ctx context.Context, account string, after int64, limit int) ([]store.Change, error)
	FeedHead(ctx context.Context, account string) (int64, error)
}

type backend interface {
	stageBackend
	feedBackend
	connBackend
	tenantBackend
	mirrorBackend
	linkBackend
	reviewBackend
	auditBackend
	billingBackend
	settingsBackend
}

// Scope binds b's account-taking methods to account, as the roles of a store.Account.
func Scope(b backend, account string) store.Account {
	s := scoped{b: b, account: account}
	return store.Account{
		ID:          account,
		Connections: connections(s),
		Tenants:     tenants(s),
		Mirror:      mirror(s),
		Links:       links(s),
		Merges:      merges(s),
		Reviews:     reviews(s),
		SyncStates:  syncStates(s),
		Audit:       audit(s),
		Leases:      leases(s),
		Feed:        feed(s),
		Billing:     billing(s),
		Settings:    settings(s),
	}
}

type scoped struct {
	b       backend
	account string
}

// One named type per role, so that methods of the same short name (Get, List) can coexist.
type (
	connections scoped
	tenants     scoped
	mirror      scoped
	links       scoped
	merges      scoped
	reviews     scoped
	syncStates  scoped
	audit       scoped
	leases      scoped
	feed        scoped
)

var (
	_ store.Connections  = connections{}
	_ store.Tenants      = tenants{}
	_ store.Mirror       = mirror{}
	_ store.ContactLinks = links{}
	_ store.Merges       = merges{}
	_ store.Reviews      = reviews{}
	_ store.SyncStates   = syncStates{}
	_ store.Audit        = audit{}
	_ store.Leases       = leases{}
	_ store.ChangeFeed   = feed{}
)

func (s feed) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	return s.b.Changes(ctx, s.account, after, limit)
}
func (s feed) Head(ctx context.Context) (int64, error) {
	return s.b.FeedHead(ctx, s.account)
}

func (s connections) Put(ctx context.Context, c store.Connection) error {
	return s.b.PutConnection(ctx, s.account, c)
}
func (s connections) Get(ctx context.Context, name string) (store.Connection, error) {
	return s.b.GetConnection(ctx, s.account, name)
}
func (s connections) List(ctx context.Context) ([]store.Connection, error) {
	return s.b.ListConnections(ctx, s.account)
}
func (s connections) Delete(ctx context.Context, name string) error {
	return s.b.DeleteConnection(ctx, s.account, name)
}
func (s connections) RotateSecrets(ctx context.Context) (int, error) {
	return s.b.RotateSecrets(ctx, s.account)
}

func (s tenants) RecordDiscovery(ctx context.Context, source string, ts []tenantsync.Tenant, now time.Time) (store.Discovery, error) {
	return s.b.RecordDiscovery(ctx, s.account, source, ts, now)
}
func (s tenants) Get(ctx context.Context, tenantID string) (store.TenantRecord, error) {
	return s.b.GetTenant(ctx, s.account, tenantID)
}
func (s tenants) List(ctx context.Context) ([]store.TenantRecord, error) {
	return s.b.ListTenants(ctx, s.account)
}
func (s tenants) ListForClient(ctx context.Context, clientID string) ([]store.TenantRecord, error) {
	return s.b.ListClientTenants(ctx, s.account, clientID)
}
func (s tenants) Link(ctx context.Context, tenantID, clientID string, now time.Time) error {
	return s.b.LinkTenant(ctx, s.account, tenantID, clientID, now)
}
func (s tenants) Unlink(ctx context.Context, tenantID string, mode store.UnlinkMode) error {
	return s.b.UnlinkTenant(ctx, s.account, tenantID, mode)
}
func (s tenants) SetSyncing(ctx context.Context, tenantID string, syncing bool) error {
	return s.b.SetSyncing(ctx, s.account, tenantID, syncing)
}
func (s tenants) SetEnabledKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) error {
	return s.b.SetEnabledKinds(ctx, s.account, tenantID, kinds)
}

func (s mirror) Apply(ctx context.Context, tenantID string, change store.KindApply) (store.Applied, error) {
	return s.b.Apply(ctx, s.account, tenantID, change)
}
func (s mirror) Commit(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	return s.b.Commit(ctx, s.account, b)
}
func (s mirror) ReadKind(ctx context.Context, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error) {
	return s.b.ReadKind(ctx, s.account, tenantID, kind)
}

// ReadKinds implements store.KindsReader: in one read when the backend has ReadKinds, else a
// ReadKind a kind.
func (s mirror) ReadKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error) {
	if b, ok := s.b.(kindsBackend); ok {
		return b.ReadKinds(ctx, s.account, tenantID, kinds)
	}
	out := make(map[tenantsync.Kind]*tenantsync.KindResult, len(kinds))
	for _, k := range kinds {
		kr, err := s.b.ReadKind(ctx, s.account, tenantID, k)
		if err != nil {
			return nil, err
		}
		out[k] = kr
	}
	return out, nil
}

// ReadItems implements store.ItemsReader: through the backend when it reads chosen items, else
// from the kind's whole mirror.
func (s mirror) ReadItems(ctx context.Context, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error) {
	if b, ok := s.b.(itemsBackend); ok {
		return b.ReadItems(ctx, s.account, tenantID, kind, ids)
	}
	if err := CheckReadItems("ReadItems", s.account, tenantID, kind, ids); err != nil {
		return nil, err
	}
	all, err := s.b.ReadKind(ctx, s.account, tenantID, kind)
	if err != nil {
		return nil, err
	}
	return Among(all, ids), nil
}

func (s mirror) GetUser(ctx context.Context, tenantID, objectID string) (tenantsync.User, error) {
	return s.b.GetUser(ctx, s.account, tenantID, objectID)
}
func (s mirror) Cursors(ctx context.Context, tenantID string) (map[tenantsync.Kind]string, error) {
	return s.b.Cursors(ctx, s.account, tenantID)
}
func (s mirror) Counts(ctx context.Context, tenantID string) (map[tenantsync.Kind]int, error) {
	return s.b.MirrorCounts(ctx, s.account, tenantID)
}

func (s links) Set(ctx context.Context, l store.ContactLink) error {
	return s.b.SetContactLink(ctx, s.account, l)
}
func (s links) Delete(ctx context.Context, tenantID, objectID string) error {
	return s.b.DeleteContactLink(ctx, s.account, tenantID, objectID)
}
func (s links) Get(ctx context.Context, tenantID, objectID string) (store.ContactLink, error) {
	return s.b.GetContactLink(ctx, s.account, tenantID, objectID)
}
func (s links) List(ctx context.Context, tenantID string) ([]store.ContactLink, error) {
	return s.b.ListContactLinks(ctx, s.account, tenantID)
}

func (s merges) Remember(ctx context.Context, m store.Merge) error {
	return s.b.RememberMerge(ctx, s.account, m)
}
func (s merges) Forget(ctx context.Context, tenantID, objectID string) error {
	return s.b.ForgetMerge(ctx, s.account, tenantID, objectID)
}
func (s merges) List(ctx context.Context, tenantID string) ([]store.Merge, error) {
	return s.b.ListMerges(ctx, s.account, tenantID)
}

func (s reviews) Add(ctx context.Context, r store.Review) (store.Review, error) {
	return s.b.AddReview(ctx, s.account, r)
}
func (s reviews) List(ctx context.Context, f store.ReviewFilter) ([]store.Review, error) {
	return s.b.ListReviews(ctx, s.account, f)
}

// Resolve checks r and hands the backend the resolution's stored form (Review.Resolution).
func (s reviews) Resolve(ctx context.Context, id string, r store.Resolution) (store.Review, error) {
	const op = "ResolveReview"
	var stored string
	switch r.Action {
	case store.ResolveLink:
		if r.ContactID == "" {
			return store.Review{}, store.Invalid(op, "name the contact the user is in Resolution.ContactID", "ResolveLink without a contact ID")
		}
		stored = store.StoredResolution(r)
	case store.ResolveCreate, store.ResolveIgnore:
		if r.ContactID != "" {
			return store.Review{}, store.Invalid(op, "set Resolution.ContactID only with ResolveLink", "%s with a contact ID", r.Action)
		}
		stored = string(r.Action)
	case "":
		return store.Review{}, store.Invalid(op, "resolve with store.ResolveLink and a ContactID, store.ResolveCreate or store.ResolveIgnore", "no resolution")
	default:
		return store.Review{}, store.Invalid(op, "resolve with store.ResolveLink, store.ResolveCreate or store.ResolveIgnore", "unknown resolution action %q", r.Action)
	}
	return s.b.ResolveReview(ctx, s.account, id, stored, r.By, r.At)
}

func (s syncStates) Put(ctx context.Context, st store.SyncState) error {
	return s.b.PutSyncState(ctx, s.account, st)
}
func (s syncStates) Get(ctx context.Context, tenantID string) (store.SyncState, error) {
	return s.b.GetSyncState(ctx, s.account, tenantID)
}
func (s syncStates) List(ctx context.Context) ([]store.SyncState, error) {
	return s.b.ListSyncStates(ctx, s.account)
}

func (s audit) Append(ctx context.Context, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error) {
	return s.b.AppendAudit(ctx, s.account, e)
}
func (s audit) List(ctx context.Context, q store.AuditQuery) ([]tenantsync.AuditEntry, error) {
	return s.b.ListAudit(ctx, s.account, q)
}
func (s audit) Verify(ctx context.Context, expect *store.AuditHead) (store.AuditVerification, error) {
	return s.b.VerifyAudit(ctx, s.account, expect)
}

func (s leases) Acquire(ctx context.Context, r store.LeaseRequest) (store.Lease, error) {
	return s.b.AcquireLease(ctx, s.account, r.TenantID, r.Holder, r.Now, r.TTL)
}
func (s leases) Renew(ctx context.Context, r store.LeaseRequest) (store.Lease, error) {
	return s.b.RenewLease(ctx, s.account, r.TenantID, r.Holder, r.Now, r.TTL)
}
func (s leases) Release(ctx context.Context, tenantID, holder string) error {
	return s.b.ReleaseLease(ctx, s.account, tenantID, holder)
}
func (s leases) AcquireDue(ctx context.Context, r store.DueRequest) ([]store.Lease, error) {
	return s.b.AcquireDue(ctx, s.account, r.Holder, r.Now, r.TTL, r.Max)
}
func (s leases) Get(ctx context.Context, tenantID string) (store.Lease, error) {
	return s.b.GetLease(ctx, s.account, tenantID)
}

type directoryBackend interface {
	PutClient(ctx context.Context, account string, c tenantsync.Client) error
	GetClient(ctx context.Context, account, clientID string) (tenantsync.Client, error)
	ListClients(ctx context.Context, account string) ([]tenantsync.Client, error)
	CreateContact(ctx context.Context, account string, c tenantsync.Contact) (tenantsync.Contact, error)
	UpdateContact(ctx context.Context, account string, c tenantsync.Contact) error
	SetContactActive(ctx context.Context, account, clientID, contactID string, active bool) error
	GetContact(ctx context.Context, account, clientID, contactID string) (tenantsync.Contact, error)
	ListContacts(ctx context.Context, account, clientID string) ([]tenantsync.Contact, error)
}

// Directory binds b's account-taking client and contact methods to account.
func Directory(b directoryBackend, account string) store.Directory {
	return directory{b: b, account: account}
}

type directory struct {
	b       directoryBackend
	account string
}

var _ store.Directory = directory{}

var _ store.KindsReader = mirror{}

func (d directory) PutClient(ctx context.Context, c tenantsync.Client) error {
	return d.b.PutClient(ctx, d.account, c)
}
func (d directory) GetClient(ctx context.Context, clientID string) (tenantsync.Client, error) {
	return d.b.GetClient(ctx, d.account, clientID)
}
func (d directory) ListClients(ctx context.Context) ([]tenantsync.Client, error) {
	return d.b.ListClients(ctx, d.account)
}
func (d directory) CreateContact(ctx context.Context, c tenantsync.Contact) (tenantsync.Contact, error) {
	return d.b.CreateContact(ctx, d.account, c)
}
func (d directory) UpdateContact(ctx context.Context, c tenantsync.Contact) error {
	return d.b.UpdateContact(ctx, d.account, c)
}
func (d directory) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	return d.b.SetContactActive(ctx, d.account, clientID, contactID, active)
}
func (d directory) GetContact(ctx context.Context, clientID, contactID string) (tenantsync.Contact, error) {
	return d.b.GetContact(ctx, d.account, clientID, contactID)
}
func (d directory) ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error) {
	return d.b.ListContacts(ctx, d.account, clientID)
}
