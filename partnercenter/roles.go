package partnercenter

import "slices"

// Entra built-in role template IDs, as GDAP relationships carry them in
// accessDetails.unifiedRoles[].roleDefinitionId.
const (
	RoleGlobalAdministrator                   = "62e90394-69f5-4237-9190-012177145e10"
	RoleGlobalReader                          = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	RoleUserAdministrator                     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleReportsReader                         = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	RoleExchangeAdministrator                 = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	RolePrivilegedRoleAdministrator           = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleApplicationAdministrator              = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator         = "158c047a-c907-4556-b7ef-446551a6b5f7"
	RoleAuthenticationAdministrator           = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	RolePrivilegedAuthenticationAdministrator = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	RoleHelpdeskAdministrator                 = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	RolePasswordAdministrator                 = "966707d0-3269-4727-9be2-8c3a10f19b9d"
	RoleSecurityAdministrator                 = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	RoleSecurityReader                        = "5d6b6bb7-de71-4623-b4af-96380a352509"
	RoleIntuneAdministrator                   = "3a2c62db-5318-420d-8d74-23affee5d9d5"
	RoleLicenseAdministrator                  = "4d6ac14f-3453-41d0-bef9-a3e0c569773a"
	RoleGroupsAdministrator                   = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	RoleDirectoryReaders                      = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	RoleDirectoryWriters                      = "9360feb5-f418-4baa-8175-e2a00bac4301"
	RoleExchangeRecipientAdministrator        = "31392ffb-586c-42d1-9346-e59415a2cc4e"
	RoleServiceSupportAdministrator           = "f023fd81-a637-4b56-95fd-791ac0226033"
	RoleTeamsAdministrator                    = "69091246-20e8-4a56-aa4d-066075b2a7a8"
	RoleSharePointAdministrator               = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
)

// roleNames maps template IDs to the names the Partner Center GDAP screens show. Several
// community tables mislabel these IDs; this one follows Microsoft's permissions reference.
var roleNames = map[string]string{
	RoleGlobalAdministrator:                   "Global Administrator",
	RoleGlobalReader:                          "Global Reader",
	RoleUserAdministrator:                     "User Administrator",
	RoleReportsReader:                         "Reports Reader",
	RoleExchangeAdministrator:                 "Exchange Administrator",
	RolePrivilegedRoleAdministrator:           "Privileged Role Administrator",
	RoleApplicationAdministrator:              "Application Administrator",
	RoleCloudApplicationAdministrator:         "Cloud Application Administrator",
	RoleAuthenticationAdministrator:           "Authentication Administrator",
	RolePrivilegedAuthenticationAdministrator: "Privileged Authentication Administrator",
	RoleHelpdeskAdministrator:                 "Helpdesk Administrator",
	RolePasswordAdministrator:                 "Password Administrator",
	RoleSecurityAdministrator:                 "Security Administrator",
	RoleSecurityReader:                        "Security Reader",
	RoleIntuneAdministrator:                   "Intune Administrator",
	RoleLicenseAdministrator:                  "License Administrator",
	RoleGroupsAdministrator:                   "Groups Administrator",
	RoleDirectoryReaders:                      "Directory Readers",
	RoleDirectoryWriters:                      "Directory Writers",
	RoleExchangeRecipientAdministrator:        "Exchange Recipient Administrator",
	RoleServiceSupportAdministrator:           "Service Support Administrator",
	RoleTeamsAdministrator:                    "Teams Administrator",
	RoleSharePointAdministrator:               "SharePoint Administrator",
}

// RoleName returns the display name of a role template ID, or the ID itself when the role is
// not one this package knows (a custom or newer built-in role still deserves to be shown).
func RoleName(id string) string {
	if n, ok := roleNames[id]; ok {
		return n
	}
	return id
}

// RoleNames returns the names of ids, in the order given.
func RoleNames(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, RoleName(id))
	}
	return out
}

// requirement is what a capability needs: any one of Roles suffices. Roles are ordered by
// preference: the first is the least-privileged role that grants the capability, and the one
// suggested when none is granted.
type requirement struct {
	Roles []string
}

// requirements follow the least-privileged delegated roles in Microsoft's Graph permission
// pages for the calls each capability makes; Global Administrator grants everything.
var requirements = map[Capability]requirement{
	CapabilityReadUsers: {Roles: []string{RoleDirectoryReaders, RoleGlobalReader, RoleUserAdministrator,
		RoleDirectoryWriters, RoleGlobalAdministrator}},
	CapabilityReadMFA: {Roles: []string{RoleSecurityReader, RoleReportsReader, RoleGlobalReader,
		RoleSecurityAdministrator, RoleGlobalAdministrator}},
	CapabilityReadDevices: {Roles: []string{RoleIntuneAdministrator, RoleGlobalReader, RoleGlobalAdministrator}},
	CapabilityReadMailboxes: {Roles: []string{RoleExchangeAdministrator, RoleExchangeRecipientAdministrator,
		RoleGlobalReader, RoleGlobalAdministrator}},
	CapabilityWriteUsers:  {Roles: []string{RoleUserAdministrator, RoleGlobalAdministrator}},
	CapabilityWriteGroups: {Roles: []string{RoleGroupsAdministrator, RoleUserAdministrator, RoleGlobalAdministrator}},
}

// RequiredRoles returns the role template IDs any one of which grants c, least-privileged first.
func RequiredRoles(c Capability) []string {
	return slices.Clone(requirements[c].Roles)
}

// RecommendedRoles is the role set that makes every capability ready: the first role of each
// capability's requirement, without duplicates.
func RecommendedRoles() []string {
	var out []string
	for _, c := range Capabilities() {
		if r := requirements[c].Roles; len(r) > 0 && !slices.Contains(out, r[0]) {
			out = append(out, r[0])
		}
	}
	return out
}
