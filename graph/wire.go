package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/internal/wire"
)

// Wire types mirror Graph's JSON (v1.0) for the fields the sync uses; conversion to the root
// package's domain types lives in adapt.go.

// User is a Graph user as /users and /users/delta return it with userSelect. It is the one
// user shape every route decodes (CIPP passes the same object through), mapped onto
// tenantsync.User in one place.
type User = wire.User

// AssignedLicense is one licence assigned to a user.
type AssignedLicense = wire.AssignedLicense

// Removed is the delta annotation of a deleted item: reason "changed" (soft-deleted, restorable)
// or "deleted" (permanently deleted).
type Removed = wire.Removed

// userSelect lists every field the sync reads, address fields included; Graph returns only a
// default set without $select, and tracks only $selected fields in delta rounds.
const userSelect = "id,userPrincipalName,displayName,givenName,surname,mail,otherMails,proxyAddresses,imAddresses," +
	"jobTitle,department,companyName,officeLocation,mobilePhone,businessPhones,accountEnabled,userType," +
	"assignedLicenses,createdDateTime,onPremisesSyncEnabled"

// SubscribedSKU is a licence the tenant has bought.
type SubscribedSKU struct {
	ID               string       `json:"id"`
	SKUID            string       `json:"skuId"`
	SKUPartNumber    string       `json:"skuPartNumber"`
	CapabilityStatus string       `json:"capabilityStatus"`
	ConsumedUnits    int          `json:"consumedUnits"`
	AppliesTo        string       `json:"appliesTo"`
	PrepaidUnits     PrepaidUnits `json:"prepaidUnits"`
	// ServicePlans are the services the SKU includes, e.g. MDE_SMB for Defender for Business.
	ServicePlans []ServicePlanInfo `json:"servicePlans"`
}

// ServicePlanInfo is one service plan of a SKU.
type ServicePlanInfo struct {
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
	ProvisioningStatus string `json:"provisioningStatus"` // "Success", "Disabled", "PendingActivation", ...
	AppliesTo          string `json:"appliesTo"`
}

// PrepaidUnits are the purchased units of a SKU by state.
type PrepaidUnits struct {
	Enabled   int `json:"enabled"`
	LockedOut int `json:"lockedOut"`
	Suspended int `json:"suspended"`
	Warning   int `json:"warning"`
}

// ManagedDevice is an Intune managed device.
type ManagedDevice struct {
	ID                string     `json:"id"`
	DeviceName        string     `json:"deviceName"`
	SerialNumber      string     `json:"serialNumber"`
	OperatingSystem   string     `json:"operatingSystem"`
	OSVersion         string     `json:"osVersion"`
	Manufacturer      string     `json:"manufacturer"`
	Model             string     `json:"model"`
	ComplianceState   string     `json:"complianceState"`
	UserPrincipalName string     `json:"userPrincipalName"`
	UserID            string     `json:"userId"`
	LastSyncDateTime  *time.Time `json:"lastSyncDateTime"`
	EnrolledDateTime  *time.Time `json:"enrolledDateTime"`
}

const deviceSelect = "id,deviceName,serialNumber,operatingSystem,osVersion,manufacturer,model,complianceState," +
	"userPrincipalName,userId,lastSyncDateTime,enrolledDateTime"

// Domain is a domain of the tenant.
type Domain struct {
	ID                 string   `json:"id"`
	AuthenticationType string   `json:"authenticationType"`
	IsDefault          bool     `json:"isDefault"`
	IsInitial          bool     `json:"isInitial"`
	IsVerified         bool     `json:"isVerified"`
	SupportedServices  []string `json:"supportedServices"`
}

// RegistrationDetail is one row of reports/authenticationMethods/userRegistrationDetails.
type RegistrationDetail struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	UserDisplayName   string   `json:"userDisplayName"`
	IsAdmin           bool     `json:"isAdmin"`
	IsMFARegistered   bool     `json:"isMfaRegistered"`
	IsMFACapable      bool     `json:"isMfaCapable"`
	MethodsRegistered []string `json:"methodsRegistered"`
	UserType          string   `json:"userType"`
}

// CAPolicy is a conditional access policy, with the parts a baseline reads.
type CAPolicy struct {
	ID            string         `json:"id"`
	DisplayName   string         `json:"displayName"`
	State         string         `json:"state"`
	Conditions    *CAConditions  `json:"conditions"`
	GrantControls *GrantControls `json:"grantControls"`
}

// CAConditions holds the user scope of a policy.
type CAConditions struct {
	Users *CAUsers `json:"users"`
}

// CAUsers is the user scope of a policy: users ("All", "None", "GuestsOrExternalUsers" or
// object IDs), groups and directory roles (role template IDs), each included or excluded.
type CAUsers struct {
	IncludeUsers  []string `json:"includeUsers"`
	ExcludeUsers  []string `json:"excludeUsers"`
	IncludeGroups []string `json:"includeGroups"`
	ExcludeGroups []string `json:"excludeGroups"`
	IncludeRoles  []string `json:"includeRoles"`
	ExcludeRoles  []string `json:"excludeRoles"`
}

// GrantControls are a policy's grant requirements.
type GrantControls struct {
	Operator        string   `json:"operator"`
	BuiltInControls []string `json:"builtInControls"`
}

// RequiresMFA reports whether the policy demands multi-factor authentication.
func (p CAPolicy) RequiresMFA() bool {
	if p.GrantControls == nil {
		return false
	}
	for _, c := range p.GrantControls.BuiltInControls {
		if c == "mfa" {
			return true
		}
	}
	return false
}

// covers reports whether an enabled policy requiring MFA applies to the user, as Entra ID
// evaluates the scope: an exclusion (the user, a group the user is in, a role the user holds)
// wins over any inclusion; otherwise "All", the user, one of the user's groups or roles
// includes. Groups and roles are resolved through dir; a guest is included by
// "GuestsOrExternalUsers" only when guest is true.
func (p CAPolicy) covers(userID string, guest bool, dir directory) bool {
	if p.State != "enabled" || !p.RequiresMFA() || p.Conditions == nil || p.Conditions.Users == nil {
		return false
	}
	u, id := p.Conditions.Users, strings.ToLower(userID)
	named := func(ids []string) bool {
		for _, x := range ids {
			if strings.EqualFold(x, userID) || (guest && x == "GuestsOrExternalUsers") {
				return true
			}
		}
		return false
	}
	if named(u.ExcludeUsers) || dir.inAny(dir.groups, u.ExcludeGroups, id) || dir.inAny(dir.roles, u.ExcludeRoles, id) {
		return false
	}
	for _, x := range u.IncludeUsers {
		if x == "All" {
			return true
		}
	}
	return named(u.IncludeUsers) || dir.inAny(dir.groups, u.IncludeGroups, id) || dir.inAny(dir.roles, u.IncludeRoles, id)
}

// SecureScore is one daily secure score snapshot.
type SecureScore struct {
	ID              string    `json:"id"`
	AzureTenantID   string    `json:"azureTenantId"`
	CurrentScore    float64   `json:"currentScore"`
	MaxScore        float64   `json:"maxScore"`
	ActiveUserCount int       `json:"activeUserCount"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

// MobileThreatDefenseConnector is one of Intune's Mobile Threat Defense connectors; the one
// whose ID is tenantsync.DefenderConnectorID connects Microsoft Defender for Endpoint.
type MobileThreatDefenseConnector struct {
	ID                    string     `json:"id"`
	PartnerState          string     `json:"partnerState"`
	LastHeartbeatDateTime *time.Time `json:"lastHeartbeatDateTime"`
}

// ProtectedDevice is a managed device with its Windows protection state expanded.
type ProtectedDevice struct {
	ID              string `json:"id"`
	DeviceName      string `json:"deviceName"`
	OperatingSystem string `json:"operatingSystem"`
	// WindowsProtectionState is null for a device that has reported none.
	WindowsProtectionState *WindowsProtectionState `json:"windowsProtectionState"`
}

// WindowsProtectionState is what Intune knows of a Windows device's Microsoft Defender
// Antivirus (v1.0 windowsProtectionState; only the fields the baseline uses).
type WindowsProtectionState struct {
	MalwareProtectionEnabled  bool       `json:"malwareProtectionEnabled"`
	RealTimeProtectionEnabled bool       `json:"realTimeProtectionEnabled"`
	SignatureUpdateOverdue    bool       `json:"signatureUpdateOverdue"`
	QuickScanOverdue          bool       `json:"quickScanOverdue"`
	FullScanOverdue           bool       `json:"fullScanOverdue"`
	DeviceState               string     `json:"deviceState"`
	LastReportedDateTime      *time.Time `json:"lastReportedDateTime"`
}

// SecurityDefaults is the identitySecurityDefaultsEnforcementPolicy.
type SecurityDefaults struct {
	ID        string `json:"id"`
	IsEnabled bool   `json:"isEnabled"`
}

// Organization is the tenant's organization object.
type Organization struct {
	ID              string           `json:"id"`
	DisplayName     string           `json:"displayName"`
	TenantType      string           `json:"tenantType"`
	VerifiedDomains []VerifiedDomain `json:"verifiedDomains"`
}

// VerifiedDomain is a verified domain as organization lists it.
type VerifiedDomain struct {
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefault"`
	IsInitial bool   `json:"isInitial"`
	Type      string `json:"type"`
}

// AuthenticationMethod is one registered authentication method of a user.
type AuthenticationMethod struct {
	ODataType string `json:"@odata.type"`
	ID        string `json:"id"`
}

// Group is a group, with the fields a write needs.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type wirePage[T any] struct {
	Value     *[]T   `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

// DecodePage decodes one page of a Graph collection. It is what every read uses, exported for
// fuzzing and for the benchmark against msgraph-sdk-go's models.
func DecodePage[T any](data []byte) (tenantsync.Page[T], error) {
	var w wirePage[T]
	if err := json.Unmarshal(data, &w); err != nil {
		return tenantsync.Page[T]{}, fmt.Errorf("decode Graph page: %w", err)
	}
	if w.Value == nil {
		return tenantsync.Page[T]{}, errors.New("decode Graph page: no value array")
	}
	return tenantsync.Page[T]{Items: *w.Value, Next: w.NextLink, DeltaLink: w.DeltaLink}, nil
}

// DecodeUsersPage decodes one page of users; see DecodePage.
func DecodeUsersPage(data []byte) (tenantsync.Page[User], error) { return DecodePage[User](data) }
