package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// lookupContacts is a PSA directory that knows its clients, as a PSA's Contacts
// implementation should (tenantsync.ClientLookup).
type lookupContacts struct {
	*FakeContacts
	clients map[string]bool
	err     error // returned by every lookup when set
}

func (l lookupContacts) GetClient(_ context.Context, clientID string) (tenantsync.Client, error) {
	switch {
	case l.err != nil:
		return tenantsync.Client{}, l.err
	case !l.clients[clientID]:
		return tenantsync.Client{}, tenantsync.Errorf(tenantsync.ErrNotFound, "", "no client %s", clientID)
	}
	return tenantsync.Client{ID: clientID}, nil
}

var _ tenantsync.ClientLookup = lookupContacts{}

// auditEntries returns the audit entries of an action.
func (h *harness) auditEntries(action string) []tenantsync.AuditEntry {
	h.t.Helper()
	all, err := h.st.Account(testAccount).Audit.List(h.t.Context(), store.AuditQuery{})
	require.NoError(h.t, err)
	return slices.DeleteFunc(all, func(e tenantsync.AuditEntry) bool { return e.Action != action })
}

// directories are the two ways the engine learns which clients exist: the store's default
// directory (its client list) and a PSA's own directory implementing tenantsync.ClientLookup.
// Each returns a harness whose known client is "client-1".
func directories() []struct {
	name string
	new  func(t *testing.T) *harness
} {
	return []struct {
		name string
		new  func(t *testing.T) *harness
	}{
		{"store default directory", func(t *testing.T) *harness {
			h := newHarness(t, func(c *Config) { c.Contacts = nil })
			require.NoError(t, dirOf(h.st, testAccount).PutClient(t.Context(), tenantsync.Client{ID: "client-1", Name: "Contoso"}))
			return h
		}},
		{"PSA directory with a client lookup", func(t *testing.T) *harness {
			fc := NewFakeContacts()
			h := newHarness(t, func(c *Config) {
				c.Contacts = lookupContacts{FakeContacts: fc, clients: map[string]bool{"client-1": true}}
			})
			h.contacts = fc
			return h
		}},
	}
}

func TestLinkRefusesAClientThePSALacks(t *testing.T) {
	t.Parallel()
	for _, d := range directories() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := d.new(t)
			ctx := t.Context()
			h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 3))
			h.src.AddTenant(fakeTenant("t2", "Contoso Shop", "contoso-shop.example", 2))
			_, err := h.eng.Discover(ctx)
			require.NoError(t, err)

			err = h.eng.Link(ctx, "alice", "t1", "client-ghost")
			require.ErrorIs(t, err, tenantsync.ErrClientNotFound)
			assert.Contains(t, tenantsync.HintOf(err), "create the client in the PSA")
			assert.Equal(t, "client_not_found", tenantsync.ClassName(tenantsync.ClassOf(err)))
			require.NoError(t, h.eng.Wait(ctx))
			rec, err := h.st.Account(testAccount).Tenants.Get(ctx, "t1")
			require.NoError(t, err)
			assert.False(t, rec.Linked(), "the tenant stays unlinked")
			assert.Empty(t, h.users("t1"), "no sync started")
			ghost, err := h.eng.contacts.ListContacts(ctx, "client-ghost")
			require.NoError(t, err)
			assert.Empty(t, ghost, "no contact belongs to the missing client")
			refused := h.auditEntries("link")
			require.Len(t, refused, 1)
			assert.Equal(t, "refused", refused[0].Outcome)
			assert.Equal(t, "alice", refused[0].Actor)
			assert.Equal(t, "client-ghost", refused[0].Target)

			// Bulk linking refuses the missing client pair by pair.
			res := h.eng.LinkMany(ctx, "alice", []LinkRequest{{TenantID: "t2", ClientID: "client-ghost"}, {TenantID: "t1", ClientID: "client-1"}})
			require.Len(t, res, 2)
			assert.ErrorIs(t, res[0].Err, tenantsync.ErrClientNotFound)
			assert.NoError(t, res[1].Err)
			require.NoError(t, h.eng.Wait(ctx))
			assert.Len(t, h.users("t1"), 6, "the known client's tenant syncs")

			// A suggestion for a client the caller knows but the PSA does not is refused too.
			ghostClients := []tenantsync.Client{{ID: "client-ghost", Name: "Contoso Shop", Domains: []string{"contoso-shop.example"}}}
			sugs, err := h.eng.Suggestions(ctx, ghostClients)
			require.NoError(t, err)
			require.Len(t, sugs, 1)
			require.True(t, sugs[0].AutoAccept, "the suggestion is one LinkSuggested links")
			res, err = h.eng.LinkSuggested(ctx, "alice", ghostClients)
			require.NoError(t, err)
			require.Len(t, res, 1)
			assert.Equal(t, "t2", res[0].TenantID)
			assert.ErrorIs(t, res[0].Err, tenantsync.ErrClientNotFound)
			rec, err = h.st.Account(testAccount).Tenants.Get(ctx, "t2")
			require.NoError(t, err)
			assert.False(t, rec.Linked())
		})
	}
}

// A directory that cannot answer does not let a link through on a guess.
func TestLinkWhenTheClientLookupFails(t *testing.T) {
	t.Parallel()
	down := tenantsync.Errorf(tenantsync.ErrUnavailable, "", "PSA API returned 503")
	h := newHarness(t, func(c *Config) {
		c.Contacts = lookupContacts{FakeContacts: NewFakeContacts(), err: down}
	})
	ctx := t.Context()
	h.src.AddTenant(fakeTenant("t1", "Contoso Ltd", "contoso.example", 1))
	_, err := h.eng.Discover(ctx)
	require.NoError(t, err)
	err = h.eng.Link(ctx, "alice", "t1", "client-1")
	require.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Contains(t, tenantsync.HintOf(err), "client list could not be read")
	rec, err := h.st.Account(testAccount).Tenants.Get(ctx, "t1")
	require.NoError(t, err)
	assert.False(t, rec.Linked())
	require.ErrorIs(t, h.eng.MarkActive(ctx, "client-1", h.clock.Now().Add(time.Hour)), tenantsync.ErrUnavailable)
}

func TestMarkActiveRefusesUnknownClientsAndOddTimes(t *testing.T) {
	t.Parallel()
	for _, d := range directories() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := d.new(t)
			ctx := t.Context()
			now := h.clock.Now()
			cases := []struct {
				name   string
				client string
				until  time.Time
				want   error
			}{
				{"unknown client", "client-ghost", now.Add(time.Hour), tenantsync.ErrClientNotFound},
				{"unknown client, ending", "client-ghost", time.Time{}, tenantsync.ErrClientNotFound},
				{"no client", "", now.Add(time.Hour), tenantsync.ErrInvalidInput},
				{"in the past", "client-1", now.Add(-time.Minute), tenantsync.ErrInvalidInput},
				{"now", "client-1", now, tenantsync.ErrInvalidInput},
				{"more than 30 days ahead", "client-1", now.Add(MaxActivePeriod + time.Minute), tenantsync.ErrInvalidInput},
				{"a year ahead", "client-1", now.AddDate(1, 0, 0), tenantsync.ErrInvalidInput},
				{"an hour ahead", "client-1", now.Add(time.Hour), nil},
				{"30 days ahead", "client-1", now.Add(MaxActivePeriod), nil},
				{"ending the active period", "client-1", time.Time{}, nil},
			}
			for _, tc := range cases {
				err := h.eng.MarkActive(ctx, tc.client, tc.until)
				if tc.want == nil {
					assert.NoError(t, err, tc.name)
					continue
				}
				assert.ErrorIs(t, err, tc.want, tc.name)
				assert.NotEmpty(t, tenantsync.HintOf(err), tc.name)
			}
			assert.False(t, h.eng.clientActive(ctx, "client-ghost", now), "a refused client is not marked active")
		})
	}
}
