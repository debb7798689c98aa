package sync_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	tsync "github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// A PSA builds one engine per MSP account from its store, its sources and its contact
// directory, links a discovered tenant to a client, and reads the outcome. Here the source is
// the CIPP client against tenantsynctest's fake CIPP-API, and the PSA is tenantsynctest's
// in-memory contact directory; a PSA passes cipp.NewSource or graph.NewSource for its
// customers' real tenants, and its own tenantsync.Contacts.
func Example() {
	ctx := context.Background()
	fakes, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: 4, Tenants: 2, Sizes: []int{8}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fakes.Close()
	client, err := cipp.NewClient(fakes.CIPPConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := cipp.NewSource(client, cipp.SourceConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	contacts := tenantsynctest.NewContacts(nil)
	contacts.AddClient("client-1", "Contoso")

	eng, err := tsync.New(tsync.Config{
		Store:      memory.New(memory.Config{}),
		Account:    "msp-1",
		Sources:    []tenantsync.Source{src},
		Contacts:   contacts,
		AutoCreate: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close(ctx)

	if _, err := eng.Discover(ctx); err != nil {
		fmt.Println(err)
		return
	}
	tenant := fakes.Tenants()[0]
	if err := eng.Link(ctx, "alice", tenant.ID, "client-1"); err != nil {
		fmt.Println(err)
		return
	}
	_ = eng.Wait(ctx) // the initial sync runs in the background

	st, _ := eng.Status(ctx, tenant.ID)
	fmt.Println("users mirrored:", st.State.Counts[tenantsync.KindUsers])
	for _, c := range contacts.All() {
		fmt.Println("contact:", c.FirstName, c.LastName, c.Active)
	}

	_, err = eng.SyncNow(ctx, tenant.ID)
	var te *tenantsync.Error
	if errors.As(err, &te) && errors.Is(err, tenantsync.ErrCooldown) {
		fmt.Println("sync-now refused, retry after", te.RetryAfter.Round(1e9) > 0)
	}

	_, err = eng.Write(ctx, "alice", tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: tenant.ID,
		UserID: fakes.Users(tenant.ID)[0].ObjectID})
	fmt.Println(errors.Is(err, tenantsync.ErrWritesDisabled))
	// Output:
	// users mirrored: 8
	// contact: Oliver Ivanova true
	// contact: George Cohen true
	// contact: Kwame Hughes true
	// contact: Ana van der Berg true
	// contact: David Nguyễn true
	// contact: Ana Fernández true
	// sync-now refused, retry after true
	// true
}

// A sink receives events without ever slowing the engine; a slow sink loses events, counted
// by DroppedEvents.
func ExampleSinkFunc() {
	sink := tsync.SinkFunc(func(ctx context.Context, ev tsync.Event) {
		if ev.Type == tsync.EventSyncFailed {
			fmt.Printf("tenant %s failed (%s): %s\n", ev.TenantID, ev.ErrClass, ev.Hint)
		}
	})
	_ = tsync.Config{Sink: sink}
}

// BillingDefinition decides who is billable; the zero value counts enabled, licensed people.
func ExampleBillingDefinition() {
	def := tsync.BillingDefinition{}
	person := tenantsync.User{AccountEnabled: true, UserType: "Member", AssignedSKUs: []string{"e3"}}
	guest := tenantsync.User{AccountEnabled: true, UserType: "Guest", AssignedSKUs: []string{"e3"}}
	fmt.Println(def.Billable(person, tenantsync.MailboxUser))
	fmt.Println(def.Billable(person, tenantsync.MailboxShared))
	fmt.Println(def.Billable(guest, tenantsync.MailboxUser))
	// Output:
	// true
	// false
	// false
}

// A daemon shows the contacts the PSA could not write, one line each, and whether PSA calls
// are paused.
func ExampleTenantStatus_FailingContacts() {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	st := tsync.TenantStatus{
		ContactFailures: []store.ContactFailure{{
			ObjectID: "u-37", UPN: "pat@contoso.example", DisplayName: "Pat Doe", Op: store.ContactCreate,
			Kind: "invalid_input", Message: "MobilePhone: not a valid phone number", Attempts: 2,
			NextRetry: at.Add(time.Hour), Hint: "fix the number in Microsoft 365",
		}},
		ContactsPending: 20,
		PSAPausedUntil:  at.Add(time.Minute),
	}
	fmt.Printf("contacts not written: %d, pending: %d\n", st.FailingContacts(), st.ContactsPending)
	for _, f := range st.ContactFailures {
		fmt.Println(f)
	}
	if !st.PSAPausedUntil.IsZero() {
		fmt.Println("PSA calls paused until", st.PSAPausedUntil.Format(time.RFC3339))
	}
	// Output:
	// contacts not written: 1, pending: 20
	// pat@contoso.example (Pat Doe): create failed 2 times (invalid_input: MobilePhone: not a valid phone number); next try from 2026-03-02T10:00:00Z. What to do: fix the number in Microsoft 365
	// PSA calls paused until 2026-03-02T09:01:00Z
}
