package cipp

import (
	"strings"

	"github.com/tenantsync/tenantsync"
)

// This file is the one place CIPP's wire types become tenantsync's domain types.

// ToTenant converts a ListTenants row.
func ToTenant(t Tenant) tenantsync.Tenant {
	out := tenantsync.Tenant{
		ID:            strings.ToLower(t.CustomerID),
		DisplayName:   t.DisplayName,
		DefaultDomain: t.DefaultDomainName,
		InitialDomain: t.InitialDomainName,
		Source:        Service,
	}
	seen := map[string]bool{}
	add := func(d string) {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "" && !seen[d] {
			seen[d] = true
			out.Domains = append(out.Domains, d)
		}
	}
	add(t.DefaultDomainName)
	add(t.InitialDomainName)
	for _, d := range splitList(string(t.Domains)) {
		if strings.Contains(d, ".") {
			add(d)
		}
	}
	switch {
	case t.DelegatedPrivilegeStatus == "directTenant":
		out.Relationship = "CIPP (direct tenant)"
	case !t.RelationshipEnd.IsZero():
		out.Relationship = "CIPP (GDAP until " + t.RelationshipEnd.Format("2006-01-02") + ")"
	default:
		out.Relationship = "CIPP"
	}
	return out
}

// ToUser converts a ListUsers (or ListGraphRequest users) row: the Graph user inside it as
// the Graph route maps it, with the aliases CIPP lists when the row has no proxyAddresses.
func ToUser(tenantID string, u User) tenantsync.User {
	out := u.User.ToUser(tenantID)
	if len(out.ProxyAddresses) == 0 && u.Aliases != "" {
		out.ProxyAddresses = splitList(string(u.Aliases))
	}
	return out
}

// MailboxTypeOf maps Exchange's recipientTypeDetails to a mailbox type. recipientType is
// "UserMailbox" for all of them and says nothing.
func MailboxTypeOf(recipientTypeDetails string) tenantsync.MailboxType {
	switch strings.ToLower(recipientTypeDetails) {
	case "usermailbox":
		return tenantsync.MailboxUser
	case "sharedmailbox":
		return tenantsync.MailboxShared
	case "roommailbox":
		return tenantsync.MailboxRoom
	case "equipmentmailbox":
		return tenantsync.MailboxEquipment
	}
	return tenantsync.MailboxOther
}

// ToMailbox converts a ListMailboxes row.
func ToMailbox(tenantID string, m Mailbox) tenantsync.Mailbox {
	out := tenantsync.Mailbox{
		TenantID:           tenantID,
		ObjectID:           strings.ToLower(m.ExternalDirectoryObjectID),
		UserPrincipalName:  m.UPN,
		DisplayName:        m.DisplayName,
		PrimarySMTPAddress: m.PrimarySMTPAddress,
		Type:               MailboxTypeOf(m.RecipientTypeDetails),
	}
	for _, a := range splitList(string(m.AdditionalEmailAddresses)) {
		if i := strings.Index(a, ":"); i >= 0 {
			if !strings.EqualFold(a[:i], "smtp") {
				continue // x500:, sip: and the like are not mail addresses
			}
			a = a[i+1:]
		}
		if strings.Contains(a, "@") && !strings.EqualFold(a, m.PrimarySMTPAddress) {
			out.Aliases = append(out.Aliases, a)
		}
	}
	return out
}

// ToDevice converts a ListDevices row.
func ToDevice(tenantID string, d Device) tenantsync.Device {
	return tenantsync.Device{
		TenantID:          tenantID,
		ID:                strings.ToLower(d.ID),
		EntraDeviceID:     strings.ToLower(d.AzureADDeviceID),
		DeviceName:        d.DeviceName,
		SerialNumber:      d.SerialNumber,
		OperatingSystem:   d.OperatingSystem,
		OSVersion:         d.OSVersion,
		Manufacturer:      d.Manufacturer,
		Model:             d.Model,
		ComplianceState:   d.ComplianceState,
		UserPrincipalName: d.UserPrincipalName,
		UserID:            strings.ToLower(d.UserID),
		LastSyncAt:        d.LastSyncDateTime.Time,
		EnrolledAt:        d.EnrolledDateTime.Time,
	}
}

// ToDomain converts a ListDomains or Graph domains row. ListDomains has no verification state;
// CIPP lists only domains Graph returns for the tenant, so a missing isVerified counts as
// verified only for the default and initial domains, which are verified by definition.
func ToDomain(tenantID string, d Domain) tenantsync.Domain {
	out := tenantsync.Domain{
		TenantID:  tenantID,
		Name:      strings.ToLower(d.ID),
		IsDefault: d.IsDefault,
		IsInitial: d.IsInitial,
		Services:  d.SupportedServices,
	}
	if d.IsVerified != nil {
		out.IsVerified = *d.IsVerified
	} else {
		out.IsVerified = d.IsDefault || d.IsInitial
	}
	return out
}

// ToSubscription converts a ListLicenses row. CIPP puts the friendly name in skuPartNumber, so
// SKUPartNumber stays empty unless it differs from the name.
func ToSubscription(tenantID string, l License) tenantsync.Subscription {
	out := tenantsync.Subscription{
		TenantID: tenantID,
		SKUID:    strings.ToLower(string(l.SkuID)),
		Name:     l.License,
		Enabled:  l.TotalLicenses.Int(),
		Consumed: l.CountUsed.Int(),
	}
	if pn := string(l.SkuPartNumber); pn != "" && pn != l.License {
		out.SKUPartNumber = pn
	}
	if out.Name == "" {
		out.Name = string(l.SkuPartNumber)
	}
	status := ""
	for _, t := range l.TermInfo {
		switch strings.ToLower(t.Status) {
		case "suspended", "disabled", "lockedout":
			out.Suspended += t.TotalLicenses.Int()
		case "warning", "ingraceperiod":
			out.Warning += t.TotalLicenses.Int()
		}
		if status == "" || strings.EqualFold(t.Status, "Enabled") {
			status = t.Status
		}
	}
	out.CapabilityStatus = status
	if out.CapabilityStatus == "" {
		out.CapabilityStatus = "Enabled"
	}
	return out
}

// ToMFAState converts a ListMFAUsers row.
func ToMFAState(tenantID string, m MFAUser) tenantsync.MFAState {
	return tenantsync.MFAState{
		TenantID:          tenantID,
		UserID:            strings.ToLower(m.ID),
		UserPrincipalName: m.UPN,
		Registered:        m.MFARegistration != nil && *m.MFARegistration,
		Capable:           m.MFACapable != nil && *m.MFACapable,
		Methods:           m.MFAMethods,
		PerUserState:      strings.ToLower(m.PerUser),
		CoveredByCA:       strings.HasPrefix(string(m.CoveredByCA), "Enforced"),
		SecurityDefaults:  m.CoveredBySD != nil && *m.CoveredBySD,
		IsAdmin:           m.IsAdmin,
	}
}

// ToCAPolicy converts a ListConditionalAccessPolicies row.
func ToCAPolicy(p CAPolicy) tenantsync.CAPolicy {
	return tenantsync.CAPolicy{ID: strings.ToLower(p.ID), DisplayName: p.DisplayName, State: p.State, RequiresMFA: p.RequiresMFA()}
}

// licensedServicePlans are the service plan names and IDs of the ListLicenses rows with units
// in use or for sale (TotalLicenses is the SKU's enabled units; a suspended or expired SKU has
// none), less the plans switched off in the SKU.
func licensedServicePlans(rows []License) []string {
	var out []string
	for _, l := range rows {
		if l.TotalLicenses <= 0 && !termActive(l.TermInfo) {
			continue
		}
		for _, p := range l.ServicePlans {
			if !strings.EqualFold(p.ProvisioningStatus, "Disabled") {
				out = append(out, p.ServicePlanName, p.ServicePlanID)
			}
		}
	}
	return out
}

// termActive reports whether a SKU has a term that is enabled or in its grace period.
func termActive(terms []TermInfo) bool {
	for _, t := range terms {
		if strings.EqualFold(t.Status, "Enabled") || strings.EqualFold(t.Status, "Warning") {
			return true
		}
	}
	return false
}

// ToWindowsProtection converts ListDefenderState rows: the Windows devices, with what each
// reports of Microsoft Defender Antivirus. A state without a report time is the empty object
// Intune holds for a device that never reported, so the device counts as not reporting.
func ToWindowsProtection(devs []DefenderStateDevice) []tenantsync.WindowsProtection {
	out := []tenantsync.WindowsProtection{}
	for _, d := range devs {
		if !strings.EqualFold(d.OperatingSystem, "Windows") {
			continue
		}
		p := tenantsync.WindowsProtection{}
		if s := d.WindowsProtectionState; s != nil && !s.LastReportedDateTime.IsZero() {
			p = tenantsync.WindowsProtection{
				Reported: true, LastReported: s.LastReportedDateTime.UTC(),
				MalwareProtectionEnabled: s.MalwareProtectionEnabled, RealTimeProtectionEnabled: s.RealTimeProtectionEnabled,
				SignatureUpdateOverdue: s.SignatureUpdateOverdue, QuickScanOverdue: s.QuickScanOverdue, FullScanOverdue: s.FullScanOverdue,
			}
		}
		out = append(out, p)
	}
	return out
}
