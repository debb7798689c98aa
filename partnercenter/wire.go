package partnercenter

import (
	"encoding/json"
	"time"

	"github.com/tenantsync/tenantsync/internal/wire"
)

// The types in this file mirror Partner Center's and Graph's JSON field for field; adapter.go
// turns them into the package's domain types.

// Attributes is Partner Center's attributes object.
type Attributes struct {
	ObjectType string `json:"objectType,omitempty"`
}

// Customer is a Partner Center customer as GET /v1/customers returns it.
type Customer struct {
	ID                    string         `json:"id"`
	CommerceID            string         `json:"commerceId,omitempty"`
	CompanyProfile        CompanyProfile `json:"companyProfile"`
	RelationshipToPartner string         `json:"relationshipToPartner,omitempty"`
	// AllowDelegatedAccess is only present when a customer is read by ID.
	AllowDelegatedAccess *bool      `json:"allowDelegatedAccess,omitempty"`
	Attributes           Attributes `json:"attributes"`
}

// TenantID returns the customer's Entra tenant ID: companyProfile.tenantId, or the customer ID,
// which Partner Center makes equal to it.
func (c Customer) TenantID() string {
	if c.CompanyProfile.TenantID != "" {
		return c.CompanyProfile.TenantID
	}
	return c.ID
}

// CompanyProfile is a customer's companyProfile.
type CompanyProfile struct {
	TenantID    string     `json:"tenantId"`
	Domain      string     `json:"domain"`
	CompanyName string     `json:"companyName"`
	Attributes  Attributes `json:"attributes"`
}

// Link is one entry of a collection's links.
type Link struct {
	URI     string   `json:"uri"`
	Method  string   `json:"method"`
	Headers []Header `json:"headers"`
}

// Header is a header a Link asks the client to send.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Links is a collection's links.
type Links struct {
	Self *Link `json:"self,omitempty"`
	Next *Link `json:"next,omitempty"`
}

// customerCollection is one page of GET /v1/customers.
type customerCollection struct {
	TotalCount        int        `json:"totalCount"`
	Items             []Customer `json:"items"`
	Links             Links      `json:"links"`
	ContinuationToken string     `json:"continuationToken,omitempty"`
	Attributes        Attributes `json:"attributes"`
}

// ApplicationGrant is one resource an application consent grants: the resource's application
// ID (00000003-0000-0000-c000-000000000000 for Microsoft Graph) and a comma-separated scope list.
type ApplicationGrant struct {
	EnterpriseApplicationID string `json:"enterpriseApplicationId"`
	Scope                   string `json:"scope"`
}

// ApplicationConsent is the body of POST /v1/customers/{id}/applicationconsents.
type ApplicationConsent struct {
	ApplicationID     string             `json:"applicationId"`
	DisplayName       string             `json:"displayName,omitempty"`
	ApplicationGrants []ApplicationGrant `json:"applicationGrants"`
}

// pcError is Partner Center's error body. code is numeric in every documented example and a
// string in the schema table, so it is read as either.
type pcError struct {
	Code        wire.FlexString   `json:"code"`
	Description string            `json:"description"`
	Data        []json.RawMessage `json:"data"`
	Source      string            `json:"source"`
}

// pcThrottle is Partner Center's 429 body.
type pcThrottle struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// DelegatedAdminRelationship is a GDAP relationship as Graph returns it.
type DelegatedAdminRelationship struct {
	ODataType          string               `json:"@odata.type,omitempty"`
	ID                 string               `json:"id"`
	DisplayName        string               `json:"displayName"`
	Duration           string               `json:"duration,omitempty"`
	Customer           RelationshipCustomer `json:"customer"`
	AccessDetails      AccessDetails        `json:"accessDetails"`
	Status             string               `json:"status"`
	AutoExtendDuration string               `json:"autoExtendDuration,omitempty"`
	CreatedDateTime    *time.Time           `json:"createdDateTime,omitempty"`
	LastModified       *time.Time           `json:"lastModifiedDateTime,omitempty"`
	ActivatedDateTime  *time.Time           `json:"activatedDateTime,omitempty"`
	EndDateTime        *time.Time           `json:"endDateTime,omitempty"`
	IndirectProvider   string               `json:"indirectProviderTenantId,omitempty"`
	ConsentPending     *bool                `json:"isPartnerConsentPending,omitempty"`
}

// RelationshipCustomer is a relationship's customer participant.
type RelationshipCustomer struct {
	TenantID    string `json:"tenantId"`
	DisplayName string `json:"displayName"`
}

// AccessDetails lists the roles a relationship grants.
type AccessDetails struct {
	UnifiedRoles []UnifiedRole `json:"unifiedRoles"`
}

// UnifiedRole is one role of a relationship.
type UnifiedRole struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
}

// relationshipCollection is one page of GET /tenantRelationships/delegatedAdminRelationships.
type relationshipCollection struct {
	Context  string                       `json:"@odata.context,omitempty"`
	Value    []DelegatedAdminRelationship `json:"value"`
	NextLink string                       `json:"@odata.nextLink,omitempty"`
}
