package psa

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// A PSA links a customer tenant to one of its clients; after the initial sync every person of
// the tenant has one contact in that client, with the name and address Microsoft 365 holds, and
// nobody else (shared mailboxes, rooms, guests, disabled accounts) has one.
func TestLinkingATenantCreatesItsPeopleAsContacts(t *testing.T) {
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 11, Tenants: 3, Sizes: []int{40}})
	client, err := cipp.NewClient(fakes.CIPPConfig())
	require.NoError(t, err)
	src, err := cipp.NewSource(client, cipp.SourceConfig{})
	require.NoError(t, err)

	psa := tenantsynctest.NewContacts(nil)
	psa.AddClient("acme-17", "Acme Ltd")
	eng, err := sync.New(sync.Config{
		Store: memory.New(memory.Config{}), Account: "msp-1",
		Sources: []tenantsync.Source{src}, Contacts: psa, AutoCreate: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close(t.Context()) })

	discovered, err := eng.Discover(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, discovered)
	tenant := fakes.Tenants()[0]
	require.NoError(t, eng.Link(t.Context(), "alice@msp.example", tenant.ID, "acme-17"))
	require.NoError(t, eng.Wait(t.Context()))

	// The people: enabled members with a personal name, without a shared, room or equipment
	// mailbox. Service accounts (svc-backup, scanner) have no given name or surname.
	people := map[string]tenantsync.User{}
	for _, u := range fakes.Users(tenant.ID) {
		mailbox := fakes.MailboxType(tenant.ID, u.ObjectID)
		if u.AccountEnabled && !u.IsGuest() && u.GivenName+u.Surname != "" && (mailbox == "" || mailbox == "UserMailbox") {
			people[u.ObjectID] = u
		}
	}
	require.NotEmpty(t, people, "the seed gives the tenant people")

	var want, got []string
	for id := range people {
		want = append(want, id)
	}
	for _, c := range psa.All() {
		got = append(got, c.ObjectID)
		u, ok := people[c.ObjectID]
		if !assert.True(t, ok, "contact %s %s (%s) is not one of the tenant's people", c.FirstName, c.LastName, c.Email) {
			continue
		}
		assert.Equal(t, "acme-17", c.ClientID)
		assert.True(t, c.Active)
		assert.Equal(t, tenant.ID, c.TenantID, "the contact knows its user's tenant")
		assert.Equal(t, u.GivenName, c.FirstName)
		assert.Equal(t, u.Surname, c.LastName)
		assert.True(t, strings.EqualFold(u.Mail, c.Email), "contact email %q, user mail %q", c.Email, u.Mail)
	}
	slices.Sort(want)
	slices.Sort(got)
	assert.Equal(t, want, got, "one contact per person, no one else")
	assert.Empty(t, psa.Duplicates())

	st, err := eng.Status(t.Context(), tenant.ID)
	require.NoError(t, err)
	assert.Equal(t, tenant.Users, st.State.Counts[tenantsync.KindUsers])
}
