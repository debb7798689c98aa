package sqlstoretest

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
)

// DueAccount is the account CreateBeforeDueQueue writes.
const DueAccount = "acct-due"

// dueAt is the time the states CreateBeforeDueQueue writes are due around.
var dueAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// CreateBeforeDueQueue migrates db with the migrations before the one named before ("0010",
// the claim queue, or "0011", its triggers) and writes four linked, syncing tenants as that
// schema held them: tNew never synced, tLate due an hour before dueAt, tSoon due a minute
// before, tLater due an hour after. Before 0011 nothing copies a state's next_due to its
// tenant's row.
func CreateBeforeDueQueue(t *testing.T, db sqlstore.DB, d sqlstore.Dialect, migrations fs.FS, before string) {
	t.Helper()
	ctx := t.Context()
	names, err := fs.Glob(migrations, "*.sql")
	require.NoError(t, err)
	earlier := fstest.MapFS{}
	for _, name := range names {
		if strings.Compare(name, before) < 0 {
			data, err := fs.ReadFile(migrations, name)
			require.NoError(t, err)
			earlier[name] = &fstest.MapFile{Data: data}
		}
	}
	require.NoError(t, sqlstore.Migrate(ctx, db, d, earlier, nil))
	states := map[string]time.Time{"tLate": dueAt.Add(-time.Hour), "tSoon": dueAt.Add(-time.Minute), "tLater": dueAt.Add(time.Hour)}
	require.NoError(t, db.Write(ctx, func(q sqlstore.Q) error {
		for _, id := range []string{"tLater", "tSoon", "tNew", "tLate"} {
			rec, err := json.Marshal(store.TenantRecord{Tenant: tenantsync.Tenant{ID: id, DisplayName: id}, Status: store.TenantActive,
				FirstSeen: dueAt.Add(-24 * time.Hour), LastSeen: dueAt, ClientID: "client-1", LinkedAt: dueAt, Syncing: true})
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, d.Rebind(`INSERT INTO tenants (account, tenant_id, client_id, syncing, status, record) VALUES (?, ?, 'client-1', ?, 'active', ?)`),
				DueAccount, id, true, string(rec)); err != nil {
				return err
			}
			due, ok := states[id]
			if !ok {
				continue
			}
			st, err := json.Marshal(store.SyncState{TenantID: id, NextDue: due})
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, d.Rebind(`INSERT INTO sync_state (account, tenant_id, next_due, data) VALUES (?, ?, ?, ?)`),
				DueAccount, id, due.UnixMicro(), string(st)); err != nil {
				return err
			}
		}
		return nil
	}))
}

// RunDueUpgrade checks migrations 0010 and 0011 on a database CreateBeforeDueQueue wrote: the
// claim queue starts from the sync states the database holds, so the tenants come due in the
// order they did before the upgrade. open opens a store on it, migrating it.
func RunDueUpgrade(t *testing.T, open func(t *testing.T) (store.Store, error)) {
	ctx := t.Context()
	s, err := open(t)
	require.NoError(t, err)
	ls, err := s.Account(DueAccount).Leases.AcquireDue(ctx, store.DueRequest{Holder: "h", Now: dueAt, TTL: time.Minute, Max: 10})
	require.NoError(t, err)
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.TenantID)
	}
	assert.Equal(t, []string{"tNew", "tLate", "tSoon"}, ids, "never synced first, then the longest due; tLater is not due")
}
