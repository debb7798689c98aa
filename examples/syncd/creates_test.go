package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/match"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// -max-creates-per-sync is the engine's cap, and is refused where the call budget would cap
// the creates lower without saying so.
func TestMaxCreatesPerSyncFlag(t *testing.T) {
	t.Parallel()
	parse := func(args ...string) (config, error) {
		return parseConfig(append([]string{"-data-dir", t.TempDir()}, args...), func(string) string { return "" }, io.Discard)
	}
	c, err := parse()
	require.NoError(t, err)
	assert.Equal(t, sync.DefaultMaxCreatesPerSync, c.MaxCreatesPerSync)

	c, err = parse("-max-creates-per-sync", "20000", "-psa-calls-per-sync", "20000")
	require.NoError(t, err)
	assert.Equal(t, 20000, c.MaxCreatesPerSync)

	_, err = parse("-max-creates-per-sync", "5000")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-psa-calls-per-sync to 5000 or more")
	_, err = parse("-max-creates-per-sync", "0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-max-creates-per-sync 0")

	c, err = parseConfig([]string{"-data-dir", t.TempDir()}, func(k string) string {
		return map[string]string{"TENANTSYNC_MAX_CREATES_PER_SYNC": "800"}[k]
	}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 800, c.MaxCreatesPerSync, "the flag reads its environment variable")
}

// The daemon's cap reaches the engine: a sync creates no more than it, and the tenant says
// how many syncs the rest take.
func TestDaemonCapReachesTheEngine(t *testing.T) {
	t.Parallel()
	td := newTestDaemon(t, func(c *config) { c.MaxCreatesPerSync = 4 })
	ctx := t.Context()
	tenantID := td.d.fake.Tenants()[0].ID
	require.NoError(t, td.d.engine.Link(ctx, "alice", tenantID, "client-001"))
	require.NoError(t, td.d.engine.Wait(ctx))
	st, err := td.d.engine.Status(ctx, tenantID)
	require.NoError(t, err)
	require.NotNil(t, st.Creation)
	assert.Equal(t, 4, st.Creation.Created)
	assert.Equal(t, 4, st.Creation.PerSync)
	line := finishLine(st)
	assert.Contains(t, line, st.Creation.String(), "the progress line shows the creation")
	assert.Contains(t, line, "/contacts/create-remaining")
}

// largeTenant is the size of the large demo tenant in TestLargeTenantEveryPersonGetsAContact
// and the cap on creates its capped sync runs with: 300 users under a cap of 50 (the suite runs
// under -race on small machines), or $SYNCD_LARGE_USERS under the default cap of 500, e.g. the
// demo's 10,500 (about 35 s to 70 s a sync without -race, minutes with it).
func largeTenant(t *testing.T) (users, cap int) {
	t.Helper()
	v := os.Getenv("SYNCD_LARGE_USERS")
	if v == "" {
		return 300, 50
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "SYNCD_LARGE_USERS")
	return n, sync.DefaultMaxCreatesPerSync
}

// The demo's large tenant: under the cap its first sync creates that many contacts and the
// status says how many are left and over how many syncs; with the cap raised by flag, one sync
// leaves every person (a member with a user mailbox, sign-in allowed) with a contact, or in the
// review queue when two contacts claim them. SYNCD_LARGE_USERS=10500 runs it on the demo's size.
func TestLargeTenantEveryPersonGetsAContact(t *testing.T) {
	t.Parallel()
	users, capped := largeTenant(t)
	for _, tc := range []struct {
		name   string
		capped bool
		args   []string
	}{
		{"capped", true, []string{"-max-creates-per-sync", strconv.Itoa(capped)}},
		{"cap raised", false, []string{"-max-creates-per-sync", "20000", "-psa-calls-per-sync", "20000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			cfg, err := parseConfig(append([]string{"-data-dir", filepath.Join(t.TempDir(), "data"), "-demo-tenants", "1",
				"-demo-huge-users", strconv.Itoa(users), "-no-progress"}, tc.args...), func(string) string { return "" }, io.Discard)
			require.NoError(t, err)
			d, err := newDaemon(ctx, cfg, &startupLog{}, hooks{})
			require.NoError(t, err)
			defer d.close()
			_, err = d.engine.Discover(ctx)
			require.NoError(t, err)
			tenantID := d.fake.Tenants()[0].ID
			start := time.Now()
			require.NoError(t, d.engine.Link(ctx, "alice", tenantID, "client-001"))
			require.NoError(t, d.engine.Wait(ctx))
			took := time.Since(start)
			st, err := d.engine.Status(ctx, tenantID)
			require.NoError(t, err)
			require.Empty(t, st.State.LastError)
			assert.Equal(t, users, st.State.Counts[tenantsync.KindUsers])

			acct := d.store.Account(d.cfg.Account)
			links, err := acct.Links.List(ctx, tenantID)
			require.NoError(t, err)
			reviews, err := acct.Reviews.List(ctx, store.ReviewFilter{TenantID: tenantID})
			require.NoError(t, err)
			settled := map[string]bool{}
			for _, l := range links {
				settled[l.ObjectID] = true
			}
			for _, r := range reviews {
				settled[r.ObjectID] = true
			}
			// A person is whom the engine's matcher would create a contact for, with the
			// daemon's settings: a member with an address and a user mailbox, sign-in allowed,
			// no service account (scanner@, svc-backup, the break-glass admin).
			people, without := 0, 0
			persons, err := match.NewIndex(nil, nil, nil, match.Config{AutoCreate: true})
			require.NoError(t, err)
			mailboxes := d.fake.MailboxTypes(tenantID)
			for _, u := range d.fake.Users(tenantID) {
				if !persons.Match(u, cipp.MailboxTypeOf(mailboxes[u.ObjectID])).Create {
					continue
				}
				people++
				if !settled[u.ObjectID] {
					without++
				}
			}
			summary := "created all"
			if st.Creation != nil {
				summary = st.Creation.String()
			}
			t.Logf("%d users, %d people: after one sync (%s) %d contacts linked, %d in review, %d without; %s",
				users, people, took.Round(time.Millisecond), len(links), len(reviews), without, summary)
			if tc.capped {
				require.NotNil(t, st.Creation, "the cap leaves contacts for later syncs")
				assert.Equal(t, capped, st.Creation.Created)
				assert.Positive(t, without, "people wait for later syncs")
				assert.GreaterOrEqual(t, st.Creation.Remaining, without, "the status counts every person still without a contact")
				assert.Contains(t, st.Creation.String(), fmt.Sprintf("created %s of %s; the rest", thousands(capped), thousands(st.Creation.Total)))
				return
			}
			assert.True(t, st.Creation == nil || st.Creation.Done(), "nothing is left for later: %+v", st.Creation)
			assert.Zero(t, without, "every person has a contact (or a review) after one sync")
		})
	}
}

// thousands writes n with comma separators, as the status does.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
