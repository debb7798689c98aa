package wire

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
)

// The Graph shapes of groups, organization details, sign-in activity and mailbox usage, which
// CIPP passes through from Graph unchanged, each mapped onto its domain type in one place.

// Group is a Graph group with the fields the groups kind reads.
type Group struct {
	ID                    string   `json:"id"`
	DisplayName           string   `json:"displayName"`
	Description           *string  `json:"description"`
	Mail                  *string  `json:"mail"`
	MailEnabled           bool     `json:"mailEnabled"`
	SecurityEnabled       bool     `json:"securityEnabled"`
	GroupTypes            []string `json:"groupTypes"`
	MembershipRule        *string  `json:"membershipRule"`
	OnPremisesSyncEnabled *bool    `json:"onPremisesSyncEnabled"`
}

// GroupSelect is the $select of the groups kind.
const GroupSelect = "id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes,membershipRule,onPremisesSyncEnabled"

// GroupType classifies a group the way the Microsoft 365 admin centre does: "Unified" in
// groupTypes is a Microsoft 365 group; otherwise mail- and security-enabled decide.
func GroupType(groupTypes []string, mailEnabled, securityEnabled bool) tenantsync.GroupType {
	for _, t := range groupTypes {
		if strings.EqualFold(t, "Unified") {
			return tenantsync.GroupMicrosoft365
		}
	}
	switch {
	case securityEnabled && mailEnabled:
		return tenantsync.GroupMailEnabledSecurity
	case securityEnabled:
		return tenantsync.GroupSecurity
	case mailEnabled:
		return tenantsync.GroupDistribution
	}
	return tenantsync.GroupOther
}

// ToGroup maps a group and its direct member count onto the domain type.
func (g Group) ToGroup(tenantID string, members int) tenantsync.Group {
	dynamic := false
	for _, t := range g.GroupTypes {
		dynamic = dynamic || strings.EqualFold(t, "DynamicMembership")
	}
	return tenantsync.Group{
		TenantID: tenantID, ID: g.ID, DisplayName: g.DisplayName, Description: deref(g.Description), Mail: deref(g.Mail),
		Type: GroupType(g.GroupTypes, g.MailEnabled, g.SecurityEnabled), MemberCount: members,
		Dynamic: dynamic || deref(g.MembershipRule) != "", OnPremisesSync: g.OnPremisesSyncEnabled != nil && *g.OnPremisesSyncEnabled,
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Organization is Graph's organization object, with the fields the organization kind reads.
type Organization struct {
	ID                         string   `json:"id"`
	DisplayName                string   `json:"displayName"`
	Street                     *string  `json:"street"`
	City                       *string  `json:"city"`
	State                      *string  `json:"state"`
	PostalCode                 *string  `json:"postalCode"`
	Country                    *string  `json:"country"`
	CountryLetterCode          *string  `json:"countryLetterCode"`
	BusinessPhones             []string `json:"businessPhones"`
	TechnicalNotificationMails []string `json:"technicalNotificationMails"`
	PartnerTenantType          *string  `json:"partnerTenantType"`
	TenantType                 *string  `json:"tenantType"`
	CreatedDateTime            *Time    `json:"createdDateTime"`
}

// ToOrganization maps the organization object onto the domain type.
func (o Organization) ToOrganization(tenantID string) tenantsync.Organization {
	out := tenantsync.Organization{
		TenantID: tenantID, DisplayName: o.DisplayName, Street: deref(o.Street), City: deref(o.City), State: deref(o.State),
		PostalCode: deref(o.PostalCode), Country: deref(o.Country), CountryLetterCode: deref(o.CountryLetterCode),
		Phones: o.BusinessPhones, TechnicalNotificationMails: o.TechnicalNotificationMails,
		PartnerTenantType: deref(o.PartnerTenantType), TenantType: deref(o.TenantType),
	}
	if o.CreatedDateTime != nil {
		out.CreatedAt = o.CreatedDateTime.UTC()
	}
	return out
}

// SignInUser is a user listed with $select=id,userPrincipalName,signInActivity.
type SignInUser struct {
	ID                string      `json:"id"`
	UserPrincipalName string      `json:"userPrincipalName"`
	SignInActivity    *SignInInfo `json:"signInActivity"`
}

// SignInInfo is Graph's signInActivity: null times for a user who never signed in.
type SignInInfo struct {
	LastSignInDateTime               *Time `json:"lastSignInDateTime"`
	LastNonInteractiveSignInDateTime *Time `json:"lastNonInteractiveSignInDateTime"`
	LastSuccessfulSignInDateTime     *Time `json:"lastSuccessfulSignInDateTime"`
}

// SignInSelect is the $select of the sign-ins kind.
const SignInSelect = "id,userPrincipalName,signInActivity"

// ToSignIn maps the user's signInActivity onto the domain type.
func (u SignInUser) ToSignIn(tenantID string) tenantsync.SignInActivity {
	out := tenantsync.SignInActivity{TenantID: tenantID, UserID: u.ID, UserPrincipalName: u.UserPrincipalName}
	if a := u.SignInActivity; a != nil {
		out.LastSignInAt, out.LastNonInteractiveSignInAt, out.LastSuccessfulSignInAt =
			a.LastSignInDateTime.utc(), a.LastNonInteractiveSignInDateTime.utc(), a.LastSuccessfulSignInDateTime.utc()
	}
	return out
}

func (t *Time) utc() time.Time {
	if t == nil || t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// MailboxUsageRow is one row of getMailboxUsageDetail, as the JSON form (beta,
// $format=application/json) names its fields; the CSV form is decoded into the same struct.
type MailboxUsageRow struct {
	ReportRefreshDate               string   `json:"reportRefreshDate"`
	UserPrincipalName               string   `json:"userPrincipalName"`
	DisplayName                     string   `json:"displayName"`
	IsDeleted                       FlexBool `json:"isDeleted"`
	LastActivityDate                *string  `json:"lastActivityDate"`
	ItemCount                       FlexInt  `json:"itemCount"`
	StorageUsedInBytes              FlexInt  `json:"storageUsedInBytes"`
	DeletedItemCount                FlexInt  `json:"deletedItemCount"`
	DeletedItemSizeInBytes          FlexInt  `json:"deletedItemSizeInBytes"`
	ProhibitSendReceiveQuotaInBytes FlexInt  `json:"prohibitSendReceiveQuotaInBytes"`
	HasArchive                      FlexBool `json:"hasArchive"`
}

// FlexBool is a bool the reports write as true/false or as "True"/"False".
type FlexBool bool

// UnmarshalJSON accepts a JSON bool, a string holding one, or null (false).
func (f *FlexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*f = false
	case bool:
		*f = FlexBool(x)
	case string:
		p, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(x)))
		if err != nil && strings.TrimSpace(x) != "" {
			return fmt.Errorf("not a bool: %q", x)
		}
		*f = FlexBool(p)
	default:
		return fmt.Errorf("not a bool: %s", b)
	}
	return nil
}

// Concealed reports whether the report hides the row's user: with the tenant's report setting
// on, the user principal name is a hash without an @.
func (r MailboxUsageRow) Concealed() bool { return !strings.Contains(r.UserPrincipalName, "@") }

// ToMailboxUsage maps a report row onto the domain type.
func (r MailboxUsageRow) ToMailboxUsage(tenantID string) tenantsync.MailboxUsage {
	day := func(s string) time.Time {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			return time.Time{}
		}
		return t
	}
	out := tenantsync.MailboxUsage{
		TenantID: tenantID, UserPrincipalName: strings.ToLower(strings.TrimSpace(r.UserPrincipalName)), DisplayName: r.DisplayName,
		StorageUsedBytes: int64(r.StorageUsedInBytes), ItemCount: int64(r.ItemCount), DeletedItemCount: int64(r.DeletedItemCount),
		DeletedItemBytes: int64(r.DeletedItemSizeInBytes), ProhibitSendReceiveQuotaBytes: int64(r.ProhibitSendReceiveQuotaInBytes),
		HasArchive: bool(r.HasArchive), ReportDate: day(r.ReportRefreshDate),
	}
	if r.LastActivityDate != nil {
		out.LastActivity = day(*r.LastActivityDate)
	}
	return out
}

// ConcealedNamesHint says how to reveal the names the usage reports conceal.
const ConcealedNamesHint = "the tenant conceals user names in its usage reports, so mailbox sizes cannot be matched to mailboxes: " +
	"in the Microsoft 365 admin center open Settings > Org settings > Services > Reports and clear " +
	"\"Display concealed user, group, and site names in all reports\" (Graph: PATCH /admin/reportSettings " +
	"{\"displayConcealedNames\": false}, which needs ReportSettings.ReadWrite.All); mailbox usage stays unavailable until then"

// csvColumns maps the CSV report's column titles onto the JSON fields.
var csvColumns = map[string]string{
	"report refresh date": "reportRefreshDate", "user principal name": "userPrincipalName", "display name": "displayName",
	"is deleted": "isDeleted", "last activity date": "lastActivityDate", "item count": "itemCount",
	"storage used (byte)": "storageUsedInBytes", "deleted item count": "deletedItemCount",
	"deleted item size (byte)": "deletedItemSizeInBytes", "prohibit send/receive quota (byte)": "prohibitSendReceiveQuotaInBytes",
	"has archive": "hasArchive",
}

// DecodeMailboxUsageCSV decodes the report's CSV form (Graph v1.0's download): a header row
// naming the columns, in any order, with or without a byte order mark. A report without a
// User Principal Name column is refused: its rows could not be told apart.
func DecodeMailboxUsageCSV(data []byte) ([]MailboxUsageRow, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty report: no header row")
		}
		return nil, err
	}
	fields := make([]string, len(head))
	hasUPN := false
	for i, h := range head {
		fields[i] = csvColumns[strings.ToLower(strings.TrimSpace(h))]
		hasUPN = hasUPN || fields[i] == "userPrincipalName"
	}
	if !hasUPN {
		return nil, errors.New("the report has no User Principal Name column")
	}
	var rows []MailboxUsageRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		m := map[string]any{}
		for i, v := range rec {
			if i >= len(fields) || fields[i] == "" || v == "" {
				continue
			}
			m[fields[i]] = v
		}
		b, _ := json.Marshal(m)
		var row MailboxUsageRow
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("row %d: %w", len(rows)+1, err)
		}
		rows = append(rows, row)
	}
}

// IsCSV reports whether a report body is the CSV form rather than JSON.
func IsCSV(body []byte) bool {
	b := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\ufeff")))
	return len(b) > 0 && b[0] != '{' && b[0] != '['
}

// RoleAssignment is one directory role assignment (unifiedRoleAssignment).
type RoleAssignment struct {
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
}

// DirectoryObject is a member of a group, with its ID only.
type DirectoryObject struct {
	ODataType string `json:"@odata.type"`
	ID        string `json:"id"`
}

// MailboxUsages maps a report's rows onto the domain type, leaving out deleted mailboxes. It
// reports concealed (and returns nothing) when any row's name is concealed: hashed rows cannot
// be matched to mailboxes, so the listing is unusable rather than partial.
func MailboxUsages(tenantID string, rows []MailboxUsageRow) (out []tenantsync.MailboxUsage, concealed bool) {
	out = make([]tenantsync.MailboxUsage, 0, len(rows))
	for _, r := range rows {
		if r.Concealed() {
			return nil, true
		}
		if !bool(r.IsDeleted) {
			out = append(out, r.ToMailboxUsage(tenantID))
		}
	}
	return out, false
}
