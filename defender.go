package tenantsync

import (
	"fmt"
	"strings"
	"time"
)

// DefenderState is a tenant's Microsoft Defender for Endpoint posture, as far as its data
// exposes it: which plan its licences hold, whether Intune is connected to Defender for
// Endpoint, and what Intune reports of Microsoft Defender Antivirus on its Windows devices.
//
// Each part is either known or unknown with a reason (a 403, no Intune licence, an endpoint
// the route does not offer): unknown is never reported as "not onboarded", and an unknown
// part raises no gap.
//
// Per-device Defender for Endpoint onboarding (is this machine in the Defender portal) is not
// here: neither Intune's managedDevices nor CIPP's ListDefenderState expose it; that takes
// the Defender for Endpoint API (api.securitycenter.microsoft.com), which the partner's GDAP
// tokens for Graph do not reach. Devices counts antivirus health, which Intune reports
// whether or not a device is onboarded.
type DefenderState struct {
	// Plan is the best Defender for Endpoint plan among the tenant's enabled subscriptions;
	// DefenderPlanUnknown, with PlanReason, when the licences could not be read.
	Plan       DefenderPlan
	PlanReason string `json:",omitempty"`
	// Connector is the state of Intune's connector to Microsoft Defender for Endpoint;
	// ConnectorUnknown, with ConnectorReason, when it could not be read.
	Connector       DefenderConnector
	ConnectorReason string `json:",omitempty"`
	// ConnectorHeartbeat is when Intune last heard from Defender for Endpoint; zero when
	// never or unknown.
	ConnectorHeartbeat time.Time `json:",omitzero"`
	// Devices counts the Windows managed devices by their antivirus state; nil, with
	// DevicesReason, when the devices could not be read.
	Devices       *DefenderDevices `json:",omitempty"`
	DevicesReason string           `json:",omitempty"`
	// Gaps are what to fix, worst first; see Assess.
	Gaps []DefenderGap `json:",omitempty"`
}

// DefenderPlan is a Microsoft Defender for Endpoint plan.
type DefenderPlan string

// The plans, from their service plans in the tenant's subscribed SKUs.
const (
	DefenderPlanUnknown DefenderPlan = ""
	// DefenderPlanNone: the licences were read and hold no Defender for Endpoint plan.
	DefenderPlanNone DefenderPlan = "none"
	// DefenderEndpointP1 is Defender for Endpoint Plan 1 (service plan MDE_LITE): next-gen
	// antivirus and attack surface reduction, no endpoint detection and response.
	DefenderEndpointP1 DefenderPlan = "endpointP1"
	// DefenderForBusiness is Defender for Business (MDE_SMB), in Microsoft 365 Business
	// Premium or on its own: Plan 1 plus endpoint detection and response, for up to 300 users.
	DefenderForBusiness DefenderPlan = "business"
	// DefenderEndpointP2 is Defender for Endpoint Plan 2 (WINDEFATP), in Microsoft 365 E5.
	DefenderEndpointP2 DefenderPlan = "endpointP2"
)

// Service plan IDs of the Defender for Endpoint plans, from Microsoft's "Product names and
// service plan identifiers for licensing". IDs are matched as well as names because CIPP's
// ListLicenses rows carry both but a SKU's names have been renamed over the years.
const (
	servicePlanMDESMB    = "bfc1bbd9-981b-4f71-9b82-17c35fd0e2a4" // MDE_SMB
	servicePlanMDELite   = "292cc034-7b7c-4950-aaf5-943befd3f1d4" // MDE_LITE
	servicePlanWinDefATP = "871d91ec-ec1a-452b-a83f-bd76c7d770ef" // WINDEFATP
)

// rank orders the plans: a tenant holding several is reported at its best.
func (p DefenderPlan) rank() int {
	switch p {
	case DefenderEndpointP1:
		return 1
	case DefenderForBusiness:
		return 2
	case DefenderEndpointP2:
		return 3
	}
	return 0
}

// Licensed reports whether the plan is a Defender for Endpoint plan.
func (p DefenderPlan) Licensed() bool { return p.rank() > 0 }

// String names the plan as Microsoft sells it.
func (p DefenderPlan) String() string {
	switch p {
	case DefenderEndpointP1:
		return "Microsoft Defender for Endpoint Plan 1"
	case DefenderForBusiness:
		return "Microsoft Defender for Business"
	case DefenderEndpointP2:
		return "Microsoft Defender for Endpoint Plan 2"
	case DefenderPlanNone:
		return "no Defender for Endpoint plan"
	}
	return "unknown"
}

// DefenderPlanOf returns the best Defender for Endpoint plan among service plans, each given
// by its name (servicePlanName, e.g. "MDE_SMB") or its ID; DefenderPlanNone when none is one.
// Pass only the service plans of subscriptions that are enabled (or in their grace period).
func DefenderPlanOf(servicePlans []string) DefenderPlan {
	best := DefenderPlanNone
	for _, sp := range servicePlans {
		var p DefenderPlan
		switch strings.ToLower(strings.TrimSpace(sp)) {
		case "mde_smb", servicePlanMDESMB:
			p = DefenderForBusiness
		case "mde_lite", servicePlanMDELite:
			p = DefenderEndpointP1
		case "windefatp", servicePlanWinDefATP:
			p = DefenderEndpointP2
		}
		if p.rank() > best.rank() {
			best = p
		}
	}
	return best
}

// DefenderConnector is the state of Intune's Microsoft Defender for Endpoint connector: Graph's
// mobileThreatDefenseConnector partnerState, or DefenderConnectorNotSetUp when the tenant has
// no such connector.
type DefenderConnector string

// The connector's states. Graph's partnerState values are kept as Graph spells them.
const (
	DefenderConnectorUnknown DefenderConnector = ""
	// DefenderConnectorNotSetUp: the tenant has no Defender for Endpoint connector in Intune.
	DefenderConnectorNotSetUp DefenderConnector = "notSetUp"
	// DefenderConnectorAvailable: Defender for Endpoint can connect, but the connection is
	// not turned on in Intune.
	DefenderConnectorAvailable   DefenderConnector = "available"
	DefenderConnectorEnabled     DefenderConnector = "enabled"
	DefenderConnectorUnavailable DefenderConnector = "unavailable"
	// DefenderConnectorUnresponsive: the connection is on, but Defender for Endpoint has not
	// answered within the connector's threshold.
	DefenderConnectorUnresponsive DefenderConnector = "unresponsive"
	DefenderConnectorError        DefenderConnector = "error"
)

// DefenderConnectorOf maps a partnerState as Graph (or CIPP relaying it) spells it.
// An empty or unrecognised state is unknown: Graph adds values over time (unknownFutureValue).
func DefenderConnectorOf(partnerState string) DefenderConnector {
	for _, c := range []DefenderConnector{DefenderConnectorNotSetUp, DefenderConnectorAvailable, DefenderConnectorEnabled,
		DefenderConnectorUnavailable, DefenderConnectorUnresponsive, DefenderConnectorError} {
		if strings.EqualFold(strings.TrimSpace(partnerState), string(c)) {
			return c
		}
	}
	return DefenderConnectorUnknown
}

// describe says what a connector state means, for a gap's hint.
func (c DefenderConnector) describe() string {
	switch c {
	case DefenderConnectorNotSetUp:
		return "no connector is set up"
	case DefenderConnectorAvailable:
		return "the connection is available but not turned on"
	case DefenderConnectorUnavailable:
		return "Defender for Endpoint reports the connection unavailable"
	case DefenderConnectorError:
		return "the connector reports an error"
	case DefenderConnectorEnabled:
		return "the connection is on"
	case DefenderConnectorUnresponsive:
		return "Defender for Endpoint does not answer"
	}
	return "its state is unknown"
}

// DefenderConnectorID is the ID of Intune's Microsoft Defender for Endpoint connector among a
// tenant's mobileThreatDefenseConnectors (the WindowsDefenderATP application's ID); other
// connectors are third-party Mobile Threat Defense partners.
const DefenderConnectorID = "fc780465-2017-40d4-a0c5-307022471b92"

// WindowsProtection is what Intune reports of Microsoft Defender Antivirus on one Windows
// device (Graph's windowsProtectionState).
type WindowsProtection struct {
	// Reported is false when Intune holds no protection state for the device (it has not
	// reported one since enrolment, or reports through another antivirus).
	Reported                  bool
	LastReported              time.Time
	MalwareProtectionEnabled  bool
	RealTimeProtectionEnabled bool
	SignatureUpdateOverdue    bool
	QuickScanOverdue          bool
	FullScanOverdue           bool
}

// DefenderDevices counts a tenant's Windows managed devices by their antivirus state. A device
// can count in several of the overdue and off counts.
type DefenderDevices struct {
	Windows int
	// Protected devices report a state with anti-malware and real-time protection on and
	// nothing overdue.
	Protected int
	// NotReporting devices have no protection state in Intune, or none newer than
	// StaleReportAfter.
	NotReporting      int
	SignaturesOverdue int
	ScansOverdue      int // quick or full scan overdue
	ProtectionOff     int // anti-malware or real-time protection off
}

// StaleReportAfter is how old a device's last protection report may be before the device
// counts as not reporting: Intune's device check-in runs every 8 hours, so a week without a
// report means the device, or its antivirus, has stopped reporting.
const StaleReportAfter = 7 * 24 * time.Hour

// CountWindowsProtection counts Windows devices' protection states as of now.
func CountWindowsProtection(devices []WindowsProtection, now time.Time) *DefenderDevices {
	d := &DefenderDevices{Windows: len(devices)}
	for _, p := range devices {
		if !p.Reported || (!p.LastReported.IsZero() && now.Sub(p.LastReported) > StaleReportAfter) {
			d.NotReporting++
			continue
		}
		off := !p.MalwareProtectionEnabled || !p.RealTimeProtectionEnabled
		scans := p.QuickScanOverdue || p.FullScanOverdue
		if off {
			d.ProtectionOff++
		}
		if p.SignatureUpdateOverdue {
			d.SignaturesOverdue++
		}
		if scans {
			d.ScansOverdue++
		}
		if !off && !scans && !p.SignatureUpdateOverdue {
			d.Protected++
		}
	}
	return d
}

// DefenderGap is one thing to fix in a tenant's Defender posture.
type DefenderGap struct {
	Code DefenderGapCode
	// Hint says what is wrong and what to do, in the words of the admin who will do it.
	Hint string
}

// DefenderGapCode names a kind of gap.
type DefenderGapCode string

// The gaps Assess finds.
const (
	GapDefenderNotLicensed   DefenderGapCode = "notLicensed"
	GapConnectorNotEnabled   DefenderGapCode = "connectorNotEnabled"
	GapConnectorUnresponsive DefenderGapCode = "connectorUnresponsive"
	GapProtectionOff         DefenderGapCode = "protectionOff"
	GapDevicesNotReporting   DefenderGapCode = "devicesNotReporting"
	GapSignaturesOverdue     DefenderGapCode = "signaturesOverdue"
	GapScansOverdue          DefenderGapCode = "scansOverdue"
)

// Where an admin turns the connection on: both sides must be on.
const (
	connectorPortalPath        = "Intune admin center > Endpoint security > Microsoft Defender for Endpoint"
	defenderPortalIntuneSwitch = "Defender portal > Settings > Endpoints > Advanced features > Microsoft Intune connection"
)

// Assess sets Gaps from the known parts of the state. Unknown parts raise no gap: a 403 on
// the connector does not mean the connector is off.
func (d *DefenderState) Assess() {
	d.Gaps = nil
	add := func(c DefenderGapCode, format string, args ...any) {
		d.Gaps = append(d.Gaps, DefenderGap{Code: c, Hint: fmt.Sprintf(format, args...)})
	}
	if d.Plan == DefenderPlanNone {
		add(GapDefenderNotLicensed, "No subscription of the tenant includes Defender for Endpoint, so its devices have antivirus "+
			"but no endpoint detection and response: Microsoft 365 Business Premium includes Defender for Business, "+
			"which is also sold on its own.")
	}
	if d.Plan.Licensed() {
		switch d.Connector {
		case DefenderConnectorNotSetUp, DefenderConnectorAvailable, DefenderConnectorUnavailable, DefenderConnectorError:
			add(GapConnectorNotEnabled, "The tenant is licensed for %s but Intune is not connected to it (%s), "+
				"so Intune does not onboard its devices and their risk does not reach compliance: turn on %s, "+
				"then the connection in %s.", d.Plan, d.Connector.describe(), defenderPortalIntuneSwitch, connectorPortalPath)
		case DefenderConnectorUnresponsive:
			since := "a long time"
			if !d.ConnectorHeartbeat.IsZero() {
				since = d.ConnectorHeartbeat.UTC().Format("2 Jan 2006 15:04 UTC")
			}
			add(GapConnectorUnresponsive, "Intune has not heard from Defender for Endpoint since %s: check the connection in %s "+
				"and that the tenant's Defender subscription is active.", since, connectorPortalPath)
		}
	}
	if dv := d.Devices; dv != nil {
		if dv.ProtectionOff > 0 {
			add(GapProtectionOff, "%d of %d Windows devices have Defender Antivirus or its real-time protection off: "+
				"check for another antivirus or a local policy turning it off, and enforce it with an Intune antivirus policy.",
				dv.ProtectionOff, dv.Windows)
		}
		if dv.NotReporting > 0 {
			add(GapDevicesNotReporting, "%d of %d Windows devices have reported no antivirus state to Intune for over %d days: "+
				"check that they are switched on, sync with Intune, and run Defender Antivirus.",
				dv.NotReporting, dv.Windows, int(StaleReportAfter/(24*time.Hour)))
		}
		if dv.SignaturesOverdue > 0 {
			add(GapSignaturesOverdue, "%d of %d Windows devices have out-of-date antivirus signatures: "+
				"check that they reach Windows Update or the configured update source.", dv.SignaturesOverdue, dv.Windows)
		}
		if dv.ScansOverdue > 0 {
			add(GapScansOverdue, "%d of %d Windows devices have an overdue antivirus scan: "+
				"check the scan schedule in the Intune antivirus policy, or run a quick scan from Intune.", dv.ScansOverdue, dv.Windows)
		}
	}
}
