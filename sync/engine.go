package sync

import (
	"context"
	"errors"
	"slices"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
)

// Service is the Service field of the errors the engine itself returns.
const Service = "sync"

// Limits bound the engine's work. The zero value of each field takes its default.
type Limits struct {
	// Concurrency is how many tenants sync at once (default 4). Tenants linked to the same
	// client take turns, so one never fails on a contact the other just linked.
	Concurrency int
	// TenantTimeout bounds one tenant's sync (default 30 min); a sync that hits it changes nothing.
	TenantTimeout time.Duration
	// LeaseTTL is how long a tenant lease lasts unless renewed (default 2 min). The engine renews
	// it every third of the TTL while a sync runs, so a holder that dies loses it within one TTL.
	// A sync none of whose renewals landed for nine tenths of the TTL stops (and is audited as
	// sync_lease_lost) before another process can claim the tenant; raise the TTL when the
	// store answers slowly or the engine's CPU is scarce.
	LeaseTTL time.Duration
	// EventBuffer is how many events wait for the sink before new ones are dropped (default 1024).
	EventBuffer int
	// EventTimeout bounds one Sink.Handle call's context (default 5 s).
	EventTimeout time.Duration
	// MaxCreatesPerSync caps the contacts one tenant sync creates (default
	// DefaultMaxCreatesPerSync, 500), so a matching fault cannot flood the PSA with duplicates.
	// The rest wait for the next syncs, which come at the active interval while any wait:
	// TenantStatus.Creation says "created 500 of 8,934; the rest over the next 17 syncs", and
	// StartSync with SyncOptions.CreateAll creates the rest at once when a person asks. Every
	// create is a PSA call, so PSACallsPerSync bounds the creates of one sync too.
	MaxCreatesPerSync int

	// PSACallsPerSecond limits the engine's calls to the PSA's contact directory, for every
	// tenant together (they share the PSA's quota); 0 sets no limit. PSABurst is how many calls
	// may go at once within it (default 1). The limit is this engine's: engines in several
	// processes on one store each need their share of the PSA's quota (see PSAStatus).
	PSACallsPerSecond float64
	PSABurst          int
	// PSACallsPerSync caps the contact writes (creates, updates, (de)activations) one tenant
	// sync makes (default 1000), so an initial sync of a large tenant does not spend an hourly
	// API quota at once. The users left are pending: the next syncs write them. The asset
	// writes of a sync have a budget of the same size of their own.
	PSACallsPerSync int
	// PSACallTimeout bounds one PSA call (default 30 s). A call that runs past it counts as
	// the PSA failing: calls pause.
	PSACallTimeout time.Duration
	// PSABackoff is the first pause of every PSA call after the PSA throttled without a
	// Retry-After, failed or refused the credentials (default 5 s); each further one doubles,
	// up to PSAMaxBackoff (default 10 min), with jitter. A Retry-After is honoured as given.
	PSABackoff    time.Duration
	PSAMaxBackoff time.Duration
	// ContactAttempts is how many times the engine tries a contact write the PSA refuses
	// before it leaves the user for a person (default 5).
	ContactAttempts int
	// ContactRetryBackoff is the wait before the third attempt of a refused contact write (the
	// second comes at the next sync); each further wait doubles, up to ContactRetryMaxBackoff
	// (defaults 1 h and 24 h).
	ContactRetryBackoff    time.Duration
	ContactRetryMaxBackoff time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.Concurrency <= 0 {
		l.Concurrency = 4
	}
	if l.TenantTimeout <= 0 {
		l.TenantTimeout = 30 * time.Minute
	}
	if l.LeaseTTL <= 0 {
		l.LeaseTTL = 2 * time.Minute
	}
	if l.EventBuffer <= 0 {
		l.EventBuffer = 1024
	}
	if l.EventTimeout <= 0 {
		l.EventTimeout = 5 * time.Second
	}
	if l.MaxCreatesPerSync <= 0 {
		l.MaxCreatesPerSync = DefaultMaxCreatesPerSync
	}
	if l.PSABurst <= 0 {
		l.PSABurst = 1
	}
	if l.PSACallsPerSync <= 0 {
		l.PSACallsPerSync = DefaultPSACallsPerSync
	}
	if l.PSACallTimeout <= 0 {
		l.PSACallTimeout = DefaultPSACallTimeout
	}
	if l.PSABackoff <= 0 {
		l.PSABackoff = DefaultPSABackoff
	}
	if l.PSAMaxBackoff <= 0 {
		l.PSAMaxBackoff = DefaultPSAMaxBackoff
	}
	l.PSAMaxBackoff = max(l.PSAMaxBackoff, l.PSABackoff)
	if l.ContactAttempts <= 0 {
		l.ContactAttempts = DefaultContactAttempts
	}
	if l.ContactRetryBackoff <= 0 {
		l.ContactRetryBackoff = DefaultContactRetryBackoff
	}
	if l.ContactRetryMaxBackoff <= 0 {
		l.ContactRetryMaxBackoff = DefaultContactRetryMaxBackoff
	}
	l.ContactRetryMaxBackoff = max(l.ContactRetryMaxBackoff, l.ContactRetryBackoff)
	return l
}

// Config is everything an Engine is built from.
type Config struct {
	// Store keeps tenants, the mirror, links, reviews, sync state, audit log and leases. Required.
	Store store.Store
	// Account is the MSP the engine works for; every store call is scoped to it. Required.
	Account string
	// Sources are the routes to tenants, in order of preference for reads. At least one.
	Sources []tenantsync.Source
	// Discovery holds tenant listers that only discover (partnercenter.Discovery): Discover asks
	// them beside the Sources, and the tenants they report are synced through the Sources.
	Discovery []tenantsync.TenantLister
	// Contacts is the PSA's contact directory. Nil uses the store's default Directory (a
	// store.DirectoryProvider); New fails when the store has none.
	Contacts tenantsync.Contacts
	// Assets is the PSA's asset directory (configuration items). Nil uses the store's default
	// AssetDirectory (a store.AssetDirectoryProvider); with neither, no assets are synced. A
	// client's devices are reconciled with its assets only while its AutoCreateAssets setting
	// is on (see Settings).
	Assets tenantsync.Assets
	// Match configures user-to-contact matching (guests, disabled users, service-account
	// patterns, the auto-link threshold). Whether unmatched people get a contact is AutoCreate.
	Match MatchConfig
	// Suggest tunes tenant-to-client suggestions.
	Suggest match.SuggestConfig
	// Writers execute write actions, keyed by route name ("cipp", "graph").
	Writers map[string]tenantsync.Writer
	// Authorizer decides who may run write actions. Without one every write is refused.
	Authorizer tenantsync.Authorizer
	// Approver, when set, may hold write actions for a person's approval.
	Approver tenantsync.Approver
	// Clock is the engine's time (default the system clock).
	Clock Clock
	// Sink receives events; nil discards them.
	Sink Sink
	// Tracer, when set, is told when each tenant sync starts and ends, for tracing (an
	// OpenTelemetry span per sync, for instance). Unlike events it is never dropped.
	Tracer Tracer
	// Limits bound concurrency, run time, leases and events.
	Limits Limits
	// Cadence sets the polling intervals and the sync-now cooldown.
	Cadence Cadence
	// WritesEnabled turns write actions on; until then every write is refused and audited.
	WritesEnabled bool
	// DryRun makes writes audit what they would do without calling a route.
	DryRun bool
	// AutoCreate creates a contact for a person with no matching contact. Creation waits until
	// the tenant's mailboxes have been listed once (a shared, room or equipment mailbox looks
	// like a person otherwise), so switching the mailboxes kind off turns creation off.
	AutoCreate bool
	// AutoCreateAssets turns asset sync on for the clients whose own settings and the
	// account's defaults leave Settings.AutoCreateAssets unset (see Settings).
	AutoCreateAssets bool
	// UpdateContacts lets non-blank M365 values replace differing contact values. Off, the
	// engine only fills empty contact fields. A blank M365 value never replaces anything.
	UpdateContacts bool
	// Billing defines which users are billable; the zero value is the default definition.
	Billing BillingDefinition
	// SignIns tells the users' last sign-ins, for LicenseWaste; without it the report reads
	// the mirror's sign-ins kind (tenantsync.KindSignIns) as the tenant's last sync listed it,
	// and a tenant whose activity is unknown is reported as a gap, judged by disabled users only.
	SignIns SignIns
	// SyncUnlinkedUsers syncs the users of tenants linked to no client into the mirror too
	// (users only, at the quiet interval; no contacts are written for them), so a person can
	// see who is in a tenant before linking it.
	SyncUnlinkedUsers bool
	// InstanceID names this engine as a lease holder (default a random ID). Two engines sharing a
	// store must have different IDs.
	InstanceID string
	// Kinds, when set, are the kinds a newly discovered tenant syncs (default all); SetKindsBy
	// changes them per tenant.
	Kinds []tenantsync.Kind
	// DeletionGuard holds a fetch that would take much of a kind away (removed items and newly
	// blocked users, counted with what the kind lost in the 24 hours before: by default more
	// than 10 items and more than 20% of the kind's mirror) until it is confirmed or a person
	// releases it. It is on unless DeletionGuard.Disabled is set.
	DeletionGuard DeletionGuard
}

// MatchConfig is how the engine matches users with contacts: match.Config but for
// AutoCreate, which is Config.AutoCreate (creation also waits for the mailbox types, which
// the matcher alone cannot know).
type MatchConfig struct {
	// AllowGuests lets B2B guests be matched and created; they are excluded otherwise.
	AllowGuests bool
	// AllowDisabled lets users whose sign-in is blocked be matched and created.
	AllowDisabled bool
	// ServiceAccountPatterns exclude accounts that are not people (see
	// match.Config.ServiceAccountPatterns); nil means match.DefaultServiceAccountPatterns.
	ServiceAccountPatterns []string
	// AutoLinkThreshold is the confidence from which a single-candidate match is linked without
	// a person; zero means match.DefaultAutoLinkThreshold.
	AutoLinkThreshold float64
}

// matchConfig is the matcher's configuration for m, creating contacts when autoCreate is set.
func (m MatchConfig) matchConfig(autoCreate bool) match.Config {
	return match.Config{AutoCreate: autoCreate, AllowGuests: m.AllowGuests, AllowDisabled: m.AllowDisabled,
		ServiceAccountPatterns: slices.Clone(m.ServiceAccountPatterns), AutoLinkThreshold: m.AutoLinkThreshold}
}

// Engine keeps an account's tenants in step with the sources and the PSA's contacts.
// Its methods are safe for concurrent use.
type Engine struct {
	cfg     Config
	account string
	// acct is the store's handle of the account: every store call goes through it.
	acct store.Account
	// dir is the store's default client list, or noDirectory when the store has none.
	dir      store.Directory
	sources  []tenantsync.Source
	listers  []tenantsync.TenantLister // the Sources, then the Discovery listers
	contacts tenantsync.Contacts
	// assets is the PSA's asset directory, nil when there is none.
	assets   tenantsync.Assets
	clock    Clock
	limits   Limits
	holder   string
	kinds    []tenantsync.Kind
	deletion DeletionGuard
	match    match.Config
	// clients tells whether a client exists, when the contact directory can (nil otherwise).
	clients  tenantsync.ClientLookup
	counters counters
	// psa paces and pauses every call to the contact directory.
	psa *psaGate

	writes atomic.Bool
	sched  *scheduler
	slots  chan struct{} // one per running sync, shared by Run, RunOnce and link-started syncs
	events *dispatcher

	// discoveredAt is when the engine's last discovery in which every source answered began.
	discoveryMu  stdsync.Mutex
	discoveredAt time.Time
	// billingAt is when Run counts its billing snapshots taken: the oldest time it stamped,
	// or, after finding another engine's or failing, the time that makes them due when they
	// are to be looked at again (see snapshotBillingUnlessTaken); billingDay is the billing
	// day of that last look, whose time may fall on the day before; billingRunning is set
	// while it takes them.
	billingMu      stdsync.Mutex
	billingAt      time.Time
	billingDay     time.Time
	billingRunning bool

	progMu stdsync.Mutex
	// claimMu makes a sync-now's check for a live lease and its taking of the lease one step
	// within this engine: two calls at once would both find it free, and this engine's lease
	// acquisition renews its own.
	claimMu  stdsync.Mutex
	progress map[string]*liveProgress

	// root is the context every background goroutine derives from; Close cancels it. The
	// syncs Run, RunOnce and Link start are counted in wg, which Close waits for: admitting
	// one (track) and closing share lifeMu, so none starts once Close has begun to wait.
	root       context.Context
	cancelRoot context.CancelCauseFunc
	lifeMu     stdsync.Mutex
	closed     bool
	wg         stdsync.WaitGroup
	kicks      stdsync.WaitGroup // the syncs Link started, for Wait
	// kicked are the tenants Link started a sync for that wait for a slot, oldest first: a
	// started sync takes the oldest, so tenants linked together start in the order they were
	// linked (goroutines waiting for a slot are not served in the order they were started).
	kickMu stdsync.Mutex
	kicked []string
}

// New builds an Engine. It does no I/O (Run, RunOnce, Discover and Link start the work) and
// starts only the event delivery goroutine, which Close stops.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.Store == nil:
		return nil, configError("no Store", "pass a store.Store (store/sqlite for one process, store/postgres for several)")
	case cfg.Account == "":
		return nil, configError("no Account", "pass the ID of the MSP account the engine works for")
	case len(cfg.Sources) == 0:
		return nil, configError("no Sources", "pass at least one tenantsync.Source (cipp.Source or graph.Source)")
	}
	names := map[string]bool{}
	listers := make([]tenantsync.TenantLister, 0, len(cfg.Sources)+len(cfg.Discovery))
	for _, s := range cfg.Sources {
		listers = append(listers, s)
	}
	listers = append(listers, cfg.Discovery...)
	for _, s := range listers {
		if s == nil || s.Name() == "" {
			return nil, configError("source without a name", "every Source and Discovery lister needs a non-empty Name")
		}
		if names[s.Name()] {
			return nil, configError("two sources named "+s.Name(), "give each Source and Discovery lister a distinct Name")
		}
		names[s.Name()] = true
	}
	for _, k := range cfg.Kinds {
		if !k.Valid() {
			return nil, configError("unknown kind "+string(k), "use the tenantsync.Kind constants")
		}
	}
	if err := cfg.DeletionGuard.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:      cfg,
		account:  cfg.Account,
		acct:     cfg.Store.Account(cfg.Account),
		dir:      noDirectory{},
		sources:  slices.Clone(cfg.Sources),
		listers:  listers,
		contacts: cfg.Contacts,
		clock:    cfg.Clock,
		limits:   cfg.Limits.withDefaults(),
		holder:   cfg.InstanceID,
		kinds:    slices.Clone(cfg.Kinds),
		deletion: cfg.DeletionGuard.withDefaults(),
		sched:    newScheduler(cfg.Cadence),
		progress: map[string]*liveProgress{},
	}
	if p, ok := cfg.Store.(store.DirectoryProvider); ok {
		e.dir = p.Directory(cfg.Account)
	}
	if e.contacts == nil {
		if _, ok := e.dir.(noDirectory); ok {
			return nil, configError("no Contacts", "pass Config.Contacts (the PSA's contact directory): the store has no default Directory to use instead")
		}
		e.contacts = store.ContactsFor(e.dir)
	}
	e.assets = cfg.Assets
	if p, ok := cfg.Store.(store.AssetDirectoryProvider); ok && e.assets == nil {
		e.assets = store.AssetsFor(p.AssetDirectory(cfg.Account))
	}
	// Asked before the wrapper below hides it.
	e.clients, _ = e.contacts.(tenantsync.ClientLookup)
	e.contacts = psaContacts{e.contacts, &e.counters}
	if e.clock == nil {
		e.clock = SystemClock()
	}
	e.psa = newPSAGate(e.clock, e.limits)
	if e.holder == "" {
		e.holder = "engine-" + uuid.NewString()
	}
	if len(e.kinds) == 0 {
		e.kinds = tenantsync.AllKinds()
	}
	e.match = cfg.Match.matchConfig(cfg.AutoCreate)
	e.slots = make(chan struct{}, e.limits.Concurrency)
	e.writes.Store(cfg.WritesEnabled)
	e.events = newDispatcher(cfg.Sink, e.limits.EventBuffer, e.limits.EventTimeout)
	e.root, e.cancelRoot = context.WithCancelCause(context.Background())
	return e, nil
}

// closedError is why the work under way ends when the engine is closed. It wraps
// context.Canceled, so errors.Is(err, context.Canceled) holds for the syncs it stops.
func closedError() error {
	return &tenantsync.Error{Class: tenantsync.ErrIncomplete, Service: Service, Op: "Close",
		Message: "the engine was closed during the sync",
		Hint:    "nothing of this run was stored; the next engine's sync starts from the same point", Err: context.Canceled}
}

// Close cancels the engine's work: the syncs under way (started by Run, RunOnce, SyncNow or
// Link) stop with an error that wraps context.Canceled, store nothing of their run and
// release their leases; Run returns. Close waits for those syncs to end (or ctx to end), then
// delivers the buffered events and stops the event goroutine. After Close, Run, RunOnce,
// SyncNow and Link start no sync.
func (e *Engine) Close(ctx context.Context) error {
	e.lifeMu.Lock()
	e.closed = true
	e.lifeMu.Unlock()
	e.cancelRoot(closedError())
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	e.events.stop(ctx)
	return ctx.Err()
}

// track admits one unit of work that Close must wait for, or reports false once the engine
// is closed; the caller calls e.wg.Done when it ends.
func (e *Engine) track() bool {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	return true
}

// bind returns ctx, also cancelled (with the engine's closing cause) when the engine closes.
func (e *Engine) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(e.root, func() { cancel(context.Cause(e.root)) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}

// InstanceID returns the name this engine holds leases under.
func (e *Engine) InstanceID() string { return e.holder }

// DroppedEvents returns how many events were dropped because the sink fell behind (also in
// Counters).
func (e *Engine) DroppedEvents() uint64 { return e.events.dropped.Load() }

// SetWritesEnabled turns write actions on or off for the account at run time.
func (e *Engine) SetWritesEnabled(on bool) { e.writes.Store(on) }

// WritesEnabled reports whether write actions are on.
func (e *Engine) WritesEnabled() bool { return e.writes.Load() }

func (e *Engine) emit(ev Event) {
	if ev.At.IsZero() {
		ev.At = e.clock.Now()
	}
	ev.Account = e.account
	e.events.emit(ev)
}

func configError(what, hint string) error {
	return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "New", Message: what, Hint: hint}
}

// errorFields fills an event's failure fields from err.
func errorFields(ev *Event, err error) {
	if err == nil {
		return
	}
	ev.ErrClass = tenantsync.ClassName(tenantsync.ClassOf(err))
	ev.Hint = tenantsync.HintOf(err)
	ev.Error = err.Error()
}

// detached returns a context for bookkeeping that must happen even after ctx was cancelled
// (releasing a lease, recording a failure), bounded so it cannot hang.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// hinted returns err, or, when err says nothing about what to do, err with hint and its
// details (service, status, code, request ID) kept; kind stands in when err has none.
func hinted(err, kind error, op, hint string) error {
	if err == nil || tenantsync.HintOf(err) != "" {
		return err
	}
	out := &tenantsync.Error{Class: tenantsync.ClassOf(err), Service: Service, Op: op, Hint: hint, Err: err}
	if d, ok := tenantsync.Details(err); ok {
		out.Service, out.Op, out.Tenant, out.Message = d.Service, d.Op, d.Tenant, d.Message
		out.Status, out.Code, out.RequestID, out.RetryAfter = d.Status, d.Code, d.RequestID, d.RetryAfter
	}
	if out.Class == nil {
		out.Class = kind
	}
	return out
}

// psaContacts gives every error of the PSA's contact directory a hint, when it has none, and
// counts the changes the directory carried out.
type psaContacts struct {
	tenantsync.Contacts
	counters *counters
}

func psaError(op string, err error) error {
	return hinted(err, tenantsync.ErrUnavailable, op,
		"check the PSA's contact directory (the tenantsync.Contacts implementation); the next sync repeats what this one could not do")
}

func (p psaContacts) ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error) {
	cs, err := p.Contacts.ListContacts(ctx, clientID)
	return cs, psaError("ListContacts", err)
}

// The writes return the directory's error as it is: its kind decides whether one user failed
// or the PSA as a whole (an error of no kind is the record's), and the reconcile adds the hint.

func (p psaContacts) CreateContact(ctx context.Context, c tenantsync.Contact) (tenantsync.Contact, error) {
	created, err := p.Contacts.CreateContact(ctx, c)
	if err == nil {
		p.counters.contactsCreated.Add(1)
	}
	return created, err
}

func (p psaContacts) UpdateContact(ctx context.Context, c tenantsync.Contact) error {
	err := p.Contacts.UpdateContact(ctx, c)
	if err == nil {
		p.counters.contactsUpdated.Add(1)
	}
	return err
}

func (p psaContacts) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	err := p.Contacts.SetContactActive(ctx, clientID, contactID, active)
	switch {
	case err != nil:
	case active:
		p.counters.contactsReactivated.Add(1)
	default:
		p.counters.contactsDeactivated.Add(1)
	}
	return err
}

func isNotFound(err error) bool { return errors.Is(err, tenantsync.ErrNotFound) }

// noDirectory stands in for the default client list of a store that has none: the engine then
// keeps no client details of its own (verified domains, active periods) and suggests no
// clients, and the PSA behind Config.Contacts is the only directory.
type noDirectory struct{}

var _ store.Directory = noDirectory{}

func noClient(op, clientID string) error {
	return &tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: op,
		Message: "no client " + clientID, Hint: "the store keeps no client list; the PSA's is the one that counts"}
}

func (noDirectory) PutClient(context.Context, tenantsync.Client) error { return nil }
func (noDirectory) GetClient(_ context.Context, id string) (tenantsync.Client, error) {
	return tenantsync.Client{}, noClient("GetClient", id)
}
func (noDirectory) ListClients(context.Context) ([]tenantsync.Client, error) { return nil, nil }
func (noDirectory) CreateContact(_ context.Context, c tenantsync.Contact) (tenantsync.Contact, error) {
	return tenantsync.Contact{}, noClient("CreateContact", c.ClientID)
}
func (noDirectory) UpdateContact(_ context.Context, c tenantsync.Contact) error {
	return noClient("UpdateContact", c.ClientID)
}
func (noDirectory) SetContactActive(_ context.Context, clientID, _ string, _ bool) error {
	return noClient("SetContactActive", clientID)
}
func (noDirectory) GetContact(_ context.Context, clientID, _ string) (tenantsync.Contact, error) {
	return tenantsync.Contact{}, noClient("GetContact", clientID)
}
func (noDirectory) ListContacts(context.Context, string) ([]tenantsync.Contact, error) {
	return nil, nil
}
