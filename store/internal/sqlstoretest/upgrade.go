// Package sqlstoretest holds the tests the SQL stores share beyond the conformance suite: what
// their schema migrations do to a database an earlier version wrote.
package sqlstoretest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
	"github.com/tenantsync/tenantsync/store/storetest"
)

// CreateV1 migrates db to schema version 1 only and writes logs into it as version 1 did: no
// key IDs, entries chained by the unkeyed hash, heads recorded.
func CreateV1(t *testing.T, db sqlstore.DB, d sqlstore.Dialect, migrations fs.FS, logs map[string][]tenantsync.AuditEntry) {
	t.Helper()
	ctx := t.Context()
	first, err := fs.ReadFile(migrations, "0001_init.sql")
	require.NoError(t, err)
	require.NoError(t, sqlstore.Migrate(ctx, db, d, fstest.MapFS{"0001_init.sql": {Data: first}}, nil))
	require.NoError(t, db.Write(ctx, func(q sqlstore.Q) error {
		for acct, entries := range logs {
			for _, e := range entries {
				_, err := q.Exec(ctx, d.Rebind(`INSERT INTO audit (account, seq, at, actor, action, tenant_id, target, phase, outcome, route, error, detail, prev_hash, hash)
					VALUES (?, ?, ?, ?, ?, '', '', '', '', '', '', '', ?, ?)`), acct, e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.PrevHash, e.Hash)
				if err != nil {
					return err
				}
			}
			last := entries[len(entries)-1]
			if _, err := q.Exec(ctx, d.Rebind(`INSERT INTO audit_heads (account, seq, hash) VALUES (?, ?, ?)`), acct, last.Seq, last.Hash); err != nil {
				return err
			}
		}
		return nil
	}))
}

// legacyLog is n entries of account chained as version 1 chained them.
func legacyLog(account string, n int) []tenantsync.AuditEntry {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var out []tenantsync.AuditEntry
	prev := ""
	for i := range n {
		e := tenantsync.AuditEntry{Seq: int64(i + 1), Account: account, At: at.Add(time.Duration(i) * time.Minute),
			Actor: "alice", Action: "link", PrevHash: prev}
		e.Hash = store.AuditHash(e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RunKeyingUpgrade checks migration 2 on a database version 1 wrote: createV1 makes such a
// database holding logs (see CreateV1), and open opens a store on it with keys, migrating it,
// or returns the error. The stores open returns must implement storetest.AuditTamperer.
func RunKeyingUpgrade(t *testing.T,
	createV1 func(t *testing.T, logs map[string][]tenantsync.AuditEntry),
	open func(t *testing.T, keys store.KeyProvider) (store.Store, error),
) {
	ctx := t.Context()
	sizes := map[string]int{"acct-a-" + randomID(): 4, "acct-b-" + randomID(): 1}
	logs := map[string][]tenantsync.AuditEntry{}
	for acct, n := range sizes {
		logs[acct] = legacyLog(acct, n)
	}
	createV1(t, logs)

	_, err := open(t, nil)
	require.Error(t, err, "existing logs cannot be keyed without a key provider")
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
	assert.Contains(t, tenantsync.HintOf(err), "KeyProvider")

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keys, err := store.NewStaticKeys("k1", map[string][]byte{"k1": key})
	require.NoError(t, err)
	s, err := open(t, keys)
	require.NoError(t, err, "the failed upgrade left the database as it was, so it upgrades now")
	raw, ok := s.(storetest.AuditTamperer)
	require.True(t, ok, "the store's tests implement storetest.AuditTamperer")

	for acct, n := range sizes {
		rep, err := s.Account(acct).Audit.Verify(ctx, nil)
		require.NoError(t, err)
		require.True(t, rep.OK(), "%s: the upgraded log verifies: %+v", acct, rep)
		assert.Equal(t, n+1, rep.Entries)
		entries, err := s.Account(acct).Audit.List(ctx, store.AuditQuery{})
		require.NoError(t, err)
		require.Len(t, entries, n+1)
		for i, e := range entries[:n] {
			assert.Equal(t, logs[acct][i].Hash, e.Hash, "unkeyed entries keep their hashes")
			assert.Empty(t, e.KeyID)
		}
		seal := entries[n]
		assert.Equal(t, "key_audit_log", seal.Action, "the upgrade is itself in the log")
		assert.Equal(t, "k1", seal.KeyID)
		assert.Equal(t, logs[acct][n-1].Hash, seal.PrevHash, "the keyed entry vouches for the unkeyed ones")
		assert.Equal(t, strconv.Itoa(n), seal.Detail["unkeyed_entries"])

		_, err = s.Account(acct).Audit.Append(ctx, tenantsync.AuditEntry{Actor: "bob", Action: "unlink"})
		require.NoError(t, err)
		rep, err = s.Account(acct).Audit.Verify(ctx, nil)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%+v", rep)
		assert.Equal(t, n+2, rep.Entries)
	}

	again, err := open(t, keys)
	require.NoError(t, err)
	for acct, n := range sizes {
		entries, err := again.Account(acct).Audit.List(ctx, store.AuditQuery{})
		require.NoError(t, err)
		assert.Len(t, entries, n+2, "a second open does not key the log again")
	}

	acct := ""
	for a, n := range sizes {
		if n > 1 {
			acct = a
		}
	}
	entries, head, err := raw.RawAudit(ctx, acct)
	require.NoError(t, err)
	n := sizes[acct]
	cases := []struct {
		name   string
		tamper func() ([]tenantsync.AuditEntry, store.AuditHead)
		broken int64
	}{
		{"unkeyed entry rewritten and the unkeyed ones rechained", func() ([]tenantsync.AuditEntry, store.AuditHead) {
			es := append([]tenantsync.AuditEntry(nil), entries...)
			es[1].Actor = "mallory"
			for i := 1; i < n; i++ {
				es[i].PrevHash = es[i-1].Hash
				es[i].Hash = store.AuditHash(es[i])
			}
			return es, head
		}, int64(n + 1)},
		{"keyed entries removed, leaving the unkeyed ones", func() ([]tenantsync.AuditEntry, store.AuditHead) {
			es := append([]tenantsync.AuditEntry(nil), entries[:n]...)
			return es, store.AuditHead{Seq: es[n-1].Seq, Hash: es[n-1].Hash}
		}, 1},
	}
	for _, tc := range cases {
		es, h := tc.tamper()
		require.NoError(t, raw.SetRawAudit(ctx, acct, es, h))
		rep, err := s.Account(acct).Audit.Verify(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, tc.broken, rep.FirstBroken, "%s: %+v", tc.name, rep)
		require.NoError(t, raw.SetRawAudit(ctx, acct, entries, head))
		rep, err = s.Account(acct).Audit.Verify(ctx, nil)
		require.NoError(t, err)
		require.True(t, rep.OK(), fmt.Sprintf("restored after %s: %+v", tc.name, rep))
	}
}
