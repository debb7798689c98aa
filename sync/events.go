package sync

import (
	"context"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/tenantsync/tenantsync"
)

// EventType names what happened.
type EventType string

// The events the engine emits.
const (
	EventTenantDiscovered EventType = "tenant.discovered"
	EventTenantVanished   EventType = "tenant.vanished"
	EventTenantReturned   EventType = "tenant.returned"
	EventTenantLinked     EventType = "tenant.linked"
	EventTenantUnlinked   EventType = "tenant.unlinked"
	// EventDiscoveryFailed: a source's tenant list failed; nothing was flagged on its account.
	EventDiscoveryFailed EventType = "discovery.failed"

	EventSyncStarted  EventType = "sync.started"
	EventSyncProgress EventType = "sync.progress"
	EventSyncFinished EventType = "sync.finished"
	// EventSyncFailed: the tenant's sync (TenantID) failed and stored nothing; no
	// sync.finished follows. ErrClass, Hint and Error say why.
	EventSyncFailed EventType = "sync.failed"
	// EventKindUnavailable: the source could not list one kind (Kind) of the tenant, so nothing
	// of it changed, while the other kinds were stored; a sync.finished follows. ErrClass, Hint
	// and Error say why.
	EventKindUnavailable EventType = "sync.kind_unavailable"
	// EventCycleFailed: a Run or RunOnce cycle failed (no TenantID): every source's tenant
	// list failed, or the due tenants could not be claimed, so no tenant was synced by it. Run
	// goes on with the next cycle; Counters.CyclesFailed counts them.
	EventCycleFailed EventType = "cycle.failed"
	// EventBillingFailed: Run could not take the day's billing snapshots; it tries again a
	// minute later.
	EventBillingFailed EventType = "billing.failed"
	// EventAuditFailed: the store did not take an audit entry of Action (Message) by Actor.
	// For an action a person asked for, the caller got the error too; where the change was
	// already made (Message says so), it stands. Counters.AuditFailures counts them.
	EventAuditFailed EventType = "audit.failed"

	// EventDeletionHeld: the deletion guard held a kind (Kind) whose fetch would take Count
	// items away (removed, or for users newly blocked); Message says of how many, Hint what to
	// check and how to release it. Sent when the hold begins, again when a larger removal
	// replaces it, and when a release or confirmation applied a hold but the same fetch took
	// more away, held afresh.
	EventDeletionHeld EventType = "sync.deletion_held"
	// EventDeletionReleased: a person (Actor) released a hold; the next sync applies it.
	EventDeletionReleased EventType = "sync.deletion_released"
	// EventDeletionApplied: a held removal of Count items was applied, after a release or
	// because a fetch at least DeletionGuard.ConfirmAfter later confirmed it (Message says which,
	// and how many more were held afresh). It is audited as apply_hold.
	EventDeletionApplied EventType = "sync.deletion_applied"
	// EventDeletionCleared: a hold ended without its removal: the items are listed again.
	EventDeletionCleared EventType = "sync.deletion_cleared"

	EventContactLinked      EventType = "contact.linked"
	EventContactCreated     EventType = "contact.created"
	EventContactUpdated     EventType = "contact.updated"
	EventContactDeactivated EventType = "contact.deactivated"
	EventContactReactivated EventType = "contact.reactivated"
	// EventContactFailed: a PSA write for one user (UserID; ContactID unless a create) failed;
	// everything else of the sync was stored. ErrClass, Hint and Error (the PSA's message) say
	// why, Attempts how often it failed, RetryAt from when the next sync tries again.
	EventContactFailed EventType = "contact.failed"
	// EventContactNeedsPerson: a user's PSA write failed Limits.ContactAttempts times; the
	// engine stops trying until a person decides (Engine.ResolveContactFailure).
	EventContactNeedsPerson EventType = "contact.needs_person"
	// EventContactsPending: the sync left Count users for later without a PSA call (the PSA
	// was paused, or the sync spent its call budget); Message says which, and the next syncs
	// write them.
	EventContactsPending EventType = "contact.pending"
	// EventContactFailureResolved: a person (Actor) decided about a user's failed PSA write
	// (Message: retry, merge or ignore).
	EventContactFailureResolved EventType = "contact.failure_resolved"
	// EventPSAPaused: the PSA throttled, failed or refused the credentials, so the engine
	// makes no PSA call, for any tenant, until RetryAt. ErrClass, Hint and Error carry the
	// PSA's answer; TenantID is the tenant whose call met it.
	EventPSAPaused    EventType = "psa.paused"
	EventReviewNeeded EventType = "review.needed"
	EventDomainSeen   EventType = "domain.seen"

	EventWriteRequested EventType = "write.requested"
	EventWriteRefused   EventType = "write.refused"
	EventWritePending   EventType = "write.pending"
	EventWriteApproved  EventType = "write.approved"
	EventWriteDenied    EventType = "write.denied"
	EventWriteDone      EventType = "write.done"
	EventWriteFailed    EventType = "write.failed"
)

// Event is one thing the engine did or saw. Only the fields that matter for its Type are set.
type Event struct {
	Type     EventType
	At       time.Time
	Account  string
	TenantID string
	ClientID string

	Kind      tenantsync.Kind   // sync progress, per-kind failures and deletion holds
	Count     int               // items so far (progress), the users mirrored (finished), or the items a hold concerns
	UserID    string            // contact and review events
	ContactID string            // contact events
	Domain    string            // domain.seen
	Action    tenantsync.Action // write events
	Actor     string            // write and link events
	Route     string            // write events: "cipp" or "graph"
	Message   string

	// SuggestedClient and Confidence carry the best client match for tenant.discovered, when
	// the store holds clients to compare with; AutoAccept says LinkSuggested would link it.
	SuggestedClient string
	Confidence      float64
	AutoAccept      bool

	// ErrClass and Hint describe a failure (sync.failed, sync.kind_unavailable, cycle.failed,
	// audit.failed, write.failed, write.refused); Hint also
	// says what to do about a deletion hold (sync.deletion_held).
	ErrClass string
	Hint     string
	Error    string

	// Attempts is how many times a user's PSA write failed (contact.failed,
	// contact.needs_person).
	Attempts int
	// RetryAt is when the PSA is asked again: the end of a pause (psa.paused), or the next
	// attempt of a failed write (contact.failed; zero: the next sync).
	RetryAt time.Time
}

// Sink receives the engine's events. Handle is called from one delivery goroutine, in order,
// with a context that expires after Limits.EventTimeout; a sink that is slower than the engine
// loses events (counted by Engine.DroppedEvents) rather than slowing the engine down.
type Sink interface {
	Handle(ctx context.Context, ev Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, ev Event)

// Handle calls f.
func (f SinkFunc) Handle(ctx context.Context, ev Event) { f(ctx, ev) }

// dispatcher decouples the engine from the sink: emit never blocks, a bounded buffer absorbs
// bursts, and overflow is counted instead of queued without bound.
type dispatcher struct {
	ch      chan Event
	sink    Sink
	timeout time.Duration
	dropped atomic.Uint64

	quit     chan struct{}
	done     chan struct{}
	stopOnce stdsync.Once
}

func newDispatcher(sink Sink, buffer int, timeout time.Duration) *dispatcher {
	d := &dispatcher{
		ch:      make(chan Event, buffer),
		sink:    sink,
		timeout: timeout,
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go d.loop()
	return d
}

func (d *dispatcher) emit(ev Event) {
	if d.sink == nil {
		return
	}
	select {
	case <-d.quit:
		d.dropped.Add(1)
		return
	default:
	}
	select {
	case d.ch <- ev:
	default:
		d.dropped.Add(1)
	}
}

func (d *dispatcher) loop() {
	defer close(d.done)
	for {
		select {
		case ev := <-d.ch:
			d.deliver(ev)
		case <-d.quit:
			// Deliver what is already buffered, then stop; nothing new is accepted.
			for {
				select {
				case ev := <-d.ch:
					d.deliver(ev)
				default:
					return
				}
			}
		}
	}
}

func (d *dispatcher) deliver(ev Event) {
	if d.sink == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	d.sink.Handle(ctx, ev)
}

// stop delivers the buffered events and ends the delivery goroutine, waiting at most until ctx
// is done (a sink that ignores its context could otherwise hold Close forever).
func (d *dispatcher) stop(ctx context.Context) {
	d.stopOnce.Do(func() { close(d.quit) })
	select {
	case <-d.done:
	case <-ctx.Done():
	}
}
