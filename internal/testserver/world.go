package testserver

import (
	"sync"
	"time"
)

// World is the fake's truth: the partner and its customer tenants. Handlers read it under RLock;
// tests and fault scenarios change it through its methods, which keep the change log that
// Graph delta queries replay.
type World struct {
	mu sync.RWMutex

	PartnerTenantID string
	PartnerName     string
	PartnerDomain   string
	Tenants         []*Tenant
	byID            map[string]*Tenant
}

// Tenant is one generated customer tenant.
type Tenant struct {
	ID            string
	Name          string // company name, with its legal suffix ("Contoso Ltd")
	DefaultDomain string
	InitialDomain string // <name>.onmicrosoft.com
	Domains       []*Domain
	Users         []*User
	Groups        []*Group
	Devices       []*Device
	SKUs          []*SKU
	CAPolicies    []*CAPolicy
	SecureScore   SecureScore
	// SecurityDefaults is whether security defaults are enforced.
	SecurityDefaults bool
	// PremiumP1 is whether the tenant holds Entra ID P1 (MFA registration details need it).
	PremiumP1 bool

	// InCIPP is whether CIPP manages the tenant. CIPPStale hides it from CIPP's cached tenant
	// list until ListTenants is called with TriggerRefresh or ClearCache.
	InCIPP    bool
	CIPPStale bool
	// Consented is whether the partner app has a consented service principal in the tenant
	// (app-only tokens are refused with AADSTS700016 otherwise).
	Consented bool
	// Relationships are the GDAP relationships between the partner and this tenant.
	Relationships []*Relationship
	// InPartnerCenter is whether the tenant is a Partner Center customer of the partner.
	InPartnerCenter bool

	// seq numbers every change to Users, for Graph delta queries.
	seq int64
}

// Domain is a domain of a tenant.
type Domain struct {
	Name       string
	IsDefault  bool
	IsInitial  bool
	IsVerified bool
	Services   []string
}

// User is one user. MailboxType is "" (no mailbox), "UserMailbox", "SharedMailbox",
// "RoomMailbox" or "EquipmentMailbox", as Exchange's RecipientTypeDetails says.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	Mail              string
	ProxyAddresses    []string // "SMTP:primary", "smtp:alias", "x500:...", "sip:..."
	OtherMails        []string
	JobTitle          string
	Department        string
	OfficeLocation    string
	MobilePhone       string
	BusinessPhones    []string
	AccountEnabled    bool
	UserType          string // "Member" or "Guest"
	Licenses          []string
	CreatedAt         time.Time
	MailboxType       string
	// MFA registration (reports/authenticationMethods/userRegistrationDetails).
	MFARegistered bool
	MFACapable    bool
	MFAMethods    []string
	PerUserMFA    string // "disabled", "enabled", "enforced"
	IsAdmin       bool
	// Methods are the user's authentication methods (ID → type) that reset MFA deletes.
	Methods map[string]string

	// Deleted marks a removed user kept as a tombstone for delta queries.
	Deleted bool
	// Seq is the World change number of the user's last change.
	Seq int64
}

// Group is a security or Microsoft 365 group.
type Group struct {
	ID          string
	DisplayName string
	Members     map[string]bool // user IDs
}

// Device is a managed device.
type Device struct {
	ID                string
	DeviceName        string
	SerialNumber      string
	OperatingSystem   string
	OSVersion         string
	Manufacturer      string
	Model             string
	ComplianceState   string
	UserPrincipalName string
	UserID            string
	LastSyncDateTime  time.Time
	EnrolledDateTime  time.Time
}

// SKU is a subscribed SKU.
type SKU struct {
	ID         string // skuId
	PartNumber string
	Name       string
	Enabled    int
	Suspended  int
	Warning    int
	Consumed   int
}

// CAPolicy is a conditional access policy.
type CAPolicy struct {
	ID          string
	DisplayName string
	State       string
	RequiresMFA bool
	CreatedAt   time.Time
}

// SecureScore is the tenant's latest secure score.
type SecureScore struct {
	Current    float64
	Max        float64
	CreatedAt  time.Time
	ActiveUser int
}

// Relationship is a GDAP delegated admin relationship.
type Relationship struct {
	ID          string
	DisplayName string   // "MLT_..." for Microsoft-led relationships
	Status      string   // "active", "expired", "terminated", "approvalPending", ...
	Roles       []string // unified role definition IDs
	CreatedAt   time.Time
	ActivatedAt time.Time
	EndAt       time.Time
	AutoExtend  string // ISO-8601 duration: "P180D" or "PT0S"
}
