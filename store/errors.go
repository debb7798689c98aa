package store

import (
	"fmt"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Service is the Service field of every error the stores return.
const Service = "store"

// Errorf builds a store error of the given kind for operation op.
func Errorf(kind error, op, tenant, hint, format string, args ...any) *tenantsync.Error {
	return &tenantsync.Error{Class: kind, Service: Service, Op: op, Tenant: tenant, Hint: hint, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds an ErrNotFound for op saying what was missing.
func NotFound(op, tenant, format string, args ...any) *tenantsync.Error {
	return Errorf(tenantsync.ErrNotFound, op, tenant, "", format, args...)
}

// Invalid builds an ErrInvalidInput for op with a hint.
func Invalid(op, hint, format string, args ...any) *tenantsync.Error {
	return Errorf(tenantsync.ErrInvalidInput, op, "", hint, format, args...)
}

// Internal wraps a storage failure (I/O, driver, corrupt row) of op. Its kind is ErrUnavailable:
// the caller may retry, and nothing it asked for was stored.
func Internal(op, tenant string, err error) *tenantsync.Error {
	return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: Service, Op: op, Tenant: tenant,
		Hint: "check that the database is reachable and writable, then retry", Err: err}
}

// CursorConflict builds the ErrConflict of a failed cursor compare-and-set. Cursors are not
// quoted: a delta link may carry a token the service treats as sensitive.
func CursorConflict(op, tenant string, kind tenantsync.Kind) *tenantsync.Error {
	return Errorf(tenantsync.ErrConflict, op, tenant,
		"another sync of this tenant committed first; read the cursors again and refetch",
		"the %s cursor changed since it was read", kind)
}

// detail is embedded in the typed errors below so they carry (and promote the methods of) a
// *tenantsync.Error: Error, Is, Unwrap and Detail.
type detail = tenantsync.Error

// LeaseHeldError says a tenant's lease belongs to another holder. It matches
// tenantsync.ErrAlreadyRunning.
type LeaseHeldError struct {
	detail
	Holder string    // who holds the lease
	Until  time.Time // when it expires unless renewed
}

// NewLeaseHeldError builds the error for op on tenant, held by holder until until. An empty
// holder means nobody holds the lease (it expired and was released), which a commit that
// names a holder also refuses.
func NewLeaseHeldError(op, tenant, holder string, until time.Time) *LeaseHeldError {
	msg := fmt.Sprintf("lease held by %q until %s", holder, until.UTC().Format(time.RFC3339))
	hint := "wait for the running sync to finish; a holder that died loses its lease when it expires"
	if holder == "" {
		msg, hint = "the tenant's lease is not held", "acquire the tenant's lease again and redo the sync"
	}
	return &LeaseHeldError{
		detail: tenantsync.Error{Class: tenantsync.ErrAlreadyRunning, Service: Service, Op: op, Tenant: tenant, Message: msg, Hint: hint},
		Holder: holder,
		Until:  until,
	}
}

// AlreadyLinkedError says a tenant is linked to another client. It matches
// tenantsync.ErrAlreadyLinked.
type AlreadyLinkedError struct {
	detail
	ClientID string // the client the tenant is linked to
}

// NewAlreadyLinkedError builds the error for op on tenant, linked to clientID.
func NewAlreadyLinkedError(op, tenant, clientID string) *AlreadyLinkedError {
	return &AlreadyLinkedError{
		detail: tenantsync.Error{Class: tenantsync.ErrAlreadyLinked, Service: Service, Op: op, Tenant: tenant,
			Message: fmt.Sprintf("tenant is linked to client %q", clientID),
			Hint:    "unlink the tenant from that client first, or link it to that client"},
		ClientID: clientID,
	}
}

// ContactTakenError says a contact is already linked to another user. It matches
// tenantsync.ErrConflict.
type ContactTakenError struct {
	detail
	ContactID string
	TenantID  string // the user the contact is linked to
	ObjectID  string
}

// NewContactTakenError builds the error for op: contactID is linked to (tenantID, objectID).
func NewContactTakenError(op, contactID, tenantID, objectID string) *ContactTakenError {
	return &ContactTakenError{
		detail: tenantsync.Error{Class: tenantsync.ErrConflict, Service: Service, Op: op, Tenant: tenantID,
			Message: fmt.Sprintf("contact %q is linked to user %s of tenant %s", contactID, objectID, tenantID),
			Hint:    "a contact belongs to one user: remove its other link first or pick another contact"},
		ContactID: contactID,
		TenantID:  tenantID,
		ObjectID:  objectID,
	}
}

// CheckAccount validates an account ID for op.
func CheckAccount(op, account string) error {
	if account == "" {
		return Invalid(op, "pass the ID of the account (MSP) the call acts for", "no account")
	}
	return nil
}

// CheckTenant validates an account and tenant ID for op.
func CheckTenant(op, account, tenantID string) error {
	if err := CheckAccount(op, account); err != nil {
		return err
	}
	if tenantID == "" {
		return Invalid(op, "pass the tenant ID", "no tenant")
	}
	return nil
}
