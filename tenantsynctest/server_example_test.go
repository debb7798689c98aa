package tenantsynctest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// The fake CIPP-API, Entra ID, Graph and Partner Center, started in-process, with a CIPP
// client for them and the sync engine linking a tenant to a client of an in-memory PSA. In a
// test, tenantsynctest.Start(t, opts) starts them and stops them when the test ends.
func ExampleNewServer() {
	ctx := context.Background()
	fakes, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 1, Tenants: 3, Sizes: []int{12}})
	if err != nil {
		log.Fatal(err)
	}
	defer fakes.Close()

	client, err := cipp.NewClient(fakes.CIPPConfig())
	if err != nil {
		log.Fatal(err)
	}
	src, err := cipp.NewSource(client, cipp.SourceConfig{})
	if err != nil {
		log.Fatal(err)
	}
	psa := tenantsynctest.NewContacts(nil)
	psa.AddClient("17", "Contoso")
	eng, err := sync.New(sync.Config{
		Store: memory.New(memory.Config{}), Account: "msp-1",
		Sources: []tenantsync.Source{src}, Contacts: psa, AutoCreate: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close(ctx)

	if _, err := eng.Discover(ctx); err != nil {
		log.Fatal(err)
	}
	tenant := fakes.Tenants()[0]
	if err := eng.Link(ctx, "alice", tenant.ID, "17"); err != nil {
		log.Fatal(err)
	}
	_ = eng.Wait(ctx) // the initial sync runs in the background

	st, err := eng.Status(ctx, tenant.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("users in the tenant:", tenant.Users, "mirrored:", st.State.Counts[tenantsync.KindUsers])
	people := 0
	for _, u := range fakes.Users(tenant.ID) {
		if u.AccountEnabled && !u.IsGuest() && fakes.MailboxType(tenant.ID, u.ObjectID) == "UserMailbox" {
			people++
		}
	}
	fmt.Println("contacts:", len(psa.All()), "people:", people, "duplicates:", len(psa.Duplicates()))
	// Output:
	// users in the tenant: 12 mirrored: 12
	// contacts: 6 people: 6 duplicates: 0
}
