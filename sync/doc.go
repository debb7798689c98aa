// Package sync is the tenantsync engine a PSA embeds: it discovers the tenants every Source
// reaches, links them to PSA clients, keeps a mirror of each linked tenant in a store.Store,
// reconciles the tenants' users with the PSA's contacts through package match, and runs opt-in,
// audited write actions.
//
// # Data flow
//
// Each cycle of Run (or RunOnce) first runs discovery: every source lists the tenants it
// reaches; new ones appear unlinked, ones no source reports any more are flagged, never
// deleted. Then the due tenants are claimed through per-tenant leases (so a tenant syncs in one
// place at a time, across processes sharing a store) and synced concurrently: the source
// fetches each enabled kind in full or from its cursor (a kind whose cursor expired is listed in
// full, and every Cadence.FullListing a tenant is listed in full without cursors, so what its
// deltas missed is seen and what a complete listing omits is removed), users are matched to
// contacts (on a delta, the users that changed and those whose mailbox type changed), and the
// mirror changes, cursors, contact links, review items and sync state are committed in one
// transaction. Before that, the deletion guard (Config.DeletionGuard) holds any kind whose fetch
// would take a large part of its mirror away (removed items and, for users, accounts newly
// blocked, counted together with what the kind lost in the 24 hours before: more than 10 items
// and more than 20%, by default) until a person releases it (ReleaseHold) or a fetch a day
// later confirms it. Both limits must be exceeded, so a kind of 10 items or fewer is never
// held: a small tenant can be emptied by one wrong answer (its contacts come back with its
// users); DeletionGuard.MaxRemovals is the knob for that. Events go to the
// PSA's Sink through a bounded buffer; Counters keeps the engine's own cumulative counts, which
// lose nothing when the sink falls behind.
//
// # Example
//
//	eng, err := sync.New(sync.Config{
//		Store:    st,
//		Account:  "msp-1",
//		Sources:  []tenantsync.Source{cippSource, graphSource},
//		Contacts: psaContacts,
//		Sink:     sync.SinkFunc(func(ctx context.Context, ev sync.Event) { log.Println(ev.Type, ev.TenantID) }),
//	})
//	if err != nil {
//		return err
//	}
//	defer eng.Close(context.Background())
//	go eng.Run(ctx)
//	err = eng.Link(ctx, "alice", tenantID, clientID) // starts the initial sync
//
// # Guarantees
//
//   - No false deletions: a kind whose listing was unavailable changes nothing (no removals, no
//     deactivations, cursor unchanged) while the other kinds are stored; a user is gone only
//     after a complete listing omits it or a delta removes it.
//   - No mass deletions by mistake: a fetch that would take more of a kind away than the
//     deletion guard allows (removals and newly blocked users, within its rolling window)
//     changes nothing of that kind (no removals, no deactivations, cursor unchanged, so a change
//     set is delivered again) until a person releases the hold or a fetch at least
//     DeletionGuard.ConfirmAfter later still misses the same items; items listed again clear
//     the hold. A release or confirmation applies the held items and at most
//     DeletionGuard.MaxRemovals others; a larger rest is held afresh. The hold is stored with the
//     tenant's sync state, shown by Status and announced by a sync.deletion_held event with what
//     to check; applying it is audited with the count applied. Kinds of at most MaxRemovals
//     items are not protected (see DeletionGuard).
//   - A tenant is linked only to a client the contact directory has (tenantsync.ClientLookup),
//     so no contact is created for a client that does not exist.
//   - A sync that is interrupted (cancelled, timed out, lease lost) stores nothing of its run
//     but the links of contacts it was deactivating, marked before the PSA call. Contact
//     changes in the PSA cannot share the store's transaction; the next sync decides from each
//     contact's state in the PSA and its user's, so an interrupted run leaves no contact
//     deactivated for good and none active for a disabled or removed user.
//   - The sync state never claims a count the mirror does not hold: the commit stores only the
//     counts it knows, and lease renewals stop writing the running state before it.
//   - PSA contacts are never deleted. Only linked contacts are deactivated, and they are
//     reactivated when their user returns. A blank M365 field never overwrites a contact field
//     (match.ApplyUser is the one rule for contact fields).
//   - One candidate links; none creates (with AutoCreate, for people only); several go to a
//     person's review queue, as do several users of one sync claiming one contact, and the
//     person's decision is remembered.
//   - Writes are off until enabled, need tenantsync.PermissionWrite, may wait for approval, and
//     are audited before and after the call, failures and refusals included.
//   - The engine never blocks on its event sink: a slow sink loses events, counted.
package sync
