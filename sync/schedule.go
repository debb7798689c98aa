package sync

import (
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Cadence sets how often tenants are synced. The zero value of each field takes its default.
type Cadence struct {
	// Quiet is the interval for clients without recent activity (default 1 h).
	Quiet time.Duration
	// Active is the interval for clients the PSA marked active (default 10 min).
	Active time.Duration
	// Cooldown is the minimum time between two syncs of one tenant started by SyncNow (default 30 s).
	Cooldown time.Duration
	// Tick is how often Run wakes to run discovery and look for due tenants (default 1 min).
	Tick time.Duration
	// FullReconcile is how often a tenant synced from delta cursors has all its users matched
	// again (default 6 h), so contacts added in the PSA meanwhile find their users. Between
	// two, a delta sync looks only at the users that changed.
	FullReconcile time.Duration
	// FullListing is how often a tenant synced from delta cursors is listed in full instead
	// (default 24 h; a negative value never does). A delta round reports only what changed in
	// the directory, so a mailbox converted in Exchange without a directory change (licence,
	// name or address) reaches the mirror only through a full listing, and a complete listing
	// removes whatever it no longer holds. When any enabled kind's last full listing is older
	// than this, the sync leaves every cursor out. The time of a kind's last full listing is
	// stored with its cursor, so it survives restarts; a cursor stored without it counts as
	// due.
	FullListing time.Duration
	// Kinds sets how long each kind rests after a fetch: a sync leaves out a kind fetched more
	// recently than its interval, and the kind's mirror, counts and status stay as they were
	// (nothing is removed or reported missing on its account). A new or removed user calls
	// for the MFA states and subscriptions at once. Kinds absent from the map take
	// DefaultKindIntervals (devices 4 h, subscriptions 6 h, MFA 6 h, baseline 24 h; the
	// others at every sync); a negative value fetches the kind at every sync. Users are
	// fetched at every sync whatever is set: their delta drives everything else. Rest is
	// tracked per process, so a restarted engine fetches every kind at its first sync of a
	// tenant; a tenant's first sync fetches every kind. SyncNow follows the same cadence (the
	// resting kinds change at the service on those timescales) and asks the sources for live
	// data (tenantsync.FetchRequest.Fresh).
	Kinds map[tenantsync.Kind]time.Duration
}

// Default cadence values, from the products this engine replaces.
const (
	DefaultQuietInterval  = time.Hour
	DefaultActiveInterval = 10 * time.Minute
	DefaultCooldown       = 30 * time.Second
	DefaultTick           = time.Minute
	DefaultFullReconcile  = 6 * time.Hour
	DefaultFullListing    = 24 * time.Hour
)

func (c Cadence) withDefaults() Cadence {
	if c.Quiet <= 0 {
		c.Quiet = DefaultQuietInterval
	}
	if c.Active <= 0 {
		c.Active = DefaultActiveInterval
	}
	if c.Cooldown <= 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.FullReconcile <= 0 {
		c.FullReconcile = DefaultFullReconcile
	}
	if c.FullListing == 0 {
		c.FullListing = DefaultFullListing
	}
	kinds := DefaultKindIntervals()
	for k, d := range c.Kinds {
		kinds[k] = d
	}
	c.Kinds = kinds
	return c
}

// scheduler holds the engine's in-process scheduling state: which clients are active, which
// tenants are syncing here and when each was last reconciled in full. Durable facts (the
// last start, used for the cooldown, and the last finished sync) live in the store; this is
// what a restart may forget without harm.
type scheduler struct {
	cad Cadence

	mu       stdsync.Mutex
	active   map[string]time.Time // client ID → active until
	inflight map[string]bool      // tenant ID → a sync is running in this process
	clients  map[string]string    // client ID → the tenant of the client syncing in this process
	fullAt   map[string]time.Time // tenant ID → last full reconcile in this process
	// kindAt holds, per tenant, when each kind's last fetch applied here began (Cadence.Kinds).
	kindAt map[string]map[tenantsync.Kind]time.Time
	wake   chan struct{}
	// freed tells Run that a scheduled sync ended: its slot can take the next due tenant.
	freed chan struct{}
}

func newScheduler(c Cadence) *scheduler {
	return &scheduler{
		cad:      c.withDefaults(),
		active:   map[string]time.Time{},
		inflight: map[string]bool{},
		clients:  map[string]string{},
		fullAt:   map[string]time.Time{},
		kindAt:   map[string]map[tenantsync.Kind]time.Time{},
		wake:     make(chan struct{}, 1),
		freed:    make(chan struct{}, 1),
	}
}

// markActive records that the client is active until the given time; a zero time clears it.
func (s *scheduler) markActive(clientID string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until.IsZero() {
		delete(s.active, clientID)
		return
	}
	s.active[clientID] = until
}

// isActive reports whether the client is active at now, either by MarkActive or by the
// ActiveUntil the PSA stored on the client.
func (s *scheduler) isActive(clientID string, storedUntil, now time.Time) bool {
	s.mu.Lock()
	until, ok := s.active[clientID]
	if ok && !now.Before(until) {
		delete(s.active, clientID)
		ok = false
	}
	s.mu.Unlock()
	return ok || now.Before(storedUntil)
}

// interval is the polling interval for a client.
func (s *scheduler) interval(active bool) time.Duration {
	if active {
		return s.cad.Active
	}
	return s.cad.Quiet
}

// poke wakes Run so a link or an activity change is acted on before the next tick.
func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// slotFreed tells Run that a slot freed.
func (s *scheduler) slotFreed() {
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// forget drops a tenant's scheduling state (after unlink).
func (s *scheduler) forget(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fullAt, tenantID)
	delete(s.kindAt, tenantID)
}

// cooldown returns how long a sync-now must still wait after a sync that started at last (as
// recorded in the store, so engines sharing it share the cooldown).
func (s *scheduler) cooldown(last, now time.Time) time.Duration {
	if last.IsZero() {
		return 0
	}
	return max(0, last.Add(s.cad.Cooldown).Sub(now))
}

// begin claims the tenant for a sync in this process; it fails when one is already running here.
func (s *scheduler) begin(tenantID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[tenantID] {
		return false
	}
	s.inflight[tenantID] = true
	return true
}

func (s *scheduler) end(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, tenantID)
}

// claimClient lets one tenant of a client sync at a time in this process: two siblings
// syncing at once can match users to the same contact, and the store then refuses the second
// commit after its contact changes were made. It returns the sibling that
// holds the client, or "" when the claim succeeded (a tenant without a client claims nothing).
func (s *scheduler) claimClient(clientID, tenantID string) (holder string) {
	if clientID == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.clients[clientID]; ok && t != tenantID {
		return t
	}
	s.clients[clientID] = tenantID
	return ""
}

func (s *scheduler) releaseClient(clientID, tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[clientID] == tenantID {
		delete(s.clients, clientID)
	}
}

func (s *scheduler) running(tenantID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[tenantID]
}

// fullReconcileDue reports whether the tenant's users must all be matched again: never done
// by this process, older than Cadence.FullReconcile, or invalidated by a person's decision.
func (e *Engine) fullReconcileDue(tenantID string, now time.Time) bool {
	s := e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.fullAt[tenantID]
	return !ok || !now.Before(at.Add(s.cad.FullReconcile))
}

func (e *Engine) reconciled(tenantID string, now time.Time) {
	s := e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fullAt[tenantID] = now
}

// invalidateReconcile makes the tenant's next sync a full reconcile.
func (e *Engine) invalidateReconcile(tenantID string) {
	s := e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fullAt, tenantID)
}

// fullListingDue reports whether a kind last listed in full at listed must be listed in full
// again at now. An unknown time (zero) is due: nothing says the mirror was ever checked whole.
func (s *scheduler) fullListingDue(listed, now time.Time) bool {
	if s.cad.FullListing < 0 {
		return false
	}
	return listed.IsZero() || !now.Before(listed.Add(s.cad.FullListing))
}
