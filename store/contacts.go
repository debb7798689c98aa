package store

import (
	"context"

	"github.com/tenantsync/tenantsync"
)

// ContactsFor adapts a ContactStore to tenantsync.Contacts for one account, so the engine can
// reconcile against the store's default contact directory.
func ContactsFor(s ContactStore, account string) tenantsync.Contacts {
	return accountContacts{s: s, account: account}
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
