package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// AuditTamperer reaches a store's audit log below its API, as someone with write access to
// its database would. Implement it in the store's test code only (an export_test.go), never
// in the store users import: the suite uses it to prove that VerifyAudit notices tampering.
type AuditTamperer interface {
	// RawAudit returns the account's stored entries in Seq order, exactly as stored, and the
	// head the store records beside them (the zero head when it records none).
	RawAudit(ctx context.Context, account string) ([]tenantsync.AuditEntry, store.AuditHead, error)
	// SetRawAudit replaces the account's stored entries and recorded head with these, stored
	// exactly as given, with no check and no chaining.
	SetRawAudit(ctx context.Context, account string, entries []tenantsync.AuditEntry, head store.AuditHead) error
}

func testAudit(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	rep, err := s.Account(h.acct).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK())
	assert.Equal(t, 0, rep.Entries)
	assert.True(t, rep.Head.IsZero(), "an empty log has the zero head")

	_, key, err := h.keys.CurrentKey(ctx)
	require.NoError(t, err)
	var prev tenantsync.AuditEntry
	for i := range 5 {
		e, err := s.Account(h.acct).Audit.Append(ctx, tenantsync.AuditEntry{
			At: t0.Add(time.Duration(i) * time.Second), Actor: "alice", Action: string(tenantsync.ActionBlockSignIn),
			TenantID: []string{"tA", "tB"}[i%2], Target: fmt.Sprint("u", i), Phase: "intent", Outcome: "requested",
			Detail: map[string]string{"reason": "offboarding", "ticket": fmt.Sprint(1000 + i)},
		})
		require.NoError(t, err)
		assert.Equal(t, int64(i+1), e.Seq)
		assert.Equal(t, h.acct, e.Account)
		assert.Equal(t, prev.Hash, e.PrevHash)
		assert.Equal(t, "k1", e.KeyID, "entries name the key that keys them")
		assert.Len(t, e.Hash, 64)
		mac, err := store.AuditMAC(key, e)
		require.NoError(t, err)
		assert.Equal(t, mac, e.Hash, "the hash is the entry's MAC under the current key")
		assert.NotEqual(t, store.AuditHash(e), e.Hash, "the chain is keyed, not a hash anyone can recompute")
		prev = e
	}
	e, err := s.Account(h.acct).Audit.Append(ctx, tenantsync.AuditEntry{Action: "link"})
	require.NoError(t, err)
	assert.False(t, e.At.IsZero(), "the store stamps entries without a time")

	all, err := s.Account(h.acct).Audit.List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	require.Len(t, all, 6)
	assert.Equal(t, "1002", all[2].Detail["ticket"])
	assert.True(t, all[1].At.Equal(t0.Add(time.Second)))
	assert.Equal(t, prev, all[4])
	page, err := s.Account(h.acct).Audit.List(ctx, store.AuditQuery{AfterSeq: 2, Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, int64(3), page[0].Seq)
	tb, err := s.Account(h.acct).Audit.List(ctx, store.AuditQuery{TenantID: "tB"})
	require.NoError(t, err)
	assert.Len(t, tb, 2)

	rep, err = s.Account(h.acct).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "intact chain: %+v", rep)
	assert.Equal(t, 6, rep.Entries)
	assert.Equal(t, store.AuditHead{Seq: 6, Hash: all[5].Hash}, rep.Head)
}

// auditLog is an account's stored audit log, as AuditTamperer reaches it.
type auditLog struct {
	entries []tenantsync.AuditEntry
	head    store.AuditHead
}

// rechain recomputes the links and hashes of the entries from index from on with hash, as
// someone covering their tracks would, and moves the recorded head to the last entry.
func (l *auditLog) rechain(t *testing.T, from int, hash func(tenantsync.AuditEntry) string) {
	t.Helper()
	for i := from; i < len(l.entries); i++ {
		e := &l.entries[i]
		e.PrevHash = ""
		if i > 0 {
			e.PrevHash = l.entries[i-1].Hash
		}
		e.Hash = hash(*e)
	}
	l.head = store.AuditHead{}
	if n := len(l.entries); n > 0 {
		l.head = store.AuditHead{Seq: l.entries[n-1].Seq, Hash: l.entries[n-1].Hash}
	}
}

// renumber gives the entries the sequence numbers 1, 2, ... in their order.
func (l *auditLog) renumber() {
	for i := range l.entries {
		l.entries[i].Seq = int64(i + 1)
	}
}

// macWith returns a hash function computing entries' MACs under key, with key ID id.
func macWith(t *testing.T, id string, key []byte) func(tenantsync.AuditEntry) string {
	return func(e tenantsync.AuditEntry) string {
		e.KeyID = id
		mac, err := store.AuditMAC(key, e)
		require.NoError(t, err)
		return mac
	}
}

func randomKey(t *testing.T) []byte {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key
}

// unkeyed makes the entries from index from on look like entries written before the log was
// keyed: no key ID, the unkeyed hash.
func unkeyed(l *auditLog, from int) {
	for i := from; i < len(l.entries); i++ {
		l.entries[i].KeyID = ""
	}
}

func testAuditTamper(t *testing.T, h *harness) {
	tamperer, ok := h.s.(AuditTamperer)
	if !ok {
		t.Skip("the store's tests do not implement storetest.AuditTamperer; tamper detection is not exercised")
	}
	ctx := t.Context()
	// Each tampering changes a log of five entries (head: entry 5) and is verified twice: as
	// the store stands, and against the head recorded before the tampering, kept outside the
	// database. broken is the first broken entry each time, 0 when the tampering goes
	// unnoticed: what an attacker without the key can do undetected without an external head
	// is exactly truncating the log together with its head.
	cases := []struct {
		name   string
		tamper func(t *testing.T, l *auditLog)
		// regrow appends entries through the store after the tampering, as the engine would.
		regrow               int
		broken, brokenExpect int64
	}{
		{"outcome rewritten", func(_ *testing.T, l *auditLog) { l.entries[2].Outcome = "succeeded" }, 0, 3, 3},
		{"detail added", func(_ *testing.T, l *auditLog) { l.entries[1].Detail = map[string]string{"approved_by": "mallory"} }, 0, 2, 2},
		{"time moved", func(_ *testing.T, l *auditLog) { l.entries[3].At = l.entries[3].At.Add(-time.Hour) }, 0, 4, 4},
		{"first entry's link forged", func(_ *testing.T, l *auditLog) { l.entries[0].PrevHash = "00" }, 0, 1, 1},
		{"actor rewritten and the unkeyed hash recomputed to the end", func(t *testing.T, l *auditLog) {
			l.entries[2].Actor = "mallory"
			l.rechain(t, 2, store.AuditHash)
		}, 0, 3, 3},
		{"actor rewritten and the rest rewritten as unkeyed entries", func(t *testing.T, l *auditLog) {
			l.entries[2].Actor = "mallory"
			unkeyed(l, 2)
			l.rechain(t, 2, store.AuditHash)
		}, 0, 3, 3},
		{"whole log rewritten as unkeyed entries", func(t *testing.T, l *auditLog) {
			l.entries[2].Actor = "mallory"
			unkeyed(l, 0)
			l.rechain(t, 0, store.AuditHash)
		}, 0, 1, 1},
		{"actor rewritten and recomputed under a wrong key with the right key ID", func(t *testing.T, l *auditLog) {
			l.entries[2].Actor = "mallory"
			l.rechain(t, 2, macWith(t, "k1", randomKey(t)))
		}, 0, 3, 3},
		{"tail deleted, head left", func(_ *testing.T, l *auditLog) { l.entries = l.entries[:3] }, 0, 4, 4},
		{"tail deleted and head rolled back", func(t *testing.T, l *auditLog) {
			l.entries = l.entries[:3]
			l.head = store.AuditHead{Seq: 3, Hash: l.entries[2].Hash}
		}, 0, 0, 4},
		{"tail deleted, head rolled back and the log written on", func(t *testing.T, l *auditLog) {
			l.entries = l.entries[:3]
			l.head = store.AuditHead{Seq: 3, Hash: l.entries[2].Hash}
		}, 3, 0, 5},
		{"everything deleted", func(_ *testing.T, l *auditLog) { l.entries, l.head = nil, store.AuditHead{} }, 0, 0, 1},
		{"entry deleted from the middle", func(_ *testing.T, l *auditLog) { l.entries = slices.Delete(l.entries, 2, 3) }, 0, 4, 4},
		{"entry deleted from the middle, the rest renumbered and the head moved", func(t *testing.T, l *auditLog) {
			l.entries = slices.Delete(l.entries, 2, 3)
			l.renumber()
			last := l.entries[len(l.entries)-1]
			l.head = store.AuditHead{Seq: last.Seq, Hash: last.Hash}
		}, 0, 3, 3},
		{"two entries swapped", func(_ *testing.T, l *auditLog) {
			l.entries[1], l.entries[2] = l.entries[2], l.entries[1]
			l.renumber()
		}, 0, 2, 2},
		{"two entries swapped and relinked without the key", func(t *testing.T, l *auditLog) {
			l.entries[1], l.entries[2] = l.entries[2], l.entries[1]
			l.renumber()
			l.rechain(t, 1, store.AuditHash)
		}, 0, 2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acct := h.acct + "-" + randomID()
			for i := range 5 {
				_, err := h.s.Account(acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0.Add(time.Duration(i) * time.Minute), Actor: "alice",
					Action: "suspend", Outcome: "requested", Detail: map[string]string{"n": fmt.Sprint(i)}})
				require.NoError(t, err)
			}
			before, err := h.s.Account(acct).Audit.Verify(ctx, nil)
			require.NoError(t, err)
			require.True(t, before.OK(), "%+v", before)
			anchor := before.Head

			var l auditLog
			l.entries, l.head, err = tamperer.RawAudit(ctx, acct)
			require.NoError(t, err)
			require.Len(t, l.entries, 5)
			require.Equal(t, anchor, l.head, "the raw log is the log VerifyAudit read")
			tc.tamper(t, &l)
			require.NoError(t, tamperer.SetRawAudit(ctx, acct, l.entries, l.head))
			for i := range tc.regrow {
				_, err := h.s.Account(acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0.Add(time.Hour), Actor: "bob", Action: "link", Target: fmt.Sprint(i)})
				require.NoError(t, err)
			}

			for _, check := range []struct {
				expect *store.AuditHead
				broken int64
			}{{nil, tc.broken}, {&anchor, tc.brokenExpect}} {
				rep, err := h.s.Account(acct).Audit.Verify(ctx, check.expect)
				require.NoError(t, err)
				what := "without an expected head"
				if check.expect != nil {
					what = "against the head recorded before"
				}
				assert.Equal(t, check.broken, rep.FirstBroken, "%s: %+v", what, rep)
				if check.broken != 0 {
					assert.NotEmpty(t, rep.Reason, what)
					assert.Less(t, rep.Head.Seq, check.broken, "%s: the head returned is an entry that verified", what)
				}
			}
		})
	}

	t.Run("entries rewritten under a key the provider does not have", func(t *testing.T) {
		acct := h.acct + "-" + randomID()
		for i := range 5 {
			_, err := h.s.Account(acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0, Actor: "alice", Action: "suspend", Target: fmt.Sprint(i)})
			require.NoError(t, err)
		}
		var l auditLog
		var err error
		l.entries, l.head, err = tamperer.RawAudit(ctx, acct)
		require.NoError(t, err)
		l.entries[2].Actor = "mallory"
		for i := 2; i < len(l.entries); i++ {
			l.entries[i].KeyID = "forged"
		}
		l.rechain(t, 2, macWith(t, "forged", randomKey(t)))
		require.NoError(t, tamperer.SetRawAudit(ctx, acct, l.entries, l.head))
		rep, err := h.s.Account(acct).Audit.Verify(ctx, nil)
		assertKind(t, err, tenantsync.ErrNotFound)
		assert.False(t, rep.OK() && rep.Entries > 0, "a log that cannot be verified is not reported intact: %+v", rep)
		var ke *store.AuditKeyError
		require.ErrorAs(t, err, &ke)
		assert.Equal(t, "forged", ke.KeyID)
		assert.Equal(t, int64(3), ke.Seq)
	})
}

func testAuditExpectedHead(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	appendN := func(n int) {
		for i := range n {
			_, err := s.Account(h.acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0, Actor: "alice", Action: "link", Target: fmt.Sprint(i)})
			require.NoError(t, err)
		}
	}
	empty, err := s.Account(h.acct).Audit.Verify(ctx, &store.AuditHead{})
	require.NoError(t, err)
	assert.True(t, empty.OK(), "the zero head is on every chain: %+v", empty)

	appendN(3)
	first, err := s.Account(h.acct).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	require.True(t, first.OK())
	require.Equal(t, int64(3), first.Head.Seq)
	appendN(2)

	later, err := s.Account(h.acct).Audit.Verify(ctx, &first.Head)
	require.NoError(t, err)
	assert.True(t, later.OK(), "a head from before is still on the grown chain: %+v", later)
	assert.Equal(t, int64(5), later.Head.Seq)
	assert.Equal(t, 5, later.Entries)
	same, err := s.Account(h.acct).Audit.Verify(ctx, &later.Head)
	require.NoError(t, err)
	assert.True(t, same.OK(), "the current head is on the chain: %+v", same)

	ahead, err := s.Account(h.acct).Audit.Verify(ctx, &store.AuditHead{Seq: 7, Hash: later.Head.Hash})
	require.NoError(t, err)
	assert.Equal(t, int64(6), ahead.FirstBroken, "a chain shorter than the expected head is broken after its end: %+v", ahead)
	assert.Equal(t, later.Head, ahead.Head)

	other := first.Head
	other.Hash = later.Head.Hash
	moved, err := s.Account(h.acct).Audit.Verify(ctx, &other)
	require.NoError(t, err)
	assert.Equal(t, int64(3), moved.FirstBroken, "an entry that is not the expected one is broken: %+v", moved)
	assert.NotEmpty(t, moved.Reason)

	for _, bad := range []store.AuditHead{{Seq: -1, Hash: "ab"}, {Seq: 2}, {Hash: "ab"}, {Seq: 2, Hash: "not hex"}} {
		_, err := s.Account(h.acct).Audit.Verify(ctx, &bad)
		assertKind(t, err, tenantsync.ErrInvalidInput)
	}
}

func testAuditKeyRotation(t *testing.T, h *harness) {
	ctx, s := t.Context(), h.s
	appendN := func(n int) {
		for i := range n {
			_, err := s.Account(h.acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0, Actor: "alice", Action: "link", Target: fmt.Sprint(i)})
			require.NoError(t, err)
		}
	}
	appendN(3)
	h.keys.Rotate(t, "k2")
	appendN(3)
	all, err := s.Account(h.acct).Audit.List(ctx, store.AuditQuery{})
	require.NoError(t, err)
	ids := make([]string, len(all))
	for i, e := range all {
		ids[i] = e.KeyID
	}
	assert.Equal(t, []string{"k1", "k1", "k1", "k2", "k2", "k2"}, ids, "each entry is keyed under the key current when it was appended")
	rep, err := s.Account(h.acct).Audit.Verify(ctx, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "entries under the old key verify while the provider has it: %+v", rep)
	assert.Equal(t, 6, rep.Entries)

	h.keys.Forget("k1")
	_, err = s.Account(h.acct).Audit.Verify(ctx, nil)
	assertKind(t, err, tenantsync.ErrNotFound)
	var ke *store.AuditKeyError
	require.True(t, errors.As(err, &ke), "%v", err)
	assert.Equal(t, "k1", ke.KeyID)
	assert.Equal(t, int64(1), ke.Seq)
	assert.Contains(t, tenantsync.HintOf(err), `"k1"`, "the hint names the key to restore")

	_, err = s.Account(h.acct).Audit.Append(ctx, tenantsync.AuditEntry{At: t0, Action: "link"})
	require.NoError(t, err, "appending needs only the current key")
}
