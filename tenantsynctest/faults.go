package tenantsynctest

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantsync/tenantsync"
)

// Op names a method of tenantsync.Contacts, for Calls and for scoping a Fault. Its value is the
// method's name, which is also the Op of the errors the fake returns.
type Op string

// The operations of tenantsync.Contacts.
const (
	OpListContacts     Op = "ListContacts"
	OpCreateContact    Op = "CreateContact"
	OpUpdateContact    Op = "UpdateContact"
	OpSetContactActive Op = "SetContactActive"
)

// Ops lists every operation.
func Ops() []Op { return []Op{OpListContacts, OpCreateContact, OpUpdateContact, OpSetContactActive} }

// Effect is what a Fault does to a call it catches: Throttle, ServerError, Timeout or
// LostResponse.
type Effect interface{ effect() }

// Throttle answers 429 Too Many Requests: an error of kind tenantsync.ErrThrottled, whose
// RetryAfter is the Retry-After the PSA sent. The directory is not touched.
type Throttle struct {
	// RetryAfter is the PSA's Retry-After; zero sends none, as ConnectWise and HaloPSA
	// sometimes do.
	RetryAfter time.Duration
}

// ServerError answers a 5xx: an error of kind tenantsync.ErrUnavailable. The directory is
// not touched.
type ServerError struct {
	// Status is the HTTP status, 500 to 599; zero means 503 Service Unavailable.
	Status int
}

// Timeout makes the call hang. The directory is not touched.
type Timeout struct {
	// After is how long the call hangs (on the Clock) before failing as a client-side timeout
	// would: kind tenantsync.ErrUnavailable, wrapping context.DeadlineExceeded. Zero hangs
	// until the caller's context ends, and the call fails with that context's error (wrapped
	// the same way).
	After time.Duration
}

// LostResponse carries out the call, then returns an error of kind tenantsync.ErrUnavailable as
// if the connection dropped before the answer arrived. On CreateContact, this is how a crash
// between the PSA's create and the caller's commit looks: the contact exists, the caller does
// not know it.
type LostResponse struct{}

func (Throttle) effect()     {}
func (ServerError) effect()  {}
func (Timeout) effect()      {}
func (LostResponse) effect() {}

// Fault is one injected failure. It catches the calls it matches while it lasts, each call
// caught by the first matching fault in the order they were injected. A fault lasts For
// (measured on the Clock from Inject), or for Times calls, whichever ends first, or, with
// neither set, until ClearFaults.
type Fault struct {
	Effect Effect
	// Ops are the operations it catches; none means every operation.
	Ops []Op
	// Match, when set, narrows the fault to calls about a contact it accepts: the contact
	// passed to CreateContact or UpdateContact, the stored contact for SetContactActive.
	// ListContacts, which is about no contact, is never caught by a fault with Match. It is
	// called with the fake's lock held and must not call the fake.
	Match func(tenantsync.Contact) bool
	// For is how long the fault lasts; zero for no time limit.
	For time.Duration
	// Times is how many calls it catches; zero for no limit.
	Times int
}

func (f Fault) validate() error {
	invalid := func(format string, args ...any) error {
		e := tenantsync.Errorf(tenantsync.ErrInvalidInput, "fix the Fault passed to Inject", format, args...)
		e.Service, e.Op = "tenantsynctest", "Inject"
		return e
	}
	switch e := f.Effect.(type) {
	case nil:
		return invalid("the fault has no Effect")
	case Throttle:
		if e.RetryAfter < 0 {
			return invalid("Throttle.RetryAfter %v is negative", e.RetryAfter)
		}
	case ServerError:
		if e.Status != 0 && (e.Status < 500 || e.Status > 599) {
			return invalid("ServerError.Status %d is not a 5xx status", e.Status)
		}
	case Timeout:
		if e.After < 0 {
			return invalid("Timeout.After %v is negative", e.After)
		}
	}
	for _, op := range f.Ops {
		if !slices.Contains(Ops(), op) {
			return invalid("unknown operation %q; use the Op constants", op)
		}
	}
	if f.For < 0 || f.Times < 0 {
		return invalid("For (%v) and Times (%d) must not be negative", f.For, f.Times)
	}
	return nil
}

// activeFault is an injected fault with its end: a time, a number of calls left, or both.
type activeFault struct {
	Fault
	until time.Time // zero: no time limit
	left  int       // calls left when Times > 0
}

func (f *activeFault) expired(now time.Time) bool {
	return (!f.until.IsZero() && !now.Before(f.until)) || (f.Times > 0 && f.left <= 0)
}

func (f *activeFault) catches(op Op, about func() (tenantsync.Contact, bool)) bool {
	if len(f.Ops) > 0 && !slices.Contains(f.Ops, op) {
		return false
	}
	if f.Match != nil {
		c, ok := about()
		return ok && f.Match(c)
	}
	return true
}

// Identity says what the fake does with the (TenantID, ObjectID) the caller sends on a create.
type Identity int

// What a PSA can do with a contact's identity.
const (
	// IdentityDeduplicated stores the identity, returns it from ListContacts, and answers a
	// create for an identity the client already has a contact for with that contact, as
	// tenantsync.Contacts.CreateContact asks implementations to. The default.
	IdentityDeduplicated Identity = iota
	// IdentityStored stores and returns the identity, but every create makes a new contact.
	IdentityStored
	// IdentityIgnored models a PSA with nowhere to keep it: contacts come back without
	// TenantID and ObjectID and every create makes a new contact. The caller's own defence
	// against duplicates is all there is.
	IdentityIgnored
)

func (i Identity) String() string {
	switch i {
	case IdentityDeduplicated:
		return "deduplicated"
	case IdentityStored:
		return "stored"
	case IdentityIgnored:
		return "ignored"
	}
	return fmt.Sprintf("Identity(%d)", int(i))
}

// Field is a contact field a validation rule checks, named as PSAs name it in their errors.
type Field string

// The fields of a contact that rules can check.
const (
	FieldFirstName Field = "firstName"
	FieldLastName  Field = "lastName"
	FieldEmail     Field = "email"
	FieldJobTitle  Field = "title"
	FieldPhone     Field = "phone"
	FieldMobile    Field = "mobile"
)

func (f Field) value(c tenantsync.Contact) string {
	switch f {
	case FieldFirstName:
		return c.FirstName
	case FieldLastName:
		return c.LastName
	case FieldEmail:
		return c.Email
	case FieldJobTitle:
		return c.JobTitle
	case FieldPhone:
		return c.Phone
	case FieldMobile:
		return c.Mobile
	}
	return ""
}

// Rule is a PSA validation rule: a create or update of a contact it refuses fails with a
// *ValidationError (kind tenantsync.ErrInvalidInput) carrying Field, Code and Message, and
// changes nothing.
type Rule struct {
	Field   string // the PSA's name of the field refused; "" for the record as a whole
	Code    string // the PSA's code for the refusal, e.g. "MaxLength"; "Invalid" when empty
	Message string // the PSA's message; the error's Message is "Field: Message"
	// Refuses reports whether the rule refuses c. It is called with the fake's lock held and
	// must not call the fake.
	Refuses func(c tenantsync.Contact) bool
}

// MaxLength refuses a contact whose field f is longer than n characters, as every PSA does for
// names (ConnectWise: 30 characters for a first name; Autotask: 50 for a last name).
func MaxLength(f Field, n int) Rule {
	return Rule{Field: string(f), Code: "MaxLength", Message: fmt.Sprintf("cannot be longer than %d characters", n),
		Refuses: func(c tenantsync.Contact) bool { return utf8.RuneCountInString(f.value(c)) > n }}
}

// Required refuses a contact whose field f is empty or blank.
func Required(f Field) Rule {
	return Rule{Field: string(f), Code: "Required", Message: "a value is required",
		Refuses: func(c tenantsync.Contact) bool { return strings.TrimSpace(f.value(c)) == "" }}
}

// RefuseEmails refuses contacts whose email is one of emails (compared as NormalizeEmail does):
// a PSA's check that rejects particular addresses.
func RefuseEmails(emails ...string) Rule {
	set := map[string]bool{}
	for _, e := range emails {
		set[normEmail(e)] = true
	}
	return Rule{Field: string(FieldEmail), Code: "InvalidEmail", Message: "this address is not accepted",
		Refuses: func(c tenantsync.Contact) bool { return set[normEmail(c.Email)] }}
}

// RefuseObjectIDs refuses contacts created or updated for the users with these object IDs,
// whatever the reason would be in a real PSA: a way to make chosen users fail.
func RefuseObjectIDs(objectIDs ...string) Rule {
	set := map[string]bool{}
	for _, id := range objectIDs {
		set[strings.ToLower(strings.TrimSpace(id))] = true
	}
	return Rule{Code: "Invalid", Message: "the contact is not valid",
		Refuses: func(c tenantsync.Contact) bool { return set[strings.ToLower(strings.TrimSpace(c.ObjectID))] }}
}

// NormalizeEmail is how the fake compares email addresses, for its duplicate-email rule and
// Duplicates: trimmed and lower-cased, as PSAs compare them.
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
