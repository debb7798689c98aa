package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

func entry() tenantsync.AuditEntry {
	return tenantsync.AuditEntry{Seq: 3, Account: "acct", At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Actor: "alice",
		Action: "suspend", TenantID: "t1", Target: "u1", Phase: "result", Outcome: "succeeded", Route: "graph", Error: "",
		Detail: map[string]string{"a": "1", "b": "2"}, PrevHash: "abc"}
}

// pinnedMAC is entry()'s MAC under key ID "k1" and the key of 32 0x01 bytes, computed
// independently: HMAC-SHA256 keyed with HKDF-SHA256(key, no salt, the label), never the raw key.
const pinnedMAC = "3de418779cb06152d405e64eba435084693573d96d36d9dd8aaafea84de5cd87"

func TestAuditHashCoversEveryField(t *testing.T) {
	t.Parallel()
	base := store.AuditHash(entry())
	mutations := map[string]func(*tenantsync.AuditEntry){
		"seq":        func(e *tenantsync.AuditEntry) { e.Seq++ },
		"account":    func(e *tenantsync.AuditEntry) { e.Account = "other" },
		"at":         func(e *tenantsync.AuditEntry) { e.At = e.At.Add(time.Microsecond) },
		"actor":      func(e *tenantsync.AuditEntry) { e.Actor = "mallory" },
		"action":     func(e *tenantsync.AuditEntry) { e.Action = "unsuspend" },
		"tenant":     func(e *tenantsync.AuditEntry) { e.TenantID = "t2" },
		"target":     func(e *tenantsync.AuditEntry) { e.Target = "u2" },
		"phase":      func(e *tenantsync.AuditEntry) { e.Phase = "intent" },
		"outcome":    func(e *tenantsync.AuditEntry) { e.Outcome = "failed" },
		"route":      func(e *tenantsync.AuditEntry) { e.Route = "cipp" },
		"error":      func(e *tenantsync.AuditEntry) { e.Error = "x" },
		"detail":     func(e *tenantsync.AuditEntry) { e.Detail["a"] = "9" },
		"detail key": func(e *tenantsync.AuditEntry) { e.Detail = map[string]string{"a": "1", "c": "2"} },
		"prev hash":  func(e *tenantsync.AuditEntry) { e.PrevHash = "abd" },
		// Length prefixes keep adjacent fields from trading characters.
		"boundary": func(e *tenantsync.AuditEntry) { e.Actor, e.Action = "alices", "uspend" },
	}
	for name, mutate := range mutations {
		e := entry()
		mutate(&e)
		assert.NotEqual(t, base, store.AuditHash(e), name)
	}
	same := entry()
	same.Hash = "ignored"
	same.At = same.At.In(time.FixedZone("x", 3600))
	assert.Equal(t, base, store.AuditHash(same), "Hash itself and the time zone are not part of the content")
}

// The encodings are pinned: a change to either would break every stored chain.
func TestAuditHashAndMACAreStable(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "2390d2e94b5ae3675dea353e1b1359be95be613bbdfa5381de35bbcf926e4770", store.AuditHash(entry()),
		"the unkeyed hash of entries written before keying")
	e := entry()
	e.KeyID = "k1"
	assert.Equal(t, store.AuditHash(entry()), store.AuditHash(e), "KeyID postdates the unkeyed rule")
	mac, err := store.AuditMAC(testKey(1), e)
	require.NoError(t, err)
	assert.Equal(t, pinnedMAC, mac)
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestAuditMACCoversEveryFieldAndTheKey(t *testing.T) {
	t.Parallel()
	keyed := func() tenantsync.AuditEntry {
		e := entry()
		e.KeyID = "k1"
		return e
	}
	mac := func(key []byte, e tenantsync.AuditEntry) string {
		m, err := store.AuditMAC(key, e)
		require.NoError(t, err)
		return m
	}
	base := mac(testKey(1), keyed())
	mutations := map[string]func(*tenantsync.AuditEntry){
		"seq":        func(e *tenantsync.AuditEntry) { e.Seq++ },
		"account":    func(e *tenantsync.AuditEntry) { e.Account = "other" },
		"at":         func(e *tenantsync.AuditEntry) { e.At = e.At.Add(time.Microsecond) },
		"actor":      func(e *tenantsync.AuditEntry) { e.Actor = "mallory" },
		"action":     func(e *tenantsync.AuditEntry) { e.Action = "unsuspend" },
		"tenant":     func(e *tenantsync.AuditEntry) { e.TenantID = "t2" },
		"target":     func(e *tenantsync.AuditEntry) { e.Target = "u2" },
		"phase":      func(e *tenantsync.AuditEntry) { e.Phase = "intent" },
		"outcome":    func(e *tenantsync.AuditEntry) { e.Outcome = "failed" },
		"route":      func(e *tenantsync.AuditEntry) { e.Route = "cipp" },
		"error":      func(e *tenantsync.AuditEntry) { e.Error = "x" },
		"detail":     func(e *tenantsync.AuditEntry) { e.Detail["a"] = "9" },
		"detail key": func(e *tenantsync.AuditEntry) { e.Detail = map[string]string{"a": "1", "c": "2"} },
		"prev hash":  func(e *tenantsync.AuditEntry) { e.PrevHash = "abd" },
		"key ID":     func(e *tenantsync.AuditEntry) { e.KeyID = "k2" },
		"boundary":   func(e *tenantsync.AuditEntry) { e.Actor, e.Action = "alices", "uspend" },
	}
	for name, mutate := range mutations {
		e := keyed()
		mutate(&e)
		assert.NotEqual(t, base, mac(testKey(1), e), name)
	}
	assert.NotEqual(t, base, mac(testKey(2), keyed()), "another key, another MAC")
	assert.NotEqual(t, store.AuditHash(keyed()), base)
	same := keyed()
	same.Hash = "ignored"
	same.At = same.At.In(time.FixedZone("x", 3600))
	assert.Equal(t, base, mac(testKey(1), same), "Hash itself and the time zone are not part of the content")
	_, err := store.AuditMAC([]byte("short"), keyed())
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

func staticKeys(t *testing.T, current string, ids ...string) *store.StaticKeys {
	keys := map[string][]byte{}
	for i, id := range ids {
		keys[id] = testKey(byte(i + 1))
	}
	kp, err := store.NewStaticKeys(current, keys)
	require.NoError(t, err)
	return kp
}

// legacyChain is n entries as the store chained them before keying.
func legacyChain(n int) []tenantsync.AuditEntry {
	var out []tenantsync.AuditEntry
	prev := ""
	for i := range n {
		e := tenantsync.AuditEntry{Seq: int64(i + 1), Account: "acct", Action: "link", Target: string(rune('a' + i)), PrevHash: prev}
		e.Hash = store.AuditHash(e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func chain(t *testing.T, kp store.KeyProvider, prev []tenantsync.AuditEntry, n int) []tenantsync.AuditEntry {
	out := append([]tenantsync.AuditEntry(nil), prev...)
	for i := range n {
		var head store.AuditHead
		if len(out) > 0 {
			head = store.AuditHead{Seq: out[len(out)-1].Seq, Hash: out[len(out)-1].Hash}
		}
		e, err := store.ChainAudit(t.Context(), kp, "acct", head, tenantsync.AuditEntry{Action: "link", Target: string(rune('k' + i))})
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

func headOf(entries []tenantsync.AuditEntry) store.AuditHead {
	if len(entries) == 0 {
		return store.AuditHead{}
	}
	e := entries[len(entries)-1]
	return store.AuditHead{Seq: e.Seq, Hash: e.Hash}
}

func verify(t *testing.T, kp store.KeyProvider, entries []tenantsync.AuditEntry, recorded store.AuditHead, expect *store.AuditHead) (store.AuditVerification, error) {
	v, err := store.NewAuditVerifier("acct", kp, recorded, expect)
	require.NoError(t, err)
	for _, e := range entries {
		if ok, err := v.Next(t.Context(), e); err != nil {
			return store.AuditVerification{}, err
		} else if !ok {
			break
		}
	}
	return v.Finish(), nil
}

func TestAuditVerifier(t *testing.T) {
	t.Parallel()
	kp := staticKeys(t, "k1", "k1")
	keyed := chain(t, kp, nil, 4)
	legacyThenKeyed := chain(t, kp, legacyChain(3), 2)
	cp := func(es []tenantsync.AuditEntry) []tenantsync.AuditEntry {
		return append([]tenantsync.AuditEntry(nil), es...)
	}
	cases := []struct {
		name     string
		entries  []tenantsync.AuditEntry
		recorded store.AuditHead // zero: the head of entries
		expect   *store.AuditHead
		broken   int64
		entriesN int
	}{
		{"keyed chain", keyed, store.AuditHead{}, nil, 0, 4},
		{"empty chain", nil, store.AuditHead{}, nil, 0, 0},
		{"unkeyed entries vouched for by a keyed one", legacyThenKeyed, store.AuditHead{}, nil, 0, 5},
		{"unkeyed entries alone", legacyChain(3), store.AuditHead{}, nil, 1, 0},
		{"unkeyed entry after keyed ones", append(cp(keyed), func() tenantsync.AuditEntry {
			e := tenantsync.AuditEntry{Seq: 5, Account: "acct", PrevHash: keyed[3].Hash}
			e.Hash = store.AuditHash(e)
			return e
		}()), store.AuditHead{}, nil, 5, 4},
		{"unkeyed entry rewritten under the keyed one", func() []tenantsync.AuditEntry {
			es := cp(legacyThenKeyed)
			es[1].Target = "x"
			es[1].Hash = store.AuditHash(es[1])
			es[2].PrevHash = es[1].Hash
			es[2].Hash = store.AuditHash(es[2])
			return es
		}(), store.AuditHead{}, nil, 4, 3},
		{"entry dropped", append(cp(keyed[:1]), keyed[2:]...), store.AuditHead{}, nil, 3, 1},
		{"entries swapped", []tenantsync.AuditEntry{keyed[1], keyed[0]}, store.AuditHead{}, nil, 2, 0},
		{"foreign entry", func() []tenantsync.AuditEntry {
			es := cp(keyed)
			es[2].Account = "other"
			return es
		}(), store.AuditHead{}, nil, 3, 2},
		{"entry without a sequence", []tenantsync.AuditEntry{{}}, store.AuditHead{}, nil, 1, 0},
		{"recorded head ahead", keyed[:2], headOf(keyed), nil, 3, 2},
		{"recorded head behind", keyed, headOf(keyed[:2]), nil, 3, 2},
		{"recorded head rewritten", keyed, store.AuditHead{Seq: 4, Hash: keyed[0].Hash}, nil, 4, 3},
		{"recorded head missing", keyed, store.AuditHead{Seq: -1}, nil, 1, 0},
		{"expected head on the chain", keyed, store.AuditHead{}, &store.AuditHead{Seq: 2, Hash: keyed[1].Hash}, 0, 4},
		{"expected head elsewhere", keyed, store.AuditHead{}, &store.AuditHead{Seq: 2, Hash: keyed[0].Hash}, 2, 1},
		{"expected head past the end", keyed[:2], store.AuditHead{}, &store.AuditHead{Seq: 4, Hash: keyed[3].Hash}, 3, 2},
	}
	for _, tc := range cases {
		recorded := tc.recorded
		switch {
		case recorded.Seq < 0:
			recorded = store.AuditHead{}
		case recorded.IsZero():
			recorded = headOf(tc.entries)
		}
		got, err := verify(t, kp, tc.entries, recorded, tc.expect)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.broken, got.FirstBroken, "%s: %+v", tc.name, got)
		assert.Equal(t, tc.entriesN, got.Entries, "%s: %+v", tc.name, got)
		assert.Equal(t, int64(tc.entriesN), got.Head.Seq, "%s: the head is the last entry that verified", tc.name)
		assert.Equal(t, tc.broken == 0, got.Reason == "", tc.name)
	}
}

func TestAuditVerifierKeys(t *testing.T) {
	t.Parallel()
	k1 := staticKeys(t, "k1", "k1", "k2")
	k2 := staticKeys(t, "k2", "k1", "k2")
	entries := chain(t, k2, chain(t, k1, nil, 2), 2)
	assert.Equal(t, []string{"k1", "k1", "k2", "k2"}, []string{entries[0].KeyID, entries[1].KeyID, entries[2].KeyID, entries[3].KeyID})
	got, err := verify(t, k2, entries, headOf(entries), nil)
	require.NoError(t, err)
	assert.True(t, got.OK(), "%+v", got)

	only2, err := store.NewStaticKeys("k2", map[string][]byte{"k2": testKey(2)})
	require.NoError(t, err)
	_, err = verify(t, only2, entries, headOf(entries), nil)
	assert.ErrorIs(t, err, tenantsync.ErrNotFound)
	var ke *store.AuditKeyError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, "k1", ke.KeyID)
	assert.Equal(t, int64(1), ke.Seq)
	assert.Contains(t, tenantsync.HintOf(err), "restore key")

	_, err = verify(t, nil, entries, headOf(entries), nil)
	assert.ErrorAs(t, err, &ke, "no key provider at all")
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "KeyProvider")

	short := &shortKeys{}
	_, err = verify(t, short, entries, headOf(entries), nil)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, "a key of the wrong size")
	assert.Contains(t, tenantsync.HintOf(err), "32 bytes")
	_, err = store.ChainAudit(t.Context(), nil, "acct", store.AuditHead{}, tenantsync.AuditEntry{})
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}

// shortKeys returns a 16-byte key for every ID.
type shortKeys struct{}

func (shortKeys) CurrentKey(context.Context) (string, []byte, error) {
	return "k1", make([]byte, 16), nil
}
func (shortKeys) Key(context.Context, string) ([]byte, error) { return make([]byte, 16), nil }

func TestAuditHeadText(t *testing.T) {
	t.Parallel()
	h := store.AuditHead{Seq: 42, Hash: strings.Repeat("ab", 32)}
	got, err := store.ParseAuditHead(h.String() + "\n")
	require.NoError(t, err)
	assert.Equal(t, h, got)
	zero, err := store.ParseAuditHead(store.AuditHead{}.String())
	require.NoError(t, err)
	assert.True(t, zero.IsZero())
	for _, bad := range []string{"", "42", "x:ab", "-1:ab", "3:", "0:ab", "3:not-hex"} {
		_, err := store.ParseAuditHead(bad)
		assert.ErrorIs(t, err, tenantsync.ErrInvalidInput, bad)
	}
}

func TestTimeNormalisation(t *testing.T) {
	t.Parallel()
	assert.True(t, store.Time(time.Time{}).IsZero())
	in := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 7200))
	out := store.Time(in)
	assert.Equal(t, time.UTC, out.Location())
	assert.Equal(t, 123456000, out.Nanosecond())
	assert.True(t, out.Equal(in.Truncate(time.Microsecond)))
}

func TestErrorsCarryDetails(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	held := store.NewLeaseHeldError("AcquireLease", "t1", "engine-2", until)
	assert.ErrorIs(t, held, tenantsync.ErrAlreadyRunning)
	assert.Contains(t, held.Error(), "engine-2")
	assert.Contains(t, held.Error(), "2026-01-01T00:00:00Z")
	d, ok := tenantsync.Details(held)
	require.True(t, ok)
	assert.Equal(t, "t1", d.Tenant)
	assert.NotEmpty(t, d.Hint)

	gone := store.NewLeaseHeldError("Commit", "t1", "", time.Time{})
	assert.ErrorIs(t, gone, tenantsync.ErrAlreadyRunning)
	assert.NotContains(t, gone.Error(), `""`, "no lease is not a lease held by nobody")
	assert.Contains(t, tenantsync.HintOf(gone), "acquire")

	linked := store.NewAlreadyLinkedError("LinkTenant", "t1", "client-7")
	assert.ErrorIs(t, linked, tenantsync.ErrAlreadyLinked)
	assert.Equal(t, tenantsync.ErrAlreadyLinked, tenantsync.ClassOf(linked))
	assert.Contains(t, linked.Error(), "client-7")

	taken := store.NewContactTakenError("SetContactLink", "c1", "t1", "u1")
	assert.ErrorIs(t, taken, tenantsync.ErrConflict)
	assert.Contains(t, taken.Error(), "u1")

	conflict := store.CursorConflict("Apply", "t1", tenantsync.KindUsers)
	assert.ErrorIs(t, conflict, tenantsync.ErrConflict)
	assert.NotEmpty(t, conflict.Hint)
	assert.ErrorIs(t, store.CheckAccount("X", ""), tenantsync.ErrInvalidInput)
	assert.ErrorIs(t, store.CheckTenant("X", "a", ""), tenantsync.ErrInvalidInput)
}
