package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Factory returns a new store sealing secrets with keys. Stores it returns may share one
// database: every test works in accounts of its own.
type Factory func(t *testing.T, keys store.KeyProvider) store.Store

// Run runs the conformance suite against the stores newStore returns.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Connections", testConnections},
		{"SecretRotation", testSecretRotation},
		{"Discovery", testDiscovery},
		{"Linking", testLinking},
		{"ApplySnapshotAndChanges", testApply},
		{"ApplyEveryKind", testApplyEveryKind},
		{"ReadKindReturnsCopies", testReadCopies},
		{"CursorCompareAndSet", testCursorCAS},
		{"CommitIsAtomic", testCommitAtomic},
		{"ContactLinkUniqueness", testContactLinks},
		{"Merges", testMerges},
		{"Reviews", testReviews},
		{"SyncState", testSyncState},
		{"ClientsAndContacts", testClientsAndContacts},
		{"UnlinkKeepVersusPurge", testUnlink},
		{"Audit", testAudit},
		{"AuditTamperDetection", testAuditTamper},
		{"AuditExpectedHead", testAuditExpectedHead},
		{"AuditKeyRotation", testAuditKeyRotation},
		{"Leases", testLeases},
		{"AcquireDue", testAcquireDue},
		{"AccountIsolation", testIsolation},
		{"ConcurrentApply", testConcurrentApply},
		{"ConcurrentLinksAndLeases", testConcurrentLinksAndLeases},
		{"ConcurrentAudit", testConcurrentAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys := NewKeys(t)
			s := newStore(t, keys)
			require.NotNil(t, s, "the factory returned no store")
			tc.fn(t, &harness{s: s, keys: keys, acct: "acct-" + randomID()})
		})
	}
}

type harness struct {
	s    store.Store
	keys *Keys
	acct string
}

// other returns a second account ID for isolation checks.
func (h *harness) other() string { return h.acct + "-other" }

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Keys is a KeyProvider whose current key the suite can change, to test rotation.
type Keys struct {
	mu      sync.Mutex
	current string
	keys    map[string][]byte
}

// NewKeys returns a provider with one random key, "k1".
func NewKeys(t testing.TB) *Keys {
	k := &Keys{keys: map[string][]byte{}}
	k.Rotate(t, "k1")
	return k
}

// Rotate adds a random key with the given ID and makes it current.
func (k *Keys) Rotate(t testing.TB, id string) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[id] = key
	k.current = id
}

// Forget removes a key, as an operator retiring it would.
func (k *Keys) Forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, id)
}

// CurrentKey implements store.KeyProvider.
func (k *Keys) CurrentKey(context.Context) (string, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current, k.keys[k.current], nil
}

// Key implements store.KeyProvider.
func (k *Keys) Key(_ context.Context, id string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[id]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("no key %q", id)
}

// discover records tenants with the given IDs from source "cipp" and returns the discovery.
func discover(t *testing.T, s store.Store, acct string, ids ...string) store.Discovery {
	t.Helper()
	var ts []tenantsync.Tenant
	for _, id := range ids {
		ts = append(ts, tenantsync.Tenant{ID: id, DisplayName: "Tenant " + id, DefaultDomain: id + ".example", Domains: []string{id + ".example"}})
	}
	d, err := s.RecordDiscovery(t.Context(), acct, "cipp", ts, t0)
	require.NoError(t, err)
	return d
}

// linked discovers and links tenants to client "client-1".
func linked(t *testing.T, s store.Store, acct string, ids ...string) {
	t.Helper()
	discover(t, s, acct, ids...)
	for _, id := range ids {
		require.NoError(t, s.LinkTenant(t.Context(), acct, id, "client-1", t0))
	}
}

func user(tenant, id, name string) tenantsync.User {
	return tenantsync.User{TenantID: tenant, ObjectID: id, DisplayName: name, UserPrincipalName: id + "@contoso.example",
		Mail: id + "@contoso.example", AccountEnabled: true, UserType: "Member", ProxyAddresses: []string{"SMTP:" + id + "@contoso.example"},
		CreatedAt: t0}
}

func users(tenant string, ids ...string) []tenantsync.User {
	out := make([]tenantsync.User, 0, len(ids))
	for _, id := range ids {
		out = append(out, user(tenant, id, "User "+id))
	}
	return out
}

func snapshot(us []tenantsync.User, cursor string) *tenantsync.KindResult {
	return &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Complete, Users: us, Cursor: cursor}
}

func changes(us []tenantsync.User, removed []string, cursor string) *tenantsync.KindResult {
	return &tenantsync.KindResult{Kind: tenantsync.KindUsers, Mode: tenantsync.Changes, Users: us, Removed: removed, Cursor: cursor}
}

func userIDs(t *testing.T, s store.Store, acct, tenant string) []string {
	t.Helper()
	r, err := s.ReadKind(t.Context(), acct, tenant, tenantsync.KindUsers)
	require.NoError(t, err)
	ids := []string{}
	for _, u := range r.Users {
		ids = append(ids, u.ObjectID)
	}
	return ids
}

func assertKind(t *testing.T, err error, kind error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, kind, "error %v", err)
	assert.Equal(t, kind, tenantsync.ClassOf(err))
	if d, ok := tenantsync.Details(err); assert.True(t, ok, "error %v carries no *tenantsync.Error", err) {
		assert.Equal(t, store.Service, d.Service)
		assert.NotEmpty(t, d.Op)
		assert.NotEmpty(t, d.Hint, "error %v does not say what to do", err)
	}
}

func testConnections(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	const plaintext = "s3cr3t-CIPP-client-secret-5f2a"
	c := store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{"baseURL":"https://cipp.example"}`), Secret: store.NewSecret(plaintext)}
	require.NoError(t, s.PutConnection(ctx, h.acct, c))
	require.NoError(t, s.PutConnection(ctx, h.acct, store.Connection{Name: "partner", Kind: store.ConnectionPartnerCenter, Config: []byte(`{}`), Secret: store.NewSecret("other")}))

	got, err := s.GetConnection(ctx, h.acct, "cipp")
	require.NoError(t, err)
	assert.Equal(t, plaintext, got.Secret.Reveal())
	assert.Equal(t, store.ConnectionCIPP, got.Kind)
	assert.JSONEq(t, `{"baseURL":"https://cipp.example"}`, string(got.Config))
	assert.Equal(t, "k1", got.KeyID)
	assert.False(t, got.CreatedAt.IsZero())
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		assert.NotContains(t, fmt.Sprintf(f, got), plaintext, "format %s", f)
	}

	list, err := s.ListConnections(ctx, h.acct)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "cipp", list[0].Name)
	assert.Equal(t, "partner", list[1].Name)
	assert.Equal(t, "other", list[1].Secret.Reveal())

	// Replacing keeps one connection of that name.
	c.Secret = store.NewSecret("replaced")
	require.NoError(t, s.PutConnection(ctx, h.acct, c))
	got, err = s.GetConnection(ctx, h.acct, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "replaced", got.Secret.Reveal())

	err = s.PutConnection(ctx, h.acct, store.Connection{Name: "x", Kind: "ftp", Secret: store.NewSecret("zzz-not-leaked")})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	assert.NotContains(t, err.Error(), "zzz-not-leaked")

	// A connection without its secret (as one decoded from JSON comes back) does not wipe the
	// stored secret; putting back what GetConnection returned keeps it and its creation time.
	assertKind(t, s.PutConnection(ctx, h.acct, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Config: []byte(`{"baseURL":"https://other.example"}`)}), tenantsync.ErrInvalidInput)
	got, err = s.GetConnection(ctx, h.acct, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "replaced", got.Secret.Reveal())
	assert.JSONEq(t, `{"baseURL":"https://cipp.example"}`, string(got.Config))
	created := got.CreatedAt
	got.Config = []byte(`{"baseURL":"https://moved.example"}`)
	require.NoError(t, s.PutConnection(ctx, h.acct, got))
	got, err = s.GetConnection(ctx, h.acct, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "replaced", got.Secret.Reveal())
	assert.JSONEq(t, `{"baseURL":"https://moved.example"}`, string(got.Config))
	assert.True(t, got.CreatedAt.Equal(created), "replacing keeps the creation time")

	require.NoError(t, s.DeleteConnection(ctx, h.acct, "cipp"))
	_, err = s.GetConnection(ctx, h.acct, "cipp")
	assertKind(t, err, tenantsync.ErrNotFound)
	assertKind(t, s.DeleteConnection(ctx, h.acct, "cipp"), tenantsync.ErrNotFound)
}

func testSecretRotation(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	secrets := map[string]string{"cipp": "cipp-secret-1", "graph": "graph-secret-2"}
	for name, sec := range secrets {
		require.NoError(t, s.PutConnection(ctx, h.acct, store.Connection{Name: name, Kind: store.ConnectionKind(name), Secret: store.NewSecret(sec)}))
	}
	n, err := s.RotateSecrets(ctx, h.acct)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "nothing to re-seal while k1 is current")

	h.keys.Rotate(t, "k2")
	n, err = s.RotateSecrets(ctx, h.acct)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	h.keys.Forget("k1")
	for name, sec := range secrets {
		got, err := s.GetConnection(ctx, h.acct, name)
		require.NoError(t, err)
		assert.Equal(t, "k2", got.KeyID)
		assert.Equal(t, sec, got.Secret.Reveal())
	}
	n, err = s.RotateSecrets(ctx, h.acct)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	// A secret whose key is gone fails clearly, without the plaintext.
	h.keys.Rotate(t, "k3")
	require.NoError(t, s.PutConnection(ctx, h.acct, store.Connection{Name: "lost", Kind: store.ConnectionGraph, Secret: store.NewSecret("lost-plaintext-77")}))
	h.keys.Forget("k3")
	h.keys.Rotate(t, "k4")
	_, err = s.GetConnection(ctx, h.acct, "lost")
	require.Error(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), "lost-plaintext-77")
	_, err = s.RotateSecrets(ctx, h.acct)
	require.Error(t, err, "rotation cannot re-seal a secret it cannot open")
}

func testDiscovery(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	d, err := s.RecordDiscovery(ctx, h.acct, "cipp", []tenantsync.Tenant{
		{ID: "tA", DisplayName: "Alpha", DefaultDomain: "alpha.example"},
		{ID: "tB", DisplayName: "Beta"},
	}, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"tA", "tB"}, d.New)
	assert.Equal(t, 2, d.Seen)

	d, err = s.RecordDiscovery(ctx, h.acct, "graph", []tenantsync.Tenant{{ID: "tB", DisplayName: ""}, {ID: "tC", DisplayName: "Gamma"}}, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"tC"}, d.New)
	assert.Empty(t, d.Vanished)

	b, err := s.GetTenant(ctx, h.acct, "tB")
	require.NoError(t, err)
	assert.Equal(t, "Beta", b.DisplayName, "a blank name from a source does not erase a known one")
	assert.Equal(t, []string{"cipp", "graph"}, b.Sources)
	assert.Equal(t, "graph", b.Source)
	assert.True(t, b.FirstSeen.Equal(t0))
	assert.True(t, b.LastSeen.Equal(t0.Add(time.Hour)))
	assert.Equal(t, store.TenantActive, b.Status)
	assert.Equal(t, tenantsync.AllKinds(), b.EnabledKinds)
	assert.False(t, b.Linked())

	// cipp no longer lists B: graph still does, so it stays active.
	d, err = s.RecordDiscovery(ctx, h.acct, "cipp", []tenantsync.Tenant{{ID: "tA"}}, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, d.Vanished)
	// graph lists nothing: B and C have no source left.
	d, err = s.RecordDiscovery(ctx, h.acct, "graph", nil, t0.Add(3*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"tB", "tC"}, d.Vanished)

	c, err := s.GetTenant(ctx, h.acct, "tC")
	require.NoError(t, err, "vanished tenants are flagged, never deleted")
	assert.Equal(t, store.TenantVanished, c.Status)
	assert.True(t, c.VanishedAt.Equal(t0.Add(3*time.Hour)))
	assert.Empty(t, c.Sources)

	d, err = s.RecordDiscovery(ctx, h.acct, "cipp", []tenantsync.Tenant{{ID: "tA"}, {ID: "tC"}}, t0.Add(4*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"tC"}, d.Returned)
	c, err = s.GetTenant(ctx, h.acct, "tC")
	require.NoError(t, err)
	assert.Equal(t, store.TenantActive, c.Status)
	assert.True(t, c.VanishedAt.IsZero())
	assert.Equal(t, "Gamma", c.DisplayName)

	all, err := s.ListTenants(ctx, h.acct)
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, "tA", all[0].ID)
	assert.Equal(t, "alpha.example", all[0].DefaultDomain)

	accts, err := s.Accounts(ctx)
	require.NoError(t, err)
	assert.Contains(t, accts, h.acct)

	_, err = s.GetTenant(ctx, h.acct, "missing")
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.RecordDiscovery(ctx, h.acct, "", nil, t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.RecordDiscovery(ctx, h.acct, "cipp", []tenantsync.Tenant{{DisplayName: "no id"}}, t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.RecordDiscovery(ctx, "", "cipp", nil, t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
}

func testLinking(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	require.NoError(t, s.LinkTenant(ctx, h.acct, "tA", "client-1", t0))
	a, err := s.GetTenant(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, "client-1", a.ClientID)
	assert.True(t, a.LinkedAt.Equal(t0))
	assert.True(t, a.Syncing)

	err = s.LinkTenant(ctx, h.acct, "tA", "client-2", t0.Add(time.Minute))
	assertKind(t, err, tenantsync.ErrAlreadyLinked)
	var already *store.AlreadyLinkedError
	require.ErrorAs(t, err, &already)
	assert.Equal(t, "client-1", already.ClientID)
	assert.Contains(t, err.Error(), "client-1")

	require.NoError(t, s.LinkTenant(ctx, h.acct, "tB", "client-1", t0), "several tenants may share a client")
	require.NoError(t, s.SetSyncing(ctx, h.acct, "tA", false))
	a, err = s.GetTenant(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.False(t, a.Syncing)
	require.NoError(t, s.LinkTenant(ctx, h.acct, "tA", "client-1", t0.Add(time.Hour)), "linking to the same client resumes")
	a, err = s.GetTenant(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.True(t, a.Syncing)
	assert.True(t, a.LinkedAt.Equal(t0), "resuming keeps the original link time")

	require.NoError(t, s.SetEnabledKinds(ctx, h.acct, "tA", []tenantsync.Kind{tenantsync.KindDevices, tenantsync.KindUsers, tenantsync.KindUsers}))
	a, err = s.GetTenant(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindDevices}, a.EnabledKinds)
	assert.True(t, a.KindEnabled(tenantsync.KindDevices))
	assert.False(t, a.KindEnabled(tenantsync.KindMFA))
	assertKind(t, s.SetEnabledKinds(ctx, h.acct, "tA", []tenantsync.Kind{"printers"}), tenantsync.ErrInvalidInput)

	assertKind(t, s.LinkTenant(ctx, h.acct, "missing", "client-1", t0), tenantsync.ErrNotFound)
	assertKind(t, s.LinkTenant(ctx, h.acct, "tA", "", t0), tenantsync.ErrInvalidInput)

	require.NoError(t, s.UnlinkTenant(ctx, h.acct, "tA", store.UnlinkKeep))
	require.NoError(t, s.LinkTenant(ctx, h.acct, "tA", "client-2", t0.Add(2*time.Hour)), "an unlinked tenant can go to another client")
	a, err = s.GetTenant(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, "client-2", a.ClientID)
	assert.True(t, a.LinkedAt.Equal(t0.Add(2*time.Hour)))
}

func testApply(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")

	res, err := s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(users("", "u1", "u2", "u3"), "c1")})
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2", "u3"}, res.Added)
	assert.Empty(t, res.Updated)
	assert.Empty(t, res.Removed)
	assert.Equal(t, "c1", res.Cursor)
	assert.True(t, res.Changed())

	r, err := s.ReadKind(ctx, h.acct, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, tenantsync.Complete, r.Mode)
	assert.Equal(t, "c1", r.Cursor)
	require.Len(t, r.Users, 3)
	assert.Equal(t, user("tA", "u1", "User u1"), r.Users[0], "items round-trip and carry their tenant")

	// A snapshot replaces the whole kind.
	next := users("", "u1", "u2", "u4")
	next[0].DisplayName = "Renamed"
	res, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(next, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u4"}, res.Added)
	assert.Equal(t, []string{"u1"}, res.Updated)
	assert.Equal(t, []string{"u3"}, res.Removed)
	assert.Equal(t, 1, res.Unchanged)
	assert.Equal(t, []string{"u1", "u2", "u4"}, userIDs(t, s, h.acct, "tA"))
	u1, err := s.GetUser(ctx, h.acct, "tA", "u1")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", u1.DisplayName)

	// A change set upserts and removes; removing an absent ID is not a removal.
	res, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: changes(users("", "u5"), []string{"u2", "ghost"}, "c3"), ExpectCursor: "c2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u5"}, res.Added)
	assert.Equal(t, []string{"u2"}, res.Removed)
	assert.Equal(t, []string{"u1", "u4", "u5"}, userIDs(t, s, h.acct, "tA"))

	// An ID listed twice counts once, the later item winning.
	dup := users("", "u5", "u5")
	dup[1].JobTitle = "Later"
	res, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: changes(dup, nil, "c3"), ExpectCursor: "c3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u5"}, res.Updated)
	u5, err := s.GetUser(ctx, h.acct, "tA", "u5")
	require.NoError(t, err)
	assert.Equal(t, "Later", u5.JobTitle)

	// An unchanged listing changes nothing.
	res, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: changes(dup[1:], nil, "c3"), ExpectCursor: "c3"})
	require.NoError(t, err)
	assert.False(t, res.Changed())
	assert.Equal(t, 1, res.Unchanged)

	// An empty complete listing removes everything (it is complete, so absence means gone).
	res, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(nil, ""), ExpectCursor: "c3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u4", "u5"}, res.Removed)
	cursors, err := s.Cursors(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Empty(t, cursors["users"])

	_, err = s.GetUser(ctx, h.acct, "tA", "u1")
	assertKind(t, err, tenantsync.ErrNotFound)

	// Unavailable results and foreign items are refused; nothing changes.
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: tenantsync.UnavailableResult(tenantsync.KindUsers, tenantsync.ErrForbidden)})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(users("tOther", "x"), "c9")})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot([]tenantsync.User{{DisplayName: "no id"}}, "c9")})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.Apply(ctx, h.acct, "missing", store.KindApply{Result: snapshot(users("", "u1"), "c1")})
	assertKind(t, err, tenantsync.ErrNotFound)
	assert.Empty(t, userIDs(t, s, h.acct, "tA"))
}

func testApplyEveryKind(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	yes := true
	results := []*tenantsync.KindResult{
		{Kind: tenantsync.KindMailboxes, Mode: tenantsync.Complete, Mailboxes: []tenantsync.Mailbox{
			{ObjectID: "u1", PrimarySMTPAddress: "a@x.example", Type: tenantsync.MailboxUser, Aliases: []string{"b@x.example"}},
			{ObjectID: "room1", Type: tenantsync.MailboxRoom}}},
		{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{
			{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1", LastSyncAt: t0, EnrolledAt: t0.Add(-time.Hour)}}},
		{Kind: tenantsync.KindDomains, Mode: tenantsync.Complete, Domains: []tenantsync.Domain{
			{Name: "contoso.example", IsDefault: true, IsVerified: true, Services: []string{"Email"}},
			{Name: "contoso.onmicrosoft.com", IsInitial: true, IsVerified: true}}},
		{Kind: tenantsync.KindSubscriptions, Mode: tenantsync.Complete, Subscriptions: []tenantsync.Subscription{
			{SKUID: "sku1", SKUPartNumber: "SPB", Enabled: 25, Consumed: 20, CapabilityStatus: "Enabled"}}},
		{Kind: tenantsync.KindMFA, Mode: tenantsync.Complete, MFA: []tenantsync.MFAState{
			{UserID: "u1", Registered: true, Capable: true, Methods: []string{"microsoftAuthenticatorPush"}, PerUserState: "disabled"}}},
		{Kind: tenantsync.KindBaseline, Mode: tenantsync.Complete, Baseline: &tenantsync.SecurityBaseline{
			SecureScore: 41.5, MaxScore: 80, SecurityDefaults: &yes, MeasuredAt: t0,
			CAPolicies: []tenantsync.CAPolicy{{ID: "p1", DisplayName: "Require MFA", State: "enabled", RequiresMFA: true}}}},
	}
	var b store.Batch
	b.TenantID = "tA"
	for _, r := range results {
		r.Cursor = "cursor-" + string(r.Kind)
		b.Kinds = append(b.Kinds, store.KindApply{Result: r})
	}
	out, err := s.Commit(ctx, h.acct, b)
	require.NoError(t, err)
	require.Len(t, out.Kinds, len(results))
	counts, err := s.MirrorCounts(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, map[tenantsync.Kind]int{"mailboxes": 2, "devices": 1, "domains": 2, "subscriptions": 1, "mfa": 1, "baseline": 1}, counts)
	cursors, err := s.Cursors(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Len(t, cursors, len(results))

	for _, want := range results {
		got, err := s.ReadKind(ctx, h.acct, "tA", want.Kind)
		require.NoError(t, err)
		assert.Equal(t, want.Cursor, got.Cursor)
		switch want.Kind {
		case tenantsync.KindMailboxes:
			require.Len(t, got.Mailboxes, 2)
			assert.Equal(t, "tA", got.Mailboxes[0].TenantID)
			assert.Equal(t, tenantsync.MailboxRoom, got.Mailboxes[0].Type, "items come back ordered by ID")
			assert.Equal(t, []string{"b@x.example"}, got.Mailboxes[1].Aliases)
		case tenantsync.KindDevices:
			require.Len(t, got.Devices, 1)
			assert.True(t, got.Devices[0].LastSyncAt.Equal(t0))
			assert.Equal(t, "SN1", got.Devices[0].SerialNumber)
		case tenantsync.KindDomains:
			require.Len(t, got.Domains, 2)
			assert.True(t, got.Domains[0].IsDefault)
		case tenantsync.KindSubscriptions:
			require.Len(t, got.Subscriptions, 1)
			assert.Equal(t, 20, got.Subscriptions[0].Consumed)
		case tenantsync.KindMFA:
			require.Len(t, got.MFA, 1)
			assert.Equal(t, []string{"microsoftAuthenticatorPush"}, got.MFA[0].Methods)
		case tenantsync.KindBaseline:
			require.NotNil(t, got.Baseline)
			assert.InDelta(t, 41.5, got.Baseline.SecureScore, 1e-9)
			require.NotNil(t, got.Baseline.SecurityDefaults)
			assert.True(t, *got.Baseline.SecurityDefaults)
			assert.Equal(t, "tA", got.Baseline.TenantID)
			require.Len(t, got.Baseline.CAPolicies, 1)
		}
	}
	_, err = s.ReadKind(ctx, h.acct, "tA", "printers")
	assertKind(t, err, tenantsync.ErrInvalidInput)
}

// Stores may keep decoded items between reads: neither the caller's input nor a result handed
// out may share memory with what is stored, and a change between reads must show.
func testReadCopies(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	in := users("", "u1", "u2")
	_, err := s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(in, "c1")})
	require.NoError(t, err)
	in[0].ProxyAddresses[0], in[0].DisplayName = "SMTP:caller@contoso.example", "changed by the caller"
	want := []tenantsync.User{user("tA", "u1", "User u1"), user("tA", "u2", "User u2")}

	first, err := s.ReadKind(ctx, h.acct, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, want, first.Users, "the stored items are not the caller's")
	_ = append(first.Users[0].ProxyAddresses, "smtp:appended@contoso.example")
	assert.Equal(t, want[1].ProxyAddresses, first.Users[1].ProxyAddresses, "appending to one item's slice leaves its neighbour alone")
	first.Users[0].ProxyAddresses[0], first.Users[1].DisplayName = "SMTP:reader@contoso.example", "changed by a reader"

	again, err := s.ReadKind(ctx, h.acct, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, want, again.Users, "a reader's changes do not reach the store")

	next := want[1]
	next.JobTitle, next.ProxyAddresses = "Lead", []string{"SMTP:u2@fabrikam.example"}
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: changes([]tenantsync.User{next}, nil, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	third, err := s.ReadKind(ctx, h.acct, "tA", tenantsync.KindUsers)
	require.NoError(t, err)
	assert.Equal(t, []tenantsync.User{want[0], next}, third.Users, "a change between reads shows in the next read")
	assert.Equal(t, "c2", third.Cursor)
	u2, err := s.GetUser(ctx, h.acct, "tA", "u2")
	require.NoError(t, err)
	assert.Equal(t, next, u2)
}

func testCursorCAS(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	_, err := s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(users("", "u1"), "c1")})
	require.NoError(t, err)

	for _, expect := range []string{"", "c0", "c2"} {
		_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(users("", "u2"), "c2"), ExpectCursor: expect})
		assertKind(t, err, tenantsync.ErrConflict)
	}
	assert.Equal(t, []string{"u1"}, userIDs(t, s, h.acct, "tA"), "a failed compare-and-set changes nothing")
	cursors, err := s.Cursors(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, map[tenantsync.Kind]string{tenantsync.KindUsers: "c1"}, cursors)

	// Cursors of different kinds are independent.
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: &tenantsync.KindResult{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Cursor: "d1"}})
	require.NoError(t, err)
	_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: changes(nil, []string{"u1"}, "c2"), ExpectCursor: "c1"})
	require.NoError(t, err)
	assert.Empty(t, userIDs(t, s, h.acct, "tA"))
}

func testCommitAtomic(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	_, err := s.Apply(ctx, h.acct, "tA", store.KindApply{Result: snapshot(users("", "u1", "u2"), "c1")})
	require.NoError(t, err)
	require.NoError(t, s.SetContactLink(ctx, h.acct, store.ContactLink{TenantID: "tB", ObjectID: "b1", ClientID: "client-1", ContactID: "taken"}))

	before := func() {
		t.Helper()
		assert.Equal(t, []string{"u1", "u2"}, userIDs(t, s, h.acct, "tA"))
		cursors, err := s.Cursors(ctx, h.acct, "tA")
		require.NoError(t, err)
		assert.Equal(t, map[tenantsync.Kind]string{tenantsync.KindUsers: "c1"}, cursors)
		links, err := s.ListContactLinks(ctx, h.acct, "tA")
		require.NoError(t, err)
		assert.Empty(t, links)
		reviews, err := s.ListReviews(ctx, h.acct, store.ReviewFilter{TenantID: "tA"})
		require.NoError(t, err)
		assert.Empty(t, reviews)
		_, err = s.GetSyncState(ctx, h.acct, "tA")
		assertKind(t, err, tenantsync.ErrNotFound)
	}
	good := func() store.Batch {
		return store.Batch{
			TenantID: "tA",
			Kinds: []store.KindApply{
				{Result: snapshot(users("", "u1", "u3"), "c2"), ExpectCursor: "c1"},
				{Result: &tenantsync.KindResult{Kind: tenantsync.KindDevices, Mode: tenantsync.Complete, Devices: []tenantsync.Device{{ID: "d1"}}}},
			},
			Links:   []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: "k1"}}},
			Reviews: []store.Review{{ObjectID: "u3", ClientID: "client-1", Reason: "two candidates", Candidates: []store.ReviewCandidate{{ContactID: "k7", Score: 0.5}, {ContactID: "k8", Score: 0.5}}}},
			State:   &store.SyncState{LastStart: t0, LastSuccess: t0.Add(time.Minute), Counts: map[tenantsync.Kind]int{"users": 2}},
		}
	}

	// A later kind's compare-and-set fails: the earlier kind is not applied either.
	b := good()
	b.Kinds[1].ExpectCursor = "stale"
	_, err = s.Commit(ctx, h.acct, b)
	assertKind(t, err, tenantsync.ErrConflict)
	before()

	// A contact-link conflict after the mirror changes fails the whole batch.
	b = good()
	b.Links = append(b.Links, store.LinkChange{Link: store.ContactLink{ObjectID: "u3", ClientID: "client-1", ContactID: "taken"}})
	_, err = s.Commit(ctx, h.acct, b)
	var taken *store.ContactTakenError
	require.ErrorAs(t, err, &taken)
	before()

	// A batch naming a holder without the lease is refused.
	b = good()
	b.Holder, b.Now = "engine-1", t0
	_, err = s.Commit(ctx, h.acct, b)
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	before()

	// Invalid parts are refused before anything is written.
	b = good()
	b.Links[0].Link.TenantID = "tB"
	_, err = s.Commit(ctx, h.acct, b)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	b = good()
	b.Kinds = append(b.Kinds, b.Kinds[0])
	_, err = s.Commit(ctx, h.acct, b)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	before()

	// With the lease, the whole outcome lands together.
	_, err = s.AcquireLease(ctx, h.acct, "tA", "engine-1", t0, time.Minute)
	require.NoError(t, err)
	b = good()
	b.Holder, b.Now = "engine-1", t0.Add(30*time.Second)
	out, err := s.Commit(ctx, h.acct, b)
	require.NoError(t, err)
	require.Len(t, out.Kinds, 2)
	assert.Equal(t, []string{"u3"}, out.Kinds[0].Added)
	assert.Equal(t, []string{"u2"}, out.Kinds[0].Removed)
	assert.Equal(t, []string{"d1"}, out.Kinds[1].Added)
	require.Len(t, out.Reviews, 1)
	assert.NotEmpty(t, out.Reviews[0].ID)
	assert.Equal(t, "tA", out.Reviews[0].TenantID)

	assert.Equal(t, []string{"u1", "u3"}, userIDs(t, s, h.acct, "tA"))
	l, err := s.GetContactLink(ctx, h.acct, "tA", "u1")
	require.NoError(t, err)
	assert.Equal(t, "k1", l.ContactID)
	st, err := s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, 2, st.Counts["users"])
	assert.True(t, st.LastSuccess.Equal(t0.Add(time.Minute)))
	reviews, err := s.ListReviews(ctx, h.acct, store.ReviewFilter{TenantID: "tA"})
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	assert.Len(t, reviews[0].Candidates, 2)

	// After the lease expires the old holder's commit is refused.
	b = store.Batch{TenantID: "tA", Holder: "engine-1", Now: t0.Add(2 * time.Minute),
		Links: []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1"}, Delete: true}}}
	_, err = s.Commit(ctx, h.acct, b)
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	_, err = s.GetContactLink(ctx, h.acct, "tA", "u1")
	require.NoError(t, err)
}

func testContactLinks(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	link := func(tenant, object, contact string) error {
		return s.SetContactLink(ctx, h.acct, store.ContactLink{TenantID: tenant, ObjectID: object, ClientID: "client-1", ContactID: contact, LinkedAt: t0})
	}
	require.NoError(t, link("tA", "u1", "c1"))
	require.NoError(t, link("tA", "u1", "c1"), "setting the same link again is a no-op")

	err := link("tA", "u2", "c1")
	assertKind(t, err, tenantsync.ErrConflict)
	var taken *store.ContactTakenError
	require.ErrorAs(t, err, &taken)
	assert.Equal(t, "c1", taken.ContactID)
	assert.Equal(t, "tA", taken.TenantID)
	assert.Equal(t, "u1", taken.ObjectID)
	assert.ErrorAs(t, link("tB", "x1", "c1"), &taken, "a contact belongs to one user across tenants")

	// The same contact ID under another client is another contact.
	require.NoError(t, s.SetContactLink(ctx, h.acct, store.ContactLink{TenantID: "tA", ObjectID: "u9", ClientID: "client-2", ContactID: "c1"}))

	// Moving u1 to another contact frees c1.
	require.NoError(t, link("tA", "u1", "c2"))
	require.NoError(t, link("tA", "u2", "c1"))
	links, err := s.ListContactLinks(ctx, h.acct, "tA")
	require.NoError(t, err)
	require.Len(t, links, 3)
	assert.Equal(t, "u1", links[0].ObjectID)
	assert.Equal(t, "c2", links[0].ContactID)
	assert.True(t, links[0].LinkedAt.Equal(t0))

	l := links[1]
	l.Deactivated = true
	require.NoError(t, s.SetContactLink(ctx, h.acct, l))
	got, err := s.GetContactLink(ctx, h.acct, "tA", "u2")
	require.NoError(t, err)
	assert.True(t, got.Deactivated)

	require.NoError(t, s.DeleteContactLink(ctx, h.acct, "tA", "u2"))
	require.NoError(t, s.DeleteContactLink(ctx, h.acct, "tA", "u2"))
	_, err = s.GetContactLink(ctx, h.acct, "tA", "u2")
	assertKind(t, err, tenantsync.ErrNotFound)
	require.NoError(t, link("tB", "x1", "c1"), "a deleted link frees its contact")

	assertKind(t, link("tA", "", "c5"), tenantsync.ErrInvalidInput)
	assertKind(t, link("tA", "u5", ""), tenantsync.ErrInvalidInput)
	assertKind(t, link("missing", "u5", "c5"), tenantsync.ErrNotFound)
}

func testMerges(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	m := store.Merge{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", ContactID: "c1", DecidedBy: "alice", DecidedAt: t0}
	require.NoError(t, s.RememberMerge(ctx, h.acct, m))
	m.ContactID, m.DecidedBy = "c2", "bob"
	require.NoError(t, s.RememberMerge(ctx, h.acct, m))
	require.NoError(t, s.RememberMerge(ctx, h.acct, store.Merge{TenantID: "tA", ObjectID: "u0", ClientID: "client-1", ContactID: "c3", DecidedBy: "alice"}))
	ms, err := s.ListMerges(ctx, h.acct, "tA")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, "u0", ms[0].ObjectID)
	assert.False(t, ms[0].DecidedAt.IsZero())
	assert.Equal(t, "c2", ms[1].ContactID)
	assert.Equal(t, "bob", ms[1].DecidedBy)
	require.NoError(t, s.ForgetMerge(ctx, h.acct, "tA", "u1"))
	require.NoError(t, s.ForgetMerge(ctx, h.acct, "tA", "u1"))
	ms, err = s.ListMerges(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Len(t, ms, 1)
	assertKind(t, s.RememberMerge(ctx, h.acct, store.Merge{TenantID: "tA", ObjectID: "u1"}), tenantsync.ErrInvalidInput)
}

func testReviews(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	r1, err := s.AddReview(ctx, h.acct, store.Review{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", Reason: "two contacts share the address",
		Candidates: []store.ReviewCandidate{{ContactID: "c1", Score: 0.7, Reason: "email"}, {ContactID: "c2", Score: 0.7}}, CreatedAt: t0})
	require.NoError(t, err)
	assert.NotEmpty(t, r1.ID)
	assert.False(t, r1.Resolved)

	again, err := s.AddReview(ctx, h.acct, store.Review{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", Reason: "three now",
		Candidates: []store.ReviewCandidate{{ContactID: "c1"}, {ContactID: "c2"}, {ContactID: "c3"}}, CreatedAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, r1.ID, again.ID, "a user has one open review")
	assert.True(t, again.CreatedAt.Equal(t0))

	r2, err := s.AddReview(ctx, h.acct, store.Review{TenantID: "tB", ObjectID: "u2", Reason: "x", CreatedAt: t0.Add(time.Minute)})
	require.NoError(t, err)

	open, err := s.ListReviews(ctx, h.acct, store.ReviewFilter{})
	require.NoError(t, err)
	require.Len(t, open, 2)
	assert.Equal(t, r1.ID, open[0].ID)
	assert.Equal(t, "three now", open[0].Reason)
	assert.Len(t, open[0].Candidates, 3)
	assert.InDelta(t, 0, open[0].Candidates[0].Score, 1e-9)

	done, err := s.ResolveReview(ctx, h.acct, r1.ID, "c2", "alice", t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.True(t, done.Resolved)
	assert.Equal(t, "c2", done.Resolution)
	assert.Equal(t, "alice", done.ResolvedBy)
	_, err = s.ResolveReview(ctx, h.acct, r1.ID, store.ResolutionIgnore, "bob", t0)
	assertKind(t, err, tenantsync.ErrConflict)
	_, err = s.ResolveReview(ctx, h.acct, "no-such-review", "c1", "bob", t0)
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.ResolveReview(ctx, h.acct, r2.ID, "", "bob", t0)
	assertKind(t, err, tenantsync.ErrInvalidInput)

	open, err = s.ListReviews(ctx, h.acct, store.ReviewFilter{})
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, r2.ID, open[0].ID)
	all, err := s.ListReviews(ctx, h.acct, store.ReviewFilter{TenantID: "tA", IncludeResolved: true})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.True(t, all[0].Resolved)
	assert.True(t, all[0].ResolvedAt.Equal(t0.Add(2*time.Hour)))

	r3, err := s.AddReview(ctx, h.acct, store.Review{TenantID: "tA", ObjectID: "u1", Reason: "ambiguous again"})
	require.NoError(t, err)
	assert.NotEqual(t, r1.ID, r3.ID, "a resolved review is not reopened")
	_, err = s.AddReview(ctx, h.acct, store.Review{TenantID: "tA"})
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.AddReview(ctx, h.acct, store.Review{TenantID: "tA", ObjectID: "u7", Candidates: []store.ReviewCandidate{{ContactID: "c1", Score: math.NaN()}}})
	assertKind(t, err, tenantsync.ErrInvalidInput)
}

func testSyncState(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	_, err := s.GetSyncState(ctx, h.acct, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)

	failure := &tenantsync.Error{Class: tenantsync.ErrRoleMissing, Service: "graph", Hint: "grant the Directory Readers role"}
	st := store.SyncState{
		TenantID: "tA", LastStart: t0, LastFinish: t0.Add(90 * time.Second), LastSuccess: t0.Add(-time.Hour),
		LastError:  store.SyncErrorOf(failure, t0.Add(90*time.Second)),
		KindErrors: map[tenantsync.Kind]store.SyncError{tenantsync.KindMFA: *store.SyncErrorOf(tenantsync.Errorf(tenantsync.ErrLicenseRequired, "buy P1", "no P1"), t0)},
		Counts:     map[tenantsync.Kind]int{tenantsync.KindUsers: 120, tenantsync.KindDevices: 40},
		Duration:   90 * time.Second, NextDue: t0.Add(time.Hour), Running: true,
		Progress: map[tenantsync.Kind]int{tenantsync.KindUsers: 60},
	}
	require.NoError(t, s.PutSyncState(ctx, h.acct, st))
	require.NoError(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "tB", LastStart: t0}))
	got, err := s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	require.NotNil(t, got.LastError)
	assert.Equal(t, "role_missing", got.LastError.Kind)
	assert.Equal(t, "grant the Directory Readers role", got.LastError.Hint)
	assert.Equal(t, failure.Error(), got.LastError.Message)
	assert.Equal(t, "licence_required", got.KindErrors[tenantsync.KindMFA].Kind)
	assert.Equal(t, st.Counts, got.Counts)
	assert.Equal(t, st.Progress, got.Progress)
	assert.Equal(t, 90*time.Second, got.Duration)
	assert.True(t, got.NextDue.Equal(t0.Add(time.Hour)))
	assert.True(t, got.LastSuccess.Equal(t0.Add(-time.Hour)))
	assert.True(t, got.Running)

	st.LastError, st.Running = nil, false
	require.NoError(t, s.PutSyncState(ctx, h.acct, st))
	got, err = s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Nil(t, got.LastError)
	assert.False(t, got.Running)

	all, err := s.ListSyncStates(ctx, h.acct)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "tA", all[0].TenantID)
	assertKind(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "missing"}), tenantsync.ErrNotFound)
	assert.Nil(t, store.SyncErrorOf(nil, t0))
	testSyncStateHolds(t, h)
	testSyncStateContacts(t, h)
}

// testSyncStateContacts checks that the contact failures, pending count, stop reason and create
// intents survive the store whole: a lost failure would hide a user the PSA keeps refusing, and
// a lost intent could let a crash make a second contact.
func testSyncStateContacts(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	first := t0.Add(-3*time.Hour + 987654321*time.Nanosecond)
	poison := store.ContactFailure{ObjectID: "u1", UPN: "pat@contoso.example", DisplayName: "Pat", Op: store.ContactCreate,
		Kind: "invalid_input", Message: "Phone is not a valid number", Hint: "fix the phone number", Attempts: 5,
		FirstAt: first, LastAt: t0, NeedsPerson: true}
	update := store.ContactFailure{ObjectID: "u2", Op: store.ContactUpdate, ContactID: "c2", Kind: "conflict", Attempts: 1,
		FirstAt: t0, LastAt: t0, NextRetry: t0.Add(time.Hour), Ignored: true, DecidedBy: "alice", DecidedAt: t0.Add(time.Minute)}
	intent := store.CreateIntent{Key: "tenantsync:ta:u3", At: first, Contact: tenantsync.Contact{ClientID: "client-1",
		FirstName: "No", LastName: "Mail", AltEmails: []string{"alt@contoso.example"}, Active: true, TenantID: "tA", ObjectID: "u3"},
		Existing: []string{"c7", "c9"}}
	st := store.SyncState{TenantID: "tA", LastStart: t0, ContactsPending: 42,
		ContactsError:   store.SyncErrorOf(&tenantsync.Error{Class: tenantsync.ErrThrottled, Hint: "wait"}, first),
		ContactFailures: map[string]store.ContactFailure{"u1": poison, "u2": update},
		CreateIntents:   map[string]store.CreateIntent{"u3": intent}}
	require.NoError(t, s.PutSyncState(ctx, h.acct, st))

	check := func(got store.SyncState) {
		t.Helper()
		assert.Equal(t, 42, got.ContactsPending)
		require.NotNil(t, got.ContactsError)
		assert.Equal(t, "throttled", got.ContactsError.Kind)
		assert.Equal(t, "wait", got.ContactsError.Hint)
		assert.True(t, got.ContactsError.At.Equal(store.Time(first)))
		require.Len(t, got.ContactFailures, 2)
		g1 := got.ContactFailures["u1"]
		assert.True(t, g1.FirstAt.Equal(store.Time(first)), "first at %v, want %v", g1.FirstAt, first)
		g1.FirstAt = poison.FirstAt
		g1.LastAt = poison.LastAt
		assert.Equal(t, poison, g1)
		g2 := got.ContactFailures["u2"]
		assert.True(t, g2.NextRetry.Equal(t0.Add(time.Hour)))
		assert.True(t, g2.DecidedAt.Equal(t0.Add(time.Minute)))
		assert.True(t, g2.Ignored)
		assert.Equal(t, "alice", g2.DecidedBy)
		assert.Equal(t, store.ContactUpdate, g2.Op)
		assert.Equal(t, "c2", g2.ContactID)
		require.Len(t, got.CreateIntents, 1)
		gi := got.CreateIntents["u3"]
		assert.Equal(t, intent.Key, gi.Key)
		assert.Equal(t, intent.Contact, gi.Contact)
		assert.Equal(t, []string{"c7", "c9"}, gi.Existing)
		assert.True(t, gi.At.Equal(store.Time(first)))
	}
	got, err := s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	check(got)
	all, err := s.ListSyncStates(ctx, h.acct)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	check(all[0])

	// Neither the caller's value nor a returned one is the stored state.
	intent.Contact.AltEmails[0] = "changed-by-caller"
	got.CreateIntents["u3"].Contact.AltEmails[0] = "changed-by-reader"
	got.CreateIntents["u3"].Existing[0] = "changed-by-reader"
	delete(got.ContactFailures, "u1")
	again, err := s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, []string{"alt@contoso.example"}, again.CreateIntents["u3"].Contact.AltEmails)
	assert.Equal(t, []string{"c7", "c9"}, again.CreateIntents["u3"].Existing)
	assert.Len(t, again.ContactFailures, 2)

	// A state written without them has none: a resolved failure or intent is gone.
	require.NoError(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "tA", LastStart: t0}))
	got, err = s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Empty(t, got.ContactFailures)
	assert.Empty(t, got.CreateIntents)
	assert.Nil(t, got.ContactsError)
	assert.Zero(t, got.ContactsPending)
}

// testSyncStateHolds checks that the deletion guard's holds survive the store whole: a hold is
// what stops a mass removal, so one lost or changed in storage would let it through.
func testSyncStateHolds(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	since := t0.Add(-25*time.Hour + 123456789*time.Nanosecond)
	users := store.DeletionHold{
		Kind: tenantsync.KindUsers, Source: "cipp", Mode: tenantsync.Complete,
		IDs: []string{"u1", "u2", "u3"}, Removals: 3, Of: 12, Since: since, LastSeen: t0,
		Released: true, ReleasedBy: "alice@msp.example", ReleasedAt: t0.Add(time.Minute),
		Hint: "check the users in the admin centre, then release the hold",
	}
	devices := store.DeletionHold{Kind: tenantsync.KindDevices, Source: "graph", Mode: tenantsync.Changes,
		IDs: []string{"d1"}, Removals: 1, Of: 1, Disabled: 2, Recent: 7, Since: t0, LastSeen: t0}
	// The rolling window's tally is what lets the guard see a removal spread over several syncs.
	recent := []store.RecentLoss{{From: since, To: since.Add(time.Minute), Removed: 4, Disabled: 5}, {From: t0, To: t0, Removed: 1, Approved: 30}}
	st := store.SyncState{TenantID: "tA", LastStart: t0,
		Holds:  map[tenantsync.Kind]store.DeletionHold{tenantsync.KindUsers: users, tenantsync.KindDevices: devices},
		Recent: map[tenantsync.Kind][]store.RecentLoss{tenantsync.KindUsers: recent}}
	require.NoError(t, s.PutSyncState(ctx, h.acct, st))

	check := func(got store.SyncState) {
		t.Helper()
		require.Len(t, got.Holds, 2)
		gu := got.Holds[tenantsync.KindUsers]
		assert.Equal(t, tenantsync.KindUsers, gu.Kind)
		assert.Equal(t, "cipp", gu.Source)
		assert.Equal(t, tenantsync.Complete, gu.Mode)
		assert.Equal(t, []string{"u1", "u2", "u3"}, gu.IDs)
		assert.Equal(t, 3, gu.Removals)
		assert.Equal(t, 12, gu.Of)
		assert.True(t, gu.Since.Equal(store.Time(since)), "since %v, want %v", gu.Since, since)
		assert.True(t, gu.LastSeen.Equal(t0))
		assert.True(t, gu.Released)
		assert.Equal(t, "alice@msp.example", gu.ReleasedBy)
		assert.True(t, gu.ReleasedAt.Equal(t0.Add(time.Minute)))
		assert.Equal(t, users.Hint, gu.Hint)
		gd := got.Holds[tenantsync.KindDevices]
		assert.Equal(t, tenantsync.Changes, gd.Mode)
		assert.Equal(t, []string{"d1"}, gd.IDs)
		assert.False(t, gd.Released)
		assert.True(t, gd.ReleasedAt.IsZero())
		assert.Equal(t, 2, gd.Disabled)
		assert.Equal(t, 7, gd.Recent)
		require.Len(t, got.Recent[tenantsync.KindUsers], 2)
		gr := got.Recent[tenantsync.KindUsers][0]
		assert.True(t, gr.From.Equal(store.Time(since)), "from %v, want %v", gr.From, since)
		assert.True(t, gr.To.Equal(store.Time(since.Add(time.Minute))))
		assert.Equal(t, 4, gr.Removed)
		assert.Equal(t, 5, gr.Disabled)
		assert.Equal(t, 1, got.Recent[tenantsync.KindUsers][1].Removed)
		assert.Equal(t, 30, got.Recent[tenantsync.KindUsers][1].Approved)
	}
	got, err := s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	check(got)
	all, err := s.ListSyncStates(ctx, h.acct)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	check(all[0])

	// Neither the caller's value nor a returned one is the stored hold.
	users.IDs[0] = "changed-by-caller"
	recent[0].Removed = 99
	got.Holds[tenantsync.KindUsers].IDs[1] = "changed-by-reader"
	got.Recent[tenantsync.KindUsers][1].Removed = 99
	delete(got.Holds, tenantsync.KindDevices)
	again, err := s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	check(again)

	// A state written without holds has none: releasing or confirming a hold removes it.
	require.NoError(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "tA", LastStart: t0}))
	got, err = s.GetSyncState(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Empty(t, got.Holds)
	assert.Empty(t, got.Recent)
}

func testClientsAndContacts(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	c := tenantsync.Client{ID: "client-1", Name: "Contoso", Domains: []string{"contoso.example"}, TenantIDs: []string{"tA"}, ActiveUntil: t0}
	require.NoError(t, s.PutClient(ctx, h.acct, c))
	require.NoError(t, s.PutClient(ctx, h.acct, tenantsync.Client{ID: "client-0", Name: "Aardvark"}))
	got, err := s.GetClient(ctx, h.acct, "client-1")
	require.NoError(t, err)
	assert.Equal(t, c.Name, got.Name)
	assert.Equal(t, c.Domains, got.Domains)
	assert.Equal(t, c.TenantIDs, got.TenantIDs)
	assert.True(t, got.ActiveUntil.Equal(t0))
	list, err := s.ListClients(ctx, h.acct)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "client-0", list[0].ID)
	_, err = s.GetClient(ctx, h.acct, "nope")
	assertKind(t, err, tenantsync.ErrNotFound)
	assertKind(t, s.PutClient(ctx, h.acct, tenantsync.Client{Name: "no id"}), tenantsync.ErrInvalidInput)

	dir := store.ContactsFor(s, h.acct)
	created, err := dir.CreateContact(ctx, tenantsync.Contact{ClientID: "client-1", FirstName: "Ada", LastName: "L", Email: "ada@contoso.example", AltEmails: []string{"a@contoso.example"}, Active: true, TenantID: "tA", ObjectID: "u1"})
	require.NoError(t, err)
	assert.NotEmpty(t, created.ID)
	_, err = dir.CreateContact(ctx, tenantsync.Contact{ID: "fixed", ClientID: "client-1", FirstName: "Bob", Active: true})
	require.NoError(t, err)
	_, err = dir.CreateContact(ctx, tenantsync.Contact{ID: "fixed", ClientID: "client-1"})
	assertKind(t, err, tenantsync.ErrConflict)
	_, err = dir.CreateContact(ctx, tenantsync.Contact{FirstName: "no client"})
	assertKind(t, err, tenantsync.ErrInvalidInput)

	created.JobTitle = "CTO"
	require.NoError(t, dir.UpdateContact(ctx, created))
	require.NoError(t, dir.SetContactActive(ctx, "client-1", "fixed", false))
	cs, err := dir.ListContacts(ctx, "client-1")
	require.NoError(t, err)
	require.Len(t, cs, 2)
	byID := map[string]tenantsync.Contact{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	assert.Equal(t, created, byID[created.ID])
	assert.False(t, byID["fixed"].Active, "deactivated, not deleted")
	none, err := dir.ListContacts(ctx, "client-0")
	require.NoError(t, err)
	assert.Empty(t, none)
	assertKind(t, dir.UpdateContact(ctx, tenantsync.Contact{ID: "ghost", ClientID: "client-1"}), tenantsync.ErrNotFound)
	assertKind(t, dir.SetContactActive(ctx, "client-0", "fixed", true), tenantsync.ErrNotFound)
	one, err := s.GetContact(ctx, h.acct, "client-1", created.ID)
	require.NoError(t, err)
	assert.Equal(t, "CTO", one.JobTitle)
}

func testUnlink(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	linked(t, s, h.acct, "tKeep", "tPurge")
	contact, err := s.CreateContact(ctx, h.acct, tenantsync.Contact{ClientID: "client-1", FirstName: "Ada", Email: "u1@contoso.example", Active: true})
	require.NoError(t, err)
	for i, id := range []string{"tKeep", "tPurge"} {
		_, err := s.Commit(ctx, h.acct, store.Batch{
			TenantID: id,
			Kinds:    []store.KindApply{{Result: snapshot(users("", "u1", "u2"), "c1")}},
			Links:    []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: fmt.Sprint("k", i)}}},
			Reviews:  []store.Review{{ObjectID: "u2", Reason: "ambiguous"}},
			State:    &store.SyncState{LastSuccess: t0},
		})
		require.NoError(t, err)
		require.NoError(t, s.RememberMerge(ctx, h.acct, store.Merge{TenantID: id, ObjectID: "u1", ClientID: "client-1", ContactID: fmt.Sprint("k", i)}))
	}
	require.NoError(t, s.SetContactLink(ctx, h.acct, store.ContactLink{TenantID: "tPurge", ObjectID: "u2", ClientID: "client-1", ContactID: contact.ID}))

	require.NoError(t, s.UnlinkTenant(ctx, h.acct, "tKeep", store.UnlinkKeep))
	require.NoError(t, s.UnlinkTenant(ctx, h.acct, "tPurge", store.UnlinkPurge))

	keep, err := s.GetTenant(ctx, h.acct, "tKeep")
	require.NoError(t, err)
	assert.False(t, keep.Linked())
	assert.False(t, keep.Syncing)
	assert.Equal(t, []string{"u1", "u2"}, userIDs(t, s, h.acct, "tKeep"))
	cursors, err := s.Cursors(ctx, h.acct, "tKeep")
	require.NoError(t, err)
	assert.Equal(t, "c1", cursors[tenantsync.KindUsers])
	links, err := s.ListContactLinks(ctx, h.acct, "tKeep")
	require.NoError(t, err)
	assert.Len(t, links, 1)
	merges, err := s.ListMerges(ctx, h.acct, "tKeep")
	require.NoError(t, err)
	assert.Len(t, merges, 1)
	_, err = s.GetSyncState(ctx, h.acct, "tKeep")
	require.NoError(t, err)
	reviews, err := s.ListReviews(ctx, h.acct, store.ReviewFilter{TenantID: "tKeep"})
	require.NoError(t, err)
	assert.Len(t, reviews, 1)

	purged, err := s.GetTenant(ctx, h.acct, "tPurge")
	require.NoError(t, err, "purge keeps the discovered tenant")
	assert.False(t, purged.Linked())
	assert.False(t, purged.Syncing)
	assert.Empty(t, userIDs(t, s, h.acct, "tPurge"))
	counts, err := s.MirrorCounts(ctx, h.acct, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, counts)
	cursors, err = s.Cursors(ctx, h.acct, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, cursors)
	links, err = s.ListContactLinks(ctx, h.acct, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, links)
	merges, err = s.ListMerges(ctx, h.acct, "tPurge")
	require.NoError(t, err)
	assert.Empty(t, merges)
	_, err = s.GetSyncState(ctx, h.acct, "tPurge")
	assertKind(t, err, tenantsync.ErrNotFound)
	reviews, err = s.ListReviews(ctx, h.acct, store.ReviewFilter{TenantID: "tPurge", IncludeResolved: true})
	require.NoError(t, err)
	assert.Empty(t, reviews)

	// PSA contacts are untouched, and the purged links no longer hold their contacts.
	got, err := s.GetContact(ctx, h.acct, "client-1", contact.ID)
	require.NoError(t, err)
	assert.True(t, got.Active)
	require.NoError(t, s.SetContactLink(ctx, h.acct, store.ContactLink{TenantID: "tKeep", ObjectID: "u9", ClientID: "client-1", ContactID: contact.ID}))

	// A purged tenant starts again from nothing: no cursor to expect.
	require.NoError(t, s.LinkTenant(ctx, h.acct, "tPurge", "client-1", t0))
	_, err = s.Apply(ctx, h.acct, "tPurge", store.KindApply{Result: snapshot(users("", "u1"), "c9")})
	require.NoError(t, err)
	assertKind(t, s.UnlinkTenant(ctx, h.acct, "missing", store.UnlinkPurge), tenantsync.ErrNotFound)
}

func testLeases(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	l, err := s.AcquireLease(ctx, h.acct, "tA", "h1", t0, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "h1", l.Holder)
	assert.True(t, l.ExpiresAt.Equal(t0.Add(time.Minute)))

	_, err = s.AcquireLease(ctx, h.acct, "tA", "h2", t0.Add(30*time.Second), time.Minute)
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	var held *store.LeaseHeldError
	require.ErrorAs(t, err, &held)
	assert.Equal(t, "h1", held.Holder)
	assert.True(t, held.Until.Equal(t0.Add(time.Minute)))
	assert.Contains(t, err.Error(), "h1")

	l, err = s.AcquireLease(ctx, h.acct, "tA", "h1", t0.Add(30*time.Second), time.Minute)
	require.NoError(t, err, "the holder may acquire again to extend")
	assert.True(t, l.ExpiresAt.Equal(t0.Add(90*time.Second)))
	l, err = s.RenewLease(ctx, h.acct, "tA", "h1", t0.Add(80*time.Second), time.Minute)
	require.NoError(t, err)
	assert.True(t, l.ExpiresAt.Equal(t0.Add(140*time.Second)))

	// h1 stops renewing: once expired, h2 takes over.
	_, err = s.AcquireLease(ctx, h.acct, "tA", "h2", t0.Add(139*time.Second), time.Minute)
	assertKind(t, err, tenantsync.ErrAlreadyRunning)
	l, err = s.AcquireLease(ctx, h.acct, "tA", "h2", t0.Add(140*time.Second), time.Minute)
	require.NoError(t, err, "an expired lease can be taken")
	assert.Equal(t, "h2", l.Holder)
	assert.True(t, l.AcquiredAt.Equal(t0.Add(140*time.Second)))

	_, err = s.RenewLease(ctx, h.acct, "tA", "h1", t0.Add(150*time.Second), time.Minute)
	require.ErrorAs(t, err, &held, "the old holder learns it lost the lease")
	assert.Equal(t, "h2", held.Holder)
	require.NoError(t, s.ReleaseLease(ctx, h.acct, "tA", "h1"), "releasing someone else's lease changes nothing")
	got, err := s.GetLease(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Equal(t, "h2", got.Holder)

	require.NoError(t, s.ReleaseLease(ctx, h.acct, "tA", "h2"))
	_, err = s.GetLease(ctx, h.acct, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.RenewLease(ctx, h.acct, "tA", "h2", t0.Add(160*time.Second), time.Minute)
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.AcquireLease(ctx, h.acct, "tA", "h1", t0.Add(160*time.Second), time.Minute)
	require.NoError(t, err)

	_, err = s.AcquireLease(ctx, h.acct, "missing", "h1", t0, time.Minute)
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.AcquireLease(ctx, h.acct, "tA", "", t0, time.Minute)
	assertKind(t, err, tenantsync.ErrInvalidInput)
	_, err = s.AcquireLease(ctx, h.acct, "tA", "h1", t0, 0)
	assertKind(t, err, tenantsync.ErrInvalidInput)
}

func testAcquireDue(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	var due []string
	for i := range 8 {
		due = append(due, fmt.Sprintf("t%02d", i))
	}
	discover(t, s, h.acct, append(slices.Clone(due), "unlinked", "later", "paused")...)
	for _, id := range append(slices.Clone(due), "later", "paused") {
		require.NoError(t, s.LinkTenant(ctx, h.acct, id, "client-1", t0))
	}
	require.NoError(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "later", NextDue: t0.Add(time.Hour)}))
	require.NoError(t, s.SetSyncing(ctx, h.acct, "paused", false))
	// Never-synced tenants first, then the longest due: t07 before t06.
	require.NoError(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "t07", NextDue: t0.Add(-time.Hour)}))
	require.NoError(t, s.PutSyncState(ctx, h.acct, store.SyncState{TenantID: "t06", NextDue: t0}))
	claimed := func(ls []store.Lease) []string {
		ids := []string{}
		for _, l := range ls {
			ids = append(ids, l.TenantID)
		}
		return ids
	}

	first, err := s.AcquireDue(ctx, h.acct, "h1", t0, time.Minute, 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"t00", "t01", "t02"}, claimed(first), "never-synced tenants first")
	got := map[string]string{}
	for _, l := range first {
		got[l.TenantID] = l.Holder
		assert.Equal(t, "h1", l.Holder)
		assert.True(t, l.ExpiresAt.Equal(t0.Add(time.Minute)))
	}

	again, err := s.AcquireDue(ctx, h.acct, "h1", t0, time.Minute, 4)
	require.NoError(t, err)
	assert.Equal(t, []string{"t03", "t04", "t05", "t07"}, claimed(again), "the longest-due tenant before the one due now")
	rest, err := s.AcquireDue(ctx, h.acct, "h2", t0, time.Minute, 100)
	require.NoError(t, err)
	assert.Equal(t, []string{"t06"}, claimed(rest))
	for _, l := range append(again, rest...) {
		_, dup := got[l.TenantID]
		assert.False(t, dup, "tenant %s handed out twice", l.TenantID)
		got[l.TenantID] = l.Holder
	}
	assert.ElementsMatch(t, due, slices.Collect(maps.Keys(got)), "exactly the due, linked, syncing tenants")

	none, err := s.AcquireDue(ctx, h.acct, "h3", t0.Add(59*time.Second), time.Minute, 100)
	require.NoError(t, err)
	assert.Empty(t, none)

	// After expiry, and once "later" is due, h3 takes over everything.
	after, err := s.AcquireDue(ctx, h.acct, "h3", t0.Add(time.Hour), time.Minute, 100)
	require.NoError(t, err)
	ids := []string{}
	for _, l := range after {
		ids = append(ids, l.TenantID)
		assert.Equal(t, "h3", l.Holder)
	}
	assert.ElementsMatch(t, append(slices.Clone(due), "later"), ids)

	// Vanished tenants are not synced.
	_, err = s.RecordDiscovery(ctx, h.acct, "cipp", nil, t0.Add(2*time.Hour))
	require.NoError(t, err)
	none, err = s.AcquireDue(ctx, h.acct, "h4", t0.Add(3*time.Hour), time.Minute, 100)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testIsolation(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	a, b := h.acct, h.other()
	linked(t, s, a, "tA")
	require.NoError(t, s.PutConnection(ctx, a, store.Connection{Name: "cipp", Kind: store.ConnectionCIPP, Secret: store.NewSecret("a-secret")}))
	_, err := s.Commit(ctx, a, store.Batch{TenantID: "tA",
		Kinds:   []store.KindApply{{Result: snapshot(users("", "u1"), "c1")}},
		Links:   []store.LinkChange{{Link: store.ContactLink{ObjectID: "u1", ClientID: "client-1", ContactID: "k1"}}},
		Reviews: []store.Review{{ObjectID: "u1", Reason: "r"}},
		State:   &store.SyncState{LastSuccess: t0}})
	require.NoError(t, err)
	require.NoError(t, s.RememberMerge(ctx, a, store.Merge{TenantID: "tA", ObjectID: "u1", ClientID: "client-1", ContactID: "k1"}))
	require.NoError(t, s.PutClient(ctx, a, tenantsync.Client{ID: "client-1", Name: "A's client"}))
	contact, err := s.CreateContact(ctx, a, tenantsync.Contact{ClientID: "client-1", FirstName: "Ada", Active: true})
	require.NoError(t, err)
	_, err = s.AppendAudit(ctx, a, tenantsync.AuditEntry{Action: "link", At: t0})
	require.NoError(t, err)
	_, err = s.AcquireLease(ctx, a, "tA", "h1", t0, time.Hour)
	require.NoError(t, err)
	reviews, err := s.ListReviews(ctx, a, store.ReviewFilter{})
	require.NoError(t, err)
	require.Len(t, reviews, 1)

	// Nothing of A is visible from B.
	_, err = s.GetConnection(ctx, b, "cipp")
	assertKind(t, err, tenantsync.ErrNotFound)
	conns, err := s.ListConnections(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, conns)
	_, err = s.GetTenant(ctx, b, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)
	tenants, err := s.ListTenants(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, tenants)
	_, err = s.ReadKind(ctx, b, "tA", tenantsync.KindUsers)
	assertKind(t, err, tenantsync.ErrNotFound)
	_, err = s.GetUser(ctx, b, "tA", "u1")
	assertKind(t, err, tenantsync.ErrNotFound)
	cursors, err := s.Cursors(ctx, b, "tA")
	require.NoError(t, err)
	assert.Empty(t, cursors)
	counts, err := s.MirrorCounts(ctx, b, "tA")
	require.NoError(t, err)
	assert.Empty(t, counts)
	_, err = s.GetContactLink(ctx, b, "tA", "u1")
	assertKind(t, err, tenantsync.ErrNotFound)
	links, err := s.ListContactLinks(ctx, b, "tA")
	require.NoError(t, err)
	assert.Empty(t, links)
	merges, err := s.ListMerges(ctx, b, "tA")
	require.NoError(t, err)
	assert.Empty(t, merges)
	rs, err := s.ListReviews(ctx, b, store.ReviewFilter{IncludeResolved: true})
	require.NoError(t, err)
	assert.Empty(t, rs)
	_, err = s.GetSyncState(ctx, b, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)
	states, err := s.ListSyncStates(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, states)
	_, err = s.GetClient(ctx, b, "client-1")
	assertKind(t, err, tenantsync.ErrNotFound)
	clients, err := s.ListClients(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, clients)
	_, err = s.GetContact(ctx, b, "client-1", contact.ID)
	assertKind(t, err, tenantsync.ErrNotFound)
	contacts, err := s.ListContacts(ctx, b, "client-1")
	require.NoError(t, err)
	assert.Empty(t, contacts)
	entries, err := s.ListAudit(ctx, b, store.AuditQuery{})
	require.NoError(t, err)
	assert.Empty(t, entries)
	rep, err := s.VerifyAudit(ctx, b, nil)
	require.NoError(t, err)
	assert.Equal(t, 0, rep.Entries)
	_, err = s.GetLease(ctx, b, "tA")
	assertKind(t, err, tenantsync.ErrNotFound)
	due, err := s.AcquireDue(ctx, b, "h2", t0.Add(2*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, due)

	// Nothing of A is changeable from B.
	assertKind(t, s.DeleteConnection(ctx, b, "cipp"), tenantsync.ErrNotFound)
	n, err := s.RotateSecrets(ctx, b)
	require.NoError(t, err)
	assert.Zero(t, n)
	assertKind(t, s.LinkTenant(ctx, b, "tA", "client-2", t0), tenantsync.ErrNotFound)
	assertKind(t, s.UnlinkTenant(ctx, b, "tA", store.UnlinkPurge), tenantsync.ErrNotFound)
	assertKind(t, s.SetSyncing(ctx, b, "tA", false), tenantsync.ErrNotFound)
	_, err = s.Apply(ctx, b, "tA", store.KindApply{Result: snapshot(nil, "")})
	assertKind(t, err, tenantsync.ErrNotFound)
	assertKind(t, s.SetContactLink(ctx, b, store.ContactLink{TenantID: "tA", ObjectID: "u2", ClientID: "client-1", ContactID: "k2"}), tenantsync.ErrNotFound)
	require.NoError(t, s.DeleteContactLink(ctx, b, "tA", "u1"))
	require.NoError(t, s.ForgetMerge(ctx, b, "tA", "u1"))
	_, err = s.ResolveReview(ctx, b, reviews[0].ID, store.ResolutionIgnore, "mallory", t0)
	assertKind(t, err, tenantsync.ErrNotFound)
	assertKind(t, s.PutSyncState(ctx, b, store.SyncState{TenantID: "tA"}), tenantsync.ErrNotFound)
	assertKind(t, s.UpdateContact(ctx, b, tenantsync.Contact{ID: contact.ID, ClientID: "client-1"}), tenantsync.ErrNotFound)
	assertKind(t, s.SetContactActive(ctx, b, "client-1", contact.ID, false), tenantsync.ErrNotFound)
	_, err = s.AcquireLease(ctx, b, "tA", "h2", t0, time.Minute)
	assertKind(t, err, tenantsync.ErrNotFound)
	require.NoError(t, s.ReleaseLease(ctx, b, "tA", "h1"))
	_, err = s.AppendAudit(ctx, b, tenantsync.AuditEntry{Action: "b's own"})
	require.NoError(t, err)

	// The same Entra tenant may belong to both accounts, each with its own state.
	discover(t, s, b, "tA")
	require.NoError(t, s.LinkTenant(ctx, b, "tA", "b-client", t0))
	_, err = s.Apply(ctx, b, "tA", store.KindApply{Result: snapshot(users("", "bu1"), "b1")})
	require.NoError(t, err)
	require.NoError(t, s.SetContactLink(ctx, b, store.ContactLink{TenantID: "tA", ObjectID: "bu1", ClientID: "client-1", ContactID: "k1"}), "contact IDs are per account")
	_, err = s.AcquireLease(ctx, b, "tA", "h2", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.UnlinkTenant(ctx, b, "tA", store.UnlinkPurge))

	// A is intact.
	ta, err := s.GetTenant(ctx, a, "tA")
	require.NoError(t, err)
	assert.Equal(t, "client-1", ta.ClientID)
	assert.True(t, ta.Syncing)
	assert.Equal(t, []string{"u1"}, userIDs(t, s, a, "tA"))
	c, err := s.GetConnection(ctx, a, "cipp")
	require.NoError(t, err)
	assert.Equal(t, "a-secret", c.Secret.Reveal())
	l, err := s.GetContactLink(ctx, a, "tA", "u1")
	require.NoError(t, err)
	assert.Equal(t, "k1", l.ContactID)
	merges, err = s.ListMerges(ctx, a, "tA")
	require.NoError(t, err)
	assert.Len(t, merges, 1)
	rs, err = s.ListReviews(ctx, a, store.ReviewFilter{})
	require.NoError(t, err)
	assert.Len(t, rs, 1)
	_, err = s.GetSyncState(ctx, a, "tA")
	require.NoError(t, err)
	got, err := s.GetContact(ctx, a, "client-1", contact.ID)
	require.NoError(t, err)
	assert.True(t, got.Active)
	lease, err := s.GetLease(ctx, a, "tA")
	require.NoError(t, err)
	assert.Equal(t, "h1", lease.Holder)
	rep, err = s.VerifyAudit(ctx, a, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK())
	assert.Equal(t, 1, rep.Entries)
}

func testConcurrentApply(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA")
	const writers, each = 6, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conflicts int
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				cursors, err := s.Cursors(ctx, h.acct, "tA")
				if err != nil {
					errs <- err
					return
				}
				id := fmt.Sprintf("w%d-u%d", w, i)
				_, err = s.Apply(ctx, h.acct, "tA", store.KindApply{Result: changes(users("", id), nil, "after-"+id), ExpectCursor: cursors[tenantsync.KindUsers]})
				switch {
				case err == nil:
					i++
				case errors.Is(err, tenantsync.ErrConflict):
					mu.Lock()
					conflicts++
					mu.Unlock()
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, userIDs(t, s, h.acct, "tA"), writers*each, "every successful compare-and-set kept its user")
	cursors, err := s.Cursors(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Regexp(t, `^after-w\d-u\d$`, cursors[tenantsync.KindUsers])
	t.Logf("%d compare-and-set conflicts retried", conflicts)
}

func testConcurrentLinksAndLeases(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	discover(t, s, h.acct, "tA", "tB")
	const n = 8
	var wg sync.WaitGroup
	linkErrs := make([]error, n)
	leaseErrs := make([]error, n)
	linkTenantErrs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			linkErrs[i] = s.SetContactLink(ctx, h.acct, store.ContactLink{TenantID: "tA", ObjectID: fmt.Sprint("u", i), ClientID: "client-1", ContactID: "contested"})
			_, leaseErrs[i] = s.AcquireLease(ctx, h.acct, "tB", fmt.Sprint("h", i), t0, time.Minute)
			linkTenantErrs[i] = s.LinkTenant(ctx, h.acct, "tB", fmt.Sprint("client-", i), t0)
		}()
	}
	wg.Wait()
	count := func(errs []error, kind error) (ok int) {
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				assert.ErrorIs(t, err, kind)
			}
		}
		return ok
	}
	assert.Equal(t, 1, count(linkErrs, tenantsync.ErrConflict), "one user wins a contested contact")
	assert.Equal(t, 1, count(leaseErrs, tenantsync.ErrAlreadyRunning), "one holder wins a lease")
	assert.Equal(t, 1, count(linkTenantErrs, tenantsync.ErrAlreadyLinked), "one client wins a tenant")
	links, err := s.ListContactLinks(ctx, h.acct, "tA")
	require.NoError(t, err)
	assert.Len(t, links, 1)
}

func testConcurrentAudit(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	const writers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.AppendAudit(ctx, h.acct, tenantsync.AuditEntry{At: t0, Actor: fmt.Sprint("w", w), Action: "suspend", Target: fmt.Sprint(i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	all, err := s.ListAudit(ctx, h.acct, store.AuditQuery{})
	require.NoError(t, err)
	require.Len(t, all, writers*each)
	for i, e := range all {
		assert.Equal(t, int64(i+1), e.Seq)
	}
	rep, err := s.VerifyAudit(ctx, h.acct, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "concurrent appends forked the chain: %+v", rep)
	assert.Equal(t, writers*each, rep.Entries)
}
