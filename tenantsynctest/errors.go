package tenantsynctest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tenantsync/tenantsync"
)

// Service is the Service of every error the fake returns.
const Service = "psa"

// detail is embedded under an alias: a field named Error would hide the promoted Error method.
type detail = tenantsync.Error

// ValidationError is a refusal by a validation Rule: kind tenantsync.ErrInvalidInput, status
// 400, with the PSA's code and message, and the field it refused.
type ValidationError struct {
	detail
	Field string // the PSA's name of the refused field; "" when the record as a whole was refused
}

func psaErr(kind error, op Op, status int, msg, hint string) *tenantsync.Error {
	return &tenantsync.Error{Class: kind, Service: Service, Op: string(op), Status: status, Message: msg, Hint: hint}
}

func throttled(op Op, retryAfter time.Duration) error {
	e := psaErr(tenantsync.ErrThrottled, op, http.StatusTooManyRequests, "too many requests",
		"the PSA is limiting requests: wait as long as it asks (or back off when it does not say) and retry")
	e.RetryAfter = retryAfter
	return e
}

func quotaExceeded(op Op, calls int, per, retryAfter time.Duration) error {
	e := psaErr(tenantsync.ErrThrottled, op, http.StatusTooManyRequests,
		fmt.Sprintf("the quota of %d requests per %v is used up", calls, per),
		"the PSA's request quota is used up: wait until it frees a slot, and spread the PSA requests of a sync more thinly")
	e.RetryAfter = retryAfter
	return e
}

func serverError(op Op, status int) error {
	return psaErr(tenantsync.ErrUnavailable, op, status, http.StatusText(status),
		"the PSA failed; the next attempt usually succeeds, and if it persists check the PSA's status page")
}

func timedOut(op Op, after time.Duration) error {
	e := psaErr(tenantsync.ErrUnavailable, op, 0, fmt.Sprintf("no answer within %v", after),
		"the PSA did not answer in time; retry later")
	e.Err = context.DeadlineExceeded
	return e
}

func ended(op Op, err error) error {
	e := psaErr(tenantsync.ErrUnavailable, op, 0, "the call ended before the PSA answered: "+err.Error(),
		"the caller's context ended (canceled or past its deadline); nothing was changed")
	e.Err = err
	return e
}

func lostResponse(op Op) error {
	e := psaErr(tenantsync.ErrUnavailable, op, 0, "the connection dropped before the answer arrived",
		"the PSA may have carried out the request: list before repeating a create")
	e.Err = io.ErrUnexpectedEOF
	return e
}

func clientNotFound(op Op, clientID string) error {
	return psaErr(tenantsync.ErrClientNotFound, op, http.StatusNotFound, fmt.Sprintf("client %q does not exist", clientID),
		"the client is not in the PSA (merged or deleted?): link the tenant to an existing client")
}

func contactNotFound(op Op, clientID, contactID string) error {
	return psaErr(tenantsync.ErrNotFound, op, http.StatusNotFound,
		fmt.Sprintf("contact %q of client %q does not exist", contactID, clientID),
		"list the client's contacts again: the contact is not (or no longer) in that client")
}

func refused(op Op, r Rule) error {
	code := r.Code
	if code == "" {
		code = "Invalid"
	}
	msg := r.Message
	if r.Field != "" {
		msg = r.Field + ": " + msg
	}
	e := &ValidationError{detail: *psaErr(tenantsync.ErrInvalidInput, op, http.StatusBadRequest, msg,
		"the PSA refuses this contact's data: correct it in Microsoft 365 (or the PSA's rule), and the next sync tries again"),
		Field: r.Field}
	e.Code = code
	return e
}

func duplicateEmail(op Op, email, existingID string) error {
	e := psaErr(tenantsync.ErrConflict, op, http.StatusConflict,
		fmt.Sprintf("email %s is already used by contact %q of this client", email, existingID),
		"the client already has a contact with this email: link the user to that contact, or change one of the addresses")
	e.Code = "DuplicateEmail"
	return e
}
