package tenantsync_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// detail is an alias so the embedded field is not named Error, which would hide the promoted
// Error method.
type detail = tenantsync.Error

// serviceError is how a service package carries the shared detail inside its own type.
type serviceError struct {
	detail
	Shape string
}

func TestErrorMessageCarriesEverything(t *testing.T) {
	t.Parallel()
	e := &tenantsync.Error{
		Class: tenantsync.ErrRoleMissing, Service: "graph", Op: "ListUsers", Tenant: "contoso.com",
		Status: 403, Code: "Authorization_RequestDenied", RequestID: "req-1", RetryAfter: 1500 * time.Millisecond,
		Message: "Insufficient privileges to complete the operation.", Hint: "add the Directory Readers role to the GDAP relationship",
	}
	assert.Equal(t, "graph: ListUsers: role missing (tenant contoso.com, status 403, code Authorization_RequestDenied, request-id req-1, retry after 2s): "+
		"Insufficient privileges to complete the operation.. What to do: add the Directory Readers role to the GDAP relationship", e.Error())

	bare := &tenantsync.Error{Err: errors.New("boom")}
	assert.Equal(t, "error: boom", bare.Error())
}

func TestKindsMatchWithErrorsIs(t *testing.T) {
	t.Parallel()
	for _, kind := range tenantsync.Classes() {
		err := fmt.Errorf("wrapped: %w", &tenantsync.Error{Class: kind})
		assert.ErrorIs(t, err, kind)
		assert.Equal(t, kind, tenantsync.ClassOf(err))
		for _, other := range tenantsync.Classes() {
			if other == kind || (other == tenantsync.ErrForbidden && (kind == tenantsync.ErrRoleMissing || kind == tenantsync.ErrLicenseRequired)) {
				continue
			}
			assert.NotErrorIs(t, err, other, "%v is not %v", kind, other)
		}
	}
	assert.ErrorIs(t, &tenantsync.Error{Class: tenantsync.ErrLicenseRequired}, tenantsync.ErrForbidden, "a missing licence is a kind of forbidden")
	assert.False(t, (&tenantsync.Error{}).Is(tenantsync.ErrForbidden), "no kind matches nothing")
}

func TestDetailsReachEmbeddedErrors(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset")
	err := fmt.Errorf("sync: %w", &serviceError{detail: detail{Class: tenantsync.ErrUnavailable, Hint: "retry later", Err: cause}, Shape: "text"})
	d, ok := tenantsync.Details(err)
	require.True(t, ok)
	assert.Equal(t, "retry later", d.Hint)
	assert.Equal(t, "retry later", tenantsync.HintOf(err))
	assert.ErrorIs(t, err, cause, "the cause stays reachable")
	assert.Equal(t, tenantsync.ErrUnavailable, tenantsync.ClassOf(err))

	_, ok = tenantsync.Details(errors.New("plain"))
	assert.False(t, ok)
	assert.Empty(t, tenantsync.HintOf(errors.New("plain")))
	assert.Nil(t, tenantsync.ClassOf(nil))
	assert.Nil(t, tenantsync.ClassOf(errors.New("plain")))
	assert.Equal(t, tenantsync.ErrCooldown, tenantsync.ClassOf(fmt.Errorf("x: %w", tenantsync.ErrCooldown)), "a bare sentinel is its own kind")
}

func TestClassName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "role_missing", tenantsync.ClassName(tenantsync.ErrRoleMissing))
	assert.Equal(t, "client_not_found", tenantsync.ClassName(tenantsync.ErrClientNotFound))
	assert.Contains(t, tenantsync.Classes(), tenantsync.ErrClientNotFound, "every kind is listed")
	assert.Equal(t, "unknown", tenantsync.ClassName(nil))
	seen := map[string]bool{}
	for _, k := range tenantsync.Classes() {
		n := tenantsync.ClassName(k)
		assert.False(t, seen[n], "kind names are unique: %s", n)
		seen[n] = true
	}
}

func TestErrorf(t *testing.T) {
	t.Parallel()
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, "set TenantID", "no tenant for %s", "write")
	assert.Equal(t, "invalid input: no tenant for write. What to do: set TenantID", e.Error())
}
