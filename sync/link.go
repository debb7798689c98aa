package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
)

// Link connects a tenant to a PSA client and starts its initial sync in the background (when
// another tenant of the same client is syncing in this process, Run's next cycle starts it). A
// tenant is linked once: linking it to a second client fails with ErrAlreadyLinked naming the
// client it is connected to (errors.As reaches *store.AlreadyLinkedError). Linking to the same
// client again is harmless. A client the contact directory does not have fails with
// ErrClientNotFound (when the directory implements tenantsync.ClientLookup, as the store's
// default directory does). The link, or its refusal, is audited under actor; when the store
// does not take the entry, the link still stands (its sync starts) and the error returned
// says so (also EventAuditFailed).
func (e *Engine) Link(ctx context.Context, actor, tenantID, clientID string) error {
	if tenantID == "" || clientID == "" {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "Link", Tenant: tenantID,
			Message: "a tenant ID and a client ID are needed", Hint: "pass both IDs"}
	}
	if err := e.authorizeManage(ctx, "Link", actor); err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "link", tenantID, clientID, "refused", err, nil))
	}
	if err := e.checkClient(ctx, "Link", tenantID, clientID); err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "link", tenantID, clientID, "refused", err, nil))
	}
	if err := e.acct.Tenants.Link(ctx, tenantID, clientID, e.clock.Now()); err != nil {
		var al *store.AlreadyLinkedError
		if errors.As(err, &al) {
			err = &tenantsync.Error{Class: tenantsync.ErrAlreadyLinked, Service: Service, Op: "Link", Tenant: tenantID,
				Message: fmt.Sprintf("tenant %s is already connected to client %s", tenantID, al.ClientID),
				Hint:    "unlink it from that client first, or pick the tenant that belongs to this client", Err: err}
		} else if isNotFound(err) {
			err = &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: "Link", Tenant: tenantID,
				Message: "the account has no such tenant", Hint: "run discovery first, or check the tenant ID", Err: err}
		}
		return refusedAudited(err, e.auditAdmin(ctx, actor, "link", tenantID, clientID, "refused", err, nil))
	}
	// The link stands even when its audit entry fails: its sync starts, and the caller hears of
	// the audit failure.
	aerr := e.auditAdmin(ctx, actor, "link", tenantID, clientID, "succeeded", nil, nil)
	// The client's kinds, when it or the account chose them, replace the tenant's before its
	// first sync; the link stands when they cannot be set (SetKindsBy can set them later).
	if s, err := e.SettingsFor(ctx, clientID); err != nil {
		aerr = errors.Join(aerr, err)
	} else if s.Own.Kinds != nil || s.Defaults.Kinds != nil {
		aerr = errors.Join(aerr, e.acct.Tenants.SetEnabledKinds(ctx, tenantID, s.Kinds))
	}
	e.emit(Event{Type: EventTenantLinked, TenantID: tenantID, ClientID: clientID, Actor: actor})
	e.kick(tenantID)
	e.sched.poke()
	return aerr
}

// LinkRequest is one tenant-to-client link a person confirmed.
type LinkRequest struct {
	TenantID string
	ClientID string
}

// LinkResult is the outcome of one LinkRequest.
type LinkResult struct {
	LinkRequest
	Err error
}

// LinkMany links several tenants, each on its own: one failure does not stop the others.
func (e *Engine) LinkMany(ctx context.Context, actor string, reqs []LinkRequest) []LinkResult {
	out := make([]LinkResult, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, LinkResult{LinkRequest: r, Err: e.Link(ctx, actor, r.TenantID, r.ClientID)})
	}
	return out
}

// Unlink disconnects a tenant from its client. UnlinkKeep keeps the mirror, cursors and
// contact links so relinking resumes; UnlinkPurge deletes them. PSA contacts are never
// touched. A tenant being synced fails with ErrAlreadyRunning: its sync would otherwise store
// data for a tenant that is no longer linked. The unlink is audited under actor; when the
// store does not take the entry, the unlink stands and the error returned says so.
func (e *Engine) Unlink(ctx context.Context, actor, tenantID string, mode store.UnlinkMode) error {
	rec, err := e.linkedTenant(ctx, "Unlink", tenantID)
	if err != nil {
		return err
	}
	if err := e.authorizeManage(ctx, "Unlink", actor); err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "unlink", tenantID, rec.ClientID, "refused", err, map[string]string{"mode": mode.String()}))
	}
	if e.sched.running(tenantID) {
		return alreadyRunning(tenantID, e.holder)
	}
	if _, err := e.acct.Leases.Acquire(ctx, store.LeaseRequest{TenantID: tenantID, Holder: e.holder, Now: e.clock.Now(), TTL: e.limits.LeaseTTL}); err != nil {
		return err
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		_ = e.acct.Leases.Release(rctx, tenantID, e.holder)
	}()
	if err := e.acct.Tenants.Unlink(ctx, tenantID, mode); err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "unlink", tenantID, rec.ClientID, "failed", err, map[string]string{"mode": mode.String()}))
	}
	e.sched.forget(tenantID)
	aerr := e.auditAdmin(ctx, actor, "unlink", tenantID, rec.ClientID, "succeeded", nil, map[string]string{"mode": mode.String()})
	e.emit(Event{Type: EventTenantUnlinked, TenantID: tenantID, ClientID: rec.ClientID, Actor: actor, Message: mode.String()})
	return aerr
}

// SetKinds chooses which kinds are synced for a tenant, with no actor.
//
// Deprecated: use SetKindsBy, which names the person making the change. SetKinds is SetKindsBy
// with an empty actor: audited without one, and refused (ErrPermissionDenied) when
// Config.Authorizer is set, as every change no person answers for is.
func (e *Engine) SetKinds(ctx context.Context, tenantID string, kinds []tenantsync.Kind) error {
	return e.SetKindsBy(ctx, "", tenantID, kinds)
}

// SetKindsBy chooses which kinds are synced for a tenant (fewer kinds, fewer calls and less
// throttling), authorized as SetSyncing is and audited under actor ("set_kinds", with the
// kinds before and after). Kinds switched off keep their mirror as it was.
func (e *Engine) SetKindsBy(ctx context.Context, actor, tenantID string, kinds []tenantsync.Kind) error {
	const op, action = "SetKindsBy", "set_kinds"
	// The kinds as stored: each once, in the order given.
	var set []tenantsync.Kind
	for _, k := range kinds {
		if !slices.Contains(set, k) {
			set = append(set, k)
		}
	}
	detail := map[string]string{"kinds": kindList(set)}
	if err := e.authorizeManage(ctx, op, actor); err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "refused", err, detail))
	}
	for _, k := range set {
		if !k.Valid() {
			err := &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID,
				Message: fmt.Sprintf("unknown kind %q", k), Hint: "use the tenantsync.Kind constants"}
			return refusedAudited(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "refused", err, detail))
		}
	}
	rec, err := e.acct.Tenants.Get(ctx, tenantID)
	if err != nil {
		if errors.Is(err, tenantsync.ErrNotFound) {
			err = &tenantsync.Error{Class: tenantsync.ErrTenantNotFound, Service: Service, Op: op, Tenant: tenantID,
				Message: "no tenant " + tenantID + " is known", Hint: "run a discovery, or check the tenant ID", Err: err}
			return refusedAudited(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "refused", err, detail))
		}
		return errors.Join(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "failed", err, detail))
	}
	detail["before"] = kindList(rec.EnabledKinds)
	if err := e.acct.Tenants.SetEnabledKinds(ctx, tenantID, set); err != nil {
		return errors.Join(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "failed", err, detail))
	}
	return e.auditAdmin(ctx, actor, action, tenantID, tenantID, "succeeded", nil, detail)
}

// kindList writes kinds for an audit entry's detail ("domains,users").
func kindList(kinds []tenantsync.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// SetSyncing pauses (false) or resumes (true) the syncing of a linked tenant, audited under
// actor ("pause_sync" or "resume_sync"). When the store does not take the entry, the change
// stands and the error says so.
func (e *Engine) SetSyncing(ctx context.Context, actor, tenantID string, on bool) error {
	action := map[bool]string{true: "resume_sync", false: "pause_sync"}[on]
	if err := e.authorizeManage(ctx, "SetSyncing", actor); err != nil {
		return refusedAudited(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "refused", err, nil))
	}
	if err := e.acct.Tenants.SetSyncing(ctx, tenantID, on); err != nil {
		return errors.Join(err, e.auditAdmin(ctx, actor, action, tenantID, tenantID, "refused", err, nil))
	}
	return e.auditAdmin(ctx, actor, action, tenantID, tenantID, "succeeded", nil, nil)
}

// Decision is a person's answer to a review.
type Decision struct {
	// Action is store.ResolveLink (the user is ContactID: remembered as a merge that wins over
	// matching from now on), store.ResolveCreate (a contact is created for the user at once and
	// remembered) or store.ResolveIgnore (the user stays unlinked and is not queued again).
	Action store.ResolutionAction
	// ContactID is the contact, for store.ResolveLink only.
	ContactID string
}

// validate refuses a decision that does not say one thing.
func (d Decision) validate() error {
	bad := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: "ResolveReview", Message: msg, Hint: hint}
	}
	switch d.Action {
	case store.ResolveLink:
		if d.ContactID == "" {
			return bad("a link decision without a contact", "set Decision.ContactID to the contact the user is")
		}
	case store.ResolveCreate, store.ResolveIgnore:
		if d.ContactID != "" {
			return bad(fmt.Sprintf("a %s decision names contact %s", d.Action, d.ContactID),
				"set Decision.Action to store.ResolveLink to link the user to that contact, or leave ContactID empty")
		}
	default:
		return bad(fmt.Sprintf("unknown decision %q", d.Action), "set Decision.Action to store.ResolveLink, store.ResolveCreate or store.ResolveIgnore")
	}
	return nil
}

// ResolveReview closes a queued review with a person's decision. The next sync applies it.
//
// A create first looks among the client's contacts for one already carrying the user's
// identity, and for the contact an earlier create for the user made when its answer was lost,
// and takes it rather than make a second: the intent is recorded before the PSA is called, as a
// sync records its own. The decision is audited under actor; when the store does not take the
// entry, the resolved review is returned with the error.
func (e *Engine) ResolveReview(ctx context.Context, actor, reviewID string, d Decision) (store.Review, error) {
	if err := d.validate(); err != nil {
		return store.Review{}, err
	}
	if err := e.authorizeManage(ctx, "ResolveReview", actor); err != nil {
		return store.Review{}, refusedAudited(err, e.auditAdmin(ctx, actor, "resolve_review", "", reviewID, "refused", err,
			map[string]string{"resolution": string(d.Action)}))
	}
	reviews, err := e.acct.Reviews.List(ctx, store.ReviewFilter{})
	if err != nil {
		return store.Review{}, err
	}
	i := slices.IndexFunc(reviews, func(r store.Review) bool { return r.ID == reviewID })
	if i < 0 {
		return store.Review{}, &tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: "ResolveReview",
			Message: "no open review " + reviewID, Hint: "list the open reviews; it may be resolved already"}
	}
	rv := reviews[i]
	now := e.clock.Now()
	res := store.Resolution{Action: d.Action, ContactID: d.ContactID, By: actor, At: now}
	contactID := d.ContactID
	switch d.Action {
	case store.ResolveCreate:
		if contactID, err = e.createForReview(ctx, actor, rv); err != nil {
			return store.Review{}, err
		}
	case store.ResolveLink:
		// A merge to a contact the client does not have would leave the user unlinked for good,
		// with its review closed.
		contacts, err := e.clientContacts(ctx, rv.TenantID, rv.ClientID)
		if err != nil {
			return store.Review{}, err
		}
		if !slices.ContainsFunc(contacts, func(c tenantsync.Contact) bool { return c.ID == contactID }) {
			return store.Review{}, &tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: "ResolveReview", Tenant: rv.TenantID,
				Message: fmt.Sprintf("client %s has no contact %s", rv.ClientID, contactID),
				Hint:    "pick one of the review's candidates or another contact of the same client"}
		}
		if err := e.refuseHeldContact(ctx, "ResolveReview", rv.ClientID, contactID, match.Identity{TenantID: rv.TenantID, ObjectID: rv.ObjectID}); err != nil {
			return store.Review{}, err
		}
	}
	if contactID != "" {
		if err := e.acct.Merges.Remember(ctx, store.Merge{TenantID: rv.TenantID, ObjectID: rv.ObjectID,
			ClientID: rv.ClientID, ContactID: contactID, DecidedBy: actor, DecidedAt: now}); err != nil {
			return store.Review{}, err
		}
	}
	if d.Action == store.ResolveCreate {
		// The merge now links the user to the contact made: the create's intent is spent. It
		// is dropped only now, so a crash before the merge still finds the contact again.
		if _, err := e.rewriteState(ctx, rv.TenantID, func(st *store.SyncState) bool {
			if _, ok := st.CreateIntents[rv.ObjectID]; !ok {
				return false
			}
			st.CreateIntents = maps.Clone(st.CreateIntents)
			delete(st.CreateIntents, rv.ObjectID)
			return true
		}); err != nil {
			return store.Review{}, err
		}
	}
	out, err := e.acct.Reviews.Resolve(ctx, reviewID, res)
	if err != nil {
		return out, err
	}
	e.invalidateReconcile(rv.TenantID)
	detail := map[string]string{"resolution": string(d.Action)}
	if contactID != "" {
		detail["contact"] = contactID
	}
	// The review is resolved either way: out is returned with the audit failure.
	return out, e.auditAdmin(ctx, actor, "resolve_review", rv.TenantID, rv.ObjectID, "succeeded", nil, detail)
}

// clientContacts lists a client's contacts through the PSA gate, for a person's decision: a
// pause in force is returned, and an answer of the whole PSA pauses every PSA call.
func (e *Engine) clientContacts(ctx context.Context, tenantID, clientID string) ([]tenantsync.Contact, error) {
	if err := e.psa.admit(ctx, tenantID); err != nil {
		return nil, err
	}
	var contacts []tenantsync.Contact
	err := e.psa.call(ctx, func(ctx context.Context) error {
		var err error
		contacts, err = e.contacts.ListContacts(ctx, clientID)
		return err
	})
	if err != nil {
		if classifyPSA(err).accountWide() {
			e.psa.pause(err)
		}
		return nil, psaError("ListContacts", err)
	}
	e.psa.succeeded()
	return contacts, nil
}

// createForReview makes the contact a person asked for on a review and returns its ID. A
// contact already carrying the user's identity, or the one contact an earlier create for the
// user made (its answer lost), is returned instead: a second click must not duplicate it.
func (e *Engine) createForReview(ctx context.Context, actor string, rv store.Review) (string, error) {
	u, err := e.acct.Mirror.GetUser(ctx, rv.TenantID, rv.ObjectID)
	if err != nil {
		return "", err
	}
	if u.TenantID == "" {
		u.TenantID = rv.TenantID
	}
	contacts, err := e.clientContacts(ctx, rv.TenantID, rv.ClientID)
	if err != nil {
		return "", err
	}
	rec, err := e.acct.Tenants.Get(ctx, rv.TenantID)
	if err != nil {
		return "", err
	}
	ix, _, err := e.matchIndex(ctx, rec, contacts)
	if err != nil {
		return "", err
	}
	mine := func(id match.Identity) bool {
		return strings.EqualFold(id.TenantID, u.TenantID) && strings.EqualFold(id.ObjectID, u.ObjectID)
	}
	for _, c := range contacts {
		if !mine(match.Identity{TenantID: c.TenantID, ObjectID: c.ObjectID}) {
			continue
		}
		if held, ok := ix.LinkedUser(c.ID); ok && !mine(held) {
			continue
		}
		return c.ID, nil
	}
	st, err := e.acct.SyncStates.Get(ctx, rv.TenantID)
	if err != nil && !isNotFound(err) {
		return "", err
	}
	r := &reconcileRun{contacts: contacts, ix: ix, taken: map[string]bool{}}
	c := newContact(rv.ClientID, rv.TenantID, u)
	in, interrupted := st.CreateIntents[u.ObjectID]
	setIntent := func(ctx context.Context, keep bool) error {
		_, err := e.rewriteState(ctx, rv.TenantID, func(st *store.SyncState) bool {
			st.CreateIntents = maps.Clone(st.CreateIntents)
			if keep {
				if st.CreateIntents == nil {
					st.CreateIntents = map[string]store.CreateIntent{}
				}
				st.CreateIntents[u.ObjectID] = in
			} else {
				delete(st.CreateIntents, u.ObjectID)
			}
			return true
		})
		return err
	}
	if interrupted {
		switch cands := r.madeBy(in); {
		case len(cands) == 1:
			return cands[0], nil
		case len(cands) > 1:
			return "", &tenantsync.Error{Class: tenantsync.ErrConflict, Service: Service, Op: "ResolveReview", Tenant: rv.TenantID,
				Message: fmt.Sprintf("an earlier create for this user was interrupted, and %d contacts look like what it sent", len(cands)),
				Hint:    "resolve the review with the contact it made (one of " + strings.Join(cands, ", ") + ") instead of creating another"}
		}
	} else {
		in = store.CreateIntent{Key: c.IdempotencyKey(), Contact: c, At: e.clock.Now(), Existing: r.lookalikes(c)}
	}
	// Stored before the call: an answer lost after the PSA made the contact is found again by
	// the next click, or the next sync, instead of being made twice.
	if err := setIntent(ctx, true); err != nil {
		return "", err
	}
	if err := e.psa.admit(ctx, rv.TenantID); err != nil {
		return "", err
	}
	var created tenantsync.Contact
	err = e.psa.call(ctx, func(ctx context.Context) error {
		var err error
		created, err = e.contacts.CreateContact(ctx, c)
		return err
	})
	if err != nil {
		if classifyPSA(err).accountWide() {
			e.psa.pause(err)
		}
		if nothingWritten(err) {
			_ = setIntent(ctx, false)
		}
		return "", psaError("CreateContact", err)
	}
	e.psa.succeeded()
	e.emit(Event{Type: EventContactCreated, TenantID: rv.TenantID, ClientID: rv.ClientID, UserID: rv.ObjectID, ContactID: created.ID, Actor: actor})
	return created.ID, nil
}

// auditAdmin appends an administrative entry (link, unlink, review) to the audit log. An
// entry the store does not take is counted, emitted (EventAuditFailed) and returned, as an
// error that says whether the change stands (outcome "succeeded": it does).
func (e *Engine) auditAdmin(ctx context.Context, actor, action, tenantID, target, outcome string, err error, detail map[string]string) error {
	entry := tenantsync.AuditEntry{At: e.clock.Now(), Actor: actor, Action: action, TenantID: tenantID, Target: target,
		Phase: "result", Outcome: outcome, Detail: detail}
	if err != nil {
		entry.Error = err.Error()
	}
	actx, cancel := detached(ctx)
	defer cancel()
	_, aerr := e.acct.Audit.Append(actx, entry)
	if aerr != nil {
		return e.auditFailed(actor, action, tenantID, outcome, aerr)
	}
	return nil
}

// auditFailed counts and announces an audit entry the store did not take, and returns the
// error its caller reports.
func (e *Engine) auditFailed(actor, action, tenantID, outcome string, err error) error {
	msg := fmt.Sprintf("the audit entry of %s (%s) could not be written", action, outcome)
	hint := "the action's outcome is as returned, but the audit log misses it; check the store, and record the action by hand if it must be on file"
	if outcome == "succeeded" {
		msg = fmt.Sprintf("%s was carried out but its audit entry could not be written", action)
		hint = "the change stands, do not repeat it; check the store, and record the action by hand if it must be on file"
	}
	class := tenantsync.ClassOf(err)
	if class == nil {
		class = tenantsync.ErrUnavailable
	}
	out := &tenantsync.Error{Class: class, Service: Service, Op: "AppendAudit", Tenant: tenantID,
		Message: msg + ": " + err.Error(), Hint: hint, Err: err}
	e.counters.auditFailures.Add(1)
	ev := Event{Type: EventAuditFailed, TenantID: tenantID, Actor: actor, Message: msg}
	errorFields(&ev, out)
	e.emit(ev)
	return out
}

// refusedAudited returns why an action was refused, with the failure to audit the refusal
// (from auditAdmin) when there was one.
func refusedAudited(err, auditErr error) error {
	if auditErr == nil {
		return err
	}
	return errors.Join(err, auditErr)
}
