package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
)

// ContactDecision is a person's answer to a user's failed PSA write.
type ContactDecision int

// The decisions ResolveContactFailure takes.
const (
	// ContactRetry tries the write again at the next sync (made due at once), with a fresh
	// count of attempts: the person fixed the user in Microsoft 365 or the record in the PSA.
	ContactRetry ContactDecision = iota + 1
	// ContactMerge says the user is ContactID, a contact of the tenant's client (the one the
	// PSA's duplicate rule protects, say): the decision is remembered as a review's merge is,
	// and the next sync links the user to it.
	ContactMerge
	// ContactIgnore leaves the user without the change: the engine no longer tries it, and the
	// failure stays listed as decided (TenantStatus.Healthy no longer counts it).
	ContactIgnore
)

func (d ContactDecision) String() string {
	switch d {
	case ContactRetry:
		return "retry"
	case ContactMerge:
		return "merge"
	case ContactIgnore:
		return "ignore"
	}
	return "ContactDecision(" + strconv.Itoa(int(d)) + ")"
}

// ContactResolution is a person's decision about one user's failed PSA write.
type ContactResolution struct {
	Decision  ContactDecision
	ContactID string // the contact the user is, for ContactMerge
}

// ResolveContactFailure applies a person's decision to a user's failed PSA write (listed by
// TenantStatus.ContactFailures): try again, merge the user with an existing contact, or leave
// it. The decision is audited under actor (when the store does not take the entry, the
// decision stands and the error says so). A tenant being synced fails with ErrAlreadyRunning
// (decide again once the sync has finished: it may have written the contact meanwhile), a user
// without a failure with ErrNotFound, and a merge with a contact the client does not have
// with ErrNotFound. The actor needs tenantsync.PermissionManage (Config.Authorizer), as a
// review's decision does; a refusal is audited.
func (e *Engine) ResolveContactFailure(ctx context.Context, actor, tenantID, objectID string, res ContactResolution) error {
	const op = "ResolveContactFailure"
	invalid := func(msg, hint string) error {
		return &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: Service, Op: op, Tenant: tenantID, Message: msg, Hint: hint}
	}
	switch {
	case actor == "":
		return invalid("no actor", "pass the ID of the person deciding")
	case objectID == "":
		return invalid("no user", "pass the object ID of a user listed in the tenant's ContactFailures")
	case res.Decision < ContactRetry || res.Decision > ContactIgnore:
		return invalid("unknown decision "+res.Decision.String(), "use ContactRetry, ContactMerge or ContactIgnore")
	case res.Decision == ContactMerge && res.ContactID == "":
		return invalid("a merge needs a contact", "set ContactID to the contact the user is")
	}
	refuse := func(err error) error {
		return refusedAudited(err, e.auditAdmin(ctx, actor, "resolve_contact_failure", tenantID, objectID, "refused", err,
			map[string]string{"decision": res.Decision.String()}))
	}
	if err := e.authorizeManage(ctx, op, actor); err != nil {
		return refuse(err)
	}
	rec, err := e.linkedTenant(ctx, op, tenantID)
	if err != nil {
		return err
	}
	if res.Decision == ContactMerge {
		if err := e.checkContact(ctx, rec, res.ContactID); err != nil {
			return refuse(err)
		}
		if err := e.refuseHeldContact(ctx, op, rec.ClientID, res.ContactID, match.Identity{TenantID: tenantID, ObjectID: objectID}); err != nil {
			return refuse(err)
		}
	}
	now := e.clock.Now()
	var f store.ContactFailure
	found := false
	_, err = e.rewriteState(ctx, tenantID, func(st *store.SyncState) bool {
		if f, found = st.ContactFailures[objectID]; !found {
			return false
		}
		st.ContactFailures = maps.Clone(st.ContactFailures)
		switch res.Decision {
		case ContactRetry:
			g := f
			g.Attempts, g.NeedsPerson, g.Ignored, g.NextRetry = 0, false, false, now
			g.DecidedBy, g.DecidedAt = actor, now
			st.ContactFailures[objectID] = g
			st.NextDue = now
		case ContactMerge:
			delete(st.ContactFailures, objectID)
			st.NextDue = now
		case ContactIgnore:
			g := f
			g.Ignored, g.NeedsPerson, g.NextRetry = true, false, time.Time{}
			g.DecidedBy, g.DecidedAt = actor, now
			st.ContactFailures[objectID] = g
		}
		return true
	})
	switch {
	case errors.Is(err, tenantsync.ErrAlreadyRunning):
		return refuse(err)
	case err != nil:
		return err
	case !found:
		return refuse(&tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: op, Tenant: tenantID,
			Message: "no failed contact write for user " + objectID,
			Hint:    "look at the tenant's status: a sync may have written the contact meanwhile"})
	}
	if res.Decision == ContactMerge {
		if err := e.acct.Merges.Remember(ctx, store.Merge{TenantID: tenantID, ObjectID: objectID, ClientID: rec.ClientID,
			ContactID: res.ContactID, DecidedBy: actor, DecidedAt: now}); err != nil {
			return err
		}
		e.invalidateReconcile(tenantID)
	}
	detail := map[string]string{"decision": res.Decision.String(), "op": string(f.Op), "kind": f.Kind,
		"attempts": strconv.Itoa(f.Attempts)}
	if res.ContactID != "" {
		detail["contact"] = res.ContactID
	}
	// The decision stands even when its audit entry fails; the caller hears of the failure.
	aerr := e.auditAdmin(ctx, actor, "resolve_contact_failure", tenantID, objectID, "succeeded", nil, detail)
	e.emit(Event{Type: EventContactFailureResolved, TenantID: tenantID, ClientID: rec.ClientID, UserID: objectID,
		ContactID: res.ContactID, Actor: actor, Message: fmt.Sprintf("%s of the failed %s", res.Decision, f.Op)})
	e.sched.poke()
	return aerr
}

// checkContact fails with ErrNotFound unless the tenant's client has the contact.
func (e *Engine) checkContact(ctx context.Context, rec store.TenantRecord, contactID string) error {
	if err := e.psa.admit(ctx, rec.ID); err != nil {
		return err
	}
	var contacts []tenantsync.Contact
	err := e.psa.call(ctx, func(ctx context.Context) error {
		var err error
		contacts, err = e.contacts.ListContacts(ctx, rec.ClientID)
		return err
	})
	if err != nil {
		if classifyPSA(err).accountWide() {
			e.psa.pause(err)
		}
		return err
	}
	if !slices.ContainsFunc(contacts, func(c tenantsync.Contact) bool { return c.ID == contactID }) {
		return &tenantsync.Error{Class: tenantsync.ErrNotFound, Service: Service, Op: "ResolveContactFailure", Tenant: rec.ID,
			Message: fmt.Sprintf("client %s has no contact %s", rec.ClientID, contactID),
			Hint:    "pick a contact of the same client"}
	}
	return nil
}
