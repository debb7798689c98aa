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
// deltas missed is seen and what a complete listing omits is removed; a kind fetched within its
// own interval, Cadence.Kinds, rests and keeps its mirror as it was), users are matched to
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
// The package shares its name with the standard library's sync; import it as tsync:
//
//	import tsync "github.com/tenantsync/tenantsync/sync"
//
//	eng, err := tsync.New(tsync.Config{
//		Store:    st,
//		Account:  "msp-1",
//		Sources:  []tenantsync.Source{cippSource, graphSource},
//		Contacts: psaContacts,
//		Sink:     tsync.SinkFunc(func(ctx context.Context, ev tsync.Event) { log.Println(ev.Type, ev.TenantID) }),
//	})
//	if err != nil {
//		return err
//	}
//	defer eng.Close(context.Background()) // cancels the syncs under way, then waits for them
//	go eng.Run(ctx)
//	err = eng.Link(ctx, "alice", tenantID, clientID) // starts the initial sync
//
// # Guarantees
//
//   - No false deletions: a kind whose listing was unavailable changes nothing (no removals, no
//     deactivations, cursor unchanged) while the other kinds are stored; a user is gone only
//     after a complete listing omits it or a delta removes it.
//   - Bounded memory for any tenant: with a store that stages (store.Stager) and a source that
//     streams (graph's and cipp's users), a kind's pages go into the store as they arrive and
//     are judged, reconciled and committed from there, so the engine never holds the listing;
//     every guarantee here holds for it as for a listing in memory.
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
//     but the links of contacts it was deactivating and the intents of contacts it was
//     creating, both stored before the PSA call. Contact
//     changes in the PSA cannot share the store's transaction; the next sync decides from each
//     contact's state in the PSA and its user's, so an interrupted run leaves no contact
//     deactivated for good and none active for a disabled or removed user.
//   - One holder at a time: a sync stops once nine tenths of the lease TTL have passed
//     since its last renewal that landed, before any other process may claim the tenant, and
//     its commit is refused in the store's transaction unless its lease still holds at that
//     instant. Either is audited as sync_lease_lost.
//   - The sync state never claims a count the mirror does not hold: the commit stores only the
//     counts it knows, and lease renewals stop writing the running state before it.
//   - PSA contacts are never deleted. Only linked contacts are deactivated, and they are
//     reactivated when their user returns. A blank M365 field never overwrites a contact field
//     (match.ApplyUser is the one rule for contact fields).
//   - One candidate links; none creates (with AutoCreate, for people only); several go to a
//     person's review queue, as do several users of one sync claiming one contact, and the
//     person's decision is remembered.
//   - One record the PSA refuses does not stop a tenant. A contact write that fails fails its
//     user only: the failure (the call, the error's kind, the PSA's message, a hint, the
//     attempts, the next retry) is stored in the sync state, shown by Status
//     (TenantStatus.ContactFailures), announced by a contact.failed event and counted; the rest
//     of the sync, the links of every contact the PSA created included, is committed. The user
//     is tried again at the next sync, then after a wait that doubles from
//     Limits.ContactRetryBackoff, and after Limits.ContactAttempts is left for a person
//     (contact.needs_person), whose decision ResolveContactFailure applies: retry, merge with a
//     contact, or leave it. The failures stay in a list on the tenant's state rather than in the
//     review queue: a review asks which contact a user is, with candidates, while a failure
//     carries the PSA's answer, attempts and a retry time, and must be listed with the tenant's
//     health where the daemon shows it. Users that failed before are handled last in a run, so
//     a record that always fails delays no one.
//   - Assets follow devices under the same rules (Config.Assets, switched per client by
//     Settings.AutoCreateAssets): a device is its asset by a person's remembered decision
//     (ResolveAssetReview), then the engine's link, then (tenant ID, Intune device ID), Entra
//     device ID, and last serial number and manufacturer, where placeholder serials match
//     nothing and several candidates wait for a person. A blank device value never overwrites;
//     assets are retired, never deleted, only when the engine linked them and a complete
//     listing the deletion guard let through omits their device, and the guard's threshold
//     holds retirements too (ReleaseAssetHold, or a listing a day on). The links, reviews,
//     decisions, failures and hold live in SyncState.Assets; every write is audited and in
//     the change feed (store.ChangeAsset).
//   - A throttling PSA does not stop every tenant, and is not hammered. Every call to the PSA's
//     contact directory goes through one gate of the engine: a rate limit
//     (Limits.PSACallsPerSecond), a per-call timeout, and a pause that an ErrThrottled (for its
//     Retry-After), an ErrUnavailable, a timeout or a refused credential starts (without a
//     Retry-After, an exponential backoff with jitter), for every tenant at once (psa.paused,
//     Engine.PSAStatus). A sync that meets the pause makes no PSA call, stores its mirror and
//     what it linked, and leaves the other users pending (TenantStatus.ContactsPending,
//     Report.Contacts.Pending, contact.pending); so does one that spent its budget of
//     Limits.PSACallsPerSync writes, or reached Limits.MaxCreatesPerSync creates (500 by default):
//     TenantStatus.Creation tells how far a large tenant's creates have come, and
//     StartSync(SyncOptions{CreateAll: true}) lets a person have the rest created at once. Pending users, and failed ones whose retry is due, make the
//     next sync reconcile every user of the tenant, also when its delta names none, and the
//     tenant is due again within the active interval. Work runs in the order that matters when
//     a run ends early: deactivations of removed users, then users with a contact, then creates.
//     The pause is per engine: engines sharing a store each keep their own.
//   - No second contact after a crash. The engine sets the user's TenantID and ObjectID on every
//     contact it creates (tenantsync.Contact.IdempotencyKey is derived from them), and a contact
//     carrying a user's identity is that user's contact before any address is compared
//     (package match). For a PSA that keeps neither the identity nor an idempotency key, the
//     engine stores each create's intent (the contact it sends, its key, and the contacts that
//     already looked like it) in the tenant's sync state before it calls the PSA, and keeps it
//     while the outcome is unknown (a lost answer, a timeout, a sync that stopped before its
//     commit). Before creating for such a user again, it looks for the contact: by identity, by
//     email, and then among the client's contacts that no user holds, carry no identity and
//     look like what was sent (same names, no other field differing) and did not before; one is
//     linked, several go to a person. The risk left: a PSA that keeps no identity, honours no
//     idempotency key, and changes the names it is given (or a person who edits the contact
//     before the next sync) can still get a second contact for a user without an email
//     address after a crash between its create and the engine's commit.
//   - Writes are off until enabled, need tenantsync.PermissionWrite, may wait for approval, and
//     are audited before and after the call, failures and refusals included.
//   - The engine never blocks on its event sink: a slow sink loses events, counted.
package sync
