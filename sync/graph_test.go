package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	tsync "github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

func newGraphRig(t *testing.T, opts testserver.Options) (*realRig, *testserver.Tenant) {
	t.Helper()
	srv := testserver.NewT(t, opts)
	tn := srv.World.Tenants[0]
	app := srv.PartnerApp()
	c, err := graph.NewClient(graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    tenantsync.NewSecret(app.Secret),
		BaseURL:         srv.GraphURL(),
		AuthorityHost:   srv.EntraURL(),
		Settings:        transport.Settings{HTTPClient: srv.HTTPClient(), MaxRetryAfter: 10 * time.Second},
	})
	require.NoError(t, err)
	src, err := graph.NewSource(c, graph.SourceConfig{
		Tenants: []tenantsync.Tenant{{ID: tn.ID, DisplayName: tn.Name, DefaultDomain: tn.DefaultDomain}},
	})
	require.NoError(t, err)
	return newRealRig(t, srv, src, graph.NewWriter(c)), tn
}

func (r *realRig) linkOf(t *testing.T, tenantID, objectID string) (store.ContactLink, tenantsync.Contact) {
	t.Helper()
	l, err := r.st.Account(account).Links.Get(t.Context(), tenantID, objectID)
	require.NoError(t, err)
	c, ok := r.contacts.Get(l.ContactID)
	require.True(t, ok)
	return l, c
}

func TestEngineThroughGraph(t *testing.T) {
	t.Parallel()
	r, tn := newGraphRig(t, testserver.Options{Seed: 5, Tenants: 2, Sizes: []int{25}})
	ctx := t.Context()
	_, err := r.eng.Discover(ctx)
	require.NoError(t, err)

	// Initial sync on link: a full users listing whose delta link becomes the cursor.
	r.linkAndWait(t, tn)
	cursors, err := r.st.Account(account).Mirror.Cursors(ctx, tn.ID)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(cursors[tenantsync.KindUsers], "graph@"), "the users cursor is Graph's delta link")

	var people []*testserver.User
	for _, u := range liveUsers(tn) {
		if _, err := r.st.Account(account).Links.Get(ctx, tn.ID, u.ID); err == nil && u.AccountEnabled {
			people = append(people, u)
		}
		if u.MailboxType == "SharedMailbox" || u.MailboxType == "RoomMailbox" || u.MailboxType == "EquipmentMailbox" {
			_, err := r.st.Account(account).Links.Get(ctx, tn.ID, u.ID)
			assert.ErrorIs(t, err, tenantsync.ErrNotFound, "%s is a %s, not a person", u.UserPrincipalName, u.MailboxType)
		}
	}
	require.GreaterOrEqual(t, len(people), 3)

	// Delta after full: an edit, a deletion and a newcomer travel as changes.
	edited, deleted := people[0], people[1]
	require.NoError(t, r.srv.World.UpdateUser(tn.ID, edited.ID, func(u *testserver.User) { u.JobTitle = "Chief Delta Officer" }))
	require.NoError(t, r.srv.World.DeleteUser(tn.ID, deleted.ID))
	newcomer, err := r.srv.World.AddUser(tn.ID, testserver.User{UserPrincipalName: "nina.new@" + tn.DefaultDomain, DisplayName: "Nina New",
		GivenName: "Nina", Surname: "New", Mail: "nina.new@" + tn.DefaultDomain, ProxyAddresses: []string{"SMTP:nina.new@" + tn.DefaultDomain},
		AccountEnabled: true, Licenses: []string{"e3"}, MailboxType: "UserMailbox"})
	require.NoError(t, err)
	r.clock.Advance(time.Minute)
	rep, err := r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	ur := rep.Kinds[tenantsync.KindUsers]
	assert.Equal(t, tenantsync.Changes, ur.Mode)
	assert.Equal(t, 1, ur.Added)
	assert.Equal(t, 1, ur.Removed)
	assert.GreaterOrEqual(t, ur.Updated, 1)
	got, err := r.st.Account(account).Mirror.GetUser(ctx, tn.ID, edited.ID)
	require.NoError(t, err)
	assert.Equal(t, "Chief Delta Officer", got.JobTitle)
	_, c := r.linkOf(t, tn.ID, deleted.ID)
	assert.False(t, c.Active, "a delta removal deactivates the linked contact")
	_, c = r.linkOf(t, tn.ID, newcomer.ID)
	assert.Equal(t, "Nina", c.FirstName)
	assert.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode, "mailbox types travel as changes too")

	// A full reconcile over a quiet tenant: the mailbox types of unchanged users come from the
	// mirror, so no shared, room or equipment mailbox turns into a contact.
	contactsBefore := len(r.contacts.All())
	r.clock.Advance(tsync.DefaultFullReconcile)
	rep, err = r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	require.Equal(t, tenantsync.Changes, rep.Kinds[tenantsync.KindMailboxes].Mode)
	assert.Zero(t, rep.Contacts.Created)
	assert.Zero(t, rep.Contacts.Deferred)
	assert.Positive(t, rep.Contacts.Excluded, "the full pass walked every user again")
	assert.Len(t, r.contacts.All(), contactsBefore)

	// Expired cursor: the users kind is listed in full and removals still apply.
	gone := people[2]
	require.NoError(t, r.srv.World.DeleteUser(tn.ID, gone.ID))
	r.srv.GraphExpireDeltaTokens(tn.ID)
	r.clock.Advance(time.Minute)
	rep, err = r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	ur = rep.Kinds[tenantsync.KindUsers]
	assert.True(t, ur.FullAfterExpiry)
	assert.Equal(t, tenantsync.Complete, ur.Mode)
	assert.Equal(t, 1, ur.Removed)
	_, c = r.linkOf(t, tn.ID, gone.ID)
	assert.False(t, c.Active)
	cursorsAfter, err := r.st.Account(account).Mirror.Cursors(ctx, tn.ID)
	require.NoError(t, err)
	assert.NotEqual(t, cursors[tenantsync.KindUsers], cursorsAfter[tenantsync.KindUsers], "a fresh delta link replaced the expired one")

	// A write routes through Graph (CIPP does not reach the tenant) and is audited.
	res, err := r.eng.Write(ctx, "alice", tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: tn.ID, UserID: edited.ID})
	require.NoError(t, err)
	assert.Equal(t, "graph", res.Route)
	r.clock.Advance(time.Minute)
	rep, err = r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Contacts.Deactivated, "the blocked user's contact follows on the next delta")
	_, err = r.eng.Write(ctx, "mallory", tenantsync.WriteRequest{Action: tenantsync.ActionUnblockSignIn, TenantID: tn.ID, UserID: edited.ID})
	require.ErrorIs(t, err, tenantsync.ErrPermissionDenied)
	rv, err := r.st.Account(account).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rv.OK())
	entries, err := r.st.Account(account).Audit.List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	var outcomes []string
	for _, e := range entries {
		outcomes = append(outcomes, e.Action+":"+e.Phase+":"+e.Outcome)
	}
	assert.Equal(t, []string{"link:result:succeeded", "block_sign_in:intent:requested", "block_sign_in:result:succeeded",
		"unblock_sign_in:intent:refused"}, outcomes)
}

// A sync killed while Graph holds a further page stores nothing; the next sync is clean.
func TestEngineThroughGraphKilledMidway(t *testing.T) {
	t.Parallel()
	r, tn := newGraphRig(t, testserver.Options{Seed: 9, Tenants: 1, Sizes: []int{1000}})
	ctx := t.Context()
	_, err := r.eng.Discover(ctx)
	require.NoError(t, err)
	require.NoError(t, r.st.Account(account).Tenants.Link(ctx, tn.ID, "client-1", r.clock.Now()))

	// The second page of users hangs; the caller gives up while it waits.
	remove := r.srv.InjectFault(testserver.Fault{Service: testserver.ServiceGraph, Path: "skiptoken", Kind: testserver.Hang})
	killed, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for r.srv.FaultCounts()[testserver.Hang] == 0 && killed.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = r.eng.SyncNow(killed, tn.ID)
	require.ErrorIs(t, err, context.Canceled)
	for _, k := range tenantsync.AllKinds() {
		kr, err := r.st.Account(account).Mirror.ReadKind(ctx, tn.ID, k)
		require.NoError(t, err)
		assert.Zero(t, kr.Len(), "nothing of %s was stored", k)
	}
	cursors, err := r.st.Account(account).Mirror.Cursors(ctx, tn.ID)
	require.NoError(t, err)
	assert.Empty(t, cursors)
	assert.Empty(t, r.contacts.All())

	remove()
	r.clock.Advance(time.Minute)
	rep, err := r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	assert.Equal(t, len(liveUsers(tn)), rep.Kinds[tenantsync.KindUsers].Total)
	assert.NotEmpty(t, r.contacts.All())
}
