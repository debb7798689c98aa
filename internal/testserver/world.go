package testserver

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// World is the fake's truth: the partner and its customer tenants. Handlers read it under
// w.mu.RLock() and never change it without w.mu.Lock(); tests and fault scenarios change it
// through its methods, which number every user change so Graph delta queries can replay them.
type World struct {
	mu sync.RWMutex

	PartnerTenantID string
	PartnerName     string
	PartnerDomain   string
	Tenants         []*Tenant
	byID            map[string]*Tenant
	byDomain        map[string]*Tenant // lower-cased domain names
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
	// DefenderConnector is the partnerState of the tenant's Intune connector to Defender for
	// Endpoint ("enabled", "available", "unresponsive", ...); "" when it has none.
	DefenderConnector string
	DefenderHeartbeat time.Time
	// Org is the tenant's organization details (GET /organization).
	Org OrgDetails
	// ConcealReportNames is the tenant's report setting (admin/reportSettings
	// displayConcealedNames): usage reports show hashes instead of user names. Microsoft turns
	// it on for new tenants; the generator leaves it off so its worlds show names.
	ConcealReportNames bool

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
	UserType          string   // "Member" or "Guest"
	Licenses          []string // skuIds of the assigned licences (Tenant.SKUs)
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
	// UsageLocation is the two-letter country licences need; ManagerID the user's manager.
	UsageLocation string
	ManagerID     string
	// Exchange settings the offboarding workflow changes: an automatic reply, a forwarding
	// address (with KeepCopy), and whether the mailbox is hidden from the address lists.
	AutoReply     string
	ForwardTo     string
	KeepCopy      bool
	HiddenFromGAL bool
	// LastSignIn and LastNonInteractiveSignIn are Entra ID's signInActivity (zero: never).
	LastSignIn               time.Time
	LastNonInteractiveSignIn time.Time
	// MailboxBytes and MailboxItems are the mailbox's size and item count in the usage
	// reports; LastMailActivity is the report's last activity date.
	MailboxBytes     int64
	MailboxItems     int64
	LastMailActivity time.Time

	// Deleted marks a removed user kept as a tombstone for delta queries.
	Deleted bool
	// Seq is the World change number of the user's last change.
	Seq int64
	// AddedSeq is the change number of AddUser (0 for generated users), and Changed the change
	// number of each field's last change through UpdateUser: Graph delta rounds report a user
	// only when a property they $select changed.
	AddedSeq int64
	Changed  map[string]int64
}

// Group is a group. Type is "Microsoft365", "Security", "MailEnabledSecurity" or
// "Distribution" ("" reads as Security); Mail is its address when mail-enabled.
type Group struct {
	ID          string
	DisplayName string
	Members     map[string]bool // user IDs
	Type        string
	Mail        string
	Description string
}

// OrgDetails are a tenant's organization details.
type OrgDetails struct {
	Street, City, State, PostalCode, Country, CountryLetterCode string
	Phones                                                      []string
	TechnicalNotificationMails                                  []string
	PartnerTenantType                                           string
	CreatedAt                                                   time.Time
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
	// Protection is what a Windows device reports of Defender Antivirus; nil when it has
	// reported nothing.
	Protection *Protection
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
	// ServicePlans are the services the SKU includes (generated from its part number).
	ServicePlans []ServicePlan
}

// CAPolicy is a conditional access policy. Its user scope is IncludeUsers ("All", "None" or
// user IDs), IncludeGroups and IncludeRoles (role template IDs), less the Exclude lists; a
// policy with no scope at all includes "All".
type CAPolicy struct {
	ID          string
	DisplayName string
	State       string
	RequiresMFA bool
	CreatedAt   time.Time

	IncludeUsers, ExcludeUsers   []string
	IncludeGroups, ExcludeGroups []string
	IncludeRoles, ExcludeRoles   []string
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

// ErrNotFound is returned by World methods for an unknown tenant or user.
var ErrNotFound = errors.New("testserver: not found")

// Tenant returns the customer tenant with id (case-insensitive), or nil.
func (w *World) Tenant(id string) *Tenant {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.byID[strings.ToLower(id)]
}

// TenantByDomain returns the customer tenant owning a verified, default or initial domain
// (case-insensitive), or nil.
func (w *World) TenantByDomain(name string) *Tenant {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.byDomain[strings.ToLower(name)]
}

func (w *World) partnerTenantID() string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.PartnerTenantID
}

// AddUser adds u to a tenant, giving it an ID when it has none, and returns the stored user.
// A UserPrincipalName already in use is refused, as Entra ID does.
func (w *World) AddUser(tenantID string, u User) (*User, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.byID[strings.ToLower(tenantID)]
	if t == nil {
		return nil, fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
	}
	for _, o := range t.Users {
		if !o.Deleted && strings.EqualFold(o.UserPrincipalName, u.UserPrincipalName) {
			return nil, fmt.Errorf("tenant %s: userPrincipalName %s is already in use", tenantID, u.UserPrincipalName)
		}
	}
	if u.ID == "" {
		u.ID = randomGUID()
	}
	if u.UserType == "" {
		u.UserType = "Member"
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	stored := &u
	stored.Seq = t.bump()
	stored.AddedSeq = stored.Seq
	t.Users = append(t.Users, stored)
	return stored, nil
}

// UpdateUser changes a user through fn under the World's write lock and records the change.
func (w *World) UpdateUser(tenantID, userID string, fn func(*User)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.byID[strings.ToLower(tenantID)]
	if t == nil {
		return fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
	}
	u := t.User(userID)
	if u == nil {
		return fmt.Errorf("tenant %s user %s: %w", tenantID, userID, ErrNotFound)
	}
	before := fieldValues(u)
	fn(u)
	u.Seq = t.bump()
	for name, v := range fieldValues(u) {
		if before[name] != v {
			if u.Changed == nil {
				u.Changed = map[string]int64{}
			}
			u.Changed[name] = u.Seq
		}
	}
	return nil
}

// fieldValues renders each field of u that UpdateUser's callback may change; the rendering is
// taken before and after, so a slice changed in place counts as changed too.
func fieldValues(u *User) map[string]string {
	v := reflect.ValueOf(u).Elem()
	out := make(map[string]string, v.NumField())
	for i := range v.NumField() {
		switch name := v.Type().Field(i).Name; name {
		case "Seq", "AddedSeq", "Changed":
		default:
			out[name] = fmt.Sprint(v.Field(i).Interface())
		}
	}
	return out
}

// DeleteUser removes a user, keeping a tombstone (Deleted) that delta queries report as removed.
func (w *World) DeleteUser(tenantID, userID string) error {
	return w.UpdateUser(tenantID, userID, func(u *User) {
		u.Deleted = true
		u.AccountEnabled = false
	})
}

// bump advances the tenant's change number; the caller holds the World's write lock.
func (t *Tenant) bump() int64 { return atomic.AddInt64(&t.seq, 1) }

// Seq is the tenant's latest change number: a Graph delta token records it, and users with a
// higher Seq changed since.
func (t *Tenant) Seq() int64 { return atomic.LoadInt64(&t.seq) }

// User returns the user with an ID or UPN (case-insensitive), tombstones included, or nil. The
// caller holds the World's lock.
func (t *Tenant) User(idOrUPN string) *User {
	for _, u := range t.Users {
		if strings.EqualFold(u.ID, idOrUPN) || strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u
		}
	}
	return nil
}

// ActiveUsers returns the users that are not deleted. The caller holds the World's lock.
func (t *Tenant) ActiveUsers() []*User {
	out := make([]*User, 0, len(t.Users))
	for _, u := range t.Users {
		if !u.Deleted {
			out = append(out, u)
		}
	}
	return out
}

// ChangedSince returns the users (tombstones included) changed after change number seq, in
// change order. The caller holds the World's lock.
func (t *Tenant) ChangedSince(seq int64) []*User {
	var out []*User
	for _, u := range t.Users {
		if u.Seq > seq {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *User) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Mailboxes returns the users with a mailbox (user, shared, room, equipment), not deleted. The
// caller holds the World's lock.
func (t *Tenant) Mailboxes() []*User {
	var out []*User
	for _, u := range t.Users {
		if !u.Deleted && u.MailboxType != "" {
			out = append(out, u)
		}
	}
	return out
}

// domainNames lists every name the tenant answers to, for the domain index.
func (t *Tenant) domainNames() []string {
	names := make([]string, 0, len(t.Domains)+2)
	for _, d := range t.Domains {
		names = append(names, d.Name)
	}
	return append(names, t.DefaultDomain, t.InitialDomain)
}

// Read calls fn with the World's read lock held, for code outside the package that reads
// tenants and users while the fake serves (and may change them).
func (w *World) Read(fn func()) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	fn()
}
