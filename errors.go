package tenantsync

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// class is the type of the error classes: a constant, so no importer can reassign one and
// errors.Is compares them by value.
type class string

func (c class) Error() string { return string(c) }

// Error classes. Every error returned by a tenantsync package matches exactly one of these with
// errors.Is; Details reaches the status, service code, request ID, tenant and remediation hint.
// They are constants: comparing, wrapping and errors.Is work as with errors.New sentinels, and no
// importer can change one.
const (
	// ErrUnauthorized: the credentials were not accepted (bad or expired secret, wrong audience).
	ErrUnauthorized = class("unauthorized")
	// ErrForbidden: authenticated, but the caller's role or permission does not allow the call.
	ErrForbidden = class("forbidden")
	// ErrRoleMissing: a GDAP role (or CIPP permission) needed for this data is not granted.
	// It also matches ErrForbidden.
	ErrRoleMissing = class("role missing")
	// ErrLicenseRequired: the tenant lacks the licence the data needs (MFA detail needs Entra ID P1).
	// It also matches ErrForbidden.
	ErrLicenseRequired = class("licence required")
	// ErrTenantNotFound: the tenant is unknown to the service (stale tenant list, wrong ID).
	ErrTenantNotFound = class("tenant not found")
	// ErrConsentRequired: the application is not consented in the customer tenant, or consent was declined.
	ErrConsentRequired = class("consent required")
	// ErrAuthorizationRevoked: a stored refresh token or delegated grant was revoked or has expired.
	ErrAuthorizationRevoked = class("authorization revoked or expired")
	// ErrThrottled: the service refused the call for rate reasons and retries were exhausted.
	ErrThrottled = class("throttled")
	// ErrCursorExpired: a delta cursor is no longer accepted; the caller must list in full.
	ErrCursorExpired = class("cursor expired")
	// ErrNotFound: the object addressed does not exist.
	ErrNotFound = class("not found")
	// ErrUnavailable: the service failed (5xx, dropped connection, truncated body) and retries were exhausted.
	ErrUnavailable = class("service unavailable")
	// ErrInvalidInput: a request or configuration value is malformed; the message says which and how to fix it.
	ErrInvalidInput = class("invalid input")
	// ErrLimitExceeded: a bound was hit (body size, page count, retry budget, run time).
	ErrLimitExceeded = class("limit exceeded")
	// ErrHostNotAllowed: a link from a response pointed at a host the client was not configured for.
	ErrHostNotAllowed = class("host not allowed")
	// ErrIncomplete: a listing was cut short; the data is unknown, not empty.
	ErrIncomplete = class("listing incomplete")
	// ErrUnsupported: the source cannot provide this kind or action.
	ErrUnsupported = class("unsupported")

	// ErrCooldown: a sync-now arrived inside the per-tenant cooldown; Details().RetryAfter is the wait.
	ErrCooldown = class("sync requested too soon")
	// ErrAlreadyRunning: the tenant is being synced elsewhere (a lease is held).
	ErrAlreadyRunning = class("sync already running")
	// ErrAlreadyLinked: the tenant is already connected to a client.
	ErrAlreadyLinked = class("tenant already linked")
	// ErrClientNotFound: the PSA has no client with the given ID (linking a tenant to it would
	// create contacts no client owns).
	ErrClientNotFound = class("client not found")
	// ErrConflict: a concurrent writer changed the same state (cursor compare-and-set failed).
	ErrConflict = class("conflict")
	// ErrWritesDisabled: write actions are off for this account.
	ErrWritesDisabled = class("write actions disabled")
	// ErrPermissionDenied: the acting person lacks the permission the action needs.
	ErrPermissionDenied = class("permission denied")
	// ErrApprovalPending: the action waits for approval; it was not executed.
	ErrApprovalPending = class("approval pending")
	// ErrApprovalDenied: an approver refused the action.
	ErrApprovalDenied = class("approval denied")
)

// Classes returns every error class, for metrics and exhaustive tests. The slice is the
// caller's own.
func Classes() []error {
	return []error{
		ErrUnauthorized, ErrForbidden, ErrRoleMissing, ErrLicenseRequired, ErrTenantNotFound,
		ErrConsentRequired, ErrAuthorizationRevoked, ErrThrottled, ErrCursorExpired, ErrNotFound,
		ErrUnavailable, ErrInvalidInput, ErrLimitExceeded, ErrHostNotAllowed, ErrIncomplete,
		ErrUnsupported, ErrCooldown, ErrAlreadyRunning, ErrAlreadyLinked, ErrClientNotFound, ErrConflict,
		ErrWritesDisabled, ErrPermissionDenied, ErrApprovalPending, ErrApprovalDenied,
	}
}

// Error is the detail every tenantsync error carries. Service packages return it directly or
// embed it in their own error type, which then implements Detailer through the promoted Detail
// method. Embed it under an alias (type detail = tenantsync.Error): a field named Error would
// hide the promoted Error method.
type Error struct {
	Class      error         // one of the Err* classes above
	Service    string        // "cipp", "graph", "entra", "partnercenter", "store", "sync", ...
	Op         string        // the operation, e.g. "ListUsers"
	Tenant     string        // the customer tenant concerned, if any
	Status     int           // HTTP status, 0 when not an HTTP failure
	Code       string        // the service's own code: "Authorization_RequestDenied", "AADSTS65001", ...
	Message    string        // the service's message, redacted
	RequestID  string        // Graph request-id, Partner Center MS-RequestId, Entra trace ID
	Hint       string        // what the user should do, in their words
	RetryAfter time.Duration // how long to wait before retrying, when known
	Err        error         // the underlying cause, if any
}

// Detailer is implemented by service error types that embed Error.
type Detailer interface {
	error
	Detail() *Error
}

// Detail returns e itself, so *Error satisfies Detailer.
func (e *Error) Detail() *Error { return e }

func (e *Error) Error() string {
	var b strings.Builder
	if e.Service != "" {
		b.WriteString(e.Service)
		b.WriteString(": ")
	}
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Class != nil {
		b.WriteString(e.Class.Error())
	} else {
		b.WriteString("error")
	}
	var meta []string
	if e.Tenant != "" {
		meta = append(meta, "tenant "+e.Tenant)
	}
	if e.Status != 0 {
		meta = append(meta, "status "+strconv.Itoa(e.Status))
	}
	if e.Code != "" {
		meta = append(meta, "code "+e.Code)
	}
	if e.RequestID != "" {
		meta = append(meta, "request-id "+e.RequestID)
	}
	if e.RetryAfter > 0 {
		meta = append(meta, "retry after "+e.RetryAfter.Round(time.Second).String())
	}
	if len(meta) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(meta, ", "))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(". What to do: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is reports whether target is this error's class, or a broader class it implies
// (ErrRoleMissing and ErrLicenseRequired imply ErrForbidden).
func (e *Error) Is(target error) bool {
	if e.Class == nil {
		return false
	}
	if target == e.Class {
		return true
	}
	if target == ErrForbidden && (e.Class == ErrRoleMissing || e.Class == ErrLicenseRequired) {
		return true
	}
	return false
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Details finds the first *Error (or Detailer) in err's chain.
func Details(err error) (*Error, bool) {
	var d Detailer
	if errors.As(err, &d) {
		return d.Detail(), true
	}
	return nil, false
}

// ClassOf returns the class of err: the Class of its Details, or the first of Classes that
// errors.Is matches, or nil when err is nil or carries no class.
func ClassOf(err error) error {
	if err == nil {
		return nil
	}
	if d, ok := Details(err); ok && d.Class != nil {
		return d.Class
	}
	for _, k := range Classes() {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// ClassName is a short stable name for an error class, for metrics labels and stored status.
func ClassName(class error) string {
	if class == nil {
		return "unknown"
	}
	return strings.ReplaceAll(class.Error(), " ", "_")
}

// HintOf returns the remediation hint carried by err, or "".
func HintOf(err error) string {
	if d, ok := Details(err); ok {
		return d.Hint
	}
	return ""
}

// Errorf builds an *Error of the given class with a formatted message, for packages that have
// no service error of their own.
func Errorf(class error, hint, format string, args ...any) *Error {
	return &Error{Class: class, Message: fmt.Sprintf(format, args...), Hint: hint}
}
