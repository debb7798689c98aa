package store

import (
	"context"

	"github.com/tenantsync/tenantsync"
)

// ContactsFor adapts a ContactStore to tenantsync.Contacts for one account, so the engine can
// reconcile against the store's default contact directory. When s also holds the client list
// (a Store does), the directory implements tenantsync.ClientLookup with it, so the engine
// refuses to link a tenant to a client the list does not have.
func ContactsFor(s ContactStore, account string) tenantsync.Contacts {
	c := accountContacts{s: s, account: account}
	if cl, ok := s.(Clients); ok {
		return accountDirectory{accountContacts: c, clients: cl}
	}
	return c
}

type accountContacts struct {
	s       ContactStore
	account string
}

var _ tenantsync.Contacts = accountContacts{}

func (a accountContacts) ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error) {
	return a.s.ListContacts(ctx, a.account, clientID)
}

func (a accountContacts) CreateContact(ctx context.Context, c tenantsync.Contact) (tenantsync.Contact, error) {
	return a.s.CreateContact(ctx, a.account, c)
}

func (a accountContacts) UpdateContact(ctx context.Context, c tenantsync.Contact) error {
	return a.s.UpdateContact(ctx, a.account, c)
}

func (a accountContacts) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	return a.s.SetContactActive(ctx, a.account, clientID, contactID, active)
}

// accountDirectory is the default directory of a store that also holds the client list.
type accountDirectory struct {
	accountContacts
	clients Clients
}

var _ tenantsync.ClientLookup = accountDirectory{}

// GetClient implements tenantsync.ClientLookup from the store's client list.
func (a accountDirectory) GetClient(ctx context.Context, clientID string) (tenantsync.Client, error) {
	return a.clients.GetClient(ctx, a.account, clientID)
}
