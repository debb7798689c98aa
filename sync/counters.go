package sync

import (
	"maps"
	stdsync "sync"
	"sync/atomic"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Counters are the engine's cumulative counts since it was built, kept by the engine itself:
// unlike the event stream, which drops events when the sink falls behind, they miss nothing, so
// a daemon's progress and metrics read them rather than count events. They are this engine's
// own (engines sharing a store each count their work) and start from zero when it is built.
type Counters struct {
	// Tenant syncs by outcome: committed with every fetched kind stored, committed with some
	// kinds unavailable or held by the deletion guard, or failed with nothing stored.
	SyncsOK      uint64
	SyncsPartial uint64
	SyncsFailed  uint64
	// Errors counts failures by error class (tenantsync.ClassName): failed tenant syncs,
	// unavailable kinds, failed discoveries and failed claims of due tenants.
	Errors map[string]uint64
	// DiscoveryFailures counts sources whose tenant list failed.
	DiscoveryFailures uint64
	// CyclesFailed counts Run and RunOnce cycles that failed (EventCycleFailed): every
	// source's tenant list failed, or the due tenants could not be claimed.
	CyclesFailed uint64
	// AuditFailures counts audit entries the store did not take (EventAuditFailed): the
	// caller of the action got the error, or, for entries a sync writes, only the event.
	AuditFailures uint64

	// Items the sources returned in committed syncs (held and unavailable kinds excluded), and
	// of those the users.
	ItemsSynced uint64
	UsersSynced uint64
	// Mirror changes committed, every kind together.
	ItemsAdded   uint64
	ItemsUpdated uint64
	ItemsRemoved uint64

	// ContactsLinked counts committed user-to-contact links. The others count calls the PSA's
	// directory carried out, whether or not the sync's commit then succeeded (the PSA cannot
	// share the store's transaction).
	ContactsLinked      uint64
	ContactsCreated     uint64
	ContactsUpdated     uint64
	ContactsDeactivated uint64
	ContactsReactivated uint64
	// ReviewsQueued counts users newly queued for a person.
	ReviewsQueued uint64
	// ContactsFailed counts PSA writes for one user that failed (the user is retried later),
	// and ContactErrors the same by error class (tenantsync.ClassName); ContactsNeedPerson the
	// users whose writes failed Limits.ContactAttempts times and now wait for a person.
	ContactsFailed     uint64
	ContactErrors      map[string]uint64
	ContactsNeedPerson uint64
	// PSACalls counts the calls made to the PSA's contact directory by syncs (listings
	// included); PSAPauses the times the PSA's answer paused them.
	PSACalls  uint64
	PSAPauses uint64

	// Deletion guard: holds placed (new or replaced by a larger removal), released by a
	// person, applied (after a release, a confirmation, or with the guard turned off), and
	// cleared because the items were listed again.
	HoldsPlaced   uint64
	HoldsReleased uint64
	HoldsApplied  uint64
	HoldsCleared  uint64

	// Write actions by outcome.
	WritesSucceeded uint64
	WritesFailed    uint64
	WritesRefused   uint64
	WritesPending   uint64
	WritesDenied    uint64
	WritesDryRun    uint64

	// DroppedEvents is Engine.DroppedEvents.
	DroppedEvents uint64
}

type counters struct {
	syncsOK, syncsPartial, syncsFailed, discoveryFailures, cyclesFailed, auditFailures         atomic.Uint64
	itemsSynced, usersSynced, itemsAdded, itemsUpdated, itemsRemoved                           atomic.Uint64
	contactsLinked, contactsCreated, contactsUpdated, contactsDeactivated, contactsReactivated atomic.Uint64
	reviewsQueued, contactsFailed, contactsNeedPerson                                          atomic.Uint64
	holdsPlaced, holdsReleased, holdsApplied, holdsCleared                                     atomic.Uint64
	writesSucceeded, writesFailed, writesRefused, writesPending, writesDenied, writesDryRun    atomic.Uint64

	errMu         stdsync.Mutex
	errors        map[string]uint64
	contactErrors map[string]uint64
}

func (c *counters) contactFailure(kind string) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.contactErrors == nil {
		c.contactErrors = map[string]uint64{}
	}
	c.contactErrors[kind]++
}

func (c *counters) failure(err error) {
	if err == nil {
		return
	}
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.errors == nil {
		c.errors = map[string]uint64{}
	}
	c.errors[tenantsync.ClassName(tenantsync.ClassOf(err))]++
}

// Counters returns a snapshot of the engine's counters.
func (e *Engine) Counters() Counters {
	c := &e.counters
	c.errMu.Lock()
	errs := maps.Clone(c.errors)
	contactErrs := maps.Clone(c.contactErrors)
	c.errMu.Unlock()
	if errs == nil {
		errs = map[string]uint64{}
	}
	if contactErrs == nil {
		contactErrs = map[string]uint64{}
	}
	return Counters{
		SyncsOK: c.syncsOK.Load(), SyncsPartial: c.syncsPartial.Load(), SyncsFailed: c.syncsFailed.Load(),
		Errors: errs, DiscoveryFailures: c.discoveryFailures.Load(),
		CyclesFailed: c.cyclesFailed.Load(), AuditFailures: c.auditFailures.Load(),
		ItemsSynced: c.itemsSynced.Load(), UsersSynced: c.usersSynced.Load(),
		ItemsAdded: c.itemsAdded.Load(), ItemsUpdated: c.itemsUpdated.Load(), ItemsRemoved: c.itemsRemoved.Load(),
		ContactsLinked: c.contactsLinked.Load(), ContactsCreated: c.contactsCreated.Load(), ContactsUpdated: c.contactsUpdated.Load(),
		ContactsDeactivated: c.contactsDeactivated.Load(), ContactsReactivated: c.contactsReactivated.Load(),
		ReviewsQueued:  c.reviewsQueued.Load(),
		ContactsFailed: c.contactsFailed.Load(), ContactErrors: contactErrs, ContactsNeedPerson: c.contactsNeedPerson.Load(),
		PSACalls: e.psa.calls.Load(), PSAPauses: e.psa.pauses.Load(),
		HoldsPlaced: c.holdsPlaced.Load(), HoldsReleased: c.holdsReleased.Load(), HoldsApplied: c.holdsApplied.Load(), HoldsCleared: c.holdsCleared.Load(),
		WritesSucceeded: c.writesSucceeded.Load(), WritesFailed: c.writesFailed.Load(), WritesRefused: c.writesRefused.Load(),
		WritesPending: c.writesPending.Load(), WritesDenied: c.writesDenied.Load(), WritesDryRun: c.writesDryRun.Load(),
		DroppedEvents: e.DroppedEvents(),
	}
}

// countCommit counts what a committed sync stored.
func (e *Engine) countCommit(results map[tenantsync.Kind]*tenantsync.KindResult, staged map[tenantsync.Kind]int, out store.BatchResult, rc *reconcileOutcome) {
	c := &e.counters
	for k, kr := range results {
		n := kr.Len()
		if m, ok := staged[k]; ok {
			n = m
		}
		c.itemsSynced.Add(uint64(n))
		if k == tenantsync.KindUsers {
			c.usersSynced.Add(uint64(n))
		}
	}
	for _, a := range out.Kinds {
		added, updated, removed := appliedCounts(a)
		c.itemsAdded.Add(uint64(added))
		c.itemsUpdated.Add(uint64(updated))
		c.itemsRemoved.Add(uint64(removed))
	}
	if rc != nil {
		c.contactsLinked.Add(uint64(rc.report.Linked))
		c.reviewsQueued.Add(uint64(len(rc.newReview)))
	}
}

// countSync counts a finished tenant sync by its outcome.
func (e *Engine) countSync(rep *Report) {
	c := &e.counters
	switch {
	case rep.Err != nil:
		c.syncsFailed.Add(1)
		c.failure(rep.Err)
		return
	case rep.Partial():
		c.syncsPartial.Add(1)
	default:
		c.syncsOK.Add(1)
	}
	for _, kr := range rep.Kinds {
		c.failure(kr.Err)
	}
}
