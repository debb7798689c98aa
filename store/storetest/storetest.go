package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
		{"DiscoveryLastSeen", testDiscoveryLastSeen},
		{"Linking", testLinking},
		{"ApplySnapshotAndChanges", testApply},
		{"ApplyEveryKind", testApplyEveryKind},
		{"ReadKindReturnsCopies", testReadCopies},
		{"ReadItems", testReadItems},
		{"CursorCompareAndSet", testCursorCAS},
		{"CommitIsAtomic", testCommitAtomic},
		{"CommitDiffsEachKind", testCommitDiffsEachKind},
		{"ContactLinkUniqueness", testContactLinks},
		{"Merges", testMerges},
		{"Reviews", testReviews},
		{"SyncState", testSyncState},
		{"ClientsAndContacts", testClientsAndContacts},
		{"Assets", testAssets},
		{"UnlinkKeepVersusPurge", testUnlink},
		{"ClientTenants", testClientTenants},
		{"Audit", testAudit},
		{"AuditTamperDetection", testAuditTamper},
		{"AuditExpectedHead", testAuditExpectedHead},
		{"AuditKeyRotation", testAuditKeyRotation},
		{"Leases", testLeases},
		{"AcquireDue", testAcquireDue},
		{"AcquireDueFollowsState", testAcquireDueFollowsState},
		{"AccountIsolation", testIsolation},
		{"ConcurrentApply", testConcurrentApply},
		{"ConcurrentLinksAndLeases", testConcurrentLinksAndLeases},
		{"ConcurrentAudit", testConcurrentAudit},
		{"ChangeFeed", testFeed},
		{"ChangeFeedRetention", testFeedRetention},
		{"ChangeFeedTwoConsumersAndACrash", testFeedConsumers},
		{"ChangeFeedConcurrentCommits", testFeedConcurrent},
		{"ChangeFeedLargeCommits", testFeedLargeCommits},
		{"StagedApply", testStage},
		{"BillingHistory", testBillingHistory},
		{"Settings", testSettings},
		{"Disconnect", testDisconnect},
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

// dir returns the account's default directory, skipping the test for a store without one
// (Directory is optional: a store for a PSA with its own contacts need not have it).
func (h *harness) dir(t *testing.T, acct string) store.Directory {
	p, ok := h.s.(store.DirectoryProvider)
	if !ok {
		t.Skip("the store has no default Directory")
	}
	return p.Directory(acct)
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
	d, err := s.Account(acct).Tenants.RecordDiscovery(t.Context(), "cipp", ts, t0)
	require.NoError(t, err)
	return d
}

// linked discovers and links tenants to client "client-1".
func linked(t *testing.T, s store.Store, acct string, ids ...string) {
	t.Helper()
	discover(t, s, acct, ids...)
	for _, id := range ids {
		require.NoError(t, s.Account(acct).Tenants.Link(t.Context(), id, "client-1", t0))
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
	r, err := s.Account(acct).Mirror.ReadKind(t.Context(), tenant, tenantsync.KindUsers)
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
