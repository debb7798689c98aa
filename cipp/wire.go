package cipp

import (
	"encoding/json"
	"strings"

	"github.com/tenantsync/tenantsync/internal/wire"
)

// The types in this file mirror CIPP's JSON field for field (casing included), so a drift in
// CIPP shows up as a decoding difference in one place rather than as silently empty values.

// Tenant is a row of ListTenants (an Azure Table entity, hence PartitionKey/RowKey/ETag).
type Tenant struct {
	PartitionKey             string     `json:"PartitionKey"`
	RowKey                   string     `json:"RowKey"`
	CustomerID               string     `json:"customerId"`
	DisplayName              string     `json:"displayName"`
	DefaultDomainName        string     `json:"defaultDomainName"`
	InitialDomainName        string     `json:"initialDomainName"`
	RelationshipEnd          Time       `json:"relationshipEnd"`
	RelationshipCount        FlexInt    `json:"relationshipCount"`
	HasAutoExtend            bool       `json:"hasAutoExtend"`
	DelegatedPrivilegeStatus string     `json:"delegatedPrivilegeStatus"`
	Domains                  FlexString `json:"domains"`
	Excluded                 bool       `json:"Excluded"`
	ExcludeUser              FlexString `json:"ExcludeUser"`
	ExcludeDate              FlexString `json:"ExcludeDate"`
	GraphErrorCount          FlexInt    `json:"GraphErrorCount"`
	LastGraphError           FlexString `json:"LastGraphError"`
	RequiresRefresh          bool       `json:"RequiresRefresh"`
	LastRefresh              Time       `json:"LastRefresh"`
	ETag                     string     `json:"ETag"`
	Timestamp                Time       `json:"Timestamp"`
	OriginalDisplayName      string     `json:"originalDisplayName,omitempty"`
	// Results is set only on the error row CIPP returns instead of failing
	// ("Failed to retrieve tenants: ...").
	Results FlexString `json:"Results,omitempty"`
}

// AllTenantsID is the customerId of the pseudo-row ListTenants adds for AllTenantSelector.
const AllTenantsID = "AllTenants"

// IsPseudo reports whether the row is not a customer tenant: the AllTenants selector row or the
// partner's own tenant.
func (t Tenant) IsPseudo() bool {
	return t.CustomerID == AllTenantsID || string(t.Domains) == "PartnerTenant" || string(t.Domains) == AllTenantsID
}

// AssignedLicense is one licence assigned to a user: Graph's shape, which CIPP passes through.
type AssignedLicense = wire.AssignedLicense

// LabelValue is CIPP's form-field object.
type LabelValue struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
}

// Manager is the expanded manager of a ListUsers row.
type Manager struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// User is a row of ListUsers (a Graph beta user plus CIPP's added fields), and also what
// ListGraphRequest returns for Endpoint=users.
type User struct {
	// The Graph user object, mapped onto tenantsync.User as Graph's route maps it.
	wire.User
	// Fields CIPP's ListUsers adds.
	Username   string      `json:"username,omitempty"`
	Aliases    FlexString  `json:"Aliases,omitempty"`
	LicJoined  FlexString  `json:"LicJoined,omitempty"`
	PrimDomain *LabelValue `json:"primDomain,omitempty"`
	Manager    *Manager    `json:"manager,omitempty"`
	// Fields ListGraphRequest adds to every row.
	Tenant     string `json:"Tenant,omitempty"`
	CippStatus string `json:"CippStatus,omitempty"`
}

// Mailbox is a row of ListMailboxes (Exchange Get-Mailbox, reshaped by CIPP).
type Mailbox struct {
	ID                                string     `json:"Id"`
	ExchangeGUID                      string     `json:"ExchangeGuid"`
	ArchiveGUID                       string     `json:"ArchiveGuid"`
	WhenSoftDeleted                   Time       `json:"WhenSoftDeleted"`
	UPN                               string     `json:"UPN"`
	DisplayName                       string     `json:"displayName"`
	PrimarySMTPAddress                string     `json:"primarySmtpAddress"`
	ArchiveEnabled                    bool       `json:"ArchiveEnabled"`
	AutoExpandingArchive              bool       `json:"AutoExpandingArchive"`
	AutoExpandingArchiveScope         string     `json:"AutoExpandingArchiveScope"`
	RecipientType                     string     `json:"recipientType"`
	RecipientTypeDetails              string     `json:"recipientTypeDetails"`
	AdditionalEmailAddresses          FlexString `json:"AdditionalEmailAddresses"`
	ForwardingSMTPAddress             FlexString `json:"ForwardingSmtpAddress"`
	InternalForwardingAddress         FlexString `json:"InternalForwardingAddress"`
	DeliverToMailboxAndForward        bool       `json:"DeliverToMailboxAndForward"`
	HiddenFromAddressListsEnabled     bool       `json:"HiddenFromAddressListsEnabled"`
	ExternalDirectoryObjectID         string     `json:"ExternalDirectoryObjectId"`
	IsDirSynced                       bool       `json:"IsDirSynced"`
	MessageCopyForSendOnBehalfEnabled bool       `json:"MessageCopyForSendOnBehalfEnabled"`
	MessageCopyForSentAsEnabled       bool       `json:"MessageCopyForSentAsEnabled"`
	LitigationHoldEnabled             bool       `json:"LitigationHoldEnabled"`
	LitigationHoldDate                Time       `json:"LitigationHoldDate"`
	LitigationHoldDuration            FlexString `json:"LitigationHoldDuration"`
	LicensedForLitigationHold         bool       `json:"LicensedForLitigationHold"`
	ComplianceTagHoldApplied          bool       `json:"ComplianceTagHoldApplied"`
	RetentionHoldEnabled              bool       `json:"RetentionHoldEnabled"`
	InPlaceHolds                      []string   `json:"InPlaceHolds"`
	RetentionPolicy                   FlexString `json:"RetentionPolicy"`
}

// Device is a row of ListDevices (a Graph beta managedDevice).
type Device struct {
	ID                     string `json:"id"`
	DeviceName             string `json:"deviceName"`
	UserID                 string `json:"userId"`
	UserPrincipalName      string `json:"userPrincipalName"`
	SerialNumber           string `json:"serialNumber"`
	OperatingSystem        string `json:"operatingSystem"`
	OSVersion              string `json:"osVersion"`
	ComplianceState        string `json:"complianceState"`
	LastSyncDateTime       Time   `json:"lastSyncDateTime"`
	EnrolledDateTime       Time   `json:"enrolledDateTime"`
	AzureADDeviceID        string `json:"azureADDeviceId"`
	ManagedDeviceOwnerType string `json:"managedDeviceOwnerType"`
	Manufacturer           string `json:"manufacturer"`
	Model                  string `json:"model"`
}

// Domain is a row of ListDomains (three fields) or of ListGraphRequest Endpoint=domains (which
// adds verification and services).
type Domain struct {
	ID                 string   `json:"id"`
	IsDefault          bool     `json:"isDefault"`
	IsInitial          bool     `json:"isInitial"`
	IsVerified         *bool    `json:"isVerified,omitempty"`
	SupportedServices  []string `json:"supportedServices,omitempty"`
	AuthenticationType string   `json:"authenticationType,omitempty"`
}

// TermInfo is one subscription term of a licence.
type TermInfo struct {
	Status            string  `json:"Status"`
	Term              string  `json:"Term"`
	TotalLicenses     FlexInt `json:"TotalLicenses"`
	DaysUntilRenew    FlexInt `json:"DaysUntilRenew"`
	NextLifecycle     Time    `json:"NextLifecycle"`
	CreatedDateTime   Time    `json:"CreatedDateTime"`
	IsTrial           bool    `json:"IsTrial"`
	SubscriptionID    string  `json:"SubscriptionId"`
	CSPSubscriptionID string  `json:"CSPSubscriptionId"`
	OCPSubscriptionID string  `json:"OCPSubscriptionId"`
}

// License is a row of ListLicenses: one subscribed SKU. CountUsed and TotalLicenses arrive as
// strings, CountAvailable as a number; skuPartNumber holds the friendly name, not Graph's.
type License struct {
	Tenant         string     `json:"Tenant"`
	License        string     `json:"License"`
	CountUsed      FlexInt    `json:"CountUsed"`
	CountAvailable FlexInt    `json:"CountAvailable"`
	TotalLicenses  FlexInt    `json:"TotalLicenses"`
	SkuID          FlexString `json:"skuId"`
	SkuPartNumber  FlexString `json:"skuPartNumber"`
	AvailableUnits FlexInt    `json:"availableUnits"`
	TermInfo       []TermInfo `json:"TermInfo"`
	AssignedUsers  []Manager  `json:"AssignedUsers"`
	AssignedGroups []struct {
		DisplayName         string `json:"displayName"`
		CalculatedGroupType string `json:"calculatedGroupType"`
		ID                  string `json:"id"`
	} `json:"AssignedGroups"`
	ServicePlans []struct {
		ServicePlanID      string `json:"servicePlanId"`
		ServicePlanName    string `json:"servicePlanName"`
		ProvisioningStatus string `json:"provisioningStatus"`
		AppliesTo          string `json:"appliesTo"`
	} `json:"ServicePlans"`
}

// MFACAPolicy is a CAPolicies element of a ListMFAUsers row.
type MFACAPolicy struct {
	DisplayName      string `json:"DisplayName"`
	UserIncluded     bool   `json:"UserIncluded"`
	AllApps          bool   `json:"AllApps"`
	PolicyState      string `json:"PolicyState"`
	ExcludedViaGroup string `json:"ExcludedViaGroup,omitempty"`
	ExcludedViaRole  string `json:"ExcludedViaRole,omitempty"`
}

// MFAUser is a row of ListMFAUsers. MFARegistration, MFACapable and CoveredBySD are null when
// the tenant cannot report them (no Entra ID P1).
type MFAUser struct {
	Tenant          string        `json:"Tenant"`
	ID              string        `json:"ID"`
	UPN             string        `json:"UPN"`
	DisplayName     string        `json:"DisplayName"`
	AccountEnabled  bool          `json:"AccountEnabled"`
	PerUser         string        `json:"PerUser"`
	IsLicensed      bool          `json:"isLicensed"`
	MFARegistration *bool         `json:"MFARegistration"`
	MFACapable      *bool         `json:"MFACapable"`
	MFAMethods      FlexStrings   `json:"MFAMethods"`
	CoveredByCA     FlexString    `json:"CoveredByCA"`
	CAPolicies      []MFACAPolicy `json:"CAPolicies"`
	CoveredBySD     *bool         `json:"CoveredBySD"`
	IsAdmin         bool          `json:"IsAdmin"`
	UserType        string        `json:"UserType"`
	RowKey          string        `json:"RowKey"`
	PartitionKey    string        `json:"PartitionKey"`
}

// CAPolicy is a row of ListConditionalAccessPolicies. Most fields are display strings; RawJSON
// is the Graph policy as a JSON string, the only structured part.
type CAPolicy struct {
	ID                    string     `json:"id"`
	DisplayName           string     `json:"displayName"`
	Customer              FlexString `json:"customer"`
	Tenant                FlexString `json:"Tenant"`
	CreatedDateTime       Time       `json:"createdDateTime"`
	ModifiedDateTime      Time       `json:"modifiedDateTime"`
	State                 string     `json:"state"`
	ClientAppTypes        FlexString `json:"clientAppTypes"`
	IncludePlatforms      FlexString `json:"includePlatforms"`
	ExcludePlatforms      FlexString `json:"excludePlatforms"`
	IncludeLocations      FlexString `json:"includeLocations"`
	ExcludeLocations      FlexString `json:"excludeLocations"`
	IncludeApplications   FlexString `json:"includeApplications"`
	ExcludeApplications   FlexString `json:"excludeApplications"`
	IncludeUserActions    FlexString `json:"includeUserActions"`
	IncludeAuthContext    FlexString `json:"includeAuthenticationContextClassReferences"`
	IncludeUsers          FlexString `json:"includeUsers"`
	ExcludeUsers          FlexString `json:"excludeUsers"`
	IncludeGroups         FlexString `json:"includeGroups"`
	ExcludeGroups         FlexString `json:"excludeGroups"`
	IncludeRoles          FlexString `json:"includeRoles"`
	ExcludeRoles          FlexString `json:"excludeRoles"`
	GrantControlsOperator FlexString `json:"grantControlsOperator"`
	BuiltInControls       FlexString `json:"builtInControls"`
	CustomAuthFactors     FlexString `json:"customAuthenticationFactors"`
	TermsOfUse            FlexString `json:"termsOfUse"`
	RawJSON               FlexString `json:"rawjson"`
}

// RequiresMFA reports whether the policy's grant controls demand MFA (the built-in "mfa"
// control or an authentication strength), read from rawjson when it parses.
func (p CAPolicy) RequiresMFA() bool {
	var raw struct {
		GrantControls *struct {
			BuiltInControls        []string        `json:"builtInControls"`
			AuthenticationStrength json.RawMessage `json:"authenticationStrength"`
		} `json:"grantControls"`
	}
	if p.RawJSON != "" && json.Unmarshal([]byte(p.RawJSON), &raw) == nil {
		if raw.GrantControls == nil {
			return false
		}
		for _, c := range raw.GrantControls.BuiltInControls {
			if strings.EqualFold(c, "mfa") {
				return true
			}
		}
		return len(raw.GrantControls.AuthenticationStrength) > 0 && !isNull(raw.GrantControls.AuthenticationStrength)
	}
	for _, c := range splitList(string(p.BuiltInControls)) {
		if strings.EqualFold(c, "mfa") {
			return true
		}
	}
	return false
}

// DefenderStateDevice is a row of ListDefenderState: a Graph beta managedDevice with its
// windowsProtectionState expanded (null for a device that never reported one).
type DefenderStateDevice struct {
	ID                     string                  `json:"id"`
	DeviceName             string                  `json:"deviceName"`
	DeviceType             string                  `json:"deviceType"`
	OperatingSystem        string                  `json:"operatingSystem"`
	WindowsProtectionState *WindowsProtectionState `json:"windowsProtectionState"`
}

// WindowsProtectionState is Graph's windowsProtectionState as CIPP relays it (the fields the
// baseline uses).
type WindowsProtectionState struct {
	MalwareProtectionEnabled  bool   `json:"malwareProtectionEnabled"`
	RealTimeProtectionEnabled bool   `json:"realTimeProtectionEnabled"`
	SignatureUpdateOverdue    bool   `json:"signatureUpdateOverdue"`
	QuickScanOverdue          bool   `json:"quickScanOverdue"`
	FullScanOverdue           bool   `json:"fullScanOverdue"`
	DeviceState               string `json:"deviceState"`
	LastReportedDateTime      Time   `json:"lastReportedDateTime"`
}

// MobileThreatDefenseConnector is a Graph mobileThreatDefenseConnector as ListGraphRequest
// returns it for deviceManagement/mobileThreatDefenseConnectors.
type MobileThreatDefenseConnector struct {
	ID                    string `json:"id"`
	PartnerState          string `json:"partnerState"`
	LastHeartbeatDateTime Time   `json:"lastHeartbeatDateTime"`
	Tenant                string `json:"Tenant,omitempty"`
	CippStatus            string `json:"CippStatus,omitempty"`
}

// SecureScore is a Graph secureScore as ListGraphRequest returns it for security/secureScores.
type SecureScore struct {
	ID              string   `json:"id"`
	AzureTenantID   string   `json:"azureTenantId"`
	CurrentScore    float64  `json:"currentScore"`
	MaxScore        float64  `json:"maxScore"`
	CreatedDateTime Time     `json:"createdDateTime"`
	ActiveUserCount FlexInt  `json:"activeUserCount"`
	LicensedUserCnt FlexInt  `json:"licensedUserCount"`
	EnabledServices []string `json:"enabledServices"`
	Tenant          string   `json:"Tenant,omitempty"`
	CippStatus      string   `json:"CippStatus,omitempty"`
}

// SecurityDefaultsPolicy is Graph's identitySecurityDefaultsEnforcementPolicy.
type SecurityDefaultsPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	IsEnabled   bool   `json:"isEnabled"`
}

// GraphMetadata is the Metadata of a ListGraphRequest envelope: the request parameters echoed
// back plus the paging and queue markers. Only the markers are typed.
type GraphMetadata struct {
	Endpoint     string     `json:"Endpoint"`
	TenantFilter string     `json:"TenantFilter"`
	NextLink     string     `json:"nextLink"`
	Queued       FlexString `json:"Queued"`
	QueueMessage string     `json:"QueueMessage"`
	QueueID      string     `json:"QueueId"`
}

// Me is the answer of /api/me.
type Me struct {
	ClientPrincipal struct {
		AppID   string      `json:"appId"`
		AppRole FlexStrings `json:"appRole"`
	} `json:"clientPrincipal"`
	Permissions FlexStrings `json:"permissions"`
}

// ResultLine is one line of an action's Results: CIPP sends a string, a list of strings, an
// object {resultText, state, copyField}, or a list of those.
type ResultLine struct {
	Text      string `json:"resultText"`
	State     string `json:"state,omitempty"`
	CopyField string `json:"copyField,omitempty"`
}

// Failed reports whether the line reports a failure: state "error", or text CIPP prefixes with
// "Error" or "Failed".
func (l ResultLine) Failed() bool {
	if strings.EqualFold(l.State, "error") {
		return true
	}
	t := strings.ToLower(strings.TrimSpace(l.Text))
	return strings.HasPrefix(t, "error") || strings.HasPrefix(t, "failed")
}
