package kit

import (
	"context"
	"reflect"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// CheckConnection validates a connection before it is stored.
func CheckConnection(op, account string, c store.Connection) error {
	if err := store.CheckAccount(op, account); err != nil {
		return err
	}
	if c.Name == "" {
		return store.Invalid(op, "name the connection", "connection without a name")
	}
	if !c.Kind.Valid() {
		return store.Invalid(op, `use "cipp", "graph" or "partnercenter"`, "connection %q has unknown kind %q", c.Name, c.Kind)
	}
	if c.Secret.IsZero() {
		// Storing it would replace the connection's sealed secret with nothing, which is how a
		// config-only update (a Connection decoded from JSON, where the secret reads as
		// [REDACTED] and decodes as nothing) would lose a credential.
		return store.Invalid(op, "pass the connection's secret; to change only its settings, put back the connection GetConnection returns",
			"connection %q without a secret", c.Name)
	}
	return nil
}

// Resealer re-seals an account's secrets under the key provider's current key.
type Resealer struct {
	keys    store.KeyProvider
	account string
	// Current is the ID of the key secrets are sealed with now; a secret already sealed under
	// it needs nothing.
	Current string
}

// NewResealer validates RotateSecrets' arguments and reads the current key's ID.
func NewResealer(ctx context.Context, op, account string, keys store.KeyProvider) (*Resealer, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, store.Invalid(op, "configure the store with a KeyProvider", "no key provider")
	}
	current, _, err := keys.CurrentKey(ctx)
	if err != nil {
		kind := tenantsync.ClassOf(err)
		if kind == nil {
			kind = tenantsync.ErrUnavailable
		}
		return nil, &tenantsync.Error{Class: kind, Service: store.Service, Op: op, Hint: "check the key provider", Err: err}
	}
	return &Resealer{keys: keys, account: account, Current: current}, nil
}

// Reseal opens the connection name's sealed secret and seals it again under the current key.
func (r *Resealer) Reseal(ctx context.Context, name string, sealed store.Sealed) (store.Sealed, error) {
	secret, err := store.Open(ctx, r.keys, r.account, name, sealed)
	if err != nil {
		return store.Sealed{}, err
	}
	return store.Seal(ctx, r.keys, r.account, name, secret)
}

// Discover applies one source's complete listing to the account's known tenants: listed
// tenants are created or refreshed, known ones the listing omits lose the source. known is
// updated in place; touched names the records that changed, in no particular order.
func Discover(known map[string]store.TenantRecord, source string, tenants []tenantsync.Tenant, now time.Time) (d store.Discovery, touched []string) {
	d.Seen = len(tenants)
	listed := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		listed[t.ID] = true
		rec, ok := known[t.ID]
		if !ok {
			known[t.ID] = NewTenant(t, source, now)
			d.New = append(d.New, t.ID)
			touched = append(touched, t.ID)
			continue
		}
		before := cloneRecord(rec)
		if Rediscover(&rec, t, source, now) {
			d.Returned = append(d.Returned, t.ID)
		} else if rec.LastSeen.Sub(before.LastSeen) < store.LastSeenPrecision {
			// Listed as before, seen recently: nothing to write.
			if rec.LastSeen = before.LastSeen; reflect.DeepEqual(rec, before) {
				continue
			}
			rec.LastSeen = store.Time(now)
		}
		known[t.ID] = rec
		touched = append(touched, t.ID)
	}
	for id, rec := range known {
		if listed[id] || !slices.Contains(rec.Sources, source) {
			continue
		}
		if Omitted(&rec, source, now) {
			d.Vanished = append(d.Vanished, id)
		}
		known[id] = rec
		touched = append(touched, id)
	}
	slices.Sort(d.New)
	slices.Sort(d.Returned)
	slices.Sort(d.Vanished)
	return d, touched
}

// cloneRecord copies rec with slices of its own, so changes to one leave the other as it was.
func cloneRecord(rec store.TenantRecord) store.TenantRecord {
	rec.Domains = slices.Clone(rec.Domains)
	rec.Sources = slices.Clone(rec.Sources)
	rec.EnabledKinds = slices.Clone(rec.EnabledKinds)
	return rec
}

// Link returns l ready to store over old, the user's current link (nil when none): a link
// without a time keeps old's when it names the same contact, and is stamped now otherwise.
func Link(l store.ContactLink, old *store.ContactLink, now time.Time) store.ContactLink {
	if l.LinkedAt.IsZero() && old != nil && old.ClientID == l.ClientID && old.ContactID == l.ContactID {
		l.LinkedAt = old.LinkedAt
	}
	if l.LinkedAt.IsZero() {
		l.LinkedAt = now
	}
	l.LinkedAt = store.Time(l.LinkedAt)
	return l
}

// CheckMerge validates a merge decision and stamps it now when it has no time.
func CheckMerge(op, account string, m store.Merge, now time.Time) (store.Merge, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return m, err
	}
	if err := CheckLink(op, store.ContactLink{TenantID: m.TenantID, ObjectID: m.ObjectID, ClientID: m.ClientID, ContactID: m.ContactID}, false); err != nil {
		return m, err
	}
	if m.DecidedAt.IsZero() {
		m.DecidedAt = now
	}
	m.DecidedAt = store.Time(m.DecidedAt)
	return m, nil
}

// OpenReview returns r ready to store as the user's open review: it refreshes open (the
// user's open review, nil when none), keeping its ID and creation time, or is a new review.
func OpenReview(r store.Review, open *store.Review, now time.Time) store.Review {
	r.Candidates = slices.Clone(r.Candidates)
	r.Resolved, r.ResolvedAt, r.ResolvedBy, r.Resolution = false, time.Time{}, "", ""
	r.UpdatedAt = now
	if open != nil {
		r.ID, r.CreatedAt = open.ID, open.CreatedAt
		return r
	}
	r.ID = NewID()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.CreatedAt = store.Time(r.CreatedAt)
	return r
}

// Resolve validates ResolveReview's arguments and returns r resolved.
func Resolve(op string, r store.Review, resolution, by string, at time.Time) (store.Review, error) {
	if r.Resolved {
		return store.Review{}, store.Errorf(tenantsync.ErrConflict, op, r.TenantID, "reload the review queue", "review %q is already resolved", r.ID)
	}
	r.Resolved, r.ResolvedAt, r.ResolvedBy, r.Resolution = true, store.Time(at), by, resolution
	return r, nil
}

// CheckResolution validates ResolveReview's account and resolution.
func CheckResolution(op, account, resolution string) error {
	if err := store.CheckAccount(op, account); err != nil {
		return err
	}
	if resolution == "" {
		return store.Invalid(op, "resolve with store.ResolveLink and a ContactID, store.ResolveCreate or store.ResolveIgnore", "no resolution")
	}
	return nil
}

// CheckClient validates a client before it is stored and normalises its times.
func CheckClient(op, account string, c tenantsync.Client) (tenantsync.Client, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return c, err
	}
	if c.ID == "" {
		return c, store.Invalid(op, "give the client its PSA ID", "client %q without an ID", c.Name)
	}
	c.Domains, c.TenantIDs = slices.Clone(c.Domains), slices.Clone(c.TenantIDs)
	c.ActiveUntil = store.Time(c.ActiveUntil)
	return c, nil
}

// NewContact validates a contact to create and gives it an ID when it has none.
func NewContact(op, account string, c tenantsync.Contact) (tenantsync.Contact, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return c, err
	}
	if c.ClientID == "" {
		return c, store.Invalid(op, "set the contact's ClientID", "contact without a client")
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	c.AltEmails = slices.Clone(c.AltEmails)
	return c, nil
}

// ContactExists is CreateContact's error for an ID in use.
func ContactExists(op, id string) error {
	return store.Errorf(tenantsync.ErrConflict, op, "", "leave ID empty for the store to assign one", "contact %q exists", id)
}

// The stores' ErrNotFound errors, each worded once, with what to do about it.

// ContactNotFound is the error for a missing contact.
func ContactNotFound(op, clientID, contactID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, "", "create the contact first; contact IDs are per client",
		"no contact %q of client %q", contactID, clientID)
}

// TenantNotFound is the error for a tenant the account does not have.
func TenantNotFound(op, tenantID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, tenantID, "record a discovery that lists the tenant first, and check the account ID",
		"no tenant %s in this account", tenantID)
}

// ConnectionNotFound is the error for a missing connection.
func ConnectionNotFound(op, name string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, "", "store the connection with PutConnection; ListConnections names those stored",
		"no connection %q", name)
}

// ClientNotFound is the error for a missing client.
func ClientNotFound(op, clientID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, "", "store the client with PutClient first", "no client %q", clientID)
}

// UserNotFound is the error for a user the tenant's mirror does not hold.
func UserNotFound(op, tenantID, objectID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, tenantID, "sync the tenant's users first; a removed user leaves the mirror", "no user %s", objectID)
}

// LinkNotFound is the error for a user without a contact link.
func LinkNotFound(op, tenantID, objectID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, tenantID, "the user is not linked to a contact; match or link it first",
		"no contact link for user %s", objectID)
}

// ReviewNotFound is the error for a missing review.
func ReviewNotFound(op, id string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, "", "list the reviews again for their current IDs", "no review %q", id)
}

// StateNotFound is the error for a tenant that has no sync state yet.
func StateNotFound(op, tenantID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, tenantID, "the tenant has not been synced yet", "no sync state for tenant %s", tenantID)
}

// LeaseNotFound is the error for a tenant nobody holds a lease on.
func LeaseNotFound(op, tenantID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, tenantID, "acquire the lease (again) before syncing the tenant", "no lease on tenant %s", tenantID)
}

// CheckLinkTenant validates LinkTenant's arguments.
func CheckLinkTenant(op, account, tenantID, clientID string) error {
	if err := store.CheckTenant(op, account, tenantID); err != nil {
		return err
	}
	if clientID == "" {
		return store.Invalid(op, "pass the client ID", "no client")
	}
	return nil
}

// LinkTo links rec to clientID at now, or resumes syncing when it is linked to it already.
func LinkTo(op string, rec *store.TenantRecord, clientID string, now time.Time) error {
	switch rec.ClientID {
	case clientID:
	case "":
		rec.ClientID, rec.LinkedAt = clientID, store.Time(now)
	default:
		return store.NewAlreadyLinkedError(op, rec.ID, rec.ClientID)
	}
	rec.Syncing = true
	return nil
}

// Unlink removes rec's link and stops its syncing.
func Unlink(rec *store.TenantRecord) {
	rec.ClientID, rec.LinkedAt, rec.Syncing = "", time.Time{}, false
}

// SetSyncing pauses or resumes rec; only a linked tenant can resume.
func SetSyncing(op string, rec *store.TenantRecord, syncing bool) error {
	if syncing && !rec.Linked() {
		return store.Invalid(op, "link the tenant to a client first", "tenant %s is not linked", rec.ID)
	}
	rec.Syncing = syncing
	return nil
}

// CheckReadKind validates ReadKind's arguments.
func CheckReadKind(op, account, tenantID string, kind tenantsync.Kind) error {
	if err := store.CheckTenant(op, account, tenantID); err != nil {
		return err
	}
	if !kind.Valid() {
		return store.Invalid(op, "use one of the tenantsync.Kind constants", "unknown kind %q", kind)
	}
	return nil
}

// CheckReadItems validates the arguments of ItemsReader.ReadItems.
func CheckReadItems(op, account, tenantID string, kind tenantsync.Kind, ids []string) error {
	if err := CheckReadKind(op, account, tenantID, kind); err != nil {
		return err
	}
	if slices.Contains(ids, "") {
		return store.Invalid(op, "pass the IDs of items, as store.Mirror identifies them", "an item ID is empty")
	}
	return nil
}

// ApplyFunc commits a batch under the name op, as the stores' Commit does.
type ApplyFunc func(ctx context.Context, op, account string, b store.Batch) (store.BatchResult, error)

// ApplyOne is Mirror.Apply written as a batch of one kind.
func ApplyOne(ctx context.Context, commit ApplyFunc, account, tenantID string, ch store.KindApply) (store.Applied, error) {
	res, err := commit(ctx, "Apply", account, store.Batch{TenantID: tenantID, Kinds: []store.KindApply{ch}})
	if err != nil {
		return store.Applied{}, err
	}
	return res.Kinds[0], nil
}

// CheckHolder is Batch.Holder's guard: l is the tenant's lease (zero when there is none), and
// b commits only while b.Holder's lease is unexpired at b.Now.
func CheckHolder(op string, b store.Batch, l store.Lease) error {
	if l.Holder != b.Holder || !l.ExpiresAt.After(store.Time(b.Now)) {
		return store.NewLeaseHeldError(op, b.TenantID, l.Holder, l.ExpiresAt)
	}
	return nil
}

// SealedConnection is a stored connection: Conn without its Secret, which Sealed holds.
type SealedConnection struct {
	Conn   store.Connection
	Sealed store.Sealed
}

// OpenConnections returns the connections with their secrets opened, in order. Stores call it
// outside their locks and transactions: the key provider may be slow.
func OpenConnections(ctx context.Context, keys store.KeyProvider, account string, cs ...SealedConnection) ([]store.Connection, error) {
	out := make([]store.Connection, 0, len(cs))
	for _, sc := range cs {
		c := sc.Conn
		c.Config = slices.Clone(c.Config)
		secret, err := store.Open(ctx, keys, account, c.Name, sc.Sealed)
		if err != nil {
			return nil, err
		}
		c.Secret = secret
		out = append(out, c)
	}
	return out, nil
}

// OpenConnection is OpenConnections for one connection.
func OpenConnection(ctx context.Context, keys store.KeyProvider, account string, sc SealedConnection) (store.Connection, error) {
	cs, err := OpenConnections(ctx, keys, account, sc)
	if err != nil {
		return store.Connection{}, err
	}
	return cs[0], nil
}
