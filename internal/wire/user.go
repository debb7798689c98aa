package wire

import (
	"strings"

	"github.com/tenantsync/tenantsync"
)

// User is a Graph user object, the fields tenantsync reads: what Graph's /users and
// /users/delta return with $select, and what CIPP's ListUsers and ListGraphRequest pass
// through (CIPP adds fields of its own around it).
type User struct {
	ID                    string            `json:"id"`
	UserPrincipalName     string            `json:"userPrincipalName"`
	DisplayName           string            `json:"displayName"`
	GivenName             string            `json:"givenName"`
	Surname               string            `json:"surname"`
	Mail                  string            `json:"mail"`
	OtherMails            []string          `json:"otherMails"`
	ProxyAddresses        []string          `json:"proxyAddresses"`
	IMAddresses           []string          `json:"imAddresses"`
	JobTitle              string            `json:"jobTitle"`
	Department            string            `json:"department"`
	CompanyName           string            `json:"companyName"`
	OfficeLocation        string            `json:"officeLocation"`
	MobilePhone           string            `json:"mobilePhone"`
	BusinessPhones        []string          `json:"businessPhones"`
	AccountEnabled        *bool             `json:"accountEnabled"`
	UserType              string            `json:"userType"`
	AssignedLicenses      []AssignedLicense `json:"assignedLicenses"`
	CreatedDateTime       Time              `json:"createdDateTime"`
	OnPremisesSyncEnabled *bool             `json:"onPremisesSyncEnabled"`
	// Removed is set on delta items for users deleted since the cursor.
	Removed *Removed `json:"@removed,omitempty"`
}

// AssignedLicense is one licence assigned to a user.
type AssignedLicense struct {
	SKUID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// Removed is the delta annotation of a deleted item: reason "changed" (soft-deleted, restorable)
// or "deleted" (permanently deleted).
type Removed struct {
	Reason string `json:"reason"`
}

// ToUser maps a Graph user onto tenantsync.User, the same way on every route. IDs are lower
// case (Graph's GUIDs are; CIPP's PowerShell does not always keep them so), and a user without
// a userType (CIPP's cached rows, a $select without it) is a guest when its UPN carries #EXT#.
func (u User) ToUser(tenantID string) tenantsync.User {
	out := tenantsync.User{
		TenantID:          tenantID,
		ObjectID:          strings.ToLower(u.ID),
		UserPrincipalName: u.UserPrincipalName,
		DisplayName:       u.DisplayName,
		GivenName:         u.GivenName,
		Surname:           u.Surname,
		Mail:              u.Mail,
		ProxyAddresses:    u.ProxyAddresses,
		OtherMails:        u.OtherMails,
		JobTitle:          u.JobTitle,
		Department:        u.Department,
		CompanyName:       u.CompanyName,
		OfficeLocation:    u.OfficeLocation,
		MobilePhone:       u.MobilePhone,
		BusinessPhones:    u.BusinessPhones,
		AccountEnabled:    u.AccountEnabled != nil && *u.AccountEnabled,
		UserType:          u.UserType,
		OnPremisesSync:    u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled,
	}
	if !u.CreatedDateTime.IsZero() {
		out.CreatedAt = u.CreatedDateTime.UTC()
	}
	if out.UserType == "" {
		out.UserType = "Member"
		if strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#") {
			out.UserType = "Guest"
		}
	}
	for _, l := range u.AssignedLicenses {
		if l.SKUID != "" {
			out.AssignedSKUs = append(out.AssignedSKUs, strings.ToLower(l.SKUID))
		}
	}
	return out
}
