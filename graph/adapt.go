package graph

import (
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
)

// This file is the one place Graph's wire types become the root package's domain types.

func toUser(tenant string, u User) tenantsync.User { return u.ToUser(tenant) }

func toUsers(tenant string, us []User) []tenantsync.User {
	out := make([]tenantsync.User, 0, len(us))
	for _, u := range us {
		out = append(out, toUser(tenant, u))
	}
	return out
}

// mailboxType maps Exchange's userPurpose onto the root's mailbox types.
func mailboxType(p MailboxPurpose) tenantsync.MailboxType {
	switch strings.ToLower(string(p)) {
	case "user", "linked":
		return tenantsync.MailboxUser
	case "shared":
		return tenantsync.MailboxShared
	case "room":
		return tenantsync.MailboxRoom
	case "equipment":
		return tenantsync.MailboxEquipment
	}
	return tenantsync.MailboxOther
}

func toMailbox(tenant string, u User, p MailboxPurpose) tenantsync.Mailbox {
	m := tenantsync.Mailbox{
		TenantID:           tenant,
		ObjectID:           u.ID,
		UserPrincipalName:  u.UserPrincipalName,
		DisplayName:        u.DisplayName,
		PrimarySMTPAddress: u.Mail,
		Type:               mailboxType(p),
		Licence:            tenantsync.LicenceUnlicensed,
	}
	// The mailbox rounds $select assignedLicenses, so an empty list is known to be empty.
	for _, l := range u.AssignedLicenses {
		m.AssignedSKUs = append(m.AssignedSKUs, l.SKUID)
		m.Licence = tenantsync.LicenceLicensed
	}
	for _, a := range u.ProxyAddresses {
		prefix, addr, ok := strings.Cut(a, ":")
		if !ok || !strings.EqualFold(prefix, "smtp") {
			continue
		}
		if prefix == "SMTP" {
			m.PrimarySMTPAddress = addr
			continue
		}
		m.Aliases = append(m.Aliases, addr)
	}
	return m
}

func toDevice(tenant string, d ManagedDevice) tenantsync.Device {
	out := tenantsync.Device{
		TenantID:          tenant,
		ID:                d.ID,
		DeviceName:        d.DeviceName,
		SerialNumber:      d.SerialNumber,
		OperatingSystem:   d.OperatingSystem,
		OSVersion:         d.OSVersion,
		Manufacturer:      d.Manufacturer,
		Model:             d.Model,
		ComplianceState:   d.ComplianceState,
		UserPrincipalName: d.UserPrincipalName,
		UserID:            d.UserID,
	}
	out.LastSyncAt = utc(d.LastSyncDateTime)
	out.EnrolledAt = utc(d.EnrolledDateTime)
	return out
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toDomain(tenant string, d Domain) tenantsync.Domain {
	return tenantsync.Domain{
		TenantID:   tenant,
		Name:       d.ID,
		IsDefault:  d.IsDefault,
		IsInitial:  d.IsInitial,
		IsVerified: d.IsVerified,
		Services:   d.SupportedServices,
	}
}

func toSubscription(tenant string, s SubscribedSKU) tenantsync.Subscription {
	return tenantsync.Subscription{
		TenantID:         tenant,
		SKUID:            s.SKUID,
		SKUPartNumber:    s.SKUPartNumber,
		Enabled:          s.PrepaidUnits.Enabled,
		Suspended:        s.PrepaidUnits.Suspended,
		Warning:          s.PrepaidUnits.Warning,
		Consumed:         s.ConsumedUnits,
		CapabilityStatus: s.CapabilityStatus,
	}
}

// enabledServicePlans are the names of the service plans of the SKUs in use: enabled, or in
// their grace period (Warning), and not switched off in the SKU (provisioningStatus Disabled).
func enabledServicePlans(skus []SubscribedSKU) []string {
	var out []string
	for _, s := range skus {
		if !strings.EqualFold(s.CapabilityStatus, "Enabled") && !strings.EqualFold(s.CapabilityStatus, "Warning") {
			continue
		}
		for _, p := range s.ServicePlans {
			if !strings.EqualFold(p.ProvisioningStatus, "Disabled") {
				out = append(out, p.ServicePlanName, p.ServicePlanID)
			}
		}
	}
	return out
}

// toWindowsProtection keeps the Windows devices of a managedDevices listing, with what each
// reports of its antivirus.
func toWindowsProtection(devs []ProtectedDevice) []tenantsync.WindowsProtection {
	out := []tenantsync.WindowsProtection{}
	for _, d := range devs {
		if !strings.EqualFold(d.OperatingSystem, "Windows") {
			continue
		}
		p := tenantsync.WindowsProtection{}
		// A state without a report time is the empty object Intune holds for a device that
		// never reported: its false flags mean nothing, so it counts as not reporting.
		if s := d.WindowsProtectionState; s != nil && s.LastReportedDateTime != nil && !s.LastReportedDateTime.IsZero() {
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

func toMFA(tenant string, r RegistrationDetail, policies []CAPolicy, secDefaults bool, dir directory) tenantsync.MFAState {
	st := tenantsync.MFAState{
		TenantID:          tenant,
		UserID:            r.ID,
		UserPrincipalName: r.UserPrincipalName,
		Registered:        r.IsMFARegistered,
		Capable:           r.IsMFACapable,
		Methods:           r.MethodsRegistered,
		SecurityDefaults:  secDefaults,
		IsAdmin:           r.IsAdmin,
	}
	for _, p := range policies {
		if p.covers(r.ID, strings.EqualFold(r.UserType, "guest"), dir) {
			st.CoveredByCA = true
			break
		}
	}
	return st
}

func toCAPolicy(p CAPolicy) tenantsync.CAPolicy {
	return tenantsync.CAPolicy{ID: p.ID, DisplayName: p.DisplayName, State: p.State, RequiresMFA: p.RequiresMFA()}
}
