package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantsync/tenantsync"
)

// UserState is what the onboarding, offboarding and profile workflows read of a user before
// changing it: enough to skip a step already done and to audit a field's value before.
type UserState struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	AccountEnabled    *bool    `json:"accountEnabled"`
	UsageLocation     string   `json:"usageLocation"`
	JobTitle          string   `json:"jobTitle"`
	Department        string   `json:"department"`
	OfficeLocation    string   `json:"officeLocation"`
	MobilePhone       string   `json:"mobilePhone"`
	BusinessPhones    []string `json:"businessPhones"`
	AssignedLicenses  []struct {
		SKUID string `json:"skuId"`
	} `json:"assignedLicenses"`
}

// Licenses returns the SKU IDs of the user's assigned licences.
func (s UserState) Licenses() []string {
	out := make([]string, 0, len(s.AssignedLicenses))
	for _, l := range s.AssignedLicenses {
		out = append(out, l.SKUID)
	}
	return out
}

const userStateSelect = "id,userPrincipalName,accountEnabled,usageLocation,jobTitle,department,officeLocation,mobilePhone,businessPhones,assignedLicenses"

// UserState reads a user's state (an error of kind ErrNotFound when there is none).
func (c *Client) UserState(ctx context.Context, u tenantsync.UserRef) (UserState, error) {
	const op = "UserState"
	user, err := target(op, u)
	if err != nil {
		return UserState{}, err
	}
	r, err := c.call(ctx, op, u.TenantID, accessUsers, http.MethodGet, userPath(user)+"?$select="+userStateSelect, nil)
	if err != nil {
		return UserState{}, err
	}
	var s UserState
	if err := json.Unmarshal(r.body, &s); err != nil {
		return UserState{}, opError(tenantsync.ErrUnavailable, op, u.TenantID, "retry; if it persists, report the response", "decode user: %v", err)
	}
	return s, nil
}

// NewUser is a user to create.
type NewUser struct {
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	MailNickname      string // defaults to the part of the UPN before the @
	UsageLocation     string // two letters; licences need it
	// Password is the temporary password; zero generates one (TemporaryPassword). The user
	// must change it at the first sign-in.
	Password tenantsync.Secret
}

// CreateUser creates an enabled user with a temporary password (POST /users) and returns its
// state and the password in WriteResult.TemporaryPassword. Not retried: a retry after a lost
// answer would fail with "already exists", which the caller treats as done by reading the
// user first.
func (c *Client) CreateUser(ctx context.Context, tenant string, nu NewUser) (UserState, tenantsync.WriteResult, error) {
	const op = "CreateUser"
	if nu.UserPrincipalName == "" || nu.DisplayName == "" || !strings.Contains(nu.UserPrincipalName, "@") {
		return UserState{}, tenantsync.WriteResult{}, opError(tenantsync.ErrInvalidInput, op, tenant, "set the user's UPN (name@domain) and display name", "incomplete user")
	}
	pw := nu.Password
	if pw.IsZero() {
		gen, err := TemporaryPassword()
		if err != nil {
			return UserState{}, tenantsync.WriteResult{}, opError(tenantsync.ErrUnavailable, op, tenant, "retry", "generate password: %v", err)
		}
		pw = tenantsync.NewSecret(gen)
	}
	nick := nu.MailNickname
	if nick == "" {
		nick, _, _ = strings.Cut(nu.UserPrincipalName, "@")
	}
	body := map[string]any{
		"accountEnabled": true, "displayName": nu.DisplayName, "mailNickname": nick,
		"userPrincipalName": nu.UserPrincipalName,
		"passwordProfile":   map[string]any{"password": pw.Reveal(), "forceChangePasswordNextSignIn": true},
	}
	if nu.GivenName != "" {
		body["givenName"] = nu.GivenName
	}
	if nu.Surname != "" {
		body["surname"] = nu.Surname
	}
	if nu.UsageLocation != "" {
		body["usageLocation"] = nu.UsageLocation
	}
	r, err := c.call(ctx, op, tenant, accessUserWrite, http.MethodPost, "/users", body)
	if err != nil {
		return UserState{}, tenantsync.WriteResult{}, err
	}
	var s UserState
	_ = json.Unmarshal(r.body, &s)
	return s, tenantsync.WriteResult{Route: service, Message: "user " + nu.UserPrincipalName + " created", Changed: true, TemporaryPassword: pw}, nil
}

// UpdateUser sets user properties (PATCH /users/{id}); fields are Graph property names and
// their JSON values. The caller leaves out what it does not change: Graph blanks a property
// sent as null or "".
func (c *Client) UpdateUser(ctx context.Context, u tenantsync.UserRef, fields map[string]any) (tenantsync.WriteResult, error) {
	const op = "UpdateUser"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	if len(fields) == 0 {
		return tenantsync.WriteResult{Route: service, Message: "nothing to change"}, nil
	}
	if _, err := c.call(ctx, op, u.TenantID, accessUserWrite, http.MethodPatch, userPath(user), fields); err != nil {
		return tenantsync.WriteResult{}, err
	}
	return tenantsync.WriteResult{Route: service, Message: "user updated", Changed: true}, nil
}

// AssignLicenses adds and removes licences by SKU ID (POST /users/{id}/assignLicense). Adding
// needs the user's usage location set.
func (c *Client) AssignLicenses(ctx context.Context, u tenantsync.UserRef, add, remove []string) (tenantsync.WriteResult, error) {
	const op = "AssignLicenses"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	adds := make([]map[string]any, 0, len(add))
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	if len(add) == 0 && len(remove) == 0 {
		return tenantsync.WriteResult{Route: service, Message: "licences already as asked"}, nil
	}
	body := map[string]any{"addLicenses": adds, "removeLicenses": remove}
	if _, err := c.call(ctx, op, u.TenantID, accessUserWrite, http.MethodPost, userPath(user)+"/assignLicense", body); err != nil {
		return tenantsync.WriteResult{}, err
	}
	return tenantsync.WriteResult{Route: service, Message: "licences updated", Changed: true}, nil
}

// SetManager sets the user's manager (PUT /users/{id}/manager/$ref), which is idempotent.
func (c *Client) SetManager(ctx context.Context, u tenantsync.UserRef, managerID string) (tenantsync.WriteResult, error) {
	const op = "SetManager"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	if strings.TrimSpace(managerID) == "" {
		return tenantsync.WriteResult{}, opError(tenantsync.ErrInvalidInput, op, u.TenantID, "pass the manager's object ID", "no manager")
	}
	body := map[string]string{"@odata.id": c.root + "/users/" + url.PathEscape(managerID)}
	if _, err := c.call(ctx, op, u.TenantID, accessUserWrite, http.MethodPut, userPath(user)+"/manager/$ref", body); err != nil {
		return tenantsync.WriteResult{}, err
	}
	return tenantsync.WriteResult{Route: service, Message: "manager set", Changed: true}, nil
}

// GroupRef is a group a user is a direct member of.
type GroupRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// maxMemberOfPages bounds UserGroups: 50 pages of 999 groups.
const maxMemberOfPages = 50

// UserGroups lists the groups the user is a direct member of (GET
// /users/{id}/memberOf/microsoft.graph.group), every page, or fails: a partial list is never
// returned, so an offboarding never reports a user as removed from every group when it did not
// see them all.
func (c *Client) UserGroups(ctx context.Context, u tenantsync.UserRef) ([]GroupRef, error) {
	const op = "UserGroups"
	user, err := target(op, u)
	if err != nil {
		return nil, err
	}
	r, err := c.call(ctx, op, u.TenantID, accessUsers, http.MethodGet, userPath(user)+"/memberOf/microsoft.graph.group?$select=id,displayName&$top=999", nil)
	if err != nil {
		return nil, err
	}
	var out []GroupRef
	seen := map[string]bool{}
	for page := 0; ; page++ {
		// A page without its value array (an error body, or nothing, answered 200) is no list of
		// groups: read as an empty one, it would report the user in no group.
		p, err := DecodePage[GroupRef](r.body)
		if err != nil {
			return nil, opError(tenantsync.ErrUnavailable, op, u.TenantID, "retry; if it persists, report the response", "decode groups: %v", err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		if seen[p.Next] {
			return nil, opError(tenantsync.ErrUnavailable, op, u.TenantID, "retry; if it persists, report the response", "the groups' next page link repeats a page already read")
		}
		seen[p.Next] = true
		if page+1 >= maxMemberOfPages {
			return nil, opError(tenantsync.ErrUnavailable, op, u.TenantID, "remove the user from groups in the admin centre", "more than %d pages of groups", maxMemberOfPages)
		}
		if r, err = c.get(ctx, op, u.TenantID, accessUsers, p.Next); err != nil {
			return nil, err
		}
	}
}

// SetAutomaticReply turns on an automatic reply with message for internal and external
// senders (PATCH /users/{id}/mailboxSettings). App-only access needs MailboxSettings.ReadWrite.
func (c *Client) SetAutomaticReply(ctx context.Context, u tenantsync.UserRef, message string) (tenantsync.WriteResult, error) {
	const op = "SetAutomaticReply"
	user, err := target(op, u)
	if err != nil {
		return tenantsync.WriteResult{}, err
	}
	body := map[string]any{"automaticRepliesSetting": map[string]any{
		"status": "alwaysEnabled", "externalAudience": "all",
		"internalReplyMessage": message, "externalReplyMessage": message,
	}}
	if _, err := c.call(ctx, op, u.TenantID, accessMailbox, http.MethodPatch, userPath(user)+"/mailboxSettings", body); err != nil {
		return tenantsync.WriteResult{}, err
	}
	return tenantsync.WriteResult{Route: service, Message: "automatic reply set", Changed: true}, nil
}
