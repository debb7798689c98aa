package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
