package sync_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	tsync "github.com/tenantsync/tenantsync/sync"
)

// A PSA builds one engine per MSP account from its store, its sources and its contact
// directory, links a discovered tenant to a client, and reads the outcome.
func Example() {
	ctx := context.Background()
	src := tsync.NewFakeSource("cipp") // in a PSA: cipp.NewSource(client) or graph.NewSource(client)
	src.AddTenant(&tsync.FakeTenant{
		Tenant: tenantsync.Tenant{ID: "tenant-1", DisplayName: "Contoso Ltd", DefaultDomain: "contoso.example"},
		Users: []tenantsync.User{
			{ObjectID: "u1", GivenName: "Ada", Surname: "Lovelace", Mail: "ada@contoso.example", AccountEnabled: true, UserType: "Member", AssignedSKUs: []string{"e3"}},
			{ObjectID: "u2", DisplayName: "Info", Mail: "info@contoso.example", AccountEnabled: true, UserType: "Member"},
		},
		Mailboxes: []tenantsync.Mailbox{
			{ObjectID: "u1", Type: tenantsync.MailboxUser},
			{ObjectID: "u2", Type: tenantsync.MailboxShared},
		},
	})
	contacts := tsync.NewFakeContacts() // in a PSA: its own tenantsync.Contacts

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
	if err := eng.Link(ctx, "alice", "tenant-1", "client-1"); err != nil {
		fmt.Println(err)
		return
	}
	_ = eng.Wait(ctx) // the initial sync runs in the background

	st, _ := eng.Status(ctx, "tenant-1")
	fmt.Println("users mirrored:", st.State.Counts[tenantsync.KindUsers])
	for _, c := range contacts.All() {
		fmt.Println("contact:", c.FirstName, c.LastName, c.Email)
	}

	_, err = eng.SyncNow(ctx, "tenant-1")
	var te *tenantsync.Error
	if errors.As(err, &te) && errors.Is(err, tenantsync.ErrCooldown) {
		fmt.Println("sync-now refused, retry after", te.RetryAfter.Round(1e9) > 0)
	}

	_, err = eng.Write(ctx, "alice", tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: "tenant-1", UserID: "u1"})
	fmt.Println(errors.Is(err, tenantsync.ErrWritesDisabled))
	// Output:
	// users mirrored: 2
	// contact: Ada Lovelace ada@contoso.example
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
