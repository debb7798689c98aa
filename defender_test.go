package tenantsync_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync"
)

func TestDefenderPlanOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		plans []string
		want  tenantsync.DefenderPlan
	}{
		{"no plans", nil, tenantsync.DefenderPlanNone},
		{"mail only", []string{"EXCHANGE_S_STANDARD", "9aaf7827-d63c-4b61-89c3-182f06f82e5c"}, tenantsync.DefenderPlanNone},
		{"business premium", []string{"EXCHANGE_S_STANDARD", "MDE_SMB", "INTUNE_A"}, tenantsync.DefenderForBusiness},
		{"plan 1 by ID", []string{"292cc034-7b7c-4950-aaf5-943befd3f1d4"}, tenantsync.DefenderEndpointP1},
		{"plan 2 by name, any case", []string{" windefatp "}, tenantsync.DefenderEndpointP2},
		{"the best of several", []string{"MDE_LITE", "WINDEFATP", "MDE_SMB"}, tenantsync.DefenderEndpointP2},
		{"business beats plan 1", []string{"MDE_LITE", "bfc1bbd9-981b-4f71-9b82-17c35fd0e2a4"}, tenantsync.DefenderForBusiness},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tenantsync.DefenderPlanOf(tc.plans))
		})
	}
	assert.True(t, tenantsync.DefenderForBusiness.Licensed())
	assert.False(t, tenantsync.DefenderPlanNone.Licensed())
	assert.False(t, tenantsync.DefenderPlanUnknown.Licensed())
}

func TestDefenderConnectorOf(t *testing.T) {
	t.Parallel()
	assert.Equal(t, tenantsync.DefenderConnectorEnabled, tenantsync.DefenderConnectorOf("enabled"))
	assert.Equal(t, tenantsync.DefenderConnectorUnresponsive, tenantsync.DefenderConnectorOf("Unresponsive"))
	assert.Equal(t, tenantsync.DefenderConnectorNotSetUp, tenantsync.DefenderConnectorOf("notSetUp"))
	// A value Graph adds later is unknown, not "off".
	assert.Equal(t, tenantsync.DefenderConnectorUnknown, tenantsync.DefenderConnectorOf("unknownFutureValue"))
	assert.Equal(t, tenantsync.DefenderConnectorUnknown, tenantsync.DefenderConnectorOf(""))
}

func TestCountWindowsProtection(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	healthy := tenantsync.WindowsProtection{Reported: true, LastReported: now.Add(-time.Hour), MalwareProtectionEnabled: true, RealTimeProtectionEnabled: true}
	stale := healthy
	stale.LastReported = now.Add(-tenantsync.StaleReportAfter - time.Hour)
	rtOff := healthy
	rtOff.RealTimeProtectionEnabled = false
	sigs := healthy
	sigs.SignatureUpdateOverdue = true
	scans := healthy
	scans.FullScanOverdue, scans.SignatureUpdateOverdue = true, true
	got := tenantsync.CountWindowsProtection([]tenantsync.WindowsProtection{healthy, healthy, {}, stale, rtOff, sigs, scans}, now)
	assert.Equal(t, tenantsync.DefenderDevices{Windows: 7, Protected: 2, NotReporting: 2, SignaturesOverdue: 2, ScansOverdue: 1, ProtectionOff: 1}, *got)
	assert.Equal(t, tenantsync.DefenderDevices{}, *tenantsync.CountWindowsProtection(nil, now))
}

func gapCodes(d *tenantsync.DefenderState) []tenantsync.DefenderGapCode {
	var out []tenantsync.DefenderGapCode
	for _, g := range d.Gaps {
		out = append(out, g.Code)
	}
	return out
}

func TestDefenderAssess(t *testing.T) {
	t.Parallel()
	clean := &tenantsync.DefenderDevices{Windows: 3, Protected: 3}
	for _, tc := range []struct {
		name  string
		state tenantsync.DefenderState
		want  []tenantsync.DefenderGapCode
	}{
		{"licensed and connected", tenantsync.DefenderState{Plan: tenantsync.DefenderForBusiness, Connector: tenantsync.DefenderConnectorEnabled, Devices: clean}, nil},
		{"licensed, connector never set up", tenantsync.DefenderState{Plan: tenantsync.DefenderForBusiness, Connector: tenantsync.DefenderConnectorNotSetUp},
			[]tenantsync.DefenderGapCode{tenantsync.GapConnectorNotEnabled}},
		{"licensed, connector available but off", tenantsync.DefenderState{Plan: tenantsync.DefenderEndpointP1, Connector: tenantsync.DefenderConnectorAvailable},
			[]tenantsync.DefenderGapCode{tenantsync.GapConnectorNotEnabled}},
		{"licensed, connector unresponsive", tenantsync.DefenderState{Plan: tenantsync.DefenderEndpointP2, Connector: tenantsync.DefenderConnectorUnresponsive},
			[]tenantsync.DefenderGapCode{tenantsync.GapConnectorUnresponsive}},
		{"not licensed: no connector gap", tenantsync.DefenderState{Plan: tenantsync.DefenderPlanNone, Connector: tenantsync.DefenderConnectorNotSetUp},
			[]tenantsync.DefenderGapCode{tenantsync.GapDefenderNotLicensed}},
		// Unknown is never "no": an unreadable licence or connector raises no gap.
		{"plan unknown", tenantsync.DefenderState{PlanReason: "403", Connector: tenantsync.DefenderConnectorNotSetUp}, nil},
		{"connector unknown", tenantsync.DefenderState{Plan: tenantsync.DefenderForBusiness, ConnectorReason: "403"}, nil},
		{"devices", tenantsync.DefenderState{Plan: tenantsync.DefenderForBusiness, Connector: tenantsync.DefenderConnectorEnabled,
			Devices: &tenantsync.DefenderDevices{Windows: 4, NotReporting: 1, SignaturesOverdue: 1, ScansOverdue: 1, ProtectionOff: 1}},
			[]tenantsync.DefenderGapCode{tenantsync.GapProtectionOff, tenantsync.GapDevicesNotReporting, tenantsync.GapSignaturesOverdue, tenantsync.GapScansOverdue}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.state
			d.Assess()
			assert.Equal(t, tc.want, gapCodes(&d))
			for _, g := range d.Gaps {
				assert.NotEmpty(t, g.Hint)
			}
		})
	}
	d := tenantsync.DefenderState{Plan: tenantsync.DefenderForBusiness, Connector: tenantsync.DefenderConnectorAvailable}
	d.Assess()
	assert.Contains(t, d.Gaps[0].Hint, "Microsoft Defender for Business")
	assert.Contains(t, d.Gaps[0].Hint, "available but not turned on")
	assert.Contains(t, d.Gaps[0].Hint, "Endpoint security > Microsoft Defender for Endpoint")
	d.Connector = tenantsync.DefenderConnectorEnabled
	d.Assess()
	assert.Empty(t, d.Gaps, "Assess starts over")
}
