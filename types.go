package tenantsync

import (
	"strings"
	"time"
)

// Kind names one kind of data a Source can hold for a tenant.
type Kind string

// The kinds of tenant data.
const (
	KindUsers         Kind = "users"
	KindMailboxes     Kind = "mailboxes"
	KindDevices       Kind = "devices"
	KindDomains       Kind = "domains"
	KindSubscriptions Kind = "subscriptions" // licences: subscribed SKUs and their counts
	KindMFA           Kind = "mfa"
	KindBaseline      Kind = "baseline" // secure score, security defaults, conditional access
	KindGroups        Kind = "groups"   // security, Microsoft 365 and distribution groups, with member counts
	// KindOrganization is the tenant's organization details (address, technical contacts,
	// partner tenant type): one item per tenant.
	KindOrganization Kind = "organization"
	// KindSignIns is each user's last sign-in (Entra ID signInActivity; needs Entra ID P1).
	KindSignIns Kind = "signins"
	// KindMailboxUsage is each mailbox's size and item count, from the 7-day usage report.
	KindMailboxUsage Kind = "mailbox_usage"
)

// AllKinds returns every kind, in the order a sync processes them.
func AllKinds() []Kind {
	return []Kind{KindUsers, KindMailboxes, KindDevices, KindDomains, KindSubscriptions, KindMFA, KindBaseline,
		KindGroups, KindOrganization, KindSignIns, KindMailboxUsage}
}

// Singleton reports whether the kind holds one item per tenant (the security baseline, the
// organization details) that each fetch replaces, rather than a list whose items can be gone.
func (k Kind) Singleton() bool { return k == KindBaseline || k == KindOrganization }

// Valid reports whether k is one of the declared kinds.
func (k Kind) Valid() bool {
	for _, c := range AllKinds() {
		if c == k {
			return true
		}
	}
	return false
}

// Tenant is a customer's Microsoft 365 tenant as a source reports it.
type Tenant struct {
	ID            string   // Entra tenant ID (GUID), the customer ID in Partner Center and CIPP
	DisplayName   string   // the customer's name
	DefaultDomain string   // the default verified domain
	InitialDomain string   // the <name>.onmicrosoft.com domain
	Domains       []string // verified domains known at discovery, default first when known
	Source        string   // name of the Source that reported it
	// Relationship describes how the partner reaches the tenant (e.g. "GDAP active until 2027-01-31",
	// "CIPP"), for display.
	Relationship string
}

// User is an Entra ID user.
type User struct {
	TenantID          string
	ObjectID          string
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	Mail              string
	// ProxyAddresses as Exchange reports them, prefix included: "SMTP:" marks the primary
	// address, "smtp:" an alias, other prefixes ("x500:", "sip:") are not email addresses.
	ProxyAddresses []string
	OtherMails     []string
	JobTitle       string
	Department     string
	CompanyName    string
	OfficeLocation string
	MobilePhone    string
	BusinessPhones []string
	AccountEnabled bool
	UserType       string   // "Member" or "Guest"
	AssignedSKUs   []string // SKU IDs of assigned licences
	CreatedAt      time.Time
	OnPremisesSync bool
}

// IsGuest reports whether the user is a B2B guest.
func (u User) IsGuest() bool { return u.UserType == "Guest" }

// IsLicensed reports whether the user holds at least one licence.
func (u User) IsLicensed() bool { return len(u.AssignedSKUs) > 0 }

// MailboxType is the recipient type of an Exchange mailbox.
type MailboxType string

// Mailbox types.
const (
	MailboxUser      MailboxType = "user"
	MailboxShared    MailboxType = "shared"
	MailboxRoom      MailboxType = "room"
	MailboxEquipment MailboxType = "equipment"
	MailboxOther     MailboxType = "other"
)

// IsPerson reports whether the mailbox belongs to a person (not shared, room or equipment).
func (t MailboxType) IsPerson() bool { return t == MailboxUser || t == "" }

// Mailbox is an Exchange Online mailbox.
type Mailbox struct {
	TenantID           string
	ObjectID           string // the Entra object ID of the mailbox's user (ExternalDirectoryObjectId)
	UserPrincipalName  string
	DisplayName        string
	PrimarySMTPAddress string
	Type               MailboxType
	Aliases            []string // further SMTP addresses, without prefix
	// Licence says whether the mailbox's user holds a licence (a user mailbox needs one; a
	// shared mailbox under 50 GB does not); LicenceUnknown when the route did not say.
	Licence MailboxLicence `json:",omitempty"`
	// AssignedSKUs are the SKU IDs of the user's licences, when the route reports them.
	AssignedSKUs []string `json:",omitempty"`
}

// MailboxLicence is the licence state of a mailbox's user.
type MailboxLicence string

// Mailbox licence states.
const (
	LicenceUnknown    MailboxLicence = ""
	LicenceLicensed   MailboxLicence = "licensed"
	LicenceUnlicensed MailboxLicence = "unlicensed"
)

// Device is a managed (Intune) or registered (Entra) device.
type Device struct {
	TenantID string
	// ID is the device's identity in its tenant: the Intune managed device ID for a managed
	// device.
	ID string
	// EntraDeviceID is the device's object in Entra ID (Intune's azureADDeviceId), when the
	// source reports it: the same device's identity outside Intune.
	EntraDeviceID     string
	DeviceName        string
	SerialNumber      string
	OperatingSystem   string
	OSVersion         string
	Manufacturer      string
	Model             string
	ComplianceState   string
	UserPrincipalName string
	UserID            string
	LastSyncAt        time.Time
	EnrolledAt        time.Time
}

// Domain is a domain of a tenant.
type Domain struct {
	TenantID   string
	Name       string
	IsDefault  bool
	IsInitial  bool
	IsVerified bool
	Services   []string // "Email", "OfficeCommunicationsOnline", ...
}

// Subscription is a licence (a subscribed SKU) of a tenant.
type Subscription struct {
	TenantID         string
	SKUID            string
	SKUPartNumber    string
	Name             string // friendly name, when known
	Enabled          int    // purchased units (prepaidUnits.enabled)
	Suspended        int
	Warning          int
	Consumed         int
	CapabilityStatus string
}

// MFAState is what is known of a user's multi-factor authentication.
type MFAState struct {
	TenantID          string
	UserID            string
	UserPrincipalName string
	Registered        bool     // has registered a method that satisfies MFA
	Capable           bool     // registered and allowed to use MFA
	Methods           []string // methodsRegistered, e.g. "microsoftAuthenticatorPush", "mobilePhone"
	PerUserState      string   // legacy per-user MFA: "disabled", "enabled", "enforced"
	CoveredByCA       bool     // an enabled conditional access policy requires MFA for this user
	SecurityDefaults  bool     // security defaults are on in the tenant
	IsAdmin           bool
}

// CAPolicy is a conditional access policy, reduced to what a baseline needs.
type CAPolicy struct {
	ID          string
	DisplayName string
	State       string // "enabled", "disabled", "enabledForReportingButNotEnforced"
	RequiresMFA bool
}

// SecurityBaseline is a tenant's security posture at one moment.
type SecurityBaseline struct {
	TenantID         string
	SecureScore      float64
	MaxScore         float64
	SecurityDefaults *bool // nil when unknown
	CAPolicies       []CAPolicy
	MeasuredAt       time.Time
	// MFA summarises the tenant's MFA states, when they were read with the baseline; nil
	// when unknown (no Entra ID P1, or the MFA kind was not fetched).
	MFA *MFASummary `json:",omitempty"`
	// Defender is the tenant's Defender for Endpoint posture; nil when the route did not read
	// it. Its parts are each known or unknown with a reason.
	Defender *DefenderState `json:",omitempty"`
}

// Client is a customer as the PSA knows it.
type Client struct {
	ID        string
	Name      string
	Domains   []string // email or web domains the PSA holds for the client
	TenantIDs []string // Entra tenant IDs already recorded on the client in the PSA
	// ActiveUntil marks a client with recent activity (open tickets, new agents): the engine
	// polls its tenants more often until this time. Zero means not active.
	ActiveUntil time.Time
}

// Contact is a person in the PSA's contact directory.
type Contact struct {
	ID        string
	ClientID  string
	FirstName string
	LastName  string
	Email     string
	AltEmails []string
	JobTitle  string
	Phone     string
	Mobile    string
	Active    bool
	// TenantID and ObjectID identify the linked M365 user, when the PSA stores the link itself.
	// The engine sets both on every contact it creates (see Contacts.CreateContact): a PSA that
	// stores them (in a custom field or an external ID) and returns them from ListContacts lets
	// the engine recognise its own contacts after a crash, whatever their email.
	TenantID string
	ObjectID string
}

// IdempotencyKey returns a stable key for the M365 user the contact is for,
// "tenantsync:<tenant ID>:<object ID>" with both IDs trimmed and lower-cased (they are GUIDs,
// which compare without regard to case), or "" when either is empty. A Contacts
// implementation whose PSA accepts an idempotency key on creates (an Idempotency-Key header, an
// external ID the PSA keeps unique) can send it, so that a create repeated after a lost answer
// or a crash returns the first contact instead of making a second. The key stays the same for
// as long as the user exists, so it also works as an external ID to look the contact up by.
func (c Contact) IdempotencyKey() string {
	tenant, object := strings.ToLower(strings.TrimSpace(c.TenantID)), strings.ToLower(strings.TrimSpace(c.ObjectID))
	if tenant == "" || object == "" {
		return ""
	}
	return "tenantsync:" + tenant + ":" + object
}

// Asset is a configuration item in the PSA: a device one of its clients owns.
type Asset struct {
	ID       string
	ClientID string
	Name     string
	// TenantID, IntuneDeviceID and EntraDeviceID identify the device the asset is for. The
	// engine sets them on every asset it creates or links (see Assets.CreateAsset); a PSA that
	// stores them and returns them from ListAssets lets the engine recognise the asset by them
	// rather than by its serial number.
	TenantID        string
	IntuneDeviceID  string
	EntraDeviceID   string
	SerialNumber    string
	Manufacturer    string
	Model           string
	OperatingSystem string
	OSVersion       string
	OwnerUPN        string    // the user principal name of the device's primary user
	LastCheckIn     time.Time // the device's last check-in with Intune
	Compliance      string    // Intune's compliance state: "compliant", "noncompliant", ...
	// RetiredAt is when the asset was retired (its device left the tenant); zero while it is in
	// service. Assets are retired, never deleted.
	RetiredAt time.Time
}

// Retired reports whether the asset is retired.
func (a Asset) Retired() bool { return !a.RetiredAt.IsZero() }

// IdempotencyKey returns a stable key for the device the asset is for,
// "tenantsync:device:<tenant ID>:<Intune device ID>" with both IDs trimmed and lower-cased, or ""
// when either is empty: for a PSA that accepts an idempotency key or an external ID on creates,
// so that a create repeated after a lost answer returns the first asset.
func (a Asset) IdempotencyKey() string {
	tenant, device := strings.ToLower(strings.TrimSpace(a.TenantID)), strings.ToLower(strings.TrimSpace(a.IntuneDeviceID))
	if tenant == "" || device == "" {
		return ""
	}
	return "tenantsync:device:" + tenant + ":" + device
}

// AuditEntry is one line of the append-only audit log. The store fills Seq, PrevHash, Hash and
// KeyID.
type AuditEntry struct {
	Seq      int64
	Account  string
	At       time.Time
	Actor    string
	Action   string // a write Action, or an administrative action such as "link", "unlink"
	TenantID string
	Target   string // the user, group or client acted on
	Phase    string // "intent", "result"
	Outcome  string // "requested", "approved", "pending", "denied", "refused", "succeeded", "failed", "dry-run"
	Route    string // "cipp", "graph", or "" when not executed
	Error    string
	Detail   map[string]string
	PrevHash string
	// Hash chains the entry: an HMAC-SHA256 under the key KeyID names, or, for an entry written
	// before the audit log was keyed (KeyID ""), an unkeyed SHA-256.
	Hash  string
	KeyID string
}
