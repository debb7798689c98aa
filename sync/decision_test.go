package sync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// reviewFor queues one review in t1: a new user whose alias is the address of two contacts.
func reviewFor(t *testing.T, h *harness) store.Review {
	t.Helper()
	c := h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "A", Email: "shared@contoso.example", Active: true})
	h.contacts.Add(tenantsync.Contact{ClientID: "client-1", FirstName: "B", Email: "shared@contoso.example", Active: true})
	u := person("t1-u900", "Dana", "Doe", "contoso.example")
	u.ProxyAddresses = append(u.ProxyAddresses, "smtp:"+c.Email)
	h.src.PutUser("t1", u)
	h.syncNow("t1")
	reviews, err := h.st.Account(testAccount).Reviews.List(t.Context(), store.ReviewFilter{TenantID: "t1"})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	return reviews[0]
}

// A decision says one thing: no contact ID doubles as the word "create".
func TestDecisionIsTyped(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 2)
	rv := reviewFor(t, h)
	for name, d := range map[string]Decision{
		"no action":           {},
		"unknown action":      {Action: "merge"},
		"link without id":     {Action: store.ResolveLink},
		"create with an id":   {Action: store.ResolveCreate, ContactID: "ct-1"},
		"ignore with an id":   {Action: store.ResolveIgnore, ContactID: "ct-1"},
		"contact id as words": {Action: store.ResolutionAction("ct-1")},
	} {
		_, err := h.eng.ResolveReview(t.Context(), "alice", rv.ID, d)
		require.ErrorIs(t, err, tenantsync.ErrInvalidInput, name)
		assert.Contains(t, tenantsync.HintOf(err), "Decision.", name)
	}
	// A PSA whose contact is literally called "create" can still be chosen.
	h.contacts.Add(tenantsync.Contact{ID: "create", ClientID: "client-1", FirstName: "Dana", LastName: "Doe", Active: true})
	out, err := h.eng.ResolveReview(t.Context(), "alice", rv.ID, Decision{Action: store.ResolveLink, ContactID: "create"})
	require.NoError(t, err)
	assert.Equal(t, store.Resolution{Action: store.ResolveLink, ContactID: "create", By: "alice", At: out.ResolvedAt}, out.Outcome())
	assert.Len(t, h.contacts.Sent(), 2, "nothing was created")
}

// A person's "create" whose answer the PSA lost must not make a second contact when the
// person clicks again, even for a PSA that keeps no identity.
func TestReviewCreateAfterALostAnswerDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 2)
	h.contacts.DropIdentity()
	rv := reviewFor(t, h)
	h.contacts.Fault(func(op string, c tenantsync.Contact) (error, bool) {
		if op == "create" {
			return tenantsync.Errorf(tenantsync.ErrUnavailable, "", "connection reset"), true
		}
		return nil, false
	})
	_, err := h.eng.ResolveReview(t.Context(), "alice", rv.ID, Decision{Action: store.ResolveCreate})
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	require.Len(t, h.contacts.Sent(), 2+1, "the PSA made the contact; its answer was lost")
	h.contacts.Fault(nil)
	h.clock.Advance(time.Hour) // past the pause the failed call started

	out, err := h.eng.ResolveReview(t.Context(), "alice", rv.ID, Decision{Action: store.ResolveCreate})
	require.NoError(t, err)
	assert.Len(t, h.contacts.Sent(), 2+1, "the second click takes the contact the first one made")
	merges, err := h.st.Account(testAccount).Merges.List(t.Context(), "t1")
	require.NoError(t, err)
	require.Len(t, merges, 1)
	made := h.contacts.Sent()[2]
	got, ok := h.contacts.Get(merges[0].ContactID)
	require.True(t, ok)
	assert.Equal(t, made.FirstName+" "+made.LastName, got.FirstName+" "+got.LastName)
	assert.True(t, out.Resolved)
	assert.Empty(t, h.state("t1").CreateIntents, "the intent is spent")
	h.syncNow("t1")
	assertNoDuplicates(t, h, 2+2+1)
}

// Pausing and resuming a tenant are state changes a person makes: audited under the actor.
func TestSetSyncingIsAudited(t *testing.T) {
	t.Parallel()
	h, _ := newLinked(t, 1)
	require.NoError(t, h.eng.SetSyncing(t.Context(), "alice", "t1", false))
	require.NoError(t, h.eng.SetSyncing(t.Context(), "bob", "t1", true))
	err := h.eng.SetSyncing(t.Context(), "carol", "no-such-tenant", false)
	require.ErrorIs(t, err, tenantsync.ErrNotFound)
	entries, err := h.st.Account(testAccount).Audit.List(t.Context(), store.AuditQuery{})
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		if e.Action == "pause_sync" || e.Action == "resume_sync" {
			got = append(got, e.Actor+" "+e.Action+" "+e.TenantID+" "+e.Outcome)
		}
	}
	assert.Equal(t, []string{"alice pause_sync t1 succeeded", "bob resume_sync t1 succeeded",
		"carol pause_sync no-such-tenant refused"}, got)
}
