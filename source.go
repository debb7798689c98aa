package tenantsync

import (
	"context"
	"strings"
	"time"
)

// TenantLister discovers tenants: it answers which tenants can be reached now. Partner Center
// discovery is one; every Source is one too.
type TenantLister interface {
	// Name identifies the lister ("cipp", "graph", "partnercenter"); it is stored with every
	// tenant it reports.
	Name() string
	// ListTenants returns every tenant reachable now. An error means the list is unknown; the
	// caller must not treat missing tenants as gone.
	ListTenants(ctx context.Context) ([]Tenant, error)
}

// Fetcher reads tenant data: what one tenant holds of the requested kinds.
type Fetcher interface {
	// Name identifies the fetcher ("cipp", "graph").
	Name() string
	// Fetch returns, for each requested kind, a complete listing, a change set since the cursor,
	// or Unavailable with the reason. It returns an error only when the tenant could not be
	// reached at all (token refused, tenant unknown); a failure of one kind is reported in that
	// kind's result and leaves the others intact.
	Fetch(ctx context.Context, req FetchRequest) (*FetchResult, error)
}

// Source is a route to customer tenants that both lists and reads them: CIPP-API, Microsoft
// Graph through GDAP, or any other implementation.
type Source interface {
	TenantLister
	Fetcher
}

// FetchRequest asks a Source for some kinds of one tenant.
type FetchRequest struct {
	TenantID string
	Kinds    []Kind
	// Cursors holds the cursor returned by the previous successful fetch of each kind. A kind
	// with a cursor is fetched as changes when the source supports it; without one, in full.
	Cursors map[Kind]string
	// Progress, when set, is called as pages arrive, with the number of items of that kind so
	// far. It must not block, and may be called from several goroutines at once.
	Progress func(kind Kind, items int)
	// Fresh asks for data read now rather than from a cache or a report: a person asked for
	// this sync. A source that can answer from a cache (cipp.SourceConfig.Bulk) reads live.
	Fresh bool
	// Sink, when set, may receive a kind's items page by page instead of in the KindResult,
	// so neither the source nor the caller holds a whole listing. A source that streams a kind
	// hands every page to Sink as it arrives and answers the kind with Streamed set and no
	// items; a source that does not stream ignores Sink, and its answer is read as before.
	// Streaming changes nothing else: the kind counts only once its listing completed, and a
	// kind whose listing failed part-way is Unavailable, whatever its pages delivered.
	Sink PageSink
}

// PageSink receives the pages of a streamed kind (FetchRequest.Sink).
type PageSink interface {
	// Page takes one page: page.Kind and page.Mode are set, the items are in the kind's slice,
	// and page.Removed holds the IDs the page reports deleted (a Changes round) or dropped from
	// the listing (a Complete round). A later page's item replaces an earlier one with the
	// same ID, and a later removal an earlier item. An error stops the kind's listing: the
	// source answers the kind Unavailable with that error. Pages of one kind arrive in order
	// and never at once; pages of different kinds may.
	Page(ctx context.Context, page *KindResult) error
}

// Page is one page of a listing that a client reads page by page, the same on every route:
// CIPP's ListGraphRequest, Graph's collections and delta rounds, Partner Center's customers and
// GDAP relationships. Each client's List… iterator walks the pages; a …Page call returns one,
// for a caller that persists the cursor.
type Page[T any] struct {
	Items []T
	// Next fetches the next page: a nextLink, or Partner Center's continuation token; "" on the
	// last page. Persist it to resume the listing later.
	Next string
	// DeltaLink, on the last page of a Graph delta round, is the cursor of the next round.
	DeltaLink string
}

// Mode says what a KindResult holds.
type Mode int

// Result modes.
const (
	// Unavailable: nothing is known; Err says why. Nothing may be removed on its account.
	Unavailable Mode = iota
	// Complete: the listing holds every item of the kind; items absent from it are gone.
	Complete
	// Changes: the listing holds upserts since the cursor, and Removed the IDs deleted since it.
	Changes
)

func (m Mode) String() string {
	switch m {
	case Complete:
		return "complete"
	case Changes:
		return "changes"
	default:
		return "unavailable"
	}
}

// FetchResult is a Source's answer for one tenant.
type FetchResult struct {
	TenantID string
	Source   string
	Kinds    map[Kind]*KindResult
	// RoundTrips is the number of HTTP requests the fetch made, retries included.
	RoundTrips int
}

// Result returns the result for kind k, or an Unavailable result when the source gave none.
func (r *FetchResult) Result(k Kind) *KindResult {
	if r != nil && r.Kinds != nil {
		if kr, ok := r.Kinds[k]; ok && kr != nil {
			return kr
		}
	}
	return &KindResult{Kind: k, Mode: Unavailable, Err: Errorf(ErrUnsupported, "", "source returned nothing for %s", k)}
}

// KindResult is the answer for one kind. Only the slice matching Kind is filled.
type KindResult struct {
	Kind Kind
	Mode Mode
	Err  error // set when Mode is Unavailable

	Users         []User
	Mailboxes     []Mailbox
	Devices       []Device
	Domains       []Domain
	Subscriptions []Subscription
	MFA           []MFAState
	Baseline      *SecurityBaseline
	Groups        []Group
	Organization  *Organization
	SignIns       []SignInActivity
	MailboxUsage  []MailboxUsage

	// Removed lists the IDs (object IDs for users) deleted since the cursor, in Changes mode.
	Removed []string
	// Cursor is the cursor to pass next time, or "" when the kind has no delta support.
	Cursor string
	// FetchedAt is when the source produced the result.
	FetchedAt time.Time
	// Streamed is set when the items went to FetchRequest.Sink page by page instead of into
	// this result, which then carries no items (Removed included) and Len 0; Mode, Cursor and
	// FetchedAt mean what they always do.
	Streamed bool
}

// Len returns the number of items the result carries.
func (r *KindResult) Len() int {
	switch r.Kind {
	case KindUsers:
		return len(r.Users)
	case KindMailboxes:
		return len(r.Mailboxes)
	case KindDevices:
		return len(r.Devices)
	case KindDomains:
		return len(r.Domains)
	case KindSubscriptions:
		return len(r.Subscriptions)
	case KindMFA:
		return len(r.MFA)
	case KindBaseline:
		if r.Baseline != nil {
			return 1
		}
	case KindGroups:
		return len(r.Groups)
	case KindOrganization:
		if r.Organization != nil {
			return 1
		}
	case KindSignIns:
		return len(r.SignIns)
	case KindMailboxUsage:
		return len(r.MailboxUsage)
	}
	return 0
}

// IDs returns the identities of the result's items, in order: the key a mirror stores each item
// under (object ID for users, mailboxes, MFA states, groups and sign-ins, device ID, domain
// name, SKU ID, lower-cased user principal name for mailbox usage). A singleton kind (the
// baseline, the organization), one per tenant, has none.
func (r *KindResult) IDs() []string {
	var ids []string
	each := func(n int, id func(int) string) {
		ids = make([]string, n)
		for i := range n {
			ids[i] = id(i)
		}
	}
	switch r.Kind {
	case KindUsers:
		each(len(r.Users), func(i int) string { return r.Users[i].ObjectID })
	case KindMailboxes:
		each(len(r.Mailboxes), func(i int) string { return r.Mailboxes[i].ObjectID })
	case KindDevices:
		each(len(r.Devices), func(i int) string { return r.Devices[i].ID })
	case KindDomains:
		each(len(r.Domains), func(i int) string { return r.Domains[i].Name })
	case KindSubscriptions:
		each(len(r.Subscriptions), func(i int) string { return r.Subscriptions[i].SKUID })
	case KindMFA:
		each(len(r.MFA), func(i int) string { return r.MFA[i].UserID })
	case KindGroups:
		each(len(r.Groups), func(i int) string { return r.Groups[i].ID })
	case KindSignIns:
		each(len(r.SignIns), func(i int) string { return r.SignIns[i].UserID })
	case KindMailboxUsage:
		each(len(r.MailboxUsage), func(i int) string { return r.MailboxUsage[i].UserPrincipalName })
	}
	return ids
}

// UnavailableResult builds an Unavailable result for kind k.
func UnavailableResult(k Kind, err error) *KindResult {
	return &KindResult{Kind: k, Mode: Unavailable, Err: err}
}

// Action is a write action on a user or group.
type Action string

// The write actions.
const (
	ActionBlockSignIn        Action = "block_sign_in"   // accountEnabled=false
	ActionUnblockSignIn      Action = "unblock_sign_in" // accountEnabled=true
	ActionSuspend            Action = "suspend"         // block sign-in and revoke sessions
	ActionUnsuspend          Action = "unsuspend"       // unblock sign-in
	ActionForcePasswordReset Action = "force_password_reset"
	ActionRevokeSessions     Action = "revoke_sessions"
	ActionResetMFA           Action = "reset_mfa"
	ActionAddToGroup         Action = "add_to_group"
	ActionRemoveFromGroup    Action = "remove_from_group"
)

// Actions lists every write action.
func Actions() []Action {
	return []Action{ActionBlockSignIn, ActionUnblockSignIn, ActionSuspend, ActionUnsuspend,
		ActionForcePasswordReset, ActionRevokeSessions, ActionResetMFA, ActionAddToGroup, ActionRemoveFromGroup}
}

// Valid reports whether a is a declared action.
func (a Action) Valid() bool {
	for _, c := range Actions() {
		if c == a {
			return true
		}
	}
	return false
}

// NeedsGroup reports whether the action addresses a group.
func (a Action) NeedsGroup() bool { return a == ActionAddToGroup || a == ActionRemoveFromGroup }

// UserRef names the user of one tenant a write action addresses. CIPP addresses users by UPN
// and Graph by object ID; a route resolves the one it needs from the other, so either may be
// empty, but not both.
type UserRef struct {
	TenantID string
	UserID   string // object ID
	UPN      string // user principal name
}

// Validate checks that the reference names a tenant and a user.
func (r UserRef) Validate() error {
	switch {
	case strings.TrimSpace(r.TenantID) == "":
		return Errorf(ErrInvalidInput, "set TenantID", "no tenant")
	case strings.TrimSpace(r.UserID) == "" && strings.TrimSpace(r.UPN) == "":
		return Errorf(ErrInvalidInput, "set UserID (object ID) or UPN", "no user")
	}
	return nil
}

// PasswordReset says how a ForcePasswordReset sets the new password.
type PasswordReset struct {
	// TemporaryPassword is the password to set, or zero for the route to generate one (CIPP
	// always generates it and refuses a given one). A Secret, so a request that is logged or
	// wrapped in an error never shows it.
	TemporaryPassword Secret
	// MustChange makes the user change the password at the next sign-in.
	MustChange bool
}

// WriteRequest is one write action on one user of one tenant.
type WriteRequest struct {
	Action   Action
	TenantID string
	UserID   string // object ID
	UPN      string // the user's principal name; CIPP addresses users by it
	GroupID  string // for group actions
	// TemporaryPassword, for ActionForcePasswordReset, is set by the caller or left zero for
	// the route to generate one. It is never audited, and prints as [REDACTED].
	TemporaryPassword Secret
}

// User returns the user the request addresses.
func (r WriteRequest) User() UserRef {
	return UserRef{TenantID: r.TenantID, UserID: r.UserID, UPN: r.UPN}
}

// Validate checks the request's fields.
func (r WriteRequest) Validate() error {
	switch {
	case !r.Action.Valid():
		return Errorf(ErrInvalidInput, "use one of the tenantsync.Action constants", "unknown action %q", r.Action)
	case r.TenantID == "":
		return Errorf(ErrInvalidInput, "set TenantID", "write %s: no tenant", r.Action)
	case r.UserID == "" && r.UPN == "":
		return Errorf(ErrInvalidInput, "set UserID (object ID) or UPN", "write %s: no user", r.Action)
	case r.Action.NeedsGroup() && r.GroupID == "":
		return Errorf(ErrInvalidInput, "set GroupID", "write %s: no group", r.Action)
	}
	return nil
}

// WriteResult is what a route reports after a successful write, on every route: the Writer
// and the clients' write methods (BlockSignIn, ForcePasswordReset, AddToGroup, …) return it.
type WriteResult struct {
	Route   string // "cipp" or "graph"
	Message string // the service's confirmation, redacted
	// Changed is false when the action was already in effect (idempotent success).
	Changed bool
	// TemporaryPassword is the password set by a password reset, for the caller to hand over
	// (Reveal it where it is shown to the person who asked). It is never stored or audited, and
	// prints as [REDACTED] whatever the verb or logger.
	TemporaryPassword Secret
}

// Writer executes write actions against tenants.
type Writer interface {
	// Name is the route ("cipp", "graph").
	Name() string
	// Write performs one action. It returns an error of a declared kind on failure.
	Write(ctx context.Context, req WriteRequest) (WriteResult, error)
}

// Contacts is the PSA's contact directory, for one account. The engine reads and writes it;
// it never deletes a contact.
type Contacts interface {
	// ListContacts returns every contact of a client, active or not.
	ListContacts(ctx context.Context, clientID string) ([]Contact, error)
	// CreateContact creates a contact and returns it with its ID.
	//
	// The engine sets c.TenantID and c.ObjectID, the M365 user the contact is for, on every
	// create. An implementation should either store them (in a custom field or an external ID)
	// and return them from ListContacts, or, asked to create a contact for a (TenantID, ObjectID)
	// it already holds a contact for, return that contact instead of creating a second one;
	// c.IdempotencyKey is a key derived from the pair for a PSA that accepts an idempotency key
	// header. Either makes a crash between the PSA's create and the engine's commit harmless:
	// the next sync finds the contact it created, even for a user without an email address, for
	// whom matching by email cannot. An implementation that does neither leaves a second
	// contact for such a user after such a crash.
	CreateContact(ctx context.Context, c Contact) (Contact, error)
	// UpdateContact writes every field of the given contact (identified by ID and ClientID),
	// Active included: the engine passes the contact as it wants it stored, with any
	// (de)activation it has just made.
	UpdateContact(ctx context.Context, c Contact) error
	// SetContactActive activates or deactivates a contact.
	SetContactActive(ctx context.Context, clientID, contactID string, active bool) error
}

// Assets is the PSA's configuration items (assets) for one account. The engine reads and writes
// it when asset sync is on; it never deletes an asset: an asset whose device left the tenant is
// retired, and brought back into service when the device returns.
type Assets interface {
	// ListAssets returns every asset of a client, retired or not.
	ListAssets(ctx context.Context, clientID string) ([]Asset, error)
	// CreateAsset creates an asset and returns it with its ID. The engine sets a.TenantID and
	// a.IntuneDeviceID (and a.EntraDeviceID when known) on every create; an implementation
	// should store them and return them from ListAssets, or, asked to create an asset for a
	// device it already holds one for, return that asset (a.IdempotencyKey names the device).
	CreateAsset(ctx context.Context, a Asset) (Asset, error)
	// UpdateAsset writes every field of the given asset (identified by ID and ClientID),
	// RetiredAt included: a zero RetiredAt brings a retired asset back into service.
	UpdateAsset(ctx context.Context, a Asset) error
	// RetireAsset marks an asset retired at the given time.
	RetireAsset(ctx context.Context, clientID, assetID string, at time.Time) error
}

// ClientLookup is implemented by a Contacts directory that knows the PSA's clients. The engine
// asks it before linking a tenant to a client or marking a client active, so no contact is ever
// created under a client the PSA does not have. A PSA's Contacts implementation should
// implement it (a lookup by ID in the PSA's client list); without it the engine cannot tell
// and accepts any client ID. The store's default directory (store.ContactsFor) implements it
// with the store's client list.
type ClientLookup interface {
	// GetClient returns the client with the given ID, or an error of kind ErrNotFound (or
	// ErrClientNotFound) when the PSA has none. Any other error means the PSA could not be
	// asked, and the engine refuses rather than guesses.
	GetClient(ctx context.Context, clientID string) (Client, error)
}

// PermissionWrite is the permission a person needs to run a write action.
const PermissionWrite = "m365.write"

// PermissionManage is the permission a person needs to change the configuration: link and
// unlink tenants, resolve reviews, change settings and disconnect a connection.
const PermissionManage = "m365.manage"

// Authorizer decides whether an actor holds a permission.
type Authorizer interface {
	Authorize(ctx context.Context, actor, permission string) error
}

// Decision is an Approver's answer.
type Decision int

// Approval decisions.
const (
	Approved Decision = iota
	Pending
	Denied
)

// Approver may hold a write action for a person's approval.
type Approver interface {
	// Approve decides on req requested by actor. Pending means the action is held; the PSA
	// resubmits it once approved.
	Approve(ctx context.Context, actor string, req WriteRequest) (Decision, string, error)
}
