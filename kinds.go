package tenantsync

import (
	"strings"
	"time"
)

// GroupType is what kind of group a Group is.
type GroupType string

// Group types, as the Microsoft 365 admin centre names them.
const (
	GroupMicrosoft365        GroupType = "microsoft365"          // a unified group (Teams, SharePoint, a shared inbox)
	GroupSecurity            GroupType = "security"              // a security group, not mail-enabled
	GroupMailEnabledSecurity GroupType = "mail_enabled_security" // a security group with an address
	GroupDistribution        GroupType = "distribution"          // a distribution list
	GroupOther               GroupType = "other"
)

// Group is a group of a tenant.
type Group struct {
	TenantID    string
	ID          string // object ID
	DisplayName string
	Description string
	Mail        string
	Type        GroupType
	// MemberCount is the number of direct members.
	MemberCount int
	// Dynamic groups compute their members from a rule: members cannot be added or removed.
	Dynamic        bool
	OnPremisesSync bool
}

// Writable reports whether members can be added to or removed from the group through Graph or
// CIPP: not a dynamic group, and not a distribution list or mail-enabled security group,
// which only Exchange manages.
func (g Group) Writable() bool {
	return !g.Dynamic && !g.OnPremisesSync && (g.Type == GroupSecurity || g.Type == GroupMicrosoft365)
}

// Organization is a tenant's organization details.
type Organization struct {
	TenantID          string
	DisplayName       string
	Street            string
	City              string
	State             string
	PostalCode        string
	Country           string // as the tenant wrote it
	CountryLetterCode string // ISO 3166-1 alpha-2
	Phones            []string
	// TechnicalNotificationMails are the addresses Microsoft sends technical notices to.
	TechnicalNotificationMails []string
	// PartnerTenantType is how the tenant relates to partners, as Graph reports it
	// ("ResellerPartnerDelegatedAdmin", "MicrosoftSupport", ...; empty for a customer).
	PartnerTenantType string
	TenantType        string // "AAD", "AAD B2C"
	CreatedAt         time.Time
}

// Address returns the postal address on one line, its parts joined by ", ".
func (o Organization) Address() string {
	var parts []string
	for _, p := range []string{o.Street, o.City, o.State, o.PostalCode, o.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// SignInActivity is when a user last signed in, as Entra ID records it.
type SignInActivity struct {
	TenantID          string
	UserID            string // object ID
	UserPrincipalName string
	// LastSignInAt is the last interactive sign-in, successful or not; zero when never.
	LastSignInAt time.Time
	// LastNonInteractiveSignInAt is the last sign-in a client made for the user (a token
	// refresh); zero when never.
	LastNonInteractiveSignInAt time.Time
	// LastSuccessfulSignInAt is the last successful sign-in of either kind; zero when never or
	// when the route does not report it.
	LastSuccessfulSignInAt time.Time
}

// Last returns the latest of the sign-in times, or zero when the user never signed in.
func (s SignInActivity) Last() time.Time {
	last := s.LastSignInAt
	for _, t := range []time.Time{s.LastNonInteractiveSignInAt, s.LastSuccessfulSignInAt} {
		if t.After(last) {
			last = t
		}
	}
	return last
}

// MailboxUsage is a mailbox's size and item count from Microsoft 365's usage report, keyed by
// the mailbox's user principal name (the report carries no object ID).
type MailboxUsage struct {
	TenantID          string
	UserPrincipalName string // lower-cased; the item's identity
	DisplayName       string
	StorageUsedBytes  int64
	ItemCount         int64
	DeletedItemCount  int64
	DeletedItemBytes  int64
	// ProhibitSendReceiveQuotaBytes is the size at which the mailbox stops sending and
	// receiving; 0 when unknown.
	ProhibitSendReceiveQuotaBytes int64
	HasArchive                    bool
	LastActivity                  time.Time // date of the last mail activity; zero when none
	ReportDate                    time.Time // the day the report was refreshed
}

// MFASummary sums up a tenant's MFA states.
type MFASummary struct {
	Users       int // users with an MFA state (enabled members and guests the report lists)
	Registered  int // registered an MFA method
	Capable     int // registered and allowed to use MFA
	CoveredByCA int // an enabled conditional access policy requires MFA of them
	// Protected is the users MFA is enforced for: covered by conditional access, by security
	// defaults, or by legacy per-user MFA ("enforced").
	Protected int
	Admins    int
	// AdminsWithoutMFA are the user principal names of administrators who cannot use MFA
	// (not capable), in the order of the states given.
	AdminsWithoutMFA []string
}

// SummarizeMFA sums up MFA states. It returns nil for no states: a summary of nothing would
// read as a tenant with no gaps.
func SummarizeMFA(states []MFAState) *MFASummary {
	if len(states) == 0 {
		return nil
	}
	s := &MFASummary{}
	for _, m := range states {
		s.Users++
		if m.Registered {
			s.Registered++
		}
		if m.Capable {
			s.Capable++
		}
		if m.CoveredByCA {
			s.CoveredByCA++
		}
		if m.CoveredByCA || m.SecurityDefaults || m.PerUserState == "enforced" {
			s.Protected++
		}
		if m.IsAdmin {
			s.Admins++
			if !m.Capable {
				name := m.UserPrincipalName
				if name == "" {
					name = m.UserID
				}
				s.AdminsWithoutMFA = append(s.AdminsWithoutMFA, name)
			}
		}
	}
	return s
}
