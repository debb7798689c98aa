package sync_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	tsync "github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

const account = "msp-1"

type realRig struct {
	srv      *testserver.Server
	st       *memory.Store
	contacts *tsync.FakeContacts
	sink     *tsync.RecordingSink
	eng      *tsync.Engine
	clock    *tsync.ManualClock
}

// newRealRig builds an engine over an in-memory store with one real source and its writer,
// the PSA side faked.
func newRealRig(t *testing.T, srv *testserver.Server, src tenantsync.Source, w tenantsync.Writer, mutate ...func(*tsync.Config)) *realRig {
	t.Helper()
	r := &realRig{srv: srv, contacts: tsync.NewFakeContacts(), sink: tsync.NewRecordingSink(), clock: tsync.NewManualClock()}
	r.st = memory.New(memory.Config{Now: r.clock.Now})
	cfg := tsync.Config{
		Store:         r.st,
		Account:       account,
		Sources:       []tenantsync.Source{src},
		Contacts:      r.contacts,
		Writers:       map[string]tenantsync.Writer{w.Name(): w},
		Authorizer:    tsync.FakeAuthorizer{Allowed: map[string]bool{"alice": true}},
		Clock:         r.clock,
		Sink:          r.sink,
		AutoCreate:    true,
		WritesEnabled: true,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	var err error
	r.eng, err = tsync.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.eng.Close(ctx)
	})
	return r
}

// linkAndWait links the tenant to client-1, waits for its initial sync, and checks that the
// sync succeeded and mirrored every live user.
func (r *realRig) linkAndWait(t *testing.T, tn *testserver.Tenant) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, r.eng.Link(ctx, "alice", tn.ID, "client-1"))
	require.NoError(t, r.eng.Wait(ctx))
	st, err := r.st.Account(account).SyncStates.Get(ctx, tn.ID)
	require.NoError(t, err)
	require.Nil(t, st.LastError, "%+v", st.LastError)
	users, err := r.st.Account(account).Mirror.ReadKind(ctx, tn.ID, tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Len(t, users.Users, len(liveUsers(tn)))
}

func newCIPPRig(t *testing.T, opts testserver.Options, mutate ...func(*tsync.Config)) *realRig {
	t.Helper()
	srv := testserver.NewT(t, opts)
	creds := srv.CIPPCredentials()
	c, err := cipp.NewClient(cipp.Config{BaseURL: srv.CIPPURL(), TenantID: creds.TenantID, ClientID: creds.ClientID,
		Secret: tenantsync.NewSecret(creds.Secret), AuthorityHost: srv.EntraURL(), Settings: transport.Settings{HTTPClient: srv.HTTPClient()}})
	require.NoError(t, err)
	src, err := cipp.NewSource(c, cipp.SourceConfig{})
	require.NoError(t, err)
	return newRealRig(t, srv, src, cipp.NewWriter(c), mutate...)
}

// cippTenant returns a generated tenant CIPP lists, with at least one shared mailbox.
func cippTenant(t *testing.T, w *testserver.World) *testserver.Tenant {
	t.Helper()
	for _, tn := range w.Tenants {
		if !tn.InCIPP || tn.CIPPStale {
			continue
		}
		if slices.ContainsFunc(tn.Users, func(u *testserver.User) bool { return u.MailboxType == "SharedMailbox" }) {
			return tn
		}
	}
	t.Fatal("the generated world has no CIPP tenant with a shared mailbox")
	return nil
}

func liveUsers(tn *testserver.Tenant) []*testserver.User {
	var out []*testserver.User
	for _, u := range tn.Users {
		if !u.Deleted {
			out = append(out, u)
		}
	}
	return out
}

func TestEngineThroughCIPP(t *testing.T) {
	t.Parallel()
	r := newCIPPRig(t, testserver.Options{Seed: 7, Tenants: 4, MinUsers: 8, MaxUsers: 20})
	ctx := t.Context()
	tn := cippTenant(t, r.srv.World)

	disc, err := r.eng.Discover(ctx)
	require.NoError(t, err)
	assert.Contains(t, disc.New, tn.ID)

	// Initial sync on link.
	r.linkAndWait(t, tn)

	// Contacts exist only for people: never a shared, room or equipment mailbox, never a guest.
	links, err := r.st.Account(account).Links.List(ctx, tn.ID)
	require.NoError(t, err)
	require.NotEmpty(t, links)
	linked := map[string]bool{}
	for _, l := range links {
		linked[l.ObjectID] = true
	}
	for _, u := range liveUsers(tn) {
		if u.MailboxType == "SharedMailbox" || u.MailboxType == "RoomMailbox" || u.MailboxType == "EquipmentMailbox" || u.UserType == "Guest" {
			assert.False(t, linked[u.ID], "%s (%s %s) must not become a contact", u.UserPrincipalName, u.MailboxType, u.UserType)
		}
	}

	// A user is disabled and another deleted at the source: the complete CIPP listing
	// deactivates their contacts; nothing is deleted.
	var disabled, deleted *testserver.User
	for _, u := range liveUsers(tn) {
		if !linked[u.ID] || !u.AccountEnabled {
			continue
		}
		if disabled == nil {
			disabled = u
		} else if deleted == nil {
			deleted = u
		}
	}
	require.NotNil(t, deleted)
	require.NoError(t, r.srv.World.UpdateUser(tn.ID, disabled.ID, func(u *testserver.User) { u.AccountEnabled = false }))
	require.NoError(t, r.srv.World.DeleteUser(tn.ID, deleted.ID))
	contactsBefore := len(r.contacts.All())
	r.clock.Advance(time.Minute)
	rep, err := r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Contacts.Deactivated)
	assert.Equal(t, 1, rep.Kinds[tenantsync.KindUsers].Removed)
	assert.Len(t, r.contacts.All(), contactsBefore)
	links, err = r.st.Account(account).Links.List(ctx, tn.ID)
	require.NoError(t, err)
	for _, l := range links {
		if l.ObjectID == disabled.ID || l.ObjectID == deleted.ID {
			c, ok := r.contacts.Get(l.ContactID)
			require.True(t, ok)
			assert.False(t, c.Active)
		}
	}

	// Mailboxes fail (a 403 from CIPP): nothing of them changes, the rest is stored.
	remove := r.srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Path: "/api/ListMailboxes", Kind: testserver.ServerError, Status: 403})
	mbxBefore, err := r.st.Account(account).Mirror.ReadKind(ctx, tn.ID, tenantsync.KindMailboxes)
	require.NoError(t, err)
	require.NoError(t, r.srv.World.UpdateUser(tn.ID, disabled.ID, func(u *testserver.User) { u.AccountEnabled = true }))
	r.clock.Advance(time.Minute)
	rep, err = r.eng.SyncNow(ctx, tn.ID)
	require.NoError(t, err)
	remove()
	assert.Equal(t, tenantsync.Unavailable, rep.Kinds[tenantsync.KindMailboxes].Mode)
	assert.Error(t, rep.Kinds[tenantsync.KindMailboxes].Err)
	assert.Equal(t, 1, rep.Contacts.Reactivated, "users were stored and reconciled")
	mbxAfter, err := r.st.Account(account).Mirror.ReadKind(ctx, tn.ID, tenantsync.KindMailboxes)
	require.NoError(t, err)
	assert.Len(t, mbxAfter.Mailboxes, len(mbxBefore.Mailboxes))
	st, err := r.st.Account(account).SyncStates.Get(ctx, tn.ID)
	require.NoError(t, err)
	require.Contains(t, st.KindErrors, tenantsync.KindMailboxes)

	// A write through CIPP, audited before and after.
	target := disabled
	res, err := r.eng.Write(ctx, "alice", tenantsync.WriteRequest{Action: tenantsync.ActionBlockSignIn, TenantID: tn.ID,
		UserID: target.ID, UPN: target.UserPrincipalName})
	require.NoError(t, err)
	assert.Equal(t, "cipp", res.Route)
	assert.False(t, r.srv.World.Tenant(tn.ID).Users[slices.IndexFunc(r.srv.World.Tenant(tn.ID).Users, func(u *testserver.User) bool { return u.ID == target.ID })].AccountEnabled)
	rv, err := r.st.Account(account).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rv.OK())
	entries, err := r.st.Account(account).Audit.List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	last := entries[len(entries)-2:]
	assert.Equal(t, [2]string{"intent", "result"}, [2]string{last[0].Phase, last[1].Phase})
	assert.Equal(t, "succeeded", last[1].Outcome)
}

func TestEngineThroughCIPPOneTenantFailing(t *testing.T) {
	t.Parallel()
	r := newCIPPRig(t, testserver.Options{Seed: 11, Tenants: 5, MinUsers: 5, MaxUsers: 10})
	ctx := t.Context()
	_, err := r.eng.Discover(ctx)
	require.NoError(t, err)
	var ids []string
	for _, tn := range r.srv.World.Tenants {
		if tn.InCIPP && !tn.CIPPStale {
			ids = append(ids, tn.ID)
		}
	}
	require.GreaterOrEqual(t, len(ids), 2)
	for _, id := range ids {
		require.NoError(t, r.st.Account(account).Tenants.Link(ctx, id, "client-"+id, r.clock.Now()))
	}
	// Every request for the first tenant is refused; the others must sync regardless.
	r.srv.InjectFault(testserver.Fault{Service: testserver.ServiceCIPP, Tenant: ids[0], Kind: testserver.ServerError, Status: 403})
	reps, err := r.eng.RunOnce(ctx)
	require.NoError(t, err)
	require.Len(t, reps, len(ids))
	for _, rep := range reps {
		users, err := r.st.Account(account).Mirror.ReadKind(ctx, rep.TenantID, tenantsync.KindUsers)
		require.NoError(t, err)
		if rep.TenantID == ids[0] {
			assert.Empty(t, users.Users, "nothing stored for the failing tenant")
			st, err := r.eng.Status(ctx, rep.TenantID)
			require.NoError(t, err)
			assert.False(t, st.Healthy())
			assert.True(t, st.State.LastError != nil || len(st.State.KindErrors) == len(tenantsync.AllKinds()))
			continue
		}
		require.NoError(t, rep.Err)
		assert.Len(t, users.Users, len(liveUsers(r.srv.World.Tenant(rep.TenantID))))
	}
}
