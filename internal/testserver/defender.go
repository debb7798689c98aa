package testserver

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ServicePlan is one service plan of a SKU, as subscribedSkus and ListLicenses list them.
type ServicePlan struct {
	ID     string // servicePlanId
	Name   string // servicePlanName, e.g. "MDE_SMB"
	Status string // provisioningStatus: "Success", "Disabled", ...
}

// Protection is what a Windows device reports of Microsoft Defender Antivirus to Intune
// (windowsProtectionState). ReportedAgo is how long before each answer the device last
// reported, so a long-running fake keeps looking current.
type Protection struct {
	ReportedAgo            time.Duration
	MalwareProtection      bool
	RealTimeProtection     bool
	SignatureUpdateOverdue bool
	QuickScanOverdue       bool
	FullScanOverdue        bool
}

// The Defender for Endpoint service plans and the connector's ID (Microsoft's "Product names
// and service plan identifiers for licensing"; the connector's ID is the WindowsDefenderATP
// application's).
const (
	planMDESMB          = "bfc1bbd9-981b-4f71-9b82-17c35fd0e2a4" // MDE_SMB, Defender for Business
	planMDELite         = "292cc034-7b7c-4950-aaf5-943befd3f1d4" // MDE_LITE, Defender for Endpoint P1
	planWinDefATP       = "871d91ec-ec1a-452b-a83f-bd76c7d770ef" // WINDEFATP, Defender for Endpoint P2
	defenderConnectorID = "fc780465-2017-40d4-a0c5-307022471b92"
	// skuDefenderBusiness is the standalone Microsoft Defender for Business SKU SetDefender adds.
	skuDefenderBusiness = "5b631642-bd26-49fe-bd20-1daaa972ef80"
)

func isDefenderPlan(id string) bool {
	return id == planMDESMB || id == planMDELite || id == planWinDefATP
}

// servicePlansOf returns a SKU's service plans, the ones the fake's clients look at among
// them: mail, Intune, Entra ID P1 and Defender for Endpoint.
func servicePlansOf(part string) []ServicePlan {
	exo := ServicePlan{"9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD", "Success"}
	exoE := ServicePlan{"efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE", "Success"}
	intune := ServicePlan{"c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A", "Success"}
	p1 := ServicePlan{"41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "Success"}
	switch part {
	case "SPB": // Microsoft 365 Business Premium includes Defender for Business
		return []ServicePlan{exo, intune, p1, {planMDESMB, "MDE_SMB", "Success"}}
	case "SPE_E3": // Microsoft 365 E3 includes Defender for Endpoint Plan 1
		return []ServicePlan{exoE, intune, p1, {planMDELite, "MDE_LITE", "Success"}}
	case "SPE_E5":
		return []ServicePlan{exoE, intune, p1, {planWinDefATP, "WINDEFATP", "Success"}}
	case "MDE_SMB":
		return []ServicePlan{{planMDESMB, "MDE_SMB", "Success"}}
	case "O365_BUSINESS_PREMIUM", "O365_BUSINESS_ESSENTIALS", "EXCHANGESTANDARD":
		return []ServicePlan{exo}
	case "ENTERPRISEPACK":
		return []ServicePlan{exoE}
	case "AAD_PREMIUM":
		return []ServicePlan{p1}
	}
	return nil
}

// hashN is a number in [0, n) drawn from an ID, for state the generator derives without its
// random stream (whose draws fix every generated world).
func hashN(id, salt string, n int) int {
	h := sha256.Sum256([]byte(salt + ":" + id))
	return int(uint(h[0])<<8|uint(h[1])) % n
}

// defender sets the generated tenant's Defender state: its SKUs' service plans, its connector
// (a third of the licensed tenants have none set up, a third have it available but off) and
// what its Windows devices report.
func (g *tenantGen) defender() {
	t := g.t
	licensed := false
	for _, s := range t.SKUs {
		s.ServicePlans = servicePlansOf(s.PartNumber)
		for _, p := range s.ServicePlans {
			licensed = licensed || isDefenderPlan(p.ID)
		}
	}
	if licensed {
		switch hashN(t.ID, "connector", 3) {
		case 1:
			t.DefenderConnector = "enabled"
			t.DefenderHeartbeat = genEpoch.Add(-2 * time.Hour)
		case 2:
			t.DefenderConnector = "available"
		}
	}
	for _, d := range t.Devices {
		if d.OperatingSystem == "Windows" {
			d.Protection = generatedProtection(d.ID)
		}
	}
}

// generatedProtection is a device's antivirus state: most devices healthy, a few never
// reported, stale, with protection off, or overdue signatures or scans.
func generatedProtection(id string) *Protection {
	p := &Protection{ReportedAgo: time.Duration(1+hashN(id, "reported", 20)) * time.Hour, MalwareProtection: true, RealTimeProtection: true}
	switch hashN(id, "protection", 20) {
	case 0:
		return nil
	case 1:
		p.ReportedAgo = 20 * 24 * time.Hour
	case 2:
		p.RealTimeProtection = false
	case 3:
		p.SignatureUpdateOverdue = true
	case 4:
		p.QuickScanOverdue = true
	}
	return p
}

// SetDefender licenses a tenant for Defender for Endpoint or takes the licence away, and sets
// its Intune connector's partnerState ("" removes the connector). Licensing adds a Defender for
// Business subscription when no SKU holds a Defender plan; unlicensing removes every Defender
// plan from the tenant's SKUs, and the Defender for Business subscription.
func (w *World) SetDefender(tenantID string, licensed bool, connector string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.byID[strings.ToLower(tenantID)]
	if t == nil {
		return fmt.Errorf("%w: tenant %s", ErrNotFound, tenantID)
	}
	has := false
	for _, s := range t.SKUs {
		for _, p := range s.ServicePlans {
			has = has || isDefenderPlan(p.ID)
		}
	}
	switch {
	case licensed && !has:
		t.SKUs = append(t.SKUs, &SKU{ID: skuDefenderBusiness, PartNumber: "MDE_SMB", Name: "Microsoft Defender for Business",
			Enabled: max(1, len(t.ActiveUsers())), ServicePlans: servicePlansOf("MDE_SMB")})
	case !licensed:
		kept := t.SKUs[:0]
		for _, s := range t.SKUs {
			if s.ID == skuDefenderBusiness {
				continue
			}
			var plans []ServicePlan
			for _, p := range s.ServicePlans {
				if !isDefenderPlan(p.ID) {
					plans = append(plans, p)
				}
			}
			s.ServicePlans = plans
			kept = append(kept, s)
		}
		t.SKUs = kept
	}
	t.DefenderConnector = connector
	t.DefenderHeartbeat = time.Time{}
	if connector == "enabled" || connector == "unresponsive" {
		t.DefenderHeartbeat = time.Now().UTC().Add(-time.Hour)
		if connector == "unresponsive" {
			t.DefenderHeartbeat = time.Now().UTC().Add(-10 * 24 * time.Hour)
		}
	}
	return nil
}

// servicePlansJSON renders a SKU's service plans as Graph's servicePlanInfo; the caller
// holds the world's lock.
func servicePlansJSON(k *SKU) []any {
	out := []any{}
	for _, p := range k.ServicePlans {
		out = append(out, map[string]any{"servicePlanId": p.ID, "servicePlanName": p.Name, "provisioningStatus": p.Status, "appliesTo": "User"})
	}
	return out
}

// connectorRows are the tenant's mobileThreatDefenseConnectors (v1.0 shape); the caller holds
// the world's lock.
func connectorRows(t *Tenant) []map[string]any {
	if t.DefenderConnector == "" {
		return []map[string]any{}
	}
	var heartbeat any
	if !t.DefenderHeartbeat.IsZero() {
		heartbeat = t.DefenderHeartbeat.UTC().Format(time.RFC3339Nano)
	} else {
		heartbeat = "0001-01-01T00:00:00Z"
	}
	return []map[string]any{{
		"@odata.type": "#microsoft.graph.mobileThreatDefenseConnector", "id": defenderConnectorID,
		"lastHeartbeatDateTime": heartbeat, "partnerState": t.DefenderConnector,
		"androidEnabled": false, "iosEnabled": false, "windowsEnabled": t.DefenderConnector == "enabled",
		"macEnabled": false, "androidDeviceBlockedOnMissingPartnerData": false, "iosDeviceBlockedOnMissingPartnerData": false,
		"windowsDeviceBlockedOnMissingPartnerData": false, "macDeviceBlockedOnMissingPartnerData": false,
		"partnerUnsupportedOsVersionBlocked": false, "partnerUnresponsivenessThresholdInDays": 7,
		"allowPartnerToCollectIOSApplicationMetadata": false, "allowPartnerToCollectIOSPersonalApplicationMetadata": false,
		"androidMobileApplicationManagementEnabled": false, "iosMobileApplicationManagementEnabled": false,
		"microsoftDefenderForEndpointAttachEnabled": false,
	}}
}

// protectionJSON renders a device's windowsProtectionState: null for a non-Windows device, and
// the empty object Intune holds (no report time, every flag null) for one that never reported.
func protectionJSON(d *Device, now time.Time) any {
	if d.OperatingSystem != "Windows" {
		return nil
	}
	p := d.Protection
	if p == nil {
		return map[string]any{
			"@odata.type": "#microsoft.graph.windowsProtectionState", "id": d.ID,
			"malwareProtectionEnabled": nil, "realTimeProtectionEnabled": nil, "signatureUpdateOverdue": nil,
			"quickScanOverdue": nil, "fullScanOverdue": nil, "deviceState": nil, "lastReportedDateTime": nil,
		}
	}
	state := "clean"
	if p.QuickScanOverdue || p.FullScanOverdue {
		state = "fullScanPending"
	}
	return map[string]any{
		"@odata.type": "#microsoft.graph.windowsProtectionState", "id": d.ID,
		"malwareProtectionEnabled": p.MalwareProtection, "realTimeProtectionEnabled": p.RealTimeProtection,
		"networkInspectionSystemEnabled": true, "quickScanOverdue": p.QuickScanOverdue, "fullScanOverdue": p.FullScanOverdue,
		"signatureUpdateOverdue": p.SignatureUpdateOverdue, "rebootRequired": false, "fullScanRequired": false,
		"deviceState": state, "engineVersion": "1.1.24090.11", "signatureVersion": "1.419.150.0",
		"antiMalwareVersion": "4.18.24090.11", "lastReportedDateTime": now.Add(-p.ReportedAgo).UTC().Format(time.RFC3339Nano),
		"productStatus": "noStatus", "isVirtualMachine": false, "tamperProtectionEnabled": true,
	}
}

// expands reports whether an $expand option names the navigation property.
func expands(q url.Values, prop string) bool {
	for f := range strings.SplitSeq(q.Get("$expand"), ",") {
		if strings.EqualFold(strings.TrimSpace(f), prop) {
			return true
		}
	}
	return false
}

// mtdConnectors serves GET /deviceManagement/mobileThreatDefenseConnectors.
func (g *graphCall) mtdConnectors(path string, q url.Values) *graphResult {
	w := g.s.World
	w.mu.RLock()
	rows := connectorRows(g.tenant)
	w.mu.RUnlock()
	return g.collection(path, q, "deviceManagement/mobileThreatDefenseConnectors", rows, graphDefaultPage, graphMaxTop)
}

// graphDenied reports whether GraphDeny refuses path for the tenant: CIPP reads Graph with
// its own GDAP tokens, so a missing role refuses it too.
func (s *Server) graphDenied(tenantID, path string) bool {
	f := s.graphFaultsFor(tenantID)
	s.gmu.Lock()
	defer s.gmu.Unlock()
	return hasPrefix(path, f.deny)
}

// cippListDefenderState serves ListDefenderState: the tenant's managed devices with
// windowsProtectionState expanded (Graph beta, all pages). Failures come back as 200 with the
// message in a one-element array (reference §4.5).
func (s *Server) cippListDefenderState(w http.ResponseWriter, c *cippRequest) {
	if c.t == nil {
		writeCIPPJSON(w, http.StatusOK, []any{})
		return
	}
	if s.graphDenied(c.t.ID, "/deviceManagement/managedDevices") {
		writeCIPPJSON(w, http.StatusOK, []string{"Insufficient privileges to complete the operation."})
		return
	}
	now := time.Now()
	s.World.mu.RLock()
	rows := make([]map[string]any, 0, len(c.t.Devices))
	for _, d := range c.t.Devices {
		rows = append(rows, map[string]any{
			"id": d.ID, "deviceName": d.DeviceName, "deviceType": deviceType(d.OperatingSystem),
			"operatingSystem": d.OperatingSystem, "windowsProtectionState": protectionJSON(d, now),
		})
	}
	s.World.mu.RUnlock()
	writeCIPPJSON(w, http.StatusOK, rows)
}

// deviceType is Graph beta's deviceType for an operating system.
func deviceType(os string) string {
	switch os {
	case "Windows":
		return "windowsRT"
	case "macOS":
		return "macMDM"
	case "iOS":
		return "iPhone"
	case "Android":
		return "androidForWork"
	}
	return "unknown"
}
