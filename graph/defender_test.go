package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// wantDevices counts a fake tenant's Windows devices from the world's own records, the way
// the baseline should from what Graph serves.
func wantDevices(tn *testserver.Tenant) tenantsync.DefenderDevices {
	var d tenantsync.DefenderDevices
	for _, dev := range tn.Devices {
		if dev.OperatingSystem != "Windows" {
			continue
		}
		d.Windows++
		p := dev.Protection
		if p == nil || p.ReportedAgo > tenantsync.StaleReportAfter {
			d.NotReporting++
			continue
		}
		off := !p.MalwareProtection || !p.RealTimeProtection
		if off {
			d.ProtectionOff++
		}
		if p.SignatureUpdateOverdue {
			d.SignaturesOverdue++
		}
		if p.QuickScanOverdue || p.FullScanOverdue {
			d.ScansOverdue++
		}
		if !off && !p.SignatureUpdateOverdue && !p.QuickScanOverdue && !p.FullScanOverdue {
			d.Protected++
		}
	}
	return d
}

func codes(d *tenantsync.DefenderState) []tenantsync.DefenderGapCode {
	var out []tenantsync.DefenderGapCode
	for _, g := range d.Gaps {
		out = append(out, g.Code)
	}
	return out
}

// defenderFake is a fake whose first tenant has Windows devices in every protection state.
func defenderFake(t *testing.T) (*testserver.Server, *testserver.Tenant) {
	t.Helper()
	srv := newFake(t, 40)
	tn := firstTenant(srv)
	for _, p := range []*testserver.Protection{nil, {ReportedAgo: 20 * 24 * time.Hour}, {ReportedAgo: time.Hour, MalwareProtection: true},
		{ReportedAgo: time.Hour, MalwareProtection: true, RealTimeProtection: true, SignatureUpdateOverdue: true, QuickScanOverdue: true}} {
		tn.Devices = append(tn.Devices, &testserver.Device{ID: "dev-" + string(rune('a'+len(tn.Devices))), OperatingSystem: "Windows", Protection: p})
	}
	tn.Devices = append(tn.Devices, &testserver.Device{ID: "dev-iphone", OperatingSystem: "iOS"})
	return srv, tn
}

func TestBaselineDefenderFromGraph(t *testing.T) {
	t.Parallel()
	srv, tn := defenderFake(t)
	src := newSource(t, newClient(t, srv))
	fetch(t, src, tn.ID, nil, tenantsync.KindOrganization) // the token, outside the count

	require.NoError(t, srv.World.SetDefender(tn.ID, true, "enabled"))
	before := srv.Requests(testserver.ServiceGraph, tn.ID)
	bk := fetch(t, src, tn.ID, nil, tenantsync.KindBaseline).Result(tenantsync.KindBaseline)
	require.Equal(t, tenantsync.Complete, bk.Mode, "%v", bk.Err)
	assert.Equal(t, 1, srv.Requests(testserver.ServiceGraph, tn.ID)-before, "the Defender reads ride in the baseline's one $batch")
	d := bk.Baseline.Defender
	require.NotNil(t, d)
	assert.True(t, d.Plan.Licensed(), "%s", d.Plan)
	assert.Empty(t, d.PlanReason)
	assert.Equal(t, tenantsync.DefenderConnectorEnabled, d.Connector)
	assert.False(t, d.ConnectorHeartbeat.IsZero())
	require.NotNil(t, d.Devices)
	want := wantDevices(tn)
	assert.Equal(t, want, *d.Devices)
	assert.Positive(t, want.Protected)
	assert.GreaterOrEqual(t, want.NotReporting, 2)
	assert.NotContains(t, codes(d), tenantsync.GapConnectorNotEnabled)
	assert.Contains(t, codes(d), tenantsync.GapDevicesNotReporting)
	assert.Contains(t, codes(d), tenantsync.GapProtectionOff)

	// Licensed, connector available but not turned on.
	require.NoError(t, srv.World.SetDefender(tn.ID, true, "available"))
	d = fetch(t, src, tn.ID, nil, tenantsync.KindBaseline).Result(tenantsync.KindBaseline).Baseline.Defender
	assert.Equal(t, tenantsync.DefenderConnectorAvailable, d.Connector)
	assert.Contains(t, codes(d), tenantsync.GapConnectorNotEnabled)

	// Not licensed, no connector: the licence is the gap, not the connector.
	require.NoError(t, srv.World.SetDefender(tn.ID, false, ""))
	both := fetch(t, src, tn.ID, nil, tenantsync.KindBaseline, tenantsync.KindSubscriptions)
	d = both.Result(tenantsync.KindBaseline).Baseline.Defender
	assert.Equal(t, tenantsync.DefenderPlanNone, d.Plan)
	assert.Equal(t, tenantsync.DefenderConnectorNotSetUp, d.Connector)
	assert.Contains(t, codes(d), tenantsync.GapDefenderNotLicensed)
	assert.NotContains(t, codes(d), tenantsync.GapConnectorNotEnabled)
	assert.Len(t, both.Result(tenantsync.KindSubscriptions).Subscriptions, len(tn.SKUs), "the subscriptions kind shares the SKUs read")
}

// A 403 on Intune's data (no Intune role or licence) leaves the connector and the devices
// unknown with the reason, never "not onboarded", and the rest of the baseline complete.
func TestBaselineDefenderForbiddenIsUnknown(t *testing.T) {
	t.Parallel()
	srv, tn := defenderFake(t)
	src := newSource(t, newClient(t, srv))
	require.NoError(t, srv.World.SetDefender(tn.ID, true, ""))
	srv.GraphDeny(tn.ID, "/deviceManagement", true)
	bk := fetch(t, src, tn.ID, nil, tenantsync.KindBaseline).Result(tenantsync.KindBaseline)
	require.Equal(t, tenantsync.Complete, bk.Mode, "%v", bk.Err)
	d := bk.Baseline.Defender
	require.NotNil(t, d)
	assert.True(t, d.Plan.Licensed())
	assert.Equal(t, tenantsync.DefenderConnectorUnknown, d.Connector)
	assert.Contains(t, d.ConnectorReason, "403")
	assert.Contains(t, d.ConnectorReason, "Intune Administrator")
	assert.Nil(t, d.Devices)
	assert.Contains(t, d.DevicesReason, "403")
	assert.Empty(t, d.Gaps, "nothing unknown is a gap")

	// The licences refused too: the plan is unknown, not "none".
	srv.GraphDeny(tn.ID, "/subscribedSkus", true)
	d = fetch(t, src, tn.ID, nil, tenantsync.KindBaseline).Result(tenantsync.KindBaseline).Baseline.Defender
	assert.Equal(t, tenantsync.DefenderPlanUnknown, d.Plan)
	assert.Contains(t, d.PlanReason, "403")
	assert.NotContains(t, codes(d), tenantsync.GapDefenderNotLicensed)
}
