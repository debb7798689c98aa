package tenantsynctest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// SetDefender and DenyGraph reach a PSA's tests the same way through both routes: licensed or
// not, connector on or off, and a 403 on Intune's data as unknown.
func TestSetDefenderOnBothRoutes(t *testing.T) {
	t.Parallel()
	fakes := tenantsynctest.Start(t, tenantsynctest.ServerOptions{Seed: 3, Tenants: 1, Sizes: []int{12}})
	tenant := fakes.Tenants()[0].ID
	gc, err := graph.NewClient(fakes.GraphConfig())
	require.NoError(t, err)
	gs, err := graph.NewSource(gc, graph.SourceConfig{})
	require.NoError(t, err)
	cc, err := cipp.NewClient(fakes.CIPPConfig())
	require.NoError(t, err)
	cs, err := cipp.NewSource(cc, cipp.SourceConfig{})
	require.NoError(t, err)
	routes := map[string]tenantsync.Fetcher{"graph": gs, "cipp": cs}
	defender := func(name string) *tenantsync.DefenderState {
		t.Helper()
		res, err := routes[name].Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tenant, Kinds: []tenantsync.Kind{tenantsync.KindBaseline}})
		require.NoError(t, err)
		bk := res.Result(tenantsync.KindBaseline)
		require.Equal(t, tenantsync.Complete, bk.Mode, "%s: %v", name, bk.Err)
		require.NotNil(t, bk.Baseline.Defender, name)
		return bk.Baseline.Defender
	}

	require.Error(t, fakes.SetDefender("no-such-tenant", tenantsynctest.DefenderSetup{}))
	require.NoError(t, fakes.SetDefender(tenant, tenantsynctest.DefenderSetup{Licensed: true, Connector: tenantsync.DefenderConnectorEnabled}))
	for name := range routes {
		d := defender(name)
		assert.Equal(t, tenantsync.DefenderForBusiness, d.Plan, name)
		assert.Equal(t, tenantsync.DefenderConnectorEnabled, d.Connector, name)
		assert.NotNil(t, d.Devices, name)
	}
	require.NoError(t, fakes.SetDefender(tenant, tenantsynctest.DefenderSetup{Licensed: true, Connector: tenantsync.DefenderConnectorAvailable}))
	for name := range routes {
		assert.Equal(t, tenantsync.DefenderConnectorAvailable, defender(name).Connector, name)
	}
	require.NoError(t, fakes.SetDefender(tenant, tenantsynctest.DefenderSetup{}))
	for name := range routes {
		d := defender(name)
		assert.Equal(t, tenantsync.DefenderPlanNone, d.Plan, name)
		assert.Equal(t, tenantsync.DefenderConnectorNotSetUp, d.Connector, name)
	}
	fakes.DenyGraph(tenant, "/deviceManagement", true)
	for name := range routes {
		d := defender(name)
		assert.Equal(t, tenantsync.DefenderConnectorUnknown, d.Connector, name)
		assert.NotEmpty(t, d.ConnectorReason, name)
		assert.Nil(t, d.Devices, name)
		assert.NotEmpty(t, d.DevicesReason, name)
	}
	fakes.DenyGraph(tenant, "/deviceManagement", false)
	for name := range routes {
		assert.Equal(t, tenantsync.DefenderConnectorNotSetUp, defender(name).Connector, name)
	}
}
