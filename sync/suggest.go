package sync

import (
	"context"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
)

// Suggestions proposes a client for every unlinked tenant that sources still report, scored by
// match from the clients (nil takes the store's client list) and their contacts' addresses.
// A suggestion with AutoAccept set may be linked without a person (LinkSuggested).
func (e *Engine) Suggestions(ctx context.Context, clients []tenantsync.Client) ([]match.Suggestion, error) {
	recs, err := e.acct.Tenants.List(ctx)
	if err != nil {
		return nil, err
	}
	var tenants []tenantsync.Tenant
	for _, r := range recs {
		if !r.Linked() && r.Status != store.TenantVanished {
			tenants = append(tenants, r.Tenant)
		}
	}
	if len(tenants) == 0 {
		return nil, nil
	}
	if clients == nil {
		if clients, err = e.dir.ListClients(ctx); err != nil {
			return nil, err
		}
	}
	if len(clients) == 0 {
		return nil, nil
	}
	var contacts []tenantsync.Contact
	for _, c := range clients {
		// Through the PSA gate: one listing per client adds up, and a paused PSA is not asked.
		if err := e.psa.admit(ctx, ""); err != nil {
			return nil, err
		}
		var cs []tenantsync.Contact
		err := e.psa.call(ctx, func(ctx context.Context) error {
			var err error
			cs, err = e.contacts.ListContacts(ctx, c.ID)
			return err
		})
		if err != nil {
			if classifyPSA(err).accountWide() {
				e.psa.pause(err)
			}
			return nil, err
		}
		contacts = append(contacts, cs...)
	}
	return match.Suggest(tenants, clients, contacts, e.cfg.Suggest)
}

// LinkSuggested links every unlinked tenant whose suggestion is auto-accepted, and returns
// what it did; suggestions a person must confirm are left for LinkMany.
func (e *Engine) LinkSuggested(ctx context.Context, actor string, clients []tenantsync.Client) ([]LinkResult, error) {
	sugs, err := e.Suggestions(ctx, clients)
	if err != nil {
		return nil, err
	}
	var reqs []LinkRequest
	for _, s := range sugs {
		if s.AutoAccept && s.ClientID != "" {
			reqs = append(reqs, LinkRequest{TenantID: s.TenantID, ClientID: s.ClientID})
		}
	}
	return e.LinkMany(ctx, actor, reqs), nil
}
