package sync

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

func (f *FakeContacts) updateCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updates
}

// A PSA that keeps no identity must not get an update for every linked user at every full
// reconcile: with a budget smaller than the tenant, those updates would starve the creates of
// the users still without a contact, forever.
func TestIdentityAloneIsNoUpdateAndCreatesAreNotStarved(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Limits.PSACallsPerSync = 4 })
	h.contacts.DropIdentity()
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 10))
	h.discoverAndStoreLink("t1", "client-1")
	for range 6 {
		h.syncNow("t1")
	}
	assert.Len(t, h.contacts.All(), 10, "every person has a contact after 6 syncs of budget 4")
	assert.Zero(t, h.state("t1").ContactsPending)
	before := h.contacts.updateCount()
	h.eng.invalidateReconcile("t1")
	h.syncNow("t1")
	assert.Zero(t, h.contacts.updateCount()-before, "a full reconcile of an unchanged tenant writes nothing")
}

// A PSA that stores the identity in another case holds the same identity: no rewrite.
func TestIdentityInThePSAsCaseIsNoUpdate(t *testing.T) {
	h := newHarness(t)
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 5))
	h.discoverAndStoreLink("t1", "client-1")
	h.syncNow("t1")
	h.contacts.mu.Lock()
	for id, c := range h.contacts.contacts {
		c.TenantID, c.ObjectID = strings.ToUpper(c.TenantID), strings.ToUpper(c.ObjectID)
		h.contacts.contacts[id] = c
	}
	h.contacts.mu.Unlock()
	before := h.contacts.updateCount()
	h.eng.invalidateReconcile("t1")
	rep := h.syncNow("t1")
	assert.Zero(t, rep.Contacts.Updated)
	assert.Zero(t, h.contacts.updateCount()-before, "nothing changed: no PSA write is due")
	require.Len(t, h.links("t1"), 5)
}

// One record the PSA refuses with 403 while it accepts the others is that record's failure:
// counted, moved last, and left for a person; the account is not paused for it.
func TestForbiddenRecordFailsAloneAndReachesAPerson(t *testing.T) {
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 10)
	bad := ft.Users[3].ObjectID
	h.src.AddTenant(ft)
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if op == "create" && c.ObjectID == bad {
			return &tenantsync.Error{Class: tenantsync.ErrForbidden, Service: "psa", Op: "CreateContact", Status: 403,
				Message: "you do not have permission to add a contact with these field values"}, false
		}
		return nil, false
	})
	h.discoverAndStoreLink("t1", "client-1")
	for range DefaultContactAttempts + 1 {
		h.clock.Advance(DefaultContactRetryMaxBackoff)
		h.syncNow("t1")
	}
	assert.Len(t, h.links("t1"), 9, "the 9 other people are linked")
	require.Contains(t, h.state("t1").ContactFailures, bad, "the refused user is reported")
	f := h.state("t1").ContactFailures[bad]
	assert.True(t, f.NeedsPerson, "a record refused every time reaches a person")
	assert.Zero(t, h.eng.PSAStatus().Pauses, "one record's refusal pauses no one")
}

// A 429 pauses the account, but the user whose write got it goes after the others next time,
// with no attempt counted.
func TestThrottledUserGoesLastNextRun(t *testing.T) {
	h := newHarness(t)
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 3)
	first := ft.Users[0].ObjectID
	h.src.AddTenant(ft)
	throttle := true
	var order []string
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if op != "create" {
			return nil, false
		}
		order = append(order, c.ObjectID)
		if throttle {
			throttle = false
			return &tenantsync.Error{Class: tenantsync.ErrThrottled, Service: "psa", Status: 429, Message: "quota"}, false
		}
		return nil, false
	})
	h.discoverAndStoreLink("t1", "client-1")
	h.syncNow("t1")
	require.Equal(t, []string{first}, order)
	f, ok := h.state("t1").ContactFailures[first]
	require.True(t, ok, "the throttled user is remembered")
	assert.Zero(t, f.Attempts, "a quota is not the record's fault")
	h.clock.Advance(DefaultPSAMaxBackoff)
	h.syncNow("t1")
	require.Len(t, order, 4)
	assert.Equal(t, first, order[3], "the throttled user goes last")
	assert.Len(t, h.links("t1"), 3)
	assert.Empty(t, h.state("t1").ContactFailures)
}

func TestFailureMessageIsTruncated(t *testing.T) {
	long := strings.Repeat("é", 600)
	got := failureMessage(&tenantsync.Error{Class: tenantsync.ErrInvalidInput, Message: long})
	assert.LessOrEqual(t, len(got), maxFailureMessage)
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.True(t, utf8.ValidString(got))
	assert.Equal(t, "short", failureMessage(&tenantsync.Error{Class: tenantsync.ErrInvalidInput, Message: "short"}))
}
