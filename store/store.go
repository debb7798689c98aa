package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Store is everything the engine remembers, reached one account (one MSP) at a time through
// Account: nothing of one account is visible or changeable through another. Implementations
// are safe for concurrent use.
type Store interface {
	// Account returns the handle every call for one account goes through. It does no I/O and
	// cannot fail: an invalid account ID fails each call made through the handle with
	// ErrInvalidInput.
	Account(id string) Account
	// Accounts lists the accounts that have at least one tenant, sorted.
	Accounts(ctx context.Context) ([]string, error)
	// Close releases the store's resources. The store is unusable afterwards.
	Close() error
}

// Account is one MSP's view of a store: its role interfaces, each scoped to the account, so no
// call repeats it. A consumer keeps the handle (or only the roles it calls) rather than the
// Store. The zero Account has nil roles; get one from Store.Account.
type Account struct {
	ID          string
	Connections Connections
	Tenants     Tenants
	Mirror      Mirror
	Links       ContactLinks
	Merges      Merges
	Reviews     Reviews
	SyncStates  SyncStates
	Audit       Audit
	Leases      Leases
	Feed        ChangeFeed
	Billing     BillingHistory
	Settings    Settings
}

// ConnectionKind names the service a connection reaches.
type ConnectionKind string

// Connection kinds.
const (
	ConnectionCIPP          ConnectionKind = "cipp"
	ConnectionGraph         ConnectionKind = "graph"
	ConnectionPartnerCenter ConnectionKind = "partnercenter"
)

// Valid reports whether k is a declared connection kind.
func (k ConnectionKind) Valid() bool {
	return k == ConnectionCIPP || k == ConnectionGraph || k == ConnectionPartnerCenter
}

// Connection is one set of credentials an account connected, with its non-secret settings.
type Connection struct {
	Name string         // unique per account, chosen by the caller ("cipp", "partner-app")
	Kind ConnectionKind // the service it reaches
	// Config is the non-secret configuration (base URL, client ID, tenant ID) as JSON. It is
	// stored as given, so it must not hold a secret.
	Config json.RawMessage
	// Secret is the client secret or API key. The store seals it before it reaches storage and
	// opens it again on read; it formats as [REDACTED] everywhere.
	Secret Secret
	// KeyID names the key that seals the stored secret. Filled by the store on read.
	KeyID     string
	CreatedAt time.Time // filled by the store
	UpdatedAt time.Time // filled by the store
}

// Connections holds the account's connections and their sealed secrets.
type Connections interface {
	// Put creates or replaces the connection with c.Name, sealing c.Secret under the key
	// provider's current key. A connection without a secret is refused rather than stored over
	// the one that has it.
	Put(ctx context.Context, c Connection) error
	// Get returns the named connection with its secret opened. ErrNotFound when absent.
	Get(ctx context.Context, name string) (Connection, error)
	// List returns every connection of the account, secrets opened, ordered by name.
	List(ctx context.Context) ([]Connection, error)
	// Delete removes the named connection. ErrNotFound when absent.
	Delete(ctx context.Context, name string) error
	// Disconnect removes the connection r.Name and unlinks r.TenantIDs as r.Mode says, in one
	// transaction, with a feed entry per tenant unlinked (ChangeTenantUnlinked) and one for the
	// connection (ChangeDisconnected). Nothing changes when any part fails.
	Disconnect(ctx context.Context, r DisconnectRequest) (Disconnection, error)
	// RotateSecrets re-seals every secret of the account that is not sealed under the current
	// key, and returns how many it re-sealed.
	RotateSecrets(ctx context.Context) (int, error)
}

// TenantStatus says whether the sources still report a tenant.
type TenantStatus string

// Tenant statuses. Tenants are never deleted by discovery: one no source reports any more is
// flagged vanished and returns to active when a source reports it again.
const (
	TenantActive   TenantStatus = "active"
	TenantVanished TenantStatus = "vanished"
)

// LastSeenPrecision is how stale TenantRecord.LastSeen may be (see there).
const LastSeenPrecision = 15 * time.Minute

// TenantRecord is a discovered tenant with what the account decided about it.
type TenantRecord struct {
	// Tenant is the tenant as last reported; Tenant.Source names the last source that did.
	tenantsync.Tenant
	Sources   []string // every source whose latest complete discovery included the tenant, sorted
	Status    TenantStatus
	FirstSeen time.Time
	// LastSeen is when a discovery last listed the tenant, to within LastSeenPrecision: a
	// listing that changes nothing else moves it only when it is older than that, so that
	// every engine's discovery does not rewrite every tenant record of the account.
	LastSeen   time.Time
	VanishedAt time.Time // zero unless Status is TenantVanished

	ClientID string    // the PSA client the tenant is linked to, "" when unlinked
	LinkedAt time.Time // when ClientID was set
	// Syncing is true while the engine should sync the tenant: set by Tenants.Link, cleared by
	// Tenants.Unlink and Tenants.SetSyncing(false).
	Syncing bool
	// EnabledKinds are the kinds the engine fetches for the tenant. Discovery starts a new
	// tenant with every kind; SetEnabledKinds changes it.
	EnabledKinds []tenantsync.Kind
}

// Linked reports whether the tenant is linked to a client.
func (t TenantRecord) Linked() bool { return t.ClientID != "" }

// KindEnabled reports whether k is among the tenant's enabled kinds.
func (t TenantRecord) KindEnabled(k tenantsync.Kind) bool {
	for _, e := range t.EnabledKinds {
		if e == k {
			return true
		}
	}
	return false
}

// Discovery is what one source's complete tenant listing changed.
type Discovery struct {
	New      []string // tenant IDs seen for the first time
	Returned []string // tenant IDs that were vanished and are reported again
	Vanished []string // tenant IDs no source reports any more
	Seen     int      // tenants in the listing
}

// UnlinkMode says what Tenants.Unlink does with a tenant's data.
type UnlinkMode int

// Unlink modes.
const (
	// UnlinkKeep removes the link and stops syncing but keeps the mirror, cursors, contact
	// links and sync state, so relinking resumes where it stopped.
	UnlinkKeep UnlinkMode = iota
	// UnlinkPurge removes the link and the tenant's mirror, cursors, contact links, remembered
	// merges, review items and sync state. The tenant record itself stays (discovery owns it).
	UnlinkPurge
)

// String returns "keep" or "purge".
func (m UnlinkMode) String() string {
	if m == UnlinkPurge {
		return "purge"
	}
	return "keep"
}

// Tenants holds the account's discovered tenants and their links to clients.
type Tenants interface {
	// RecordDiscovery records the complete tenant listing of one source. Listed tenants are
	// created or refreshed (and return to active); tenants this source reported before but
	// omits now lose it from Sources, and those left with no source are flagged vanished. Call
	// it only with a listing that succeeded: a failed listing means nothing changed.
	RecordDiscovery(ctx context.Context, source string, tenants []tenantsync.Tenant, now time.Time) (Discovery, error)
	// Get returns one tenant. ErrNotFound when the account has no such tenant.
	Get(ctx context.Context, tenantID string) (TenantRecord, error)
	// List returns the account's tenants ordered by ID.
	List(ctx context.Context) ([]TenantRecord, error)
	// Link links a tenant to a client and marks it syncing. Linking to the client it is
	// already linked to only resumes syncing. A tenant linked to another client fails with an
	// *AlreadyLinkedError (ErrAlreadyLinked) naming that client. Several tenants may share a
	// client.
	Link(ctx context.Context, tenantID, clientID string, now time.Time) error
	// Unlink removes the tenant's link as mode says. PSA contacts are never touched.
	Unlink(ctx context.Context, tenantID string, mode UnlinkMode) error
	// SetSyncing pauses (false) or resumes (true) syncing of a linked tenant.
	SetSyncing(ctx context.Context, tenantID string, syncing bool) error
	// SetEnabledKinds sets which kinds the engine fetches for the tenant.
	SetEnabledKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) error
}

// ClientTenants is implemented by a Tenants that lists one client's tenants without reading
// the account's others. The engine looks for a client's tenants at every sync (a contact is
// matched against the links of every tenant of its client), which by List costs every tenant
// record of the account per sync; the stores of this module implement it, and a Tenants without
// it is read through List.
type ClientTenants interface {
	// ListForClient returns the tenants linked to clientID, or those linked to no client when
	// clientID is "", ordered by ID: List's answer, filtered by ClientID.
	ListForClient(ctx context.Context, clientID string) ([]TenantRecord, error)
}

// KindApply is one kind's mirror change: a complete listing (Result.Mode Complete) replaces
// the tenant's whole kind, a change set (Result.Mode Changes) upserts Result's items and removes
// Result.Removed. Result.Cursor becomes the kind's cursor.
type KindApply struct {
	Result *tenantsync.KindResult
	// ExpectCursor is the cursor the caller read before fetching ("" when none). When the
	// stored cursor differs, another writer got there first and the apply fails with ErrConflict.
	ExpectCursor string
	// Stage, when set, is the ID of the Stage whose staged items of Result.Kind are the
	// listing or change set to apply: Result then carries only the kind, mode and cursor. The
	// commit applies them as it applies a Result's items, in its one transaction, and drops
	// them from the stage. A Stage of another tenant, or one discarded, fails with ErrInvalidInput.
	Stage string
	// Keep are items the apply leaves as the mirror has them: neither replaced nor removed,
	// whatever the listing or change set says of them (the deletion guard's held items).
	Keep []string
}

// Applied is what one kind's apply changed. IDs are sorted.
type Applied struct {
	Kind tenantsync.Kind
	// Added, Updated and Removed name the items, except for a staged apply (KindApply.Stage),
	// whose lists could be as long as the tenant: they are nil there, and the counts below
	// say how many.
	Added     []string
	Updated   []string
	Removed   []string
	Unchanged int
	Cursor    string // the stored cursor after the apply
	// AddedCount, UpdatedCount and RemovedCount count the items added, updated and removed,
	// for every apply.
	AddedCount, UpdatedCount, RemovedCount int
}

// Changed reports whether the apply added, updated or removed anything.
func (a Applied) Changed() bool {
	return len(a.Added)+len(a.Updated)+len(a.Removed)+a.AddedCount+a.UpdatedCount+a.RemovedCount > 0
}

// Stager is implemented by a Mirror that can take a kind's items page by page, as a source
// streams them (tenantsync.FetchRequest.Sink), into a staging area the commit applies with
// the kind's cursor, so the caller never holds a whole listing. The stores of this module
// implement it; the engine falls back to holding listings with a Mirror that does not.
type Stager interface {
	// Stage opens a staging area for one sync run of the tenant, dropping whatever an earlier
	// run of the tenant left staged (a run holds the tenant's lease, so no other stages it).
	Stage(ctx context.Context, tenantID string) (Stage, error)
}

// Stage is one sync run's staging area for one tenant. Nothing staged is visible in the
// mirror until a commit applies it (KindApply.Stage).
type Stage interface {
	// ID names the stage in KindApply.Stage.
	ID() string
	// Put stages one page of page.Kind (see tenantsync.PageSink.Page): its items replace
	// staged items with the same IDs; page.Removed marks IDs removed (page.Mode Changes) or
	// drops them from the listing (Complete).
	Put(ctx context.Context, page *tenantsync.KindResult) error
	// Reset drops what is staged of kind, before a kind is listed again.
	Reset(ctx context.Context, kind tenantsync.Kind) error
	// Count returns how many distinct items (removals not counted) are staged of kind.
	Count(ctx context.Context, kind tenantsync.Kind) (int, error)
	// Read returns up to limit staged entries of kind whose IDs sort after after, in ID
	// order: items in the kind's slice, removals in Removed. last is the greatest ID returned,
	// "" when none is left.
	Read(ctx context.Context, kind tenantsync.Kind, after string, limit int) (page *tenantsync.KindResult, last string, err error)
	// Loss returns what applying the staged kind in mode would take away from the mirror.
	Loss(ctx context.Context, kind tenantsync.Kind, mode tenantsync.Mode) (StagedLoss, error)
	// Discard drops the stage. Discarding it again is not an error.
	Discard(ctx context.Context) error
}

// StagedLoss is what a staged kind takes away from the mirror, for the deletion guard.
type StagedLoss struct {
	// Removed are the mirrored items the apply would remove: those a complete listing omits,
	// or a change set removes. Sorted.
	Removed []string
	// Disabled are the mirrored users, enabled there, that the staged users show with sign-in
	// blocked and that are not removed. Sorted; users only.
	Disabled []string
	// Of is the number of items the mirror holds of the kind.
	Of int
}

// Mirror holds, per tenant, the last known state of each kind and the kind's cursor.
//
// Items are identified within their tenant by: users, mailboxes and MFA by user object ID,
// devices by ID, domains by name, subscriptions by SKU ID; the baseline is a single item.
type Mirror interface {
	// Apply applies one kind's change and its cursor in one transaction. Commit does the same
	// for several kinds and the rest of a sync outcome at once.
	Apply(ctx context.Context, tenantID string, change KindApply) (Applied, error)
	// Commit applies a tenant's whole sync outcome in one transaction: every kind's mirror
	// change with its cursor compare-and-set, contact-link changes, new review items and the
	// sync state. Either all of it is stored or none of it is; a cursor mismatch fails the whole
	// batch with ErrConflict.
	Commit(ctx context.Context, b Batch) (BatchResult, error)
	// ReadKind returns the mirror of one kind as a complete result carrying the stored cursor.
	ReadKind(ctx context.Context, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error)
	// GetUser returns one mirrored user. ErrNotFound when absent.
	GetUser(ctx context.Context, tenantID, objectID string) (tenantsync.User, error)
	// Cursors returns the stored cursor of every kind that has one.
	Cursors(ctx context.Context, tenantID string) (map[tenantsync.Kind]string, error)
	// Counts returns the number of mirrored items of each kind that has any.
	Counts(ctx context.Context, tenantID string) (map[tenantsync.Kind]int, error)
}

// KindsReader is implemented by mirrors that read several kinds at once. The engine reads the
// mirrors its deletion guard compares a sync's listings with through it when the mirror has it:
// the SQL stores of this module read them in one transaction, where a ReadKind a kind costs a
// transaction each. Every mirror of this module has it.
type KindsReader interface {
	// ReadKinds returns the mirror of each of kinds, as ReadKind returns each.
	ReadKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error)
}

// ItemsReader is implemented by mirrors that read chosen items of a kind. The engine reads
// through it the mirrored items a change set names (the users it removes or blocks, the
// mailboxes it changes), where a ReadKind would read a large tenant's whole mirror for a few
// of its items. Every mirror of this module has it.
type ItemsReader interface {
	// ReadItems returns the mirrored items of kind among ids, ordered by ID, as a change set
	// that would upsert them as they are (Mode Changes, no cursor); IDs not mirrored are left
	// out. Items are identified as Mirror says. ErrNotFound for an unknown tenant,
	// ErrInvalidInput for an unknown kind or an empty ID.
	ReadItems(ctx context.Context, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error)
}

// ContactLink ties an M365 user to a PSA contact. A user has at most one contact and a contact
// at most one user, per account.
type ContactLink struct {
	TenantID  string
	ObjectID  string // the user's object ID
	ClientID  string
	ContactID string
	LinkedAt  time.Time
	// Deactivated is set when the engine deactivated the contact because its user was removed
	// or disabled, so it knows to reactivate it when the user returns.
	Deactivated bool
}

// Merge is a person's decision that a user is a given contact. It wins over matching next time.
type Merge struct {
	TenantID  string
	ObjectID  string
	ClientID  string
	ContactID string
	DecidedBy string
	DecidedAt time.Time
}

// ContactLinks holds the account's user-to-contact links.
type ContactLinks interface {
	// Set creates or replaces the link of (TenantID, ObjectID). A contact already linked to
	// another user fails with a *ContactTakenError (ErrConflict).
	Set(ctx context.Context, l ContactLink) error
	// Delete removes the link of a user. Deleting an absent link is not an error.
	Delete(ctx context.Context, tenantID, objectID string) error
	// Get returns the link of a user. ErrNotFound when absent.
	Get(ctx context.Context, tenantID, objectID string) (ContactLink, error)
	// List returns the links of a tenant ordered by object ID.
	List(ctx context.Context, tenantID string) ([]ContactLink, error)
}

// Merges holds the account's remembered merge decisions.
type Merges interface {
	// Remember records (or replaces) a person's merge decision for a user.
	Remember(ctx context.Context, m Merge) error
	// Forget removes a merge decision. Forgetting an absent one is not an error.
	Forget(ctx context.Context, tenantID, objectID string) error
	// List returns the merge decisions of a tenant ordered by object ID.
	List(ctx context.Context, tenantID string) ([]Merge, error)
}

// ReviewCandidate is one contact a user might be.
type ReviewCandidate struct {
	ContactID string
	Score     float64
	Reason    string
}

// Review is an ambiguous match waiting for a person.
type Review struct {
	ID         string // assigned by the store
	TenantID   string
	ObjectID   string
	ClientID   string
	Reason     string
	Candidates []ReviewCandidate
	CreatedAt  time.Time
	UpdatedAt  time.Time

	Resolved   bool
	ResolvedAt time.Time
	ResolvedBy string
	// Resolution is the resolution as stored: "link:" and the chosen contact ID for
	// ResolveLink, or the action's name ("create", "ignore"); a bare contact ID, as logs
	// written before v1 hold, is a link. Read it with Outcome.
	Resolution string
}

// Outcome returns the review's resolution as a typed value; the zero Resolution when the
// review is open.
func (r Review) Outcome() Resolution {
	if !r.Resolved {
		return Resolution{}
	}
	out := Resolution{By: r.ResolvedBy, At: r.ResolvedAt}
	switch id, link := strings.CutPrefix(r.Resolution, linkPrefix); {
	case link:
		out.Action, out.ContactID = ResolveLink, id
	case ResolutionAction(r.Resolution) == ResolveCreate, ResolutionAction(r.Resolution) == ResolveIgnore:
		out.Action = ResolutionAction(r.Resolution)
	default:
		out.Action, out.ContactID = ResolveLink, r.Resolution
	}
	return out
}

// linkPrefix marks a link in Review.Resolution, so a contact whose ID is "create" or "ignore"
// is not read back as that action.
const linkPrefix = "link:"

// StoredResolution is the stored form of r in Review.Resolution, for store implementations.
func StoredResolution(r Resolution) string {
	if r.Action == ResolveLink {
		return linkPrefix + r.ContactID
	}
	return string(r.Action)
}

// ResolutionAction is what a person decided about a review.
type ResolutionAction string

// Review resolution actions.
const (
	ResolveLink   ResolutionAction = "link"   // the user is the contact Resolution.ContactID
	ResolveCreate ResolutionAction = "create" // create a new contact for the user
	ResolveIgnore ResolutionAction = "ignore" // leave the user unlinked
)

// Resolution is a person's decision closing a review.
type Resolution struct {
	Action    ResolutionAction
	ContactID string // the contact the user is, for ResolveLink only
	By        string // who decided
	At        time.Time
}

// ReviewFilter narrows Reviews.List.
type ReviewFilter struct {
	TenantID        string // "" for every tenant
	IncludeResolved bool
}

// Reviews is the account's queue of ambiguous matches.
type Reviews interface {
	// Add queues a review for a user. A user has at most one open review: adding again
	// refreshes its reason and candidates and keeps its ID. It returns the stored review.
	Add(ctx context.Context, r Review) (Review, error)
	// List returns reviews ordered by creation time, then ID.
	List(ctx context.Context, f ReviewFilter) ([]Review, error)
	// Resolve closes an open review with a resolution; a zero r.At is set to the store's
	// clock. ErrInvalidInput when r is not a valid resolution (an unknown action, ResolveLink
	// without a ContactID, a ContactID with another action); ErrNotFound when there is no such
	// review; ErrConflict when it is already resolved.
	Resolve(ctx context.Context, id string, r Resolution) (Review, error)
}

// SyncError is the last failure of a tenant's sync, as stored.
type SyncError struct {
	Kind    string // tenantsync.ClassName of the error's class
	Message string
	Hint    string
	At      time.Time
}

// SyncErrorOf converts err into a SyncError at time at, or returns nil for a nil err.
func SyncErrorOf(err error, at time.Time) *SyncError {
	if err == nil {
		return nil
	}
	return &SyncError{
		Kind:    tenantsync.ClassName(tenantsync.ClassOf(err)),
		Message: err.Error(),
		Hint:    tenantsync.HintOf(err),
		At:      at,
	}
}

// SyncState is a tenant's sync status.
type SyncState struct {
	TenantID    string
	LastStart   time.Time
	LastSuccess time.Time
	// LastFinish is when the last sync ended: for a successful one whose final state its
	// commit stored (the engine does so when the commit's counts are known before it), the
	// commit's instant; otherwise after its commit, or its failure.
	LastFinish time.Time
	LastError  *SyncError // nil when the last sync succeeded
	// KindErrors holds the errors of kinds that were unavailable in the last sync.
	KindErrors map[tenantsync.Kind]SyncError
	Counts     map[tenantsync.Kind]int // items per kind after the last sync
	Duration   time.Duration           // of the last sync
	NextDue    time.Time               // when the tenant should sync next; zero means now
	Running    bool
	// Progress holds items fetched so far per kind while Running.
	Progress map[tenantsync.Kind]int
	// Recent is what each kind lost without a hold during the deletion guard's rolling window,
	// stretch by stretch, oldest first: the guard judges a fetch together with it, so a large
	// removal spread over several syncs is held like one made at once. Every writer of the
	// state carries it forward.
	Recent map[tenantsync.Kind][]RecentLoss
	// Holds are the kinds whose removals the engine's deletion guard holds: a fetch would have
	// removed more of the kind's mirror than the guard allows, so nothing of the kind was
	// applied. A hold lasts until a person releases it, a later fetch confirms it or the items
	// are listed again; every writer of the state carries it forward.
	Holds map[tenantsync.Kind]DeletionHold

	// ContactFailures are the users, by object ID, whose contact the PSA refused or failed to
	// write: the engine stored everything else of the sync and retries these at later syncs
	// with a backoff, until Attempts reaches its limit and the failure waits for a person.
	// Every writer of the state carries them forward.
	ContactFailures map[string]ContactFailure
	// ContactsPending is how many users the last reconcile left for a later sync without
	// trying: the PSA was paused (throttled or failing), the sync's budget of PSA calls was
	// spent, or its cap on creates reached. While it is above zero, every sync reconciles all
	// of the tenant's users.
	ContactsPending int
	// Creation is how far creating the contacts that a sync's cap on creates (or its budget of
	// PSA calls) left for later syncs has come; zero when no sync left a create over.
	Creation ContactCreation
	// ContactsError says why the last reconcile stopped writing contacts early (the PSA
	// throttled, failed, refused the credentials, or was paused by an earlier such answer);
	// nil when it ran to its end or stopped only at its call budget.
	ContactsError *SyncError
	// CreateIntents are the contacts the engine was about to create, by the user's object ID,
	// recorded before the PSA was called and kept while the outcome is unknown (the PSA did not
	// answer, or the sync stopped before its commit). The next sync looks for such a contact
	// before it creates one again.
	CreateIntents map[string]CreateIntent
	// Assets is the engine's asset reconcile state: device-to-asset links, devices waiting for
	// a person, people's decisions, failed asset writes and held retirements. Every writer of
	// the state carries it forward.
	Assets AssetState
}

// ContactCreation counts the contacts created since a sync first left creates for later syncs,
// and the users still waiting for theirs. A sync that leaves none over ends it with Remaining 0;
// the one after that clears it.
type ContactCreation struct {
	Created   int // contacts created since the first sync that left creates over, that one included
	Remaining int // users whose contact is still to be created
}

// ContactOp names the PSA call a contact failure is about.
type ContactOp string

// The PSA calls the engine makes for one user.
const (
	ContactCreate     ContactOp = "create"
	ContactUpdate     ContactOp = "update"
	ContactDeactivate ContactOp = "deactivate"
	ContactReactivate ContactOp = "reactivate"
)

// ContactFailure is one user whose contact could not be written. It is stored inside the sync
// state, so it needs no schema of its own.
type ContactFailure struct {
	ObjectID    string // the user's object ID
	UPN         string // the user's principal name, when the mirror has the user
	DisplayName string // the user's (or, for a removed user, the contact's) name
	Op          ContactOp
	ContactID   string // the contact concerned; "" for a create
	Kind        string // tenantsync.ClassName of the error's class
	Message     string // the PSA's own message
	Hint        string // what to do
	Attempts    int    // failed calls so far, the latest included
	FirstAt     time.Time
	LastAt      time.Time
	// NextRetry is the earliest sync that tries again; zero once the failure waits for a
	// person (NeedsPerson) or a person chose to leave it (Ignored).
	NextRetry time.Time
	// NeedsPerson is set when Attempts reached the engine's limit: the call is not made again
	// until a person decides (retry, merge with a contact, or ignore).
	NeedsPerson bool
	// Ignored is set when a person chose to leave the user without this change; the engine no
	// longer tries it.
	Ignored   bool
	DecidedBy string
	DecidedAt time.Time
}

// String is one line a person can read: who, what failed, how often, why and what to do.
func (f ContactFailure) String() string {
	who := f.UPN
	if who == "" {
		who = f.ObjectID
	}
	if f.DisplayName != "" {
		who += " (" + f.DisplayName + ")"
	}
	var b strings.Builder
	b.WriteString(who)
	b.WriteString(": ")
	b.WriteString(string(f.Op))
	b.WriteString(" failed ")
	if f.Attempts == 1 {
		b.WriteString("once")
	} else {
		b.WriteString(strconv.Itoa(f.Attempts) + " times")
	}
	b.WriteString(" (" + f.Kind)
	if f.Message != "" {
		b.WriteString(": " + f.Message)
	}
	b.WriteString(")")
	switch {
	case f.Ignored:
		b.WriteString("; left as it is by " + f.DecidedBy)
	case f.NeedsPerson:
		b.WriteString("; waits for a person")
	case !f.NextRetry.IsZero():
		b.WriteString("; next try from " + f.NextRetry.UTC().Format(time.RFC3339))
	}
	if f.Hint != "" {
		b.WriteString(". What to do: " + f.Hint)
	}
	return b.String()
}

// CreateIntent is a contact create the engine recorded before calling the PSA.
type CreateIntent struct {
	// Key is the contact's tenantsync.Contact.IdempotencyKey.
	Key string
	// Contact is what the engine asked the PSA to create.
	Contact tenantsync.Contact
	At      time.Time
	// Existing are the client's contacts that already looked like Contact when the intent
	// was recorded, sorted: whatever the create made, it was none of these.
	Existing []string
}

// RecentLoss is what one kind lost during one stretch of the deletion guard's rolling window:
// the items its syncs removed from the mirror without a hold and, for users, the accounts
// they newly saw with sign-in blocked (whose contacts were deactivated), which the guard
// counts; and the items removed under a hold a person released or a fetch confirmed, which it
// does not count but which were part of the mirror the counted ones are measured against.
type RecentLoss struct {
	From     time.Time // the first sync counted in the stretch
	To       time.Time // the last one; the stretch counts until To is older than the window
	Removed  int
	Disabled int
	Approved int
}

// DeletionHold is one held removal. It is stored inside the sync state, so it needs no schema
// of its own.
type DeletionHold struct {
	Kind   tenantsync.Kind
	Source string          // the source whose answer was held
	Mode   tenantsync.Mode // Complete: a listing omitted the items; Changes: a change set removed them
	// IDs are the mirrored items the hold covers, sorted: those the held fetch would remove
	// and, for users, those it newly shows with sign-in blocked (object IDs for users). A
	// release or a confirmation applies the removal of these (and the blocking of these users)
	// only; a later fetch that touches these and at most DeletionGuard.MaxRemovals others is
	// the same removal.
	IDs []string
	// Removals is how many mirrored items the latest fetch would remove, Of how many the
	// mirror holds.
	Removals int
	Of       int
	// Disabled is how many mirrored users the latest fetch newly shows with sign-in blocked,
	// besides the removals: their contacts would be deactivated too. Users only.
	Disabled int
	// Recent is how many items of the kind the syncs of the deletion guard's rolling window
	// before this hold removed or disabled without a hold; the guard counted them with the
	// fetch's own.
	Recent   int
	Since    time.Time // when the removal was first held
	LastSeen time.Time // the latest fetch that still would remove the items
	// Released is set when a person released the hold: the next fetch that shows the same
	// removal applies it once, above the threshold.
	Released   bool
	ReleasedBy string
	ReleasedAt time.Time
	Hint       string // what a person should check and how to release the hold
}

// SyncStates holds the sync status of each of the account's tenants.
type SyncStates interface {
	// Put stores the state of s.TenantID, replacing the previous one.
	Put(ctx context.Context, s SyncState) error
	// Get returns a tenant's state. ErrNotFound when none was stored.
	Get(ctx context.Context, tenantID string) (SyncState, error)
	// List returns every stored state of the account ordered by tenant ID.
	List(ctx context.Context) ([]SyncState, error)
}

// Directory is the default client list and contact directory of one account, a stand-in for
// a PSA's own, for PSAs (and the daemon) that want one. It is separate from Store: a PSA with
// its own clients and contacts never needs it. The stores in this module provide one through
// their Directory(account) method; ContactsFor adapts it to tenantsync.Contacts. It never
// deletes a contact.
type Directory interface {
	// PutClient creates or replaces a client by ID.
	PutClient(ctx context.Context, c tenantsync.Client) error
	// GetClient returns one client. ErrNotFound when absent.
	GetClient(ctx context.Context, clientID string) (tenantsync.Client, error)
	// ListClients returns the account's clients ordered by ID.
	ListClients(ctx context.Context) ([]tenantsync.Client, error)
	// CreateContact stores a new contact with a store-assigned ID, or c.ID when set and unused.
	CreateContact(ctx context.Context, c tenantsync.Contact) (tenantsync.Contact, error)
	// UpdateContact replaces the fields of the contact (c.ClientID, c.ID). ErrNotFound when
	// absent.
	UpdateContact(ctx context.Context, c tenantsync.Contact) error
	// SetContactActive activates or deactivates a contact. ErrNotFound when absent.
	SetContactActive(ctx context.Context, clientID, contactID string, active bool) error
	// GetContact returns one contact. ErrNotFound when absent.
	GetContact(ctx context.Context, clientID, contactID string) (tenantsync.Contact, error)
	// ListContacts returns every contact of a client, active or not, ordered by ID.
	ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error)
}

// AuditQuery narrows Audit.List.
type AuditQuery struct {
	AfterSeq int64  // entries with Seq greater than this
	TenantID string // "" for every tenant
	Limit    int    // 0 for no limit
}

// AuditVerification is the outcome of verifying an account's audit chain.
type AuditVerification struct {
	// Entries is how many entries verified, from the first: all of them when the chain is
	// intact.
	Entries int
	// FirstBroken is the Seq of the first entry that does not verify (its MAC, its link to
	// its predecessor, its place in the sequence), or of the first one missing; 0 when the
	// chain is intact.
	FirstBroken int64
	Reason      string // why FirstBroken fails, "" when intact
	// Head is the last entry that verified: the chain's head when it is intact, the zero head
	// for an empty chain. Record it outside the database and pass it to a later Audit.Verify as
	// expect: that is what detects a chain cut back together with its head.
	Head AuditHead
}

// OK reports whether the chain verified.
func (v AuditVerification) OK() bool { return v.FirstBroken == 0 }

// Audit is the account's append-only audit log. Each entry is chained to the previous entry of
// its account by an HMAC keyed from the KeyProvider; the interface has no way to change or
// remove an entry. The package documentation says what the chain does and does not detect.
type Audit interface {
	// Append appends e to the account's log, filling Seq (1, 2, ... per account), Account,
	// PrevHash, KeyID (the KeyProvider's current key) and Hash, and returns the stored entry.
	// Concurrent appends are serialised so the chain never forks. A zero e.At is set to the
	// store's clock.
	Append(ctx context.Context, e tenantsync.AuditEntry) (tenantsync.AuditEntry, error)
	// List returns entries in Seq order.
	List(ctx context.Context, q AuditQuery) ([]tenantsync.AuditEntry, error)
	// Verify recomputes the account's chain under the KeyProvider's keys and names the first
	// broken entry. When expect is not nil (a Head an earlier verification returned, kept
	// outside the database), the chain must still hold that entry unchanged and must not end
	// before it. The error is for failures to read and for an entry whose key the KeyProvider
	// no longer has (an *AuditKeyError), not for a broken chain.
	Verify(ctx context.Context, expect *AuditHead) (AuditVerification, error)
}

// Lease is a holder's exclusive claim on syncing one tenant until ExpiresAt.
type Lease struct {
	TenantID   string
	Holder     string
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// LeaseRequest asks for one tenant's lease for Holder from Now until Now+TTL.
type LeaseRequest struct {
	TenantID string
	Holder   string
	Now      time.Time
	TTL      time.Duration
}

// DueRequest asks for the leases of up to Max due tenants for Holder from Now until Now+TTL.
type DueRequest struct {
	Holder string
	Now    time.Time
	TTL    time.Duration
	Max    int
}

// Leases hands out per-tenant leases so one tenant is synced by one holder at a time, across
// processes when the store is shared. Times come from the caller so every holder of a shared
// store uses one notion of now (and tests control it).
type Leases interface {
	// Acquire takes the tenant's lease for r.Holder until r.Now+r.TTL. A lease of another
	// holder that has not expired fails with a *LeaseHeldError (ErrAlreadyRunning); the
	// holder's own lease is extended.
	Acquire(ctx context.Context, r LeaseRequest) (Lease, error)
	// Renew extends r.Holder's lease to r.Now+r.TTL. It fails with a *LeaseHeldError when
	// another holder has taken the lease, and ErrNotFound when there is no lease (it was
	// released).
	Renew(ctx context.Context, r LeaseRequest) (Lease, error)
	// Release gives up holder's lease. Releasing a lease held by someone else, or none, is not
	// an error and changes nothing.
	Release(ctx context.Context, tenantID, holder string) error
	// AcquireDue claims up to r.Max tenants that are due (linked, syncing, not vanished,
	// NextDue zero or not after r.Now) and not leased (or whose lease expired), earliest due
	// first (never-synced tenants, with a zero NextDue, before all others; ties by tenant ID),
	// and returns their leases. Concurrent callers never receive the same tenant; a holder's
	// own unexpired leases are not returned again.
	AcquireDue(ctx context.Context, r DueRequest) ([]Lease, error)
	// Get returns the tenant's lease, expired or not. ErrNotFound when there is none.
	Get(ctx context.Context, tenantID string) (Lease, error)
}

// LinkChange creates, replaces or deletes one contact link as part of a Batch.
type LinkChange struct {
	Link   ContactLink // Link.TenantID must be the batch's tenant
	Delete bool        // delete the link of (Link.TenantID, Link.ObjectID) instead
}

// Batch is a tenant's sync outcome, applied atomically by Mirror.Commit.
//
// PSA contacts live outside this transaction. Write them first and commit the links after:
// a crash in between leaves contacts without links, which the next sync matches again (a
// contact created for a user carries its tenant and object ID), whereas links committed first
// could point at contacts that were never written.
type Batch struct {
	TenantID string
	Kinds    []KindApply  // at most one per kind
	Links    []LinkChange // applied after the kinds, in order
	Reviews  []Review     // queued as Reviews.Add does
	State    *SyncState   // stored as SyncStates.Put does, when set
	// Changes are the feed entries only the caller knows of (contact reconciliations, deletion
	// holds), appended after the ones the store records for the batch's mirror, link and review
	// changes. The store assigns their Seq, ID and At (Now, or its clock) and the tenant.
	Changes []Change
	// Holder, when set, makes the commit fail with a *LeaseHeldError unless holder's lease on
	// the tenant is unexpired at Now, so a holder that lost its lease cannot overwrite the work
	// of the one that took it over.
	Holder string
	Now    time.Time
}

// BatchResult is what Commit changed, one Applied per KindApply in order.
type BatchResult struct {
	Kinds   []Applied
	Reviews []Review // the stored reviews, with their IDs
}
