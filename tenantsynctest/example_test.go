package tenantsynctest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// A PSA that throttles for a minute, then loses the answer to a create it carried out, then
// refuses a last name too long. In a real test the calls come from the code under test, such
// as the sync engine given psa as its Contacts.
func Example() {
	ctx := context.Background()
	clock := tenantsynctest.NewManualClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	psa := tenantsynctest.NewContacts(clock)
	psa.AddClient("17", "Contoso")
	psa.AddRule(tenantsynctest.MaxLength(tenantsynctest.FieldLastName, 50))
	pat := tenantsync.Contact{ClientID: "17", FirstName: "Pat", LastName: "Lee", Active: true,
		TenantID: "6e2b1f0c-8d4a-4c1e-9f3a-2b7d5e8c1a90", ObjectID: "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"}

	_ = psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.Throttle{RetryAfter: 30 * time.Second}, For: time.Minute})
	_, err := psa.CreateContact(ctx, pat)
	d, _ := tenantsync.Details(err)
	fmt.Println("throttled:", errors.Is(err, tenantsync.ErrThrottled), "retry after", d.RetryAfter)

	clock.Advance(time.Minute)
	_ = psa.Inject(tenantsynctest.Fault{Effect: tenantsynctest.LostResponse{}, Ops: []tenantsynctest.Op{tenantsynctest.OpCreateContact}, Times: 1})
	_, err = psa.CreateContact(ctx, pat)
	fmt.Println("answer lost:", errors.Is(err, tenantsync.ErrUnavailable), "contacts:", len(psa.All()))

	// Pat has no email, but the PSA knows the user the contact was made for: repeating the
	// create returns it.
	c, err := psa.CreateContact(ctx, pat)
	fmt.Println("repeated:", c.ID, err, "contacts:", len(psa.All()), "duplicates:", len(psa.Duplicates()))

	long := pat
	long.LastName, long.ObjectID = strings.Repeat("x", 51), "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d"
	_, err = psa.CreateContact(ctx, long)
	var refused *tenantsynctest.ValidationError
	if errors.As(err, &refused) {
		fmt.Println("refused:", errors.Is(err, tenantsync.ErrInvalidInput), refused.Field, refused.Message)
	}
	fmt.Println("create calls:", psa.Calls()[tenantsynctest.OpCreateContact])
	// Output:
	// throttled: true retry after 30s
	// answer lost: true contacts: 1
	// repeated: 1 <nil> contacts: 1 duplicates: 0
	// refused: true lastName lastName: cannot be longer than 50 characters
	// create calls: 4
}

// Autotask allows 10,000 requests per hour per database; a test can use a smaller quota and
// let the hour pass on a manual clock.
func ExampleContacts_SetQuota() {
	ctx := context.Background()
	clock := tenantsynctest.NewManualClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	psa := tenantsynctest.NewContacts(clock)
	psa.AddClient("17", "Contoso")
	psa.SetQuota(2, time.Hour)

	for range 3 {
		_, err := psa.ListContacts(ctx, "17")
		if d, ok := tenantsync.Details(err); ok {
			fmt.Println(tenantsync.ClassName(d.Class), d.Status, "retry after", d.RetryAfter)
			clock.Advance(d.RetryAfter)
			continue
		}
		fmt.Println("listed at", clock.Now().Format("15:04"))
		clock.Advance(20 * time.Minute)
	}
	_, err := psa.ListContacts(ctx, "17")
	fmt.Println("after waiting:", err)
	// Output:
	// listed at 09:00
	// listed at 09:20
	// throttled 429 retry after 20m0s
	// after waiting: <nil>
}
