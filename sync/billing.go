package sync

import (
	"context"
	"maps"
	"slices"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// BillingDefinition says which M365 users an MSP bills for. The zero value is the usual
// definition: enabled, licensed people, not guests, not shared, room or equipment mailboxes.
type BillingDefinition struct {
	IncludeDisabled   bool // count users whose sign-in is blocked
	IncludeUnlicensed bool // count users without a licence
	IncludeGuests     bool // count B2B guests
	// IncludeNonPerson counts shared, room and equipment mailboxes' accounts.
	IncludeNonPerson bool
	// SKUs, when set, counts only users holding at least one of these SKU IDs.
	SKUs []string
	// ExcludeSKUs ignores these SKU IDs when deciding whether a user is licensed (free or
	// trial SKUs an MSP does not bill for).
	ExcludeSKUs []string
}

// Billable reports whether u, whose mailbox is of type mt, is billable.
func (d BillingDefinition) Billable(u tenantsync.User, mt tenantsync.MailboxType) bool {
	if !d.IncludeDisabled && !u.AccountEnabled {
		return false
	}
	if !d.IncludeGuests && u.IsGuest() {
		return false
	}
	if !d.IncludeNonPerson && !mt.IsPerson() {
		return false
	}
	var skus []string
	for _, s := range u.AssignedSKUs {
		if !slices.Contains(d.ExcludeSKUs, s) {
			skus = append(skus, s)
		}
	}
	if len(d.SKUs) > 0 && !slices.ContainsFunc(skus, func(s string) bool { return slices.Contains(d.SKUs, s) }) {
		return false
	}
	return d.IncludeUnlicensed || len(skus) > 0
}

// BillingCount is the number of billable users of a client, from the mirror.
type BillingCount struct {
	ClientID  string
	Billable  int
	PerTenant map[string]int
	// Complete is false when a linked tenant's users were never listed (the count is then too
	// low), or its mailboxes were never listed while the definition excludes non-persons (a
	// licensed shared mailbox then counts as a person): either way not a figure to invoice.
	Complete bool
}

// BillableUsers counts the billable users of every tenant linked to the client, as of each
// tenant's last sync, by Config.Billing.
func (e *Engine) BillableUsers(ctx context.Context, clientID string) (BillingCount, error) {
	recs, err := e.clientTenants(ctx, clientID)
	if err != nil {
		return BillingCount{ClientID: clientID, PerTenant: map[string]int{}, Complete: true}, err
	}
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.ID
	}
	return e.billableUsers(ctx, clientID, ids)
}

// billableUsers counts the billable users of the client's tenants.
func (e *Engine) billableUsers(ctx context.Context, clientID string, tenants []string) (BillingCount, error) {
	out := BillingCount{ClientID: clientID, PerTenant: map[string]int{}, Complete: true}
	for _, id := range tenants {
		st, err := e.acct.SyncStates.Get(ctx, id)
		if err != nil && !isNotFound(err) {
			return out, err
		}
		_, usersListed := st.Counts[tenantsync.KindUsers]
		_, typesListed := st.Counts[tenantsync.KindMailboxes]
		if !usersListed || (!typesListed && !e.cfg.Billing.IncludeNonPerson) {
			out.Complete = false
		}
		mirrors, err := e.readKinds(ctx, id, tenantsync.KindUsers, tenantsync.KindMailboxes)
		if isNotFound(err) {
			// Removed from the store since the tenants were listed: no longer the client's.
			continue
		}
		if err != nil {
			return out, err
		}
		types := map[string]tenantsync.MailboxType{}
		for _, m := range mirrors[tenantsync.KindMailboxes].Mailboxes {
			types[m.ObjectID] = m.Type
		}
		n := 0
		for _, u := range mirrors[tenantsync.KindUsers].Users {
			if e.cfg.Billing.Billable(u, types[u.ObjectID]) {
				n++
			}
		}
		out.PerTenant[id] = n
		out.Billable += n
	}
	return out, nil
}

// readKinds reads a tenant's mirror of each of kinds: in one read where the store can
// (store.KindsReader), a read a kind elsewhere, and for a kind the store's ReadKinds left out.
func (e *Engine) readKinds(ctx context.Context, tenantID string, kinds ...tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error) {
	out := map[tenantsync.Kind]*tenantsync.KindResult{}
	if kr, ok := e.acct.Mirror.(store.KindsReader); ok {
		read, err := kr.ReadKinds(ctx, tenantID, kinds)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, read)
	}
	for _, k := range kinds {
		if out[k] != nil {
			continue
		}
		r, err := e.acct.Mirror.ReadKind(ctx, tenantID, k)
		if err != nil {
			return nil, err
		}
		if r == nil {
			r = &tenantsync.KindResult{Kind: k}
		}
		out[k] = r
	}
	return out, nil
}
