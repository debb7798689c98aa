package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
)

// Every call goes through one account's handle; the roles (Tenants, Mirror, ...) are scoped to
// it, so no call names the account again.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := memory.New(memory.Config{Now: func() time.Time { return now }})
	defer s.Close()

	msp := s.Account("msp-1")
	d, err := msp.Tenants.RecordDiscovery(ctx, "cipp", []tenantsync.Tenant{
		{ID: "tenant-a", DisplayName: "Contoso"}, {ID: "tenant-b", DisplayName: "Fabrikam"},
	}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("new:", d.New)
	if err := msp.Tenants.Link(ctx, "tenant-a", "client-7", now); err != nil {
		fmt.Println(err)
		return
	}
	t, _ := msp.Tenants.Get(ctx, "tenant-a")
	fmt.Println(t.DisplayName, "linked to", t.ClientID)

	// Another account sees nothing of msp-1.
	_, err = s.Account("msp-2").Tenants.Get(ctx, "tenant-a")
	fmt.Println(tenantsync.ClassOf(err) == tenantsync.ErrNotFound)
	// Output:
	// new: [tenant-a tenant-b]
	// Contoso linked to client-7
	// true
}

// The default client list and contact directory is separate from the store's roles: the
// engine uses it (through store.ContactsFor) only when it is given no PSA of its own.
func ExampleStore_Directory() {
	ctx := context.Background()
	s := memory.New(memory.Config{})
	defer s.Close()

	dir := s.Directory("msp-1")
	_ = dir.PutClient(ctx, tenantsync.Client{ID: "client-7", Name: "Contoso"})
	c, _ := dir.CreateContact(ctx, tenantsync.Contact{ID: "contact-1", ClientID: "client-7", FirstName: "Ada", Active: true})
	contacts := store.ContactsFor(dir)
	list, _ := contacts.ListContacts(ctx, "client-7")
	fmt.Println(c.ID, len(list))
	// Output:
	// contact-1 1
}
