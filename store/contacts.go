package store

import (
	"context"

	"github.com/tenantsync/tenantsync"
)

// ContactsFor adapts an account's Directory to tenantsync.Contacts, so the engine can reconcile
// against the default contact directory. The result also implements tenantsync.ClientLookup
// from the directory's client list, so the engine refuses to link a tenant to a client the
// list does not have.
func ContactsFor(d Directory) tenantsync.Contacts { return directoryContacts{d} }

// directoryContacts narrows a Directory to the methods of tenantsync.Contacts and
// tenantsync.ClientLookup, so the engine cannot reach the rest.
type directoryContacts struct{ d Directory }

var (
	_ tenantsync.Contacts     = directoryContacts{}
	_ tenantsync.ClientLookup = directoryContacts{}
)

func (a directoryContacts) ListContacts(ctx context.Context, clientID string) ([]tenantsync.Contact, error) {
	return a.d.ListContacts(ctx, clientID)
}

func (a directoryContacts) CreateContact(ctx context.Context, c tenantsync.Contact) (tenantsync.Contact, error) {
	return a.d.CreateContact(ctx, c)
}

func (a directoryContacts) UpdateContact(ctx context.Context, c tenantsync.Contact) error {
	return a.d.UpdateContact(ctx, c)
}

func (a directoryContacts) SetContactActive(ctx context.Context, clientID, contactID string, active bool) error {
	return a.d.SetContactActive(ctx, clientID, contactID, active)
}

// GetClient implements tenantsync.ClientLookup from the directory's client list.
func (a directoryContacts) GetClient(ctx context.Context, clientID string) (tenantsync.Client, error) {
	return a.d.GetClient(ctx, clientID)
}

// DirectoryProvider is a Store that also holds the default client list and contact directory.
// The stores in this module implement it; the engine uses it when it is given no contacts.
type DirectoryProvider interface {
	Directory(account string) Directory
}
