package workflow

import (
	"fmt"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// Kind is a workflow: onboarding, offboarding or a profile write-back.
type Kind string

// The workflows.
const (
	KindOnboard  Kind = "onboard"
	KindOffboard Kind = "offboard"
	KindProfile  Kind = "profile"
)

// Action is the action the workflow's own audit entries carry, and the Action an Approver sees
// in the WriteRequest it is asked about ("workflow.offboard"). It is not one of
// tenantsync.Actions: it names a whole run, not a single write.
func (k Kind) Action() tenantsync.Action { return tenantsync.Action("workflow." + string(k)) }

func (k Kind) valid() bool { return k == KindOnboard || k == KindOffboard || k == KindProfile }

// StepKind is one step of a workflow.
type StepKind string

// The steps, in the order a workflow runs them.
const (
	// Onboarding.
	StepCreateUser       StepKind = "create_user"
	StepSetUsageLocation StepKind = "set_usage_location"
	StepAssignLicences   StepKind = "assign_licences"
	StepAddToGroups      StepKind = "add_to_groups"
	StepSetManager       StepKind = "set_manager"
	// Offboarding.
	StepBlockSignIn         StepKind = "block_sign_in"
	StepRevokeSessions      StepKind = "revoke_sessions"
	StepResetPassword       StepKind = "reset_password"
	StepRemoveGroups        StepKind = "remove_groups"
	StepRemoveLicences      StepKind = "remove_licences"
	StepConvertToShared     StepKind = "convert_to_shared"
	StepSetAutoReply        StepKind = "set_auto_reply"
	StepForwardMail         StepKind = "forward_mail"
	StepHideFromAddressList StepKind = "hide_from_address_list"
	StepRemoveMFAMethods    StepKind = "remove_mfa_methods"
	// Profile write-back: one step per field.
	StepSetProfileField StepKind = "set_profile_field"
)

// Onboarding says whom to create and what they get.
type Onboarding struct {
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	GivenName         string   `json:"givenName,omitempty"`
	Surname           string   `json:"surname,omitempty"`
	UsageLocation     string   `json:"usageLocation,omitempty"` // two letters; licences need it
	SKUs              []string `json:"skus,omitempty"`          // licence SKU IDs
	Groups            []string `json:"groups,omitempty"`        // group object IDs
	ManagerID         string   `json:"managerId,omitempty"`     // the manager's object ID
}

// Offboarding says which offboarding steps to take; FullOffboarding selects them all.
type Offboarding struct {
	BlockSignIn         bool `json:"blockSignIn,omitempty"`
	RevokeSessions      bool `json:"revokeSessions,omitempty"`
	ResetPassword       bool `json:"resetPassword,omitempty"`
	RemoveGroups        bool `json:"removeGroups,omitempty"`
	RemoveLicences      bool `json:"removeLicences,omitempty"`
	ConvertToShared     bool `json:"convertToShared,omitempty"`
	HideFromAddressList bool `json:"hideFromAddressList,omitempty"`
	RemoveMFAMethods    bool `json:"removeMfaMethods,omitempty"`
	// AutoReply, when set, is the automatic reply the mailbox sends.
	AutoReply string `json:"autoReply,omitempty"`
	// ForwardTo, when set, is the address the mailbox's mail is forwarded to; KeepCopy keeps
	// a copy in the mailbox.
	ForwardTo string `json:"forwardTo,omitempty"`
	KeepCopy  bool   `json:"keepCopy,omitempty"`
}

// FullOffboarding selects every offboarding step, with the given automatic reply and
// forwarding address ("" leaves that step out).
func FullOffboarding(autoReply, forwardTo string) Offboarding {
	return Offboarding{BlockSignIn: true, RevokeSessions: true, ResetPassword: true, RemoveGroups: true,
		RemoveLicences: true, ConvertToShared: true, HideFromAddressList: true, RemoveMFAMethods: true,
		AutoReply: autoReply, ForwardTo: forwardTo, KeepCopy: forwardTo != ""}
}

// Profile is the contact data a PSA writes back to a user. An empty field means "leave as is":
// a write-back never blanks a field in Microsoft 365.
type Profile struct {
	BusinessPhone  string `json:"businessPhone,omitempty"`
	MobilePhone    string `json:"mobilePhone,omitempty"`
	JobTitle       string `json:"jobTitle,omitempty"`
	Department     string `json:"department,omitempty"`
	OfficeLocation string `json:"officeLocation,omitempty"`
}

// WriteBack is the profile write-back of a PSA contact to the Microsoft 365 user it is linked
// to (c.TenantID, c.ObjectID): its phone as the business phone, its mobile and its job title.
// The contact's empty fields are left as they are in Microsoft 365. A PSA with department or
// office fields sets them on the returned request's Profile.
func WriteBack(c tenantsync.Contact) Request {
	return Request{Kind: KindProfile, TenantID: c.TenantID, UserID: c.ObjectID,
		Profile: &Profile{BusinessPhone: c.Phone, MobilePhone: c.Mobile, JobTitle: c.JobTitle}}
}

// The profile fields, by their Graph property names, in the order they are written.
const (
	FieldBusinessPhone  = "businessPhones"
	FieldMobilePhone    = "mobilePhone"
	FieldJobTitle       = "jobTitle"
	FieldDepartment     = "department"
	FieldOfficeLocation = "officeLocation"
)

// fields returns the non-empty fields, in order.
func (p Profile) fields() [][2]string {
	var out [][2]string
	for _, f := range [][2]string{{FieldBusinessPhone, p.BusinessPhone}, {FieldMobilePhone, p.MobilePhone},
		{FieldJobTitle, p.JobTitle}, {FieldDepartment, p.Department}, {FieldOfficeLocation, p.OfficeLocation}} {
		if v := strings.TrimSpace(f[1]); v != "" {
			out = append(out, [2]string{f[0], v})
		}
	}
	return out
}

// get returns the profile's value of a field.
func (p Profile) get(field string) string {
	switch field {
	case FieldBusinessPhone:
		return p.BusinessPhone
	case FieldMobilePhone:
		return p.MobilePhone
	case FieldJobTitle:
		return p.JobTitle
	case FieldDepartment:
		return p.Department
	case FieldOfficeLocation:
		return p.OfficeLocation
	}
	return ""
}

// Request is one workflow for one user of one tenant. Onboarding names the user in
// Onboarding.UserPrincipalName; offboarding and profile write-back name an existing user by
// UserID (object ID) or UPN. It holds no secret: it is kept in the audit log so a run can be
// resumed.
type Request struct {
	Kind        Kind         `json:"kind"`
	TenantID    string       `json:"tenantId"`
	UserID      string       `json:"userId,omitempty"`
	UPN         string       `json:"upn,omitempty"`
	Onboarding  *Onboarding  `json:"onboarding,omitempty"`
	Offboarding *Offboarding `json:"offboarding,omitempty"`
	Profile     *Profile     `json:"profile,omitempty"`
}

// User returns the user the request addresses.
func (r Request) User() tenantsync.UserRef {
	if r.Kind == KindOnboard && r.Onboarding != nil {
		return tenantsync.UserRef{TenantID: r.TenantID, UPN: r.Onboarding.UserPrincipalName}
	}
	return tenantsync.UserRef{TenantID: r.TenantID, UserID: r.UserID, UPN: r.UPN}
}

func invalid(hint, format string, args ...any) error {
	e := tenantsync.Errorf(tenantsync.ErrInvalidInput, hint, format, args...)
	e.Service, e.Op = Service, "Validate"
	return e
}

// maxListed bounds the licences and groups of one onboarding: each is a call.
const maxListed = 100

// Validate checks the request: a known kind, a tenant, a user, the part its kind needs, and at
// least one step.
func (r Request) Validate() error {
	switch {
	case !r.Kind.valid():
		return invalid(`use "onboard", "offboard" or "profile"`, "unknown workflow %q", r.Kind)
	case strings.TrimSpace(r.TenantID) == "":
		return invalid("set the tenant ID", "workflow %s: no tenant", r.Kind)
	}
	switch r.Kind {
	case KindOnboard:
		o := r.Onboarding
		switch {
		case o == nil:
			return invalid("describe the new user in onboarding", "onboarding: nothing to create")
		case !strings.Contains(o.UserPrincipalName, "@") || strings.TrimSpace(o.DisplayName) == "":
			return invalid("give the new user a UPN (name@domain) and a display name", "onboarding: incomplete user")
		case len(o.SKUs) > 0 && o.UsageLocation == "":
			return invalid("set the usage location (two letters, e.g. GB): Microsoft assigns no licence without it", "onboarding: licences without a usage location")
		case len(o.SKUs) > maxListed || len(o.Groups) > maxListed:
			return invalid(fmt.Sprintf("give at most %d licences and %d groups; add the rest afterwards", maxListed, maxListed), "onboarding: too many licences or groups")
		case o.UsageLocation != "" && len(o.UsageLocation) != 2:
			return invalid("the usage location is a two-letter country code, e.g. GB", "onboarding: usage location %q", o.UsageLocation)
		}
	case KindOffboard, KindProfile:
		if strings.TrimSpace(r.UserID) == "" && strings.TrimSpace(r.UPN) == "" {
			return invalid("name the user by object ID or UPN", "workflow %s: no user", r.Kind)
		}
		if r.Kind == KindOffboard && r.Offboarding == nil {
			return invalid("choose the offboarding steps", "offboarding: no steps chosen")
		}
		if r.Kind == KindProfile && r.Profile == nil {
			return invalid("give the profile fields to write", "profile: no fields")
		}
	}
	if len(r.steps()) == 0 {
		return invalid("choose at least one step; an empty profile field means leave it as it is", "workflow %s: nothing to do", r.Kind)
	}
	return nil
}

// step is one step of a request: its kind and, for a profile step, the field and value.
type step struct {
	kind  StepKind
	field string
	value string
}

// steps lists the request's steps in the order they run.
func (r Request) steps() []step {
	var out []step
	add := func(on bool, k StepKind) {
		if on {
			out = append(out, step{kind: k})
		}
	}
	switch r.Kind {
	case KindOnboard:
		if o := r.Onboarding; o != nil {
			add(true, StepCreateUser)
			add(o.UsageLocation != "", StepSetUsageLocation)
			add(len(o.SKUs) > 0, StepAssignLicences)
			add(len(o.Groups) > 0, StepAddToGroups)
			add(o.ManagerID != "", StepSetManager)
		}
	case KindOffboard:
		if o := r.Offboarding; o != nil {
			add(o.BlockSignIn, StepBlockSignIn)
			add(o.RevokeSessions, StepRevokeSessions)
			add(o.ResetPassword, StepResetPassword)
			add(o.RemoveGroups, StepRemoveGroups)
			add(o.RemoveLicences, StepRemoveLicences)
			add(o.ConvertToShared, StepConvertToShared)
			add(o.AutoReply != "", StepSetAutoReply)
			add(o.ForwardTo != "", StepForwardMail)
			add(o.HideFromAddressList, StepHideFromAddressList)
			add(o.RemoveMFAMethods, StepRemoveMFAMethods)
		}
	case KindProfile:
		if r.Profile != nil {
			for _, f := range r.Profile.fields() {
				out = append(out, step{kind: StepSetProfileField, field: f[0], value: f[1]})
			}
		}
	}
	return out
}

// describe says in words what a step will change.
func (r Request) describe(s step) string {
	who := r.User().UPN
	if who == "" {
		who = r.User().UserID
	}
	switch s.kind {
	case StepCreateUser:
		return fmt.Sprintf("create %s (%s), enabled, with a temporary password to change at first sign-in", who, r.Onboarding.DisplayName)
	case StepSetUsageLocation:
		return "set the usage location to " + r.Onboarding.UsageLocation
	case StepAssignLicences:
		return "assign the licences " + strings.Join(r.Onboarding.SKUs, ", ")
	case StepAddToGroups:
		return "add to the groups " + strings.Join(r.Onboarding.Groups, ", ")
	case StepSetManager:
		return "set the manager to " + r.Onboarding.ManagerID
	case StepBlockSignIn:
		return "block sign-in for " + who
	case StepRevokeSessions:
		return "sign " + who + " out of every session"
	case StepResetPassword:
		return "reset the password to a random one (not shown to anyone but the caller)"
	case StepRemoveGroups:
		return "remove " + who + " from every group they are a direct member of"
	case StepRemoveLicences:
		return "remove every licence from " + who
	case StepConvertToShared:
		return "convert the mailbox to a shared mailbox"
	case StepSetAutoReply:
		return fmt.Sprintf("set the automatic reply to %q", r.Offboarding.AutoReply)
	case StepForwardMail:
		keep := "without"
		if r.Offboarding.KeepCopy {
			keep = "keeping"
		}
		return fmt.Sprintf("forward mail to %s, %s a copy in the mailbox", r.Offboarding.ForwardTo, keep)
	case StepHideFromAddressList:
		return "hide the mailbox from the address lists"
	case StepRemoveMFAMethods:
		return "remove every MFA method, so the user must register again"
	case StepSetProfileField:
		return fmt.Sprintf("set %s to %q", s.field, s.value)
	}
	return string(s.kind)
}

// exchangeOnly are the steps only Exchange Online performs: Graph has no call for them.
var exchangeOnly = map[StepKind]string{
	StepConvertToShared:     "Set-Mailbox -Type Shared",
	StepForwardMail:         "Set-Mailbox -ForwardingSmtpAddress",
	StepHideFromAddressList: "Set-Mailbox -HiddenFromAddressListsEnabled",
}
