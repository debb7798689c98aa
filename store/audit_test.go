package store_test

import (
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

func TestAuditVerifier(t *testing.T) {
	t.Parallel()
	var chain []tenantsync.AuditEntry
	var prev *tenantsync.AuditEntry
	for i := range 4 {
		e := store.ChainAudit("acct", prev, tenantsync.AuditEntry{Action: "link", Target: string(rune('a' + i))})
		chain = append(chain, e)
		prev = &chain[len(chain)-1]
	}
	verify := func(entries []tenantsync.AuditEntry) store.AuditReport {
		v := store.AuditVerifier{Account: "acct"}
		for _, e := range entries {
			if !v.Next(e) {
				break
			}
		}
		return v.Report()
	}
	rep := verify(chain)
	require.True(t, rep.OK(), rep.Reason)
	assert.Equal(t, 4, rep.Entries)

	dropped := append(append([]tenantsync.AuditEntry{}, chain[:1]...), chain[2:]...)
	assert.Equal(t, int64(3), verify(dropped).FirstBroken, "a removed entry breaks the sequence")
	swapped := []tenantsync.AuditEntry{chain[1], chain[0]}
	assert.Equal(t, int64(2), verify(swapped).FirstBroken)
	foreign := append([]tenantsync.AuditEntry{}, chain...)
	foreign[2].Account = "other"
	assert.Equal(t, int64(3), verify(foreign).FirstBroken)
	zero := []tenantsync.AuditEntry{{}}
	assert.Equal(t, int64(1), verify(zero).FirstBroken, "an entry without a sequence is named by its position")
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
	assert.Equal(t, tenantsync.ErrAlreadyLinked, tenantsync.KindOf(linked))
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
