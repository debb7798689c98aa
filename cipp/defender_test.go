package cipp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// wantDevices counts a fake tenant's Windows devices from the world's own records.
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
		overdueScan := p.QuickScanOverdue || p.FullScanOverdue
		if off {
			d.ProtectionOff++
		}
		if p.SignatureUpdateOverdue {
			d.SignaturesOverdue++
		}
		if overdueScan {
			d.ScansOverdue++
		}
		if !off && !overdueScan && !p.SignatureUpdateOverdue {
			d.Protected++
		}
	}
	return d
}

func gapCodes(d *tenantsync.DefenderState) []tenantsync.DefenderGapCode {
	var out []tenantsync.DefenderGapCode
	for _, g := range d.Gaps {
		out = append(out, g.Code)
	}
	return out
}

func defenderTenant(t *testing.T, srv *testserver.Server) *testserver.Tenant {
	t.Helper()
	tn := cippTenant(t, srv, func(*testserver.Tenant) bool { return true })
	for i, p := range []*testserver.Protection{nil, {ReportedAgo: 20 * 24 * time.Hour},
		{ReportedAgo: time.Hour, MalwareProtection: true, RealTimeProtection: true, FullScanOverdue: true}} {
		tn.Devices = append(tn.Devices, &testserver.Device{ID: "win-" + string(rune('a'+i)), DeviceName: "DESKTOP-TEST", OperatingSystem: "Windows", Protection: p})
	}
	return tn
}

func TestBaselineDefenderFromCIPP(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	tn := defenderTenant(t, srv)
	src := mustSource(t, adminClient(t, srv), SourceConfig{})
	baseline := func(kinds ...tenantsync.Kind) (*tenantsync.FetchResult, *tenantsync.DefenderState) {
		t.Helper()
		res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: append(kinds, tenantsync.KindBaseline)})
		require.NoError(t, err)
		bk := res.Result(tenantsync.KindBaseline)
		require.Equal(t, tenantsync.Complete, bk.Mode, "%v", bk.Err)
		require.NotNil(t, bk.Baseline.Defender)
		return res, bk.Baseline.Defender
	}

	require.NoError(t, srv.World.SetDefender(tn.ID, true, "enabled"))
	res, d := baseline()
	assert.Equal(t, 6, res.RoundTrips, "CA policies, score, security defaults, ListLicenses, ListDefenderState, connectors")
	assert.True(t, d.Plan.Licensed(), "%s", d.Plan)
	assert.Equal(t, tenantsync.DefenderConnectorEnabled, d.Connector)
	assert.False(t, d.ConnectorHeartbeat.IsZero())
	require.NotNil(t, d.Devices)
	assert.Equal(t, wantDevices(tn), *d.Devices)
	assert.GreaterOrEqual(t, d.Devices.NotReporting, 2)
	assert.Contains(t, gapCodes(d), tenantsync.GapScansOverdue)
	assert.NotContains(t, gapCodes(d), tenantsync.GapConnectorNotEnabled)

	// With the subscriptions kind, ListLicenses is read once for both.
	res, _ = baseline(tenantsync.KindSubscriptions)
	assert.Equal(t, 6, res.RoundTrips)

	require.NoError(t, srv.World.SetDefender(tn.ID, true, ""))
	_, d = baseline()
	assert.Equal(t, tenantsync.DefenderConnectorNotSetUp, d.Connector)
	assert.Contains(t, gapCodes(d), tenantsync.GapConnectorNotEnabled)

	require.NoError(t, srv.World.SetDefender(tn.ID, false, ""))
	_, d = baseline()
	assert.Equal(t, tenantsync.DefenderPlanNone, d.Plan)
	assert.Contains(t, gapCodes(d), tenantsync.GapDefenderNotLicensed)
	assert.NotContains(t, gapCodes(d), tenantsync.GapConnectorNotEnabled)
}

// CIPP relays Graph's 403: ListDefenderState as 200 ["message"], ListGraphRequest as 400
// "Graph Error: …". Both leave their part unknown with the reason, never "not onboarded".
func TestBaselineDefenderForbiddenThroughCIPP(t *testing.T) {
	t.Parallel()
	srv := newFake(t, testserver.Options{})
	tn := defenderTenant(t, srv)
	src := mustSource(t, adminClient(t, srv), SourceConfig{})
	require.NoError(t, srv.World.SetDefender(tn.ID, true, ""))
	srv.GraphDeny(tn.ID, "/deviceManagement", true)
	res, err := src.Fetch(t.Context(), tenantsync.FetchRequest{TenantID: tn.ID, Kinds: []tenantsync.Kind{tenantsync.KindBaseline}})
	require.NoError(t, err)
	bk := res.Result(tenantsync.KindBaseline)
	require.Equal(t, tenantsync.Complete, bk.Mode, "%v", bk.Err)
	d := bk.Baseline.Defender
	assert.True(t, d.Plan.Licensed())
	assert.Equal(t, tenantsync.DefenderConnectorUnknown, d.Connector)
	assert.Contains(t, d.ConnectorReason, "Insufficient privileges")
	assert.Nil(t, d.Devices, "a message row is not a device")
	assert.Contains(t, d.DevicesReason, "Insufficient privileges")
	assert.Empty(t, d.Gaps)
}

func TestToWindowsProtection(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	got := ToWindowsProtection([]DefenderStateDevice{
		{ID: "a", OperatingSystem: "Windows", WindowsProtectionState: &WindowsProtectionState{MalwareProtectionEnabled: true, RealTimeProtectionEnabled: true,
			SignatureUpdateOverdue: true, LastReportedDateTime: Time{Time: at}}},
		{ID: "b", OperatingSystem: "Windows"},
		{ID: "c", OperatingSystem: "Windows", WindowsProtectionState: &WindowsProtectionState{}}, // never reported: Intune's empty state
		{ID: "d", OperatingSystem: "iOS", WindowsProtectionState: &WindowsProtectionState{LastReportedDateTime: Time{Time: at}}},
	})
	assert.Equal(t, []tenantsync.WindowsProtection{
		{Reported: true, LastReported: at, MalwareProtectionEnabled: true, RealTimeProtectionEnabled: true, SignatureUpdateOverdue: true},
		{}, {},
	}, got)
}
